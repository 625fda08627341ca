"""Stats routes through a real Jupyter server, fed by the service's one sampler: streams of
all (libpod) and of one container (Docker) send JSON lines, a container that stops ends the
stream naming it and leaves the stream of all, and many streams at once cost one sampler."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from jupyter_ctr.server import models
from jupyter_ctr.server.handlers.containers import libpod_stats_body
from jupyter_ctr.server.service import SETTINGS_KEY
from jupyter_ctr.service.stats import Reading

from .conftest import DOCKER, LIBPOD
from .test_rest import started

pytestmark = pytest.mark.timeout(120)


class Lines:
    """The JSON lines of a streamed response, as they come."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.buf = b""
        self.changed = asyncio.Event()

    def __call__(self, chunk: bytes) -> None:
        self.buf += chunk
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            if line.strip():
                self.items.append(json.loads(line))
                self.changed.set()

    async def until(self, pred: Any) -> None:
        while not pred(self.items):
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 30)


def service(jp_serverapp: Any) -> Any:
    return jp_serverapp.web_app.settings[SETTINGS_KEY]


async def test_streams_follow_the_sampler_and_end_when_the_container_stops(
        api: Any, jp_fetch: Any, jp_serverapp: Any) -> None:
    stays = await started(api)
    goes = await started(api)
    everything, one = Lines(), Lines()
    all_req = asyncio.ensure_future(jp_fetch(
        *f"{LIBPOD}/containers/stats".split("/"), params={"stream": "true", "interval": "1"},
        streaming_callback=everything, request_timeout=60, raise_error=False))
    one_req = asyncio.ensure_future(jp_fetch(
        *f"{DOCKER}/containers/{goes}/stats".split("/"), streaming_callback=one,
        request_timeout=60))
    await everything.until(lambda items: len(items) >= 2)
    await one.until(lambda items: len(items) >= 2)
    sampler = service(jp_serverapp).sampler
    assert sampler.running
    first = {s["ContainerID"] for s in everything.items[0]["Stats"]}
    assert {stays, goes} <= first
    assert {m["id"] for m in one.items} == {goes}
    assert one.items[-1]["precpu_stats"]["system_cpu_usage"] > 0
    assert (await api.post(f"{LIBPOD}/containers/{goes}/stop",
                           params={"timeout": "0"})).code == 204
    reply = await one_req  # the stream of the stopped container ends, cleanly
    assert reply.code == 200
    await everything.until(lambda items: goes not in {s["ContainerID"]
                                                      for s in items[-1]["Stats"]})
    assert stays in {s["ContainerID"] for s in everything.items[-1]["Stats"]}
    all_req.cancel()
    with pytest.raises(BaseException):  # noqa: B017, PT011 - cancelled or closed
        await all_req


async def test_many_one_shot_clients_share_readings(api: Any, jp_serverapp: Any) -> None:
    ctrs = {await started(api) for _ in range(2)}
    sampler = service(jp_serverapp).sampler
    sampler.fresh = 60.0  # every request after the first reuses the first reading
    try:
        before = sampler.readings_taken
        replies = await asyncio.gather(*[
            api.get(f"{LIBPOD}/containers/stats",
                    params=[("stream", "false"), *[("containers", c) for c in sorted(ctrs)]])
            for _ in range(10)])
        assert all(r.code == 200 for r in replies)
        assert all({s["ContainerID"] for s in r.json()["Stats"]} == ctrs for r in replies)
        assert sampler.readings_taken - before == len(ctrs)
    finally:
        sampler.fresh = 0.5


def test_an_element_is_rendered_once_for_all_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    cur = Reading(id="a" * 64, name="a", cpu_ns=2_000_000_000, memory_bytes=1 << 20,
                  memory_limit=64 << 20, pids=1, time_ns=2_000_000_000,
                  system_ns=4_000_000_000, started_at=1)
    prev = Reading(cur, cpu_ns=1_000_000_000, time_ns=1_000_000_000, system_ns=2_000_000_000)
    rendered = []
    real = models.container_libpod_stats
    monkeypatch.setattr(models, "container_libpod_stats",
                        lambda c, p: rendered.append(c["id"]) or real(c, p))
    bodies = [json.loads(libpod_stats_body([(cur, prev)])) for _ in range(20)]
    assert rendered == ["a" * 64]  # 20 clients, one rendering
    assert all(b == bodies[0] for b in bodies)
    assert bodies[0]["Error"] is None and bodies[0]["Stats"][0]["MemLimit"] == 64 << 20
    assert bodies[0]["Stats"][0]["CPU"] > 0
    other = json.loads(libpod_stats_body([(cur, None)]))  # another baseline: its own
    assert rendered == ["a" * 64] * 2 and other["Stats"][0]["CPU"] == 0.0
