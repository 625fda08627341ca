"""HTTP/1.1 over the service's unix socket, with the standard library only.

Plain requests go through ``http.client`` on a pool of kept-alive connections (one per
thread at a time: a log follower and the main thread each get their own). Streams (logs,
events, export) and hijacked connections (attach, exec start) are read from the raw socket
(``RawResponse``, chunked decoding here), so that a reader can wait on the socket with a
timeout and look at its stop condition in between, which ``http.client`` cannot do.

Error answers become the engine's exceptions (client/errors.py).
"""

from __future__ import annotations

import http.client
import json
import select
import socket
import threading
from urllib.parse import quote, urlencode

from ..engine.errors import CtrError
from .errors import ServiceUnavailableError, error_from

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, BinaryIO

    Query = Mapping[str, Any] | None

#: The libpod API prefix (podman never checks the version; neither does the service).
LIBPOD = "/v4.0.0/libpod"
#: Idle kept-alive connections kept per Transport.
_POOL_MAX = 4
_HEADER_MAX = 64 << 10


def path_part(value: str) -> str:
    """A name or reference as one URL path segment."""
    return quote(value, safe="")


class _UnixConnection(http.client.HTTPConnection):
    """http.client on a connected unix socket."""

    def __init__(self, transport: Transport) -> None:
        super().__init__("localhost")
        self._transport = transport

    def connect(self) -> None:
        self.sock = self._transport.connect()


class Transport:
    """Requests to the service at ``path`` (its unix socket)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._idle: list[_UnixConnection] = []
        self._lock = threading.Lock()

    # -- connections ------------------------------------------------------------------------
    def connect(self) -> socket.socket:
        """A new connected socket; ServiceUnavailableError if the service is not there."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            sock.connect(self.path)
        except OSError as exc:
            sock.close()
            why = exc.strerror or type(exc).__name__
            raise ServiceUnavailableError(
                f"cannot connect to the jupyter-ctr service at unix://{self.path}: {why} "
                "(is `jupyter-ctr service` running, and may this user open its socket?)"
            ) from None
        return sock

    def _take(self) -> tuple[_UnixConnection, bool]:
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        return _UnixConnection(self), False

    def _give(self, conn: _UnixConnection) -> None:
        with self._lock:
            if len(self._idle) < _POOL_MAX:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    # -- plain requests ---------------------------------------------------------------------
    @staticmethod
    def url(path: str, query: Query = None) -> str:
        """``LIBPOD + path`` with ``query`` (None values left out, booleans as true/false,
        lists repeated)."""
        items: list[tuple[str, str]] = []
        for key, value in (query or {}).items():
            if value is None:
                continue
            for one in value if isinstance(value, (list, tuple)) else [value]:
                items.append((key, ("true" if one else "false") if isinstance(one, bool)
                              else str(one)))
        return LIBPOD + path + ("?" + urlencode(items) if items else "")

    def request(self, method: str, path: str, query: Query = None, *, body: Any = None,
                upload: BinaryIO | None = None, upload_size: int = 0,
                not_found: type[CtrError] | None = None) -> tuple[int, bytes]:
        """One request (``body`` sent as JSON, or ``upload``, a file of ``upload_size``
        bytes); (status, body) of a 1xx-3xx answer, the mapped exception otherwise."""
        headers = {"Host": "d"}
        payload: Any = None
        if upload is not None:
            payload = upload
            headers["Content-Length"] = str(upload_size)
            headers["Content-Type"] = "application/x-tar"
        elif body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif method in ("POST", "PUT"):
            payload = b""
        target = self.url(path, query)
        while True:
            conn, reused = self._take()
            try:
                conn.request(method, target, body=payload, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, BrokenPipeError,
                    ConnectionResetError) as exc:
                conn.close()
                if reused and upload is None:
                    continue  # the service closed an idle connection: a fresh one
                raise ServiceUnavailableError(
                    f"the jupyter-ctr service at unix://{self.path} closed the connection: "
                    f"{exc}") from None
            except BaseException:
                conn.close()
                raise
            if resp.will_close:
                conn.close()
            else:
                self._give(conn)
            if resp.status >= 400:
                raise error_from(resp.status, data, not_found)
            return resp.status, data

    def json(self, method: str, path: str, query: Query = None, **kw: Any) -> Any:
        """``request`` and its JSON answer (None for an empty one)."""
        _, data = self.request(method, path, query, **kw)
        return json.loads(data) if data else None

    # -- streams and hijacked connections -----------------------------------------------------
    def open(self, method: str, path: str, query: Query = None, *, body: Any = None,
             upgrade: bool = False,
             not_found: type[CtrError] | None = None) -> RawResponse:
        """A request on a connection of its own whose answer is read from the raw socket
        (a stream, or with ``upgrade`` a hijacked connection: then raw bytes both ways)."""
        payload = b"" if body is None else json.dumps(body).encode()
        lines = [f"{method} {self.url(path, query)} HTTP/1.1", "Host: d",
                 f"Content-Length: {len(payload)}"]
        if body is not None:
            lines.append("Content-Type: application/json")
        if upgrade:
            lines += ["Connection: Upgrade", "Upgrade: tcp"]
        sock = self.connect()
        try:
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
            resp = RawResponse.read_head(sock)
            if resp.status >= 400:
                raise error_from(resp.status, resp.read_all(), not_found)
        except BaseException:
            sock.close()
            raise
        return resp


class RawResponse:
    """An answer read from the socket itself: ``status``, ``headers`` (lower-case names),
    then the body as it comes (``read``), chunked or not."""

    def __init__(self, sock: socket.socket, status: int, headers: dict[str, str],
                 rest: bytes) -> None:
        self.sock = sock
        self.status = status
        self.headers = headers
        self._raw = bytearray(rest)
        self._chunked = headers.get("transfer-encoding", "").lower() == "chunked"
        length = headers.get("content-length")
        self._left: int | None = int(length) if length is not None and not self._chunked \
            else None
        if status in (101, 204, 304):
            self._left = None if status == 101 else 0
        self._done = False

    @classmethod
    def read_head(cls, sock: socket.socket) -> RawResponse:
        """Read the status line and headers (blocking)."""
        buf = bytearray()
        while b"\r\n\r\n" not in buf:
            data = sock.recv(65536)
            if not data or len(buf) > _HEADER_MAX:
                raise ServiceUnavailableError("the jupyter-ctr service closed the connection "
                                              "before it answered")
            buf += data
        head, _, rest = bytes(buf).partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        try:
            status = int(status_line.split()[1])
        except (IndexError, ValueError):
            raise ServiceUnavailableError(f"not an HTTP answer: {status_line[:80]!r}") from None
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return cls(sock, status, headers, rest)

    @property
    def leftover(self) -> bytes:
        """Bytes read past the head (a hijacked connection's first output)."""
        return bytes(self._raw)

    def _decode(self) -> bytes | None:
        """What the buffer holds of the body; None when the body is complete."""
        if self._done:
            return None
        if not self._chunked:
            if self._left is None:
                out = bytes(self._raw)
            else:
                out = bytes(self._raw[:self._left])
                self._left -= len(out)
                if self._left == 0:
                    self._done = True
            self._raw.clear()
            return out if out or not self._done else None
        body = bytearray()
        while True:
            end = self._raw.find(b"\r\n")
            if end < 0:
                break
            size = int(bytes(self._raw[:end]).split(b";")[0] or b"0", 16)
            if size == 0:
                self._done = True
                self._raw.clear()
                return bytes(body) if body else None
            if len(self._raw) < end + 2 + size + 2:
                break
            body += self._raw[end + 2:end + 2 + size]
            del self._raw[:end + 2 + size + 2]
        return bytes(body)

    def read(self, timeout: float | None = None) -> bytes | None:
        """The next bytes of the body; b"" when ``timeout`` passed first; None at its end."""
        while True:
            out = self._decode()
            if out is None:
                return None
            if out:
                return out
            if timeout is not None:
                poller = select.poll()
                poller.register(self.sock, select.POLLIN)
                if not poller.poll(timeout * 1000):
                    return b""
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                data = b""
            if not data:
                self._done = True
                return None
            self._raw += data

    def read_all(self) -> bytes:
        out = bytearray()
        while (data := self.read()) is not None:
            out += data
        return bytes(out)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawResponse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
