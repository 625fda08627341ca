"""ContainerPanel and ContainerList: a container's (or every container's) state badge and the
buttons its state allows, kept live from the engine's events; the panel adds CPU and memory
sparklines and the last log lines, read once a second while it is displayed."""

from __future__ import annotations

import contextlib
from concurrent.futures import Future
from typing import Any

from traitlets import Bool, Dict, Float, Int, List, Unicode

from ..engine.container import Container
from ..engine.errors import CtrError
from ..engine.events import Event
from ..service.door import Door
from .base import EngineWidget
from .state import ACTIONS, REMOVED, allowed_actions, apply_event, removed_row, row_of

#: ContainerPanel keeps this many samples (one a second) for its sparklines.
HISTORY = 60


def act(door: Door, ref: str | Container, action: str) -> None:
    """Run one of the buttons' actions (state.ACTIONS) through ``door``. Remove is forced
    with no stop timeout, as the sidebar's (the view asks first)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}: use one of {', '.join(ACTIONS)}")
    if action == "remove":
        door.remove(ref, force=True, timeout=0)
        return
    ctr = door.container(ref, action)
    getattr(ctr, action)()


def _ref(container: str | Container) -> str:
    return container.id if isinstance(container, Container) else str(container)


class ContainerPanel(EngineWidget):
    """One container: name, image, live state badge, the buttons its state allows (start,
    stop, pause, unpause, checkpoint, restore, remove), CPU and memory sparklines and its
    last log lines. A failed action shows the engine's message; a removed container says so.

    ``ContainerPanel("web")`` or ``ContainerPanel(container)``; ``log_lines`` lines of log.
    """

    _model_name = Unicode("ContainerPanelModel").tag(sync=True)
    _view_name = Unicode("ContainerPanelView").tag(sync=True)

    container_id = Unicode("").tag(sync=True)
    name = Unicode("").tag(sync=True)
    image = Unicode("").tag(sync=True)
    state = Unicode("unknown", help="libpod's API status, or 'removed'").tag(sync=True)
    restorable = Bool(False).tag(sync=True)
    exit_code = Int(0).tag(sync=True)
    started_at = Float(0.0).tag(sync=True)
    actions = List(Unicode(), help="The actions the state allows now").tag(sync=True)
    busy = Unicode("", help="The action in flight").tag(sync=True)
    removed = Bool(False).tag(sync=True)
    cpu = List(Float(), help="CPU % samples, oldest first (100 = one core)").tag(sync=True)
    memory = List(Int(), help="Memory bytes samples, oldest first").tag(sync=True)
    memory_limit = Int(0).tag(sync=True)
    logs = List(Unicode(), help="The last log lines").tag(sync=True)
    log_lines = Int(8).tag(sync=True)

    def __init__(self, container: str | Container, *, log_lines: int = 8,
                 door: Door | None = None, **kwargs: Any) -> None:
        super().__init__(door=door, log_lines=log_lines, **kwargs)
        self._logs_stale = True
        try:
            ctr = self.door.container(container, "inspect")
            row = row_of(ctr.observe())
        except CtrError as exc:
            name = container.name if isinstance(container, Container) else str(container)
            self._set_row(removed_row(_ref(container) if isinstance(container, Container)
                                      else "", name))
            self.error = str(exc)
            return
        self._set_row(row)
        with contextlib.suppress(CtrError):
            self._read_logs()

    # -- rows -----------------------------------------------------------------------------
    def _row(self) -> dict[str, Any]:
        return {"id": self.container_id, "name": self.name, "image": self.image,
                "state": self.state, "restorable": self.restorable,
                "exit_code": self.exit_code, "started_at": self.started_at,
                "actions": list(self.actions)}

    def _set_row(self, row: dict[str, Any]) -> None:
        with self.hold_sync():
            self.container_id = row["id"]
            self.name = row["name"]
            self.image = row["image"]
            self.state = row["state"]
            self.restorable = bool(row["restorable"])
            self.exit_code = int(row["exit_code"])
            self.started_at = float(row["started_at"])
            self.actions = allowed_actions(row["state"], bool(row["restorable"]))
            if row["state"] == REMOVED:
                self.removed = True
                self.busy = ""
                self.error = self.error or f"container {row['name']} was removed"

    def reread(self) -> None:
        """A fresh reading of the container (after checkpoint and restore events, whose
        outcome depends on their options)."""
        try:
            row = row_of(self.door.container(self.container_id, "inspect").observe())
        except CtrError:
            return  # removed meanwhile: its remove event says so
        with self.state_lock:
            if not self.removed:
                self._set_row(row)

    # -- the feed -------------------------------------------------------------------------
    def on_event(self, ev: Event) -> None:
        if self.removed or ev.id != self.container_id:
            return
        with self.state_lock:
            row = self._row()
            effect = apply_event(row, ev)
            if effect.changed:
                self._set_row(row)
        if effect.removed:
            self.feed.want_ticks(self, False)
        if effect.reread:
            self.feed.submit(self.reread)
        if ev.action in ("died", "start", "restart", "restore"):
            self._logs_stale = True

    def sampled_ids(self) -> list[str]:
        if self.removed or self.state not in ("running", "paused"):
            return []
        return [self.container_id]

    def on_tick(self, samples: dict[str, dict[str, Any]]) -> None:
        sample = samples.get(self.container_id)
        with self.state_lock, self.hold_sync():
            if sample is not None:
                self.cpu = [*self.cpu, round(float(sample["cpu"]), 2)][-HISTORY:]
                self.memory = [*self.memory, int(sample["memory_bytes"])][-HISTORY:]
                self.memory_limit = int(sample.get("memory_limit") or 0)
        if sample is not None or self._logs_stale:
            with contextlib.suppress(CtrError):
                self._read_logs()

    def _read_logs(self) -> None:
        self._logs_stale = False
        if self.removed or self.log_lines <= 0:
            return
        ctr = self.door.container(self.container_id, "logs")
        lines = [line.text for line in ctr.logs(tail=self.log_lines)]
        if lines != self.logs:
            self.logs = lines

    # -- actions --------------------------------------------------------------------------
    def handle_action(self, content: dict[str, Any]) -> None:
        action = content.get("action")
        if isinstance(action, str):
            self.click(action)

    def click(self, action: str) -> Future[Any]:
        """What the button ``action`` does: run it in a worker thread. The state follows from
        the engine's events; a failure shows in ``error``. Returns the worker's Future."""
        if self.removed:
            self.error = f"container {self.name} was removed"
            failed: Future[Any] = Future()
            failed.set_exception(CtrError(self.error))
            return failed
        self.busy = action

        def done() -> None:
            self.busy = ""

        return self.run_in_worker(action, lambda: act(self.door, self.container_id, action),
                                  done)


class ContainerList(EngineWidget):
    """Every container (``all=False``: the running ones) in a table: name, image, state
    badge and the buttons each state allows, kept live from the engine's events."""

    _model_name = Unicode("ContainerListModel").tag(sync=True)
    _view_name = Unicode("ContainerListView").tag(sync=True)

    rows = List(Dict(), help="One dict per container (state.row_of), newest first").tag(
        sync=True)
    busy = Dict(Unicode(), help="Container id -> the action in flight").tag(sync=True)
    all = Bool(True).tag(sync=True)

    def __init__(self, *, all: bool = True, door: Door | None = None,  # noqa: A002 - ps -a
                 **kwargs: Any) -> None:
        super().__init__(door=door, all=all, **kwargs)
        self.reload()

    def reload(self) -> None:
        """Read the list (at start, and when an event names a container not in it)."""
        try:
            snaps = self.door.list_containers(all=self.all)
        except CtrError as exc:
            self.error = str(exc)
            return
        rows = [row_of(s) for s in snaps]
        with self.state_lock:
            self.rows = rows

    def row(self, ref: str) -> dict[str, Any] | None:
        """The row of the container named ``ref`` (name or id)."""
        for row in self.rows:
            if ref in (row["name"], row["id"]):
                return dict(row)
        return None

    def on_event(self, ev: Event) -> None:
        if ev.type != "container":
            return
        reload = False
        with self.state_lock:
            rows = [dict(r) for r in self.rows]
            row = next((r for r in rows if r["id"] == ev.id), None)
            effect = apply_event(row, ev)
            if effect.removed:
                rows = [r for r in rows if r["id"] != ev.id]
            if effect.changed and not self.all and row is not None \
                    and row["state"] not in ("running", "paused"):
                rows = [r for r in rows if r["id"] != ev.id]
            if effect.changed or effect.removed:
                self.rows = rows
            reload = effect.unknown or effect.reread
        if reload:
            self.feed.submit(self.reload)

    def handle_action(self, content: dict[str, Any]) -> None:
        action, ref = content.get("action"), content.get("id")
        if isinstance(action, str) and isinstance(ref, str):
            self.click(ref, action)

    def click(self, ref: str, action: str) -> Future[Any]:
        """The button ``action`` of the row of ``ref`` (name or id), in a worker thread."""
        self.busy = {**self.busy, ref: action}

        def done() -> None:
            with self.state_lock:
                self.busy = {k: v for k, v in self.busy.items() if k != ref}

        name = (self.row(ref) or {}).get("name", ref)
        return self.run_in_worker(f"{action} {name}", lambda: act(self.door, ref, action), done)
