"""Attach to a container's stdio through conmon's attach socket (libpod's oci_conmon_attach).

conmon (started with ``--full-attach``) listens on ``<bundle>/attach``, an AF_UNIX
SOCK_SEQPACKET socket. Each packet it sends is one byte of stream (2 stdout, 3 stderr) and up
to 8 KiB of output; every packet we send is written to the container's stdin. When an attach
connection ends (EOF, half-close or close), conmon closes the container's stdin (it is not run
with ``--leave-stdin-open``), exactly as under podman. Exec sessions (engine/exec.py) are
served by a conmon of their own in the same way and share everything here.

Streams here are numbered like Docker's HTTP attach framing: 0 stdin, 1 stdout, 2 stderr.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import io
import os
import select
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, BinaryIO, cast

from .errors import (
    ContainerRunningError,
    ContainerStateInvalidError,
    InvalidArgumentError,
    OCIRuntimeError,
)
from .logs import log_complete_size
from .state import ContainerState

if TYPE_CHECKING:
    from .container import Container

S = ContainerState

STDIN, STDOUT, STDERR = 0, 1, 2
DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"

#: conmon's stdpipe_t numbers in the first byte of each packet.
_CONMON_STREAMS = {2: STDOUT, 3: STDERR}
#: conmon reads stdin packets into a 32 KiB buffer and read(2) truncates a bigger packet.
PACKET_MAX = 8192
#: conmon sends at most 1 + 8192 bytes per packet; a short read buffer would truncate one.
_RECV_MAX = 65536
#: Stop reading our stdin while this much is waiting for conmon (it stopped reading).
_PENDING_MAX = 1 << 20
#: On detach, output is drained until conmon has been quiet this long (at most _DRAIN_MAX).
_DRAIN_QUIET = 0.05
_DRAIN_MAX = 1.0

_CTRL_KEYS = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}


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


# -- the attach socket ----------------------------------------------------------------------
class AttachConnection:
    """One connection to conmon's attach socket; blocking, and usable with select/poll."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._stdin_closed = False

    @classmethod
    def connect(cls, bundle: Path, timeout: float = 5.0) -> AttachConnection:
        """Connect to ``<bundle>/attach`` (through /proc/self/fd: paths may exceed 108 bytes).

        Raises OCIRuntimeError if nothing listens there (conmon is gone).
        """
        try:
            dir_fd = os.open(bundle, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise OCIRuntimeError(f"cannot attach: bundle {bundle} is gone ({exc.strerror}); "
                                  "conmon is not running") from exc
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        try:
            sock.settimeout(timeout)
            sock.connect(f"/proc/self/fd/{dir_fd}/attach")
            sock.settimeout(None)
        except OSError as exc:
            sock.close()
            what = exc.strerror or type(exc).__name__
            raise OCIRuntimeError(f"cannot connect to the attach socket {bundle}/attach: "
                                  f"{what}; conmon is not running") from exc
        finally:
            os.close(dir_fd)
        return cls(sock)

    def fileno(self) -> int:
        return self.sock.fileno()

    @property
    def closed(self) -> bool:
        return self.sock.fileno() < 0

    def recv(self, timeout: float | None = None) -> tuple[int, bytes] | None:
        """Next output chunk as (1 stdout | 2 stderr, data); None at EOF.

        ``timeout`` None blocks; otherwise TimeoutError if nothing arrives in time.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if deadline is not None:
                left = max(0.0, deadline - time.monotonic())
                if not _wait_fd(self.fileno(), select.POLLIN, left):
                    raise TimeoutError("no output from the container")
            packet = self._recv_packet(0 if deadline is None else socket.MSG_DONTWAIT)
            if packet is None:
                return None
            if packet:
                return packet

    def _recv_packet(self, flags: int) -> tuple[int, bytes] | None | tuple[()]:
        """One packet: (stream, data), None at EOF, () for nothing usable (or would block)."""
        try:
            data = self.sock.recv(_RECV_MAX, flags)
        except (BlockingIOError, InterruptedError):
            return ()
        except ConnectionResetError:
            return None
        if not data:
            return None
        stream = _CONMON_STREAMS.get(data[0])
        if stream is None or len(data) == 1:
            return ()  # unknown stream type or empty: podman discards these too
        return stream, data[1:]

    def send(self, data: bytes) -> None:
        """Write to the container's stdin (blocks while conmon is not reading)."""
        view = memoryview(data)
        for i in range(0, len(view), PACKET_MAX):
            self.sock.sendall(view[i:i + PACKET_MAX])

    def send_nowait(self, data: bytes | bytearray | memoryview) -> int:
        """Send what fits without blocking, in whole packets; returns the bytes sent."""
        view = memoryview(data)
        sent = 0
        while sent < len(view):
            chunk = view[sent:sent + PACKET_MAX]
            try:
                self.sock.send(chunk, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                break
            sent += len(chunk)
        return sent

    def close_stdin(self) -> None:
        """Half-close: conmon closes the container's stdin; output keeps coming."""
        if self._stdin_closed:
            return
        self._stdin_closed = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_WR)

    def detach(self, quiet: float = _DRAIN_QUIET, limit: float = _DRAIN_MAX) -> None:
        """Leave without losing the container's stdin EOF: half-close, then read (and drop)
        output until conmon has been ``quiet`` for a while (at most ``limit`` seconds).

        conmon (2.1.x, conn_sock.c) frees a client whose write failed once it also reads its
        EOF, and reads that client's fields after freeing it: when a write to an already
        closed connection fails first, the container's stdin is never closed (a detached
        ``cat`` would wait forever). Half-closed and still read, this connection makes conmon
        see the EOF (and close stdin, unless ``--leave-stdin-open``) before any write fails.
        The caller closes the connection afterwards.
        """
        self.close_stdin()
        deadline = time.monotonic() + limit
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not _wait_fd(self.fileno(), select.POLLIN, min(quiet, left)):
                return
            try:
                if not self.sock.recv(_RECV_MAX, socket.MSG_DONTWAIT):
                    return
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                return

    def wait_accepted(self, timeout: float = 2.0) -> bool:
        """Wait until conmon has accept()ed this connection; True once it has.

        connect() returns when the kernel queues the connection; output that conmon handles
        before its accept() goes to the log only. Waiting closes that gap (start_and_attach,
        log replay). The kernel reports the peer's inode (sock_diag) only once accepted.
        False if that cannot be told (no sock_diag) or on timeout.
        """
        deadline = time.monotonic() + timeout
        while True:
            peer = _peer_inode(self.sock)
            if peer is None:
                return False
            if peer:
                return True
            if _poll_events(self.fileno(), select.POLLIN, 0) & select.POLLHUP:
                return True  # conmon accepted and is done with it already
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.0002)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> AttachConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _poll_events(fd: int, events: int, timeout: float | None) -> int:
    poller = select.poll()
    poller.register(fd, events)
    ready = poller.poll(None if timeout is None else timeout * 1000)
    return ready[0][1] if ready else 0


def _wait_fd(fd: int, events: int, timeout: float | None) -> bool:
    return bool(_poll_events(fd, events, timeout))


# sock_diag (linux/unix_diag.h): ask the kernel for the inode of our socket's peer.
_NETLINK_SOCK_DIAG = 4
_SOCK_DIAG_BY_FAMILY = 20
_UDIAG_SHOW_PEER = 0x4
_UNIX_DIAG_PEER = 2
_NLMSG_ERROR = 2


def _peer_inode(sock: socket.socket) -> int | None:
    ino = os.fstat(sock.fileno()).st_ino
    req = struct.pack("=BBHIII2I", socket.AF_UNIX, 0, 0, 0xFFFFFFFF, ino, _UDIAG_SHOW_PEER,
                      0xFFFFFFFF, 0xFFFFFFFF)
    msg = struct.pack("=IHHII", 16 + len(req), _SOCK_DIAG_BY_FAMILY, 1, 1, 0) + req
    try:
        with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                           _NETLINK_SOCK_DIAG) as nl:
            nl.settimeout(1.0)
            nl.send(msg)
            reply = nl.recv(8192)
    except OSError:
        return None
    if len(reply) < 16 + 16:
        return None
    length, mtype = struct.unpack_from("=IH", reply)
    if mtype != _SOCK_DIAG_BY_FAMILY:
        return None
    pos = 16 + 16  # nlmsghdr, unix_diag_msg
    while pos + 4 <= min(length, len(reply)):
        alen, atype = struct.unpack_from("=HH", reply, pos)
        if alen < 4:
            return None
        if atype == _UNIX_DIAG_PEER and alen >= 8:
            return int(struct.unpack_from("=I", reply, pos + 4)[0])
        pos += (alen + 3) & ~3
    return None


# -- tty size -------------------------------------------------------------------------------
def resize_tty(bundle: Path, height: int, width: int) -> None:
    """Ask conmon to resize the container's tty: ``1 H W`` on ``<bundle>/ctl``.

    Opened non-blocking, so a gone conmon (no reader) fails at once instead of hanging.
    """
    check_tty_size(height, width)
    try:
        fd = os.open(bundle / "ctl", os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.ENXIO, errno.ENOENT):
            raise OCIRuntimeError(f"cannot resize the tty of {bundle.name[:12]}: conmon is not "
                                  "running") from exc
        raise OCIRuntimeError(f"cannot open {bundle}/ctl: {exc.strerror}") from exc
    try:
        os.write(fd, f"1 {height} {width}\n".encode())  # < PIPE_BUF: written whole or not
    except OSError as exc:
        raise OCIRuntimeError(f"cannot write the tty size to {bundle}/ctl: "
                              f"{exc.strerror}") from exc
    finally:
        os.close(fd)


def check_tty_size(height: int, width: int) -> None:
    """Raise InvalidArgumentError unless both are integers from 1 to 65535."""
    for name, value in (("height", height), ("width", width)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 65535:
            raise InvalidArgumentError(
                f"invalid terminal {name} {value!r}: must be an integer from 1 to 65535")


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
            _wait_fd(fd, select.POLLOUT, None)
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
            if stdin_eof and not pending and not conn._stdin_closed and stdin is not None:
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
                        packet = conn._recv_packet(socket.MSG_DONTWAIT)
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
            _wait_fd(conn.fileno(), select.POLLOUT, max(0.0, deadline - time.monotonic()))


# -- log replay ------------------------------------------------------------------------------
_LOG_STREAMS = {b"stdout": STDOUT, b"stderr": STDERR}


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
            stream = _LOG_STREAMS.get(parts[1], STDOUT)
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


# -- container verbs (wired into Container as thin methods) -----------------------------------
def _state_error(ctr: Container, msg: str, st: ContainerState) -> ContainerStateInvalidError:
    return ContainerStateInvalidError(
        f"{msg}; container {ctr.id[:12]} ({ctr.name}) is in state {st.value}")


def _connect(ctr: Container) -> AttachConnection:
    try:
        return AttachConnection.connect(ctr.bundle)
    except OCIRuntimeError:
        st = ctr.state
        if st not in (S.CREATED, S.RUNNING):
            raise _state_error(ctr, "can only attach to created or running containers",
                               st) from None
        raise


def attach(ctr: Container, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None,
           stderr: BinaryIO | None = None, detach_keys: str = DEFAULT_DETACH_KEYS,
           logs: bool = False) -> str:
    """Attach to a CREATED or RUNNING container until it exits or the detach keys are typed.

    stdin is forwarded only if the container was created with ``stdin=True``. With ``logs``
    the existing log is written first (gapless, see ``replay_then_live``). Returns "exited"
    or "detached"; the state is left unchanged. Raises ContainerStateInvalidError otherwise.
    """
    keys = parse_detach_keys(detach_keys)
    st = ctr.state
    if st not in (S.CREATED, S.RUNNING):
        raise _state_error(ctr, "can only attach to created or running containers", st)
    with _connect(ctr) as conn:
        conn.wait_accepted()  # so a CREATED container started now is seen from its first byte
        if logs:
            outs = {STDOUT: _writer(stdout), STDERR: _writer(stderr)}
            for stream, data in log_replay(ctr.log_path, log_complete_size(ctr.log_path)):
                out = outs.get(stream)
                if out is not None:
                    _write_all(out, data)
            _end_text(outs)
        ctr._event("attach")
        return attach_streams(conn, stdin if ctr.config.stdin else None, stdout,
                              stderr, keys)


def start_and_attach(ctr: Container, stdin: BinaryIO | None = None,
                     stdout: BinaryIO | None = None, stderr: BinaryIO | None = None,
                     detach_keys: str = DEFAULT_DETACH_KEYS) -> str:
    """Start a container attached from its first byte of output (libpod StartAndAttach).

    Accepts CONFIGURED, CREATED, STOPPED, EXITED (init first where needed); connects to the
    attach socket before ``start``, so nothing is lost even if the process exits at once.
    Returns "exited" or "detached".
    """
    keys = parse_detach_keys(detach_keys)
    st = ctr.state
    if st is S.RUNNING:
        raise ContainerRunningError(f"container {ctr.id[:12]} ({ctr.name}) is already running")
    if st not in (S.CONFIGURED, S.CREATED, S.STOPPED, S.EXITED):
        raise _state_error(ctr, "container must be in Created or Stopped state to be started",
                           st)
    if st is not S.CREATED:
        ctr.init()
    with AttachConnection.connect(ctr.bundle) as conn:
        conn.wait_accepted()
        ctr.start()
        ctr._event("attach")
        return attach_streams(conn, stdin if ctr.config.stdin else None, stdout,
                              stderr, keys)


def resize(ctr: Container, height: int, width: int) -> None:
    """Resize the tty of a CREATED or RUNNING container (libpod AttachResize).

    Containers without a tty accept it and nothing happens: podman writes to conmon's ctl
    all the same, but conmon never reads the size pipe then, and enough of them would fill
    it and block conmon, so nothing is written.
    """
    check_tty_size(height, width)
    st = ctr.state
    if st not in (S.CREATED, S.RUNNING):
        raise _state_error(ctr, "can only resize created or running containers", st)
    if not ctr.config.tty:
        return
    resize_tty(ctr.bundle, height, width)


__all__ = [
    "DEFAULT_DETACH_KEYS", "STDERR", "STDIN", "STDOUT", "AttachConnection", "DetachKeyMatcher",
    "attach", "attach_streams", "log_complete_size", "log_replay",
    "parse_detach_keys", "replay_then_live", "resize", "resize_tty", "start_and_attach",
]
