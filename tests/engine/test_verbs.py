"""restart, restart policies, dependencies, mount/unmount, export, artifacts, batch."""

from __future__ import annotations

import io
import os
import tarfile
import time

import pytest

from jupyter_ctr.engine import (
    ContainerState,
    ContainerStateInvalidError,
    InvalidArgumentError,
    Runtime,
)
from jupyter_ctr.engine.errors import (
    ContainerRemovedError,
    DependencyExistsError,
    NotImplementedCtrError,
)
from tests.conftest import DEMO, wait_until

S = ContainerState


def test_restart_running_container_gets_new_pid(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sleep", "1000"])
    ctr.start()
    pid = ctr.inspect()["State"]["Pid"]
    ctr.restart(timeout=0)
    info = ctr.inspect()["State"]
    assert info["Status"] == "running" and info["Pid"] not in (0, pid)
    actions = [e.action for e in rt.events(filters={"container": [ctr.id]})]
    assert actions.count("restart") == 1 and actions.count("start") == 2


def test_restart_policy_on_failure_restarts_exactly_n_times(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sh", "-c", "echo run; exit 3"],
                              restart_policy="on-failure:2")
    ctr.start()

    def settled() -> bool:
        st = ctr.inspect()
        return st["State"]["Status"] == "exited" and st["RestartCount"] == 2

    assert wait_until(settled, 15)
    time.sleep(1)  # no third restart arrives late
    info = ctr.inspect()
    assert info["RestartCount"] == 2 and info["State"]["Status"] == "exited"
    assert [line.text for line in ctr.logs()] == ["run"] * 3
    assert info["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}


def test_restart_policy_on_failure_ignores_success(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["true"], restart_policy="on-failure")
    ctr.start()
    assert ctr.wait() == 0
    time.sleep(0.8)
    assert ctr.inspect()["RestartCount"] == 0


def test_restart_policy_always_but_not_after_user_stop(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sleep", "1000"], restart_policy="always")
    ctr.start()
    pid = ctr.inspect()["State"]["Pid"]
    rt.oci.kill(ctr.id, 9)  # dies behind the engine's back: the policy brings it back
    assert wait_until(lambda: ctr.inspect()["State"]["Pid"] not in (0, pid)
                      and ctr.state is S.RUNNING, 10)
    assert ctr.inspect()["RestartCount"] == 1
    ctr.stop(timeout=0)  # the user's stop is final
    time.sleep(0.8)
    assert ctr.state is S.EXITED


def test_bad_restart_policy(rt: Runtime) -> None:
    for bad in ("sometimes", "always:3", "on-failure:x"):
        with pytest.raises(InvalidArgumentError, match="restart policy"):
            rt.create_container(DEMO, ["true"], restart_policy=bad)


def test_dependencies(rt: Runtime) -> None:
    db = rt.create_container(DEMO, ["sleep", "1000"], name="db")
    app = rt.create_container(DEMO, ["sleep", "1000"], name="app", depends_on=["db"])
    with pytest.raises(ContainerStateInvalidError, match="db"):
        app.start()
    assert app.state is S.CONFIGURED
    app.start(recursive=True)
    assert db.state is S.RUNNING and app.state is S.RUNNING
    assert app.inspect()["Dependencies"] == [db.id]
    with pytest.raises(DependencyExistsError, match="app"):
        rt.remove_container(db)
    with pytest.raises(DependencyExistsError):
        rt.remove_container(db)
    rt.remove_container(db, force=True, timeout=0)  # takes its dependents with it
    assert rt.list_containers(all=True) == []


def test_mount_counting(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sleep", "1000"])
    path = ctr.mount()
    assert os.path.ismount(path) and (path / "bin" / "busybox").exists()
    assert ctr.mount() == path
    ctr.start()
    ctr.unmount()
    ctr.unmount()  # the user's mounts are gone; the running container keeps its own
    assert os.path.ismount(path)
    with pytest.raises(ContainerStateInvalidError, match="running"):
        ctr.unmount()
    ctr.stop(timeout=0)
    assert not os.path.ismount(path)
    # a mount held by the user survives the container's exit
    ctr.mount()
    ctr.start()
    ctr.stop(timeout=0)
    assert os.path.ismount(path)
    ctr.unmount()
    assert not os.path.ismount(path)


def test_export_contains_container_changes(rt: Runtime, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ctr = rt.create_container(DEMO, ["sh", "-c", "echo data > /root/note; rm /bin/vi"])
    ctr.start()
    ctr.wait()
    wait_until(lambda: ctr.state is S.EXITED)
    out = tmp_path / "rootfs.tar"
    ctr.export(out)
    with tarfile.open(out) as tar:
        names = set(tar.getnames())
        assert tar.extractfile("./root/note").read() == b"data\n"  # type: ignore[union-attr]
    assert "./bin/busybox" in names and "./bin/vi" not in names
    buf = io.BytesIO()
    ctr.export(buf)
    assert len(buf.getvalue()) > 100_000
    assert not os.path.ismount(ctr.inspect()["GraphDriver"]["Data"]["UpperDir"] + "/../merged")


def test_artifacts(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["true"])
    ctr.add_artifact("notes.txt", b"hello")
    assert ctr.get_artifact("notes.txt") == b"hello"
    ctr.add_artifact("notes.txt", b"again")
    assert ctr.get_artifact("notes.txt") == b"again"
    ctr.remove_artifact("notes.txt")
    with pytest.raises(InvalidArgumentError, match="no artifact"):
        ctr.get_artifact("notes.txt")
    folder = rt.container_dir(ctr.id) / "artifacts"
    os.symlink("/etc/passwd", folder / "link")
    for bad in ("../escape", "..", ".", "a/b", "/etc/passwd", "nul\0byte", "", "link"):
        with pytest.raises(InvalidArgumentError):
            ctr.add_artifact(bad, b"x")
        with pytest.raises(InvalidArgumentError):
            ctr.get_artifact(bad)
    assert not os.path.exists(rt.container_dir(ctr.id) / "escape")
    rt.remove_container(ctr)
    with pytest.raises(ContainerRemovedError):
        ctr.add_artifact("late", b"x")


def test_batch_runs_verbs_under_one_lock(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sleep", "1000"])

    def work(c):  # type: ignore[no-untyped-def]
        c.start()
        c.pause()
        c.unpause()
        c.stop(timeout=0)
        with pytest.raises(ContainerStateInvalidError, match="batch"):
            rt.remove_container(c)
        return c.inspect()["State"]["Status"]

    assert ctr.batch(work) == "exited"
    assert ctr.state is S.EXITED


def test_batch_of_50_takes_the_lock_once(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    # What batch saves is the lock and the sync per verb (timings belong to bench/).
    from jupyter_ctr.engine import locks

    ctr = rt.create_container(DEMO, ["sleep", "1000"])
    ctr.start()
    taken: list[str] = []
    real = locks.ContainerLock.acquire

    def acquire(self: locks.ContainerLock) -> None:
        taken.append(os.path.basename(self.path))
        real(self)

    monkeypatch.setattr(locks.ContainerLock, "acquire", acquire)
    for _ in range(50):
        ctr.inspect()
    assert len(taken) == 50
    taken.clear()
    ctr.batch(lambda c: [c.inspect() for _ in range(50)])
    assert len(taken) == 1


def test_refresh_not_implemented(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["true"])
    with pytest.raises(NotImplementedCtrError):
        ctr.refresh()


def test_pause_stops_output_and_unpause_resumes(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sh", "-c", "while :; do echo t; sleep 0.05; done"])
    ctr.start()
    time.sleep(0.3)
    ctr.pause()
    time.sleep(0.1)
    n = len(list(ctr.logs()))
    time.sleep(0.5)
    assert len(list(ctr.logs())) == n
    assert ctr.inspect()["State"]["Paused"] is True
    ctr.unpause()
    time.sleep(0.4)
    assert len(list(ctr.logs())) > n


def test_top_lists_container_processes(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sh", "-c", "sleep 1000 & sleep 999; true"])
    ctr.start()
    want = {"sh -c sleep 1000 & sleep 999; true", "sleep 1000", "sleep 999"}

    def settled() -> bool:  # forks exec a moment later: wait for the final picture
        rows = ctr.top()["Processes"]
        return {r[-1] for r in rows} == want and all(r[2] in ("0", "1") for r in rows)

    assert wait_until(settled), ctr.top()
    top = ctr.top()
    assert top["Titles"][:3] == ["USER", "PID", "PPID"]
    by_cmd = {row[-1]: row for row in top["Processes"]}
    assert by_cmd["sh -c sleep 1000 & sleep 999; true"][1] == "1"  # pid inside the container
    assert by_cmd["sleep 1000"][2] == "1" and by_cmd["sleep 1000"][0] == "0"
    ctr.stop(timeout=0)
    with pytest.raises(ContainerStateInvalidError, match="top"):
        ctr.top()


def test_exec_through_the_container(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sleep", "1000"])
    ctr.start()
    session = ctr.exec(["sh", "-c", "echo hi; echo err >&2; exit 4"])
    out, err = io.BytesIO(), io.BytesIO()
    assert session.start_and_attach(stdout=out, stderr=err) == 4
    assert (out.getvalue(), err.getvalue()) == (b"hi\n", b"err\n")
    sleeper = ctr.exec(["sleep", "1000"])
    sleeper.start()
    assert [s.id for s in ctr.exec_sessions()] == [sleeper.id]
    assert ctr.inspect()["ExecIDs"] == [sleeper.id]
    ctr.pause()
    with pytest.raises(ContainerStateInvalidError, match="paused"):
        ctr.exec(["true"])
    ctr.unpause()
    ctr.stop(timeout=0)
    assert ctr.exec_sessions() == [] and not list((rt.run_root / "exec").glob("*"))
