"""Container behaviour with real runc and conmon: output, logs, events, limits, bad input."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from jupyter_ctr.engine import (
    ContainerExistsError,
    ContainerState,
    CtrError,
    InvalidArgumentError,
    NoSuchContainerError,
    NoSuchImageError,
    Runtime,
)
from jupyter_ctr.engine.errors import OCIRuntimeError
from tests.conftest import DEMO, leftovers, wait_until


def run(rt: Runtime, cmd: list[str], **kw: object) -> tuple[int, str]:
    ctr = rt.create_container(DEMO, cmd, **kw)  # type: ignore[arg-type]
    ctr.start()
    code = ctr.wait()
    out = "\n".join(line.text for line in ctr.logs())
    return code, out


def test_echo_and_exit_code(rt: Runtime) -> None:
    code, out = run(rt, ["sh", "-c", "echo hello; exit 3"])
    assert (code, out) == (3, "hello")


def test_exited_container_is_cleaned_up_by_exit_command(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["true"])
    ctr.start()
    assert ctr.wait() == 0
    assert wait_until(lambda: ctr.state is ContainerState.EXITED)
    assert wait_until(lambda: not any(leftovers(rt, {ctr.id}).values())), leftovers(rt, {ctr.id})
    info = ctr.inspect()["State"]
    assert info["Status"] == "exited" and info["ExitCode"] == 0
    assert info["FinishedAt"] >= info["StartedAt"]


def test_restart_after_exit_keeps_log(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["echo", "again"])
    ctr.start()
    ctr.wait()
    wait_until(lambda: ctr.state is ContainerState.EXITED)
    ctr.start()
    ctr.wait()
    assert [line.text for line in ctr.logs()] == ["again", "again"]


def test_logs_streams_tail_since_and_follow(rt: Runtime) -> None:
    ctr = rt.create_container(
        DEMO, ["sh", "-c", "echo one; echo two >&2; printf partial; sleep 0.5; echo three"])
    ctr.start()
    followed = list(ctr.logs(follow=True))
    assert [(line.stream, line.text) for line in followed] == [
        ("stdout", "one"), ("stderr", "two"), ("stdout", "partialthree")]
    assert [line.text for line in ctr.logs(tail=1)] == ["partialthree"]
    assert list(ctr.logs(tail=0)) == []
    late = ctr.logs(since=followed[0].time_ns / 1e9 + 0.3)
    assert [line.text for line in late] == []  # the joined line keeps its first part's time
    assert all(line.time_ns > 0 for line in followed)


def test_logs_since(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sh", "-c", "echo early; sleep 0.4; echo late"])
    ctr.start()
    lines = list(ctr.logs(follow=True))
    assert [line.text for line in lines] == ["early", "late"]
    since = lines[1].time_ns / 1e9 - 0.1
    assert [line.text for line in ctr.logs(since=since)] == ["late"]
    assert [line.text for line in ctr.logs(until=since)] == ["early"]


def test_env_workdir_user_and_hostname(rt: Runtime) -> None:
    code, out = run(rt, ["sh", "-c", "echo $FOO $container; pwd; id -u; hostname"],
                    env={"FOO": "bar"}, workdir="/tmp", user="65534")
    lines = out.splitlines()
    assert code == 0
    assert lines[0] == "bar oci"
    assert lines[1] == "/tmp"
    assert lines[2] == "65534"
    assert len(lines[3]) == 12


def test_safe_defaults_network_none_caps_nnp(rt: Runtime) -> None:
    code, out = run(rt, ["sh", "-c",
                         "ls /sys/class/net; grep -E 'NoNewPrivs|CapEff' /proc/self/status"])
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "lo"  # own network namespace with only loopback
    assert "NoNewPrivs:\t1" in out
    cap_eff = int(next(ln for ln in lines if ln.startswith("CapEff")).split()[1], 16)
    assert cap_eff == 0x800405FB  # podman's 11 default capabilities (containers.conf)
    assert not cap_eff & (1 << 21)  # no CAP_SYS_ADMIN


def test_network_host_shares_interfaces(rt: Runtime) -> None:
    code, out = run(rt, ["ls", "/sys/class/net"], network="host")
    assert code == 0
    assert set(out.split()) == set(os.listdir("/sys/class/net"))


def test_memory_limit_enforced_and_reported(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sleep", "1000"], memory="32m", pids_limit=20, cpus=0.5)
    ctr.start()
    stats = ctr.stats()
    assert stats["memory_limit"] == 32 << 20
    assert stats["pids"] == 1 and stats["cpu_ns"] > 0 and stats["memory_bytes"] > 0
    host = ctr.inspect()["HostConfig"]
    assert host["Memory"] == 32 << 20 and host["PidsLimit"] == 20
    assert host["CpuQuota"] == 50_000 and host["CpuPeriod"] == 100_000
    cg = Path("/sys/fs/cgroup")
    rel = f"jupyter-ctr/{ctr.id}"
    if (cg / "cpu" / rel).is_dir():  # cgroup v1: the kernel's own view of the limits
        assert (cg / "cpu" / rel / "cpu.cfs_quota_us").read_text().strip() == "50000"
        assert (cg / "pids" / rel / "pids.max").read_text().strip() == "20"
        assert int((cg / "memory" / rel / "memory.limit_in_bytes").read_text()) == 32 << 20
    ctr.stop(timeout=0)
    # Allocate far more than the limit: the kernel's OOM killer ends it.
    ctr2 = rt.create_container(
        DEMO, ["sh", "-c", "x=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; "
                           "while :; do x=$x$x$x$x; done"], memory="16m")
    ctr2.start()
    assert ctr2.wait() == 137


def test_pids_limit_enforced(rt: Runtime) -> None:
    code, out = run(rt, ["sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 5 & done 2>&1; "
                                     "echo spawned; wait"], pids_limit=4)
    assert "fork" in out.lower() or "resource" in out.lower() or "again" in out.lower(), out


def test_events_for_every_verb(rt: Runtime) -> None:
    since = time.time()
    ctr = rt.create_container(DEMO, ["sleep", "1000"], name="evt")
    ctr.init()
    ctr.start()
    ctr.pause()
    ctr.unpause()
    ctr.kill("SIGUSR1")
    ctr.stop(timeout=0)
    ctr.sync()
    rt.remove_container(ctr)
    evs = list(rt.events(since=since, filters={"container": ["evt"]}))
    actions = [e.action for e in evs]
    for a in ("create", "init", "start", "pause", "unpause", "kill", "died", "stop", "cleanup",
              "sync", "remove"):
        assert a in actions, actions
    assert actions.index("create") < actions.index("start") < actions.index("remove")
    assert all(e.name == "evt" and e.image == DEMO and e.id == ctr.id for e in evs)
    kill = next(e for e in evs if e.action == "kill")
    assert kill.attributes["signal"] == "SIGUSR1"
    d = evs[0].to_dict()
    assert json.loads(json.dumps(d))["Type"] == "container"
    assert list(rt.events(since=since, filters={"event": ["pause"]}))[0].action == "pause"
    with pytest.raises(InvalidArgumentError, match="bogus"):
        list(rt.events(filters={"bogus": ["x"]}))


def test_events_follow_sees_new_events(rt: Runtime) -> None:
    import threading

    seen: list[str] = []
    done = threading.Event()

    def follow() -> None:
        for ev in rt.events(follow=True, stop=done):
            seen.append(ev.action)
            if ev.action == "remove":
                return

    t = threading.Thread(target=follow)
    t.start()
    time.sleep(0.2)
    ctr = rt.create_container(DEMO, ["true"])
    rt.remove_container(ctr)
    t.join(5)
    done.set()
    assert seen[:2] == ["create", "remove"]


def test_lookup_by_name_id_and_prefix(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["true"], name="findme")
    assert rt.lookup_container("findme").id == ctr.id
    assert rt.lookup_container(ctr.id).id == ctr.id
    assert rt.lookup_container(ctr.id[:8]).id == ctr.id
    with pytest.raises(NoSuchContainerError, match="nosuch"):
        rt.lookup_container("nosuch")
    assert [c.id for c in rt.list_containers()] == []
    assert ctr.id in [c.id for c in rt.list_containers(all=True)]


def test_inspect_shape(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sleep", "1000"], name="shape", labels={"a": "b"},
                              tty=True)
    info = ctr.inspect()
    assert info["State"]["Status"] == "created"  # Configured shows as created, like podman
    ctr.init()
    assert ctr.inspect()["State"]["Status"] == "initialized"
    ctr.start()
    info = ctr.inspect()
    assert info["Id"] == ctr.id and info["Name"] == "shape"
    assert info["Path"] == "sleep" and info["Args"] == ["1000"]
    assert info["State"]["Running"] is True and info["State"]["Pid"] > 0
    assert info["Config"]["Labels"] == {"a": "b"} and info["Config"]["Tty"] is True
    assert "TERM=xterm" in info["Config"]["Env"]
    assert info["ImageName"] == DEMO


# -- bad input: a clear error naming the problem, nothing left behind --------------------------
def _nothing_new(rt: Runtime, before: set[str]) -> None:
    assert {c.id for c in rt.list_containers(all=True)} == before
    dirs = set(os.listdir(rt.root / "containers"))
    assert dirs == before, dirs - before
    assert not any(leftovers(rt, set()).values())


@pytest.mark.parametrize(("kwargs", "match", "exc"), [
    ({"name": "bad name"}, "invalid container name", InvalidArgumentError),
    ({"name": "-lead"}, "invalid container name", InvalidArgumentError),
    ({"name": "../../etc"}, "invalid container name", InvalidArgumentError),
    ({"image": "nosuch/image"}, "nosuch", NoSuchImageError),
    ({"command": []}, "no command", InvalidArgumentError),
    ({"command": [""]}, "no command", InvalidArgumentError),
    ({"stop_signal": "SIGBOGUS"}, "SIGBOGUS", InvalidArgumentError),
    ({"stop_signal": 99}, "99", InvalidArgumentError),
    ({"network": "bridge"}, "bridge", InvalidArgumentError),
    ({"memory": "lots"}, "lots", InvalidArgumentError),
    ({"memory": "1k"}, "minimum", InvalidArgumentError),
    ({"pids_limit": 0}, "pids", InvalidArgumentError),
    ({"cpus": 999.0}, "cpus", InvalidArgumentError),
    ({"workdir": "relative"}, "absolute", InvalidArgumentError),
    ({"user": "nosuchuser"}, "nosuchuser", InvalidArgumentError),
    ({"env": {"A=B": "c"}}, "A=B", InvalidArgumentError),
    ({"stop_timeout": -1}, "timeout", InvalidArgumentError),
])
def test_bad_create_input(rt: Runtime, kwargs: dict[str, object], match: str,
                          exc: type[CtrError]) -> None:
    before = {c.id for c in rt.list_containers(all=True)}
    args: dict[str, object] = {"image": DEMO, "command": ["true"]}
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        rt.create_container(**args)  # type: ignore[arg-type]
    _nothing_new(rt, before)


def test_command_from_image_default(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO)
    assert ctr.inspect()["Config"]["Cmd"] == ["sh"]


def test_duplicate_name(rt: Runtime) -> None:
    rt.create_container(DEMO, ["true"], name="twin")
    before = {c.id for c in rt.list_containers(all=True)}
    with pytest.raises(ContainerExistsError, match="twin"):
        rt.create_container(DEMO, ["true"], name="twin")
    _nothing_new(rt, before)


def test_unknown_signal_on_kill(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sleep", "1000"])
    ctr.start()
    with pytest.raises(InvalidArgumentError, match="NOPE"):
        ctr.kill("NOPE")
    assert ctr.state is ContainerState.RUNNING


def test_missing_binary_in_image(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["/no/such/binary"])
    with pytest.raises(OCIRuntimeError, match="/no/such/binary"):
        ctr.start()
    assert ctr.state is ContainerState.CONFIGURED
    assert not any(leftovers(rt, {ctr.id}).values())
    assert not (rt.bundle_dir(ctr.id)).exists()
    assert ctr.inspect()["State"]["Error"]


def test_wait_on_removed_container_returns_recorded_code(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sh", "-c", "exit 5"])
    ctr.start()
    assert ctr.wait() == 5
    rt.remove_container(ctr)
    assert ctr.wait() == 5


def test_wait_for_condition(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sleep", "1000"])
    assert ctr.wait_for_condition("created", interval=0.01) == -1
    ctr.start()
    assert ctr.wait_for_condition([ContainerState.RUNNING], interval=0.01) == -1
    with pytest.raises(CtrError, match="timed out"):
        ctr.wait_for_condition("paused", interval=0.01, timeout=0.1)
    with pytest.raises(InvalidArgumentError, match="sleepy"):
        ctr.wait_for_condition("sleepy")
    ctr.kill()
    assert ctr.wait_for_condition("exited", interval=0.01) == 137


def test_remove_leaves_no_files(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sh", "-c", "echo x > /file"])
    ctr.start()
    ctr.wait()
    upper = Path(ctr.inspect()["GraphDriver"]["Data"]["UpperDir"])
    wait_until(lambda: (upper / "file").exists())
    rt.remove_container(ctr)
    assert not (rt.root / "containers" / ctr.id).exists()
    assert not rt.bundle_dir(ctr.id).exists()
    assert not rt.lock_path(ctr.id).exists()
    assert not (rt.run_root / "exits" / ctr.id).exists()


def test_logs_follow_ends_on_stop(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sh", "-c", "echo one; sleep 1000"])
    ctr.start()
    done = threading.Event()
    lines: list[str] = []

    def follow() -> None:
        for line in ctr.logs(follow=True, stop=done):
            lines.append(line.text)

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    assert wait_until(lambda: lines == ["one"], 5)
    done.set()
    thread.join(5)
    assert not thread.is_alive(), "the follow did not end"
    assert [line.text for line in ctr.logs(follow=True, stop=lambda: True)] == ["one"]
    ctr.stop(timeout=0)
