"""The base of every REST handler: Jupyter auth (APIHandler), the ContainerService and the
caller's Principal, query helpers, JSON/text replies, and errors through server/errors.py.
Handlers parse (params.py, specgen.py), call the service and render (models.py)."""

from __future__ import annotations

import functools
import json
from typing import Any, ClassVar

from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web
from tornado.iostream import StreamClosedError

from ...engine import limits
from ...engine.errors import CtrError
from ...service.container_service import ContainerService
from ...service.principal import Principal
from .. import errors, models, params
from ..service import SETTINGS_KEY

#: A path segment naming a container, image or exec session.
NAME = r"(?P<name>[^/]+)"
#: Docker's optional version prefix: /v1.41/containers/json and /containers/json alike.
DOCKER = r"(?:/v(?P<version>[0-9][0-9.]*))?"
#: libpod's required version prefix (never checked, as in podman).
LIBPOD = r"/v(?P<version>[^/]+)/libpod"

EXTENSION_NAME = "jupyter_ctr"
#: The header in which a Jupyter server in remote mode (relay.py) tells the service the
#: address its request came from (recorded in events as ``client``; never trusted).
CLIENT_HEADER = "X-Jupyter-Ctr-Client"


class CtrHandler(ExtensionHandlerMixin, APIHandler):
    """Base REST handler. ``flavor`` ("libpod" or "docker") picks the JSON shapes."""

    auth_resource = "containers"
    #: Per-route exceptions to the error table (see errors.StatusOverrides).
    status_overrides: ClassVar[errors.StatusOverrides] = {}

    def initialize(self, name: str = EXTENSION_NAME, flavor: str = "libpod",
                   **route_options: Any) -> None:
        self.name = name
        self.flavor = flavor
        # Not ``self.options``: that would shadow RequestHandler.options (the OPTIONS verb,
        # CORS preflight) and make every OPTIONS request a 500.
        self.route_options = route_options
        self.client_gone = False

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()
        params.check_request(self.request, self.path_kwargs, self.path_args)

    def set_default_headers(self) -> None:
        super().set_default_headers()
        # Podman sends both on every response; clients negotiate from them (docker: _ping).
        self.set_header("Api-Version", models.DOCKER_API_VERSION)
        self.set_header("Libpod-Api-Version", models.LIBPOD_API_VERSION)
        self.set_header("Server", f"Libpod/{models.LIBPOD_API_VERSION} (linux)")

    # -- the service ----------------------------------------------------------------------
    @property
    def service(self) -> ContainerService:
        return service_of(self)

    @property
    def principal(self) -> Principal:
        return principal_of(self)

    @property
    def docker(self) -> bool:
        return self.flavor == "docker"

    def on_connection_close(self) -> None:
        self.client_gone = True
        super().on_connection_close()

    # -- query and body -------------------------------------------------------------------
    def q(self, name: str, default: str | None = None) -> str | None:
        """A query value, strictly: control characters are refused (tornado's own getter
        would turn ``%00`` into nothing and so into the default)."""
        value = params.query_value(self.request, name)
        return default if value is None else value

    def q_bool(self, name: str, default: bool = False) -> bool:
        return params.as_bool(name, self.q(name), default)

    def q_int(self, name: str, default: int | None = None, *, minimum: int | None = None,
              maximum: int = limits.INT64_MAX) -> int | None:
        return params.as_int(name, self.q(name), default, minimum=minimum, maximum=maximum)

    def q_timeout(self, *names: str) -> int | None:
        """Seconds to wait, from the first of ``names`` given (podman's ``timeout``,
        Docker's ``t``); None if none is."""
        for name in names:
            value = self.q_int(name, minimum=0, maximum=limits.TIMEOUT_MAX)
            if value is not None:
                return value
        return None

    def q_list(self, name: str) -> list[str]:
        # prepare() has refused control characters, so tornado's getter changes nothing
        return [v for v in self.get_query_arguments(name) if v != ""]

    def body_json(self, required: bool = True) -> dict[str, Any]:
        return params.json_body(self.request.body, required=required)

    # -- replies --------------------------------------------------------------------------
    def reply_json(self, obj: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(obj))

    def reply_json_text(self, text: str, status: int = 200) -> None:
        """``reply_json`` of JSON already encoded (server/list_json.py)."""
        self.set_status(status)
        self.finish(text)

    def reply_text(self, text: str, status: int = 200) -> None:
        """Podman's WriteResponse for strings: text/plain with a trailing newline."""
        self.set_status(status)
        self.finish(text + "\n", set_content_type="text/plain; charset=us-ascii")

    def reply_empty(self, status: int = 204) -> None:
        self.set_status(status)
        self.finish()

    # -- errors ---------------------------------------------------------------------------
    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        exc = exc_info[1] if exc_info else None
        status = errors.status_for(exc, self.error_overrides()) if exc else status_code
        self.set_status(status)
        if status in (204, 304):
            self.finish()
            return
        self.finish(json.dumps(errors.redact(errors.error_body(exc, status),
                                             self.internal_paths())))

    def error_overrides(self) -> errors.StatusOverrides:
        """This route's exceptions to the error table."""
        return self.status_overrides

    def internal_paths(self) -> list[tuple[str, str]]:
        """Paths no error message may show, with what to say instead: the engine's roots
        (state, bundles, spool files) are the server's business, not the client's."""
        service = self.settings.get(SETTINGS_KEY)
        return [] if service is None else errors.engine_paths(service.runtime)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, CtrError):
            self.log.info("%s %s: %s", self.request.method, self.request.path, value)
            return
        if isinstance(value, StreamClosedError):  # a streaming client went away: no error
            self.log.debug("%s %s: client gone", self.request.method, self.request.path)
            return
        super().log_exception(typ, value, tb)


def service_of(handler: web.RequestHandler) -> ContainerService:
    """The server's ContainerService (server/service.py)."""
    return handler.settings[SETTINGS_KEY]  # type: ignore[no-any-return]


def principal_of(handler: web.RequestHandler) -> Principal:
    """Who asks: in the unix socket service the peer's user (its identity provider found
    it); in the Jupyter server the Jupyter user, acting with the server process's Unix
    identity (a single-user server runs as its user)."""
    user = handler.current_user
    found = getattr(user, "principal", None)
    if isinstance(found, Principal):
        # a Jupyter server relaying its browser's request says where it came from
        return found.with_client(handler.request.headers.get(CLIENT_HEADER))
    return _process_principal(getattr(user, "username", None) or "").with_client(
        handler.request.remote_ip)


@functools.lru_cache(maxsize=64)
def _process_principal(name: str) -> Principal:
    return Principal.of_process(name or None)
