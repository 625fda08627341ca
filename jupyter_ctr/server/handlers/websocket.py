"""Websockets for browsers (docs/websocket-protocol.md): container attach and exec in the
terminado-style JSON protocol, Docker's binary ``/containers/{id}/attach/ws``, and events.

Auth as jupyter_server's own websockets: the user comes from the Jupyter identity provider
(403 without one), the authorizer must allow ``execute`` on ``containers``, and the Origin
is checked by WebSocketMixin.check_origin.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import socket
from typing import Any

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.extension.handler import ExtensionHandlerMixin
from jupyter_server.utils import ensure_async
from tornado import web
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from ...engine.conmon_socket import STDERR, STDOUT
from ...engine.errors import CtrError
from ...service.bridge import OWNER, READ_ONLY, WATCHING, AttachBridge
from ...service.container_service import ContainerService
from ...service.event_hub import EventSubscription
from ...service.principal import Principal
from .. import errors, models, params
from .base import DOCKER, EXTENSION_NAME, NAME, principal_of, service_of

_NAMES = {STDOUT: "stdout", STDERR: "stderr"}
#: The kernel's send buffer of an events websocket (bytes): a few hundred events.
EVENTS_SNDBUF = 64 * 1024


class CtrWebSocketHandler(ExtensionHandlerMixin, WebSocketMixin, WebSocketHandler,
                          JupyterHandler):
    auth_resource = "containers"
    auth_action = "execute"

    def initialize(self, name: str = EXTENSION_NAME, **route_options: Any) -> None:
        self.name = name
        self.route_options = route_options  # not self.options: RequestHandler's OPTIONS verb

    @property
    def service(self) -> ContainerService:
        return service_of(self)

    @property
    def principal(self) -> Principal:
        return principal_of(self)

    async def get(self, *args: Any, **kwargs: Any) -> None:
        user = self.current_user
        if user is None:
            raise web.HTTPError(403)
        allowed = await ensure_async(self.authorizer.is_authorized(
            self, user, self.auth_action, self.auth_resource))
        if not allowed:
            raise web.HTTPError(403, "not authorized to use containers")
        params.check_request(self.request, self.path_kwargs, self.path_args)
        await self.before_upgrade(*args, **kwargs)
        await super().get(*args, **kwargs)

    async def before_upgrade(self, *args: Any, **kwargs: Any) -> None:
        """Validate (and look up) before the 101: errors are plain JSON HTTP errors."""

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        exc = exc_info[1] if exc_info else None
        status = errors.status_for(exc) if exc else status_code
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(errors.redact(errors.error_body(exc, status),
                                             errors.engine_paths(self.service.runtime))))

    def public(self, message: str) -> str:
        """``message`` without the engine's internal paths."""
        return errors.redact_text(message, errors.engine_paths(self.service.runtime))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, CtrError):
            self.log.info("%s: %s", self.request.path, value)
            return
        super().log_exception(typ, value, tb)


class BridgeClientHandler(CtrWebSocketHandler):
    """A websocket on an AttachBridge. Subclasses pick the bridge and the encoding."""

    bridge: AttachBridge | None = None
    backlog = 0

    def q_bool(self, name: str, default: bool = False) -> bool:
        return params.as_bool(name, self.get_query_argument(name, None), default)

    def open(self, *args: Any, **kwargs: Any) -> None:
        super().open(*args, **kwargs)
        # Interactive: a keystroke's echo is not held back waiting for the ACK of the
        # previous message (Nagle's algorithm, which tornado leaves on).
        self.set_nodelay(True)
        self._decoders = {s: codecs.getincrementaldecoder("utf-8")("replace")
                          for s in (STDOUT, STDERR)}
        assert self.bridge is not None
        refused = ""
        if self.q_bool("record"):
            try:
                self.bridge.record(True, self.principal.name)
            except (CtrError, OSError, ValueError) as exc:
                refused = str(exc)
        self.bridge.attach(self, self.q_bool("replay"), user=self.principal.name,
                           role=self.joining_role())
        if refused:
            self.deliver_error(refused)

    def joining_role(self) -> str:
        """owner, or watching with ``?shadow=1``."""
        return WATCHING if self.q_bool("shadow") else OWNER

    def on_close(self) -> None:
        if self.bridge is not None:
            self.bridge.detach(self)
        super().on_close()

    def _send(self, message: str | bytes, binary: bool = False) -> None:
        if self.ws_connection is None or self.ws_connection.is_closing():
            return
        size = len(message)
        self.backlog += size
        try:
            fut = self.write_message(message, binary=binary)
        except WebSocketClosedError:
            self.backlog -= size
            return

        def done(sent: Any) -> None:
            self.backlog -= size
            if not sent.cancelled():
                # A client gone with messages pending fails each of them: retrieved here,
                # or every one logs "Task exception was never retrieved" with a traceback.
                sent.exception()
            if self.bridge is not None:
                self.bridge.written()

        fut.add_done_callback(done)

    # -- what the bridge calls (JSON protocol) --------------------------------------------
    def deliver(self, stream: int, data: bytes) -> None:
        text = self._decoders[stream].decode(data)
        if text:
            self._send(json.dumps([_NAMES.get(stream, "stdout"), text]))

    def deliver_exit(self, code: int | None) -> None:
        self._send(json.dumps(["exit", code]))
        self.close(1000, "exited")

    def deliver_error(self, message: str) -> None:
        self._send(json.dumps(["error", self.public(message)]))

    def deliver_session(self, info: dict[str, Any]) -> None:
        self._send(json.dumps(["session", info]))

    def drop(self, reason: str) -> None:
        """The bridge gave up on this client (too slow): close it; the browser reconnects."""
        self.log.warning("%s: %s", self.request.path, reason)
        stream = getattr(self.ws_connection, "stream", None)
        self.close(1008, reason[:120])
        if stream is not None:
            stream.close()  # its buffers hold the backlog: free them now

    async def on_message(self, message: str | bytes) -> None:
        bridge = self.bridge
        if bridge is None:
            return
        if isinstance(message, bytes):
            if bridge.may_type(self):
                await bridge.send(message)
            else:
                self.deliver_error(READ_ONLY)
            return
        try:
            if len(message) > params.MAX_JSON_BYTES:
                raise ValueError("too large")
            msg = json.loads(message)
            kind = msg[0]
        except (ValueError, TypeError, IndexError, KeyError, RecursionError):
            self.deliver_error(f"invalid message {message[:80]!r}: want a JSON array such as "
                               '["stdin", "ls\\n"]')
            return
        try:
            if kind in ("stdin", "set_size", "close_stdin") and not bridge.may_type(self):
                self.deliver_error(READ_ONLY)
            elif kind == "stdin" and isinstance(msg[1], str):
                await bridge.send(msg[1].encode())
            elif kind == "set_size":
                await bridge.resize(int(msg[1]), int(msg[2]))
            elif kind == "close_stdin":
                bridge.close_stdin()
            elif kind == "record" and isinstance(msg[1], bool):
                bridge.record(msg[1], self.principal.name)
            elif kind == "take_over":
                await self.service.take_over(self.principal, bridge, self)
            elif kind == "release":
                bridge.release(self)
            else:
                self.deliver_error(f"unknown message {kind!r}: use stdin, set_size, "
                                   "close_stdin, record, take_over or release")
        except (CtrError, OSError, ValueError, IndexError, OverflowError, TypeError) as exc:
            self.deliver_error(str(exc))


class ContainerAttachSocket(BridgeClientHandler):
    """``/ctr/api/containers/{name}/attach/ws[?replay=1&logs=1&record=1&shadow=1]``: JSON
    protocol."""

    async def before_upgrade(self, name: str, **_: Any) -> None:
        self.bridge = await self.service.attach_bridge(self.principal, name,
                                                       logs=self.q_bool("logs"))


class ExecSocket(BridgeClientHandler):
    """``/ctr/api/exec/{id}/ws[?rows=&cols=&replay=1&record=1&shadow=1]``: starts a created
    session (or attaches to a running one); JSON protocol."""

    async def before_upgrade(self, name: str, **_: Any) -> None:
        rows = params.as_int("rows", self.get_query_argument("rows", None))
        cols = params.as_int("cols", self.get_query_argument("cols", None))
        size = (rows, cols) if rows and cols else None
        self.bridge = await self.service.exec_bridge(self.principal, name, size)


class DockerAttachSocket(BridgeClientHandler):
    """Docker's ``GET /containers/{id}/attach/ws``: output as binary frames of raw bytes (both
    streams), any frame received is stdin."""

    async def before_upgrade(self, name: str, **_: Any) -> None:
        self.bridge = await self.service.attach_bridge(self.principal, name,
                                                       logs=self.q_bool("logs"))

    def deliver(self, stream: int, data: bytes) -> None:
        self._send(data, binary=True)

    def deliver_exit(self, code: int | None) -> None:
        self.close(1000, "exited")

    def deliver_error(self, message: str) -> None:
        self.close(1011, self.public(message)[:120])

    def deliver_session(self, info: dict[str, Any]) -> None:
        """Binary frames are output only: no session messages."""

    def joining_role(self) -> str:
        return OWNER

    async def on_message(self, message: str | bytes) -> None:
        if self.bridge is not None:
            await self.bridge.send(message if isinstance(message, bytes) else message.encode())


class EventsSocket(CtrWebSocketHandler):
    """``/ctr/api/events/ws[?since=&filters=]``: one text frame per event (Docker's events
    message, as ``/events`` sends); each frame waits for the previous one to be flushed."""

    auth_action = "read"

    async def before_upgrade(self, **_: Any) -> None:
        self._since = params.as_time("since", self.get_query_argument("since", None))
        self._filters = params.as_filters(self.get_query_argument("filters", None))
        await self.service.check_event_filters(self.principal, self._filters)

    def open(self, *args: Any, **kwargs: Any) -> None:
        super().open(*args, **kwargs)
        self._feed = self.service.event_feed(self.principal, since=self._since,
                                             filters=self._filters, follow=True)
        if isinstance(self._feed, EventSubscription):
            self._feed.on_drop = self.drop
            # What the kernel holds for a client that stopped reading is bounded (the
            # default grows to megabytes): it is noticed, and dropped, within a few hundred
            # events past its queue.
            stream = getattr(self.ws_connection, "stream", None)
            if stream is not None and stream.socket is not None:
                with contextlib.suppress(OSError):
                    stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, EVENTS_SNDBUF)
        self._task = asyncio.create_task(self._pump())

    def drop(self, reason: str) -> None:
        """The hub gave up on this client (too slow): close it (1008, with the reason); the
        browser reconnects."""
        self.log.warning("%s: %s", self.request.path, reason)
        stream = getattr(self.ws_connection, "stream", None)
        self.close(1008, reason[:120])
        if stream is not None:
            stream.close()  # a client that reads nothing never completes the close

    async def _pump(self) -> None:
        try:
            async for ev in self._feed:
                await self.write_message(json.dumps(models.event_message(ev)))
        except (WebSocketClosedError, Exception):  # noqa: BLE001 - the client left
            pass

    def on_close(self) -> None:
        feed = getattr(self, "_feed", None)
        if feed is not None:
            feed.stop()
        task = getattr(self, "_task", None)
        if task is not None:
            task.cancel()  # no pump left waiting for the follower's next event
        super().on_close()


def routes() -> list[tuple[str, type, dict[str, Any]]]:
    return [
        (f"/api/containers/{NAME}/attach/ws", ContainerAttachSocket, {}),
        (f"/api/exec/{NAME}/ws", ExecSocket, {}),
        ("/api/events/ws", EventsSocket, {}),
        (f"{DOCKER}/containers/{NAME}/attach/ws", DockerAttachSocket, {}),
    ]
