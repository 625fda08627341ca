"""pump() (magics/pump.py) against a stand-in for conmon on a SEQPACKET socket pair: a large
stdin body goes through whole and ends with a half-close, output packets reach the sink by
stream, and the pump returns when conmon closes the connection."""

from __future__ import annotations

import io
import signal
import socket
import threading
import time

import pytest

from jupyter_ctr.engine.conmon_socket import AttachConnection
from jupyter_ctr.magics.output import STDERR, STDOUT, OutputSink
from jupyter_ctr.magics.pump import pump


def _sink(out: io.StringIO, err: io.StringIO) -> OutputSink:
    return OutputSink(limit_lines=10**6, limit_bytes=1 << 30, tail_lines=5, interval=0.05,
                      capture_limit=1 << 20, hint="", live_tail=False, stdout=out, stderr=err)


def test_body_in_output_out_until_conmon_closes() -> None:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    body = b"".join(b"line %d\n" % i for i in range(200_000))  # ~2.3 MB: many full buffers
    got = bytearray()

    def conmon() -> None:
        while chunk := theirs.recv(65536):  # b"" once our side half-closed
            got.extend(chunk)
        theirs.send(b"\x02" + f"{len(got)}\n".encode())  # 2: conmon's stdout
        theirs.send(b"\x03oops\n")  # 3: stderr
        theirs.close()

    thread = threading.Thread(target=conmon)
    thread.start()
    out, err = io.StringIO(), io.StringIO()
    sink = _sink(out, err)
    pump(AttachConnection(ours), body, sink)
    sink.close()
    thread.join()
    ours.close()
    assert bytes(got) == body
    assert (out.getvalue(), err.getvalue()) == (f"{len(body)}\n", "oops\n")
    assert sink.captures[STDOUT].total == len(f"{len(body)}\n")
    assert sink.captures[STDERR].total == 5


def test_no_body_leaves_stdin_alone() -> None:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    conn = AttachConnection(ours)
    theirs.send(b"\x02hello\n")
    theirs.close()
    out, err = io.StringIO(), io.StringIO()
    sink = _sink(out, err)
    pump(conn, None, sink)
    sink.close()
    assert out.getvalue() == "hello\n" and not conn.stdin_closed
    ours.close()


def _sleeping_in_poll(tid: int) -> bool:
    """Whether thread ``tid`` of this process sleeps in poll() (x86_64's poll or ppoll,
    arm64's ppoll)."""
    task = f"/proc/self/task/{tid}"
    with open(f"{task}/stat") as fh:
        state = fh.read().rpartition(")")[2].split()[0]
    with open(f"{task}/syscall") as fh:
        syscall = fh.read().split()[0]
    return state == "S" and syscall in ("7", "271", "73")


@pytest.mark.timeout(60)
def test_an_interrupt_that_does_not_wake_poll_still_ends_the_pump() -> None:
    """A SIGINT whose handler ran on another thread (or just before poll() began, while the
    main thread waited for the GIL) does not end poll() with EINTR: the pump must still
    leave with the KeyboardInterrupt while the container stays silent (before the fix it
    slept on: this test then fails by its timeout)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    main = threading.get_native_id()

    def interrupt_from_here() -> None:
        while not _sleeping_in_poll(main):
            time.sleep(0.01)
        signal.pthread_kill(threading.get_ident(), signal.SIGINT)  # handled on this thread

    thread = threading.Thread(target=interrupt_from_here)
    thread.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            pump(AttachConnection(ours), None, _sink(io.StringIO(), io.StringIO()))
    finally:
        thread.join()
        ours.close()
        theirs.close()
