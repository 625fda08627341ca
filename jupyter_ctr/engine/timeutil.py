"""RFC3339 formatting shared by inspect, logs and events."""

from __future__ import annotations

import time

ZERO_TIME = "0001-01-01T00:00:00Z"


def rfc3339_ns(time_ns: int | None) -> str:
    """``2026-11-29T01:02:03.123456789Z``; the zero time for None/0, as Go prints it."""
    if not time_ns:
        return ZERO_TIME
    # time, not datetime: every command records an event, and importing datetime costs ~1 ms.
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time_ns // 1_000_000_000))
    return f"{base}.{time_ns % 1_000_000_000:09d}Z"


def human_duration(seconds: float) -> str:
    """Go's ``units.HumanDuration`` wording, which podman's CREATED and STATUS columns use."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s < 60:
        return "1 second" if s == 1 else f"{s} seconds"
    minutes = s // 60
    if minutes < 60:
        return "About a minute" if minutes == 1 else f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // (24 * 7)} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // (24 * 30)} months"
    return f"{hours // (24 * 365)} years"
