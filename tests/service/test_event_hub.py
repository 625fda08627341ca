"""EventHub (service/event_hub.py) on the real event log: one follower reads each event once
for every subscriber; each sees its own owner's events through its filters, in order, once;
a subscriber from ``since`` gets the past then the live events without a gap or a double; a
subscriber that does not keep up is dropped without holding the others back."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from jupyter_ctr.engine import InvalidArgumentError, Runtime
from jupyter_ctr.service.container_service import ContainerService
from jupyter_ctr.service.event_hub import EventHub, EventSubscription
from jupyter_ctr.service.principal import Principal
from jupyter_ctr.service.rules import PolicyRules, RulesPolicy

ROOT = Principal(uid=0, name="root")
ALICE = Principal(uid=1000, gids=(1000,), name="alice")


def emit(rt: Runtime, n: int, *, owner: int = 0, tag: str = "hub") -> None:
    """``n`` container events owned by ``owner``, numbered in attribute ``n``."""
    for i in range(n):
        rt.write_event("container", tag, f"{owner:04d}" + "c" * 60, f"ctr-{owner}",
                       "localhost/busybox:latest", {"owner_uid": str(owner), "n": str(i)})


async def collect(sub: EventSubscription, n: int, timeout: float = 20) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []

    async def read() -> None:
        async for ev in sub:
            out.append((ev.attributes["owner_uid"], int(ev.attributes["n"])))
            if len(out) == n:
                return

    await asyncio.wait_for(read(), timeout)
    return out


def test_one_follower_reads_each_event_once_for_every_subscriber(rt: Runtime) -> None:
    hub = EventHub(rt.event_log)

    async def main() -> None:
        subs = [hub.subscribe(None) for _ in range(20)]
        followers = [t for t in threading.enumerate() if t.name == "ctr-events"]
        assert len(followers) == 1
        before = hub.reads
        await asyncio.to_thread(emit, rt, 50)
        got = await asyncio.gather(*(collect(sub, 50) for sub in subs))
        assert all(g == [("0", i) for i in range(50)] for g in got)
        assert hub.reads - before == 50  # read once, not once per subscriber
        for sub in subs:
            sub.stop()
        assert hub.subscribers == 0

    asyncio.run(main())
    # nobody left: the follower ends
    deadline = time.monotonic() + 5
    while any(t.name == "ctr-events" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the follower did not end"
        time.sleep(0.01)


def test_each_subscriber_sees_its_owner_and_its_filters(rt: Runtime) -> None:
    hub = EventHub(rt.event_log)

    async def main() -> None:
        everyone = hub.subscribe(None)
        alice = hub.subscribe(1000)
        filtered = hub.subscribe(None, {"container": ["ctr-1000"]})
        with pytest.raises(InvalidArgumentError):
            hub.subscribe(None, {"nope": ["x"]})

        def write() -> None:
            emit(rt, 3, owner=0)
            emit(rt, 3, owner=1000)

        await asyncio.to_thread(write)
        assert await collect(everyone, 6) == [("0", 0), ("0", 1), ("0", 2),
                                              ("1000", 0), ("1000", 1), ("1000", 2)]
        assert await collect(alice, 3) == [("1000", i) for i in range(3)]
        assert await collect(filtered, 3) == [("1000", i) for i in range(3)]
        assert not alice.ready() and not filtered.ready()
        hub.close()

    asyncio.run(main())


def test_a_slow_subscriber_is_dropped_the_others_go_on(rt: Runtime) -> None:
    hub = EventHub(rt.event_log, queue_size=10)

    async def main() -> None:
        fast = hub.subscribe(None)
        slow = hub.subscribe(None)
        reasons: list[str] = []
        slow.on_drop = reasons.append
        got: list[tuple[str, int]] = []

        async def read_fast() -> None:
            async for ev in fast:
                got.append((ev.attributes["owner_uid"], int(ev.attributes["n"])))
                if len(got) == 100:
                    return

        reader = asyncio.create_task(read_fast())
        # A little at a time: the fast reader keeps up, the slow one never reads.
        for i in range(100):
            await asyncio.to_thread(rt.write_event, "container", "hub", "c" * 64, "x",
                                    "img", {"owner_uid": "0", "n": str(i)})
            await asyncio.sleep(0.001 if i % 5 else 0.03)
        await asyncio.wait_for(reader, 20)
        assert got == [("0", i) for i in range(100)]
        assert slow.dropped and reasons == [slow.dropped] and "too slow" in slow.dropped
        assert [ev async for ev in slow] == []  # dropped: its iteration ends
        assert hub.subscribers == 1
        hub.close()

    asyncio.run(main())


def test_since_then_live_without_gap_or_double(rt: Runtime) -> None:
    service = ContainerService(rt)
    try:
        async def main() -> None:
            since = time.time()
            await asyncio.to_thread(emit, rt, 5, tag="since")
            feed = service.event_feed(ROOT, since=since, filters={"event": ["since"]},
                                      follow=True)
            assert isinstance(feed, EventSubscription)
            await asyncio.to_thread(emit, rt, 5, tag="since")
            got = await collect(feed, 10)
            assert [n for _, n in got] == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]
            feed.stop()

        asyncio.run(main())
    finally:
        service.pools.close()


def test_a_student_follows_their_own_events_only(rt: Runtime) -> None:
    service = ContainerService(rt, policy=RulesPolicy(PolicyRules()))
    try:
        async def main() -> None:
            feed = service.event_feed(ALICE, follow=True)
            await asyncio.to_thread(emit, rt, 2, owner=0)
            await asyncio.to_thread(emit, rt, 2, owner=1000)
            assert await collect(feed, 2) == [("1000", 0), ("1000", 1)]
            assert not feed.ready()
            feed.stop()

        asyncio.run(main())
    finally:
        service.pools.close()
