"""The client Runtime and Container against the real service on a unix socket: real
containers, driven through the client, with the engine's return shapes and errors."""

from __future__ import annotations

import io
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from jupyter_ctr.client import RemoteDoor
from jupyter_ctr.client import Runtime as RemoteRuntime
from jupyter_ctr.client.errors import ServiceUnavailableError
from jupyter_ctr.engine import Runtime
from jupyter_ctr.engine.errors import (
    ContainerExistsError,
    ContainerRunningError,
    ContainerStateInvalidError,
    ContainerStoppedError,
    ExecSessionStateInvalidError,
    ImageInUseError,
    ImageNamesConflictError,
    InvalidArgumentError,
    NoSuchContainerError,
    NoSuchExecSessionError,
    NoSuchImageError,
)
from jupyter_ctr.engine.records import ContainerSnapshot
from jupyter_ctr.engine.state import ContainerState, ExecState
from tests.conftest import DEMO, socket_service, wait_until

pytestmark = pytest.mark.timeout(180)
S = ContainerState


def test_lifecycle_logs_exec_and_inspect(remote: RemoteRuntime, rt: Runtime) -> None:
    ctr = remote.create_container(DEMO, ["sh", "-c", "echo hi; echo err >&2; sleep 60"],
                                  name="cl-life", memory="64m", labels={"tier": "a"},
                                  env={"GREETING": "hello"})
    assert ctr.name == "cl-life" and ctr.state is S.CONFIGURED
    assert ctr.config.memory == 64 << 20 and ctr.config.labels == {"tier": "a"}
    assert "GREETING=hello" in ctr.config.env
    ctr.start()
    assert ctr.state is S.RUNNING
    local = rt.lookup_container("cl-life")
    assert ctr.inspect() == local.inspect()  # the engine's own shape, value for value
    assert wait_until(lambda: len(list(ctr.logs())) == 2)
    assert [(line.stream, line.text) for line in ctr.logs()] == \
        [(line.stream, line.text) for line in local.logs()] == [("stdout", "hi"),
                                                                 ("stderr", "err")]
    assert [line.time_ns for line in ctr.logs()] == [line.time_ns for line in local.logs()]
    assert [line.text for line in ctr.logs(tail=1)] == ["err"]

    session = ctr.exec(["sh", "-c", "echo in-exec; echo oops >&2; exit 3"])
    out, err = io.BytesIO(), io.BytesIO()
    assert session.start_and_attach(stdout=out, stderr=err) == 3
    assert (out.getvalue(), err.getvalue()) == (b"in-exec\n", b"oops\n")
    assert session.inspect()["ExitCode"] == 3 and not session.inspect()["Running"]
    assert remote.lookup_exec(session.id).id == session.id

    top = ctr.top()
    assert top["Titles"][0] == "USER" and any("sleep 60" in row[-1] for row in top["Processes"])
    stats = ctr.stats()
    assert set(stats) == set(local.stats())
    assert stats["id"] == ctr.id and stats["pids"] == 1 and stats["memory_limit"] == 64 << 20

    ctr.pause()
    assert ctr.state is S.PAUSED
    ctr.unpause()
    assert ctr.state is S.RUNNING
    ctr.kill("SIGKILL")
    assert ctr.wait() == 137
    assert ctr.state in (S.STOPPED, S.EXITED)  # exited once conmon's exit command ran
    ctr.start()
    ctr.stop(timeout=0)
    assert ctr.state in (S.STOPPED, S.EXITED)
    with pytest.raises(ContainerStoppedError):
        ctr.stop()
    ctr.remove()
    with pytest.raises(NoSuchContainerError):
        remote.lookup_container("cl-life")


def test_attach_with_stdin_and_start_and_attach(remote: RemoteRuntime, rt: Runtime) -> None:
    ctr = remote.create_container(DEMO, ["sh", "-c", "read a; echo got $a; echo e >&2"],
                                  stdin=True)
    out, err = io.BytesIO(), io.BytesIO()
    assert ctr.start_and_attach(io.BytesIO(b"hello\n"), out, err) == "exited"
    assert (out.getvalue(), err.getvalue()) == (b"got hello\n", b"e\n")
    assert ctr.wait() == 0
    with pytest.raises(ContainerStateInvalidError):
        ctr.attach(stdout=io.BytesIO())  # exited: as the engine refuses

    # A running container: attach, then detach with the keys; it keeps running.
    cat = remote.create_container(DEMO, ["cat"], stdin=True, tty=True)
    cat.start()
    out = io.BytesIO()
    assert cat.attach(io.BytesIO(b"abc\n\x10\x11"), out) == "detached"
    assert cat.state is S.RUNNING
    with cat.open_attach(logs=True, stdin=False) as stream:
        assert not stream.stdin and stream.tty
    cat.resize(30, 100)
    cat.stop(timeout=0)


def test_exec_attach_to_a_detached_session_stop_and_remove(remote: RemoteRuntime,
                                                            rt: Runtime) -> None:
    """The exec verbs the service serves on our own routes (exec attach, stop, remove):
    the engine's results and errors, the engine's own records afterwards."""
    ctr = remote.create_container(DEMO, ["sleep", "100"], name="cl-exec")
    ctr.start()
    session = ctr.exec(["sh", "-c", "read x; echo got $x; echo e >&2; exit 5"], stdin=True)
    session.start()
    assert session.state is ExecState.RUNNING
    out, err = io.BytesIO(), io.BytesIO()
    assert session.attach(io.BytesIO(b"abc\n"), out, err) == 5
    assert (out.getvalue(), err.getvalue()) == (b"got abc\n", b"e\n")
    assert session.exit_code == 5 and session.state is ExecState.STOPPED
    for verb in (lambda s: s.attach(stdout=io.BytesIO()), lambda s: s.stop()):
        with pytest.raises(ExecSessionStateInvalidError) as far:
            verb(session)
        with pytest.raises(ExecSessionStateInvalidError) as local:
            verb(rt.lookup_exec(session.id))
        assert str(far.value) == str(local.value)
    session.remove()
    with pytest.raises(NoSuchExecSessionError):
        remote.lookup_exec(session.id)
    with pytest.raises(NoSuchExecSessionError):
        session.remove()

    # attach to a running tty session, leave it with the detach keys: it goes on
    cat = ctr.exec(["cat"], stdin=True, tty=True)
    cat.start()
    assert cat.attach(io.BytesIO(b"x\n\x10\x11"), io.BytesIO()) is None
    assert cat.inspect()["Running"]
    stream = cat.open_stream(start=False)  # the stream of a running one, for a caller's loop
    assert stream.session_id == cat.id and stream.conn is not None
    stream.close()
    cat.stop(timeout=0)
    assert (cat.state, cat.exit_code) == (ExecState.STOPPED, 137)
    assert rt.lookup_exec(cat.id).inspect()["ExitCode"] == 137
    busy = ctr.exec(["sleep", "100"])
    busy.start()
    with pytest.raises(ExecSessionStateInvalidError, match="without force"):
        busy.remove()
    busy.remove(force=True)
    assert busy.exit_code == 137
    with pytest.raises(NoSuchExecSessionError):
        rt.lookup_exec(busy.id)
    ctr.stop(timeout=0)


def test_build_demo_through_the_service(tmp_path: Path) -> None:
    """``image build-demo`` remotely: built by the service on its host (fresh roots here),
    the same image the engine builds in process."""
    sock = f"/tmp/jcb-{os.getpid()}.sock"
    engine = Runtime(tmp_path / "r", tmp_path / "x")
    with socket_service(sock, engine), RemoteRuntime(f"unix://{sock}") as client:
        with pytest.raises(NoSuchImageError):
            client.get_image(DEMO)
        built = client.images.build_demo()
        assert built.names == [DEMO] and client.get_image(DEMO).id == built.id
        assert client.images.build_demo().id == built.id  # once
        assert engine.images.build_demo().id == built.id
        other = client.images.build_demo("localhost/demo-copy:1")
        assert other.id == built.id and set(other.names) == {DEMO, "localhost/demo-copy:1"}
    engine.close()


def test_checkpoint_export_and_import(remote: RemoteRuntime, rt: Runtime,
                                      tmp_path: Path) -> None:
    ctr = remote.create_container(DEMO, ["sh", "-c", "i=0; while true; do i=$((i+1)); "
                                         "echo $i; sleep 0.1; done"], name="cl-ckpt")
    ctr.start()
    assert wait_until(lambda: len(list(ctr.logs())) >= 2)
    stats = ctr.checkpoint()
    assert stats.id == ctr.id and stats.runtime_duration > 0
    assert ctr.state is S.EXITED and ctr.observe().restorable
    stats = ctr.restore()
    assert stats.id == ctr.id and ctr.state is S.RUNNING
    archive = tmp_path / "c.tar.gz"
    stats = ctr.checkpoint(target_file=archive, keep_running=True)
    assert archive.stat().st_size == stats.archive_size > 0
    assert ctr.state is S.RUNNING
    copy, _ = remote.import_checkpoint(archive, name="cl-ckpt2")
    assert copy.name == "cl-ckpt2" and copy.id != ctr.id and copy.state is S.RUNNING


def test_lists_filters_and_the_remote_door(remote_door: RemoteDoor, remote: RemoteRuntime,
                                           rt: Runtime) -> None:
    a = remote.create_container(DEMO, ["sleep", "60"], name="cl-a", labels={"k": "1"})
    remote.create_container(DEMO, ["true"], name="cl-b", labels={"k": "2"})
    a.start()
    snaps = remote_door.list_containers(all=True)
    assert [s.name for s in snaps] == ["cl-b", "cl-a"]  # newest first, as the Door's
    assert all(isinstance(s, ContainerSnapshot) for s in snaps)
    assert [s.name for s in remote_door.list_containers()] == ["cl-a"]
    assert [s.name for s in remote_door.list_containers(all=True, filters={"label": ["k=2"]})] == \
        ["cl-b"]
    assert [s.name for s in remote_door.list_containers(
        filters={"status": ["created"]})] == ["cl-b"]
    assert [s.name for s in remote_door.list_containers(all=True, limit=1)] == ["cl-b"]
    with pytest.raises(InvalidArgumentError):
        remote_door.list_containers(filters={"bogus": ["x"]})
    # The same snapshots (as ps shows them) as the in-process Door's.
    from jupyter_ctr.service.door import Door
    from jupyter_ctr.service.principal import Principal

    local = Door(rt, Principal.of_process()).list_containers(all=True)
    for mine, theirs in zip(snaps, local, strict=True):
        now = time.time()
        assert (mine.id, mine.name, mine.config.image, mine.config.command, mine.status,
                mine.status_text(now), mine.config.created, mine.record.pid) == \
            (theirs.id, theirs.name, theirs.config.image, theirs.config.command,
             theirs.status, theirs.status_text(now), theirs.config.created, theirs.record.pid)
    assert [c.name for c in remote_door.containers("list", all=True)] == ["cl-a", "cl-b"]
    assert remote_door.container("cl-a", "inspect").id == a.id
    assert remote_door.container(a, "inspect") is a
    images, users = remote_door.list_images()
    assert [i.names for i in images] == [[DEMO]] and users[images[0].id] == 2
    assert remote_door.counts()["total"] == 2
    remote_door.remove("cl-a", force=True, timeout=0)
    assert [s.name for s in remote_door.list_containers(all=True)] == ["cl-b"]


def test_tag_and_untag_remotely(remote_door: RemoteDoor, remote: RemoteRuntime,
                                rt: Runtime) -> None:
    img = remote.tag_image(DEMO, "localhost/rc/one:v1")
    assert "localhost/rc/one:v1" in img.names and img.id == rt.images.get(DEMO).id
    remote_door.tag_image(DEMO, "quay.io:5000/rc/two")  # a registry port is no tag
    assert "quay.io:5000/rc/two:latest" in rt.images.get(DEMO).names
    with pytest.raises(NoSuchImageError):
        remote.tag_image("localhost/rc/nosuch", "localhost/rc/x")
    with pytest.raises(InvalidArgumentError):
        remote.tag_image(DEMO, "Bad Name")
    left = remote_door.untag_image(DEMO, ["localhost/rc/one:v1", "quay.io:5000/rc/two"])
    assert left.names == [DEMO]
    with pytest.raises(NoSuchImageError):
        remote.untag_image(DEMO, ["localhost/rc/one:v1"])
    types = {e.action for e in rt.events(filters={"type": ["image"]})}
    assert {"tag", "untag"} <= types


def test_remove_image_by_one_of_several_names_remotely(
        remote_door: RemoteDoor, remote: RemoteRuntime, rt: Runtime) -> None:
    """The remote door's rmi is the engine's: one of several names is only untagged, by ID
    with several names refused without force, in use refused with it."""
    demo = rt.images.get(DEMO)
    remote.tag_image(DEMO, "localhost/rc/rm:1")
    try:
        report = remote_door.remove_image("localhost/rc/rm:1")
        assert (report.id, report.untagged, report.removed) == (
            demo.id, ["localhost/rc/rm:1"], False)
        assert rt.images.get(DEMO).names == [DEMO]
        remote.tag_image(DEMO, "localhost/rc/rm:2")
        with pytest.raises(ImageNamesConflictError, match="by ID with more than one tag"):
            remote_door.remove_image(demo.id[:12])
        remote.create_container(DEMO, ["true"], name="rc-rm-user")
        with pytest.raises(ImageInUseError, match="rc-rm-user"):
            remote.remove_image(demo.id, force=True)
        assert rt.images.get(DEMO).names == [DEMO, "localhost/rc/rm:2"]
        remote.remove_image("localhost/rc/rm:2")
        with pytest.raises(ImageInUseError):
            remote_door.remove_image(DEMO)
    finally:
        for name in ("localhost/rc/rm:1", "localhost/rc/rm:2"):
            if name in rt.images.get(DEMO).names:
                rt.untag_image(DEMO, [name])
    assert rt.images.get(DEMO).names == [DEMO]


def test_events_follow_until_stopped(remote: RemoteRuntime, rt: Runtime) -> None:
    since = time.time()
    seen: list[str] = []
    stop = threading.Event()

    def follow() -> None:
        for ev in remote.events(since=since, filters={"container": ["cl-ev"]}, follow=True,
                                stop=stop):
            seen.append(ev.action)

    thread = threading.Thread(target=follow)
    thread.start()
    ctr = remote.create_container(DEMO, ["true"], name="cl-ev")
    ctr.start()
    ctr.wait()
    assert wait_until(lambda: "died" in seen)
    stop.set()
    thread.join(5)
    assert not thread.is_alive()
    assert seen[:2] == ["create", "start"]
    local = [ev for ev in rt.events(since=since, filters={"container": ["cl-ev"]})]
    remote_events = list(remote.events(since=since, filters={"container": ["cl-ev"]}))
    assert [(e.time_ns, e.action, e.id, e.name, e.image) for e in remote_events] == \
        [(e.time_ns, e.action, e.id, e.name, e.image) for e in local]
    with pytest.raises(InvalidArgumentError, match="invalid event filter"):
        remote.events(filters={"bogus": ["x"]})


# -- the same errors as in process ---------------------------------------------------------------
def _kill_exited(r: Runtime | RemoteRuntime) -> None:
    r.lookup_container("cl-err-exited").kill()


def _pause_exited(r: Runtime | RemoteRuntime) -> None:
    r.lookup_container("cl-err-exited").pause()


def _exec_exited(r: Runtime | RemoteRuntime) -> None:
    r.lookup_container("cl-err-exited").exec(["true"])


def _name_taken(r: Runtime | RemoteRuntime) -> None:
    r.create_container(DEMO, ["true"], name="cl-err-exited")


VERBS = {
    "lookup": lambda r: r.lookup_container("cl-nosuch"),
    "image": lambda r: r.get_image("nosuch:latest"),
    "create-no-image": lambda r: r.create_container("nosuch:latest", ["true"]),
    "create-bad-memory": lambda r: r.create_container(DEMO, ["true"], memory="lots"),
    "create-bad-name": lambda r: r.create_container(DEMO, ["true"], name="-bad"),
    "kill-exited": _kill_exited,
    "pause-exited": _pause_exited,
    "exec-exited": _exec_exited,
    "name-taken": _name_taken,
    "remove-running": lambda r: r.lookup_container("cl-err-running").remove(),
    "start-running": lambda r: r.lookup_container("cl-err-running").start(),
}


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_errors_are_the_engines(verb: str, remote: RemoteRuntime, rt: Runtime) -> None:
    exited = rt.create_container(DEMO, ["true"], name="cl-err-exited")
    exited.start()
    exited.wait()
    assert wait_until(lambda: exited.state is S.EXITED)  # cleaned up: one state to compare
    rt.create_container(DEMO, ["sleep", "60"], name="cl-err-running").start()
    with pytest.raises(Exception) as local:  # noqa: PT011 - compared below
        VERBS[verb](rt)
    with pytest.raises(Exception) as far:  # noqa: PT011
        VERBS[verb](remote)
    assert type(far.value) is type(local.value)
    assert str(far.value) == str(local.value)


def test_expected_classes(remote: RemoteRuntime, rt: Runtime) -> None:
    """A few of the above by name (so a change of both sides still fails here)."""
    with pytest.raises(NoSuchContainerError, match="cl-nosuch"):
        remote.lookup_container("cl-nosuch")
    with pytest.raises(NoSuchImageError):
        remote.get_image("nosuch:latest")
    ctr = remote.create_container(DEMO, ["sleep", "60"], name="cl-x")
    with pytest.raises(ContainerExistsError):
        remote.create_container(DEMO, ["true"], name="cl-x")
    ctr.start()
    with pytest.raises(ContainerRunningError):
        ctr.start()


def test_no_service_is_one_clear_error(tmp_path: Path) -> None:
    client = RemoteRuntime(f"unix://{tmp_path}/none.sock")
    with pytest.raises(ServiceUnavailableError, match="cannot connect to the jupyter-ctr "
                                                      "service at unix://"):
        client.list_containers()


def test_connections_are_kept_alive(remote: RemoteRuntime, service: str) -> None:
    remote.list_containers()
    first = remote.api._idle[0]  # noqa: SLF001 - the pool is what is tested
    for _ in range(5):
        remote.list_containers()
    assert remote.api._idle[0] is first  # noqa: SLF001
    assert len(os.listdir("/proc/self/fd")) < 200


def test_a_connection_the_service_closed_is_replaced(remote: RemoteRuntime) -> None:
    remote.list_containers()
    stale = remote.api._idle[0]  # noqa: SLF001 - the pool is what is tested
    stale.shutdown(socket.SHUT_RDWR)  # as the service does with an idle connection
    assert remote.list_containers() == []
    assert stale not in remote.api._idle  # noqa: SLF001


def test_stats_of_many_in_one_request(remote_door: RemoteDoor, remote: RemoteRuntime,
                                      rt: Runtime) -> None:
    ctrs = [remote.create_container(DEMO, ["sleep", "60"], name=f"st-{i}") for i in range(3)]
    for ctr in ctrs[:2]:
        ctr.start()
    ctrs[1].pause()
    requests: list[str] = []
    real = remote.api.json

    def spy(method: str, path: str, *args: object, **kw: object) -> object:
        requests.append(path)
        return real(method, path, *args, **kw)  # type: ignore[arg-type]

    remote.api.json = spy  # type: ignore[method-assign]
    got = remote_door.stats()
    assert requests == ["/containers/stats"]
    assert set(got) == {ctrs[0].id, ctrs[1].id}  # running and paused; created is left out
    mine = got[ctrs[0].id]
    assert mine["name"] == "st-0" and mine["pids"] >= 1 and mine["memory_bytes"] > 0
    assert mine["time_ns"] > 0 and mine["cpu_ns"] >= 0
    assert set(remote_door.stats([ctrs[1].id, ctrs[2].id, "f" * 64])) == {ctrs[1].id}
    # the in-process Door reads the same containers
    from jupyter_ctr.service.door import Door
    from jupyter_ctr.service.principal import Principal

    local = Door(rt, Principal.of_process()).stats()
    assert set(local) == set(got)
    assert {k: v for k, v in local[ctrs[0].id].items() if k in ("id", "name", "pids")} == \
        {"id": ctrs[0].id, "name": "st-0", "pids": mine["pids"]}
    ctrs[1].unpause()
