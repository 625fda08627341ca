"""The Timeline widget's Python side on real containers (CRIU, runc), without a browser: steps
from the engine, the methods that mirror the buttons (``snapshot``, ``rewind``, ``remove``,
``export``), the view's action messages, live updates from snapshots taken elsewhere (the
engine, as the CLI or another cell would), the current position, a filesystem-only snapshot
with CRIU's reason, and errors (a policy refusal naming its rule, an unknown step) shown in
the widget. tests/client/test_timeline_widget_remote.py runs these through the client Door."""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_ctr.engine import Runtime
from jupyter_ctr.engine.errors import CtrError
from jupyter_ctr.engine.events import Event
from jupyter_ctr.service.door import Door
from jupyter_ctr.service.principal import Principal
from jupyter_ctr.service.rules import PolicyRules, RulesPolicy
from jupyter_ctr.widgets import Timeline
from jupyter_ctr.widgets.feed import close_feed
from jupyter_ctr.widgets.timeline import next_step, position_after, position_from

from ..conftest import DEMO, wait_until
from ..engine.test_container_checkpoint import COUNTER, counts_on, values
from ..engine.test_container_timeline import TCP_COUNTER, run, runs_from

WAIT = 60.0  # seconds: the machine is shared; nothing here measures time


@pytest.fixture
def door(rt: Runtime) -> Iterator[Door]:
    d = Door(rt, Principal.of_process())
    yield d
    close_feed(d)  # before rt's teardown removes the containers and closes the store


def names(tl: Timeline) -> list[str]:
    return [s["name"] for s in tl.steps]


def ev(action: str, step: str = "") -> Event:
    return Event(0, 0, "container", action, "c" * 64, "n", DEMO, {"step": step} if step else {})


# -- pure logic ----------------------------------------------------------------------------
def test_position_and_next_step() -> None:
    assert position_after("", ev("snapshot", "step-1")) == "step-1"
    assert position_after("step-3", ev("rewind", "step-2")) == "step-2"
    assert position_after("step-2", ev("snapshot_remove", "step-2")) == ""
    assert position_after("step-2", ev("snapshot_remove", "step-3")) == "step-2"
    assert position_after("step-2", ev("start")) == "step-2"
    history = [ev("snapshot", "a"), ev("snapshot", "b"), ev("rewind", "a"), ev("snapshot", "c")]
    assert position_from(history[:3], ["a", "b"]) == "a"
    assert position_from(history, ["a", "b"]) == "b"  # c is gone: the newest there
    assert position_from([], []) == ""
    assert next_step([]) == "step-1"
    assert next_step(["step-1", "step-9", "x-12", "step-x"]) == "step-10"


# -- on a real container -------------------------------------------------------------------
def test_snapshot_rewind_remove_and_live_updates(rt: Runtime, door: Door,
                                                 tmp_path: Path) -> None:
    ctr = rt.create_container(DEMO, COUNTER, name="wtl1")
    ctr.start()
    tl = Timeline("wtl1", door=door)
    assert (tl.container, tl.container_id, tl.state) == ("wtl1", ctr.id, "running")
    assert (tl.steps, tl.current, tl.suggested, tl.error) == ([], "", "step-1", "")

    counts_on(ctr, 2)
    snap = tl.snapshot().result(WAIT)  # the suggested name
    assert snap.name == "step-1" and snap.kind == "checkpoint"
    assert wait_until(lambda: names(tl) == ["step-1"], WAIT), tl.steps
    step = tl.step("step-1")
    assert step is not None and step["label"] == "checkpoint" and step["size"] > 0
    assert step["created"] == pytest.approx(snap.created / 1e9)
    assert tl.current == "step-1" and tl.suggested == "step-2"
    assert tl.note == "step-1: checkpoint snapshot taken" and tl.busy == ""
    at_step_1 = len(values(ctr))

    # made elsewhere (the engine itself, as the CLI or another cell would): shows at once
    counts_on(ctr, 3)
    ctr.snapshot("step-2")
    assert wait_until(lambda: names(tl) == ["step-1", "step-2"] and tl.current == "step-2",
                      WAIT), (tl.steps, tl.current)
    counts_on(ctr, 3)
    tl.handle_action({"event": "action", "action": "snapshot", "step": "step-3"})  # the view
    assert wait_until(lambda: names(tl) == ["step-1", "step-2", "step-3"], WAIT)
    assert wait_until(lambda: tl.current == "step-3", WAIT)

    # rewind to step 1 (the button's message): the counter goes on from there
    tl.handle_action({"event": "action", "action": "rewind", "step": "step-1"})
    assert wait_until(lambda: tl.current == "step-1" and tl.busy == "", WAIT), tl.busy
    assert tl.error == "" and tl.note == "rewound to step-1"
    assert wait_until(lambda: len(runs_from(values(ctr))) == 2, WAIT)
    resumed = runs_from(values(ctr))[1][0]
    assert resumed <= at_step_1 + 2, (resumed, at_step_1)  # from step 1, not from the start
    assert resumed > 0
    assert wait_until(lambda: tl.state == "running", WAIT), tl.state

    # a second widget reads the position from the container's past events
    assert Timeline("wtl1", door=door).current == "step-1"

    out = Path(tl.export("step-2", tmp_path / "hand-in.tar.gz"))
    assert out.stat().st_size > 0 and tarfile.is_tarfile(out)
    assert tl.note.startswith(f"step-2 exported to {out}")

    tl.remove("step-1").result(WAIT)
    assert wait_until(lambda: names(tl) == ["step-2", "step-3"], WAIT), tl.steps
    assert tl.current == ""  # the step it was at is gone
    ctr.remove_snapshot("step-3")  # elsewhere
    assert wait_until(lambda: names(tl) == ["step-2"], WAIT), tl.steps


def test_filesystem_only_snapshot_shows_crius_reason(rt: Runtime, door: Door) -> None:
    ctr = rt.create_container(DEMO, TCP_COUNTER, name="wtl2")
    ctr.start()
    assert wait_until(lambda: " 01 " in run(ctr, "cat /proc/net/tcp")[1], 10)
    tl = Timeline(ctr, door=door)
    snap = tl.snapshot("tcp").result(WAIT)
    assert snap.kind == "filesystem"
    assert wait_until(lambda: names(tl) == ["tcp"], WAIT)
    step = tl.step("tcp")
    assert step is not None and (step["kind"], step["label"]) == ("filesystem", "filesystem only")
    assert "Connected TCP socket" in step["reason"] and step["reason"] == snap.reason
    assert tl.note == "tcp: filesystem only snapshot taken"
    # a stopped container: filesystem only, "the container was not running"
    ctr.stop(timeout=0)
    assert wait_until(lambda: tl.state in ("exited", "stopped"), WAIT), tl.state
    tl.snapshot("stopped").result(WAIT)
    assert wait_until(lambda: names(tl) == ["tcp", "stopped"], WAIT)
    assert tl.step("stopped")["reason"] == "the container was not running"  # type: ignore[index]


def test_errors_are_shown_in_the_widget(rt: Runtime, door: Door) -> None:
    rt.create_container(DEMO, ["true"], name="wtl3")
    tl = Timeline("wtl3", door=door)
    with pytest.raises(CtrError) as err:
        tl.rewind("nope").result(WAIT)
    assert tl.error == f"rewind nope: {err.value}" and "nope" in tl.error
    assert tl.busy == ""
    with pytest.raises(CtrError):
        tl.snapshot("bad/name").result(WAIT)
    assert tl.error.startswith("snapshot bad/name: invalid step name")
    tl.snapshot("ok").result(WAIT)
    assert tl.error == ""  # a success clears it
    with pytest.raises(CtrError):
        tl.export("nope")
    assert tl.error.startswith("export nope: ")
    # the container goes: the widget says so, and refuses further clicks
    rt.remove_container(rt.lookup_container("wtl3"), force=True)
    assert wait_until(lambda: tl.removed, WAIT)
    assert tl.state == "removed" and tl.error == "container wtl3 was removed"
    with pytest.raises(CtrError):
        tl.snapshot("late").result(WAIT)
    # a container that does not exist: the error in place, no traceback
    missing = Timeline("no-such-ctr", door=door)
    assert missing.removed and "no-such-ctr" in missing.error


def test_policy_refusal_names_the_rule(rt: Runtime) -> None:
    rules = PolicyRules(max_snapshots=1, instructor_rules=["max_snapshots"])
    door = Door(rt, Principal.of_process(), policy=RulesPolicy(rules))
    try:
        rt.create_container(DEMO, ["true"], name="wtl4")
        tl = Timeline("wtl4", door=door)
        tl.snapshot("one").result(WAIT)
        with pytest.raises(CtrError):
            tl.snapshot("two").result(WAIT)
        assert tl.error.startswith("snapshot two: refused by policy rule max_snapshots: "), \
            tl.error
        assert wait_until(lambda: names(tl) == ["one"], WAIT), tl.steps
    finally:
        close_feed(door)
