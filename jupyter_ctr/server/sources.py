"""Live stdio of a container or an exec session, as the server's pumps see it: ``recv()``
output chunks, ``send()`` stdin, ``close_stdin()``, ``exit_code()`` - all on the IOLoop.

Containers and exec sessions alike go through their conmon's attach socket, whose fd waits on
the loop: a slow client slows conmon down, not the server's memory, and no thread is held.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..engine import ContainerState
from ..engine.conmon_socket import AttachConnection
from ..engine.errors import ContainerStateInvalidError, CtrError, TimeoutCtrError
from ..engine.logs import log_complete_size, log_replay
from .streams import AsyncAttach, ThreadFeed, iterate_in_thread

if TYPE_CHECKING:
    from ..engine import Container
    from ..engine.exec import ExecSession, ExecStream
    from .backend import EngineBackend

S = ContainerState


class ContainerSource:
    """A container's stdio through conmon's attach socket (libpod's HTTPAttach)."""

    def __init__(self, backend: EngineBackend, ctr: Container, conn: AttachConnection,
                 replay: ThreadFeed[tuple[int, bytes]] | None) -> None:
        self.backend = backend
        self.ctr = ctr
        self.conn = AsyncAttach(conn)
        self.tty = bool(ctr.config.get("tty"))
        self.stdin = bool(ctr.config.get("stdin"))
        self._replay = replay
        self._replay_iter: Any = replay.__aiter__() if replay is not None else None

    @classmethod
    async def open(cls, backend: EngineBackend, ctr: Container, *,
                   logs: bool = False) -> ContainerSource:
        """Connect to a created or running container (a configured or exited one is
        initialized first, for Docker's attach-then-start); ``logs`` replays the log first."""

        def connect() -> tuple[AttachConnection, int]:
            st = ctr.state
            if st in (S.CONFIGURED, S.STOPPED, S.EXITED):
                with contextlib.suppress(ContainerStateInvalidError):
                    ctr.init()  # lost a race with another init/start: fine
                st = ctr.state
            if st not in (S.CREATED, S.RUNNING):
                raise ContainerStateInvalidError(
                    f"can only attach to created or running containers; container "
                    f"{ctr.id[:12]} ({ctr.name}) is in state {st.value}")
            conn = AttachConnection.connect(ctr.bundle)
            try:
                conn.wait_accepted()
                end = log_complete_size(ctr.log_path) if logs else 0
            except BaseException:
                conn.close()
                raise
            return conn, end

        conn, end = await backend.run(connect)
        replay = None
        if logs:
            def chunks(stopped: Any) -> Iterator[tuple[int, bytes]]:
                return log_replay(ctr.log_path, end)

            replay = iterate_in_thread(chunks, name="ctr-replay")
        return cls(backend, ctr, conn, replay)

    _closed = False

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
        await self.conn.send(data)

    def close_stdin(self) -> None:
        self.conn.close_stdin()

    async def resize(self, height: int, width: int) -> None:
        await self.backend.run(self.ctr.resize, height, width)

    async def exit_code(self) -> int | None:
        """After the output ended: the container's exit code (None if it did not exit)."""
        try:
            return await self.backend.run_long(self.ctr.wait_for_condition,
                                               ["stopped", "exited"], interval=0.05,
                                               timeout=5)
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

        self.backend.background(leave)


class ExecSource:
    """An exec session's stdio through its conmon's attach socket, on the IOLoop like a
    container's (the engine's ExecSession.open_stream); the exit code comes from conmon."""

    def __init__(self, backend: EngineBackend, session: ExecSession, stream: ExecStream,
                 *, stdin: bool) -> None:
        self.backend = backend
        self.session = session
        self.stream = stream
        self.tty = bool(session.config.get("tty"))
        self.stdin = stdin and bool(session.config.get("stdin"))
        self.conn = AsyncAttach(stream.conn) if stream.conn is not None else None
        self._finished = False
        self._closed = False

    @classmethod
    async def open(cls, backend: EngineBackend, session: ExecSession, *, start: bool,
                   stdin: bool, tty_size: tuple[int, int] | None = None) -> ExecSource:
        """Start a created session (``start``) or attach to a running one."""
        stream = await backend.run(session.open_stream, start=start, tty_size=tty_size)
        return cls(backend, session, stream, stdin=stdin)

    @property
    def detach_keys(self) -> bytes:
        return self.stream.detach_keys

    def recv_ready(self) -> tuple[int, bytes] | None:
        return self.conn.recv_ready() if self.conn is not None else None

    async def recv(self) -> tuple[int, bytes] | None:
        return await self.conn.recv() if self.conn is not None else None

    async def send(self, data: bytes) -> None:
        if self.conn is not None and self.stdin:
            await self.conn.send(data)

    def close_stdin(self) -> None:
        if self.conn is not None:
            self.conn.close_stdin()

    async def resize(self, height: int, width: int) -> None:
        await self.backend.run(self.session.resize, height, width)

    async def exit_code(self) -> int | None:
        """After the output ended: the session's exit code (recorded by the engine)."""
        self._finished = True
        try:
            return await self.backend.run_long(self.stream.finish)
        except CtrError:
            return None

    def close(self) -> None:
        """Leave: after the end, just free; while it runs, detach as the engine does (conmon
        closes a non-tty session's stdin) in a pool thread."""
        if self._closed or self._finished:
            return
        self._closed = True
        ended = self.conn is None or self.conn.eof
        self.backend.background(self.stream.close if ended else self.stream.detach)
