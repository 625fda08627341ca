"""Container logs in conmon's k8s-file format: ``<RFC3339Nano> <stream> <F|P> <text>``.

A *line* is a chain of records on one stream: any ``P`` (partial) records and the ``F`` record
that ends it; it carries the time of its first record. Reading costs what is asked, not the
size of the file:

* ``tail`` reads blocks backwards from the end until it has N lines;
* ``since``/``until`` find their byte offsets by binary search (conmon appends records in time
  order), resyncing on the next newline after each probe;
* ``follow`` polls, and reopens the path when conmon rotates the file (``--log-size-max``:
  conmon renames a fresh file over the full one, whose content is then gone).

The line conmon is still writing (trailing ``P`` records of a running container) is not a line
yet for ``tail``: it is left to ``follow``, which shows it whole once it ends. Once the
container has stopped, those records are its last line (shown without a newline).
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from .errors import InvalidArgumentError
from .timeutil import parse_rfc3339_ns

# ``create`` loads this module (parse_log_size): datetime is imported where it is used, and
# the records are collections.namedtuple at run time (typing.NamedTuple, for type checkers,
# costs ~1 ms per class to create, and importing typing ~2 ms).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime
    from typing import NamedTuple

    from .conmon_socket import AttachConnection

    class _LogLineFields(NamedTuple):
        time_ns: int
        stream: str  # "stdout" or "stderr"
        text: str    # without the trailing newline
        partial: bool = False  # True when the line did not end in a newline (conmon's "P")

    class _Rec(NamedTuple):
        start: int      # byte offset of the record in its file
        time_ns: int
        stream: str
        partial: bool
        text: bytes
else:
    from collections import namedtuple

    _LogLineFields = namedtuple("LogLine", "time_ns stream text partial", defaults=(False,))
    _Rec = namedtuple("_Rec", "start time_ns stream partial text")

#: Bytes read per step backwards (tail, probes) and forwards.
BACK_BLOCK = 1 << 16
FORWARD_BLOCK = 1 << 20
PROBE_BLOCK = 1 << 13
#: How far back a reading that starts mid-log looks for the beginning of a line that goes on
#: past its start (--since, a tail bounded by --since). Further back than that, the line is
#: taken as beginning at the start, as podman always does.
LOOKBACK_LIMIT = 1 << 20
#: conmon's read buffer: a smaller --log-size-max would rotate on every record. Podman's
#: containers.conf (log_size_max) and CRI-O refuse sizes below it; so do we.
MIN_LOG_SIZE = 8192

_STREAMS = {b"stdout": "stdout", b"stderr": "stderr"}


class LogLine(_LogLineFields):
    """One line of a container's log: ``time_ns``, ``stream`` ("stdout" or "stderr"), ``text``
    (without the trailing newline), ``partial`` (True when it did not end in a newline)."""

    __slots__ = ()

    @property
    def time(self) -> datetime:
        from datetime import UTC, datetime  # noqa: PLC0415 - lazy: CLI start-up

        return datetime.fromtimestamp(self.time_ns / 1e9, tz=UTC)

    def timestamp(self) -> str:
        """RFC3339 with nanoseconds, as ``podman logs -t`` prints."""
        from datetime import UTC, datetime  # noqa: PLC0415 - lazy: CLI start-up

        base = datetime.fromtimestamp(self.time_ns // 1_000_000_000, tz=UTC)
        return base.strftime("%Y-%m-%dT%H:%M:%S") + f".{self.time_ns % 1_000_000_000:09d}Z"


def parse_line(raw: str) -> LogLine | None:
    """One record as a LogLine (``partial`` for a P record); None if it is not a record."""
    parts = raw.rstrip("\n").split(" ", 3)
    if len(parts) < 3:
        return None
    try:
        ns = parse_rfc3339_ns(parts[0])
    except ValueError:
        return None
    text = parts[3] if len(parts) == 4 else ""
    return LogLine(ns, parts[1], text, parts[2] == "P")


# -- log size (--log-opt max-size) --------------------------------------------------------------
#: Compiled on first use (by re's cache): ``create`` imports this module, rarely with a size.
_SIZE_PATTERN = r"\s*(\d+(?:\.\d+)?)\s?([kmgtp])?i?b?\s*"
_SIZE_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "p": 10**15}


def parse_log_size(value: int | str | None) -> int | None:
    """``max-size`` as podman takes it: bytes, or a number with k, m, g (decimal units, as
    podman's ``FromHumanSize``: ``10m`` is 10,000,000). None, 0 or "" mean no limit."""
    if value is None or value == "":
        return None
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:36] + "...'"
    if isinstance(value, bool):
        raise InvalidArgumentError(f"invalid log size {shown}: use bytes or a size like 10m")
    if isinstance(value, int):
        size = value
    else:
        m = re.fullmatch(_SIZE_PATTERN, str(value), re.IGNORECASE)
        if str(value).strip().startswith("-"):
            size = -1
        elif not m:
            raise InvalidArgumentError(
                f"invalid log size {shown}: use bytes or a number with k, m or g (10m)")
        else:
            # exact: float would turn 400 digits into inf
            from decimal import Decimal  # noqa: PLC0415 - lazy: CLI start-up

            size = int(Decimal(m.group(1)) * _SIZE_UNITS[(m.group(2) or "").lower()])
    if size < 0:
        raise InvalidArgumentError(f"invalid log size {shown}: it cannot be negative "
                                   "(0 means no limit)")
    if size == 0:
        return None
    if size < MIN_LOG_SIZE:
        raise InvalidArgumentError(
            f"invalid log size {shown}: it must be 0 (no limit) or at least {MIN_LOG_SIZE} "
            "bytes, conmon's read buffer")
    if size >= 1 << 63:
        raise InvalidArgumentError(f"invalid log size {shown}: too large")
    return size


def human_size(size: int) -> str:
    """Decimal units with 4 significant digits, as podman shows ``LogConfig.Size``."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if value < 1000 or unit == "PB":
            return f"{value:.4g}{unit}"
        value /= 1000
    raise AssertionError("unreachable")


# -- records --------------------------------------------------------------------------------------
def _stamp_ns(stamp: bytes, cache: dict[bytes, int]) -> int | None:
    """conmon's stamp in ns; the whole-second part is parsed once per distinct second."""
    if len(stamp) == 35 and stamp[19:20] == b"." and stamp[29:30] in (b"+", b"-"):
        key = stamp[:19] + stamp[29:]
        base = cache.get(key)
        if base is None:
            from datetime import datetime  # noqa: PLC0415 - lazy: CLI start-up

            try:
                base = int(datetime.fromisoformat(key.decode("ascii")).timestamp())
            except (ValueError, UnicodeDecodeError):
                return None
            if len(cache) > 4096:
                cache.clear()
            cache[key] = base
        frac = stamp[20:29]
        if not frac.isdigit():
            return None
        return base * 1_000_000_000 + int(frac)
    try:
        return parse_rfc3339_ns(stamp.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        return None


def _parse_rec(raw: bytes, start: int, cache: dict[bytes, int]) -> _Rec | None:
    parts = raw.split(b" ", 3)
    if len(parts) < 3:
        return None
    ns = _stamp_ns(parts[0], cache)
    if ns is None:
        return None
    stream = _STREAMS.get(parts[1]) or parts[1].decode("utf-8", "replace")
    return _Rec(start, ns, stream, parts[2] == b"P", parts[3] if len(parts) == 4 else b"")


def _line(chain: list[_Rec], partial: bool = False) -> LogLine:
    text = chain[0].text if len(chain) == 1 else b"".join(r.text for r in chain)
    return LogLine(chain[0].time_ns, chain[0].stream, text.decode("utf-8", "replace"), partial)


class LogReader:
    """One reading of a k8s-file log; ``bytes_read`` counts what it read (tests, benches)."""

    def __init__(self, path: Path | str, poll_interval: float = 0.05) -> None:
        self.path = Path(path)
        self.poll_interval = poll_interval
        self.bytes_read = 0
        self.rotations = 0
        self._fd = -1
        self._ino: tuple[int, int] = (0, 0)
        self._stamps: dict[bytes, int] = {}

    # -- the file ----------------------------------------------------------------------------
    def _open(self) -> bool:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return False
        if self._fd >= 0:
            os.close(self._fd)
        self._fd = fd
        st = os.fstat(fd)
        self._ino = (st.st_dev, st.st_ino)
        return True

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _pread(self, offset: int, size: int) -> bytes:
        data = os.pread(self._fd, size, offset)
        self.bytes_read += len(data)
        return data

    def _size(self) -> int:
        return os.fstat(self._fd).st_size

    def _rotated(self) -> bool:
        """True when the path now names another file (conmon replaced the full one)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return False
        return (st.st_dev, st.st_ino) != self._ino

    def complete_size(self) -> int:
        """Bytes of the log up to its last complete line (0 when it is missing or has none),
        for a reading that starts now."""
        if not self._open():
            return 0
        try:
            return self._complete_size()
        finally:
            self.close()

    def _complete_size(self) -> int:
        """Bytes up to the last newline: a record being written is not read."""
        pos, block = self._size(), PROBE_BLOCK
        while pos > 0:
            start = max(0, pos - block)
            nl = self._pread(start, pos - start).rfind(b"\n")
            if nl >= 0:
                return start + nl + 1
            pos, block = start, BACK_BLOCK
        return 0

    # -- forwards ----------------------------------------------------------------------------
    def _records(self, start: int, end: int | None, follow: bool = False,
                 still_running: Callable[[], bool] | None = None) -> Iterator[_Rec]:
        """Records from ``start`` (a record boundary) to ``end``, or on and on with ``follow``:
        across rotations, until ``still_running`` says the writer is gone."""
        pos, carry, last_pass = start, b"", False
        block = PROBE_BLOCK  # grows: a small answer costs a small read, a big one few calls
        while True:
            want = block if end is None else min(block, end - pos)
            data = self._pread(pos, want) if want > 0 else b""
            if data:
                pos += len(data)
                block = min(block * 2, FORWARD_BLOCK)
                buf = carry + data if carry else data
                off = pos - len(buf)
                lines = buf.split(b"\n")
                carry = lines.pop()  # a record conmon is still writing, or b""
                for raw in lines:
                    rec = _parse_rec(raw, off, self._stamps)
                    off += len(raw) + 1
                    if rec is not None:
                        yield rec
                continue
            if not follow or end is not None:
                return
            # Check the name first: once conmon renamed a new file over it, the old one is
            # final, so reading it to its end loses nothing.
            rotated = self._rotated()
            if self._size() > pos:
                continue
            if rotated and self._open():
                self.rotations += 1
                pos, carry = 0, b""
                continue
            if last_pass:
                return
            if still_running is not None and not still_running():
                last_pass = True  # conmon may have written the last records just now
                continue
            time.sleep(self.poll_interval)

    # -- backwards ---------------------------------------------------------------------------
    def _bodies_backward(self, end: int, floor: int,
                         floor_is_record: bool = True) -> Iterator[tuple[int, bytes]]:
        """Blocks of whole records in [floor, end), newest block first, as (offset, bytes).
        ``floor`` is a record boundary unless ``floor_is_record`` is False."""
        pos, carry = end, b""
        while pos > floor:
            start = max(floor, pos - BACK_BLOCK)
            buf = self._pread(start, pos - start) + carry
            pos = start
            if start > floor or not floor_is_record:
                if start == floor and b"\n" not in buf[:-1]:
                    return
                nl = buf.find(b"\n")
                if nl == len(buf) - 1:  # one record longer than a block: read further back
                    carry = buf
                    continue
                carry, buf, start = buf[:nl + 1], buf[nl + 1:], start + nl + 1
            else:
                carry = b""
            yield start, buf

    def prev_is_partial(self, stream: str, before: int) -> bool:
        """Whether the last record of ``stream`` before offset ``before`` is a P record (a
        line that goes on after ``before``). Skips other streams' records with ``rfind``."""
        want = stream.encode()
        needle = b" " + want + b" "
        floor = max(0, before - LOOKBACK_LIMIT)
        for _start, body in self._bodies_backward(before, floor, floor == 0):
            i = len(body)
            while (i := body.rfind(needle, 0, i)) >= 0:
                ls = body.rfind(b"\n", 0, i) + 1
                parts = body[ls:ls + 64].split(b" ", 3)
                if (len(parts) >= 3 and parts[1] == want
                        and _stamp_ns(parts[0], self._stamps) is not None):
                    return parts[2] == b"P"
                i = ls
        return False

    def _tail_start(self, n: int, floor: int, end: int) -> tuple[int, dict[str, bool]]:
        """Where reading forwards must start to get the last ``n`` lines that begin in
        [floor, end), and, per stream, whether no line crosses that point (True) or the
        records up to the stream's next F belong to an earlier line (False).

        Counts F records backwards; a stream whose newest records are P has a line going on
        past ``end`` (it does not count). Stops once n lines are counted and every line
        counted has its first record, checking at block ends, so streams seen in the blocks
        read are known. A P record older than that whose line ends after ``end`` is missed.
        """
        count, s0 = 0, end
        seen: set[str] = set()
        open_: set[str] = set()  # streams whose oldest line so far may have earlier records
        state: dict[str, bool] = {}
        for start, body in self._bodies_backward(end, floor):
            offsets = []
            off = start
            lines = body.split(b"\n")
            lines.pop()
            for raw in lines:
                offsets.append(off)
                off += len(raw) + 1
            for raw, off in zip(reversed(lines), reversed(offsets), strict=True):
                parts = raw[:64].split(b" ", 3)
                if len(parts) < 3 or _stamp_ns(parts[0], self._stamps) is None:
                    continue
                stream = _STREAMS.get(parts[1]) or parts[1].decode("utf-8", "replace")
                partial = parts[2] == b"P"
                if stream not in seen:
                    seen.add(stream)
                    if partial or count < n:
                        count += not partial
                        open_.add(stream)
                        s0 = off
                elif stream in open_:
                    if partial:
                        s0 = off
                    elif count < n:
                        count += 1
                        s0 = off
                    else:
                        open_.discard(stream)
                        state[stream] = True
            if count >= n and not open_:
                break
        else:
            # The floor: a line still open there may have begun before it.
            for stream in open_:
                state[stream] = floor == 0 or not self.prev_is_partial(stream, floor)
        return s0, state

    def _seek_time(self, t: int, lo: int, hi: int) -> int:
        """The first record start in [lo, hi) whose time is >= t (hi if none): a binary
        search on byte offsets, each probe resynced to the record after the next newline."""
        while hi - lo > BACK_BLOCK:
            mid = (lo + hi) // 2
            probe = self._first_record(mid, hi)
            if probe is None:
                break  # one long record spans [mid, hi): scan from lo
            rec, rec_end = probe
            if rec.time_ns < t:
                lo = rec_end
            else:
                hi = rec.start
        for rec in self._records(lo, hi):
            if rec.time_ns >= t:
                return rec.start
        return hi

    def _first_record(self, at: int, hi: int) -> tuple[_Rec, int] | None:
        """The first well-formed record starting in [at, hi), and where it ends."""
        pos = at - 1 if at > 0 else 0
        carry = b""
        skip = at > 0  # bytes up to the first newline belong to the record before
        while pos < hi:
            data = self._pread(pos, min(PROBE_BLOCK, hi - pos))
            if not data:
                return None
            buf = carry + data
            base = pos - len(carry)
            pos += len(data)
            lines = buf.split(b"\n")
            carry = lines.pop()
            off = base
            for raw in lines:
                rec_start, off = off, off + len(raw) + 1
                if skip:
                    skip = False
                    continue
                rec = _parse_rec(raw, rec_start, self._stamps)
                if rec is not None:
                    return rec, off
        return None

    # -- lines -------------------------------------------------------------------------------
    def lines(self, *, tail: int | None = None, since_ns: int | None = None,
              until_ns: int | None = None, follow: bool = False,
              still_running: Callable[[], bool] | None = None) -> Iterator[LogLine]:
        """Yield log lines; see ``read_log``."""
        if not self._open():
            return
        try:
            writer_done = still_running is None or not still_running()
            end = self._complete_size()
            floor = 0 if since_ns is None else self._seek_time(since_ns, 0, end)
            asm = _Assembler(self, since_ns, until_ns)
            if tail is None or tail < 0 or tail > sys.maxsize:
                asm.lookback_at = floor
                yield from asm.lines(self._records(floor, end))
                if follow and not asm.done:
                    yield from asm.lines(self._records(end, None, True, still_running))
                yield from asm.flush()
                return
            stop = end if until_ns is None else self._seek_time(until_ns + 1, floor, end)
            s0, state = self._tail_start(tail, floor, stop)
            asm.set_state(state)
            window = deque(asm.lines(self._records(s0, end)), maxlen=tail)
            if writer_done or until_ns is not None or asm.done:
                window.extend(asm.flush())
            yield from window
            if follow and not asm.done:
                yield from asm.lines(self._records(end, None, True, still_running))
                yield from asm.flush()
        finally:
            self.close()


class _Assembler:
    """Records -> lines: joins each stream's P records with the F that ends them, drops the
    rest of a line that began before the reading did, and stops past ``until``."""

    def __init__(self, reader: LogReader, since_ns: int | None, until_ns: int | None) -> None:
        self.reader = reader
        self.since_ns, self.until_ns = since_ns, until_ns
        self.pending: dict[str, list[_Rec]] = {}
        self.known: set[str] = set()
        self.drop: set[str] = set()
        self.lookback_at = 0  # an offset > 0: a stream first seen asks what precedes it there
        self.past_until = False
        self.done = False
        self._rotations = reader.rotations

    def set_state(self, state: dict[str, bool]) -> None:
        self.known.update(state)
        self.drop.update(s for s, clean in state.items() if not clean)

    def lines(self, records: Iterable[_Rec]) -> Iterator[LogLine]:
        since, until = self.since_ns, self.until_ns
        for rec in records:
            stream = rec.stream
            if stream not in self.known:
                self.known.add(stream)
                if (self.lookback_at and self.reader.rotations == self._rotations
                        and self.reader.prev_is_partial(stream, self.lookback_at)):
                    self.drop.add(stream)
            if stream in self.drop:
                if not rec.partial:
                    self.drop.discard(stream)
                continue
            if until is not None and rec.time_ns > until:
                self.past_until = True
            chain = self.pending.get(stream)
            if self.past_until and chain is None:
                if not self.pending:
                    self.done = True  # records are in time order: nothing more to show
                    return
                continue
            if rec.partial:
                if chain is None:
                    self.pending[stream] = [rec]
                else:
                    chain.append(rec)
                continue
            if chain is None:
                line = _line([rec])
            else:
                del self.pending[stream]
                chain.append(rec)
                line = _line(chain)
            if since is None or line.time_ns >= since:
                yield line

    def flush(self) -> Iterator[LogLine]:
        """Lines that never got their F, oldest first, as partial lines."""
        chains = list(self.pending.values())
        self.pending.clear()
        for chain in chains:
            line = _line(chain, partial=True)
            if self.since_ns is None or line.time_ns >= self.since_ns:
                yield line


def log_complete_size(log_path: Path) -> int:
    """Bytes of the k8s-file log up to its last complete line (0 if there is none)."""
    return LogReader(log_path).complete_size()


def read_log(path: Path, *, tail: int | None = None, since_ns: int | None = None,
             until_ns: int | None = None, follow: bool = False,
             still_running: Callable[[], bool] | None = None,
             poll_interval: float = 0.05) -> Iterator[LogLine]:
    """Yield log lines (partials joined); with ``follow``, keep going while running.

    ``tail`` keeps only the last N lines (a negative one means all); following then goes on
    with new ones. ``since_ns``/``until_ns`` bound a line's time (its first record's), both
    inclusive. Without ``follow`` the reading ends at the log's size when it began.
    """
    return LogReader(path, poll_interval).lines(
        tail=tail, since_ns=since_ns, until_ns=until_ns, follow=follow,
        still_running=still_running)


# -- replay for attach -----------------------------------------------------------------------
# Stream numbers as conmon_socket (and Docker) number them: 1 stdout, 2 stderr. Not imported
# from there: ``create`` loads this module, and the socket modules are for attaching only.
_LOG_STREAMS = {b"stdout": 1, b"stderr": 2}


def log_replay(log_path: Path, end: int | None = None) -> Iterator[tuple[int, bytes]]:
    """The k8s-file log as output chunks: F lines get their newline back, P lines do not.

    Reads complete lines up to ``end`` bytes (default: what the log holds now).
    """
    if end is None:
        end = log_complete_size(log_path)
    try:
        fh = open(log_path, "rb")  # noqa: SIM115 - closed by the with below
    except FileNotFoundError:
        return
    with fh:
        left = end
        while left > 0:
            raw = fh.readline(left)
            if not raw:
                break
            left -= len(raw)
            if not raw.endswith(b"\n"):
                break
            parts = raw[:-1].split(b" ", 3)
            if len(parts) < 3:
                continue
            stream = _LOG_STREAMS.get(parts[1], 1)
            msg = parts[3] if len(parts) == 4 else b""
            yield stream, msg if parts[2] == b"P" else msg + b"\n"


def replay_then_live(log_path: Path,
                     conn: AttachConnection) -> Iterator[tuple[int, bytes]]:
    """The log so far, then live output from ``conn`` (connected first) until EOF.

    Order makes it gapless: conmon writes each chunk to the log before sending it to attach
    clients; we wait for conmon to accept ``conn``, then read the log size. A chunk conmon
    handles between that accept and our size reading is in both: a duplicate window of
    microseconds, never a gap (podman's HTTPAttach has the same window, only wider).
    """
    conn.wait_accepted()
    end = log_complete_size(log_path)
    yield from log_replay(log_path, end)
    while (packet := conn.recv()) is not None:
        yield packet
