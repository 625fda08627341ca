"""StatsPlot: live CPU and memory of one or more containers, drawn by the view (SVG) from the
recent samples the kernel's feed reads once a second while the plot is displayed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from traitlets import Int, List, Unicode

from ..engine.container import Container
from ..engine.errors import CtrError
from ..engine.events import Event
from ..service.door import Door
from .base import EngineWidget
from .state import REMOVED, STATE_AFTER

#: Samples kept per container (one a second).
HISTORY = 120


class StatsPlot(EngineWidget):
    """CPU (%, 100 = one core) and memory over the last ``history`` seconds of each container
    in ``containers`` (a name, a Container, or several). A container that stops keeps its
    curve; one that is removed is marked so."""

    _model_name = Unicode("StatsPlotModel").tag(sync=True)
    _view_name = Unicode("StatsPlotView").tag(sync=True)

    series: List[dict[str, Any]] = List(
        help="Per container: {id, name, state, t: [unix s], cpu: [%], memory: [bytes], limit}",
    ).tag(sync=True)
    history = Int(HISTORY).tag(sync=True)
    height = Int(220, help="Height of the plot in pixels").tag(sync=True)

    def __init__(self, containers: str | Container | Iterable[str | Container], *,
                 history: int = HISTORY, door: Door | None = None, **kwargs: Any) -> None:
        super().__init__(door=door, history=history, **kwargs)
        refs = [containers] if isinstance(containers, (str, Container)) else list(containers)
        series, errors = [], []
        for ref in refs:
            try:
                snap = self.door.container(ref, "stats").observe()
            except CtrError as exc:
                errors.append(str(exc))
                continue
            series.append({"id": snap.id, "name": snap.name, "state": snap.status,
                           "t": [], "cpu": [], "memory": [], "limit": 0})
        self.series = series
        self.error = "; ".join(errors)

    def sampled_ids(self) -> list[str]:
        # a stopped one costs a refused reading: its state may change without a plot event
        return [s["id"] for s in self.series if s["state"] != REMOVED]

    def on_event(self, ev: Event) -> None:
        if ev.type != "container" or all(s["id"] != ev.id for s in self.series):
            return
        state = REMOVED if ev.action == "remove" else STATE_AFTER.get(ev.action)
        if ev.action == "checkpoint":  # exited, or running with --leave-running
            self.feed.submit(lambda: self._reread(ev.id))
        if state is None:
            return
        self._set_state(ev.id, state)

    def _reread(self, ctr_id: str) -> None:
        try:
            state = self.door.container(ctr_id, "stats").observe().status
        except CtrError:
            return
        self._set_state(ctr_id, state)

    def _set_state(self, ctr_id: str, state: str) -> None:
        with self.state_lock:
            self.series = [{**s, "state": state} if s["id"] == ctr_id else s
                           for s in self.series]

    def on_tick(self, samples: dict[str, dict[str, Any]]) -> None:
        if not samples:
            return
        keep = max(2, self.history)
        with self.state_lock:
            out = []
            for s in self.series:
                got = samples.get(s["id"])
                if got is not None:
                    s = {**s,
                         "t": [*s["t"], got["time_ns"] / 1e9][-keep:],
                         "cpu": [*s["cpu"], round(float(got["cpu"]), 2)][-keep:],
                         "memory": [*s["memory"], int(got["memory_bytes"])][-keep:],
                         "limit": int(got.get("memory_limit") or 0)}
                out.append(s)
            self.series = out
