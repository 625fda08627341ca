"""What commands print: podman's tables, human sizes and durations, JSON, and ``--format``
(json, or a Go template, optionally ``table ...``) on top of ``jupyter_ctr.gotemplate``.

Imported by the commands' modules, after the engine (which loads json and datetime anyway).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime

from ..engine.errors import InvalidArgumentError
from ..engine.timeutil import human_duration

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any

    from ..engine import LogLine
    from ..gotemplate import Format

#: Go's zero time as Unix seconds: what podman's JSON shows for "never".
GO_ZERO_UNIX = -62135596800


def print_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Left-aligned columns two spaces apart, like podman's tabwriter output."""
    rows = [list(r) for r in rows]
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    for row in [list(headers), *rows]:
        cells = [c.ljust(w) for c, w in zip(row[:-1], widths[:-1], strict=True)] + [row[-1]]
        print("  ".join(cells).rstrip())
    sys.stdout.flush()


def human_size(size: float, sep: str = "") -> str:
    """Decimal units with three significant digits, like podman (``1.98MB``)."""
    units = ("B", "kB", "MB", "GB", "TB", "PB")
    i = 0
    while size >= 1000 and i < len(units) - 1:
        size /= 1000
        i += 1
    return f"{size:.3g}{sep}{units[i]}"


def ago(seconds: float) -> str:
    """How long ago, as podman's CREATED column says it (``5 minutes ago``)."""
    return f"{human_duration(seconds)} ago"


def short(ident: str, no_trunc: bool = False) -> str:
    """An id as listings show it: 12 characters, or whole with --no-trunc."""
    return ident if no_trunc else ident[:12]


def write_log_line(line: LogLine, timestamps: bool = False) -> None:
    """A container's log line to our stdout or stderr, as it wrote it."""
    stream = sys.stderr if line.stream == "stderr" else sys.stdout
    prefix = f"{line.timestamp()} " if timestamps else ""
    stream.write(f"{prefix}{line.text}{'' if line.partial else chr(10)}")
    stream.flush()


def print_json(data: Any, indent: int = 4) -> None:
    print(json.dumps(data, indent=indent), flush=True)


def print_nested(data: dict[str, Any], indent: str = "") -> None:
    """Nested dicts as indented ``key: value`` lines."""
    for key, value in data.items():
        if isinstance(value, dict):
            print(f"{indent}{key}:")
            print_nested(value, indent + "  ")
        else:
            print(f"{indent}{key}: {value}")


def go_time(seconds: float, ns: int | None = None) -> str:
    """A time as Go's ``time.Time`` prints it: ``2026-11-30 02:56:57.4618 +0000 UTC``."""
    t = datetime.fromtimestamp(int(seconds)).astimezone()
    frac = "" if ns is None else f"{ns % 1_000_000_000:09d}".rstrip("0")
    return f"{t:%Y-%m-%d %H:%M:%S}{'.' + frac if frac else ''} {t:%z} {t.tzname()}"


def parse_format(spec: str | None, name: str) -> Format | None:
    """The parsed ``--format``, or None without one; a bad template is an InvalidArgumentError
    (exit 125) naming the problem, raised before any work is done."""
    if spec is None:
        return None
    from ..gotemplate import Format, TemplateError  # noqa: PLC0415 - lazy: only for --format

    try:
        fmt = Format(spec, name)
    except TemplateError as exc:
        raise InvalidArgumentError(f"invalid --format {spec!r}: {exc}") from None
    if not fmt.is_json and fmt.template is None:
        return None  # "table" alone: the default table
    return fmt


def print_formatted(fmt: Format, items: list[Any],
                    headers: dict[str, str] | None = None) -> None:
    """Each item through the template (tables with a header row when ``headers``)."""
    from ..gotemplate import TemplateError, header_name  # noqa: PLC0415 - lazy: only for --format

    try:
        lines = fmt.lines(items, (lambda f: header_name(f, headers)) if headers is not None
                          else None)
    except TemplateError as exc:
        raise InvalidArgumentError(str(exc)) from None
    for line in lines:
        print(line)
    sys.stdout.flush()
