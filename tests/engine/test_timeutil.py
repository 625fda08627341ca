"""RFC 3339 formatting and parsing (engine/timeutil.py): one of each for the whole package."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from jupyter_ctr.engine.timeutil import ZERO_TIME, parse_rfc3339_ns, rfc3339_ns


@pytest.mark.parametrize("stamp", [
    "2026-11-29T01:02:03Z", "1999-02-28T23:59:59.5+01:30", "2026-11-29T01:02:03.1-05:00",
    "2000-02-29T00:00:00Z", "1970-01-01T00:00:00Z", "1900-03-01T00:00:00Z",
    "9999-12-31T23:59:59Z", "2026-11-29 01:02:03.25+00:00",
])
def test_parse_agrees_with_datetime(stamp: str) -> None:
    dt = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    expected_us = (dt - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    assert parse_rfc3339_ns(stamp) == expected_us * 1000


def test_nanoseconds_round_trip() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        ns = rng.randrange(1, 250 * 10**18)
        assert parse_rfc3339_ns(rfc3339_ns(ns)) == ns
    assert parse_rfc3339_ns("2026-11-29T01:02:03.123456789123Z") % 10**9 == 123456789


def test_zero_time_and_empty() -> None:
    assert rfc3339_ns(0) == ZERO_TIME and rfc3339_ns(None) == ZERO_TIME
    assert parse_rfc3339_ns(ZERO_TIME) == 0 and parse_rfc3339_ns("") == 0


@pytest.mark.parametrize("bad", ["x", "2026-13-01T00:00:00Z", "2026-11-29T01:02:03.Z",
                                 "2026-11-29T01:02:03+0100", "2026-11-29", "2026-11-29T25:00:00Z",
                                 "2026-11-29T01:02:03Zjunk"])
def test_bad_stamps_are_named(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid RFC 3339 time"):
        parse_rfc3339_ns(bad)
