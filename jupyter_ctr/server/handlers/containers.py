"""Container routes: libpod's ``/v{version}/libpod/containers/...`` and Docker's
``[/v1.41]/containers/...``. ``flavor`` picks the JSON shapes; the plain verbs (start, stop,
kill, pause, ...) share one handler driven by the route table (VERBS), as podman's generic
handlers do. Handlers parse, call the ContainerService and render."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...engine import Container, LogLine, limits
from ...engine.conmon_socket import STDERR, STDOUT
from ...engine.errors import (
    ContainerRemovedError,
    CtrError,
    NoSuchContainerError,
    TimeoutCtrError,
)
from ...service.stats import Pair
from .. import errors, models, params, specgen
from ..framing import mux_frame
from ..list_json import ListJSON
from .base import DOCKER, LIBPOD, NAME, CtrHandler

#: How long one engine wait call may hold a worker thread before we look at the client again.
WAIT_SLICE = 5.0

_NOT_RUNNING = ["configured", "initialized", "stopped", "exited", "removing"]


# -- list, create, inspect, exists -------------------------------------------------------------
class ContainerListHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def get(self, version: str | None = None) -> None:
        filters = params.container_filters(self.q("filters"))
        snaps = await self.service.list_containers(self.principal, all=self.q_bool("all"),
                                                   filters=filters, limit=self.q_int("limit"))
        self.reply_json_text((DOCKER_LIST if self.docker else LIBPOD_LIST).dumps(snaps))


#: Each container's list item is encoded once per change of its record (server/list_json.py).
LIBPOD_LIST = ListJSON(models.container_libpod_list_item)
DOCKER_LIST = ListJSON(models.container_docker_list_item,
                       live={"Status": lambda snap, now: snap.status_text(now, docker=True)})


class ContainerCreateHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def post(self, version: str | None = None) -> None:
        body = self.body_json()
        image = body.get("Image") if self.docker else body.get("image")
        name = self.q("name")

        def translate(image_config: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
            if self.docker:
                return specgen.from_docker(body, name, image_config)
            return specgen.from_libpod(body, image_config)

        ctr, warnings = await self.service.create(self.principal, image, translate)
        self.reply_json(models.create_response(ctr.id, warnings), 201)


class ContainerInspectHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str, version: str | None = None) -> None:
        insp = await self.service.inspect(self.principal, name)
        if self.docker:
            self.reply_json(models.container_docker_inspect(insp))
        else:
            self.reply_json(models.container_libpod_inspect(insp))


class ContainerExistsHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str, version: str | None = None) -> None:
        await self.service.lookup(self.principal, name)
        self.reply_empty(204)


# -- the plain verbs ------------------------------------------------------------------------
def _no_args(handler: CtrHandler) -> tuple[Any, ...]:
    return ()


def _timeout(*names: str) -> Callable[[CtrHandler], tuple[Any, ...]]:
    """Seconds to wait, from the first of ``names`` given (podman's ``timeout``, Docker's
    ``t``), or None."""
    return lambda handler: (handler.q_timeout(*names),)


def _signal(handler: CtrHandler) -> tuple[Any, ...]:
    return (params.as_signal("signal", handler.q("signal"), "SIGKILL"),)


def _tty_size(handler: CtrHandler) -> tuple[Any, ...]:
    height = handler.q_int("h", minimum=0, maximum=limits.TTY_SIZE_MAX)
    width = handler.q_int("w", minimum=0, maximum=limits.TTY_SIZE_MAX)
    if height is None or width is None:
        raise errors.bad_request("resize needs both h and w")
    return height, width


def _no_content(handler: CtrHandler, result: Any) -> None:
    handler.reply_empty(204)


def _text(handler: CtrHandler, result: Any) -> None:
    handler.reply_text("" if result is None else str(result), 200)


@dataclass(frozen=True)
class Verb:
    """A container verb behind ContainerActionHandler: its arguments (parsed from the query
    before anything is looked up), its reply, and its exceptions to the error table."""

    args: Callable[[CtrHandler], tuple[Any, ...]] = _no_args
    reply: Callable[[CtrHandler, Any], None] = _no_content
    overrides: errors.StatusOverrides = field(default_factory=dict)


#: ``POST /containers/{name}/{verb}`` -> how it is parsed and answered; the service runs it
#: (ContainerService.act).
VERBS: dict[str, Verb] = {
    "start": Verb(),
    "stop": Verb(args=_timeout("timeout", "t")),
    "kill": Verb(args=_signal),
    "pause": Verb(),
    "unpause": Verb(),
    "restart": Verb(args=_timeout("t", "timeout")),
    "init": Verb(overrides=errors.INIT_OVERRIDES),
    "mount": Verb(reply=_text),  # the mount point, as text
    "unmount": Verb(),
    "resize": Verb(args=_tty_size, reply=_text),
}


class ContainerActionHandler(CtrHandler):
    """One of VERBS, named by the route (``verb`` in its kwargs)."""

    def verb(self) -> tuple[str, Verb]:
        name = str(self.route_options["verb"])
        return name, VERBS[name]

    def error_overrides(self) -> errors.StatusOverrides:
        return self.verb()[1].overrides

    @web.authenticated
    @authorized
    async def post(self, name: str, version: str | None = None) -> None:
        verb_name, verb = self.verb()
        args = verb.args(self)
        result = await self.service.act(self.principal, name, verb_name, *args)
        verb.reply(self, result)


class ContainerShouldRestartHandler(CtrHandler):
    """podman-remote asks after an attached run ends; the engine applies restart policies
    itself (conmon's exit command), so the client must never restart on its own."""

    @web.authenticated
    @authorized
    async def post(self, name: str, version: str | None = None) -> None:
        value = await self.service.should_restart(self.principal, name)
        self.reply_json({"Value": value})


class ContainerTopHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str, version: str | None = None) -> None:
        self.reply_json(await self.service.act(self.principal, name, "top"))


class ContainerDeleteHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def delete(self, name: str, version: str | None = None) -> None:
        force = self.q_bool("force")
        timeout = self.q_timeout("t", "timeout")
        try:
            ctr = await self.service.remove(self.principal, name, force=force, timeout=timeout)
        except (NoSuchContainerError, ContainerRemovedError):
            if not self.docker and self.q_bool("ignore"):
                self.reply_json([])
                return
            raise
        if self.docker:
            self.reply_empty(204)
        else:
            self.reply_json(models.remove_report(ctr.id))


# -- wait -----------------------------------------------------------------------------------
class ContainerWaitHandler(CtrHandler):
    """libpod: plain-text exit code, ``condition`` may repeat. Docker: headers at once (the
    docker CLI waits for them before it starts the container), then ``{"StatusCode"}``."""

    @web.authenticated
    @authorized
    async def post(self, name: str, version: str | None = None) -> None:
        ctr = await self.service.lookup(self.principal, name, "wait")
        if self.docker:
            await self._docker(ctr)
            return
        conditions = self.q_list("condition")
        interval = self.q("interval")
        if interval and params.as_duration(interval) is None:
            raise errors.bad_request(f"invalid interval {interval!r}")
        code = await self._wait(ctr, conditions or ["stopped", "exited"])
        self.reply_text(str(code))

    async def _wait(self, ctr: Container, conditions: list[str]) -> int:
        while True:
            try:
                return await self.service.wait(self.principal, ctr, conditions,
                                               timeout=WAIT_SLICE)
            except TimeoutCtrError:
                if self.client_gone:
                    raise web.Finish() from None

    async def _docker(self, ctr: Container) -> None:
        condition = self.q("condition") or "not-running"
        if condition not in ("not-running", "next-exit", "removed"):
            raise errors.bad_request(f"invalid condition {condition!r}: use not-running, "
                                     "next-exit or removed")
        since_ns = time.time_ns()
        self.set_status(200)
        self.set_header("Content-Type", "application/json")
        await self.flush()
        error: str | None = None
        code = -1
        try:
            if condition == "next-exit":
                await self._until_started(ctr, since_ns)
            if condition == "not-running":
                code = max(await self._wait(ctr, _NOT_RUNNING), 0)
            elif condition == "next-exit":
                code = await self._wait(ctr, ["stopped", "exited"])
            else:
                while not await self.service.is_removed(self.principal, ctr):
                    if self.client_gone:
                        raise web.Finish()
                    await asyncio.sleep(0.05)
                raise ContainerRemovedError(f"container {ctr.id} has been removed")
        except ContainerRemovedError:
            recorded = await self.service.recorded_exit_code(self.principal, ctr)
            code = recorded if recorded is not None else 0
        except CtrError as exc:
            error = errors.redact_text(str(exc), self.internal_paths())
        self.finish(json.dumps(models.docker_wait_body(code, error)))

    async def _until_started(self, ctr: Container, since_ns: int) -> None:
        """next-exit: the run that ends next. A container not running now must start (again)
        after the request came in."""
        while not await self.service.started_since(self.principal, ctr, since_ns):
            if self.client_gone:
                raise web.Finish()
            await asyncio.sleep(0.02)


# -- logs -------------------------------------------------------------------------------------
class ContainerLogsHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str, version: str | None = None) -> None:
        stdout, stderr = self.q_bool("stdout"), self.q_bool("stderr")
        if not (stdout or stderr):
            raise errors.bad_request("logs: you must choose at least one stream (stdout or "
                                     "stderr)")
        follow = self.q_bool("follow")
        timestamps = self.q_bool("timestamps")
        tail_arg = self.q("tail")
        tail = None if tail_arg in (None, "", "all") else self.q_int("tail", minimum=-1)
        since = params.as_time("since", self.q("since"))
        until = params.as_time("until", self.q("until"))
        ctr = await self.service.lookup(self.principal, name, "logs")
        framed = not (self.docker and ctr.config.tty)
        content_type = ("application/vnd.docker.multiplexed-stream" if framed
                        else "application/vnd.docker.raw-stream")
        self.set_status(200)
        self.set_header("Content-Type", content_type)
        streams = {"stdout": (STDOUT, stdout), "stderr": (STDERR, stderr)}

        def render(line: LogLine) -> bytes | None:
            stream, wanted = streams.get(line.stream, (STDOUT, stdout))
            if not wanted:
                return None
            data = line.text.encode() + (b"" if line.partial else b"\n")
            if timestamps:
                data = line.timestamp().encode() + b" " + data
            return mux_frame(stream, data) if framed else data

        feed = self.service.log_feed(self.principal, ctr, render, tail=tail, since=since,
                                     until=until, follow=follow)
        pending: list[bytes] = []
        with feed:
            async for chunk in feed:
                pending.append(chunk)
                if not feed.ready() or sum(map(len, pending)) > 1 << 16:
                    self.write(b"".join(pending))
                    pending.clear()
                    await self.flush()
                if self.client_gone:
                    return
        self.finish(b"".join(pending), set_content_type=content_type)


# -- stats ------------------------------------------------------------------------------------
class ContainerStatsHandler(CtrHandler):
    """One container: Docker's stats JSON (the libpod route for one container answers the
    same, as podman's). ``stream`` (default true) sends one sample a second, from the
    service's one stats sampler; the stream ends when the container stops."""

    @web.authenticated
    @authorized
    async def get(self, name: str, version: str | None = None) -> None:
        stream = self.q_bool("stream", True)
        one_shot = self.q_bool("one-shot")
        if not stream:
            [(cur, prev)] = await self.service.stats_now(self.principal, [name])
            self.reply_json(models.container_docker_stats(cur, None if one_shot else prev))
            return
        samples = self.service.stats_stream(self.principal, [name], 1.0)
        try:
            async for [(cur, prev)] in samples:
                self.write(json.dumps(models.container_docker_stats(cur, prev)) + "\n")
                await self.flush()
                if self.client_gone:
                    return
        finally:
            await samples.aclose()


class ContainersStatsHandler(CtrHandler):
    """libpod's ``GET /containers/stats?containers=...``: ``{"Error", "Stats": [...]}``,
    from the service's one stats sampler (every running container the caller may see
    when none is named)."""

    @web.authenticated
    @authorized
    async def get(self, version: str | None = None) -> None:
        stream = self.q_bool("stream", True)
        interval = self.q_int("interval", 5, minimum=1, maximum=limits.TIMEOUT_MAX) or 5
        names = self.q_list("containers")

        if not stream:
            self.set_status(200)
            self.finish(libpod_stats_body(await self.service.stats_now(self.principal, names)))
            return
        samples = self.service.stats_stream(self.principal, names, interval)
        try:
            async for pairs in samples:
                self.write(libpod_stats_body(pairs) + "\n")
                await self.flush()
                if self.client_gone:
                    return
        finally:
            await samples.aclose()


def libpod_stats_body(pairs: list[Pair]) -> str:
    """``{"Error": null, "Stats": [...]}`` as JSON text. Each element is rendered once per
    reading and baseline, whatever the number of clients showing it (``Reading.memo``)."""
    parts = []
    for cur, prev in pairs:
        key = ("libpod", None if prev is None else
               (prev["time_ns"], prev["cpu_ns"], prev["system_ns"]))
        memo = getattr(cur, "memo", None)
        text = None if memo is None else memo.get(key)
        if text is None:
            text = json.dumps(models.container_libpod_stats(cur, prev))
            if memo is not None:
                memo[key] = text
        parts.append(text)
    return '{"Error": null, "Stats": [' + ", ".join(parts) + "]}"


# -- export -----------------------------------------------------------------------------------
class ContainerExportHandler(CtrHandler):
    """The root filesystem as a tar stream in the response body (nothing is written on the
    server side)."""

    @web.authenticated
    @authorized
    async def get(self, name: str, version: str | None = None) -> None:
        ctr = await self.service.lookup(self.principal, name, "export")
        await stream_body(self, self.service.export_feed(self.principal, ctr),
                          "application/x-tar")


async def stream_body(handler: CtrHandler, feed: Any, content_type: str) -> None:
    """Send what a writer thread produces; errors before the first byte become JSON errors."""
    started = False
    with feed:
        async for chunk in feed:
            if not started:
                handler.set_status(200)
                handler.set_header("Content-Type", content_type)
                started = True
            handler.write(chunk)
            await handler.flush()
            if handler.client_gone:
                return
    if not started:
        handler.set_header("Content-Type", content_type)
    handler.finish(set_content_type=content_type)


def routes() -> list[tuple[str, type, dict[str, Any]]]:
    """(pattern, handler, kwargs) relative to the server's prefix; order matters (first
    match wins: fixed names before ``{name}``)."""
    out: list[tuple[str, type, dict[str, Any]]] = []
    for flavor, base in (("libpod", LIBPOD), ("docker", DOCKER)):
        kw = {"flavor": flavor}
        c = f"{base}/containers"
        out += [
            (f"{c}/json", ContainerListHandler, kw),
            (f"{c}/create", ContainerCreateHandler, kw),
        ]
        if flavor == "libpod":
            out.append((f"{c}/stats", ContainersStatsHandler, kw))
        out += [
            (f"{c}/{NAME}/json", ContainerInspectHandler, kw),
            *[(f"{c}/{NAME}/{verb}", ContainerActionHandler, {**kw, "verb": verb})
              for verb in ("start", "stop", "kill", "pause", "unpause", "restart")],
            (f"{c}/{NAME}/wait", ContainerWaitHandler, kw),
            (f"{c}/{NAME}/resize", ContainerActionHandler, {**kw, "verb": "resize"}),
            (f"{c}/{NAME}/logs", ContainerLogsHandler, kw),
            (f"{c}/{NAME}/top", ContainerTopHandler, kw),
            (f"{c}/{NAME}/stats", ContainerStatsHandler, kw),
            (f"{c}/{NAME}/export", ContainerExportHandler, kw),
        ]
        if flavor == "libpod":
            out += [
                (f"{c}/{NAME}/exists", ContainerExistsHandler, kw),
                (f"{c}/{NAME}/init", ContainerActionHandler, {**kw, "verb": "init"}),
                (f"{c}/{NAME}/shouldrestart", ContainerShouldRestartHandler, kw),
                *[(f"{c}/{NAME}/{verb}", ContainerActionHandler, {**kw, "verb": verb})
                  for verb in ("mount", "unmount")],
            ]
        out.append((f"{c}/{NAME}", ContainerDeleteHandler, kw))
    return out

