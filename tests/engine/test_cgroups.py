"""cgroups.UsageReader (the stats sampler's per-container reading) on real containers: the
numbers agree with ``Container.stats()``, a reading costs a few file opens and no process,
a stopped container reads as None; and the state store's running list in one query."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from jupyter_ctr.engine import Runtime, cgroups
from jupyter_ctr.engine.cgroups import UsageReader
from tests.conftest import DEMO


class Counted:
    """Counts the calls of a function it stands in for."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.calls: list[tuple[Any, ...]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append(args)
        return self.fn(*args, **kwargs)


def test_a_reading_is_four_file_opens_and_matches_stats(rt: Runtime,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    ctr = rt.create_container(DEMO, ["sleep", "100"], memory="64m", pids_limit=32)
    ctr.start()
    reader = UsageReader(rt.config.cgroup_parent)
    try:
        reader.read(ctr.id)  # opens the hierarchies' directories once
        opens, spawns = Counted(os.open), Counted(subprocess.Popen)
        monkeypatch.setattr(os, "open", opens)
        monkeypatch.setattr(subprocess, "Popen", spawns)
        usage = reader.read(ctr.id)
        monkeypatch.undo()
        assert usage is not None
        # cpu, memory usage, memory limit, pids: one small file each, relative to a kept fd
        assert len(opens.calls) == 4, opens.calls
        assert all(not str(call[0]).startswith("/") for call in opens.calls), opens.calls
        assert not spawns.calls
        engine = ctr.stats()
        assert usage.memory_limit == engine["memory_limit"] == 64 << 20
        assert usage.pids == engine["pids"] >= 1
        assert 0 < usage.memory_bytes and 0 < usage.cpu_ns <= engine["cpu_ns"]
        ctr.stop(timeout=0)
        assert reader.read(ctr.id) is None
        assert reader.read("0" * 64) is None
    finally:
        reader.close()


def test_running_containers_is_one_query_without_configs(rt: Runtime) -> None:
    up = rt.create_container(DEMO, ["sleep", "100"], name="stats-up")
    up.start()
    paused = rt.create_container(DEMO, ["sleep", "100"], name="stats-paused")
    paused.start()
    paused.pause()
    rt.create_container(DEMO, ["sleep", "100"], name="stats-created")
    rows = {row[0]: row for row in rt.store.running_containers()}
    assert set(rows) >= {up.id, paused.id}
    assert not {c.id for c in rt.list_containers(all=True)
                if c.name == "stats-created"} & set(rows)
    assert rows[up.id][1] == "stats-up"
    assert rows[up.id][2] == up.observe().record.started_at > 0
    paused.unpause()


@pytest.mark.skipif(cgroups.CGROUP_ROOT.joinpath("cgroup.controllers").exists(),
                    reason="v1 hierarchies: a child cgroup has every file at once")
def test_a_parent_made_again_is_opened_again() -> None:
    parent = f"jctr-test-{uuid.uuid4().hex[:8]}"
    child = uuid.uuid4().hex
    dirs = [cgroups.CGROUP_ROOT / h / parent for h in ("cpuacct", "memory", "pids")]

    def make() -> None:
        for d in dirs:
            (d / child).mkdir(parents=True)

    def remove() -> None:
        for d in dirs:
            for p in (d / child, d):
                if p.exists():
                    p.rmdir()

    reader = UsageReader(parent)
    try:
        make()
        first = reader.read(child)
        assert first is not None and first.pids == 0 and first.memory_limit is None
        remove()
        make()  # the kept fds name the removed directories now
        assert reader.read(child) is None
        reader.revalidate()
        assert reader.read(child) is not None
    finally:
        reader.close()
        remove()
