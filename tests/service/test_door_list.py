"""Door.list_containers at scale (service/door.py, engine Runtime.list_views): the filters SQL
can apply select the rows read (a student's list reads their own, an exact name one row),
the answers are those of the filters in Python, settled containers are read without their
lock, a container that died shows as exited at once, and a list reads neither the events nor
the logs."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from jupyter_ctr.engine import Runtime, cgroups
from jupyter_ctr.engine.container import Container
from jupyter_ctr.engine.locks import ContainerLock
from jupyter_ctr.engine.store import StateStore
from jupyter_ctr.service.door import Door
from jupyter_ctr.service.filters import matches
from jupyter_ctr.service.policy import OwnershipPolicy
from jupyter_ctr.service.principal import INSTRUCTOR, Principal

from ..conftest import DEMO, wait_until

ANN = Principal(uid=43011, gids=(43011,), pid=1, name="ann-l")
BEN = Principal(uid=43012, gids=(43012,), pid=2, name="ben-l")
TEACH = Principal(uid=43013, gids=(43013,), pid=3, name="teach-l",
                  roles=frozenset({INSTRUCTOR}))


def door(rt: Runtime, who: Principal) -> Door:
    return Door(rt, who, OwnershipPolicy())


@pytest.fixture
def views_read(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the containers each list reads (Container.list_view calls)."""
    seen: list[str] = []
    real = Container.list_view

    def spy(self: Container, *args: Any) -> Any:
        seen.append(self.name)
        return real(self, *args)

    monkeypatch.setattr(Container, "list_view", spy)
    yield seen


def test_filters_in_sql_read_only_the_rows_shown(rt: Runtime, views_read: list[str]) -> None:
    ann, ben, teach = door(rt, ANN), door(rt, BEN), door(rt, TEACH)
    for i in range(4):
        ann.create_container(DEMO, ["true"], name=f"ann-{i}",
                             labels={"jupyter-ctr.lab": "l1" if i % 2 else "l2", "x": "y"})
        ben.create_container(DEMO, ["true"], name=f"ben-{i}")
    running = ann.create_container(DEMO, ["sleep", "100"], name="ann-run")
    running.start()

    def listed(d: Door, **kw: Any) -> list[str]:
        views_read.clear()
        return sorted(s.name for s in d.list_containers(**kw))

    # a student's list reads their rows only
    assert listed(ben, all=True) == [f"ben-{i}" for i in range(4)]
    assert sorted(views_read) == [f"ben-{i}" for i in range(4)]
    # without all: the rows that may be running only
    assert listed(ann) == ["ann-run"] and views_read == ["ann-run"]
    # an exact name, a label with a dot in its key, an ID prefix, an owner: one row or a few
    assert listed(teach, all=True, filters={"name": ["ann-2"]}) == ["ann-2"]
    assert views_read == ["ann-2"]
    assert listed(teach, all=True, filters={"label": ["jupyter-ctr.lab=l1"]}) == \
        ["ann-1", "ann-3"]
    assert sorted(views_read) == ["ann-1", "ann-3"]
    one = rt.lookup_container("ben-3")
    assert listed(teach, all=True, filters={"id": [one.id[:10]]}) == ["ben-3"]
    assert views_read == ["ben-3"]
    assert listed(teach, all=True, filters={"owner": [BEN.name]}) == \
        [f"ben-{i}" for i in range(4)]
    assert listed(teach, all=True, filters={"owner": [str(ANN.uid)], "status": ["running"]}) \
        == ["ann-run"]
    assert views_read == ["ann-run"]
    assert listed(teach, all=True, filters={"name": ["^ann-1$", "^ben-2$"]}) == \
        ["ann-1", "ben-2"]
    assert sorted(views_read) == ["ann-1", "ben-2"]
    # a regular expression is Python's: every row read, the same answer
    assert listed(teach, all=True, filters={"name": ["^ann-[12]$"]}) == ["ann-1", "ann-2"]
    assert len(views_read) == 9
    # every filter gives what matching every container in Python gives
    every = [s for s in teach.list_containers(all=True)]
    for filters in ({"name": ["ann"]}, {"name": ["ann", "ben-1"]}, {"name": ["^ben", "-3$"]},
                    {"name": ["^ann-1$", "n-.$"]}, {"name": ["^$"]}, {"label": ["x"]},
                    {"label": ["x=y", "jupyter-ctr.lab=l2"]}, {"status": ["exited"]},
                    {"status": ["created"]}, {"status": ["running", "configured"]},
                    {"owner": [BEN.name, str(ANN.uid)]}, {"id": [one.id[:3], "ffff"]},
                    {"label": ['we"ird']}):
        want = sorted(s.name for s in every if matches(s, filters))
        assert listed(teach, all=True, filters=filters) == want, filters
    running.stop(timeout=0)


def test_settled_containers_are_listed_without_their_lock(
        rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    ctr = rt.create_container(DEMO, ["sleep", "100"], name="lockfree")
    ctr.start()
    ctr2 = rt.create_container(DEMO, ["true"], name="lockfree-2")
    locked: list[str] = []
    real = ContainerLock.acquire

    def spy(self: ContainerLock) -> None:
        locked.append(str(self.path))
        real(self)

    monkeypatch.setattr(ContainerLock, "acquire", spy)
    d = door(rt, TEACH)
    assert {s.name: s.status for s in d.list_containers(all=True)} == \
        {"lockfree": "running", "lockfree-2": "created"}
    assert [c.name for c in rt.list_containers()] == ["lockfree"]
    assert ctr.state.value == "running"
    assert locked == []
    # a pause made behind the engine's back (the freezer) is not settled: synced, both ways
    monkeypatch.undo()
    cgroups.set_frozen(ctr.cgroups_path, True)
    assert {s.name: s.status for s in d.list_containers(all=True)}["lockfree"] == "paused"
    cgroups.set_frozen(ctr.cgroups_path, False)
    assert {s.name: s.status for s in d.list_containers(all=True)}["lockfree"] == "running"
    ctr.stop(timeout=0)
    del ctr2


def test_a_container_that_died_shows_as_exited(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sleep", "100"], name="dies")
    ctr.start()
    d = door(rt, TEACH)
    rec = ctr.observe().record
    os.kill(rec.pid, signal.SIGKILL)
    # at once: conmon's exit file (or its exit command's record) says so
    assert wait_until(lambda: rt.oci.exit_file(ctr.id).exists()
                      or ctr.state.value != "running")
    assert [s.status for s in d.list_containers(all=True)] in (["exited"], ["stopped"])
    assert d.list_containers() == []
    # a killed conmon, the container gone with it: noticed too
    ctr.start()
    rec = ctr.observe().record
    os.kill(rec.conmon_pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.kill(rec.pid, signal.SIGKILL)
    assert wait_until(lambda: [s.status for s in d.list_containers(all=True)]
                      in (["exited"], ["stopped"]))


def test_a_list_reads_neither_events_nor_logs(rt: Runtime,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    ctr = rt.create_container(DEMO, ["sh", "-c", "seq 1 20000; sleep 100"], name="chatty")
    ctr.start()
    assert wait_until(lambda: ctr.log_path.exists() and ctr.log_path.stat().st_size > 50000)

    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("a list read the events")

    for name in ("events_after", "last_event_seq"):
        monkeypatch.setattr(StateStore, name, refuse)
    opened: list[str] = []
    real_open = open

    def spy_open(path: Any, *args: Any, **kw: Any) -> Any:
        opened.append(str(path))
        return real_open(path, *args, **kw)

    monkeypatch.setattr("builtins.open", spy_open)
    d = door(rt, TEACH)
    assert [s.name for s in d.list_containers(all=True)] == ["chatty"]
    assert [s.name for s in d.list_containers(filters={"name": ["chatty"]})] == ["chatty"]
    monkeypatch.undo()
    assert not [p for p in opened if "ctr.log" in p or p.endswith(".log")], opened
    ctr.stop(timeout=0)
