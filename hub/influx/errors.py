"""Errors of the InfluxDB writer; third-party errors are mapped to these in `transport`.

::

    InfluxError
     +-- InfluxUnavailableError   connection failed, 5xx, auth, no database: retry, then spill
     |    +-- QueryRefusedError   an InfluxQL statement was refused (rights, syntax)
     +-- BatchRefusedError        whole batch refused (4xx), nothing written: split it

None of them leaves `InfluxWriter.submit()`; they steer retries, spilling and counters.
"""

from __future__ import annotations


class InfluxError(Exception):
    """Something went wrong talking to InfluxDB."""


class InfluxUnavailableError(InfluxError):
    """InfluxDB cannot take the batch now; the same batch may succeed later."""


class QueryRefusedError(InfluxUnavailableError):
    """InfluxDB answered but refused an InfluxQL statement (e.g. no admin rights)."""


class BatchRefusedError(InfluxError):
    """InfluxDB refused the whole batch (nothing written); a smaller batch may pass."""
