"""``jupyter-ctr service --socket PATH``: the same handlers without Jupyter, on a unix socket.

There is no token: the socket's mode (0660), owner and group decide who may connect, as for
podman's and Docker's sockets, and the kernel says who did: every request's Principal is the
peer's user (``SO_PEERCRED``: uid, gid, pid; supplementary groups from the group database).
The auth shim below is what the handlers' Jupyter auth (``@web.authenticated``,
``@authorized``, XSRF, origin checks) sees in this mode.

Multi-user (``--socket-group``, ``--instructor-group`` or ``--multi-user``): the socket's
group may connect, and the OwnershipPolicy holds: root and the instructor group see and act
on every container, everyone else on their own only (service/policy.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import grp
import json
import logging
import os
import re
import signal
import socket
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_server.auth.authorizer import AllowAllAuthorizer
from jupyter_server.auth.identity import IdentityProvider, User
from tornado import httputil, web
from tornado.http1connection import HTTP1Connection
from tornado.httpserver import HTTPServer
from tornado.iostream import IOStream, StreamClosedError
from tornado.netutil import bind_unix_socket
from traitlets import Bool, Int, Unicode
from traitlets.config import Config, Configurable
from traitlets.config.loader import JSONFileConfigLoader, PyFileConfigLoader

from ..engine import Runtime
from ..engine.errors import InvalidArgumentError
from ..service.bridge import BridgeLimits
from ..service.container_service import ContainerService
from ..service.principal import Principal
from ..service.rules import PolicyRules, RulesPolicy, cull_forever
from .errors import RouteError, error_body
from .handlers import routes
from .handlers.base import EXTENSION_NAME
from .handlers.images import UploadHandler
from .params import MAX_JSON_BYTES
from .service import SETTINGS_KEY, build_service

log = logging.getLogger("jupyter_ctr.service")

SOCKET_MODE = 0o660
#: The first file descriptor systemd passes (sd_listen_fds(3): SD_LISTEN_FDS_START).
LISTEN_FDS_START = 3
_PEERCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


class ServiceSettings(Configurable):
    """Who may reach the unix socket service and how they are told apart."""

    socket_mode = Int(SOCKET_MODE, help="File mode of the socket (its permissions, owner "
                      "and group are the authentication).").tag(config=True)
    socket_group = Unicode("", help="Group of the socket: its members may connect (and the "
                           "service is multi-user). Default: root's, root only.").tag(config=True)
    instructor_group = Unicode("", help="Members of this group (and root) have the "
                               "instructor role: they see and act on every user's "
                               "containers. Implies multi-user.").tag(config=True)
    multi_user = Bool(False, help="Each user sees and acts on their own containers only "
                      "(OwnershipPolicy); on whenever a socket or instructor group is set."
                      ).tag(config=True)

    @property
    def is_multi_user(self) -> bool:
        return bool(self.multi_user or self.socket_group or self.instructor_group)


def group_id(name: str) -> int:
    """A group's gid, by name or number (InvalidArgumentError if unknown)."""
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        if name.isdigit():
            return int(name)
        raise InvalidArgumentError(f"no such group {name!r}") from None


def peer_credentials(sock: socket.socket) -> tuple[int, int, int]:
    """(pid, uid, gid) of the process at the other end of a unix socket (SO_PEERCRED)."""
    pid, uid, gid = _PEERCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                     _PEERCRED.size))
    return pid, uid, gid


def systemd_sockets(environ: os._Environ[str] | dict[str, str] | None = None
                    ) -> list[socket.socket]:
    """The listening sockets systemd passed this process (socket activation), or ``[]``.

    The sd_listen_fds(3) protocol: ``$LISTEN_FDS`` descriptors from fd 3 are ours when
    ``$LISTEN_PID`` is this process's pid (else they were meant for a parent). The variables
    are unset either way, so that children (conmon, runc, containers) do not see them. The
    sockets are made close-on-exec and non-blocking, as tornado's own.
    """
    env = os.environ if environ is None else environ
    pid = env.pop("LISTEN_PID", "")
    count = env.pop("LISTEN_FDS", "")
    env.pop("LISTEN_FDNAMES", None)
    if not (pid.isdigit() and count.isdigit()) or int(pid) != os.getpid():
        return []
    socks = []
    for fd in range(LISTEN_FDS_START, LISTEN_FDS_START + int(count)):
        sock = socket.socket(fileno=fd)
        if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM:
            raise InvalidArgumentError(f"systemd passed fd {fd}, not a unix stream socket "
                                       "(the socket unit needs ListenStream=/PATH)")
        sock.set_inheritable(False)
        sock.setblocking(False)
        socks.append(sock)
    return socks


def open_to_others(path: str | os.PathLike[str]) -> bool:
    """Whether users other than root's group may connect to the socket at ``path``."""
    st = os.stat(path)
    return bool(st.st_mode & 0o007 or (st.st_mode & 0o070 and st.st_gid != 0))


@functools.lru_cache(maxsize=512)
def _peer_principal(uid: int, gid: int, pid: int,
                    instructor_gids: frozenset[int]) -> Principal:
    return Principal.of_peer(uid, gid, pid, instructor_gids)


@dataclass
class PeerUser(User):
    """The Jupyter user of a socket request, with the Principal its credentials make."""

    principal: Principal | None = None


class SocketIdentityProvider(IdentityProvider):
    """Service mode: the peer's Unix user is the user (no token, no XSRF)."""

    need_token = False

    def __init__(self, instructor_gids: frozenset[int] = frozenset(), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.instructor_gids = instructor_gids

    def get_user(self, handler: web.RequestHandler) -> User:
        # Read once per request, before a websocket upgrade detaches the stream.
        stream = handler.request.connection.stream  # type: ignore[union-attr]
        pid, uid, gid = peer_credentials(stream.socket)
        principal = _peer_principal(uid, gid, pid, self.instructor_gids)
        return PeerUser(username=principal.name, principal=principal)

    def should_check_origin(self, handler: web.RequestHandler) -> bool:
        return False

    def is_token_authenticated(self, handler: web.RequestHandler) -> bool:
        return True  # nothing a browser could forge: skips the XSRF check

    @property
    def auth_enabled(self) -> bool:
        return False


class _ServiceApp:
    """What ExtensionHandlerMixin looks up as ``settings["jupyter_ctr"]`` (its logger)."""

    def __init__(self, logger: logging.Logger) -> None:
        self.log = logger


def make_app(service: ContainerService,
             instructor_gids: frozenset[int] = frozenset()) -> web.Application:
    """The tornado Application of the service: our routes at the root of the socket."""
    settings: dict[str, Any] = {
        SETTINGS_KEY: service,
        EXTENSION_NAME: _ServiceApp(log),
        "base_url": "/",
        "identity_provider": SocketIdentityProvider(instructor_gids),
        "authorizer": AllowAllAuthorizer(),
        "allow_remote_access": True,
        "disable_check_xsrf": True,
        "xsrf_cookies": False,
        "headers": {},
        "websocket_ping_interval": 0,
    }
    return web.Application(routes(""), **settings)


class BodyLimit(httputil.HTTPServerConnectionDelegate):
    """The Application behind one check: a request announcing a body over the JSON limit
    (``MAX_JSON_BYTES``) to a route that takes no upload is answered with a JSON 413 before
    its body is read. (tornado would read up to the limit, then answer a bare 400 with no
    body and reset the connection.)"""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.uploads = [re.compile(pattern + "$") for pattern, handler, _ in routes("")
                        if issubclass(handler, UploadHandler)]

    def start_request(self, server_conn: object,
                      request_conn: httputil.HTTPConnection) -> httputil.HTTPMessageDelegate:
        return _BodyLimitDelegate(self, self.app.start_request(server_conn, request_conn),
                                  request_conn)

    def on_close(self, server_conn: object) -> None:
        self.app.on_close(server_conn)

    def too_large(self, start_line: httputil.RequestStartLine,
                  headers: httputil.HTTPHeaders) -> int:
        """The announced body size if it is over the limit on a route without uploads."""
        length = headers.get("Content-Length", "")
        if not length.isdigit() or int(length) <= MAX_JSON_BYTES:
            return 0
        path = start_line.path.split("?", 1)[0]
        return 0 if any(p.match(path) for p in self.uploads) else int(length)


class _BodyLimitDelegate(httputil.HTTPMessageDelegate):
    def __init__(self, limit: BodyLimit, inner: httputil.HTTPMessageDelegate,
                 conn: httputil.HTTPConnection) -> None:
        self.limit, self.inner, self.conn = limit, inner, conn

    def headers_received(self, start_line: httputil.RequestStartLine | httputil.ResponseStartLine,
                         headers: httputil.HTTPHeaders) -> Any:
        size = self.limit.too_large(start_line, headers) \
            if isinstance(start_line, httputil.RequestStartLine) else 0
        if size and isinstance(self.conn, HTTP1Connection):
            # Detached, the connection reads no body: the answer goes out, then it closes.
            body = json.dumps(error_body(RouteError(
                413, f"request body is too large ({size} bytes): JSON input may have at "
                f"most {MAX_JSON_BYTES} bytes", "payload too large"), 413)).encode()
            head = (f"HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
            task = asyncio.ensure_future(_answer_and_close(self.conn.detach(), head + body))
            _ANSWERING.add(task)  # a task nobody refers to may be collected mid-write
            task.add_done_callback(_ANSWERING.discard)
            return None
        return self.inner.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> Any:
        return self.inner.data_received(chunk)

    def finish(self) -> None:
        self.inner.finish()

    def on_connection_close(self) -> None:
        self.inner.on_connection_close()


_ANSWERING: set[asyncio.Future[None]] = set()


async def _answer_and_close(stream: IOStream, data: bytes) -> None:
    try:
        await stream.write(data)
    except StreamClosedError:
        pass
    finally:
        stream.close()


class SocketService:
    """A running service: ``await start()``, ``stop()``. Used by the CLI and the tests."""

    def __init__(self, socket_path: str | os.PathLike[str], runtime: Runtime | None = None,
                 *, limits: BridgeLimits | None = None,
                 settings: ServiceSettings | None = None,
                 sockets: list[socket.socket] | None = None) -> None:
        self.path = Path(socket_path)
        #: Listening sockets made by systemd (socket activation): served instead of binding.
        self.sockets = sockets or []
        self.settings = settings or ServiceSettings()
        self.socket_gid = group_id(self.settings.socket_group) \
            if self.settings.socket_group else None
        self.instructor_gids = frozenset({group_id(self.settings.instructor_group)}) \
            if self.settings.instructor_group else frozenset()
        self.rules = RulesPolicy(PolicyRules(config=self.settings.config),
                                 self.instructor_gids) if self.settings.is_multi_user else None
        self.service = build_service(runtime=runtime, limits=limits, log=log,
                                     policy=self.rules)
        if self.rules is not None:
            self.rules.bind(self.service.runtime)
        self.culler: asyncio.Task[None] | None = None
        self.server: HTTPServer | None = None

    def start(self) -> None:
        """Bind the socket (its mode and group from the settings), or take systemd's, and
        serve on the running IOLoop."""
        if self.sockets:
            # Socket activation: the socket unit owns the path, its mode and group.
            self.path = Path(self.sockets[0].getsockname())
            socks = self.sockets
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            socks = [bind_unix_socket(str(self.path), mode=self.settings.socket_mode)]
            if self.socket_gid is not None:
                os.chown(self.path, -1, self.socket_gid)
        # Bodies are JSON (bounded); the upload routes raise the limit for their request.
        self.server = HTTPServer(BodyLimit(make_app(self.service, self.instructor_gids)),
                                 max_body_size=MAX_JSON_BYTES, idle_connection_timeout=3600)
        for sock in socks:
            self.server.add_socket(sock)
        if self.rules is not None and self.rules.rules.culls:
            self.culler = asyncio.get_running_loop().create_task(
                cull_forever(self.service, self.rules))
        if self.sockets and not self.settings.is_multi_user and open_to_others(self.path):
            log.warning("%s is open to others than root (its socket unit) but the service is "
                        "single-user: every caller acts on every container; pass "
                        "--socket-group GROUP", self.path)
        log.info("jupyter-ctr service listening on unix://%s (%s%s)", self.path,
                 "multi-user" if self.settings.is_multi_user else "single user",
                 ", socket from systemd" if self.sockets else "")

    async def stop(self) -> None:
        if self.culler is not None:
            self.culler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.culler
            self.culler = None
        if self.server is not None:
            self.server.stop()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.server.close_all_connections(), 5)
            self.server = None
        self.service.close()
        if self.sockets:
            return  # systemd's socket stays: it starts the service again on the next client
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


async def _serve(service: SocketService) -> None:
    service.start()
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, done.set)
    await done.wait()
    await service.stop()


def load_config(path: str | os.PathLike[str]) -> Config:
    """A traitlets config file (``.py``: ``c.PolicyRules.max_running = 2``, or ``.json``)
    for ``ServiceSettings`` and ``PolicyRules`` (``jupyter-ctr service --config FILE``)."""
    file = Path(path).absolute()
    if not file.is_file():
        raise InvalidArgumentError(f"no such config file {str(path)!r}")
    loader_class = JSONFileConfigLoader if file.suffix == ".json" else PyFileConfigLoader
    try:
        return loader_class(file.name, str(file.parent)).load_config()
    except Exception as exc:  # noqa: BLE001 - any error of the user's file: say which
        raise InvalidArgumentError(f"invalid config file {str(path)!r}: {exc}") from None


def serve(socket_path: str | os.PathLike[str], runtime: Runtime | None = None,
          settings: ServiceSettings | None = None) -> int:
    """Serve until SIGINT/SIGTERM; the CLI's ``service`` command. Started by systemd's socket
    unit (jupyter-ctr.socket), it serves that socket instead of binding ``socket_path``."""
    service = SocketService(socket_path, runtime, settings=settings, sockets=systemd_sockets())
    asyncio.run(_serve(service))
    return 0
