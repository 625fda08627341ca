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
* Session: every client has a role, "owner" (types), "watching" (joined with ``?shadow=1``:
  output only) or "typing" (a watcher that took over); a recorder (engine/recordings.py)
  may be attached, fed with every output chunk and resize. Clients that take JSON get a
  ``["session", {...}]`` message (``session_info``) when they join and whenever the
  recording, the viewers or the roles change.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from .policy import NotAuthorizedError
from .sources import Source

if TYPE_CHECKING:
    from ..engine.recordings import Recorder

#: Largest batch of waiting output joined into one delivery.
COALESCE = 64 * 1024
LOG = logging.getLogger("jupyter_ctr.service")
#: Client roles (docs/websocket-protocol.md).
OWNER, WATCHING, TYPING = "owner", "watching", "typing"
#: The answer to input from a watching client.
READ_ONLY = "read-only: take over to type"


@dataclass
class BridgeLimits:
    """Flow control and replay for websocket bridges (see docs/websocket-protocol.md)."""

    replay_bytes: int = 64 * 1024
    high_water: int = 1024 * 1024
    low_water: int = 256 * 1024
    linger: float = 30.0
    stall_timeout: float = 5.0


class Client(Protocol):
    """A websocket attached to a bridge. One that speaks the JSON protocol also has
    ``deliver_session(info: dict)`` (the session message; Docker's binary one has not)."""

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
        #: Role and user name of each client (``attach``).
        self.roles: dict[Client, str] = {}
        self.users: dict[Client, str] = {}
        #: The recording being written, if any; ``required``: policy says always record.
        self.recorder: Recorder | None = None
        self.required = False
        #: Opens a recording of this session, (rows, cols, user name) -> Recorder (set by
        #: the service that made the bridge; None: this bridge cannot record).
        self.start_recorder: Callable[[int, int, str], Recorder] | None = None
        #: The terminal's size as last set (rows, cols): a recording's header.
        self.size = (24, 80)
        #: What the service knows of the session (container, exec id, owner) for listings.
        self.meta: dict[str, Any] = {}
        self._task = asyncio.create_task(self._run())

    # -- clients --------------------------------------------------------------------------
    def attach(self, client: Client, replay: bool, *, user: str = "",
               role: str = OWNER) -> None:
        """Add ``client`` (after the replay with ``replay``) as ``user`` in ``role`` (owner
        or watching); every client then gets the session message."""
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
        if replay:
            for stream, data in self.ring.snapshot():
                client.deliver(stream, data)
        self.clients.add(client)
        self.roles[client] = role
        self.users[client] = user
        self.announce()
        if self.ended:
            client.deliver_exit(self.exit_code)

    def detach(self, client: Client) -> None:
        self._forget(client)
        self.announce()
        self.written()
        if not self.clients and self._linger is None:
            loop = asyncio.get_running_loop()
            self._linger = loop.call_later(self.limits.linger, self.close)

    def written(self) -> None:
        """A client flushed some bytes: resume reading once everyone is below low water."""
        if all(c.backlog <= self.limits.low_water for c in self.clients):
            self._drained.set()

    def _forget(self, client: Client) -> None:
        self.clients.discard(client)
        self.roles.pop(client, None)
        self.users.pop(client, None)

    # -- session: roles, recording ------------------------------------------------------------
    def role(self, client: Client) -> str:
        return self.roles.get(client, OWNER)

    def may_type(self, client: Client) -> bool:
        """Whether input from ``client`` goes to the process (not from a watcher)."""
        return self.role(client) != WATCHING

    def viewers(self) -> list[dict[str, str]]:
        """The clients that are not owners: who watches (or types, having taken over)."""
        return [{"user": self.users.get(c, ""), "role": role}
                for c, role in self.roles.items() if role != OWNER]

    def session_info(self, client: Client | None = None) -> dict[str, Any]:
        """The ``["session", ...]`` message's object, for ``client``."""
        rec = self.recorder
        return {"recording": rec is not None, "required": self.required,
                "recording_id": rec.id if rec is not None else None,
                "role": self.role(client) if client is not None else OWNER,
                "viewers": self.viewers()}

    def announce(self) -> None:
        """Send every client that speaks JSON its session message."""
        for client in list(self.clients):
            deliver = getattr(client, "deliver_session", None)
            if deliver is not None:
                deliver(self.session_info(client))

    def take_over(self, client: Client) -> None:
        """A watcher types from now on (the caller has asked the policy)."""
        if self.role(client) == WATCHING:
            self.roles[client] = TYPING
            self.announce()

    def release(self, client: Client) -> None:
        """A watcher that took over watches again."""
        if self.role(client) == TYPING:
            self.roles[client] = WATCHING
            self.announce()

    def record(self, on: bool, user: str = "") -> None:
        """Start (as ``user``) or stop recording. Stopping a required recording raises
        (NotAuthorizedError naming the rule); starting an ongoing one does nothing."""
        if on:
            if self.recorder is None and not self.ended:
                if self.start_recorder is None:
                    raise ValueError("this session cannot be recorded")
                self.recorder = self.start_recorder(self.size[0], self.size[1], user)
                self.announce()
            return
        if self.required:
            raise NotAuthorizedError("refused by policy rule record_labs: this lab's "
                                     "sessions are always recorded")
        self.stop_recording()

    def stop_recording(self) -> None:
        """End the recording, if any (its file and record are completed)."""
        rec, self.recorder = self.recorder, None
        if rec is not None:
            try:
                rec.close()
            except OSError as exc:
                LOG.error("recording of %s could not be completed: %s", self.key, exc)
            self.announce()

    def _record(self, write: Callable[..., None], *args: Any) -> None:
        """Write one event to the recording; a failed write (a full disk) stops the
        recording, not the session; the size cap (the recorder wrote its marker) too."""
        rec = self.recorder
        if rec is None:
            return
        try:
            write(*args)
        except OSError as exc:
            LOG.error("recording of %s stopped: %s", self.key, exc)
            self.stop_recording()
            return
        if rec.stopped:
            self.stop_recording()

    # -- input ----------------------------------------------------------------------------
    async def send(self, data: bytes) -> None:
        if not self.ended:
            await self.source.send(data)

    def close_stdin(self) -> None:
        if not self.ended:
            self.source.close_stdin()

    async def resize(self, rows: int, cols: int) -> None:
        await self.source.resize(rows, cols)
        self.size = (rows, cols)
        rec = self.recorder
        if rec is not None:
            self._record(rec.resize, rows, cols)

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
                    rec = self.recorder
                    if rec is not None:
                        self._record(rec.output, data)
                    for client in list(self.clients):
                        client.deliver(stream, data)
            self.exit_code = await self.source.exit_code()
        except Exception as exc:  # noqa: BLE001 - reported to the clients
            for client in list(self.clients):
                client.deliver_error(str(exc))
        finally:
            self.ended = True
            self.stop_recording()
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
                    self._forget(client)
                    client.drop("client too slow: its output backlog did not drain")
            self.announce()
            self._drained.set()

    def close(self) -> None:
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
        self._on_close(self)
        self.stop_recording()
        if self._task.done():
            self.source.close()
        else:
            # The reader may be waiting on the source's fd: close it once that wait is gone.
            self._task.cancel()
            self._task.add_done_callback(lambda _: self.source.close())


async def get_bridge(bridges: dict[str, AttachBridge], key: str,
                     open_source: Callable[[], Awaitable[Source]],
                     limits: BridgeLimits,
                     setup: Callable[[AttachBridge], None] | None = None) -> AttachBridge:
    """The live bridge for ``key``, or a new one on a freshly opened source. A bridge whose
    output ended is kept (lingering) for its replay and exit code, unless the container runs
    again. ``setup`` completes a new bridge (its recorder, ``meta``) before it reads."""
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
    if setup is not None:
        setup(bridge)  # before the reader's first output (its task has not run yet)
    return bridge

