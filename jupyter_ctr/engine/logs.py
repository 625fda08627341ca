"""Container logs in conmon's k8s-file format: ``<RFC3339Nano> <stream> <F|P> <text>``."""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple


class LogLine(NamedTuple):
    time_ns: int
    stream: str  # "stdout" or "stderr"
    text: str    # without the trailing newline
    partial: bool = False  # True when the line did not end in a newline (conmon's "P")

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.time_ns / 1e9, tz=UTC)

    def timestamp(self) -> str:
        """RFC3339 with nanoseconds, as ``podman logs -t`` prints."""
        base = datetime.fromtimestamp(self.time_ns // 1_000_000_000, tz=UTC)
        return base.strftime("%Y-%m-%dT%H:%M:%S") + f".{self.time_ns % 1_000_000_000:09d}Z"


def parse_time_ns(stamp: str) -> int:
    """Parse conmon's RFC3339Nano stamp (``2026-11-29T01:02:03.123456789+00:00``)."""
    main, frac, rest = stamp, "0", ""
    if "." in stamp:
        main, tail = stamp.split(".", 1)
        i = 0
        while i < len(tail) and tail[i].isdigit():
            i += 1
        frac, rest = tail[:i] or "0", tail[i:]
    else:
        for j, ch in enumerate(stamp[19:], 19):
            if ch in "+-Z":
                main, rest = stamp[:j], stamp[j:]
                break
    if rest in ("Z", ""):
        rest = "+00:00"
    dt = datetime.fromisoformat(main + rest)
    return int(dt.timestamp()) * 1_000_000_000 + int(frac.ljust(9, "0")[:9])


def parse_line(raw: str) -> LogLine | None:
    parts = raw.rstrip("\n").split(" ", 3)
    if len(parts) < 3:
        return None
    try:
        ns = parse_time_ns(parts[0])
    except ValueError:
        return None
    text = parts[3] if len(parts) == 4 else ""
    return LogLine(ns, parts[1], text, parts[2] == "P")


def _join_partials(lines: Iterator[LogLine]) -> Iterator[LogLine]:
    pending: dict[str, LogLine] = {}
    for line in lines:
        prev = pending.pop(line.stream, None)
        if prev is not None:
            line = LogLine(prev.time_ns, line.stream, prev.text + line.text, line.partial)
        if line.partial:
            pending[line.stream] = line
        else:
            yield line
    for line in pending.values():
        yield line


def _raw_lines(path: Path, start: int, end: int | None, follow: bool,
               still_running: Callable[[], bool] | None,
               poll_interval: float) -> Iterator[LogLine]:
    try:
        fh = open(path, "rb")  # noqa: SIM115
    except FileNotFoundError:
        return
    with fh:
        fh.seek(start)
        buf = b""
        while True:
            limit = -1 if end is None else end - fh.tell()
            chunk = fh.readline(limit) if limit != 0 else b""
            if chunk:
                buf += chunk
                if not buf.endswith(b"\n"):
                    continue  # a line conmon is still writing
                parsed = parse_line(buf.decode("utf-8", errors="replace"))
                buf = b""
                if parsed is not None:
                    yield parsed
                continue
            if not follow:
                return
            if still_running is not None and not still_running():
                # One more read: conmon may have written the last lines just now.
                for raw in (buf + fh.read()).splitlines():
                    parsed = parse_line(raw.decode("utf-8", errors="replace"))
                    if parsed is not None:
                        yield parsed
                return
            time.sleep(poll_interval)


def log_complete_size(log_path: Path) -> int:
    """Bytes of the k8s-file log up to its last complete line (0 if there is none)."""
    try:
        with open(log_path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            block = 1 << 16
            pos = size
            while pos > 0:
                start = max(0, pos - block)
                fh.seek(start)
                chunk = fh.read(pos - start)
                nl = chunk.rfind(b"\n")
                if nl >= 0:
                    return start + nl + 1
                pos = start
    except FileNotFoundError:
        pass
    return 0


def read_log(path: Path, *, tail: int | None = None, since_ns: int | None = None,
             until_ns: int | None = None, follow: bool = False,
             still_running: Callable[[], bool] | None = None,
             poll_interval: float = 0.05) -> Iterator[LogLine]:
    """Yield log lines (partials joined); with ``follow``, keep going while running.

    ``tail`` keeps only the last N existing lines; following then goes on with new ones.
    """

    def selected(lines: Iterator[LogLine]) -> Iterator[LogLine]:
        for line in _join_partials(lines):
            if since_ns is not None and line.time_ns < since_ns:
                continue
            if until_ns is not None and line.time_ns > until_ns:
                continue
            yield line

    if tail is None or tail < 0:
        yield from selected(_raw_lines(path, 0, None, follow, still_running, poll_interval))
        return
    size = log_complete_size(path)
    existing = selected(_raw_lines(path, 0, size, False, None, poll_interval))
    yield from (deque(existing, maxlen=tail) if tail > 0 else ())
    if follow:
        yield from selected(_raw_lines(path, size, None, True, still_running, poll_interval))
