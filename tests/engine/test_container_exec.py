"""The exec verbs on the container (ExecVerbs), by session ID as in libpod: lookup, detach
keys, stop, cleanup, the stream for event loops, and the ExecSession handle over them."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator

import pytest

from jupyter_ctr.engine import Container, InvalidArgumentError, Runtime
from jupyter_ctr.engine.errors import (
    ContainerRemovedError,
    ExecSessionStateInvalidError,
    NoSuchExecSessionError,
)
from jupyter_ctr.engine.state import ExecState
from tests.conftest import DEMO, wait_until


@pytest.fixture
def ctr(rt: Runtime) -> Iterator[Container]:
    """A running busybox container; its sessions are cleaned up as its stop would."""
    c = rt.create_container(DEMO, ["sleep", "1000"])
    c.start()
    yield c
    try:
        with c._lock_and_sync():
            c._cleanup_exec_sessions()
    except ContainerRemovedError:
        pass
    assert not any((rt.run_root / "exec").glob("*"))


def test_verbs_by_id_and_lookup(rt: Runtime, ctr: Container) -> None:
    sid = ctr.exec_create(["sh", "-c", "echo hi; exit 3"])
    found = rt.lookup_exec(sid)
    assert (found.id, found.container_id, found.state) == (sid, ctr.id, ExecState.CREATED)
    assert ctr.exec_record(sid).status is ExecState.CREATED
    assert ctr.exec_inspect(sid)["Running"] is False
    out = io.BytesIO()
    assert ctr.exec_start_and_attach(sid, stdout=out) == 3 and out.getvalue() == b"hi\n"
    assert ctr.exec_wait(sid) == 3
    assert ctr.exec_record(sid).exit_code == 3 and found.inspect()["ExitCode"] == 3
    assert found.state is ExecState.STOPPED  # inspect refreshed the handle
    assert ctr.exec_remove(sid) == 3
    with pytest.raises(NoSuchExecSessionError):
        rt.lookup_exec(sid)
    assert ctr.exec_wait(sid) == 3  # the exit code outlives the session
    for bad in ("0" * 64, "not-an-id", "A" * 64, 5):
        with pytest.raises(NoSuchExecSessionError):
            rt.lookup_exec(bad)  # type: ignore[arg-type]


def test_sessions_belong_to_their_container(rt: Runtime, ctr: Container) -> None:
    other = rt.create_container(DEMO, ["sleep", "1000"])
    other.start()
    sid = other.exec_create(["true"])
    with pytest.raises(NoSuchExecSessionError):
        ctr.exec_record(sid)
    with pytest.raises(NoSuchExecSessionError):
        ctr.exec_start(sid)
    assert rt.lookup_exec(sid).container_id == other.id
    rt.remove_container(other, force=True, timeout=0)
    with pytest.raises(NoSuchExecSessionError):  # its rows went with the container
        rt.lookup_exec(sid)


def test_exec_detach_keys(ctr: Container) -> None:
    # conmon closes a non-tty session's stdin on detach: cat ends, the session goes on.
    session = ctr.exec(["sh", "-c", "cat; sleep 1000"], stdin=True, detach_keys="ctrl-x,x")
    assert session.inspect()["DetachKeys"] == "ctrl-x,x"
    r, w = os.pipe()
    # ctrl-p ctrl-q are plain input for this session; its own keys detach.
    os.write(w, b"abc\n\x10\x11\n\x18x")
    with os.fdopen(r, "rb") as stdin:
        assert session.start_and_attach(stdin=stdin, stdout=io.BytesIO()) is None
    os.close(w)
    assert session.inspect()["Running"]
    stream = ctr.exec_open_stream(session.id, start=False)
    try:
        assert stream.detach_keys == b"\x18x" and stream.record.status is ExecState.RUNNING
    finally:
        stream.close()
    session.remove(force=True)
    assert session.state is ExecState.STOPPED and session.exit_code == 137
    with pytest.raises(InvalidArgumentError, match="detach keys"):
        ctr.exec(["true"], detach_keys="ctrl-")
    # Keys given to an attach beat the session's.
    other = ctr.exec(["sh", "-c", "cat; sleep 1000"], stdin=True, detach_keys="ctrl-x,x")
    assert other.start_and_attach(stdin=b"ab\x01c", stdout=io.BytesIO(),
                                  detach_keys="ctrl-a") is None
    other.remove(force=True)


def test_exec_stop(rt: Runtime, ctr: Container) -> None:
    polite = ctr.exec(["sh", "-c", "trap 'exit 7' TERM; while :; do sleep 0.05; done"])
    polite.start()
    assert wait_until(lambda: b"sleep" in _children_cmdlines(polite.pid), 5)
    polite.stop(timeout=10)
    assert polite.state is ExecState.STOPPED and polite.wait() == 7
    hard = ctr.exec(["sleep", "1000"])
    hard.start()
    hard.stop(timeout=0)
    assert hard.wait() == 137
    with pytest.raises(ExecSessionStateInvalidError, match="only stop running"):
        hard.stop()
    with pytest.raises(InvalidArgumentError):
        ctr.exec_stop(hard.id, timeout=-1)
    assert not any((rt.run_root / "exec").glob("*"))
    events = [e.action for e in rt.events(filters={"container": [ctr.id]})]
    assert events.count("exec_died") == 2


def test_exec_cleanup(ctr: Container) -> None:
    done = ctr.exec(["true"])
    done.start()
    assert done.wait() == 0
    ctr.exec_cleanup(done.id)
    running = ctr.exec(["sleep", "1000"])
    running.start()
    with pytest.raises(ExecSessionStateInvalidError, match="running"):
        ctr.exec_cleanup(running.id)
    running.remove(force=True)


def test_open_stream_for_event_loops(ctr: Container) -> None:
    sid = ctr.exec_create(["sh", "-c", "echo out; echo err >&2; exit 5"])
    stream = ctr.exec_open_stream(sid, start=True)
    assert stream.session_id == sid and stream.record.pid > 0
    assert stream.conn is not None
    got = b""
    while (packet := stream.conn.recv()) is not None:
        got += packet[1]
    assert sorted(got.splitlines()) == [b"err", b"out"]
    assert stream.finish() == 5
    assert ctr.exec_record(sid).status is ExecState.STOPPED
    with pytest.raises(ExecSessionStateInvalidError, match="only attach to running"):
        ctr.exec_open_stream(sid, start=False)


def _children_cmdlines(pid: int) -> bytes:
    out = b""
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                kids = fh.read().split()
        except OSError:
            continue
        for kid in kids:
            try:
                with open(f"/proc/{kid}/cmdline", "rb") as fh:
                    out += fh.read()
            except OSError:
                pass
    return out
