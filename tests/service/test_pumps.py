"""Client <-> stdio copying (service/pumps.py) between scripted ends: the caller's wire format,
stream selection, detach keys, and a client EOF that half-closes stdin."""

from __future__ import annotations

import asyncio

from jupyter_ctr.engine.conmon_socket import STDERR, STDOUT
from jupyter_ctr.service.pumps import pump, raw, streams_wanted

from .test_bridge import ScriptedSource


class Peer:
    """The client's end: bytes it sends come from ``incoming`` (b"" is its EOF)."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue[bytes] = asyncio.Queue()
        self.sent: list[bytes] = []

    async def send(self, data: bytes) -> None:
        self.sent.append(data)

    async def recv(self, size: int = 65536) -> bytes:
        return await self.incoming.get()


def tagged(stream: int, data: bytes) -> bytes:
    return f"<{stream}>".encode() + data


def test_output_is_encoded_and_filtered_until_it_ends() -> None:
    async def main() -> tuple[str, list[bytes], list[bytes], bool]:
        client, source = Peer(), ScriptedSource()
        for item in ((STDOUT, b"out"), (STDERR, b"err"), (STDOUT, b"more"), None):
            source.queue.put_nowait(item)
        result = await pump(client, source, stdin=True, encode=tagged,
                            streams=streams_wanted(True, False))
        return result, client.sent, source.stdin, source.stdin_closed

    assert asyncio.run(main()) == ("exited", [b"<1>out", b"<1>more"], [], False)


def test_stdin_detach_keys_and_raw_output() -> None:
    async def main() -> tuple[str, list[bytes], list[bytes]]:
        client, source = Peer(), ScriptedSource()
        source.queue.put_nowait((STDOUT, b"prompt$ "))
        client.incoming.put_nowait(b"ls\n")
        client.incoming.put_nowait(b"x\x10")
        client.incoming.put_nowait(b"\x11ignored")
        result = await pump(client, source, stdin=True, encode=raw, detach_keys=b"\x10\x11")
        return result, client.sent, source.stdin

    result, sent, stdin = asyncio.run(main())
    assert result == "detached" and sent == [b"prompt$ "]
    assert b"".join(stdin) == b"ls\nx"  # the keys themselves never reach the container


def test_client_eof_half_closes_stdin_and_output_goes_on() -> None:
    async def main() -> tuple[str, list[bytes], list[bytes], bool]:
        client, source = Peer(), ScriptedSource()
        client.incoming.put_nowait(b"data\x10")  # a partial detach sequence, then EOF
        client.incoming.put_nowait(b"")

        async def later() -> None:
            while not source.stdin_closed:
                await asyncio.sleep(0)
            source.queue.put_nowait((STDOUT, b"bye"))
            source.queue.put_nowait(None)

        task = asyncio.create_task(later())
        result = await pump(client, source, stdin=True, detach_keys=b"\x10\x11")
        await task
        return result, client.sent, source.stdin, source.stdin_closed

    result, sent, stdin, closed = asyncio.run(main())
    assert result == "exited" and sent == [b"bye"] and closed
    assert b"".join(stdin) == b"data\x10"  # the held-back key is flushed at EOF


def test_without_stdin_client_bytes_are_dropped() -> None:
    async def main() -> tuple[list[bytes], bool]:
        client, source = Peer(), ScriptedSource()
        client.incoming.put_nowait(b"typed")
        client.incoming.put_nowait(b"")

        async def end() -> None:
            while not client.incoming.empty():
                await asyncio.sleep(0)
            source.queue.put_nowait(None)

        task = asyncio.create_task(end())
        await pump(client, source, stdin=False)
        await task
        return source.stdin, source.stdin_closed

    assert asyncio.run(main()) == ([], False)
