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


def _days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (no calendar/datetime import:
    log readers parse a stamp per line)."""
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def parse_rfc3339_ns(stamp: str) -> int:
    """Nanoseconds since the epoch of an RFC 3339 time (``2026-11-29T01:02:03.123456789Z``,
    ``...+01:00``; up to nine fraction digits, ``T`` or a space). Go's zero time and "" give 0.
    ValueError names a stamp that is not one."""
    text = stamp.strip()
    if not text or text.startswith("0001-01-01T00:00:00"):
        return 0
    try:
        if len(text) < 19 or text[4] != "-" or text[7] != "-" or text[10] not in "Tt " \
                or text[13] != ":" or text[16] != ":":
            raise ValueError
        year, month, day = int(text[0:4]), int(text[5:7]), int(text[8:10])
        hour, minute, second = int(text[11:13]), int(text[14:16]), int(text[17:19])
        rest, frac = text[19:], ""
        if rest.startswith("."):
            i = 1
            while i < len(rest) and rest[i].isdigit():
                i += 1
            frac, rest = rest[1:i], rest[i:]
            if not frac:
                raise ValueError
        if rest in ("Z", "z", ""):
            offset = 0
        elif rest[0] in "+-" and len(rest) == 6 and rest[3] == ":":
            offset = (int(rest[1:3]) * 60 + int(rest[4:6])) * 60
            offset = -offset if rest[0] == "-" else offset
        else:
            raise ValueError
        if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60
                and second < 61):
            raise ValueError
    except (ValueError, IndexError):
        raise ValueError(f"invalid RFC 3339 time {stamp!r}") from None
    seconds = _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
    return (seconds - offset) * 1_000_000_000 + int(frac[:9].ljust(9, "0") or 0)
