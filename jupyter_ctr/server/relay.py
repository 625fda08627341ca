"""Remote mode of the Jupyter extension: every ``{base_url}ctr/...`` request is relayed to
the engine service's unix socket (``jupyter-ctr service``), byte for byte.

A student's ``jupyter lab`` runs as the student, who cannot run the engine (runc, CRIU and
the engine's root are root's). The server then keeps no engine of its own: it checks Jupyter's
authentication, authorization and origin as the in-process handlers do, and passes the
request on. The service knows the caller by the socket's peer credentials, which are this
server's Unix user, so ownership and policy are the service's, and what the in-process
extension serves (REST in both flavours, streams, uploads, hijacked attach, websockets) the
relay serves the same way.

Plain requests are relayed as HTTP: the body streams to the service as it arrives, the
answer streams back chunk by chunk, each written to the client before the next is read (a
slow client slows the service's producer, never this server's memory). An upgrade (a
websocket, Docker's ``Upgrade: tcp``) or a hijacked attach answer (Docker's raw or
multiplexed stream) turns the connection into a tunnel: raw bytes both ways, half-closes
passed on (a client's stdin EOF reaches the container).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from jupyter_server.utils import ensure_async, url_path_join
from tornado import httputil, web
from tornado.iostream import StreamClosedError

from . import errors
from .handlers.base import CLIENT_HEADER, EXTENSION_NAME
from .hijack import MULTIPLEXED, RAW, HijackedConnection

#: Headers that belong to one connection (RFC 9110 7.6.1) or to this server's own auth:
#: never passed to the service, whose caller is known by the socket.
_NOT_FORWARDED = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "host", "cookie", "authorization", "x-xsrftoken",
    "x-forwarded-for", CLIENT_HEADER.lower()})
#: ... and of the service's answer: this server frames its own reply.
_NOT_RETURNED = frozenset({"connection", "keep-alive", "transfer-encoding", "trailer",
                           "upgrade", "date", "server", "content-length"})
#: The authorizer's action per HTTP method, as jupyter_server's ``@authorized``.
_ACTIONS = {"GET": "read", "HEAD": "read", "POST": "write", "PUT": "write",
            "PATCH": "write", "DELETE": "write"}
_READ = 64 * 1024
#: An answer's status line and headers; more is not an HTTP answer from the service.
_MAX_HEAD = 64 * 1024
#: Answers buffered up to this size before they are written out (streams flush per chunk).
_BATCH = 256 * 1024
#: Seconds a tunnel waits for the client's last bytes once the service is done.
_LINGER = 5.0


class ServiceUnavailable(Exception):
    """The service's socket could not be reached, or it broke off mid-answer."""


class ServiceConnection:
    """One connection to the service's socket: non-blocking, on the running loop, with the
    bytes read ahead of what the caller has taken."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.pending = bytearray()
        self.closed = False

    @classmethod
    async def open(cls, path: str) -> ServiceConnection:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await asyncio.get_running_loop().sock_connect(sock, path)
        except OSError as exc:
            sock.close()
            raise ServiceUnavailable(f"the container service at unix://{path} is not "
                                     f"reachable: {exc.strerror or exc}") from None
        return cls(sock)

    async def send(self, data: bytes) -> None:
        if data:
            await asyncio.get_running_loop().sock_sendall(self.sock, data)

    async def recv(self, size: int = _READ) -> bytes:
        """What was read ahead, else some bytes; b"" at EOF (or a reset)."""
        if self.pending:
            data = bytes(self.pending[:size])
            del self.pending[:size]
            return data
        try:
            return await asyncio.get_running_loop().sock_recv(self.sock, size)
        except (ConnectionResetError, BrokenPipeError):
            return b""

    async def read_until(self, delimiter: bytes, limit: int) -> bytes:
        """Bytes up to and including ``delimiter`` (ServiceUnavailable at EOF or past
        ``limit``)."""
        start = 0
        while (end := self.pending.find(delimiter, start)) < 0:
            if len(self.pending) > limit:
                raise ServiceUnavailable("the container service sent a malformed answer")
            start = max(0, len(self.pending) - len(delimiter) + 1)
            data = await asyncio.get_running_loop().sock_recv(self.sock, _READ)
            if not data:
                raise ServiceUnavailable("the container service closed the connection "
                                         "before it answered")
            self.pending += data
        end += len(delimiter)
        head = bytes(self.pending[:end])
        del self.pending[:end]
        return head

    async def read_exactly(self, size: int) -> AsyncIterator[bytes]:
        """``size`` bytes, in pieces as they come."""
        while size > 0:
            data = await self.recv(min(size, _READ))
            if not data:
                raise ServiceUnavailable("the container service's answer was cut short")
            size -= len(data)
            yield data

    def shutdown_write(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_WR)

    def abort(self) -> None:
        """End the exchange now (a pending recv sees EOF; the service sees its client go)."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.sock.close()


async def body_of(conn: ServiceConnection, method: str, code: int,
                  headers: httputil.HTTPHeaders) -> AsyncIterator[bytes]:
    """The body of the service's answer, unframed (length, chunked, or up to EOF)."""
    if method == "HEAD" or code in (204, 304) or 100 <= code < 200:
        return
    if "chunked" in headers.get("Transfer-Encoding", "").lower():
        while True:
            line = await conn.read_until(b"\r\n", 1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise ServiceUnavailable("the container service sent a malformed chunk"
                                         ) from None
            if size == 0:
                while await conn.read_until(b"\r\n", _MAX_HEAD) != b"\r\n":
                    pass  # trailers: none are passed on
                return
            async for piece in conn.read_exactly(size):
                yield piece
            await conn.read_until(b"\r\n", 2)
    elif "Content-Length" in headers:
        async for piece in conn.read_exactly(int(headers["Content-Length"])):
            yield piece
    else:
        while data := await conn.recv():
            yield data


def is_hijacked(code: int, headers: httputil.HTTPHeaders) -> bool:
    """An answer after which raw bytes flow both ways: an upgrade, or a hijacked attach's
    bare ``200 OK`` (a Docker stream type with no framing; the same types on a framed
    answer are a plain stream, such as logs)."""
    if code == 101:
        return True
    content_type = headers.get("Content-Type", "").split(";")[0].strip()
    return content_type in (RAW, MULTIPLEXED) and "Content-Length" not in headers \
        and "Transfer-Encoding" not in headers


class _TunnelEnd(asyncio.Protocol):
    """One side of a tunnel: what it receives is written to the other side's transport.
    Flow control is the transports' own: when the other side's buffer fills up, this side
    stops reading (and so its peer slows down), until the buffer drains."""

    def __init__(self, tunnel: _Tunnel) -> None:
        self.tunnel = tunnel
        self.transport: asyncio.Transport | None = None
        self.peer: _TunnelEnd | None = None
        self.eof = False
        #: What arrived before the other side's transport was made (the client end reads
        #: while the service's end is still being set up): sent by ``flush_early``.
        self.early: list[bytes] | None = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.early is not None:
            self.early.append(data)
            return
        assert self.peer is not None and self.peer.transport is not None
        self.peer.transport.write(data)

    def eof_received(self) -> bool:
        """A half-close: passed on; the other direction goes on."""
        self.eof = True
        if self.early is None:
            self.pass_eof()
        return True  # keep the transport: the other direction may still flow

    def pass_eof(self) -> None:
        assert self.peer is not None and self.peer.transport is not None
        if self.peer.transport.can_write_eof():
            self.peer.transport.write_eof()
        self.tunnel.half_closed(self)

    def flush_early(self) -> None:
        """Both transports are made: pass on what came early, from now on all at once."""
        early, self.early = self.early or [], None
        assert self.peer is not None and self.peer.transport is not None
        for data in early:
            self.peer.transport.write(data)
        if self.eof:
            self.pass_eof()

    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.tunnel.close()


class _Tunnel:
    """Both ends and the rule of their ending: when the service is done the client is told
    (a half-close) and let go after a short grace for its last bytes (a websocket's closing
    handshake); when both directions are done, or either side is lost, both are closed."""

    def __init__(self) -> None:
        self.client = _TunnelEnd(self)
        self.service = _TunnelEnd(self)
        self.client.peer, self.service.peer = self.service, self.client
        self.done = asyncio.get_running_loop().create_future()
        self.timer: asyncio.TimerHandle | None = None

    def half_closed(self, end: _TunnelEnd) -> None:
        if self.client.eof and self.service.eof:
            self.close()
        elif end is self.service and self.timer is None:
            self.timer = asyncio.get_running_loop().call_later(_LINGER, self.close)

    def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        for end in (self.client, self.service):
            if end.transport is not None and not end.transport.is_closing():
                end.transport.close()  # what was written is still sent
        if not self.done.done():
            self.done.set_result(None)


async def tunnel(client: HijackedConnection, service: ServiceConnection) -> None:
    """Raw bytes both ways between the client's socket and the service's until both are
    done (see _Tunnel); the bytes either side had sent ahead go first."""
    loop = asyncio.get_running_loop()
    ends = _Tunnel()
    ahead_up, ahead_down = client.take_buffered(), bytes(service.pending)
    service.pending.clear()
    try:
        await loop.connect_accepted_socket(lambda: ends.client, sock=client.sock)
        await loop.create_unix_connection(lambda: ends.service, sock=service.sock)
    except OSError:
        ends.close()
        client.close()
        service.close()
        return
    client.closed = service.closed = True  # the transports own the sockets now
    assert ends.client.transport is not None and ends.service.transport is not None
    if ahead_up:
        ends.service.transport.write(ahead_up)
    if ahead_down:
        ends.client.transport.write(ahead_down)
    ends.client.flush_early()
    ends.service.flush_early()
    await ends.done


@web.stream_request_body
class RelayHandler(ExtensionHandlerMixin, APIHandler):
    """Every method on ``{base_url}ctr/...``: Jupyter's auth here, the rest at the service."""

    auth_resource = "containers"
    SUPPORTED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

    upstream: ServiceConnection | None = None
    chunked_body = False
    body_error: OSError | None = None

    def initialize(self, name: str = EXTENSION_NAME, socket_path: str = "",
                   max_body_size: int = 0) -> None:
        self.name = name
        self.socket_path = socket_path
        self.max_body_size = max_body_size

    def wants_upgrade(self) -> bool:
        return "upgrade" in self.request.headers.get("Connection", "").lower()

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()  # Jupyter's identity, host and origin checks, XSRF
        if self.request.method == "OPTIONS":
            return  # CORS preflight: APIHandler answers it
        if self.current_user is None:
            raise web.HTTPError(403)
        action = "execute" if self.wants_upgrade() else _ACTIONS[self.request.method or ""]
        if not await ensure_async(self.authorizer.is_authorized(
                self, self.current_user, action, self.auth_resource)):
            raise web.HTTPError(403, f"not authorized to {action} containers")
        if self.max_body_size and self.request.connection is not None \
                and hasattr(self.request.connection, "set_max_body_size"):
            self.request.connection.set_max_body_size(self.max_body_size)
        try:
            self.upstream = await ServiceConnection.open(self.socket_path)
            await self.upstream.send(self.request_head())
        except (ServiceUnavailable, OSError) as exc:
            self.close_upstream()
            raise web.HTTPError(503, str(exc)) from None

    def target(self) -> str:
        """The request's path and query at the service (its routes have no prefix)."""
        prefix = url_path_join(self.base_url, "ctr")
        uri = self.request.uri or ""
        return uri[len(prefix):] if uri.startswith(prefix) else uri

    def request_head(self) -> bytes:
        headers = self.request.headers
        lines = [f"{self.request.method} {self.target() or '/'} HTTP/1.1", "Host: localhost",
                 f"{CLIENT_HEADER}: {self.request.remote_ip or ''}"]
        for name, value in headers.get_all():
            if name.lower() not in _NOT_FORWARDED:
                lines.append(f"{name}: {value}")
        if self.wants_upgrade():
            lines += ["Connection: Upgrade", f"Upgrade: {headers.get('Upgrade', '')}"]
        else:
            lines.append("Connection: close")
            if "Content-Length" not in headers and \
                    "chunked" in headers.get("Transfer-Encoding", "").lower():
                self.chunked_body = True
                lines.append("Transfer-Encoding: chunked")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def data_received(self, chunk: bytes) -> None:
        if self.upstream is None or self.body_error is not None:
            return
        frame = b"%x\r\n%b\r\n" % (len(chunk), chunk) if self.chunked_body else chunk
        try:
            await self.upstream.send(frame)
        except OSError as exc:
            # The service stopped reading (it refused the request): its answer says why.
            self.body_error = exc

    @web.authenticated
    async def get(self, path: str = "") -> None:
        await self.relay()

    head = post = put = patch = delete = get

    async def relay(self) -> None:
        conn = self.upstream
        assert conn is not None
        try:
            if self.chunked_body and self.body_error is None:
                with contextlib.suppress(OSError):
                    await conn.send(b"0\r\n\r\n")
            head = await conn.read_until(b"\r\n\r\n", _MAX_HEAD)
            first, _, rest = head.decode("latin-1").partition("\r\n")
            start = httputil.parse_response_start_line(first)
            headers = httputil.HTTPHeaders.parse(rest)
        except (ServiceUnavailable, httputil.HTTPInputError, OSError) as exc:
            self.close_upstream()
            raise web.HTTPError(502, f"the container service did not answer: {exc}"
                                ) from None
        if is_hijacked(start.code, headers):
            self.upstream = None  # the tunnel owns it now
            client = HijackedConnection.take(self)
            if client.sock.family in (socket.AF_INET, socket.AF_INET6):
                # Interactive: an echo is not held back waiting for the ACK of the previous
                # segment (Nagle), as the in-process websockets (set_nodelay) do.
                client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                await client.send(head)  # the service's own answer: its status and headers
            except OSError:
                client.close()
                conn.close()
                return
            await tunnel(client, conn)
            return
        try:
            await self.relay_answer(conn, start, headers)
        finally:
            self.close_upstream()

    async def relay_answer(self, conn: ServiceConnection, start: httputil.ResponseStartLine,
                           headers: httputil.HTTPHeaders) -> None:
        self.set_status(start.code, start.reason or None)
        seen: set[str] = set()
        for name, value in headers.get_all():
            if name.lower() in _NOT_RETURNED:
                continue
            if name in seen:
                self.add_header(name, value)
            else:
                self.set_header(name, value)  # replaces this server's default
                seen.add(name)
        content_type = headers.get("Content-Type", "application/json")
        streaming = "Content-Length" not in headers
        buffered = 0
        try:
            async for piece in body_of(conn, self.request.method or "", start.code, headers):
                self.write(piece)
                buffered += len(piece)
                if streaming or buffered >= _BATCH:
                    buffered = 0
                    await self.flush()
            self.finish(set_content_type=content_type)
        except ServiceUnavailable:
            # The answer was cut short: end ours without a clean ending, as the service did.
            self.close_client()
        except StreamClosedError:
            conn.abort()  # the client went away: so does the service's producer

    def on_connection_close(self) -> None:
        if self.upstream is not None:
            self.upstream.abort()  # the service's producer stops; a pending read ends
        super().on_connection_close()

    def on_finish(self) -> None:
        self.close_upstream()

    def close_upstream(self) -> None:
        if self.upstream is not None:
            self.upstream.close()
            self.upstream = None

    def close_client(self) -> None:
        if self.request.connection is not None:
            stream = getattr(self.request.connection, "stream", None)
            if stream is not None:
                stream.close()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        exc = exc_info[1] if exc_info else None
        self.finish(json.dumps(errors.error_body(exc, status_code)))
