"""Container attach (libpod's Attach and HTTPAttach): an AttachStream is conmon's attach socket
(engine/conmon_socket.py), connected and accepted, and optionally the container's log up to
that moment, replayed first. ``Container.open_attach`` opens one (recording the attach event);
``Container.attach`` and ``start_and_attach`` copy one to files (engine/stdio.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .conmon_socket import AttachConnection
from .logs import log_complete_size, log_replay
from .stdio import Input, Output, as_stream, attach_streams, write_output


class AttachStream:
    """An open attach to a container: ``conn`` (conmon's attach socket) and, when opened with
    logs, the log as it was when conmon accepted the connection: ``replay()`` then ``conn``
    give the output without a gap (see ``logs.replay_then_live``). ``stdin`` says whether
    input may go to the container; ``tty`` whether it has a terminal."""

    def __init__(self, conn: AttachConnection, log_path: Path | None, log_end: int, *,
                 stdin: bool, tty: bool) -> None:
        self.conn = conn
        self.stdin = stdin
        self.tty = tty
        self._log_path = log_path
        self._log_end = log_end

    @classmethod
    def connect(cls, bundle: Path, log_path: Path, *, logs: bool, stdin: bool,
                tty: bool) -> AttachStream:
        """Connect to ``<bundle>/attach`` and wait until conmon accepted the connection (so
        a CREATED container started now is seen from its first byte); with ``logs`` note the
        log's size then. Raises OCIRuntimeError when conmon is not there."""
        conn = AttachConnection.connect(bundle)
        try:
            conn.wait_accepted()
            end = log_complete_size(log_path) if logs else 0
        except BaseException:
            conn.close()
            raise
        return cls(conn, log_path if logs else None, end, stdin=stdin, tty=tty)

    def replay(self) -> Iterator[tuple[int, bytes]]:
        """The log up to the connection as (stream, data) chunks; nothing without logs."""
        if self._log_path is None:
            return iter(())
        return log_replay(self._log_path, self._log_end)

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        """The replay, then live output until the container's output ends."""
        yield from self.replay()
        while (packet := self.conn.recv()) is not None:
            yield packet

    def copy(self, stdin: Input, stdout: Output | None, stderr: Output | None,
             detach_keys: bytes) -> str:
        """Write the replay, then copy stdio (``stdin`` only if this attach takes input) until
        the container's output ends ("exited") or the detach keys are typed ("detached")."""
        write_output(self.replay(), stdout, stderr)
        return attach_streams(self.conn, as_stream(stdin) if self.stdin else None, stdout,
                              stderr, detach_keys)

    def detach(self) -> None:
        """Leave a container that goes on running (see AttachConnection.detach)."""
        self.conn.detach()

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> AttachStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- HTTP attach framing ---------------------------------------------------------------------


__all__ = ["AttachStream"]
