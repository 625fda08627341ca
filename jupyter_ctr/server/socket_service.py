"""``jupyter-ctr service --socket PATH``: the same handlers without Jupyter, on a unix socket.

There is no token: the socket's mode (0660) and owner are the authentication, as for
podman's and Docker's sockets. The auth shim below is what the handlers' Jupyter auth
(``@web.authenticated``, ``@authorized``, XSRF, origin checks) sees in this mode: every
request comes from the one local user who could open the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from pathlib import Path
from typing import Any

from jupyter_server.auth.authorizer import AllowAllAuthorizer
from jupyter_server.auth.identity import IdentityProvider, User
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_unix_socket

from ..engine import Runtime
from ..service.bridge import BridgeLimits
from ..service.container_service import ContainerService
from .handlers import routes
from .handlers.base import EXTENSION_NAME
from .params import MAX_JSON_BYTES
from .service import SETTINGS_KEY, build_service

log = logging.getLogger("jupyter_ctr.service")

SOCKET_MODE = 0o660


class SocketIdentityProvider(IdentityProvider):
    """Service mode: whoever could connect to the socket is the user (no token, no XSRF)."""

    need_token = False

    def get_user(self, handler: web.RequestHandler) -> User:
        return User(username="unix-socket", name="unix socket")

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


def make_app(service: ContainerService) -> web.Application:
    """The tornado Application of the service: our routes at the root of the socket."""
    settings: dict[str, Any] = {
        SETTINGS_KEY: service,
        EXTENSION_NAME: _ServiceApp(log),
        "base_url": "/",
        "identity_provider": SocketIdentityProvider(),
        "authorizer": AllowAllAuthorizer(),
        "allow_remote_access": True,
        "disable_check_xsrf": True,
        "xsrf_cookies": False,
        "headers": {},
        "websocket_ping_interval": 0,
    }
    return web.Application(routes(""), **settings)


class SocketService:
    """A running service: ``await start()``, ``stop()``. Used by the CLI and the tests."""

    def __init__(self, socket_path: str | os.PathLike[str], runtime: Runtime | None = None,
                 *, limits: BridgeLimits | None = None) -> None:
        self.path = Path(socket_path)
        self.service = build_service(runtime=runtime, limits=limits, log=log)
        self.server: HTTPServer | None = None

    def start(self) -> None:
        """Bind the socket (mode 0660) and serve on the running IOLoop."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        sock = bind_unix_socket(str(self.path), mode=SOCKET_MODE)
        # Bodies are JSON (bounded); the upload routes raise the limit for their request.
        self.server = HTTPServer(make_app(self.service), max_body_size=MAX_JSON_BYTES,
                                 idle_connection_timeout=3600)
        self.server.add_socket(sock)
        log.info("jupyter-ctr service listening on unix://%s", self.path)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.server.close_all_connections(), 5)
            self.server = None
        self.service.close()
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


def serve(socket_path: str | os.PathLike[str], runtime: Runtime | None = None) -> int:
    """Serve until SIGINT/SIGTERM; the CLI's ``service`` command."""
    asyncio.run(_serve(SocketService(socket_path, runtime)))
    return 0
