"""cgroups.UsageReader (the stats sampler's per-container reading) on real containers: the
numbers agree with ``Container.stats()``, a reading costs a few file opens and no process,
a stopped container reads as None; and the state store's running list in one query."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from jupyter_ctr.engine import Runtime
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
