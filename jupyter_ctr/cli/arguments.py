"""Option and argument values as podman takes them: times and durations, ``K=V`` labels and
filters, log options, comma lists, and ``IMAGE [COMMAND [ARG...]]``."""

from __future__ import annotations

import re
import time
from datetime import datetime

from ..engine.errors import InvalidArgumentError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterable, Sequence

_DURATION = r"(?:(\d+(?:\.\d*)?)(ns|us|µs|ms|s|m|h))"
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0,
                   "h": 3600.0}


def parse_time(value: str, now: float | None = None) -> float:
    """``--since``/``--until`` values as podman takes them: a Unix timestamp, an RFC3339 (or
    ISO 8601) time, local when it names no zone, or a Go duration (``10m``, ``1h30m``) back
    from now. Returns Unix seconds."""
    text = value.strip()
    now = time.time() if now is None else now
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    if text and re.fullmatch(f"{_DURATION}+", text):
        total = sum(float(n) * _DURATION_UNITS[u] for n, u in re.findall(_DURATION, text))
        return now - total
    iso = re.sub(r"(\.\d{6})\d+", r"\1", text)  # fromisoformat stops at microseconds
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise InvalidArgumentError(
            f"invalid time {value!r}: use a Unix timestamp, an RFC3339 time or a duration "
            "such as 10m") from None


def key_values(items: Iterable[str] | None) -> dict[str, str]:
    """``-l K=V`` items; a bare ``K`` means an empty value, as in podman."""
    out: dict[str, str] = {}
    for item in items or []:
        key, _, value = item.partition("=")
        if not key:
            raise InvalidArgumentError(f"invalid label {item!r}: the key is empty")
        out[key] = value
    return out


def log_size(items: Iterable[str] | None) -> str | None:
    """``--log-opt max-size=SIZE`` (the only log option of the k8s-file driver we honour)."""
    size = None
    for item in items or []:
        key, sep, value = item.partition("=")
        if key != "max-size" or not sep:
            raise InvalidArgumentError(f"invalid log option {item!r}: only max-size=SIZE is "
                                       "supported")
        size = value
    return size


def filters(items: Iterable[str] | None) -> dict[str, list[str]]:
    """``-f K=V`` items, repeatable: each key's values in order."""
    out: dict[str, list[str]] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidArgumentError(f"invalid filter {item!r}: filters are key=value")
        out.setdefault(key, []).append(value)
    return out


def split_commas(values: Sequence[str] | None) -> list[str]:
    """Repeatable comma lists (``--requires a,b --requires c``) as one list."""
    return [v for item in values or [] for v in item.split(",") if v]


def image_and_command(args: argparse.Namespace) -> tuple[str, list[str]]:
    """The image and the command of ``create``/``run`` (a leading ``--`` dropped)."""
    rest = list(args.image_and_command)
    if rest[:1] == ["--"]:
        rest = rest[1:]
    if not rest:
        raise InvalidArgumentError(f"{args.cmd} requires at least an IMAGE argument")
    return rest[0], rest[1:]
