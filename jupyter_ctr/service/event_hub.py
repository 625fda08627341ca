"""EventHub: one follower of the engine's events for the whole service, fanned out to every
subscriber (the events websocket, the streaming ``/events`` routes), however many.

One thread reads each new event from the store once: at once when this process recorded it
(the event log's listeners wake it), else at its next poll (the CLI, conmon's exit command
and the kernels write from other processes). The event loop then offers it to every
subscriber that sees it (its owner scope, its filters) through a bounded queue: a subscriber
whose queue is full is dropped (its ``on_drop`` closes its connection, with the reason),
never slowing the others or the follower. The follower runs while someone subscribes.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from ..engine.events import Event, check_filters, matches, visible_to

if TYPE_CHECKING:
    from ..engine.events import EventLog
    from .streams import ThreadFeed

#: Events a subscriber may have waiting before it is dropped as too slow.
QUEUE_SIZE = 1024
#: How often (seconds) the follower looks for events that other processes recorded.
POLL_INTERVAL = 0.01

log = logging.getLogger("jupyter_ctr.service")


class EventSubscription:
    """One subscriber's events, in order, each once: ``async for ev in sub``; what happened
    before it subscribed (from ``since``) first, when it asked for that (``history``). Ends
    when stopped (``stop``, or ``with sub:``) or dropped (``dropped`` says why, after
    ``on_drop`` was called with it)."""

    def __init__(self, hub: EventHub, owner: int | None,
                 filters: Mapping[str, Sequence[str]], maxsize: int) -> None:
        self.hub = hub
        self.owner = owner
        self.filters = {key: list(values) for key, values in filters.items() if values}
        self.maxsize = maxsize
        #: The newest event fanned out when it subscribed: newer ones come live.
        self.after = 0
        #: Why the hub dropped it ("" while it follows).
        self.dropped = ""
        #: Called once with the reason when the hub drops it (close the connection).
        self.on_drop: Callable[[str], None] | None = None
        self.history: ThreadFeed[Event] | None = None
        self._history_iter: ThreadFeed[Event] | None = None
        self._items: collections.deque[Event] = collections.deque()
        self._ready = asyncio.Event()
        self._stopped = False

    def wants(self, ev: Event) -> bool:
        return (self.owner is None or visible_to(ev, self.owner)) and \
            matches(ev, self.filters)

    def offer(self, ev: Event) -> bool:
        """Queue ``ev``; False when the queue is full (the hub drops this subscriber)."""
        if len(self._items) >= self.maxsize:
            return False
        self._items.append(ev)
        self._ready.set()
        return True

    def drop(self, reason: str) -> None:
        self.dropped = reason
        self.stop()
        if self.on_drop is not None:
            self.on_drop(reason)

    def stop(self) -> None:
        """Leave the hub (idempotent); the iteration ends."""
        if self._stopped:
            return
        self._stopped = True
        self.hub.unsubscribe(self)
        if self.history is not None:
            self.history.stop()
        self._items.clear()
        self._ready.set()

    def ready(self) -> bool:
        """True when more events are already waiting."""
        return bool(self._items) or (self.history is not None and self.history.ready())

    def __enter__(self) -> EventSubscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __aiter__(self) -> EventSubscription:
        if self.history is not None and self._history_iter is None:
            self._history_iter = self.history.__aiter__()
        return self

    async def __anext__(self) -> Event:
        if self._history_iter is not None:
            try:
                return await self._history_iter.__anext__()
            except StopAsyncIteration:
                self._history_iter = None
        while not self._items:
            if self._stopped:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()


class EventHub:
    """The service's one follower of the event log, and its subscribers."""

    def __init__(self, events: EventLog, *, queue_size: int = QUEUE_SIZE,
                 poll_interval: float = POLL_INTERVAL) -> None:
        self.events = events
        self.queue_size = queue_size
        self.poll_interval = poll_interval
        #: The newest event fanned out (the loop's side).
        self.seq = 0
        #: Events read from the store since the service started: each once, whatever the
        #: number of subscribers.
        self.reads = 0
        self._subs: set[EventSubscription] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._generation = 0  # one per follower thread: a late batch of an old one is dropped

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def subscribe(self, owner: int | None, filters: Mapping[str, Sequence[str]] | None = None,
                  ) -> EventSubscription:
        """A subscriber (on the event loop) to the events recorded from now on that a user
        seeing only ``owner``'s (None: everyone's) sees and ``filters`` pass. Raises
        InvalidArgumentError for an unknown filter."""
        filters = filters or {}
        check_filters(filters)
        sub = EventSubscription(self, owner, filters, self.queue_size)
        with self._lock:
            # The loop of the newest subscriber: a service outlives a test's event loop.
            self._loop = asyncio.get_running_loop()
            if self._thread is None:
                self.seq = self.events.last_seq()
                self._generation += 1
                self.events.listeners.append(self._wake.set)
                self._thread = threading.Thread(target=self._follow,
                                                args=(self.seq, self._generation),
                                                name="ctr-events", daemon=True)
                self._thread.start()
            self._subs.add(sub)
        sub.after = self.seq
        return sub

    def unsubscribe(self, sub: EventSubscription) -> None:
        with self._lock:
            self._subs.discard(sub)
        self._wake.set()  # the follower ends when nobody is left

    def close(self) -> None:
        for sub in list(self._subs):
            sub.stop()

    # -- the follower thread ------------------------------------------------------------------
    def _follow(self, seq: int, generation: int) -> None:
        while True:
            self._wake.wait(self.poll_interval)
            self._wake.clear()
            with self._lock:
                if not self._subs:
                    self._thread = None
                    self._generation += 1
                    self.events.listeners.remove(self._wake.set)
                    return
                loop = self._loop
            try:
                batch = self.events.read_after(seq)
            except Exception:  # noqa: BLE001 - a busy or closing store: try again
                log.exception("reading events failed")
                continue
            if not batch:
                continue
            seq = batch[-1].seq
            self.reads += len(batch)
            try:
                assert loop is not None
                loop.call_soon_threadsafe(self._fan_out, generation, batch)
            except RuntimeError:  # the loop is closed: nobody listens any more
                with self._lock:
                    if self._loop is loop:
                        self._subs.clear()

    # -- on the event loop --------------------------------------------------------------------
    def _fan_out(self, generation: int, batch: list[Event]) -> None:
        if generation != self._generation:
            return
        for ev in batch:
            if ev.seq <= self.seq:
                continue
            self.seq = ev.seq
            for sub in list(self._subs):
                if sub.wants(ev) and not sub.offer(ev):
                    sub.drop(f"too slow: {sub.maxsize} events waiting, dropped (reconnect "
                             "to follow again)")
