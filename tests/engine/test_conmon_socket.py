"""conmon's attach socket and control FIFO (engine/conmon_socket.py), against a stand-in for
conmon."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jupyter_ctr.engine import InvalidArgumentError
from jupyter_ctr.engine.conmon_socket import AttachConnection, resize_tty
from jupyter_ctr.engine.errors import OCIRuntimeError
from tests.conftest import fake_conmon


def test_connection_protocol_and_long_path(tmp_path: Path) -> None:
    bundle, listener = fake_conmon(tmp_path)
    with listener, AttachConnection.connect(bundle) as conn:
        server, _ = listener.accept()
        assert conn.wait_accepted()
        with server:
            for packet in (b"\x02out", b"\x09junk", b"\x02", b"\x03err"):
                server.send(packet)
            assert conn.recv(1) == (1, b"out")
            assert conn.recv(1) == (2, b"err")     # unknown and empty packets skipped
            with pytest.raises(TimeoutError):
                conn.recv(0.05)
            conn.send(b"x" * 20000)
            sizes = [len(server.recv(65536)) for _ in range(3)]
            assert sizes == [8192, 8192, 20000 - 16384]
            conn.close_stdin()
            assert server.recv(100) == b""           # conmon sees EOF on stdin
            server.send(b"\x02after half-close")
            assert conn.recv(1) == (1, b"after half-close")
        assert conn.recv(1) is None
    with pytest.raises(OCIRuntimeError, match="conmon is not running"):
        AttachConnection.connect(bundle)
    with pytest.raises(OCIRuntimeError, match="conmon is not running"):
        AttachConnection.connect(tmp_path / "nope")


def test_nonblocking_receive_and_half_close_state(tmp_path: Path) -> None:
    bundle, listener = fake_conmon(tmp_path)
    with listener, AttachConnection.connect(bundle) as conn:
        server, _ = listener.accept()
        with server:
            assert conn.recv_nowait() == ()             # nothing waiting
            server.send(b"\x02out")
            assert conn.recv(1) == (1, b"out")
            server.send(b"\x03err")
            assert wait_readable(conn.fileno())
            assert conn.recv_nowait() == (2, b"err")
            assert not conn.stdin_closed
            conn.close_stdin()
            assert conn.stdin_closed
        assert wait_readable(conn.fileno())
        assert conn.recv_nowait() is None               # conmon went away: EOF


def wait_readable(fd: int) -> bool:
    import select

    return bool(select.select([fd], [], [], 5)[0])


def test_resize_tty_without_conmon(tmp_path: Path) -> None:
    with pytest.raises(OCIRuntimeError, match="conmon is not running"):
        resize_tty(tmp_path, 24, 80)                 # no ctl at all
    os.mkfifo(tmp_path / "ctl")
    with pytest.raises(OCIRuntimeError, match="conmon is not running"):
        resize_tty(tmp_path, 24, 80)                 # a fifo nobody reads: ENXIO, no hang
    for h, w in [(0, 80), (24, 0), (-1, 80), (65536, 80), (24, 70000), (True, 80)]:
        with pytest.raises(InvalidArgumentError):
            resize_tty(tmp_path, h, w)
    with pytest.raises(InvalidArgumentError):
        resize_tty(tmp_path, "24", 80)  # type: ignore[arg-type]
