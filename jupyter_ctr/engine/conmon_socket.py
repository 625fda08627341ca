"""conmon's attach socket and control FIFO (libpod's oci_conmon_attach, the socket side).

conmon (started with ``--full-attach``) listens on ``<bundle>/attach``, an AF_UNIX
SOCK_SEQPACKET socket. Each packet it sends is one byte of stream (2 stdout, 3 stderr) and up
to 8 KiB of output; every packet we send is written to the container's stdin. When an attach
connection ends (EOF, half-close or close), conmon closes the container's stdin (it is not run
with ``--leave-stdin-open``), exactly as under podman. Exec sessions are served by a conmon of
their own in the same way (their session directory in place of the bundle).

Streams are numbered like Docker's HTTP attach framing: 0 stdin, 1 stdout, 2 stderr.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import socket
import struct
import time
from pathlib import Path

from .errors import InvalidArgumentError, OCIRuntimeError

STDIN, STDOUT, STDERR = 0, 1, 2

#: conmon's stdpipe_t numbers in the first byte of each packet.
_CONMON_STREAMS = {2: STDOUT, 3: STDERR}
#: conmon reads stdin packets into a 32 KiB buffer and read(2) truncates a bigger packet.
PACKET_MAX = 8192
#: conmon sends at most 1 + 8192 bytes per packet; a short read buffer would truncate one.
_RECV_MAX = 65536
#: On detach, output is drained until conmon has been quiet this long (at most _DRAIN_MAX).
_DRAIN_QUIET = 0.05
_DRAIN_MAX = 1.0


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
                if not wait_fd(self.fileno(), select.POLLIN, left):
                    raise TimeoutError("no output from the container")
            packet = self._recv_packet(0 if deadline is None else socket.MSG_DONTWAIT)
            if packet is None:
                return None
            if packet:
                return packet

    def recv_nowait(self) -> tuple[int, bytes] | None | tuple[()]:
        """One packet without blocking: (stream, data), None at EOF, () when nothing usable
        is waiting (for callers that poll the socket themselves)."""
        return self._recv_packet(socket.MSG_DONTWAIT)

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

    @property
    def stdin_closed(self) -> bool:
        """Whether this connection was half-closed (conmon then closes the stdin)."""
        return self._stdin_closed

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
        drain_until_quiet(self.sock, quiet, limit)

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
            if poll_events(self.fileno(), select.POLLIN, 0) & select.POLLHUP:
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


def poll_events(fd: int, events: int, timeout: float | None) -> int:
    """The poll events of ``fd`` (0 when none came within ``timeout`` seconds)."""
    poller = select.poll()
    poller.register(fd, events)
    ready = poller.poll(None if timeout is None else timeout * 1000)
    return ready[0][1] if ready else 0


def drain_until_quiet(sock: socket.socket, quiet: float = _DRAIN_QUIET,
                      limit: float = _DRAIN_MAX) -> None:
    """Read and drop what ``sock`` still sends until it has been ``quiet`` seconds (at most
    ``limit`` seconds in all), its EOF or an error: the second half of a detach."""
    deadline = time.monotonic() + limit
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not wait_fd(sock.fileno(), select.POLLIN, min(quiet, left)):
            return
        try:
            if not sock.recv(_RECV_MAX, socket.MSG_DONTWAIT):
                return
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:
            return


def wait_fd(fd: int, events: int, timeout: float | None) -> bool:
    """Whether ``fd`` became ready for ``events`` within ``timeout`` seconds (None: forever)."""
    return bool(poll_events(fd, events, timeout))


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




__all__ = [
    "PACKET_MAX", "STDERR", "STDIN", "STDOUT", "AttachConnection", "check_tty_size",
    "poll_events", "resize_tty", "wait_fd",
]
