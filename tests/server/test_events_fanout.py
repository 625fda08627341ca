"""Events fan-out through the real server (service/event_hub.py behind
``/ctr/api/events/ws``): 100 websocket clients each see every event once, in order, while the
service reads each event from the store once; a client that never reads is dropped and the
others keep receiving."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from tornado.websocket import WebSocketClientConnection

from jupyter_ctr.server.service import SETTINGS_KEY
from jupyter_ctr.service.container_service import ContainerService
from jupyter_ctr.service.event_hub import EventSubscription

CLIENTS = 100


def service_of(app: Any) -> ContainerService:
    svc: ContainerService = app.web_app.settings[SETTINGS_KEY]
    return svc


def emit(svc: ContainerService, tag: str, n: int) -> None:
    """``n`` events recorded by the server's own engine (numbered in attribute ``n``)."""
    for i in range(n):
        svc.runtime.write_event("container", tag, "f" * 64, "fanout",
                                "localhost/busybox:latest", {"owner_uid": "0", "n": str(i)})


async def receive(ws: WebSocketClientConnection, tag: str, n: int) -> list[int]:
    """The numbers of the next ``n`` events tagged ``tag`` on ``ws``."""
    got: list[int] = []
    while len(got) < n:
        msg = await asyncio.wait_for(ws.read_message(), 30)
        assert msg is not None, f"closed after {len(got)} events"
        ev = json.loads(msg)
        if ev["Action"] == tag:
            got.append(int(ev["Actor"]["Attributes"]["n"]))
    return got


async def connect(jp_ws_fetch: Any, svc: ContainerService, count: int,
                  ) -> list[WebSocketClientConnection]:
    before = svc.event_hub.subscribers
    clients = [await jp_ws_fetch("ctr", "api", "events", "ws") for _ in range(count)]
    while svc.event_hub.subscribers < before + count:  # each subscribes when it opens
        await asyncio.sleep(0.01)
    return clients


async def test_100_clients_see_every_event_once_in_order(jp_ws_fetch: Any,
                                                         jp_serverapp: Any) -> None:
    svc = service_of(jp_serverapp)
    clients = await connect(jp_ws_fetch, svc, CLIENTS)
    assert [t.name for t in threading.enumerate()].count("ctr-events") == 1
    reads = svc.event_hub.reads
    n = 50
    await asyncio.to_thread(emit, svc, "fanout", n)
    got = await asyncio.gather(*(receive(ws, "fanout", n) for ws in clients))
    assert all(g == list(range(n)) for g in got)
    assert svc.event_hub.reads - reads == n  # each event read once, for 100 clients
    for ws in clients:
        ws.close()
    while svc.event_hub.subscribers:
        await asyncio.sleep(0.01)


async def test_a_client_that_never_reads_is_dropped(jp_ws_fetch: Any, jp_serverapp: Any,
                                                    monkeypatch: Any) -> None:
    svc = service_of(jp_serverapp)
    monkeypatch.setattr(svc.event_hub, "queue_size", 50)
    dropped: list[str] = []
    drop = EventSubscription.drop

    def spy(self: EventSubscription, reason: str) -> None:
        dropped.append(reason)
        drop(self, reason)

    monkeypatch.setattr(EventSubscription, "drop", spy)
    readers = await connect(jp_ws_fetch, svc, 5)
    stalled = (await connect(jp_ws_fetch, svc, 1))[0]  # never read: its buffers fill up
    n = 2000  # past what the kernel buffers for the stalled one (the server caps its share)
    tasks = [asyncio.create_task(receive(ws, "stall", n)) for ws in readers]
    for start in range(0, n, 20):  # in bursts smaller than a queue, as a busy lab makes
        await asyncio.to_thread(emit_range, svc, "stall", start, 20)
        await asyncio.sleep(0.02)
    got = await asyncio.gather(*tasks)
    assert all(g == list(range(n)) for g in got)
    assert len(dropped) == 1 and "too slow" in dropped[0], dropped
    assert svc.event_hub.subscribers == 5
    # the stalled client finds its connection closed once it reads again
    while await asyncio.wait_for(stalled.read_message(), 30) is not None:
        pass
    for ws in readers:
        ws.close()


def emit_range(svc: ContainerService, tag: str, start: int, count: int) -> None:
    for i in range(start, start + count):
        svc.runtime.write_event("container", tag, "f" * 64, "fanout",
                                "localhost/busybox:latest", {"owner_uid": "0", "n": str(i)})
