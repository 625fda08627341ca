"""StatsSampler (service/stats.py) through ContainerService on real containers: many streaming
clients share one sampler (the readings taken do not grow with the clients), the sampler
stops when the last client leaves, a container that stops mid-stream leaves the stream of
all (and ends a stream naming it), one-shots reuse fresh readings, and a student's stream
holds only their containers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from jupyter_ctr.engine import NoSuchContainerError, Runtime
from jupyter_ctr.engine.container import Container
from jupyter_ctr.service.container_service import ContainerService
from jupyter_ctr.service.policy import OwnershipPolicy
from jupyter_ctr.service.principal import INSTRUCTOR, Principal
from tests.conftest import DEMO

ROOT = Principal(uid=0, gids=(0,), pid=1, name="root", roles=frozenset({INSTRUCTOR}))
ANN = Principal(uid=43011, gids=(43011,), pid=2, name="ann-s")
BEN = Principal(uid=43012, gids=(43012,), pid=3, name="ben-s")

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def service(rt: Runtime):  # type: ignore[no-untyped-def]
    svc = ContainerService(rt, policy=OwnershipPolicy())
    svc.sampler.interval = 0.1  # sweeps come quickly; the tests count, never time
    yield svc
    svc.sampler.close()
    svc.pools.close()  # the runtime is the rt fixture's to close


def running(rt: Runtime, n: int, owner: Principal | None = None) -> list[Container]:
    view = rt if owner is None else rt.acting_as(owner.uid, owner.name)
    out = []
    for _ in range(n):
        ctr = view.create_container(DEMO, ["sleep", "100"])
        ctr.start()
        out.append(ctr)
    return out


async def take(service: ContainerService, who: Principal, names: list[str], count: int,
               interval: float = 0.1) -> list[list[Any]]:
    """The first ``count`` messages of a stats stream (fewer if it ends)."""
    out = []
    stream = service.stats_stream(who, names, interval)
    try:
        async for pairs in stream:
            out.append(pairs)
            if len(out) == count:
                break
    finally:
        await stream.aclose()
    return out


def test_many_streaming_clients_share_one_sampler(rt: Runtime,
                                                  service: ContainerService) -> None:
    ctrs = running(rt, 3)
    ids = {c.id for c in ctrs}
    sampler = service.sampler
    sampler.fresh = 60.0  # one-shots (each stream's first message) reuse what was read

    async def main() -> list[list[list[Any]]]:
        got = await asyncio.gather(*[take(service, ROOT, [], 5) for _ in range(20)])
        for _ in range(100):  # the last sweep's sleep ends, then the task
            if not sampler.running:
                break
            await asyncio.sleep(0.05)
        return got

    clients = asyncio.run(main())
    assert not sampler.running  # no client: no sampling
    assert all(len(messages) == 5 for messages in clients)
    for messages in clients:
        for pairs in messages:
            assert {r["id"] for r, _ in pairs} >= ids
    readings = {id(r) for messages in clients for pairs in messages for r, _ in pairs
                if r["id"] in ids}
    # every reading any client got came from one read per container per sweep (plus the
    # first one-shot): 20 clients cost what one costs
    assert sampler.readings_taken == len(ids) * (sampler.sweeps + 1)
    assert len(readings) <= sampler.readings_taken
    assert sampler.sweeps < 5 * 20
    # each message's CPU baseline is the reading the client had before
    for messages in clients:
        for before, after in zip(messages, messages[1:], strict=False):
            sent = {r["id"]: r for r, _ in before}
            for reading, prev in after:
                if reading["id"] in ids and reading["id"] in sent:
                    assert prev is sent[reading["id"]]


def test_a_container_stopping_mid_stream_leaves_it(rt: Runtime,
                                                   service: ContainerService) -> None:
    stays, goes = running(rt, 2)

    async def main() -> tuple[list[list[Any]], list[list[Any]]]:
        of_all = service.stats_stream(ROOT, [], 0.1)
        named = service.stats_stream(ROOT, [goes.name], 0.1)
        seen_all, seen_named = [await anext(of_all)], [await anext(named)]
        await asyncio.to_thread(goes.stop, timeout=0)
        async for pairs in named:  # ends by itself: its container stopped
            seen_named.append(pairs)
        async for pairs in of_all:
            seen_all.append(pairs)
            if goes.id not in {r["id"] for r, _ in pairs} or len(seen_all) > 100:
                break
        await of_all.aclose()
        return seen_all, seen_named

    seen_all, seen_named = asyncio.run(main())
    first = {r["id"] for r, _ in seen_all[0]}
    last = {r["id"] for r, _ in seen_all[-1]}
    assert {stays.id, goes.id} <= first
    assert stays.id in last and goes.id not in last
    assert all([r["id"] for r, _ in pairs] == [goes.id] for pairs in seen_named)


def test_one_shots_reuse_a_fresh_reading_and_have_a_baseline(
        rt: Runtime, service: ContainerService) -> None:
    [ctr] = running(rt, 1)
    sampler = service.sampler
    sampler.fresh = 60.0

    async def main() -> list[list[Any]]:
        return [await service.stats_now(ROOT, [ctr.id]) for _ in range(10)]

    answers = asyncio.run(main())
    assert sampler.readings_taken == 1
    reading, baseline = answers[0][0]
    assert reading["id"] == ctr.id and reading["memory_bytes"] > 0
    # no earlier reading: the CPU share is since the container started
    assert baseline is not None and baseline["cpu_ns"] == 0
    assert baseline["time_ns"] == ctr.observe().record.started_at
    assert 0 < baseline["system_ns"] < reading["system_ns"]
    sampler.fresh = 0.0
    again, before = asyncio.run(service.stats_now(ROOT, [ctr.name]))[0]
    assert again is not reading and before is reading  # the previous reading is the baseline
    assert sampler.readings_taken == 2


def test_a_students_stream_has_only_their_containers(rt: Runtime,
                                                     service: ContainerService) -> None:
    hers = {c.id for c in running(rt, 2, ANN)}
    his = {c.id for c in running(rt, 1, BEN)}

    async def main() -> tuple[list[list[Any]], ...]:
        return await asyncio.gather(take(service, ANN, [], 3), take(service, BEN, [], 3),
                                    take(service, ROOT, [], 3))

    ann, ben, root = asyncio.run(main())
    for messages, expected in ((ann, hers), (ben, his)):
        assert [{r["id"] for r, _ in pairs} for pairs in messages] == [expected] * 3
    assert all(hers | his <= {r["id"] for r, _ in pairs} for pairs in root)
    # one-shots too; another's container by name answers as a missing one
    assert {r["id"] for r, _ in asyncio.run(service.stats_now(BEN, []))} == his
    with pytest.raises(NoSuchContainerError, match="no container with name or ID"):
        asyncio.run(service.stats_now(BEN, [next(iter(hers))]))
