"""Hijacked HTTP connections, as Podman and Docker do for attach and exec start: after the
request is validated the handler takes the socket over, writes a bare status line
(``101 UPGRADED`` or ``200 OK``) and then raw bytes flow both ways. Docker's multiplexed
framing (8-byte headers) is used when there is no tty.

The socket is taken out of tornado's IOStream (which cannot half-close) so that a client
that shuts down its writing side (stdin EOF) still receives the rest of the output.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tornado.web import RequestHandler

MULTIPLEXED = "application/vnd.docker.multiplexed-stream"
RAW = "application/vnd.docker.raw-stream"


def wants_upgrade(handler: RequestHandler) -> bool:
    headers = handler.request.headers
    return ("upgrade" in headers.get("Connection", "").lower()
            and headers.get("Upgrade", "").lower() == "tcp")


class HijackedConnection:
    """The client's socket, non-blocking, driven by the running loop."""

    def __init__(self, sock: socket.socket, buffered: bytes = b"") -> None:
        self.sock = sock
        self._buffered = buffered
        self.closed = False

    @classmethod
    def take(cls, handler: RequestHandler) -> HijackedConnection:
        """Detach the handler's connection; bytes tornado had read ahead are kept."""
        stream = handler.detach()
        buf = getattr(stream, "_read_buffer", b"")
        size = getattr(stream, "_read_buffer_size", len(buf))
        buffered = bytes(buf[:size])
        fd = os.dup(stream.socket.fileno())
        stream.close()  # closes tornado's fd; the connection lives on in ours
        sock = socket.socket(fileno=fd)
        sock.setblocking(False)
        return cls(sock, buffered)

    def take_buffered(self) -> bytes:
        """The bytes read ahead of ``recv`` (tornado's, after the request), once."""
        data, self._buffered = self._buffered, b""
        return data

    async def send(self, data: bytes) -> None:
        if data:
            await asyncio.get_running_loop().sock_sendall(self.sock, data)

    async def recv(self, size: int = 65536) -> bytes:
        """Some bytes; b"" at EOF (the client closed or half-closed its side)."""
        if self._buffered:
            data, self._buffered = self._buffered, b""
            return data
        try:
            return await asyncio.get_running_loop().sock_recv(self.sock, size)
        except (ConnectionResetError, BrokenPipeError):
            return b""

    def shutdown_write(self) -> None:
        """Tell the client there is no more output (it may still send)."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_WR)

    def abort(self) -> None:
        """End both directions now; a pending ``recv`` returns b"" (the socket stays open
        until ``close``, so the loop never waits on a closed descriptor)."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


def status_line(upgrade: bool, content_type: str) -> bytes:
    if upgrade:
        head = ("HTTP/1.1 101 UPGRADED\r\n"
                f"Content-Type: {content_type}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
    else:
        head = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n\r\n"
    return head.encode()
