"""The settled watch (engine/settled_watch.py): from its second list on, a process trusts a
running container's stored state until the kernel reports news about what a full check
looked at. Each kind of news is made for real here and must show in the very next list: a
pause or thaw written to the freezer by hand, conmon killed, the container's exit, another
process's stop and start; and the watch leaves no descriptor behind."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from jupyter_ctr.engine import Runtime, cgroups
from jupyter_ctr.engine.container import Container
from jupyter_ctr.engine.settled_watch import IN_Q_OVERFLOW, SettledWatch

from ..conftest import DEMO, wait_until


def listed(rt: Runtime) -> dict[str, str]:
    return {snap.config.name: snap.status for _, snap in rt.list_views()}


@pytest.fixture
def full_checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The containers each list checked in full (Container._settled_now calls)."""
    seen: list[str] = []
    real = Container._settled_now

    def spy(self: Container, *args: Any) -> Any:
        seen.append(self.name)
        return real(self, *args)

    monkeypatch.setattr(Container, "_settled_now", spy)
    yield seen


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def freezer_write(ctr: Container, frozen: bool) -> None:
    """Freeze or thaw as another tool would: a write to the freezer file, no engine call."""
    path = cgroups.freezer_files(ctr.cgroups_path)[0]
    if path.endswith("cgroup.freeze"):
        value = "1" if frozen else "0"
    else:
        value = "FROZEN" if frozen else "THAWED"
    with open(path, "w") as fh:
        fh.write(value)
    want = "frozen" if frozen else "thawed"
    assert wait_until(lambda: cgroups.freezer_state(ctr.cgroups_path) == want)


def test_the_second_list_starts_the_watch_and_the_third_checks_nothing(
        rt: Runtime, full_checks: list[str]) -> None:
    ctrs = [rt.create_container(DEMO, ["sleep", "100"], name=f"w-{i}") for i in range(3)]
    for ctr in ctrs[:2]:
        ctr.start()
    assert listed(rt) == {"w-0": "running", "w-1": "running", "w-2": "created"}
    assert rt.settled_watch is None  # a process that lists once pays for no watch
    assert listed(rt) == {"w-0": "running", "w-1": "running", "w-2": "created"}
    assert rt.settled_watch is not None and len(rt.settled_watch) == 2
    full_checks.clear()
    for _ in range(3):
        assert listed(rt) == {"w-0": "running", "w-1": "running", "w-2": "created"}
    assert full_checks == []  # one dict lookup each, no system call per container
    # an engine pause changes the stored state: checked in full once, then trusted again
    ctrs[0].pause()
    assert listed(rt)["w-0"] == "paused"
    assert full_checks == ["w-0"]
    full_checks.clear()
    assert listed(rt)["w-0"] == "paused" and full_checks == []
    ctrs[0].unpause()
    assert listed(rt)["w-0"] == "running"


def test_a_freezer_written_by_hand_shows_in_the_next_list(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sleep", "100"], name="frz")
    ctr.start()
    listed(rt)
    assert listed(rt) == {"frz": "running"}
    freezer_write(ctr, True)
    assert listed(rt) == {"frz": "paused"}  # synced: the engine's record says so now
    assert ctr.observe().record.state.value == "paused"
    assert listed(rt) == {"frz": "paused"}
    freezer_write(ctr, False)
    assert listed(rt) == {"frz": "running"}
    ctr.stop(timeout=0)


def test_an_exit_and_a_killed_conmon_show_in_the_next_list(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sleep", "100"], name="dies")
    ctr.start()
    listed(rt)
    assert listed(rt) == {"dies": "running"}
    os.kill(ctr.observe().record.pid, signal.SIGKILL)
    assert wait_until(lambda: rt.oci.exit_file(ctr.id).exists()
                      or ctr.state.value != "running")
    assert listed(rt)["dies"] in ("exited", "stopped")
    # conmon killed (the container with it): noticed although no exit file appears
    ctr.start()
    assert listed(rt) == {"dies": "running"}
    assert listed(rt) == {"dies": "running"}
    rec = ctr.observe().record
    os.kill(rec.conmon_pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.kill(rec.pid, signal.SIGKILL)
    assert wait_until(lambda: listed(rt)["dies"] in ("exited", "stopped"))


def test_another_process_stops_and_starts_it(rt: Runtime, engine_roots: Any) -> None:
    ctr = rt.create_container(DEMO, ["sleep", "100"], name="other")
    ctr.start()
    listed(rt)
    assert listed(rt) == {"other": "running"}
    first = ctr.observe().record.conmon_pid
    other = Runtime(*engine_roots)  # as another process: its own handles, no shared cache
    try:
        other.lookup_container("other").stop(timeout=0)
        assert listed(rt) == {"other": "exited"}
        other.lookup_container("other").start()
        assert listed(rt) == {"other": "running"}
        assert ctr.observe().record.conmon_pid != first
        freezer_write(ctr, True)  # the new conmon's cgroup is watched, not the old one's
        assert listed(rt) == {"other": "paused"}
        freezer_write(ctr, False)
        assert listed(rt) == {"other": "running"}
    finally:
        other.close()
    ctr.stop(timeout=0)


def test_no_descriptor_is_left_behind(engine_roots: Any) -> None:
    before = open_fds()
    rt = Runtime(*engine_roots)
    ctrs = [rt.create_container(DEMO, ["sleep", "100"], name=f"fd-{i}") for i in range(3)]
    try:
        for ctr in ctrs:
            ctr.start()
        for _ in range(3):
            listed(rt)
        watch = rt.settled_watch
        assert watch is not None and len(watch) == 3
        during = open_fds()
        for _ in range(5):
            listed(rt)
        assert open_fds() == during  # lists again and again: nothing grows
        for ctr in ctrs:
            ctr.remove(force=True, timeout=0)
        assert listed(rt) == {}
        assert len(watch) == 0  # conmons gone: their pidfds and inotify watches let go
    finally:
        for ctr in ctrs:
            with contextlib.suppress(Exception):
                ctr.remove(force=True, timeout=0)
        rt.close()
    assert open_fds() <= before


def test_lost_news_trusts_nothing(rt: Runtime, full_checks: list[str]) -> None:
    # inotify's queue overflowing cannot be made on demand: its event is injected.
    ctr = rt.create_container(DEMO, ["sleep", "100"], name="ovf")
    ctr.start()
    listed(rt)
    listed(rt)
    full_checks.clear()
    watch = rt.settled_watch
    assert watch is not None

    class Overflow:
        wd, mask, cookie, name = -1, IN_Q_OVERFLOW, 0, ""

    with watch._lock:
        watch._inotify_event(Overflow())
    assert listed(rt) == {"ovf": "running"} and full_checks == ["ovf"]
    full_checks.clear()
    assert listed(rt) == {"ovf": "running"} and full_checks == []
    ctr.stop(timeout=0)


def test_without_a_watch_lists_check_in_full(rt: Runtime, full_checks: list[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # Out of inotify instances (fs.inotify.max_user_instances): injected, as it cannot be
    # exhausted here without starving the other processes of the machine.
    def refuse(self: SettledWatch, exits_dir: str) -> None:
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(SettledWatch, "__init__", refuse)
    ctr = rt.create_container(DEMO, ["sleep", "100"], name="nowatch")
    ctr.start()
    for _ in range(3):
        assert listed(rt) == {"nowatch": "running"}
    assert rt.settled_watch is None and full_checks == ["nowatch"] * 3
    freezer_write(ctr, True)
    assert listed(rt) == {"nowatch": "paused"}
    freezer_write(ctr, False)
    ctr.stop(timeout=0)


def test_a_forked_child_leaves_the_news_to_its_parent(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sleep", "100"], name="fork")
    ctr.start()
    listed(rt)
    listed(rt)
    watch = rt.settled_watch
    assert watch is not None
    pid = os.fork()
    if pid == 0:  # the child: no shortcut (the epoll and inotify are its parent's too)
        code = 0 if not watch.holds(ctr.id, ctr.observe().record.conmon_pid, "running") \
            else 1
        os._exit(code)
    assert os.waitpid(pid, 0)[1] == 0
    freezer_write(ctr, True)
    assert listed(rt) == {"fork": "paused"}  # the parent still gets the news
    freezer_write(ctr, False)
    ctr.stop(timeout=0)
