"""``POST /containers/{name}/attach``: hijacked HTTP attach, exactly like Podman and Docker."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...engine.errors import InvalidArgumentError
from ...engine.stdio import DEFAULT_DETACH_KEYS, parse_detach_keys
from ...service.pumps import pump, raw, streams_wanted
from ..framing import mux_frame
from ..hijack import MULTIPLEXED, RAW, HijackedConnection, status_line, wants_upgrade
from .base import DOCKER, LIBPOD, NAME, CtrHandler


class ContainerAttachHandler(CtrHandler):
    """Query: ``stream`` (default true), ``logs``, ``stdin``, ``stdout``, ``stderr`` (none
    given = all), ``detachKeys``. Errors before the hijack are normal JSON errors."""

    @web.authenticated
    @authorized
    async def post(self, name: str, version: str | None = None) -> None:
        keys = parse_detach_keys(self.q("detachKeys", self.q("detachkeys", DEFAULT_DETACH_KEYS))
                                 or "")
        stream = self.q_bool("stream", True)
        logs = self.q_bool("logs")
        chosen = {k: self.q_bool(k) for k in ("stdin", "stdout", "stderr")}
        if not any(chosen.values()):
            chosen = dict.fromkeys(chosen, True)
        if not (stream or logs):
            raise InvalidArgumentError("must specify at least one of stream or logs")
        source = await self.service.open_attach(self.principal, name, logs=logs)
        try:
            upgrade = wants_upgrade(self)
            client = HijackedConnection.take(self)
        except BaseException:
            source.close()
            raise
        try:
            await client.send(status_line(upgrade, RAW if source.tty else MULTIPLEXED))
            if not stream:  # logs only
                source.end_output()
            await pump(client, source, stdin=chosen["stdin"] and source.stdin,
                       encode=raw if source.tty else mux_frame,
                       streams=streams_wanted(chosen["stdout"], chosen["stderr"]),
                       detach_keys=keys)
        except OSError:
            pass
        finally:
            source.close()
            client.close()


def routes() -> list[tuple[str, type, dict[str, Any]]]:
    return [(f"{base}/containers/{NAME}/attach", ContainerAttachHandler, {"flavor": flavor})
            for flavor, base in (("libpod", LIBPOD), ("docker", DOCKER))]
