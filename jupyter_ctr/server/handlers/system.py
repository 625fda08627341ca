"""System routes: ``_ping``, ``version``, ``info`` and the event stream (chunked JSON lines)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...engine import ContainerState, Runtime
from ...engine.events import Event
from .. import models, params
from ..streams import iterate_in_thread
from .base import DOCKER, LIBPOD, CtrHandler

S = ContainerState


def counts(rt: Runtime) -> dict[str, int]:
    out = {"total": 0, "running": 0, "paused": 0, "stopped": 0, "images": 0}
    for ctr in rt.list_containers(all=True):
        st = ctr.state
        out["total"] += 1
        if st is S.RUNNING:
            out["running"] += 1
        elif st is S.PAUSED:
            out["paused"] += 1
        elif st in (S.STOPPED, S.EXITED):
            out["stopped"] += 1
    out["images"] = len(rt.list_images())
    return out


class PingHandler(CtrHandler):
    """``GET``/``HEAD /_ping``: clients read the API version headers from here."""

    def set_ping_headers(self) -> None:
        self.set_header("Cache-Control", "no-cache, no-store, must-revalidate")
        self.set_header("Pragma", "no-cache")
        self.set_header("Docker-Experimental", "false")
        self.set_header("OSType", "linux")
        self.set_header("BuildKit-Version", "")

    @web.authenticated
    @authorized
    async def get(self, version: str | None = None) -> None:
        self.set_ping_headers()
        self.finish("OK", set_content_type="text/plain; charset=utf-8")

    @web.authenticated
    @authorized
    async def head(self, version: str | None = None) -> None:
        self.set_ping_headers()
        self.set_header("Content-Length", "2")
        self.finish(set_content_type="text/plain; charset=utf-8")


class VersionHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def get(self, version: str | None = None) -> None:
        self.reply_json(models.version_report())


class InfoHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def get(self, version: str | None = None) -> None:
        n = await self.backend.run(counts, self.rt)
        cfg = self.rt.config
        if self.docker:
            self.reply_json(models.docker_info(n, str(self.rt.root), cfg.runtime))
        else:
            self.reply_json(models.libpod_info(n, str(self.rt.root), str(self.rt.run_root),
                                               cfg.runtime))


class EventsHandler(CtrHandler):
    """Events as JSON lines: past ones from ``since``, then new ones while ``stream`` (default
    true) until ``until`` or the client leaves."""

    @web.authenticated
    @authorized
    async def get(self, version: str | None = None) -> None:
        since = params.as_time("since", self.q("since"))
        until = params.as_time("until", self.q("until"))
        filters = params.as_filters(self.q("filters"))
        stream = self.q_bool("stream", True)
        # Validate the filters before the 200 goes out.
        await self.backend.run(lambda: list(self.rt.events(
            since=0, until=0, filters=filters)))

        def events(stopped: Any) -> Iterator[Event]:
            return self.rt.events(since=since, until=until, filters=filters,
                                  follow=stream, stop=stopped)

        self.set_status(200)
        self.set_header("Content-Type", "application/json")
        await self.flush()
        feed = iterate_in_thread(events, name="ctr-events")
        with feed:
            async for ev in feed:
                self.write(json.dumps(models.event_message(ev)) + "\n")
                if not feed.ready():
                    await self.flush()
                if self.client_gone:
                    return
        self.finish()


def routes() -> list[tuple[str, type, dict[str, Any]]]:
    out: list[tuple[str, type, dict[str, Any]]] = []
    for flavor, base in (("libpod", LIBPOD), ("docker", DOCKER)):
        kw = {"flavor": flavor}
        out += [
            (f"{base}/_ping", PingHandler, kw),
            (f"{base}/version", VersionHandler, kw),
            (f"{base}/info", InfoHandler, kw),
            (f"{base}/events", EventsHandler, kw),
        ]
    return out
