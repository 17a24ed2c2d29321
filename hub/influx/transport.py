"""The one seam to InfluxDB: version detection, set-up and writes for 1.x and 2.x.

1.x gets line protocol on `POST /write?db=…&precision=ms` through httpx. 2.x goes through
influxdb-client's *synchronous* write API (run in a thread), which raises on every error;
its default batching writer is never used because it drops data on errors without raising.
httpx and influxdb-client errors become `InfluxUnavailableError` or `BatchRefusedError` here.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any, NamedTuple

import httpx

from hub.influx.errors import BatchRefusedError, InfluxUnavailableError, QueryRefusedError
from hub.influx.schema import rollup_statements, setup_statements
from hub.influx.settings import InfluxSettings

log = logging.getLogger(__name__)

_DROPPED = re.compile(r"dropped=(\d+)")
_UNPARSABLE = "unable to parse '"


class WriteResult(NamedTuple):
    """What the server did with a batch it accepted: points dropped as invalid, and why."""

    dropped: int = 0
    reason: str = ""


def major_version(header: str | None) -> int | None:
    """Return the major version from an `X-Influxdb-Version` header ('1.6.7~rc0', 'v2.7.1')."""
    match = re.match(r"v?(\d+)\.", (header or "").strip())
    return int(match.group(1)) if match else None


def _error_text(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:500]
    return str(body.get("error", body)) if isinstance(body, dict) else str(body)[:500]


class Transport:
    """Talk to one InfluxDB server; `write()` connects (and sets up 1.x) on first use."""

    def __init__(self, settings: InfluxSettings) -> None:
        if settings.url is None:
            raise ValueError("InfluxSettings.url is None: time series are disabled")
        self.settings = settings
        auth = None
        if settings.username is not None:
            auth = httpx.BasicAuth(settings.username, settings.password or "")
        self._http = httpx.AsyncClient(
            base_url=settings.url.rstrip("/"), auth=auth, timeout=settings.timeout_s
        )
        self.version: str = "unknown"
        self.major: int | None = None
        self.connected = False
        self._v2: Any = None
        self._connecting = asyncio.Lock()  # the flush and back-fill tasks share one set-up

    async def aclose(self) -> None:
        """Close HTTP connections."""
        await self._http.aclose()
        if self._v2 is not None:
            await asyncio.to_thread(self._v2.close)
            self._v2 = None

    async def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            return await self._http.request(method, path, **kw)
        except httpx.TransportError as exc:
            self.connected = False
            raise InfluxUnavailableError(f"{type(exc).__name__}: {exc}") from exc

    async def connect(self) -> None:
        """Detect the server version and, on 1.x, create database, RPs and CQs."""
        resp = await self._request("GET", "/ping")
        if resp.status_code >= 300:
            raise InfluxUnavailableError(f"/ping answered {resp.status_code}")
        header = resp.headers.get("X-Influxdb-Version")
        self.version = header or "unknown"
        if self.settings.api_version != "auto":
            self.major = int(self.settings.api_version)
        else:
            self.major = major_version(header) or (2 if self.settings.token else 1)
        if self.major >= 2:
            self._v2 = self._v2 or await asyncio.to_thread(self._open_v2)
        elif self.settings.setup_schema:
            try:
                for statement in setup_statements(self.settings):
                    await self.query(statement)
            except QueryRefusedError as exc:  # e.g. a user without admin rights: write anyway
                log.warning("InfluxDB set-up incomplete, writing anyway: %s", exc)
        self.connected = True
        where = self._http.base_url.copy_with(username=None, password=None)  # no secrets in logs
        log.info("InfluxDB %s at %s", self.version, where)

    async def query(self, statement: str) -> dict[str, Any]:
        """Run one InfluxQL statement on 1.x; raise QueryRefusedError if it is refused."""
        resp = await self._request(
            "POST", "/query", data={"q": statement, "db": self.settings.database}
        )
        if resp.status_code >= 500:
            raise InfluxUnavailableError(f"query answered {resp.status_code}: {_error_text(resp)}")
        if resp.status_code >= 300:
            raise QueryRefusedError(f"query answered {resp.status_code}: {_error_text(resp)}")
        answer: dict[str, Any] = resp.json()
        errors = [r["error"] for r in answer.get("results", []) if "error" in r]
        if errors:
            raise QueryRefusedError(f"{statement[:80]}…: {errors[0]}")
        return answer

    async def rollup(self, start_ms: int, end_ms: int) -> None:
        """Run the 1-minute rollups over a past time range by hand (1.x; no-op on 2.x)."""
        if self.major == 1 and self.settings.setup_schema:
            for statement in rollup_statements(self.settings, start_ms, end_ms):
                await self.query(statement)

    async def write(self, lines: list[str]) -> WriteResult:
        """Write a batch; return how many points the server dropped as invalid."""
        if not self.connected:
            async with self._connecting:
                if not self.connected:
                    await self.connect()
        if self.major is not None and self.major >= 2:
            return await self._write_v2(lines)
        return await self._write_v1(lines)

    async def _write_v1(self, lines: list[str]) -> WriteResult:
        body = "\n".join(lines).encode()
        params = {"db": self.settings.database, "precision": "ms"}
        resp = await self._request("POST", "/write", params=params, content=body)
        status = resp.status_code
        if status < 300:
            return WriteResult()
        error = _error_text(resp)
        if status == 400:
            return self._bad_request(lines, error)
        if status == 413:
            raise BatchRefusedError(f"413 request too large ({len(lines)} points)")
        if status == 404:
            self.connected = False  # database gone: set it up again before the next try
        raise InfluxUnavailableError(f"/write answered {status}: {error}")

    @staticmethod
    def _bad_request(lines: list[str], error: str) -> WriteResult:
        # 1.x writes the points that parsed and lists the others as "unable to parse" — but a
        # write error (type conflict, retention) hides the parse errors, so only the first
        # case gives an exact count; for the rest the writer splits the batch.
        parse_errors = error.count(_UNPARSABLE)
        if error.startswith(_UNPARSABLE):
            return WriteResult(len(lines), error)  # no line parsed, nothing written
        if error.startswith("partial write: unable to parse") and parse_errors:
            return WriteResult(min(parse_errors, len(lines)), error)
        if sum(int(n) for n in _DROPPED.findall(error)) >= len(lines):
            return WriteResult(len(lines), error)
        raise BatchRefusedError(f"400: {error[:300]}")

    def _open_v2(self) -> Any:
        from influxdb_client.client.influxdb_client import InfluxDBClient

        return InfluxDBClient(
            url=self.settings.url,
            token=self.settings.token or "",
            timeout=int(self.settings.timeout_s * 1000),
            org=self.settings.org or None,  # type: ignore[arg-type]  # None: the token's org
        )

    async def _write_v2(self, lines: list[str]) -> WriteResult:
        try:
            await asyncio.to_thread(self._write_v2_sync, lines)
        except InfluxUnavailableError:
            self.connected = False
            raise
        return WriteResult()

    def _write_v2_sync(self, lines: list[str]) -> None:
        from influxdb_client.client.write_api import SYNCHRONOUS
        from influxdb_client.domain.write_precision import WritePrecision
        from influxdb_client.rest import ApiException
        from urllib3.exceptions import HTTPError

        try:
            self._v2.write_api(write_options=SYNCHRONOUS).write(
                bucket=self.settings.database,
                org=self.settings.org,
                record=lines,
                write_precision=WritePrecision.MS,
            )
        except ApiException as exc:
            if exc.status in (400, 413, 422):
                raise BatchRefusedError(f"{exc.status}: {str(exc.body)[:300]}") from exc
            raise InfluxUnavailableError(f"{exc.status}: {str(exc.body)[:300]}") from exc
        except (HTTPError, OSError) as exc:
            raise InfluxUnavailableError(f"{type(exc).__name__}: {exc}") from exc
