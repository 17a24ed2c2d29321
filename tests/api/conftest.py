"""Fixtures of the API tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.kit import Api, Clock, make_api


@pytest.fixture
def clock() -> Clock:
    """Return a settable clock for the accounts."""
    return Clock()


@pytest.fixture
def api(tmp_path: Path, site_id: str, clock: Clock) -> Iterator[Api]:
    """Return the API of a hub with the machine token and one user per role."""
    yield from make_api(tmp_path, site_id, clock=clock, metrics_access="open")
