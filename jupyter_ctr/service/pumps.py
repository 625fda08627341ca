"""Copying between a client connection and a container's (or exec session's) stdio, on the
event loop. The wire format of the output is the caller's (``encode``: the server passes
Docker's multiplexed framing, or nothing for a tty)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Protocol

from ..engine.conmon_socket import STDERR, STDOUT
from ..engine.stdio import DetachKeyMatcher
from .sources import Source


class Peer(Protocol):
    """The client's end: a byte stream both ways (``recv`` gives b"" at its EOF)."""

    async def send(self, data: bytes) -> None: ...
    async def recv(self, size: int = 65536) -> bytes: ...


def raw(stream: int, data: bytes) -> bytes:
    """Output as it is (a tty: one stream, nothing to tell apart)."""
    return data


async def pump(client: Peer, source: Source, *, stdin: bool,
               encode: Callable[[int, bytes], bytes] = raw,
               streams: frozenset[int] = frozenset({STDOUT, STDERR}),
               detach_keys: bytes = b"") -> str:
    """Output to the client (each chunk through ``encode``), the client's bytes to stdin,
    until the output ends ("exited"), the detach keys are typed ("detached") or the client
    is gone ("gone").

    A client EOF half-closes the container's stdin when stdin is attached; output goes on.
    """
    matcher = DetachKeyMatcher(detach_keys)

    async def output() -> str:
        try:
            while (packet := await source.recv()) is not None:
                stream, data = packet
                if stream in streams:
                    await client.send(encode(stream, data))
        except OSError:
            return "gone"
        return "exited"

    async def input_() -> str:
        while True:
            data = await client.recv()
            if not data:
                if stdin:
                    rest = matcher.flush()
                    if rest:
                        await source.send(rest)
                    source.close_stdin()
                return "eof"
            if not stdin:
                continue
            fwd, detached = matcher.feed(data)
            if fwd:
                await source.send(fwd)
            if detached:
                return "detached"

    out_task = asyncio.create_task(output())
    in_task: asyncio.Task[str] | None = asyncio.create_task(input_())
    try:
        while True:
            waiting: set[asyncio.Task[str]] = {out_task}
            if in_task is not None:
                waiting.add(in_task)
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if out_task in done:
                return out_task.result()
            assert in_task is not None
            result = in_task.result() if in_task.exception() is None else "gone"
            in_task = None
            if result == "detached":
                return "detached"
    finally:
        for task in (out_task, in_task):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task


def streams_wanted(stdout: bool, stderr: bool) -> frozenset[int]:
    return frozenset(s for s, on in ((STDOUT, stdout), (STDERR, stderr)) if on)
