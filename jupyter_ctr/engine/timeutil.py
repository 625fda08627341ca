"""RFC3339 formatting shared by inspect, logs and events."""

from __future__ import annotations

from datetime import UTC, datetime

ZERO_TIME = "0001-01-01T00:00:00Z"


def rfc3339_ns(time_ns: int | None) -> str:
    """``2026-11-29T01:02:03.123456789Z``; the zero time for None/0, as Go prints it."""
    if not time_ns:
        return ZERO_TIME
    base = datetime.fromtimestamp(time_ns // 1_000_000_000, tz=UTC)
    return base.strftime("%Y-%m-%dT%H:%M:%S") + f".{time_ns % 1_000_000_000:09d}Z"
