"""HTTP/1.1 over the service's unix socket, with the standard library only.

Every answer is read from the socket itself (``RawResponse``: Content-Length or chunked
bodies), not with ``http.client``: it costs a CLI command ~10 ms to import (email, ssl), and
a stream reader must wait on the socket with a timeout to look at its stop condition in
between, which ``http.client`` cannot do. Plain requests reuse kept-alive connections (one
per thread at a time: a log follower and the main thread each get their own); streams
(logs, events, export) and hijacked connections (attach, exec start) get their own.

Error answers become the engine's exceptions (client/errors.py).
"""

from __future__ import annotations

import json
import select
import socket
import threading
from urllib.parse import quote, urlencode

from ..engine.errors import CtrError
from .errors import ServiceUnavailableError, error_from

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
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


class Transport:
    """Requests to the service at ``path`` (its unix socket)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._idle: list[socket.socket] = []
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

    def _take(self) -> tuple[socket.socket, bool]:
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        return self.connect(), False

    def _give(self, sock: socket.socket) -> None:
        with self._lock:
            if len(self._idle) < _POOL_MAX:
                self._idle.append(sock)
                return
        sock.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for sock in idle:
            sock.close()

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
        # Our own routes (/api/recordings, /api/sessions) are not under libpod's prefix.
        base = "" if path.startswith("/api/") else LIBPOD
        return base + path + ("?" + urlencode(items) if items else "")

    @staticmethod
    def head(method: str, target: str, headers: Mapping[str, str], length: int) -> bytes:
        lines = [f"{method} {target} HTTP/1.1", "Host: d", f"Content-Length: {length}",
                 *(f"{k}: {v}" for k, v in headers.items())]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def request(self, method: str, path: str, query: Query = None, *, body: Any = None,
                upload: BinaryIO | None = None, upload_size: int = 0,
                not_found: type[CtrError] | None = None) -> tuple[int, bytes]:
        """One request (``body`` sent as JSON, or ``upload``, a file of ``upload_size``
        bytes) on a kept-alive connection; (status, body) of a 1xx-3xx answer, the mapped
        exception otherwise."""
        headers: dict[str, str] = {}
        payload = b""
        if upload is not None:
            headers["Content-Type"] = "application/x-tar"
        elif body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        head = self.head(method, self.url(path, query), headers,
                         upload_size if upload is not None else len(payload))
        while True:
            sock, reused = self._take()
            try:
                sock.sendall(head + payload)
                if upload is not None:
                    sock.sendfile(upload)
                resp = RawResponse.read_head(sock)
                data = resp.read_all()
            except (ServiceUnavailableError, BrokenPipeError, ConnectionResetError) as exc:
                sock.close()
                if reused and upload is None:
                    continue  # the service closed an idle connection: a fresh one
                if isinstance(exc, ServiceUnavailableError):
                    raise
                raise ServiceUnavailableError(
                    f"the jupyter-ctr service at unix://{self.path} closed the connection: "
                    f"{exc}") from None
            except BaseException:
                sock.close()
                raise
            if resp.reusable:
                self._give(sock)
            else:
                sock.close()
            if resp.status >= 400:
                raise error_from(resp.status, data, not_found)
            return resp.status, data

    def json(self, method: str, path: str, query: Query = None, **kw: Any) -> Any:
        """``request`` and its JSON answer (None for an empty one)."""
        _, data = self.request(method, path, query, **kw)
        return json.loads(data) if data else None

    # -- streams and hijacked connections -----------------------------------------------------
    def open(self, method: str, path: str, query: Query = None, *, body: Any = None,
             upgrade: bool = False, not_found: type[CtrError] | None = None,
             extra_headers: Mapping[str, str] | None = None) -> RawResponse:
        """A request on a connection of its own whose answer is read from the raw socket
        (a stream, or with ``upgrade`` a hijacked connection: then raw bytes both ways);
        ``extra_headers`` (X-Registry-Auth) go with it."""
        payload = b"" if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if body is not None else {}
        headers.update(extra_headers or {})
        if upgrade:
            headers.update(Connection="Upgrade", Upgrade="tcp")
        sock = self.connect()
        try:
            sock.sendall(self.head(method, self.url(path, query), headers, len(payload))
                         + payload)
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
        self._eof = False

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
    def reusable(self) -> bool:
        """The body was read whole and the service keeps the connection open."""
        return self._done and not self._eof and not self._raw and \
            self.headers.get("connection", "").lower() != "close"

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
                # the last chunk and its blank line (no trailers): whole before the
                # connection may carry the next answer
                tail = self._raw.find(b"\r\n\r\n", end)
                if tail < 0:
                    break
                self._done = True
                del self._raw[:tail + 4]
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
                self._done = self._eof = True
                return None
            self._raw += data

    def chunks(self, stopped: Callable[[], bool] | None = None,
               poll: float = 0.2) -> Iterator[bytes]:
        """The body as it comes (a followed stream), closing the response at the end; with
        ``stopped``, also ends once it returns true (checked every ``poll`` seconds)."""
        with self:
            while True:
                data = self.read(None if stopped is None else poll)
                if data is None:
                    return
                if data:
                    yield data
                elif stopped is not None and stopped():
                    return

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
