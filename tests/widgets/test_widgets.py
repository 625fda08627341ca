"""The widgets' Python side on real containers of the demo image, without a browser: state
from the engine's events, button clicks run in worker threads, errors shown in place, removed
containers, stats and logs read only while a view is displayed (``_view_count``, which the
front end keeps)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from jupyter_ctr.engine import Runtime
from jupyter_ctr.engine.errors import CtrError
from jupyter_ctr.service.door import Door
from jupyter_ctr.service.principal import Principal
from jupyter_ctr.widgets import ContainerList, ContainerPanel, StatsPlot, Terminal
from jupyter_ctr.widgets.feed import close_feed, feed_for

from ..conftest import DEMO, wait_until

WAIT = 30.0  # seconds: the machine is shared; nothing here measures time


@pytest.fixture
def door(rt: Runtime) -> Iterator[Door]:
    d = Door(rt, Principal.of_process())
    yield d
    close_feed(d)  # before rt's teardown removes the containers and closes the store


def running(rt: Runtime, name: str, cmd: list[str] | None = None):  # type: ignore[no-untyped-def]
    ctr = rt.create_container(DEMO, cmd or ["sh", "-c", "echo hello-$HOSTNAME; sleep 1000"],
                              name=name)
    ctr.start()
    return ctr


def test_panel_follows_events_and_clicks(rt: Runtime, door: Door) -> None:
    ctr = running(rt, "wp1")
    panel = ContainerPanel("wp1", door=door)
    assert (panel.name, panel.image, panel.state) == ("wp1", DEMO, "running")
    assert panel.actions == ["stop", "pause", "checkpoint", "remove"]
    assert panel.container_id == ctr.id

    panel.click("pause").result(WAIT)
    assert wait_until(lambda: panel.state == "paused", WAIT), panel.state
    assert panel.actions == ["stop", "unpause", "remove"]
    assert panel.error == "" and panel.busy == ""

    # a change made elsewhere (here the engine itself, as the CLI would) shows too
    ctr.unpause()
    assert wait_until(lambda: panel.state == "running", WAIT), panel.state

    ctr.stop(timeout=0)
    assert wait_until(lambda: panel.state == "exited", WAIT), panel.state
    assert panel.actions == ["start", "remove"]


def test_one_event_follower_for_all_widgets(rt: Runtime, door: Door) -> None:
    running(rt, "wp0")
    widgets = [ContainerPanel("wp0", door=door), ContainerPanel("wp0", door=door),
               ContainerList(door=door), StatsPlot("wp0", door=door)]
    assert {id(w.feed) for w in widgets} == {id(feed_for(door))}
    followers = [t for t in threading.enumerate() if t.name == "ctr-widget-events"]
    assert len(followers) == 1
    rt.lookup_container("wp0").pause()
    assert wait_until(lambda: all(w.state == "paused" for w in widgets[:2]), WAIT)


def test_panel_shows_the_engine_error_in_place(rt: Runtime, door: Door) -> None:
    rt.create_container(DEMO, ["true"], name="wp2")
    panel = ContainerPanel("wp2", door=door)
    assert panel.state == "created"
    with pytest.raises(CtrError) as err:
        panel.click("pause").result(WAIT)
    assert panel.error == f"pause: {err.value}"
    assert panel.busy == ""
    assert panel.state == "created"  # nothing happened
    with pytest.raises(ValueError):
        panel.click("explode").result(WAIT)
    assert panel.error.startswith("explode: unknown action")


def test_removed_container_says_so(rt: Runtime, door: Door) -> None:
    ctr = running(rt, "wp3")
    panel = ContainerPanel("wp3", door=door)
    tab = ContainerList(door=door)
    assert tab.row("wp3") is not None
    rt.remove_container(ctr, force=True, timeout=0)
    assert wait_until(lambda: panel.removed, WAIT)
    assert panel.state == "removed" and panel.actions == []
    assert panel.error == "container wp3 was removed"
    assert wait_until(lambda: tab.row("wp3") is None, WAIT)
    with pytest.raises(CtrError):
        panel.click("start").result(WAIT)

    gone = ContainerPanel("no-such-ctr", door=door)
    assert gone.removed and gone.actions == [] and "no-such-ctr" in gone.error


def test_stats_and_logs_only_while_displayed(rt: Runtime, door: Door) -> None:
    ctr = running(rt, "wp4")
    # the panel reads the log once when made (then on ticks while displayed): after the echo
    assert wait_until(lambda: [line.text for line in ctr.logs()], WAIT)
    panel = ContainerPanel("wp4", door=door)
    plot = StatsPlot(["wp4", "nope"], door=door)
    assert plot.error and [s["name"] for s in plot.series] == ["wp4"]
    feed = feed_for(door)
    assert panel.logs == [f"hello-{ctr.id[:12]}"]
    assert not feed.sampling and panel.cpu == []
    panel._view_count = 1  # what the front end does when a view is displayed
    plot._view_count = 1
    assert feed.sampling
    assert wait_until(lambda: len(panel.cpu) >= 2 and len(plot.series[0]["cpu"]) >= 2, WAIT)
    assert panel.memory[-1] > 0 and all(c >= 0 for c in panel.cpu)
    assert plot.series[0]["memory"][-1] > 0 and len(plot.series[0]["t"]) >= 2
    panel._view_count = 0
    plot._view_count = 0
    assert not feed.sampling
    ctr.pause()
    assert wait_until(lambda: plot.series[0]["state"] == "paused", WAIT)


def test_one_stats_call_a_tick_for_many_containers(rt: Runtime, door: Door,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    ctrs = [running(rt, f"wm{i}", ["sleep", "1000"]) for i in range(6)]
    calls: list[list[str]] = []
    real = door.stats  # the Door's, or the RemoteDoor's (one request) in the remote run

    def spy(ids: list[str] | None = None) -> dict[str, dict[str, object]]:
        calls.append(sorted(ids or []))
        return real(ids)

    monkeypatch.setattr(door, "stats", spy)
    plot = StatsPlot([c.name for c in ctrs], door=door)
    plot._view_count = 1
    assert wait_until(lambda: all(len(s["cpu"]) >= 2 for s in plot.series), WAIT)
    plot._view_count = 0
    # each tick read all six in one call (no container's lock, no request per container)
    assert calls and all(ids == sorted(c.id for c in ctrs) for ids in calls)
    assert all(s["memory"][-1] > 0 for s in plot.series)


def test_checkpoint_then_restore(rt: Runtime, door: Door) -> None:
    running(rt, "wp5")
    panel = ContainerPanel("wp5", door=door)
    panel.click("checkpoint").result(120)
    # the checkpoint event asks for a fresh reading: exited, with a checkpoint to restore
    assert wait_until(lambda: panel.state == "exited" and panel.restorable, WAIT), \
        (panel.state, panel.restorable)
    assert panel.actions == ["start", "restore", "remove"]
    panel.click("restore").result(120)
    assert wait_until(lambda: panel.state == "running" and not panel.restorable, WAIT)
    assert "restore" not in panel.actions


def test_list_follows_creates_actions_and_removes(rt: Runtime, door: Door) -> None:
    tab = ContainerList(door=door)
    names = {r["name"] for r in tab.rows}
    assert "wl1" not in names
    ctr = running(rt, "wl1")
    assert wait_until(lambda: (tab.row("wl1") or {}).get("state") == "running", WAIT)
    tab.click(ctr.id, "pause").result(WAIT)
    assert wait_until(lambda: tab.row("wl1")["state"] == "paused", WAIT)  # type: ignore[index]
    assert tab.row("wl1")["actions"] == ["stop", "unpause", "remove"]  # type: ignore[index]
    with pytest.raises(CtrError):
        tab.click(ctr.id, "pause").result(WAIT)
    assert tab.error.startswith("pause wl1: ")
    tab.click(ctr.id, "remove").result(WAIT)
    assert wait_until(lambda: tab.row("wl1") is None, WAIT)
    assert tab.busy == {}


def test_terminal_traits(rt: Runtime, door: Door) -> None:
    ctr = running(rt, "wt1")
    attach = Terminal("wt1", door=door)
    assert (attach.mode, attach.command, attach.container) == ("attach", [], "wt1")
    assert attach.container_id == ctr.id and attach.confirm
    shell = Terminal(ctr, "sh -c 'echo a b'", user="nobody", door=door)
    assert (shell.mode, shell.command, shell.user) == ("exec", ["sh", "-c", "echo a b"],
                                                       "nobody")
    missing = Terminal("no-such-ctr", ["sh"], door=door)
    assert missing.status == "error" and "no-such-ctr" in missing.message
    with pytest.raises(ValueError):
        Terminal(ctr, [], door=door)
    rt.remove_container(ctr, force=True, timeout=0)
    assert wait_until(lambda: shell.error == "container wt1 was removed", WAIT)
