"""``GET /api/containers/{name}/spec?format=toml|yaml|json``: the spec that would create a
container again (service/cellspec.py), as the text of a ``%%ctr spec NAME`` cell: what the
sidebar's "Edit as cell" and "Clone as cell" write, and what the remote client reads."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...engine.errors import InvalidArgumentError
from ...service import cellspec
from .base import NAME, CtrHandler

#: Content types of the formats (TOML's and YAML's registered types).
CONTENT_TYPES = {"toml": "application/toml; charset=utf-8",
                 "yaml": "application/yaml; charset=utf-8"}


class ContainerSpecHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        fmt = self.q("format") or "toml"
        if fmt not in (*cellspec.FORMATS, "json"):
            raise InvalidArgumentError(f"invalid format {fmt!r}: use toml, yaml or json")
        spec = await self.service.container_spec(self.principal, name)
        if fmt == "json":
            self.reply_json(spec)
            return
        self.finish(cellspec.render(spec, fmt), set_content_type=CONTENT_TYPES[fmt])


def routes() -> list[tuple[str, type, dict[str, Any]]]:
    return [(f"/api/containers/{NAME}/spec", ContainerSpecHandler, {})]
