"""stdio copying (engine/stdio.py): detach keys, and attach_streams against a stand-in for
conmon's attach socket."""

from __future__ import annotations

import io
import os
import threading
import time
from pathlib import Path

import pytest

from jupyter_ctr.engine import InvalidArgumentError
from jupyter_ctr.engine.conmon_socket import AttachConnection
from jupyter_ctr.engine.stdio import (
    DetachKeyMatcher,
    as_stream,
    attach_streams,
    parse_detach_keys,
    write_output,
)
from tests.conftest import fake_conmon


def test_parse_detach_keys() -> None:
    assert parse_detach_keys("ctrl-p,ctrl-q") == b"\x10\x11"
    assert parse_detach_keys("") == b""
    assert parse_detach_keys("ctrl-a,x,ctrl-Z") == b"\x01x\x1a"
    assert parse_detach_keys("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_") == bytes(
        [0, 27, 28, 29, 30, 31])
    for bad, key in [("ctrl-p,ctrl-", "ctrl-"), ("ctrl-1", "ctrl-1"), ("abc", "abc"),
                     ("ctrl-p,,ctrl-q", "''"), (",", "''"), ("é", "é"),
                     ("ctrl-p, ctrl-q", " ctrl-q")]:
        with pytest.raises(InvalidArgumentError, match="unknown key") as info:
            parse_detach_keys(bad)
        assert key in str(info.value)


def test_detach_matcher() -> None:
    m = DetachKeyMatcher(b"\x10\x11")
    assert m.feed(b"abc") == (b"abc", False)
    assert m.feed(b"x\x10") == (b"x", False)           # prefix held back
    assert m.feed(b"y") == (b"\x10y", False)           # broken: forwarded after all
    assert m.feed(b"\x10\x10") == (b"\x10", False)
    assert m.feed(b"\x11rest") == (b"", True)          # completed across reads
    m = DetachKeyMatcher(b"\x10\x11")
    assert m.feed(b"ab\x10\x11cd") == (b"ab", True)
    assert m.feed(b"\x10") == (b"", False) and m.flush() == b"\x10"
    assert DetachKeyMatcher(b"").feed(b"\x10\x11") == (b"\x10\x11", False)
    m = DetachKeyMatcher(b"aab")
    assert m.feed(b"aaab") == (b"a", True)



def test_write_output_and_as_stream() -> None:
    out, err, text = io.BytesIO(), io.BytesIO(), io.StringIO()
    write_output([(1, b"a"), (2, b"b"), (1, b"c"), (0, b"ignored")], out, err)
    assert (out.getvalue(), err.getvalue()) == (b"ac", b"b")
    snowman = "\u2603".encode()
    write_output([(1, snowman[:1]), (1, snowman[1:]), (2, b"x")], text, None)
    assert text.getvalue() == "\u2603"  # a character split across chunks stays whole
    stream = as_stream("h\u00e9")
    assert stream is not None and stream.read() == "h\u00e9".encode()
    assert as_stream(None) is None
    pipe = io.BufferedReader(io.BytesIO(b"x"))
    assert as_stream(pipe) is pipe


def test_attach_streams_detach_and_half_close(tmp_path: Path) -> None:
    bundle, listener = fake_conmon(tmp_path)
    with listener:
        # Detach keys split over two reads; text before them is delivered first.
        conn = AttachConnection.connect(bundle)
        server, _ = listener.accept()
        r, w = os.pipe()
        out = io.BytesIO()
        res: list[str] = []
        t = threading.Thread(target=lambda: res.append(attach_streams(
            conn, open(r, "rb", buffering=0), out, None, b"\x10\x11")))
        t.start()
        os.write(w, b"typed\x10")
        assert server.recv(100) == b"typed"
        server.send(b"\x02echo")
        server.send(b"\x03dropped")                  # stderr=None: discarded
        time.sleep(0.05)
        os.write(w, b"\x11ignored")
        t.join(5)
        assert res == ["detached"] and out.getvalue() == b"echo"
        conn.close()
        assert server.recv(100) == b""
        server.close()
        os.close(w)
        # In-memory stdin: all sent, half-closed, output read until EOF.
        conn = AttachConnection.connect(bundle)
        server, _ = listener.accept()
        t = threading.Thread(target=lambda: res.append(attach_streams(
            conn, io.BytesIO(b"abc\x10d"), out, out, b"\x10\x11")))
        t.start()
        assert server.recv(100) == b"abc\x10d"
        assert server.recv(100) == b""
        server.send(b"\x03bye")
        server.close()
        t.join(5)
        assert res[-1] == "exited" and out.getvalue() == b"echobye"
        conn.close()
