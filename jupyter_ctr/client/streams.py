"""A hijacked attach or exec connection with the interface of conmon's attach socket
(engine/conmon_socket.AttachConnection: ``recv``/``recv_nowait`` give (stream, data), None at
the end; ``send``/``send_nowait``; ``close_stdin``; ``detach``), so that the engine's copy loop
(engine/stdio.attach_streams) and the magics' pump run on it unchanged.

Output comes in Docker's multiplexed framing (server/framing.py) unless the container has a
tty (then it is raw, all of it stdout); input is raw bytes.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import time

from ..engine.conmon_socket import STDERR, STDOUT, drain_until_quiet, wait_fd
from ..engine.stdio import as_stream, attach_streams, write_output

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..engine.stdio import Input, Output

_HEADER = struct.Struct(">BxxxI")
_RECV_MAX = 65536
#: On detach, output is drained until the service has been quiet this long (at most _MAX).
_DRAIN_QUIET = 0.05
_DRAIN_MAX = 1.0


class StreamConnection:
    """The client's end of a hijacked connection (blocking; usable with select/poll)."""

    def __init__(self, sock: socket.socket, buffered: bytes, *, framed: bool) -> None:
        self.sock = sock
        self.framed = framed
        self._buf = bytearray(buffered)
        self._eof = False
        self._stdin_closed = False

    def fileno(self) -> int:
        return self.sock.fileno()

    @property
    def closed(self) -> bool:
        return self.sock.fileno() < 0

    def _frame(self) -> tuple[int, bytes] | None:
        """One complete frame from the buffer (raw: all of it), or None."""
        if not self._buf:
            return None
        if not self.framed:
            data = bytes(self._buf)
            self._buf.clear()
            return STDOUT, data
        if len(self._buf) < _HEADER.size:
            return None
        stream, length = _HEADER.unpack_from(self._buf)
        end = _HEADER.size + length
        if len(self._buf) < end:
            return None
        data = bytes(self._buf[_HEADER.size:end])
        del self._buf[:end]
        return (STDERR if stream == STDERR else STDOUT), data

    def recv_nowait(self) -> tuple[int, bytes] | None | tuple[()]:
        """One chunk without blocking: (stream, data), None at the end, () when nothing
        complete is waiting. Callers read until () (as from conmon's socket), so frames
        already buffered are never left waiting for the socket to wake a poll."""
        frame = self._frame()
        if frame is not None:
            return frame
        if self._eof:
            return None
        try:
            data = self.sock.recv(_RECV_MAX, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return ()
        except (ConnectionResetError, OSError):
            data = b""
        if not data:
            self._eof = True
            return None
        self._buf += data
        frame = self._frame()
        return frame if frame is not None else ()

    def recv(self, timeout: float | None = None) -> tuple[int, bytes] | None:
        """Next output chunk; None at the end; TimeoutError if nothing came in time."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            packet = self.recv_nowait()
            if packet is None or packet:
                return packet or None
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not wait_fd(self.fileno(), select.POLLIN, left):
                raise TimeoutError("no output from the container")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_nowait(self, data: bytes | bytearray | memoryview) -> int:
        try:
            return self.sock.send(data, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return 0

    @property
    def stdin_closed(self) -> bool:
        return self._stdin_closed

    def close_stdin(self) -> None:
        """Half-close: the service closes the container's stdin; output keeps coming."""
        if self._stdin_closed:
            return
        self._stdin_closed = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_WR)

    def detach(self, quiet: float = _DRAIN_QUIET, limit: float = _DRAIN_MAX) -> None:
        """Leave a container that goes on running: half-close (the service then does what
        the engine's detach does with conmon), drop output until it has been quiet a while."""
        self.close_stdin()
        drain_until_quiet(self.sock, quiet, limit)

    def wait_accepted(self, timeout: float = 2.0) -> bool:
        """The service answered only once conmon had accepted its attach: always True."""
        return True

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> StreamConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AttachStream:
    """engine/attach.AttachStream over the service: ``conn`` (a StreamConnection); with
    ``logs`` the service sends the log first on the same connection, so ``replay()`` is
    empty."""

    def __init__(self, conn: StreamConnection, *, stdin: bool, tty: bool) -> None:
        self.conn = conn
        self.stdin = stdin
        self.tty = tty

    def replay(self) -> Iterator[tuple[int, bytes]]:
        return iter(())

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        while (packet := self.conn.recv()) is not None:
            yield packet

    def copy(self, stdin: Input, stdout: Output | None, stderr: Output | None,
             detach_keys: bytes) -> str:
        """Copy stdio until the output ends ("exited") or the detach keys are typed
        ("detached"), as the engine's."""
        write_output(self.replay(), stdout, stderr)
        return attach_streams(self.conn,  # type: ignore[arg-type] # same interface
                              as_stream(stdin) if self.stdin else None, stdout, stderr,
                              detach_keys)

    def detach(self) -> None:
        self.conn.detach()

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> AttachStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
