"""Container routes: libpod's ``/v{version}/libpod/containers/...`` and Docker's
``[/v1.41]/containers/...``. One handler class per route; ``flavor`` picks the JSON shapes."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from typing import Any, BinaryIO

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...engine import Container, LogLine, Runtime, limits
from ...engine.attach import mux_frame
from ...engine.conmon_socket import STDERR, STDOUT
from ...engine.errors import (
    ContainerRemovedError,
    CtrError,
    NoSuchContainerError,
    TimeoutCtrError,
)
from ...engine.logs import read_log
from .. import errors, models, params, specgen
from ..streams import iterate_in_thread, write_in_thread
from .base import DOCKER, LIBPOD, NAME, CtrHandler

#: How long one engine wait call may hold a worker thread before we look at the client again.
WAIT_SLICE = 5.0

_NOT_RUNNING = ["configured", "initialized", "stopped", "exited", "removing"]


# -- helpers ----------------------------------------------------------------------------------
def rfc3339_to_ns(value: str) -> int:
    """The engine's RFC3339 stamps (nanosecond fractions) back to ns; zero time -> 0."""
    if not value or value.startswith("0001-"):
        return 0
    secs = int(models.parse_rfc3339(value.split(".")[0] + "Z"))
    frac = value.split(".", 1)[1].rstrip("Z") if "." in value else "0"
    return secs * 1_000_000_000 + int(frac.ljust(9, "0")[:9])


def _matches(ctr: Container, insp: dict[str, Any], filters: dict[str, list[str]]) -> bool:
    for key, wanted in filters.items():
        if not wanted:
            continue
        if key == "id":
            ok = any(ctr.id.startswith(w) for w in wanted)
        elif key == "name":
            ok = any(re.search(w, ctr.name) for w in wanted)
        elif key == "status":
            status = insp["State"]["Status"]
            names = {status, models._docker_state(status)}
            if status == "created":
                names.add("configured")
            ok = bool(names & set(wanted))
        elif key == "label":
            labels = insp["Config"]["Labels"] or {}
            ok = all((labels.get(w.partition("=")[0]) == w.partition("=")[2]) if "=" in w
                     else w in labels for w in wanted)
        elif key == "exited":
            ok = insp["State"]["Status"] in ("exited", "stopped") and \
                str(insp["State"]["ExitCode"]) in wanted
        elif key == "ancestor":
            ok = any(w in (insp["ImageName"], insp["Image"]) or insp["Image"].startswith(w)
                     or insp["ImageName"].split("/")[-1].split(":")[0] == w for w in wanted)
        else:
            raise errors.bad_request(f"invalid filter {key!r}: use id, name, status, label, "
                                     "exited or ancestor")
        if not ok:
            return False
    return True


def _list(rt: Runtime, all_: bool, filters: dict[str, list[str]],
          limit: int | None) -> list[tuple[Container, dict[str, Any]]]:
    out = []
    for ctr in rt.list_containers(all=all_ or (limit or 0) > 0 or "status" in filters):
        try:
            insp = ctr.inspect()
        except (ContainerRemovedError, NoSuchContainerError):
            continue
        if _matches(ctr, insp, filters):
            out.append((ctr, insp))
    out.sort(key=lambda pair: int(pair[0].config["created"]), reverse=True)
    return out[:limit] if limit and limit > 0 else out


# -- list, create, inspect, exists -------------------------------------------------------------
class ContainerListHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def get(self, version: str | None = None) -> None:
        filters = self.filters()
        pairs = await self.backend.run(_list, self.rt, self.q_bool("all"), filters,
                                       self.q_int("limit"))
        build = models.container_docker_list_item if self.docker else \
            models.container_libpod_list_item
        self.reply_json([build(ctr, insp) for ctr, insp in pairs])

    def filters(self) -> dict[str, list[str]]:
        from ..params import as_filters

        filters = as_filters(self.q("filters"))
        for pattern in filters.get("name", []):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise errors.bad_request(f"invalid name filter {pattern!r}: not a regular "
                                         f"expression ({exc})") from None
        return filters


class ContainerCreateHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def post(self, version: str | None = None) -> None:
        body = self.body_json()
        image = body.get("Image") if self.docker else body.get("image")
        image_config: dict[str, Any] = {}
        if isinstance(image, str) and image:
            image_config = (await self.backend.run(self.rt.get_image, image)).config
        if self.docker:
            kwargs, warnings = specgen.from_docker(body, self.q("name"), image_config)
        else:
            kwargs, warnings = specgen.from_libpod(body, image_config)
        image = kwargs.pop("image")
        command = kwargs.pop("command")
        ctr = await self.backend.run(self.rt.create_container, image, command, **kwargs)
        self.reply_json(models.create_response(ctr.id, warnings), 201)


class ContainerInspectHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str, version: str | None = None) -> None:
        ctr = await self.lookup(name)
        insp = await self.backend.run(ctr.inspect)
        if self.docker:
            self.reply_json(models.container_docker_inspect(insp))
        else:
            self.reply_json(models.container_libpod_inspect(insp))


class ContainerExistsHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str, version: str | None = None) -> None:
        await self.lookup(name)
        self.reply_empty(204)


# -- simple verbs ---------------------------------------------------------------------------
class ContainerStartHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def post(self, name: str, version: str | None = None) -> None:
        ctr = await self.lookup(name)
        await self.backend.run(ctr.start)
        self.reply_empty(204)


class ContainerStopHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def post(self, name: str, version: str | None = None) -> None:
        timeout = self.q_timeout("timeout", "t")
        ctr = await self.lookup(name)
        await self.backend.run_long(ctr.stop, timeout)
        self.reply_empty(204)


class ContainerKillHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def post(self, name: str, version: str | None = None) -> None:
        signum = params.as_signal("signal", self.q("signal"), "SIGKILL")
        ctr = await self.lookup(name)
        await self.backend.run_long(ctr.kill, signum)
        self.reply_empty(204)


class ContainerPauseHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def post(self, name: str, version: str | None = None) -> None:
        ctr = await self.lookup(name)
        await self.backend.run(ctr.pause)
        self.reply_empty(204)


class ContainerUnpauseHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def post(self, name: str, version: str | None = None) -> None:
        ctr = await self.lookup(name)
        await self.backend.run(ctr.unpause)
        self.reply_empty(204)


class ContainerRestartHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def post(self, name: str, version: str | None = None) -> None:
        timeout = self.q_timeout("t", "timeout")
        ctr = await self.lookup(name)
        await self.backend.run_long(ctr.restart, timeout)
        self.reply_empty(204)


class ContainerInitHandler(CtrHandler):
    status_overrides = errors.INIT_OVERRIDES

    @web.authenticated
    @authorized
    async def post(self, name: str, version: str | None = None) -> None:
        ctr = await self.lookup(name)
        await self.backend.run(ctr.init)
        self.reply_empty(204)


class ContainerShouldRestartHandler(CtrHandler):
    """podman-remote asks after an attached run ends; the engine applies restart policies
    itself (conmon's exit command), so the client must never restart on its own."""

    @web.authenticated
    @authorized
    async def post(self, name: str, version: str | None = None) -> None:
        await self.lookup(name)
        self.reply_json({"Value": False})


class ContainerMountHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def post(self, name: str, version: str | None = None) -> None:
        ctr = await self.lookup(name)
        path = await self.backend.run(ctr.mount)
        self.reply_text(str(path))


class ContainerUnmountHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def post(self, name: str, version: str | None = None) -> None:
        ctr = await self.lookup(name)
        await self.backend.run(ctr.unmount)
        self.reply_empty(204)


class ContainerTopHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str, version: str | None = None) -> None:
        ctr = await self.lookup(name)
        self.reply_json(await self.backend.run(ctr.top))


class ContainerResizeHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def post(self, name: str, version: str | None = None) -> None:
        height = self.q_int("h", minimum=0, maximum=limits.TTY_SIZE_MAX)
        width = self.q_int("w", minimum=0, maximum=limits.TTY_SIZE_MAX)
        if height is None or width is None:
            raise errors.bad_request("resize needs both h and w")
        ctr = await self.lookup(name)
        await self.backend.run(ctr.resize, height, width)
        self.reply_text("", 200)


class ContainerDeleteHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def delete(self, name: str, version: str | None = None) -> None:
        force = self.q_bool("force")
        timeout = self.q_timeout("t", "timeout")
        try:
            ctr = await self.lookup(name)
        except (NoSuchContainerError, ContainerRemovedError):
            if not self.docker and self.q_bool("ignore"):
                self.reply_json([])
                return
            raise
        await self.backend.run_long(self.rt.remove_container, ctr, force, timeout)
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
        ctr = await self.lookup(name)
        if self.docker:
            await self._docker(ctr)
            return
        conditions = self.q_list("condition")
        if self.q("interval"):
            from ..params import as_duration

            if as_duration(self.q("interval") or "") is None:
                raise errors.bad_request(f"invalid interval {self.q('interval')!r}")
        code = await self._wait(ctr, conditions or ["stopped", "exited"])
        self.reply_text(str(code))

    async def _wait(self, ctr: Container, conditions: list[str]) -> int:
        while True:
            try:
                return await self.backend.run_long(ctr.wait_for_condition, conditions,
                                                   interval=0.05, timeout=WAIT_SLICE)
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
                while await self.backend.run(self.rt.store.container_exists, ctr.id):
                    if self.client_gone:
                        raise web.Finish()
                    await asyncio.sleep(0.05)
                raise ContainerRemovedError(f"container {ctr.id} has been removed")
        except ContainerRemovedError:
            recorded = await self.backend.run(self.rt.store.exit_code, ctr.id)
            code = recorded if recorded is not None else 0
        except CtrError as exc:
            error = errors.redact_text(str(exc), self.internal_paths())
        self.finish(json.dumps(models.docker_wait_body(code, error)))

    async def _until_started(self, ctr: Container, since_ns: int) -> None:
        """next-exit: the run that ends next. A container not running now must start (again)
        after the request came in."""
        while True:
            insp = await self.backend.run(ctr.inspect)
            if insp["State"]["Status"] in ("running", "paused", "stopping"):
                return
            if rfc3339_to_ns(insp["State"]["StartedAt"]) >= since_ns:
                return
            if self.client_gone:
                raise web.Finish()
            await asyncio.sleep(0.02)


# -- logs -------------------------------------------------------------------------------------
def _log_follower(ctr: Container, stopped: Any, *, tail: int | None, since: float | None,
                  until: float | None, follow: bool) -> Iterator[LogLine]:
    """The engine's log reader, following while the container runs and the client listens."""
    def running() -> bool:
        return not stopped.is_set() and ctr.is_running()

    return read_log(ctr.log_path, tail=tail,
                    since_ns=None if since is None else int(since * 1e9),
                    until_ns=None if until is None else int(until * 1e9),
                    follow=follow, still_running=running)


class ContainerLogsHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str, version: str | None = None) -> None:
        from ..params import as_time

        stdout, stderr = self.q_bool("stdout"), self.q_bool("stderr")
        if not (stdout or stderr):
            raise errors.bad_request("logs: you must choose at least one stream (stdout or "
                                     "stderr)")
        follow = self.q_bool("follow")
        timestamps = self.q_bool("timestamps")
        tail_arg = self.q("tail")
        tail = None if tail_arg in (None, "", "all") else self.q_int("tail", minimum=-1)
        since, until = as_time("since", self.q("since")), as_time("until", self.q("until"))
        ctr = await self.lookup(name)
        framed = not (self.docker and ctr.config.get("tty"))
        content_type = ("application/vnd.docker.multiplexed-stream" if framed
                        else "application/vnd.docker.raw-stream")
        self.set_status(200)
        self.set_header("Content-Type", content_type)
        streams = {"stdout": (STDOUT, stdout), "stderr": (STDERR, stderr)}

        def chunks(stopped: Any) -> Iterator[bytes]:
            for line in _log_follower(ctr, stopped, tail=tail, since=since, until=until,
                                      follow=follow):
                stream, wanted = streams.get(line.stream, (STDOUT, stdout))
                if not wanted:
                    continue
                data = line.text.encode() + (b"" if line.partial else b"\n")
                if timestamps:
                    data = line.timestamp().encode() + b" " + data
                yield mux_frame(stream, data) if framed else data

        feed = iterate_in_thread(chunks, maxsize=256, name="ctr-logs")
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
    same, as podman's). ``stream`` (default true) sends one sample a second."""

    @web.authenticated
    @authorized
    async def get(self, name: str, version: str | None = None) -> None:
        stream = self.q_bool("stream", True)
        one_shot = self.q_bool("one-shot")
        ctr = await self.lookup(name)
        prev = None
        if not one_shot:
            prev = models.stats_sample(await self.backend.run(ctr.stats))
            await asyncio.sleep(0.1 if not stream else 0)
        while True:
            cur = models.stats_sample(await self.backend.run(ctr.stats))
            body = models.container_docker_stats(cur, prev)
            if not stream:
                self.reply_json(body)
                return
            self.write(json.dumps(body) + "\n")
            await self.flush()
            prev = cur
            await asyncio.sleep(1.0)
            if self.client_gone:
                return


class ContainersStatsHandler(CtrHandler):
    """libpod's ``GET /containers/stats?containers=...``: ``{"Error", "Stats": [...]}``."""

    @web.authenticated
    @authorized
    async def get(self, version: str | None = None) -> None:
        stream = self.q_bool("stream", True)
        interval = self.q_int("interval", 5, minimum=1, maximum=limits.TIMEOUT_MAX) or 5
        names = self.q_list("containers")
        if names:
            ctrs = [await self.lookup(n) for n in names]
        else:
            ctrs = await self.backend.run(self.rt.list_containers)

        def sample_all() -> dict[str, dict[str, Any]]:
            return {c.id: models.stats_sample(c.stats()) for c in ctrs}

        prev = await self.backend.run(sample_all)
        await asyncio.sleep(0.1)
        while True:
            cur = await self.backend.run(sample_all)
            body = {"Error": None, "Stats": [models.container_libpod_stats(s, prev.get(i))
                                             for i, s in cur.items()]}
            if not stream:
                self.reply_json(body)
                return
            self.write(json.dumps(body) + "\n")
            await self.flush()
            prev = cur
            await asyncio.sleep(interval)
            if self.client_gone:
                return


# -- export -----------------------------------------------------------------------------------
class ContainerExportHandler(CtrHandler):
    """The root filesystem as a tar stream in the response body (nothing is written on the
    server side)."""

    @web.authenticated
    @authorized
    async def get(self, name: str, version: str | None = None) -> None:
        ctr = await self.lookup(name)

        def export(out: BinaryIO) -> None:
            ctr.export(out)

        await stream_body(self, write_in_thread(export, name="ctr-export"),
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
            (f"{c}/{NAME}/start", ContainerStartHandler, kw),
            (f"{c}/{NAME}/stop", ContainerStopHandler, kw),
            (f"{c}/{NAME}/kill", ContainerKillHandler, kw),
            (f"{c}/{NAME}/pause", ContainerPauseHandler, kw),
            (f"{c}/{NAME}/unpause", ContainerUnpauseHandler, kw),
            (f"{c}/{NAME}/restart", ContainerRestartHandler, kw),
            (f"{c}/{NAME}/wait", ContainerWaitHandler, kw),
            (f"{c}/{NAME}/resize", ContainerResizeHandler, kw),
            (f"{c}/{NAME}/logs", ContainerLogsHandler, kw),
            (f"{c}/{NAME}/top", ContainerTopHandler, kw),
            (f"{c}/{NAME}/stats", ContainerStatsHandler, kw),
            (f"{c}/{NAME}/export", ContainerExportHandler, kw),
        ]
        if flavor == "libpod":
            out += [
                (f"{c}/{NAME}/exists", ContainerExistsHandler, kw),
                (f"{c}/{NAME}/init", ContainerInitHandler, kw),
                (f"{c}/{NAME}/shouldrestart", ContainerShouldRestartHandler, kw),
                (f"{c}/{NAME}/mount", ContainerMountHandler, kw),
                (f"{c}/{NAME}/unmount", ContainerUnmountHandler, kw),
            ]
        out.append((f"{c}/{NAME}", ContainerDeleteHandler, kw))
    return out

