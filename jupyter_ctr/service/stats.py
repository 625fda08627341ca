"""StatsSampler: one reader of every running container's cgroup numbers for the whole service.

Every stats client (libpod's stats of all or some containers, Docker's per-container stream,
the lab sidebar's poll) is fed from the sampler's readings instead of reading each container
itself: while any client streams, one task reads every running container once per
``interval`` in a worker thread (the running set from one state store query, each container
from a few ``openat`` reads: engine/cgroups.py UsageReader; no lock, no sync, no runtime
call). One-shot requests reuse a reading younger than ``fresh`` seconds, else read anew.
A client sees only what its Door lets it see (``Door.may``): the sampler reads everyone's.

A reading is the engine's stats dict (``Container.stats()``: id, name, cpu_ns,
memory_bytes, memory_limit, pids, time_ns) plus ``system_ns`` (the host's CPU time, for
Docker's and libpod's CPU deltas) and ``started_at`` (ns).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from ..engine.cgroups import UsageReader
from ..engine.errors import NoSuchContainerError
from ..engine.procinfo import host_cpu_ns

if TYPE_CHECKING:
    from ..engine import Runtime
    from ..engine.container import Container
    from .door import Door
    from .executors import Executors



class Reading(dict[str, Any]):
    """One container's numbers at one time (a dict: the models render it). ``memo`` keeps
    what was made of it for many clients at once (a rendered stats element by its
    baseline), so that N clients of one sweep cost one rendering."""

    __slots__ = ("memo",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.memo: dict[object, Any] = {}


#: (a reading, the one to take CPU deltas from: None when there is none)
Pair = tuple[Reading, Reading | None]

#: Seconds between two sweeps while a client streams (podman's and Docker's stream interval).
INTERVAL = 1.0
#: A reading younger than this serves a one-shot request as it is.
FRESH = 0.5
#: A previous reading older than this is no baseline for a one-shot's CPU share: the share
#: is then taken since the container started (podman's AvgCPU).
BASELINE_AGE = 10.0


class Sweep:
    """The readings of every running container at one time (``seq`` counts sweeps)."""

    __slots__ = ("monotonic", "readings", "seq")

    def __init__(self, seq: int, readings: dict[str, Reading]) -> None:
        self.seq = seq
        self.readings = readings
        self.monotonic = time.monotonic()


class StatsSampler:
    """The service's one stats reader (see the module docstring)."""

    def __init__(self, runtime: Runtime, pools: Executors, *, interval: float = INTERVAL,
                 fresh: float = FRESH, baseline_age: float = BASELINE_AGE) -> None:
        self.runtime = runtime
        self.pools = pools
        self.interval = interval
        self.fresh = fresh
        self.baseline_age = baseline_age
        self.reader = UsageReader(runtime.config.cgroup_parent)
        #: Container id -> its latest reading, and the one before it (CPU baselines).
        self.latest: dict[str, Reading] = {}
        self.previous: dict[str, Reading] = {}
        #: Container id -> a handle for the policy's checks (running containers only).
        self.handles: dict[str, Container] = {}
        #: Counters: containers read (cgroup readings taken) and sweeps of all.
        self.readings_taken = 0
        self.sweeps = 0
        self._lock = threading.Lock()
        self._ncpu = os.cpu_count() or 1
        self._subscribers = 0
        self._task: asyncio.Task[None] | None = None
        self._sweep: Sweep | None = None
        self._next: asyncio.Future[Sweep] | None = None

    # -- reading (worker threads) -----------------------------------------------------------
    def read(self, ids: Sequence[str] | None = None,
             fresh: float | None = None) -> dict[str, Reading]:
        """The running containers' readings (those of ``ids`` only, when given), each read
        now unless its latest is younger than ``fresh`` (default: the sampler's; a sweep
        passes 0). A container whose cgroup is gone (stopped meanwhile) or that is not
        running is left out. One state store query, a few file reads per container."""
        fresh = self.fresh if fresh is None else fresh
        with self._lock:
            self.reader.revalidate()
            running = self.runtime.store.running_containers()
            if ids is not None:
                wanted = set(ids)
                running = [row for row in running if row[0] in wanted]
            else:
                for gone in self.latest.keys() - {row[0] for row in running}:
                    self._forget(gone)
            now = time.time_ns()
            system = host_cpu_ns()
            oldest = now - int(fresh * 1e9)
            # the previous reading (a CPU baseline) moves on only once the latest is at
            # least ``fresh`` old: a sweep right after a one-shot keeps a useful baseline
            shift_before = now - int(self.fresh * 1e9)
            out: dict[str, Reading] = {}
            for ctr_id, name, started_at in running:
                last = self.latest.get(ctr_id)
                if last is not None and last["started_at"] != started_at:  # a new run
                    self._forget(ctr_id)
                    last = None
                if last is not None and last["time_ns"] >= oldest and last["name"] == name:
                    out[ctr_id] = last
                    continue
                usage = self.reader.read(ctr_id)
                self.readings_taken += 1
                if usage is None:
                    self._forget(ctr_id)
                    continue
                reading = Reading(id=ctr_id, name=name, cpu_ns=usage.cpu_ns,
                                  memory_bytes=usage.memory_bytes,
                                  memory_limit=usage.memory_limit, pids=usage.pids,
                                  time_ns=now, system_ns=system, started_at=started_at)
                if last is not None and last["time_ns"] <= shift_before:
                    self.previous[ctr_id] = last
                self.latest[ctr_id] = out[ctr_id] = reading
            self._add_handles(out)
            return out

    def _forget(self, ctr_id: str) -> None:
        self.latest.pop(ctr_id, None)
        self.previous.pop(ctr_id, None)
        self.handles.pop(ctr_id, None)

    def _add_handles(self, readings: dict[str, Reading]) -> None:
        new = [i for i in readings if i not in self.handles]
        if len(new) > 8:  # many at once (the first sweep): one query for all
            handles = {c.id: c for c in self.runtime.container_handles()}
            for ctr_id in new:
                if ctr_id in handles:
                    self.handles[ctr_id] = handles[ctr_id]
            return
        for ctr_id in new:
            with contextlib.suppress(NoSuchContainerError):
                self.handles[ctr_id] = self.runtime.lookup_container(ctr_id)

    def baseline(self, reading: Reading) -> Reading | None:
        """What a one-shot reading's CPU share is taken from: the container's previous
        reading when it is recent, else a reading of zero at its start (the share since it
        started); None when its start is unknown."""
        prev = self.previous.get(reading["id"])
        if prev is not None and prev is not reading and \
                reading["time_ns"] - prev["time_ns"] <= self.baseline_age * 1e9:
            return prev
        started = int(reading.get("started_at") or 0)
        if not started or started >= reading["time_ns"]:
            return None
        ran = reading["time_ns"] - started
        return Reading(reading, cpu_ns=0, time_ns=started,
                       system_ns=max(0, int(reading["system_ns"]) - ran * self._ncpu))

    def visible(self, door: Door, readings: dict[str, Reading]) -> dict[str, Reading]:
        """The readings of the containers ``door``'s caller may read stats of."""
        out = {}
        for ctr_id, reading in readings.items():
            handle = self.handles.get(ctr_id)
            if handle is not None and door.may("stats", handle):
                out[ctr_id] = reading
        return out

    # -- the sampling task (event loop) ---------------------------------------------------
    @contextlib.asynccontextmanager
    async def subscription(self) -> AsyncIterator[Subscription]:
        """A stream's membership: the sampler runs while there is one."""
        self._subscribers += 1
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())
        try:
            yield Subscription(self)
        finally:
            self._subscribers -= 1

    @property
    def running(self) -> bool:
        """Whether the sampling task runs (some client streams)."""
        return self._task is not None

    async def next_sweep(self, after: int) -> Sweep:
        """The first sweep with ``seq > after`` (the latest one when it already is)."""
        sweep = self._sweep
        if sweep is not None and sweep.seq > after:
            return sweep
        if self._task is None:  # ended after an error: a stream asking again restarts it
            self._task = asyncio.get_running_loop().create_task(self._run())
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        return await asyncio.shield(self._next)

    async def _run(self) -> None:
        try:
            while self._subscribers:
                started = time.monotonic()
                try:
                    readings = await self.pools.run(self.read, None, 0.0)
                except Exception as exc:  # noqa: BLE001 - the streams end with the error
                    self.pools.log.warning("stats sampler: %s", exc)
                    waiting, self._next = self._next, None
                    if waiting is not None and not waiting.done():
                        waiting.set_exception(exc)
                    return
                self.sweeps += 1
                self._sweep = sweep = Sweep(self.sweeps, readings)
                waiting, self._next = self._next, None
                if waiting is not None and not waiting.done():
                    waiting.set_result(sweep)
                await asyncio.sleep(max(0.0, self.interval - (time.monotonic() - started)))
        finally:
            self._task = None

    def close(self) -> None:
        if self._task is not None:
            with contextlib.suppress(RuntimeError):  # its loop is closed already
                self._task.cancel()
        with self._lock:
            self.reader.close()


class Subscription:
    """One stream's view of the sampler's sweeps."""

    def __init__(self, sampler: StatsSampler) -> None:
        self.sampler = sampler
        self.seen = 0

    async def next(self) -> Sweep:
        """The next sweep this stream has not had (the latest: a slow client skips)."""
        sweep = await self.sampler.next_sweep(self.seen)
        self.seen = sweep.seq
        return sweep

