"""service/labs.py on its own: one result per container in the order given, a failure kept
to its container, several at once but never more than the pool's size, and the labs'
summary."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import pytest

from jupyter_ctr.engine import ContainerState, InvalidArgumentError
from jupyter_ctr.engine.records import LAB_LABEL
from jupyter_ctr.service.labs import check_action, run_each, summarize


def fake(name: str, lab: str | None = None, owner: str = "alice",
         state: ContainerState = ContainerState.RUNNING) -> Any:
    labels = {LAB_LABEL: lab} if lab else {}
    return SimpleNamespace(id=name * 4, name=name, state=state,
                           config=SimpleNamespace(labels=labels, owner_name=owner))


def test_results_in_order_and_a_failure_stays_its_own() -> None:
    ctrs = [fake(f"c{i}") for i in range(12)]

    def work(ctr: Any) -> None:
        if ctr.name == "c5":
            raise RuntimeError("no snapshot 'step-2'")

    results = run_each(ctrs, work)
    assert [r["Name"] for r in results] == [c.name for c in ctrs]
    assert [r["Ok"] for r in results] == [c.name != "c5" for c in ctrs]
    assert results[5]["Error"] == "no snapshot 'step-2'" and results[5]["Owner"] == "alice"
    assert results[0] == {"Id": "c0c0c0c0", "Name": "c0", "Owner": "alice", "Ok": True,
                          "Error": ""}
    assert run_each([], work) == []


def test_several_at_once_within_the_pool() -> None:
    ctrs = [fake(f"c{i}") for i in range(10)]
    lock = threading.Lock()
    now = peak = 0
    # the first three wait for each other: they can only all get here if run together
    together = threading.Barrier(3, timeout=30)

    def work(ctr: Any) -> None:
        nonlocal now, peak
        with lock:
            now += 1
            peak = max(peak, now)
        if ctr.name in ("c0", "c1", "c2"):
            together.wait()
        with lock:
            now -= 1

    results = run_each(ctrs, work, workers=3)
    assert all(r["Ok"] for r in results), results
    assert peak == 3


def test_check_action() -> None:
    check_action("reset", "step-1")
    with pytest.raises(InvalidArgumentError, match="unknown lab action 'explode'"):
        check_action("explode", None)
    with pytest.raises(InvalidArgumentError, match="step"):
        check_action("reset", None)


def test_summarize_groups_by_lab() -> None:
    labs = summarize([fake("a", "l2", "bob"), fake("b", "l1"),
                      fake("c", "l1", "bob", ContainerState.EXITED), fake("d")])
    assert labs == [
        {"Name": "l1", "Containers": 2, "Running": 1, "Owners": ["alice", "bob"]},
        {"Name": "l2", "Containers": 1, "Running": 1, "Owners": ["bob"]}]
