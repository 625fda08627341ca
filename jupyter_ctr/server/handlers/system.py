"""System routes: ``_ping``, ``version``, ``info`` and the event stream (chunked JSON lines)."""

from __future__ import annotations

import json
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...service.event_hub import EventSubscription
from .. import models, params
from .base import DOCKER, LIBPOD, CtrHandler


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
        n = await self.service.counts(self.principal)
        rt = self.service.runtime
        if self.docker:
            self.reply_json(models.docker_info(n, str(rt.root), rt.config.runtime))
        else:
            self.reply_json(models.libpod_info(n, str(rt.root), str(rt.run_root),
                                               rt.config.runtime))


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
        await self.service.check_event_filters(self.principal, filters)
        self.set_status(200)
        self.set_header("Content-Type", "application/json")
        await self.flush()
        feed = self.service.event_feed(self.principal, since=since, until=until,
                                       filters=filters, follow=stream)
        if isinstance(feed, EventSubscription):
            # Too slow for the hub: end the response (the client sees the stream end).
            feed.on_drop = self.end_dropped
        with feed:
            async for ev in feed:
                self.write(json.dumps(models.event_message(ev)) + "\n")
                if not feed.ready():
                    await self.flush()
                if self.client_gone:
                    return
        self.finish()

    def end_dropped(self, reason: str) -> None:
        """The hub dropped this follower (too slow): close the connection."""
        self.log.warning("%s: %s", self.request.path, reason)
        connection = self.request.connection
        if connection is not None:
            connection.close()  # type: ignore[attr-defined]


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
