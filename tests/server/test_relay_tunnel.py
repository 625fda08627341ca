"""The relay's tunnel ends (server/relay.py): bytes (and a half-close) one end receives
before the other end's transport is made are kept, then passed on in order."""

from __future__ import annotations

import asyncio

from jupyter_ctr.server.relay import _Tunnel


class Recorded(asyncio.Transport):
    """A transport that keeps what is written to it."""

    def __init__(self) -> None:
        super().__init__()
        self.out: list[bytes] = []
        self.eof = False

    def write(self, data: bytes) -> None:  # type: ignore[override]
        self.out.append(bytes(data))

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.eof = True

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass


def test_early_bytes_wait_for_the_other_end() -> None:
    async def main() -> None:
        ends = _Tunnel()
        client, service = Recorded(), Recorded()
        ends.client.connection_made(client)
        ends.client.data_received(b'["stdin", "ls\\r"]')  # the service's end is not made yet
        ends.client.eof_received()
        ends.service.connection_made(service)
        service.write(b"ahead")  # what tunnel() writes first
        ends.client.flush_early()
        ends.service.flush_early()
        assert service.out == [b"ahead", b'["stdin", "ls\\r"]'] and service.eof
        ends.service.data_received(b"output")
        ends.client.data_received(b"more")
        assert client.out == [b"output"] and service.out[-1] == b"more"
        ends.close()

    asyncio.run(main())
