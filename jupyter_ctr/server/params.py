"""Query-string and body parsing shared by the handlers (Podman's and Docker's conventions)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from tornado.httputil import HTTPServerRequest

from ..engine import limits
from ..engine.errors import InvalidArgumentError
from ..engine.oci import parse_signal
from ..service.filters import check_container_filters
from .errors import RouteError, bad_request

_TRUE = {"1", "true", "t", "yes", "y", "on"}
_FALSE = {"0", "false", "f", "no", "n", "off", ""}
_DURATION_RE = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)")
_INT_RE = re.compile(r"[+-]?[0-9]+")
_SECONDS_RE = re.compile(r"-?[0-9]+(?:\.[0-9]*)?")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
#: Bounds of a JSON request body (create bodies are a few kB and a few levels deep).
MAX_JSON_BYTES = 4 << 20
MAX_JSON_DEPTH = 100
_JSON_TOKEN_RE = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
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
           minimum: int | None = None, maximum: int = limits.INT64_MAX) -> int | None:
    """An optional ASCII decimal integer in [minimum, maximum] (int64 unless told: what
    podman's Go ints take)."""
    if value is None or value == "":
        return default
    if not _INT_RE.fullmatch(value):
        raise bad_request(f"invalid value {value!r} for query parameter {name!r}: want an "
                          "integer")
    # Longer than any int64 (and than Python's int-from-text limit): too large, say so.
    out = int(value) if len(value) <= 40 else (maximum + 1) * (-1 if value[0] == "-" else 1)
    if minimum is not None and out < minimum:
        raise bad_request(f"invalid value {value!r} for query parameter {name!r}: must be at "
                          f"least {minimum}")
    if out > maximum:
        raise bad_request(f"invalid value {value!r} for query parameter {name!r}: must be at "
                          f"most {maximum}")
    return out


def as_signal(name: str, value: str | None, default: str) -> int:
    """A signal name (``KILL``, ``SIGTERM``, ``RTMIN+3``) or number, strictly."""
    try:
        return parse_signal(default if value is None or value == "" else value)
    except InvalidArgumentError as exc:
        raise bad_request(f"invalid value {value!r} for query parameter {name!r}: {exc}"
                          ) from None


def check_text(what: str, value: str) -> str:
    """Refuse control characters (tornado would silently turn them into spaces)."""
    if _CONTROL_RE.search(value):
        raise bad_request(f"invalid {what}: control characters are not allowed")
    return value


def check_request(request: HTTPServerRequest, path_kwargs: Mapping[str, str | None],
                  path_args: Sequence[str] = ()) -> None:
    """Every query name and value is UTF-8 without control characters, and so is every
    name in the path (a container, image or exec session)."""
    for name, values in request.query_arguments.items():
        check_text(f"query parameter name {name!r}", name)
        for raw in values:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise bad_request(f"invalid value for query parameter {name!r}: not UTF-8"
                                  ) from None
            check_text(f"value {text!r} for query parameter {name!r}", text)
    for key, value in path_kwargs.items():
        if value is not None:
            check_text(f"{key} {value!r} in the path", value)
    for value in path_args:
        if value is not None:
            check_text(f"path segment {value!r}", value)


def query_value(request: HTTPServerRequest, name: str) -> str | None:
    """The last value of query parameter ``name`` (as tornado's), decoded and checked, with
    surrounding spaces stripped; None if absent."""
    values = request.query_arguments.get(name)
    if not values:
        return None
    try:
        text = values[-1].decode("utf-8")
    except UnicodeDecodeError:
        raise bad_request(f"invalid value for query parameter {name!r}: not UTF-8") from None
    return check_text(f"value {text!r} for query parameter {name!r}", text).strip(" ")


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
    out: float | None = None
    if _SECONDS_RE.fullmatch(v):
        out = float(v)
    elif (dur := as_duration(v)) is not None:
        out = (time.time() if now is None else now) - dur
    if out is not None:
        if not -limits.TIMEOUT_MAX <= out <= limits.TIMEOUT_MAX:
            raise bad_request(f"invalid time {value!r} for query parameter {name!r}: out of "
                              "range")
        return out
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
    raw = loads(value.encode(), "query parameter 'filters'")
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


def container_filters(value: str | None) -> dict[str, list[str]]:
    """The ``filters`` of a container list: known keys only, names that are regular
    expressions (service/filters.py)."""
    filters = as_filters(value)
    try:
        check_container_filters(filters)
    except InvalidArgumentError as exc:
        raise bad_request(str(exc)) from None
    return filters


def json_body(raw: bytes, *, required: bool = True) -> dict[str, Any]:
    """The request body as a JSON object (see ``loads``)."""
    if not raw.strip():
        if required:
            raise bad_request("request body is empty: a JSON object is required")
        return {}
    body = loads(raw, "request body")
    if not isinstance(body, dict):
        raise bad_request("request body must be a JSON object")
    return body


def loads(raw: bytes, what: str) -> Any:
    """The one JSON parser of client input: at most MAX_JSON_BYTES, nested at most
    MAX_JSON_DEPTH deep (deeper would exhaust the parser's recursion), no NaN or Infinity;
    anything else is a 400 naming ``what``."""
    if len(raw) > MAX_JSON_BYTES:
        # 413 as the socket service's answer before it reads such a body (BodyLimit)
        raise RouteError(413, f"{what} is too large ({len(raw)} bytes): JSON input may "
                         f"have at most {MAX_JSON_BYTES} bytes", "payload too large")
    _check_json_depth(raw, what)
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except ValueError as exc:
        raise bad_request(f"invalid JSON in {what}: {exc}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _check_json_depth(raw: bytes, what: str) -> None:
    # Fewer brackets than the limit cannot nest deeper: skip the scan for usual bodies.
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return
    depth = 0
    for token in _JSON_TOKEN_RE.finditer(raw):
        t = token.group()
        if t in (b"[", b"{"):
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise bad_request(f"invalid JSON in {what}: nested deeper than "
                                  f"{MAX_JSON_DEPTH} levels")
        elif t in (b"]", b"}"):
            depth -= 1
