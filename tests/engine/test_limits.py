"""The engine refuses numbers runc or the kernel would refuse at start (issue 9, item 5), so
the CLI and the REST API fail at create with a message naming the value."""

from __future__ import annotations

import pytest

from jupyter_ctr.engine import Runtime, limits
from jupyter_ctr.engine.errors import InvalidArgumentError
from jupyter_ctr.engine.oci import parse_signal
from tests.conftest import DEMO


@pytest.mark.parametrize("kwargs,match", [
    ({"memory": 2**63}, "memory limit"),
    ({"memory": "99999999999g"}, "memory limit"),
    ({"pids_limit": 2**22 + 1}, "pids limit"),
    ({"stop_timeout": 10**20}, "stop timeout"),
    ({"restart_policy": "on-failure:99999999999"}, "restart retry count"),
    ({"stop_signal": "\u017figterm"}, "signal"),
    ({"stop_signal": 1.5}, "signal"),
])
def test_create_refuses_out_of_range(rt: Runtime, kwargs, match) -> None:
    with pytest.raises(InvalidArgumentError, match=match):
        rt.create_container(DEMO, ["true"], **kwargs)
    assert rt.list_containers(all=True) == []


@pytest.mark.parametrize("command,workdir,match", [
    (["x" * 100_000], None, "the command's executable is 100000 bytes long"),
    (["true"], "/" + "x" * 5000, "the working directory is 5001 bytes long"),
])
def test_create_refuses_paths_longer_than_the_kernel_takes(rt: Runtime, command, workdir,
                                                           match) -> None:
    """runc's error would echo such a path: over 64 KiB it blocked runc create on its stderr
    pipe while conmon waited for it, and the start hung for conmon's sync timeout (60 s)."""
    with pytest.raises(InvalidArgumentError, match=match):
        rt.create_container(DEMO, command, workdir=workdir)
    ctr = rt.create_container(DEMO, ["/" + "x" * (limits.PATH_LENGTH_MAX - 1)])
    ctr.remove()
    ctr = rt.create_container(DEMO, ["sleep", "100"])
    ctr.start()
    with pytest.raises(InvalidArgumentError, match="the command's executable is 8000 bytes"):
        ctr.exec(["y" * 8000])
    with pytest.raises(InvalidArgumentError, match="the exec working directory is 4097"):
        ctr.exec(["true"], workdir="/" + "w" * 4096)


def test_stop_refuses_a_timeout_beyond_time(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sleep", "100"])
    ctr.start()
    with pytest.raises(InvalidArgumentError, match="stop timeout"):
        ctr.stop(timeout=limits.TIMEOUT_MAX + 1)
    assert ctr.state.value == "running"


def test_check_and_signals() -> None:
    assert limits.check("x", 5.0, 0, 10) == 5
    for bad in (5.5, float("nan"), float("inf"), True, "5", 11, -1):
        with pytest.raises(InvalidArgumentError, match="invalid x"):
            limits.check("x", bad, 0, 10)
    assert parse_signal(" 9 ") == 9 and parse_signal("rtmin+1") == parse_signal("SIGRTMIN") + 1
    for bad in ("\u0669", "SIG\u212aILL", "", "0", "65"):
        with pytest.raises(InvalidArgumentError):
            parse_signal(bad)


def test_memory_limit_oom_kill_is_recorded(rt: Runtime) -> None:
    """A process allocating past the memory limit is killed by the kernel: exit 137,
    OOMKilled in inspect, and an "oom" event before the "died" (04-resource-limits shows it)."""
    ctr = rt.create_container(DEMO, ["sh", "-c", 'a=x; while true; do a="$a$a"; done'],
                              memory="16m")
    ctr.start()
    assert ctr.wait() == 137
    assert ctr.inspect()["State"]["OOMKilled"] is True
    actions = [ev.action for ev in rt.events(filters={"container": [ctr.id]})]
    assert actions.index("oom") == actions.index("died") - 1
    ctr.remove()
