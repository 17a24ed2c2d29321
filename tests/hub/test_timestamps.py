"""`UtcDateTime` on SQLite writes exactly the text SQLAlchemy's DATETIME writes, and reads it
(and SQLAlchemy's other accepted shapes) back to the same aware UTC datetime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import DateTime
from sqlalchemy.dialects import sqlite

from hub.store.timestamps import UtcDateTime, read_utc

DIALECT = sqlite.dialect()
# As SQLAlchemy takes them: the dialect's own implementation of each type.
OURS_IN = UtcDateTime().dialect_impl(DIALECT).bind_processor(DIALECT)
OURS_OUT = UtcDateTime().dialect_impl(DIALECT).result_processor(DIALECT, None)
THEIRS_IN = DateTime().dialect_impl(DIALECT).bind_processor(DIALECT)
THEIRS_OUT = DateTime().dialect_impl(DIALECT).result_processor(DIALECT, None)
OFFSETS = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda m: timezone(timedelta(minutes=m))
)
# hypothesis takes naive bounds and adds the time zones itself.
LOW, HIGH = datetime(1900, 1, 2), datetime(9999, 12, 30)  # noqa: DTZ001
AWARE = st.datetimes(min_value=LOW, max_value=HIGH, timezones=OFFSETS)


@settings(max_examples=500, deadline=None)
@given(AWARE)
def test_written_as_sqlalchemy_writes_it_and_read_back(value: datetime) -> None:
    assert OURS_IN is not None and OURS_OUT is not None
    assert THEIRS_IN is not None and THEIRS_OUT is not None
    utc = value.astimezone(UTC)
    text = OURS_IN(value)
    assert text == THEIRS_IN(utc.replace(tzinfo=None))
    assert OURS_OUT(text) == utc
    assert OURS_OUT(text).tzinfo is UTC


@pytest.mark.parametrize(
    "text", ["2026-12-02 15:04:05", "2026-12-02 15:04:05.000123", "2026-12-02 00:00:00.999999"]
)
def test_reads_the_shapes_sqlalchemy_reads(text: str) -> None:
    assert OURS_OUT is not None and THEIRS_OUT is not None
    assert OURS_OUT(text) == THEIRS_OUT(text).replace(tzinfo=UTC)


def test_naive_values_are_refused() -> None:
    assert OURS_IN is not None
    assert OURS_IN(None) is None
    with pytest.raises(ValueError, match="naive"):
        OURS_IN(datetime(2026, 12, 2, 15, 0))  # noqa: DTZ001 - naive on purpose


@settings(max_examples=1000, deadline=None)
@given(
    AWARE,
    st.sampled_from([" ", "T"]),
    st.sampled_from(["auto", "seconds", "milliseconds", "microseconds"]),
    st.booleans(),
)
def test_any_iso_text_reads_as_the_general_reading_does(
    value: datetime, sep: str, spec: str, naive: bool
) -> None:
    # The 26-character fast path must not read a text with an offset of its own (or any
    # other shape of that length) differently from the general reading.
    assert OURS_OUT is not None
    shown = value.replace(tzinfo=None) if naive else value
    text = shown.isoformat(sep, spec)
    read = OURS_OUT(text)
    assert read == read_utc(text)
    assert read.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    ["2026-12-02 15:04:05.12345Z", "2026-12-02T15:04:05.1+0530", "2026-12-02 15:04:05.123456"],
)
def test_texts_of_the_written_length_with_a_zone_of_their_own(text: str) -> None:
    assert OURS_OUT is not None
    assert len(text) == 26
    assert OURS_OUT(text) == read_utc(text)
