"""Container output into a cell: coalesced writes, a bounded head, then the middle elided with
one note while the tail stays visible; and the bounded capture a result object keeps.

A container printing 100,000 lines must neither flood the front end with messages nor freeze
the browser. So the sink buffers what arrives and writes it at most every ``interval``
seconds (at once after a quiet spell, so a first line shows immediately); past ``limit_lines``
lines (or ``limit_bytes``) it writes nothing more to the streams but keeps the last
``tail_lines`` lines, shown in a display updated in place (in a kernel) or written at the end
(elsewhere), under a note that says how much was left out and where it all is.
"""

from __future__ import annotations

import codecs
import contextlib
import signal
import sys
import threading
import time
from collections import deque

from IPython.display import display

from ..engine.conmon_socket import STDERR, STDOUT

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import IO

    from IPython.display import DisplayHandle

#: A flush writes at most this many stdout/stderr runs in their order; more are merged per
#: stream (interleaving within one interval is then approximate, the message count bounded).
MAX_RUNS = 4
#: The tail keeps at most this much of a line that does not end.
PARTIAL_MAX = 1 << 16


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold a KeyboardInterrupt (SIGINT) until the block is done, then raise it.

    In a kernel, writes go through ipykernel's OutStream, whose flush() waits on a
    threading.Event that the IOPub thread sets. A KeyboardInterrupt landing in that wait
    can leave the Event's lock held (raised in ``Condition.__enter__`` just after the lock
    was taken: the main thread waited there for the GIL while the IOPub thread sent the
    output that made the user interrupt) or release it twice ("release unlocked lock"
    instead of the interrupt); then the IOPub thread blocks for good in ``Event.set``: no
    output and no idle status ever again. So the sink writes with the interrupt held. Only
    in the main thread with Python's default handler (elsewhere no KeyboardInterrupt can
    land); nested blocks hold it once."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    caught: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, _frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if caught:
            raise KeyboardInterrupt  # the interrupt wins over an error of the block


class Capture:
    """What a result keeps of one stream: its first and last ``limit // 2`` bytes, and how
    many bytes in between were left out."""

    def __init__(self, limit: int) -> None:
        self.half = max(limit // 2, 0)
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        room = self.half - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data and self.half:
            self.tail += data
            if len(self.tail) > 2 * self.half:  # trim now and then, not at every packet
                del self.tail[:len(self.tail) - self.half]

    @property
    def elided(self) -> int:
        """Bytes neither in the head nor in the tail."""
        return self.total - len(self.head) - min(len(self.tail), self.half)

    def text(self, where: str = "") -> str:
        """The kept output as text; a note in the middle where bytes were left out."""
        tail = bytes(self.tail[-self.half:]) if self.half else b""
        head = bytes(self.head).decode(errors="replace")
        if not self.elided:
            return head + tail.decode(errors="replace")
        note = f"\n[... {self.elided:,} bytes elided{': ' + where if where else ''} ...]\n"
        return head + note + tail.decode(errors="replace")


class OutputSink:
    """Where a container's output goes in a cell (see the module). ``write(stream, data)``
    with conmon's stream numbers; ``tick()`` when time passes; ``close()`` at the end.
    ``hint`` says where the full output is (in the elision note)."""

    def __init__(self, *, limit_lines: int, limit_bytes: int, tail_lines: int,
                 interval: float, capture_limit: int, hint: str, live_tail: bool,
                 stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> None:
        self.outs = {STDOUT: stdout or sys.stdout, STDERR: stderr or sys.stderr}
        self.captures = {STDOUT: Capture(capture_limit), STDERR: Capture(capture_limit)}
        self.limit_lines, self.limit_bytes = limit_lines, limit_bytes
        self.interval = interval
        self.hint = hint
        self.live_tail = live_tail
        self._decoders = {s: codecs.getincrementaldecoder("utf-8")(errors="replace")
                          for s in (STDOUT, STDERR)}
        self._pending: list[tuple[int, bytes]] = []
        self._last_flush = 0.0
        self.lines_shown = 0
        self.bytes_shown = 0
        self.eliding = False
        self._tail: deque[bytes] = deque(maxlen=max(tail_lines, 1))
        self._partial = bytearray()  # the tail's unfinished last line
        self._tail_lines = 0  # complete lines that went to the tail
        self._tail_dirty = False
        self._handle: DisplayHandle | None = None
        self.messages = 0  # writes to the streams and display updates (for the bench)

    # -- input ----------------------------------------------------------------------------
    def write(self, stream: int, data: bytes) -> None:
        if stream not in self.outs or not data:
            return
        self.captures[stream].add(data)
        if not self.eliding:
            data = self._take_head(stream, data)
        if data:
            self._to_tail(data)
        if time.monotonic() - self._last_flush >= self.interval:
            self.flush()

    def write_text(self, stream: int, text: str) -> None:
        self.write(stream, text.encode())

    def _take_head(self, stream: int, data: bytes) -> bytes:
        """Queue what fits in the head; return the rest (and start eliding if any)."""
        lines = data.count(b"\n")
        if self.lines_shown + lines <= self.limit_lines and \
                self.bytes_shown + len(data) <= self.limit_bytes:
            self._queue(stream, data)
            self.lines_shown += lines
            self.bytes_shown += len(data)
            return b""
        cut = 0
        room = self.limit_lines - self.lines_shown
        while room > 0:
            nl = data.find(b"\n", cut)
            if nl < 0:
                break
            cut = nl + 1
            room -= 1
        cut = min(cut, max(self.limit_bytes - self.bytes_shown, 0))
        if cut:
            self._queue(stream, data[:cut])
            self.lines_shown += data.count(b"\n", 0, cut)
            self.bytes_shown += cut
        self.eliding = True
        return data[cut:]

    def _queue(self, stream: int, data: bytes) -> None:
        if self._pending and self._pending[-1][0] == stream:
            self._pending[-1] = (stream, self._pending[-1][1] + data)
        else:
            self._pending.append((stream, data))

    def _to_tail(self, data: bytes) -> None:
        parts = (bytes(self._partial) + data).split(b"\n")
        self._partial[:] = parts.pop()[-PARTIAL_MAX:]  # a line without end stays bounded
        self._tail.extend(parts)
        self._tail_lines += len(parts)
        self._tail_dirty = True

    # -- output ---------------------------------------------------------------------------
    def timeout(self) -> float | None:
        """Seconds until something is due to be written (None: nothing waits)."""
        if not self._pending and not (self._tail_dirty and self.live_tail):
            return None
        return max(self._last_flush + self.interval - time.monotonic(), 0.0)

    def tick(self) -> None:
        """Write what waits if it is due (the callers' loops call this as time passes)."""
        due = self.timeout()
        if due is not None and due <= 0:
            self.flush()

    def flush(self) -> None:
        """Write what waits now: the head's runs, then (in a kernel) the tail's display
        (an interrupt meanwhile is raised once they are written: interrupts_deferred)."""
        with interrupts_deferred():
            self._flush()

    def _flush(self) -> None:
        self._last_flush = time.monotonic()
        runs, self._pending = self._pending, []
        if len(runs) > MAX_RUNS:
            merged: dict[int, bytes] = {}
            for stream, data in runs:
                merged[stream] = merged.get(stream, b"") + data
            runs = list(merged.items())
        for stream, data in runs:
            text = self._decoders[stream].decode(data)
            if text:
                out = self.outs[stream]
                out.write(text)
                out.flush()
                self.messages += 1
        if self._tail_dirty and self.live_tail:
            self._show_tail(final=False)

    @property
    def elided_lines(self) -> int:
        """Lines neither shown in the head nor kept in the tail."""
        return max(self._tail_lines - len(self._tail), 0)

    def _tail_text(self, final: bool) -> str:
        lines = [line.decode(errors="replace") for line in self._tail]
        if self._partial:
            lines.append(self._partial.decode(errors="replace"))
        n = self.elided_lines
        elided = f"{n:,} line{'' if n == 1 else 's'} elided"
        if final:
            note = f"[... {elided}: {self.hint} ...]"
        else:
            note = f"[... {elided} so far: the last lines follow ...]"
        return note + "\n" + "\n".join(lines)

    def _show_tail(self, final: bool) -> None:
        self._tail_dirty = False
        data = {"text/plain": self._tail_text(final)}
        if self._handle is None:
            self._handle = display(data, raw=True, display_id=True)  # type: ignore[no-untyped-call]
        else:
            self._handle.update(data, raw=True)  # type: ignore[no-untyped-call]
        self.messages += 1

    def close(self) -> None:
        """Write everything that waits; when the middle was elided, the note and the tail
        (an interrupt meanwhile is raised after: interrupts_deferred)."""
        with interrupts_deferred():
            self._close()

    def _close(self) -> None:
        self._flush()
        for stream, decoder in self._decoders.items():
            rest = decoder.decode(b"", final=True)
            if rest:
                self.outs[stream].write(rest)
                self.outs[stream].flush()
        if not self.eliding:
            return
        if self.live_tail:
            self._show_tail(final=True)
        else:
            out = self.outs[STDOUT]
            out.write(self._tail_text(final=True) + ("" if self._partial else "\n"))
            out.flush()
            self.messages += 1
