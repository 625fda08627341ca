"""Async edges of the synchronous engine: file descriptors on the event loop, and blocking
producers (log followers, event followers, export) in their own threads feeding the loop
through a bounded hand-off (ThreadFeed), so a slow client slows the producer instead of
growing memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterable
from typing import Any, BinaryIO, Generic, TypeVar, cast

from ..engine.conmon_socket import AttachConnection

T = TypeVar("T")

_ITEM, _ERROR, _END = 0, 1, 2


class StreamClosedError(BrokenPipeError):
    """The consumer went away; the producer thread should stop."""


async def wait_fd(fd: int, *, write: bool = False) -> None:
    """Until ``fd`` is readable (or writable) on the running loop."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[None] = loop.create_future()

    def ready() -> None:
        if not fut.done():
            fut.set_result(None)

    if write:
        loop.add_writer(fd, ready)
    else:
        loop.add_reader(fd, ready)
    try:
        await fut
    finally:
        if write:
            loop.remove_writer(fd)
        else:
            loop.remove_reader(fd)


class ThreadFeed(Generic[T]):
    """A bounded hand-off from one producer thread to a coroutine on the event loop.

    ``put`` blocks the producer while ``maxsize`` items are unconsumed and raises
    StreamClosedError once the consumer stopped; ``async for`` yields the items and re-raises
    the producer's exception.
    """

    def __init__(self, maxsize: int = 64) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[tuple[int, Any]] = asyncio.Queue()
        self._slots = threading.Semaphore(maxsize)
        self.stopped = threading.Event()

    def _post(self, kind: int, value: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody listens
            self._loop.call_soon_threadsafe(self._queue.put_nowait, (kind, value))

    def put(self, item: T) -> None:
        while not self._slots.acquire(timeout=0.2):
            if self.stopped.is_set():
                raise StreamClosedError("the client went away")
        if self.stopped.is_set():
            raise StreamClosedError("the client went away")
        self._post(_ITEM, item)

    def fail(self, exc: BaseException) -> None:
        self._post(_ERROR, exc)

    def end(self) -> None:
        self._post(_END, None)

    def stop(self) -> None:
        self.stopped.set()

    # ``with feed:`` around the consuming loop: however the loop ends (the client went away,
    # a flush failed, a cancel), the producer stops at its next put instead of blocking there
    # for good, with whatever its engine call holds (a container lock, a tar process).
    def __enter__(self) -> ThreadFeed[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def ready(self) -> bool:
        """True when more items (or the end) are already waiting."""
        return not self._queue.empty()

    # An iterator object, not an async generator: a consumer that leaves early leaves no
    # suspended generator for the garbage collector to finalize after the loop has closed.
    def __aiter__(self) -> ThreadFeed[T]:
        return self

    async def __anext__(self) -> T:
        if self.stopped.is_set() and self._queue.empty():
            raise StopAsyncIteration
        try:
            kind, value = await self._queue.get()
        except BaseException:
            self.stopped.set()  # cancelled: the producer stops at its next put
            raise
        if kind == _END:
            self.stopped.set()
            raise StopAsyncIteration
        if kind == _ERROR:
            self.stopped.set()
            raise value
        self._slots.release()
        return cast(T, value)


def _produce(feed: ThreadFeed[T], body: Callable[[], None], name: str) -> ThreadFeed[T]:
    """Run ``body`` (which puts into ``feed``) in a new thread; its end or its exception goes
    to the consumer, and a consumer that went away just stops it."""

    def run() -> None:
        try:
            body()
        except StreamClosedError:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            feed.fail(exc)
            return
        feed.end()

    threading.Thread(target=run, name=name, daemon=True).start()
    return feed


def iterate_in_thread(factory: Callable[[threading.Event], Iterable[T]], *,
                      maxsize: int = 64, name: str = "ctr-stream") -> ThreadFeed[T]:
    """Run ``factory(stopped)`` in a new thread and iterate what it yields, asynchronously.

    ``stopped`` is set when the consumer stops: followers should poll it to end early.
    """
    feed: ThreadFeed[T] = ThreadFeed(maxsize)

    def body() -> None:
        for item in factory(feed.stopped):
            feed.put(item)

    return _produce(feed, body, name)


class _FeedWriter:
    """A binary file object whose writes go to a ThreadFeed (for engine calls that write)."""

    def __init__(self, feed: ThreadFeed[bytes], chunk: int) -> None:
        self._feed = feed
        self._chunk = chunk

    def write(self, data: bytes | bytearray | memoryview) -> int:
        view = memoryview(data).cast("B")
        for i in range(0, len(view), self._chunk):
            self._feed.put(bytes(view[i:i + self._chunk]))
        return len(view)

    def flush(self) -> None:
        pass

    def writable(self) -> bool:
        return True


def write_in_thread(fn: Callable[[BinaryIO], None], *, chunk: int = 1 << 16, maxsize: int = 16,
                    name: str = "ctr-writer") -> ThreadFeed[bytes]:
    """Run ``fn(fileobj)`` in a new thread; iterate the bytes it writes, asynchronously."""
    feed: ThreadFeed[bytes] = ThreadFeed(maxsize)
    return _produce(feed, lambda: fn(cast(BinaryIO, _FeedWriter(feed, chunk))), name)


def report_in_thread(fn: Callable[[Callable[[T], None]], None], *, maxsize: int = 64,
                     name: str = "ctr-reporter") -> ThreadFeed[T]:
    """Run ``fn(report)`` in a new thread; iterate what it reports, asynchronously (a pull's
    progress lines and then its result)."""
    feed: ThreadFeed[T] = ThreadFeed(maxsize)
    return _produce(feed, lambda: fn(feed.put), name)


class AsyncAttach:
    """conmon's attach socket on the event loop: one reader coroutine and one writer at a time."""

    def __init__(self, conn: AttachConnection) -> None:
        self.conn = conn
        self.fd = conn.fileno()
        #: The output ended (conmon closed its side).
        self.eof = False

    def recv_ready(self) -> tuple[int, bytes] | None:
        """A chunk that is already waiting, without waiting (None: none yet, or the end)."""
        if self.eof:
            return None
        try:
            packet = self.conn.recv(timeout=0)
        except (TimeoutError, OSError):
            return None
        self.eof = packet is None
        return packet

    async def recv(self) -> tuple[int, bytes] | None:
        """Next output chunk (1 stdout | 2 stderr, data); None when the output ended."""
        while not self.eof:
            try:
                packet = self.conn.recv(timeout=0)
            except TimeoutError:
                await wait_fd(self.fd)
                continue
            except OSError:
                packet = None
            self.eof = packet is None
            return packet
        return None

    async def send(self, data: bytes) -> None:
        """Write to the container's stdin, waiting (on the loop) while conmon is busy."""
        view = memoryview(data)
        while view:
            sent = self.conn.send_nowait(view)
            view = view[sent:]
            if view:
                await wait_fd(self.fd, write=True)

    def close_stdin(self) -> None:
        self.conn.close_stdin()

    def close(self) -> None:
        self.conn.close()
