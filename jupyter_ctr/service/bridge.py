"""AttachBridge: one container's (or exec session's) stdio shared by the websockets attached
to it, with flow control and a replay ring (docs/websocket-protocol.md).

* Flow control: every client counts the bytes it has handed to its websocket and not yet
  flushed. While any client is above the high-water mark the bridge stops reading the
  attach socket (conmon then holds the container's output: the container blocks on a full
  pipe), and resumes when all are below the low-water mark. Memory per connection is bounded
  by the high-water mark plus one read.
* Replay: the last ``replay_bytes`` of output are kept; a client connecting with
  ``?replay=1`` gets them first.
* Linger: when the last client leaves, the attach connection (and so the container's stdin,
  which conmon closes with it) stays open for ``linger`` seconds, still reading into the ring,
  so a reconnecting browser finds the session as it left it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from .sources import Source

#: Largest batch of waiting output joined into one delivery.
COALESCE = 64 * 1024


@dataclass
class BridgeLimits:
    """Flow control and replay for websocket bridges (see docs/websocket-protocol.md)."""

    replay_bytes: int = 64 * 1024
    high_water: int = 1024 * 1024
    low_water: int = 256 * 1024
    linger: float = 30.0
    stall_timeout: float = 5.0


class Client(Protocol):
    """A websocket attached to a bridge."""

    backlog: int

    def deliver(self, stream: int, data: bytes) -> None: ...
    def deliver_exit(self, code: int | None) -> None: ...
    def deliver_error(self, message: str) -> None: ...
    def drop(self, reason: str) -> None: ...


class ReplayRing:
    """The most recent output, at most ``limit`` bytes, as (stream, bytes) chunks."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self.chunks: deque[tuple[int, bytes]] = deque()

    def append(self, stream: int, data: bytes) -> None:
        if self.limit <= 0:
            return
        if len(data) > self.limit:
            data = data[-self.limit:]
        self.chunks.append((stream, data))
        self.size += len(data)
        while self.size > self.limit:
            old_stream, old = self.chunks.popleft()
            excess = self.size - self.limit
            if len(old) > excess:
                self.chunks.appendleft((old_stream, old[excess:]))
                self.size -= excess
            else:
                self.size -= len(old)

    def snapshot(self) -> list[tuple[int, bytes]]:
        return list(self.chunks)


class AttachBridge:
    """Reads ``source`` while clients (or the linger time) keep it alive."""

    def __init__(self, key: str, source: Source, limits: BridgeLimits,
                 on_close: Callable[[AttachBridge], None]) -> None:
        self.key = key
        self.source = source
        self.limits = limits
        self.ring = ReplayRing(limits.replay_bytes)
        self.clients: set[Client] = set()
        self.exit_code: int | None = None
        self.ended = False
        self._on_close = on_close
        self._drained = asyncio.Event()
        self._drained.set()
        self._linger: asyncio.TimerHandle | None = None
        self._task = asyncio.create_task(self._run())

    # -- clients --------------------------------------------------------------------------
    def attach(self, client: Client, replay: bool) -> None:
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
        if replay:
            for stream, data in self.ring.snapshot():
                client.deliver(stream, data)
        self.clients.add(client)
        if self.ended:
            client.deliver_exit(self.exit_code)

    def detach(self, client: Client) -> None:
        self.clients.discard(client)
        self.written()
        if not self.clients and self._linger is None:
            loop = asyncio.get_running_loop()
            self._linger = loop.call_later(self.limits.linger, self.close)

    def written(self) -> None:
        """A client flushed some bytes: resume reading once everyone is below low water."""
        if all(c.backlog <= self.limits.low_water for c in self.clients):
            self._drained.set()

    # -- input ----------------------------------------------------------------------------
    async def send(self, data: bytes) -> None:
        if not self.ended:
            await self.source.send(data)

    def close_stdin(self) -> None:
        if not self.ended:
            self.source.close_stdin()

    async def resize(self, rows: int, cols: int) -> None:
        await self.source.resize(rows, cols)

    # -- output ---------------------------------------------------------------------------
    async def _run(self) -> None:
        try:
            while True:
                if any(c.backlog > self.limits.high_water for c in self.clients):
                    await self._pause()
                packet = await self.source.recv()
                if packet is None:
                    break
                for stream, data in self._coalesce(packet):
                    self.ring.append(stream, data)
                    for client in list(self.clients):
                        client.deliver(stream, data)
            self.exit_code = await self.source.exit_code()
        except Exception as exc:  # noqa: BLE001 - reported to the clients
            for client in list(self.clients):
                client.deliver_error(str(exc))
        finally:
            self.ended = True
        for client in list(self.clients):
            client.deliver_exit(self.exit_code)
        if not self.clients and self._linger is None:
            self.close()

    def _coalesce(self, first: tuple[int, bytes]) -> list[tuple[int, bytes]]:
        """``first`` plus what is already waiting (up to COALESCE bytes), neighbours of the
        same stream joined: fewer, bigger websocket messages at full output speed."""
        out = [(first[0], bytearray(first[1]))]
        size = len(first[1])
        while size < COALESCE:
            more = self.source.recv_ready()
            if more is None:
                break
            size += len(more[1])
            if more[0] == out[-1][0]:
                out[-1][1].extend(more[1])
            else:
                out.append((more[0], bytearray(more[1])))
        return [(stream, bytes(data)) for stream, data in out]

    async def _pause(self) -> None:
        """Stop reading until the clients drain. conmon then blocks on its attach socket (and
        the container on its stdout) - which also stalls conmon's handling of the container's
        exit, so a client that stays stuck past ``stall_timeout`` is dropped."""
        self._drained.clear()
        try:
            await asyncio.wait_for(self._drained.wait(), self.limits.stall_timeout)
        except TimeoutError:
            for client in list(self.clients):
                if client.backlog > self.limits.low_water:
                    self.clients.discard(client)
                    client.drop("client too slow: its output backlog did not drain")
            self._drained.set()

    def close(self) -> None:
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
        self._on_close(self)
        if self._task.done():
            self.source.close()
        else:
            # The reader may be waiting on the source's fd: close it once that wait is gone.
            self._task.cancel()
            self._task.add_done_callback(lambda _: self.source.close())


async def get_bridge(bridges: dict[str, AttachBridge], key: str,
                     open_source: Callable[[], Awaitable[Source]],
                     limits: BridgeLimits) -> AttachBridge:
    """The live bridge for ``key``, or a new one on a freshly opened source. A bridge whose
    output ended is kept (lingering) for its replay and exit code, unless the container runs
    again."""
    bridge = bridges.get(key)
    if bridge is not None and not bridge.ended:
        return bridge
    try:
        source = await open_source()
    except Exception:
        if bridge is not None:
            return bridge  # ended and cannot be reopened: replay and exit code it is
        raise
    if bridge is not None and bridge.ended:
        bridge.close()
    bridge = bridges.get(key)  # another client may have opened it meanwhile
    if bridge is not None:
        source.close()
        return bridge

    def forget(b: AttachBridge) -> None:
        if bridges.get(b.key) is b:
            del bridges[b.key]

    bridge = AttachBridge(key, source, limits, forget)
    bridges[key] = bridge
    return bridge

