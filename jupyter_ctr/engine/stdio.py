"""Copying stdio between a caller's files and conmon's attach socket: detach keys, stdin
pumping, output to binary or text streams (libpod's oci_conmon_attach, the streams side).

Used by container attach (engine/attach.py) and exec sessions (engine/exec.py) alike.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import io
import os
import select
import threading
import time
from collections.abc import Iterable
from typing import IO, cast

from .conmon_socket import PACKET_MAX, STDERR, STDOUT, AttachConnection, wait_fd
from .errors import InvalidArgumentError

DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"

#: Stop reading our stdin while this much is waiting for conmon (it stopped reading).
_PENDING_MAX = 1 << 20

_CTRL_KEYS = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}

#: What a caller may give as stdin: bytes or text to send whole, or a stream to read.
Input = bytes | str | IO[bytes] | None


# -- detach keys ------------------------------------------------------------------------------
def parse_detach_keys(spec: str) -> bytes:
    """Docker's detach key syntax (``ctrl-p,ctrl-q``, ``a``, ``ctrl-@``) to bytes; "" = none."""
    if not isinstance(spec, str):
        raise InvalidArgumentError(f"invalid detach keys {spec!r}: must be a string")
    if spec == "":
        return b""
    out = bytearray()
    for key in spec.split(","):
        if len(key) == 1 and key.isascii():
            out.append(ord(key))
            continue
        if key[:5].lower() == "ctrl-" and len(key) == 6:
            ch = key[5].lower()
            if "a" <= ch <= "z":
                out.append(ord(ch) - ord("a") + 1)
                continue
            if ch in _CTRL_KEYS:
                out.append(_CTRL_KEYS[ch])
                continue
        raise InvalidArgumentError(
            f"invalid detach keys {spec!r}: unknown key {key!r} (use a single character or "
            "ctrl-<a-z, @, [, \\, ], ^, _>, separated by commas)")
    return bytes(out)


class DetachKeyMatcher:
    """Finds the detach sequence in a byte stream, like Docker's escapeProxy.

    A prefix of the sequence at the end of one read is held back; if the next read breaks the
    sequence the held bytes are forwarded after all.
    """

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self._held = b""

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """Bytes to forward, and whether the whole detach sequence was typed."""
        keys = self.keys
        if not keys:
            return data, False
        buf = self._held + data
        self._held = b""
        out = bytearray()
        first = keys[:1]
        i = 0
        while i < len(buf):
            j = buf.find(first, i)
            if j < 0:
                out += buf[i:]
                break
            out += buf[i:j]
            cand = buf[j:j + len(keys)]
            if keys.startswith(cand):
                if len(cand) == len(keys):
                    return bytes(out), True  # what follows the sequence is dropped
                self._held = cand
                break
            out += buf[j:j + 1]
            i = j + 1
        return bytes(out), False

    def flush(self) -> bytes:
        """The held partial sequence (at end of input it is plain data)."""
        held, self._held = self._held, b""
        return held


# -- copying between the socket and files ---------------------------------------------------
class _Input:
    """The caller's stdin as a pollable fd, or as bytes already read (BytesIO)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.fd = -1
        self.data = b""
        self._pipe_w = -1
        if isinstance(stream, io.BytesIO):
            self.data = stream.read()
            return
        try:
            self.fd = stream.fileno()
            return
        except (OSError, ValueError, AttributeError):
            pass
        # Any other file-like object: a thread pumps it into a pipe that poll can watch.
        self.fd, self._pipe_w = os.pipe()
        threading.Thread(target=self._pump, args=(stream,), daemon=True,
                         name="attach-stdin").start()

    def _pump(self, stream: IO[bytes]) -> None:
        reader = getattr(stream, "read1", stream.read)
        try:
            while True:
                chunk: bytes | str = reader(PACKET_MAX)
                if not chunk:
                    break
                if isinstance(chunk, str):  # a text stream (StringIO) passed as stdin
                    chunk = chunk.encode()
                os.write(self._pipe_w, chunk)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                os.close(self._pipe_w)

    def read(self) -> bytes | None:
        """Some bytes; b"" at EOF; None when nothing is ready."""
        try:
            return os.read(self.fd, PACKET_MAX)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError as exc:
            if exc.errno == errno.EIO:  # a pty whose other side is gone
                return b""
            raise

    def close(self) -> None:
        if self._pipe_w != -1 and self.fd != -1:
            os.close(self.fd)  # the pump thread's next write fails and it ends
            self.fd = -1


#: Where output may go: binary streams, or text streams (written decoded as UTF-8).
Output = IO[bytes] | IO[str]


class _TextSink:
    """A text stream without a binary buffer (StringIO): output decoded as UTF-8, with a
    character split across packets kept whole."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def write(self, data: bytes | memoryview) -> int:
        self._stream.write(self._decoder.decode(bytes(data)))
        return len(data)

    def flush(self) -> None:
        with contextlib.suppress(AttributeError, OSError):
            self._stream.flush()

    def end(self) -> None:
        rest = self._decoder.decode(b"", final=True)
        if rest:
            self._stream.write(rest)
            self.flush()


def _writer(stream: Output | None) -> IO[bytes] | None:
    if isinstance(stream, io.TextIOBase):
        buffer = getattr(stream, "buffer", None)
        if buffer is None:
            return cast("IO[bytes]", _TextSink(cast("IO[str]", stream)))
        with contextlib.suppress(OSError, ValueError):
            stream.flush()  # text written to it before comes first
        return cast("IO[bytes]", buffer)  # sys.stdout and friends
    return cast("IO[bytes] | None", stream)


def _end_text(outs: dict[int, IO[bytes] | None]) -> None:
    """Write out what text sinks hold of an incomplete character."""
    for out in outs.values():
        if isinstance(out, _TextSink):
            out.end()


def _write_all(stream: IO[bytes], data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = stream.write(view)
        if n is None:  # a non-blocking raw file that is full, or a write that says nothing
            try:
                fd = stream.fileno()
            except (AttributeError, OSError, ValueError):
                break
            wait_fd(fd, select.POLLOUT, None)
            continue
        view = view[n:]
    with contextlib.suppress(AttributeError, OSError):
        stream.flush()


def attach_streams(conn: AttachConnection, stdin: IO[bytes] | None, stdout: Output | None,
                   stderr: Output | None,
                   detach_keys: bytes = b"\x10\x11") -> str:
    """Copy stdin to the container and its output to stdout/stderr in one poll loop.

    Returns "exited" when the container's output ends (the container exited), "detached" when
    the detach keys were typed or the output side went away (BrokenPipe); a detach leaves
    through ``conn.detach()``. At stdin EOF the container's stdin is half-closed and output
    is copied until it ends. Output is written and flushed packet by packet (text streams get
    it decoded); stdin is read straight from its file descriptor, or pumped from a file-like
    object without one; BytesIO is sent as it is.
    """
    result = _copy_streams(conn, stdin, stdout, stderr, detach_keys)
    if result == "detached":
        conn.detach()
    return result


def _copy_streams(conn: AttachConnection, stdin: IO[bytes] | None, stdout: Output | None,
                  stderr: Output | None, detach_keys: bytes) -> str:
    outs = {STDOUT: _writer(stdout), STDERR: _writer(stderr)}
    matcher = DetachKeyMatcher(detach_keys)
    src = _Input(stdin) if stdin is not None else None
    pending = bytearray()
    stdin_eof = src is None
    stdin_dead = False  # conmon refused more stdin: drop it, keep copying output

    def take_input(data: bytes) -> bool:
        nonlocal stdin_eof
        if not data:
            stdin_eof = True
            pending.extend(matcher.flush())
            return False
        fwd, detached = matcher.feed(data)
        if not stdin_dead:
            pending.extend(fwd)
        return detached

    def push() -> None:
        nonlocal stdin_dead
        if not pending or stdin_dead:
            pending.clear()
            return
        try:
            sent = conn.send_nowait(pending)
        except OSError:  # EPIPE/ECONNRESET: conmon shut our input side
            stdin_dead = True
            pending.clear()
            return
        del pending[:sent]

    try:
        if src is not None and src.fd == -1:  # in-memory stdin: all of it is here already
            if take_input(src.data):
                push()
                _flush_pending(conn, pending)
                return "detached"
            take_input(b"")
        poller = select.poll()
        conn_fd = conn.fileno()
        watching_src = False
        while True:
            push()
            if stdin_eof and not pending and not conn.stdin_closed and stdin is not None:
                conn.close_stdin()
            want_src = src is not None and src.fd != -1 and not stdin_eof and \
                len(pending) < _PENDING_MAX
            if want_src != watching_src:
                assert src is not None
                if want_src:
                    poller.register(src.fd, select.POLLIN)
                else:
                    poller.unregister(src.fd)
                watching_src = want_src
            poller.register(conn_fd, select.POLLIN | (select.POLLOUT if pending else 0))
            for fd, _ in poller.poll():
                if fd == conn_fd:
                    while True:
                        packet = conn.recv_nowait()
                        if packet is None:
                            return "exited"
                        if not packet:
                            break
                        stream, data = packet
                        out = outs.get(stream)
                        if out is not None:
                            try:
                                _write_all(out, data)
                            except (BrokenPipeError, ConnectionResetError):
                                return "detached"
                elif src is not None and fd == src.fd:
                    got = src.read()
                    if got is not None and take_input(got):
                        push()
                        _flush_pending(conn, pending)
                        return "detached"
    finally:
        if src is not None:
            src.close()
        _end_text(outs)


def _flush_pending(conn: AttachConnection, pending: bytearray, timeout: float = 1.0) -> None:
    """Before detaching, deliver what was typed ahead of the detach keys (bounded wait)."""
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        try:
            del pending[:conn.send_nowait(pending)]
        except OSError:
            return
        if pending:
            wait_fd(conn.fileno(), select.POLLOUT, max(0.0, deadline - time.monotonic()))




def as_stream(stdin: Input) -> IO[bytes] | None:
    """A caller's stdin as a stream for ``attach_streams``: bytes and text become BytesIO
    (sent whole, then the container's stdin is closed)."""
    if isinstance(stdin, str):
        stdin = stdin.encode()
    return io.BytesIO(stdin) if isinstance(stdin, bytes) else stdin


def write_output(chunks: Iterable[tuple[int, bytes]], stdout: Output | None,
                 stderr: Output | None) -> None:
    """Write (stream, data) chunks, such as a log replay, to stdout/stderr as
    ``attach_streams`` writes live output."""
    outs = {STDOUT: _writer(stdout), STDERR: _writer(stderr)}
    for stream, data in chunks:
        out = outs.get(stream)
        if out is not None:
            _write_all(out, data)
    _end_text(outs)


__all__ = [
    "DEFAULT_DETACH_KEYS", "DetachKeyMatcher", "Input", "Output", "as_stream", "attach_streams",
    "parse_detach_keys", "write_output",
]
