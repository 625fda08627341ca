"""Exec sessions with real runc and conmon: exit codes, attach streams, tty, state checks,
parallel sessions, and nothing left behind."""

from __future__ import annotations

import fcntl
import io
import os
import struct
import subprocess
import termios
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_ctr.engine import Container, ContainerStateInvalidError, InvalidArgumentError, Runtime
from jupyter_ctr.engine import exec as ex
from jupyter_ctr.engine.errors import (
    ContainerRemovedError,
    CtrError,
    NoSuchExecSessionError,
    RuntimeMissingError,
    TimeoutCtrError,
)
from jupyter_ctr.engine.stdio import DetachKeyMatcher, parse_detach_keys
from tests.conftest import DEMO, wait_until


def exec_conmons(rt: Runtime) -> list[str]:
    """Live conmon processes of exec sessions under this engine's run root."""
    out = subprocess.run(["pgrep", "-a", "conmon"], capture_output=True, text=True).stdout
    live = []
    for line in out.splitlines():
        pid = line.split()[0]
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                zombie = fh.read().rsplit(b")", 1)[1].split()[0] == b"Z"
        except OSError:
            continue
        if str(rt.run_root / "exec") in line and not zombie:
            live.append(line)
    return live


def tty_size(pid: int) -> tuple[int, int]:
    """(rows, cols) of the terminal on a process's stdin."""
    fd = os.open(f"/proc/{pid}/fd/0", os.O_RDONLY | os.O_NOCTTY)
    try:
        rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
    finally:
        os.close(fd)
    return rows, cols


def exec_dirs(rt: Runtime) -> list[Path]:
    root = rt.run_root / "exec"
    return sorted(root.iterdir()) if root.exists() else []


@pytest.fixture
def ctr(rt: Runtime) -> Iterator[Container]:
    """A running busybox container; afterwards its sessions are cleaned up as stop/remove
    will do, and no session conmon or directory may remain."""
    c = rt.create_container(DEMO, ["sleep", "1000"])
    c.start()
    yield c
    try:
        with c._lock_and_sync():
            c._cleanup_exec_sessions()
    except ContainerRemovedError:
        pass
    assert wait_until(lambda: not exec_conmons(rt), 5), exec_conmons(rt)
    assert exec_dirs(rt) == []


def run(ctr: Container, cmd: list[str] | str, stdin: bytes | None = None,
        **kw: object) -> tuple[int | None, bytes, bytes]:
    session = ctr.exec(cmd, stdin=stdin is not None, **kw)  # type: ignore[arg-type]
    out, err = io.BytesIO(), io.BytesIO()
    code = session.start_and_attach(stdin=stdin, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_exit_code_streams_inspect_and_events(rt: Runtime, ctr: Container) -> None:
    session = ctr.exec(["sh", "-c", "echo out; echo err >&2; exit 42"])
    assert len(session.id) == 64 and session.state is ex.ExecState.CREATED
    assert session.inspect()["CanRemove"] is False
    out, err = io.BytesIO(), io.BytesIO()
    assert session.start_and_attach(stdout=out, stderr=err) == 42
    assert (out.getvalue(), err.getvalue()) == (b"out\n", b"err\n")
    assert session.wait() == 42
    info = session.inspect()
    assert {k: info[k] for k in ("ID", "ContainerID", "Running", "ExitCode", "Pid", "OpenStdin",
                                 "CanRemove", "DetachKeys")} == {
        "ID": session.id, "ContainerID": ctr.id, "Running": False, "ExitCode": 42, "Pid": 0,
        "OpenStdin": False, "CanRemove": True, "DetachKeys": ""}
    assert info["ProcessConfig"] == {"entrypoint": "sh",
                                     "arguments": ["-c", "echo out; echo err >&2; exit 42"],
                                     "tty": False, "privileged": False, "user": ""}
    assert rt.lookup_exec(session.id).inspect()["ExitCode"] == 42
    events = [(e.action, e.attributes.get("execID"), e.attributes.get("exitCode"))
              for e in rt.events(filters={"container": [ctr.id]})
              if e.action.startswith("exec")]
    assert events == [("exec", session.id, None), ("exec_died", session.id, "42")]
    assert exec_dirs(rt) == []  # a finished session keeps its row, not its directory
    assert run(ctr, "sh -c 'exit 0'")[0] == 0


def test_stdin_through_cat_with_half_close(ctr: Container) -> None:
    data = os.urandom(50_000).hex().encode() + b"\nend\n"  # many packets
    code, out, _ = run(ctr, ["cat"], stdin=data)
    assert code == 0 and out == data
    # A pipe as stdin: its EOF closes the process's stdin.
    session = ctr.exec(["sh", "-c", "cat; echo done >&2"], stdin=True)
    r, w = os.pipe()
    os.write(w, b"line 1\nline 2\n")
    os.close(w)
    out_buf, err_buf = io.BytesIO(), io.BytesIO()
    with os.fdopen(r, "rb") as stdin:
        assert session.start_and_attach(stdin=stdin, stdout=out_buf, stderr=err_buf) == 0
    assert (out_buf.getvalue(), err_buf.getvalue()) == (b"line 1\nline 2\n", b"done\n")
    # Started detached, attached later: input still reaches it and EOF still ends it.
    later = ctr.exec(["cat"], stdin=True)
    later.start()
    out_buf = io.BytesIO()
    assert later.attach(stdin=b"late input\n", stdout=out_buf) == 0
    assert out_buf.getvalue() == b"late input\n"
    with pytest.raises(InvalidArgumentError, match="without stdin"):
        ctr.exec(["true"]).start_and_attach(stdin=b"x")


def test_text_stdin_and_output(ctr: Container) -> None:
    text = "h\u00e9llo \u2603\n" * 2000  # multi-byte characters across many packets
    for stdin in (text, io.StringIO(text)):
        session = ctr.exec(["cat"], stdin=True)
        out = io.StringIO()
        assert session.start_and_attach(stdin=stdin, stdout=out) == 0  # type: ignore[arg-type]
        assert out.getvalue() == text


def test_tty_exec_resize(ctr: Container) -> None:
    session = ctr.exec(["sh", "-c", "stty size; read x; stty size"], tty=True,
                             stdin=True)
    r, w = os.pipe()
    out = io.BytesIO()
    result: dict[str, int | None] = {}

    def attach() -> None:
        with os.fdopen(r, "rb") as stdin:
            result["code"] = session.start_and_attach(stdin=stdin, stdout=out,
                                                      tty_size=(24, 80))

    thread = threading.Thread(target=attach)
    thread.start()
    assert wait_until(lambda: b"24 80" in out.getvalue(), 10), out.getvalue()
    session.resize(30, 100)
    # conmon applies a resize asynchronously (ctl FIFO -> winsz FIFO -> ioctl): watch the pty.
    assert wait_until(lambda: tty_size(session.pid) == (30, 100), 5)
    os.write(w, b"go\n")
    os.close(w)
    thread.join(10)
    assert result == {"code": 0}
    assert out.getvalue().replace(b"\r\n", b"\n") == b"24 80\ngo\n30 100\n"
    with pytest.raises(ex.ExecSessionStateInvalidError):
        session.resize(10, 10)  # it has exited
    plain = ctr.exec(["true"])
    with pytest.raises(ex.ExecSessionStateInvalidError, match="no tty"):
        plain.resize(10, 10)
    with pytest.raises(InvalidArgumentError):
        plain.resize(0, 10)


def test_env_user_workdir(ctr: Container) -> None:
    code, out, _ = run(ctr, ["sh", "-c", "id -u; id -g; pwd; echo $FOO $BAR $HOME; echo $PATH"],
                       env={"FOO": "foo", "BAR": "b a r"}, user="nobody", workdir="/tmp")
    lines = out.decode().splitlines()
    assert code == 0 and lines[:4] == ["65534", "65534", "/tmp", "foo b a r /home"]
    assert "/bin" in lines[4]  # the container's environment is kept
    # Defaults are the container's: root in /.
    assert run(ctr, ["sh", "-c", "id -u; pwd; echo $FOO"], env=["FOO=x"])[1] == b"0\n/\nx\n"
    assert run(ctr, ["id", "-u"], user="1234:5")[1] == b"1234\n"
    for bad in ([], "", [""]):
        with pytest.raises(InvalidArgumentError, match="non-empty command"):
            ctr.exec(bad)
    with pytest.raises(InvalidArgumentError, match="environment"):
        ctr.exec(["true"], env={"A=B": "x"})
    with pytest.raises(InvalidArgumentError, match="absolute"):
        ctr.exec(["true"], workdir="tmp")
    with pytest.raises(InvalidArgumentError, match="nosuchuser"):
        ctr.exec(["true"], user="nosuchuser")
    with pytest.raises(InvalidArgumentError, match="detach keys"):
        ctr.exec(["true"], detach_keys="ctrl-%")
    # A workdir that does not exist in the container is the runtime's error, and exit 127.
    session = ctr.exec(["true"], workdir="/no/such/dir")
    with pytest.raises(RuntimeMissingError, match="no such file"):
        session.start()
    assert session.wait() == 127


def test_paused_container_refuses_exec(ctr: Container) -> None:
    early = ctr.exec(["true"])
    ctr.pause()
    try:
        with pytest.raises(ContainerStateInvalidError, match=f"{ctr.id[:12]}.*paused"):
            ctr.exec(["true"])
        with pytest.raises(ContainerStateInvalidError, match="paused"):
            early.start()
        assert early.state is ex.ExecState.CREATED
    finally:
        ctr.unpause()
    assert early.start_and_attach() == 0


def test_not_running_container_refuses_exec(rt: Runtime) -> None:
    configured = rt.create_container(DEMO, ["sleep", "1000"])
    with pytest.raises(ContainerStateInvalidError, match=f"{configured.id[:12]}.*configured"):
        configured.exec(["true"])
    configured.init()
    with pytest.raises(ContainerStateInvalidError, match="state created"):
        configured.exec(["true"])
    done = rt.create_container(DEMO, ["true"])
    done.start()
    done.wait()
    with pytest.raises(ContainerStateInvalidError, match=r"state (stopped|exited)"):
        done.exec(["true"])
    configured.start()
    session = configured.exec(["sleep", "1000"])
    configured.stop(timeout=0)  # the container's stop ends its exec sessions too
    with pytest.raises(NoSuchExecSessionError):
        session.start()
    with pytest.raises(NoSuchExecSessionError):
        rt.lookup_exec(session.id)
    assert configured.inspect()["ExecIDs"] == []


def test_unknown_binary_is_a_clear_error_and_leaves_nothing(rt: Runtime,
                                                           ctr: Container) -> None:
    session = ctr.exec(["/no/such/binary", "arg"])
    with pytest.raises(RuntimeMissingError, match=r'"/no/such/binary".*no such file'):
        session.start_and_attach()
    assert session.inspect()["ExitCode"] == 127 and session.state is ex.ExecState.STOPPED
    assert exec_dirs(rt) == [] and exec_conmons(rt) == []
    with pytest.raises(ex.ExecSessionStateInvalidError, match="only start created"):
        session.start()
    denied = ctr.exec(["/etc"])
    with pytest.raises(CtrError, match="permission denied"):
        denied.start()
    assert denied.wait() == 126
    assert exec_dirs(rt) == [] and exec_conmons(rt) == []



def test_list_shows_live_sessions_only(rt: Runtime, ctr: Container) -> None:
    created = ctr.exec(["true"])
    running = ctr.exec(["sleep", "1000"])
    running.start()
    short = ctr.exec(["sh", "-c", "exit 3"])
    short.start()
    assert short.wait(timeout=10) == 3
    assert {s.id for s in ctr.exec_sessions()} == {created.id, running.id}
    assert {s.id: s.state for s in ctr.exec_sessions()}[running.id] is ex.ExecState.RUNNING
    assert running.inspect()["Running"] and running.inspect()["Pid"] > 0
    with pytest.raises(TimeoutCtrError):
        running.wait(timeout=0.1)
    # A session that exits while nobody watches is noticed by the next sync.
    os.kill(running.inspect()["Pid"], 9)
    assert wait_until(lambda: [s.id for s in ctr.exec_sessions()] == [created.id], 5)
    assert running.wait() == 137 and exec_dirs(rt) == []
    with pytest.raises(NoSuchExecSessionError):
        rt.lookup_exec("0" * 64)
    with pytest.raises(NoSuchExecSessionError):
        rt.lookup_exec("not-an-id")


def test_remove_running_session_needs_force(rt: Runtime, ctr: Container) -> None:
    session = ctr.exec(["sleep", "1000"])
    session.start()
    with pytest.raises(ex.ExecSessionStateInvalidError, match="without force"):
        session.remove()
    assert session.inspect()["Running"]
    session.remove(force=True)
    assert session.wait() == 137  # the exit code outlives the session
    with pytest.raises(NoSuchExecSessionError):
        rt.lookup_exec(session.id)
    with pytest.raises(NoSuchExecSessionError):
        session.inspect()
    assert exec_dirs(rt) == [] and wait_until(lambda: not exec_conmons(rt), 5)
    done = ctr.exec(["true"])
    done.start()
    assert done.wait() == 0
    done.remove()  # a stopped session needs no force
    with pytest.raises(NoSuchExecSessionError):
        done.inspect()


def test_detach_and_attach_again(ctr: Container) -> None:
    session = ctr.exec(["sh", "-c", "cat; sleep 1; echo late; exit 5"], stdin=True)
    r, w = os.pipe()
    os.write(w, b"abc\n\x10\x11")  # ctrl-p, ctrl-q
    first, second = io.BytesIO(), io.BytesIO()
    with os.fdopen(r, "rb") as stdin:
        assert session.start_and_attach(stdin=stdin, stdout=first) is None
    os.close(w)
    assert session.inspect()["Running"]
    # conmon closed the process's stdin when we left (as with podman); the process goes on.
    assert session.attach(stdout=second) == 5
    # cat's echo reaches an attach only if one is there when conmon reads it.
    assert first.getvalue() + second.getvalue() in (b"late\n", b"abc\nlate\n")
    # Exec shares container attach's detach key parsing and matching (engine/stdio.py).
    assert parse_detach_keys("ctrl-a,x,ctrl-@") == b"\x01x\x00"
    assert parse_detach_keys("") == b""
    matcher = DetachKeyMatcher(b"\x10\x11")
    assert matcher.feed(b"a\x10b\x10") == (b"a\x10b", False)
    assert matcher.feed(b"\x10\x11rest") == (b"\x10", True)


def test_many_sessions_in_parallel(ctr: Container) -> None:
    results: dict[int, tuple[int | None, bytes, bytes]] = {}

    def one(i: int) -> None:
        results[i] = run(ctr, ["sh", "-c", f"echo {i}; echo e{i} >&2; exit {i}"])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == {i: (i, f"{i}\n".encode(), f"e{i}\n".encode()) for i in range(10)}


def test_nothing_left_after_container_removal(rt: Runtime, ctr: Container) -> None:
    detached = [ctr.exec(["sleep", "1000"]) for _ in range(3)]
    for s in detached:
        s.start()
    attached = ctr.exec(["sh", "-c", "echo ready; sleep 1000"])
    out = io.BytesIO()
    codes: list[int | None] = []
    thread = threading.Thread(target=lambda: codes.append(attached.start_and_attach(stdout=out)))
    thread.start()
    assert wait_until(lambda: out.getvalue() == b"ready\n", 10)
    assert len(exec_conmons(rt)) == 4 and len(exec_dirs(rt)) == 4
    # What stop/remove do (ContainerBase calls _cleanup_exec_sessions): under its lock.
    with ctr._lock_and_sync():
        ctr._cleanup_exec_sessions()
    thread.join(10)
    assert codes == [137]
    assert exec_dirs(rt) == [] and wait_until(lambda: not exec_conmons(rt), 5)
    assert [s.wait() for s in detached] == [137, 137, 137]
    # Removing the container first (its rows go with it): the sweep still finds the dirs.
    late = ctr.exec(["sleep", "1000"])
    late.start()
    rt.remove_container(ctr, force=True, timeout=0)
    ctr._cleanup_exec_sessions()
    assert exec_dirs(rt) == [] and wait_until(lambda: not exec_conmons(rt), 5)
    with pytest.raises(NoSuchExecSessionError):
        rt.lookup_exec(late.id)


def test_exec_runs_back_to_back(ctr: Container) -> None:
    """Sessions one after another (their speed is measured in bench/rest.py, not here)."""
    for i in range(5):
        assert run(ctr, ["sh", "-c", f"exit {i}"])[0] == i
