"""Live stdio of a container or an exec session, as the server's pumps see it: ``recv()``
output chunks, ``send()`` stdin, ``close_stdin()``, ``exit_code()`` - all on the IOLoop.

Containers go through conmon's attach socket directly (its fd on the loop); exec sessions
through the engine's blocking ``start_and_attach``/``attach`` in a thread of their own, whose
output reaches the loop through a bounded ThreadFeed (a slow client slows conmon down, not
the server's memory).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..engine import ContainerState
from ..engine.attach import (
    STDERR,
    STDOUT,
    AttachConnection,
    log_complete_size,
    log_replay,
    resize,
)
from ..engine.errors import ContainerStateInvalidError, CtrError, TimeoutCtrError
from .streams import AsyncAttach, ThreadFeed, iterate_in_thread, wait_fd

if TYPE_CHECKING:
    from ..engine import Container
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

    _eof = False
    _closed = False

    def recv_ready(self) -> tuple[int, bytes] | None:
        """A chunk that is already waiting, without blocking (None: none, or the end)."""
        if self._replay_iter is not None or self._eof:
            return None
        try:
            packet = self.conn.conn.recv(timeout=0)
        except (TimeoutError, OSError):
            return None
        if packet is None:
            self._eof = True
        return packet

    async def recv(self) -> tuple[int, bytes] | None:
        if self._eof:
            return None
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
        await self.backend.run(resize, self.ctr, height, width)

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
        if self._eof:
            conn.close()
            return

        def leave() -> None:
            try:
                conn.detach()
            finally:
                conn.close()

        self.backend.background(leave)


class _FeedOut:
    """A binary stream for the engine's exec pump: each write becomes a (stream, bytes)."""

    def __init__(self, feed: ThreadFeed[tuple[int, bytes]], stream: int) -> None:
        self.feed = feed
        self.stream = stream

    def write(self, data: bytes) -> int:
        self.feed.put((self.stream, bytes(data)))
        return len(data)

    def flush(self) -> None:
        pass


class ExecSource:
    """An exec session's stdio: the engine's blocking attach in a thread of its own."""

    def __init__(self, backend: EngineBackend, session: Any, *, start: bool,
                 stdin: bool, detach_keys: str | None,
                 tty_size: tuple[int, int] | None = None) -> None:
        self.backend = backend
        self.session = session
        self.tty = bool(session.config.get("tty"))
        self.stdin = stdin and bool(session.config.get("stdin"))
        self.detached = False
        self._code: int | None = None
        self._stdin_w = -1
        stdin_r = -1
        if self.stdin:
            stdin_r, self._stdin_w = os.pipe()
            os.set_blocking(self._stdin_w, False)
        self._feed: ThreadFeed[tuple[int, bytes]] = ThreadFeed(64)
        feed = self._feed
        outs = (_FeedOut(feed, STDOUT), _FeedOut(feed, STDERR))

        def run() -> None:
            stdin_file = os.fdopen(stdin_r, "rb", buffering=0) if stdin_r != -1 else None
            try:
                if start:
                    code = session.start_and_attach(stdin_file, *outs, detach_keys=detach_keys,
                                                    tty_size=tty_size)
                else:
                    code = session.attach(stdin_file, *outs, detach_keys=detach_keys)
                if code is None:
                    self.detached = True
                self._code = code
            except BaseException as exc:  # noqa: BLE001 - handed to the loop
                feed.fail(exc)
                return
            finally:
                if stdin_file is not None:
                    stdin_file.close()
            feed.end()

        import threading

        threading.Thread(target=run, name="ctr-exec", daemon=True).start()
        self._iter = feed.__aiter__()

    async def recv(self) -> tuple[int, bytes] | None:
        try:
            return await self._iter.__anext__()  # type: ignore[no-any-return]
        except StopAsyncIteration:
            return None

    def recv_ready(self) -> tuple[int, bytes] | None:
        return None

    async def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view and self._stdin_w != -1:
            try:
                n = os.write(self._stdin_w, view)
            except BlockingIOError:
                await wait_fd(self._stdin_w, write=True)
                continue
            except BrokenPipeError:
                return
            view = view[n:]

    def close_stdin(self) -> None:
        if self._stdin_w != -1:
            os.close(self._stdin_w)
            self._stdin_w = -1

    async def resize(self, height: int, width: int) -> None:
        await self.backend.run(self.session.resize, height, width)

    async def exit_code(self) -> int | None:
        return self._code

    def close(self) -> None:
        self._feed.stop()
        self.close_stdin()
