"""Timeline: a container's checkpoint timeline in a cell (engine/container_timeline.py): its
snapshots as steps (name, time, size, kind; a filesystem-only one with CRIU's reason), the
current position (the step last rewound to or snapshotted), and the buttons Snapshot, Rewind
to, Export and Remove. It follows the engine's events, so a snapshot taken from the CLI or
another cell shows at once. The methods mirror the buttons for notebooks:
``tl.snapshot("step-2")``, ``tl.rewind("step-1")``, ``tl.export("step-1", "hand-in.tar.gz")``.

Export in the view is a browser download of the REST route
``GET /ctr/api/containers/{name}/snapshots/{step}/export`` (the lab server's, which relays to
the service in remote mode); ``export`` here writes the file through the kernel's door.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable
from concurrent.futures import Future
from typing import Any

from traitlets import Bool, Dict, List, Unicode

from ..engine.container import Container
from ..engine.errors import CtrError
from ..engine.events import Event
from ..engine.records import Snapshot
from ..service.door import Door
from .base import EngineWidget
from .state import REMOVED, STATE_AFTER

#: The container events that change a timeline (engine/container_timeline.py records them
#: with the attribute ``step``).
TIMELINE_EVENTS = frozenset({"snapshot", "rewind", "snapshot_remove"})
#: Events after which the step they name is the current position.
POSITION_EVENTS = frozenset({"snapshot", "rewind"})
#: What the view shows for each kind.
KIND_LABELS = {"checkpoint": "checkpoint", "filesystem": "filesystem only"}


def step_of(snap: Snapshot) -> dict[str, Any]:
    """A snapshot as the view shows it (JSON: it is synced to the browser); ``created`` in
    seconds since the epoch."""
    return {"name": snap.name, "kind": snap.kind, "label": KIND_LABELS.get(snap.kind, snap.kind),
            "created": snap.created / 1e9, "size": snap.size, "reason": snap.reason}


def position_after(current: str, ev: Event) -> str:
    """The current step once ``ev`` (an event of the timeline's container) happened: the step
    a snapshot or rewind names; none once that step is removed."""
    step = ev.attributes.get("step", "")
    if ev.action in POSITION_EVENTS and step:
        return step
    if ev.action == "snapshot_remove" and step == current:
        return ""
    return current


def position_from(events: Iterable[Event], steps: Iterable[str]) -> str:
    """The current step from a container's past events (oldest first): the last snapshot or
    rewind, if its step is still there; else the newest step."""
    current = ""
    for ev in events:
        current = position_after(current, ev)
    names = list(steps)
    return current if current in names else (names[-1] if names else "")


def next_step(steps: Iterable[str]) -> str:
    """A name for the next snapshot: ``step-N`` past the highest ``step-<number>`` taken."""
    top = 0
    for name in steps:
        head, _, tail = name.rpartition("-")
        if head == "step" and tail.isdigit():
            top = max(top, int(tail))
    return f"step-{top + 1}"


class Timeline(EngineWidget):
    """The checkpoint timeline of ``container`` (a name, an id, or a Container): its
    snapshots oldest first, the current step, and the buttons Snapshot (a step name), Rewind
    to, Export and Remove. A failed action (a policy refusal naming its rule, CRIU's failure
    to restore) shows its message in the widget; ``busy`` says what runs."""

    _model_name = Unicode("TimelineModel").tag(sync=True)
    _view_name = Unicode("TimelineView").tag(sync=True)

    container = Unicode("", help="The container's name").tag(sync=True)
    container_id = Unicode("").tag(sync=True)
    state = Unicode("unknown", help="libpod's API status, or 'removed'").tag(sync=True)
    steps = List(Dict(), help="The snapshots, oldest first (step_of)").tag(sync=True)
    current = Unicode("", help="The step last rewound to or snapshotted").tag(sync=True)
    suggested = Unicode("step-1", help="The Snapshot box's proposed name").tag(sync=True)
    busy = Unicode("", help="The action in flight ('rewind step-1')").tag(sync=True)
    note = Unicode("", help="The last action's outcome").tag(sync=True)
    removed = Bool(False).tag(sync=True)

    def __init__(self, container: str | Container, *, door: Door | None = None,
                 **kwargs: Any) -> None:
        super().__init__(door=door, **kwargs)
        try:
            ctr = self.door.container(container, "inspect")
            self.container, self.container_id = ctr.name, ctr.id
            self.state = ctr.observe().status
        except CtrError as exc:
            self.container = container.name if isinstance(container, Container) \
                else str(container)
            self.state, self.removed, self.error = REMOVED, True, str(exc)
            return
        try:
            self.reload(initial=True)
        except CtrError as exc:
            self.error = str(exc)

    # -- reading ----------------------------------------------------------------------------
    def reload(self, initial: bool = False) -> None:
        """Read the snapshots again (after a timeline event); at first also the current
        position, from the container's past events."""
        snaps = self.door.snapshots(self.container_id)
        current = self.current
        if initial and snaps:
            since = snaps[0].created / 1e9 - 1
            events = self.door.events(since=since, until=time.time(), filters={
                "container": [self.container_id], "event": sorted(POSITION_EVENTS)})
            current = position_from(events, [s.name for s in snaps])
        with self.state_lock, self.hold_sync():
            if self.removed:
                return
            self.steps = [step_of(s) for s in snaps]
            names = [s.name for s in snaps]
            self.current = current if current in names else ""
            self.suggested = next_step(names)

    def step(self, name: str) -> dict[str, Any] | None:
        """The step ``name`` as shown (a copy), or None."""
        for s in self.steps:
            if s["name"] == name:
                return dict(s)
        return None

    # -- the feed ---------------------------------------------------------------------------
    def on_event(self, ev: Event) -> None:
        if self.removed or ev.type != "container" or ev.id != self.container_id:
            return
        with self.state_lock:
            if ev.action == "remove":
                self.removed, self.state, self.busy = True, REMOVED, ""
                self.error = f"container {self.container} was removed"
                return
            if ev.action in STATE_AFTER:
                self.state = STATE_AFTER[ev.action]
            if ev.action in TIMELINE_EVENTS:
                self.current = position_after(self.current, ev)
        if ev.action in TIMELINE_EVENTS:
            self.feed.submit(self._reread)
        elif ev.action in ("checkpoint", "restore", "stop", "init"):
            self.feed.submit(self._reread_state)

    def _reread(self) -> None:
        with contextlib.suppress(CtrError):  # removed meanwhile: its remove event says so
            self.reload()

    def _reread_state(self) -> None:
        with contextlib.suppress(CtrError):
            state = self.door.container(self.container_id, "inspect").observe().status
            with self.state_lock:
                if not self.removed:
                    self.state = state

    # -- actions: the buttons and their Python twins ----------------------------------------
    def handle_action(self, content: dict[str, Any]) -> None:
        action, step = content.get("action"), content.get("step")
        if not isinstance(step, str):
            return
        if action == "snapshot":
            self.snapshot(step)
        elif action == "rewind":
            self.rewind(step)
        elif action == "remove":
            self.remove(step)

    def snapshot(self, step: str | None = None, *, replace: bool = False) -> Future[Any]:
        """Take a snapshot named ``step`` (default: the suggested ``step-N``) in a worker
        thread; returns its Future (``.result()`` is the Snapshot)."""
        name = step or self.suggested
        return self._act(f"snapshot {name}",
                         lambda: self.door.snapshot(self.container_id, name, replace),
                         lambda snap: f"{name}: {KIND_LABELS.get(snap.kind, snap.kind)}"
                                      f" snapshot taken")

    def rewind(self, step: str) -> Future[Any]:
        """Rewind the container to ``step`` (in a worker thread; its Future)."""
        return self._act(f"rewind {step}", lambda: self.door.rewind(self.container_id, step),
                         lambda _: f"rewound to {step}")

    def remove(self, step: str) -> Future[Any]:
        """Delete the snapshot ``step`` (in a worker thread; its Future)."""
        return self._act(f"remove {step}",
                         lambda: self.door.remove_snapshot(self.container_id, step),
                         lambda _: f"{step} removed")

    def export(self, step: str, path: str | os.PathLike[str] | None = None) -> str:
        """Write the snapshot ``step`` as a hand-in archive at ``path`` (default
        ``<container>-<step>.tar.gz`` in the kernel's working directory), through the
        kernel's door (the service's in remote mode); returns the path. Blocks: the file is
        there when it returns. A failure shows in the widget too, and is raised."""
        dest = os.fspath(path) if path is not None else f"{self.container}-{step}.tar.gz"
        try:
            size = self.door.export_snapshot(self.container_id, step, dest)
        except CtrError as exc:
            self.error = f"export {step}: {exc}"
            raise
        self.error = ""
        self.note = f"{step} exported to {dest} ({size} bytes)"
        return dest

    def _act(self, what: str, fn: Any, note: Any) -> Future[Any]:
        if self.removed:
            self.error = f"container {self.container} was removed"
            failed: Future[Any] = Future()
            failed.set_exception(CtrError(self.error))
            return failed
        self.busy, self.note = what, ""

        def run() -> Any:
            result = fn()
            self.note = note(result)
            return result

        def done() -> None:
            self.busy = ""

        return self.run_in_worker(what, run, done)
