"""Thread feeds (service/streams.py): a producer thread handing items to a coroutine through
a bounded queue, its errors, and a consumer that leaves early."""

from __future__ import annotations

import asyncio
import threading
from typing import BinaryIO

import pytest

from jupyter_ctr.service.streams import (
    StreamClosedError,
    ThreadFeed,
    iterate_in_thread,
    write_in_thread,
)


def test_items_arrive_in_order_then_the_end() -> None:
    async def main() -> list[int]:
        feed = iterate_in_thread(lambda stopped: iter(range(200)), maxsize=4)
        return [item async for item in feed]

    assert asyncio.run(main()) == list(range(200))


def test_the_producers_exception_reaches_the_consumer() -> None:
    def produce(stopped: threading.Event):  # type: ignore[no-untyped-def]
        yield 1
        raise ValueError("broken producer")

    async def main() -> list[int]:
        got = []
        with pytest.raises(ValueError, match="broken producer"):
            async for item in iterate_in_thread(produce):
                got.append(item)
        return got

    assert asyncio.run(main()) == [1]


def test_put_blocks_when_full_and_fails_once_the_consumer_stopped() -> None:
    async def main() -> None:
        feed: ThreadFeed[int] = ThreadFeed(maxsize=2)
        feed.put(1)
        feed.put(2)  # both slots taken: the next put waits for the consumer
        outcome: list[BaseException | None] = []

        def third() -> None:
            try:
                feed.put(3)
                outcome.append(None)
            except StreamClosedError as exc:
                outcome.append(exc)

        producer = threading.Thread(target=third)
        producer.start()
        assert await feed.__anext__() == 1  # frees a slot: the third put goes through
        await asyncio.to_thread(producer.join)
        assert outcome == [None]
        assert feed.ready()
        assert [await feed.__anext__(), await feed.__anext__()] == [2, 3]
        # full again, then the consumer leaves: the blocked producer is told to stop
        feed.put(4)
        feed.put(5)
        producer = threading.Thread(target=third)
        producer.start()
        with feed:
            pass  # leaving the with block stops the feed
        await asyncio.to_thread(producer.join)
        assert isinstance(outcome[-1], StreamClosedError)

    asyncio.run(main())


def test_a_consumer_that_leaves_stops_the_producer() -> None:
    produced: list[int] = []
    finished = threading.Event()

    def produce(stopped: threading.Event):  # type: ignore[no-untyped-def]
        try:
            n = 0
            while True:  # endless, like a log follower
                produced.append(n)
                yield n
                n += 1
        finally:
            finished.set()

    async def main() -> None:
        feed = iterate_in_thread(produce, maxsize=2)
        with feed:
            async for item in feed:
                if item == 3:
                    break
        await asyncio.to_thread(finished.wait, 10)

    asyncio.run(main())
    assert finished.is_set()


def test_write_in_thread_chunks_what_is_written() -> None:
    def write(out: BinaryIO) -> None:
        out.write(b"a" * 10)
        out.write(memoryview(b"bcd"))

    async def main() -> list[bytes]:
        return [chunk async for chunk in write_in_thread(write, chunk=4)]

    assert asyncio.run(main()) == [b"aaaa", b"aaaa", b"aa", b"bcd"]


def test_the_feed_is_empty_after_stop() -> None:
    async def main() -> list[int]:
        feed: ThreadFeed[int] = ThreadFeed()
        feed.stop()
        return [item async for item in feed]

    assert asyncio.run(main()) == []
