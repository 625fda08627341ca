"""Query-string and body parsing shared by the handlers (Podman's and Docker's conventions)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .errors import bad_request

_TRUE = {"1", "true", "t", "yes", "y", "on"}
_FALSE = {"0", "false", "f", "no", "n", "off", ""}
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def as_bool(name: str, value: str | None, default: bool = False) -> bool:
    if value is None:
        return default
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise bad_request(f"invalid value {value!r} for query parameter {name!r}: want a boolean")


def as_int(name: str, value: str | None, default: int | None = None, *,
           minimum: int | None = None) -> int | None:
    if value is None or value == "":
        return default
    try:
        out = int(value)
    except ValueError:
        raise bad_request(f"invalid value {value!r} for query parameter {name!r}: want an "
                          "integer") from None
    if minimum is not None and out < minimum:
        raise bad_request(f"invalid value {value!r} for query parameter {name!r}: must be at "
                          f"least {minimum}")
    return out


def as_duration(text: str) -> float | None:
    """Go's time.ParseDuration subset: ``1h30m``, ``10s``, ``250ms``; None if not one."""
    pos, total = 0, 0.0
    for m in _DURATION_RE.finditer(text):
        if m.start() != pos:
            return None
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    return total if pos == len(text) and text else None


def as_time(name: str, value: str | None, now: float | None = None) -> float | None:
    """Unix seconds (``1700000000``, ``1700000000.5``), RFC3339, or a duration back from now
    (``10m``) -> unix time; podman's util.ParseInputTime."""
    if value is None or value == "" or value.startswith("0001-01-01T00:00:00"):
        return None  # Go's zero time: podman-remote sends it for "not set"
    v = value.strip()
    try:
        return float(v)
    except ValueError:
        pass
    dur = as_duration(v)
    if dur is not None:
        return (time.time() if now is None else now) - dur
    try:
        stamp = v.replace("Z", "+00:00")
        if "." in stamp:  # Python wants at most 6 fraction digits
            head, tail = stamp.split(".", 1)
            digits = re.match(r"\d*", tail)
            assert digits is not None
            frac = digits.group(0)
            stamp = f"{head}.{frac[:6].ljust(6, '0')}{tail[len(frac):]}"
        dt = datetime.fromisoformat(stamp)
        if dt.tzinfo is None:
            dt = dt.astimezone()
        return dt.timestamp()
    except ValueError:
        raise bad_request(f"invalid time {value!r} for query parameter {name!r}: use unix "
                          "seconds, RFC3339 or a duration such as 10m") from None


def as_filters(value: str | None) -> dict[str, list[str]]:
    """The ``filters`` query parameter: JSON ``{"key": ["v", ...]}`` (Docker's older
    ``{"key": {"v": true}}`` form too)."""
    if not value:
        return {}
    try:
        raw = json.loads(value)
    except ValueError:
        raise bad_request(f"invalid filters {value!r}: want a JSON object") from None
    if not isinstance(raw, Mapping):
        raise bad_request(f"invalid filters {value!r}: want a JSON object")
    out: dict[str, list[str]] = {}
    for key, vals in raw.items():
        if isinstance(vals, Mapping):
            out[str(key)] = [str(k) for k, on in vals.items() if on]
        elif isinstance(vals, list):
            out[str(key)] = [str(v) for v in vals]
        elif isinstance(vals, str):
            out[str(key)] = [vals]
        else:
            raise bad_request(f"invalid filter {key!r}: want a list of strings")
    return out


def json_body(raw: bytes, *, required: bool = True) -> dict[str, Any]:
    if not raw.strip():
        if required:
            raise bad_request("request body is empty: a JSON object is required")
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise bad_request(f"invalid JSON in request body: {exc}") from None
    if not isinstance(body, dict):
        raise bad_request("request body must be a JSON object")
    return body
