"""The kernel's one feed for all widgets on a door: a thread following the engine's events
(started with the first widget) and a sampler thread reading stats and log tails once a
second, alive only while some widget is displayed and wants them. Actions run in a small
worker pool so that a click never blocks the feed or the kernel.

Listeners are held weakly: a widget that is garbage collected stops getting calls.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from ..engine.errors import CtrError
from ..engine.events import Event
from ..service.door import Door
from .state import cpu_percent

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Seconds between stats samples (and log tail reads).
INTERVAL = 1.0


class Listener(Protocol):
    def on_event(self, ev: Event) -> None: ...

    def sampled_ids(self) -> list[str]: ...

    def on_tick(self, samples: dict[str, dict[str, Any]]) -> None: ...


class EngineFeed:
    """Events, samples and actions for the widgets of one door."""

    def __init__(self, door: Door, interval: float = INTERVAL) -> None:
        self.door = door
        self.interval = interval
        self._listeners: weakref.WeakSet[Any] = weakref.WeakSet()
        self._sampling: weakref.WeakSet[Any] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._events: threading.Thread | None = None
        self._since = 0.0
        self._sampler: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ctr-widget-act")
        # the last raw stats sample per container id, for CPU deltas
        self._prev: dict[str, dict[str, Any]] = {}

    # -- listeners ------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        """``listener.on_event(ev)`` for every engine event from now on (in the feed's
        thread: keep it short, hand slow work to ``submit``)."""
        with self._lock:
            self._listeners.add(listener)
            if self._events is None and not self._stop.is_set():
                # From now, read here: the thread may start following only after the
                # listener's first reading and an event that came meanwhile.
                self._since = time.time()
                self._events = threading.Thread(target=self._follow, name="ctr-widget-events",
                                                daemon=True)
                self._events.start()

    def unsubscribe(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.discard(listener)
            self._sampling.discard(listener)

    def want_ticks(self, listener: Listener, on: bool) -> None:
        """Every interval while ``on`` (a view is displayed): the containers of
        ``listener.sampled_ids()`` are sampled (each once, whoever wants it) and
        ``listener.on_tick(samples)`` gets the readings by id (running ones only)."""
        with self._lock:
            if on:
                self._sampling.add(listener)
                if self._sampler is None and not self._stop.is_set():
                    self._sampler = threading.Thread(target=self._sample_loop,
                                                     name="ctr-widget-stats", daemon=True)
                    self._sampler.start()
                self._wake.set()
            else:
                self._sampling.discard(listener)

    @property
    def sampling(self) -> bool:
        """Whether some listener wants ticks now."""
        with self._lock:
            return len(self._sampling) > 0

    # -- work -----------------------------------------------------------------------------
    def submit(self, fn: Callable[[], T]) -> Future[T]:
        """Run ``fn`` in the worker pool (a button's action, a re-read)."""
        return self._pool.submit(fn)

    def sample(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """One stats reading of each of ``ids`` that runs, by ID, with ``cpu`` (percent since
        this feed's previous reading of the same container): one ``Door.stats`` call, no
        container locked (over the service: one request), whatever their number."""
        try:
            raws = self.door.stats(ids) if ids else {}
        except CtrError:
            log.exception("jupyter_ctr widgets: reading stats failed")
            raws = {}
        out = {}
        for ctr_id, raw in raws.items():
            prev = self._prev.get(ctr_id)
            self._prev[ctr_id] = raw
            out[ctr_id] = {**raw, "cpu": cpu_percent(prev, raw)}
        for gone in set(self._prev) - set(raws):
            del self._prev[gone]
        return out

    def close(self) -> None:
        """Stop both threads and the pool (waits for running actions)."""
        self._stop.set()
        self._wake.set()
        for thread in (self._events, self._sampler):
            if thread is not None:
                thread.join(10)
        self._pool.shutdown(wait=True)

    # -- threads --------------------------------------------------------------------------
    def _follow(self) -> None:
        while not self._stop.is_set():
            try:
                for ev in self.door.events(since=self._since, follow=True, stop=self._stop):
                    self._since = ev.time_ns / 1e9  # a re-follow after a failure goes on here
                    for listener in list(self._listeners):
                        try:
                            listener.on_event(ev)
                        except Exception:  # noqa: BLE001 - one widget must not stop the feed
                            log.exception("jupyter_ctr widget: event handler failed")
            except Exception:  # noqa: BLE001 - the store may be busy: follow again
                log.exception("jupyter_ctr widgets: following events failed")
                self._stop.wait(1.0)

    def _sample_loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                listeners = list(self._sampling)
            if not listeners:
                self._wake.wait(self.interval)
                self._wake.clear()
                continue
            wanted: dict[str, None] = {}
            for listener in listeners:
                try:
                    wanted.update(dict.fromkeys(listener.sampled_ids()))
                except Exception:  # noqa: BLE001 - one widget must not stop the others
                    log.exception("jupyter_ctr widget: sampled_ids failed")
            samples = self.sample(list(wanted))
            for listener in listeners:
                try:
                    listener.on_tick(samples)
                except Exception:  # noqa: BLE001 - one widget must not stop the others
                    log.exception("jupyter_ctr widget: tick failed")
            self._stop.wait(self.interval)


_feeds: weakref.WeakKeyDictionary[Door, EngineFeed] = weakref.WeakKeyDictionary()
_feeds_lock = threading.Lock()


def feed_for(door: Door) -> EngineFeed:
    """The one feed of ``door`` (made on first use)."""
    with _feeds_lock:
        feed = _feeds.get(door)
        if feed is None:
            feed = _feeds[door] = EngineFeed(door)
        return feed


def close_feed(door: Door) -> None:
    """Stop ``door``'s feed, if it has one (tests; a kernel just exits)."""
    with _feeds_lock:
        feed = _feeds.pop(door, None)
    if feed is not None:
        feed.close()
