"""Live stdio of a container or an exec session, as the pumps and bridges see it: ``recv()``
output chunks, ``send()`` stdin, ``close_stdin()``, ``exit_code()`` - all on the event loop.

Containers and exec sessions alike go through their conmon's attach socket, whose fd waits on
the loop: a slow client slows conmon down, not the server's memory, and no thread is held.
Sources are opened by ContainerService (``open_attach``, ``open_exec``), which looks up,
authorizes and checks the state first.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Protocol

from ..engine.errors import CtrError, TimeoutCtrError
from .streams import AsyncAttach, ThreadFeed

if TYPE_CHECKING:
    from ..engine import Container
    from ..engine.conmon_socket import AttachConnection
    from ..engine.exec import ExecSession, ExecStream
    from .executors import Executors


class Source(Protocol):
    """What pumps and bridges read and write: a container's or an exec session's stdio."""

    tty: bool

    async def recv(self) -> tuple[int, bytes] | None: ...
    def recv_ready(self) -> tuple[int, bytes] | None: ...
    async def send(self, data: bytes) -> None: ...
    def close_stdin(self) -> None: ...
    async def resize(self, height: int, width: int) -> None: ...
    async def exit_code(self) -> int | None: ...
    def close(self) -> None: ...


class ContainerSource:
    """A container's stdio through conmon's attach socket (libpod's HTTPAttach), optionally
    preceded by a replay of its log (``replay``, fed by a thread)."""

    def __init__(self, pools: Executors, ctr: Container, conn: AttachConnection,
                 replay: ThreadFeed[tuple[int, bytes]] | None, *,
                 activity: dict[str, float] | None = None) -> None:
        self.pools = pools
        self.ctr = ctr
        #: Where input is noted (container id -> time): the policy's idle culling.
        self.activity = activity
        self.conn = AsyncAttach(conn)
        self.tty = bool(ctr.config.tty)
        self.stdin = bool(ctr.config.stdin)
        self._replay = replay
        self._replay_iter: Any = replay.__aiter__() if replay is not None else None
        self._closed = False

    def recv_ready(self) -> tuple[int, bytes] | None:
        """A chunk that is already waiting, without blocking (None: none, or the end)."""
        return None if self._replay_iter is not None else self.conn.recv_ready()

    async def recv(self) -> tuple[int, bytes] | None:
        if self._replay_iter is not None:
            try:
                return await self._replay_iter.__anext__()  # type: ignore[no-any-return]
            except StopAsyncIteration:
                self._replay_iter = None
        return await self.conn.recv()

    async def send(self, data: bytes) -> None:
        if self.activity is not None:
            self.activity[self.ctr.id] = time.time()
        await self.conn.send(data)

    def close_stdin(self) -> None:
        self.conn.close_stdin()

    def end_output(self) -> None:
        """Stop the live output (logs-only attach): the replay is all that is sent."""
        self.conn.close()

    async def resize(self, height: int, width: int) -> None:
        await self.pools.run(self.ctr.resize, height, width)

    async def exit_code(self) -> int | None:
        """After the output ended: the container's exit code (None if it did not exit)."""
        try:
            return await self.pools.run_long(self.ctr.wait_for_condition,
                                             ["stopped", "exited"], interval=0.05, timeout=5)
        except (TimeoutCtrError, CtrError):
            return None

    def close(self) -> None:
        """Leave conmon's attach socket. While output may still flow, leave as the engine
        does (AttachConnection.detach: half-close, drain until quiet), in a pool thread: a
        plain close can make conmon 2.1.x forget to close the container's stdin."""
        if self._closed:
            return
        self._closed = True
        if self._replay is not None:
            self._replay.stop()
        conn = self.conn.conn
        if self.conn.eof:
            conn.close()
            return

        def leave() -> None:
            try:
                conn.detach()
            finally:
                conn.close()

        self.pools.background(leave)


class ExecSource:
    """An exec session's stdio through its conmon's attach socket, on the event loop like a
    container's (the engine's ExecSession.open_stream); the exit code comes from conmon."""

    def __init__(self, pools: Executors, session: ExecSession, stream: ExecStream,
                 *, stdin: bool, activity: dict[str, float] | None = None) -> None:
        self.pools = pools
        self.session = session
        self.activity = activity  # as ContainerSource's
        self.stream = stream
        self.tty = bool(session.config.get("tty"))
        self.stdin = stdin and bool(session.config.get("stdin"))
        self.conn = AsyncAttach(stream.conn) if stream.conn is not None else None
        self._finished = False
        self._closed = False

    @property
    def detach_keys(self) -> bytes:
        return self.stream.detach_keys

    def recv_ready(self) -> tuple[int, bytes] | None:
        return self.conn.recv_ready() if self.conn is not None else None

    async def recv(self) -> tuple[int, bytes] | None:
        return await self.conn.recv() if self.conn is not None else None

    async def send(self, data: bytes) -> None:
        if self.activity is not None:
            self.activity[self.session.container.id] = time.time()
        if self.conn is not None and self.stdin:
            await self.conn.send(data)

    def close_stdin(self) -> None:
        if self.conn is not None:
            self.conn.close_stdin()

    async def resize(self, height: int, width: int) -> None:
        await self.pools.run(self.session.resize, height, width)

    async def exit_code(self) -> int | None:
        """After the output ended: the session's exit code (recorded by the engine)."""
        self._finished = True
        try:
            return await self.pools.run_long(self.stream.finish)
        except CtrError:
            return None

    def close(self) -> None:
        """Leave: after the end, just free; while it runs, detach as the engine does (conmon
        closes a non-tty session's stdin) in a pool thread."""
        if self._closed or self._finished:
            return
        self._closed = True
        ended = self.conn is None or self.conn.eof
        self.pools.background(self.stream.close if ended else self.stream.detach)
