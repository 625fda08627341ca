"""What the widgets show, free of ipywidgets and threads so that it is tested on its own: the
actions a state allows (the Containers sidebar's table, labextension/src/model.ts), how an
engine event changes a row, and CPU shares from two stats samples."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from ..engine.events import Event
from ..engine.records import ContainerSnapshot

#: The buttons of a panel and a list row, in the order shown.
ACTIONS: tuple[str, ...] = ("start", "stop", "pause", "unpause", "checkpoint", "restore",
                            "remove")

#: Actions the engine accepts per API state (model.ts's BY_STATE: keep the two in step).
BY_STATE: Mapping[str, tuple[str, ...]] = {
    "created": ("start", "remove"),
    "configured": ("start", "remove"),
    "initialized": ("start", "remove"),
    "running": ("stop", "pause", "restart", "kill", "checkpoint", "remove"),
    "paused": ("stop", "unpause", "kill", "remove"),
    "stopping": ("kill",),
    "stopped": ("start", "restart", "restore", "remove"),
    "exited": ("start", "restart", "restore", "remove"),
    "removing": (),
    "unknown": ("remove",),
}

#: The state an event leaves its container in (model.ts's STATE_AFTER).
STATE_AFTER: Mapping[str, str] = {
    "init": "initialized", "start": "running", "restart": "running", "restore": "running",
    "unpause": "running", "pause": "paused", "died": "exited",
}

#: Events after which only a fresh reading tells the truth: a checkpoint may have left the
#: container running, and whether a checkpoint is left to restore depends on its options.
REREAD_AFTER = frozenset({"checkpoint", "restore"})

#: Shown in place of a container that no longer exists.
REMOVED = "removed"


def allowed_actions(state: str, restorable: bool = False,
                    actions: Iterable[str] = ACTIONS) -> list[str]:
    """The ``actions`` the engine accepts in API state ``state`` (an unknown name allows only
    remove; ``removed`` none); restore only where a checkpoint waits (``restorable``)."""
    if state == REMOVED:
        return []
    allowed = BY_STATE.get(state, BY_STATE["unknown"])
    return [a for a in actions if a in allowed and (a != "restore" or restorable)]


def row_of(snap: ContainerSnapshot) -> dict[str, Any]:
    """A container as the widgets show it (JSON: it is synced to the browser)."""
    state = snap.status
    return {
        "id": snap.id, "name": snap.name, "image": snap.config.image, "state": state,
        "restorable": snap.restorable, "exit_code": snap.exit_code,
        "started_at": snap.record.started_at / 1e9 if snap.record.started_at else 0,
        "actions": allowed_actions(state, snap.restorable),
    }


def removed_row(ctr_id: str, name: str, image: str = "") -> dict[str, Any]:
    """What a widget shows for a container that is gone."""
    return {"id": ctr_id, "name": name, "image": image, "state": REMOVED, "restorable": False,
            "exit_code": 0, "started_at": 0, "actions": []}


class EventEffect:
    """What an event did to a row: ``changed`` (repaint), ``reread`` (take a fresh reading),
    ``removed`` (the container is gone), ``unknown`` (a container the row set lacks)."""

    __slots__ = ("changed", "reread", "removed", "unknown")

    def __init__(self, changed: bool = False, reread: bool = False, removed: bool = False,
                 unknown: bool = False) -> None:
        self.changed, self.reread, self.removed, self.unknown = changed, reread, removed, unknown

    def __repr__(self) -> str:
        flags = [k for k in self.__slots__ if getattr(self, k)]
        return f"EventEffect({', '.join(flags) or 'none'})"


def apply_event(row: dict[str, Any] | None, ev: Event) -> EventEffect:
    """Apply a container event to ``row`` (changed in place; None when the caller has no row
    for the event's container). Only container events count."""
    if ev.type != "container":
        return EventEffect()
    if row is None:
        return EventEffect(unknown=ev.action != "remove")
    if ev.action == "remove":
        row.update(removed_row(row["id"], row["name"], row.get("image", "")))
        return EventEffect(changed=True, removed=True)
    reread = ev.action in REREAD_AFTER
    state = STATE_AFTER.get(ev.action)
    if state is None:
        return EventEffect(reread=reread)
    row["state"] = state
    if ev.action in ("start", "restart", "restore"):
        row["started_at"] = ev.time_ns / 1e9
    if ev.action == "died":
        code = ev.attributes.get("exitCode", "")
        if code.lstrip("-").isdigit():
            row["exit_code"] = int(code)
    if ev.action == "restore":
        row["restorable"] = False
    row["actions"] = allowed_actions(state, bool(row.get("restorable")))
    return EventEffect(changed=True, reread=reread)


def cpu_percent(prev: Mapping[str, Any] | None, cur: Mapping[str, Any]) -> float:
    """CPU use between two stats samples (``Container.stats()``), 100 = one core busy."""
    if prev is None:
        return 0.0
    d_cpu = int(cur["cpu_ns"]) - int(prev["cpu_ns"])
    d_time = int(cur["time_ns"]) - int(prev["time_ns"])
    if d_time <= 0 or d_cpu < 0:
        return 0.0
    return min(d_cpu / d_time * 100, 100.0 * (os.cpu_count() or 1))
