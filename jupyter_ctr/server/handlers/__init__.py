"""The extension's handlers, one module per area; ``routes(prefix)`` lists them all."""

from __future__ import annotations

from typing import Any

from ..errors import RouteError
from . import (
    attach,
    checkpoint,
    containers,
    exec,
    images,
    labs,
    openapi,
    sessions,
    spec,
    system,
    timeline,
    websocket,
)
from .base import CtrHandler

Route = tuple[str, type, dict[str, Any]]


def routes(prefix: str = "/ctr") -> list[Route]:
    """Every (pattern, handler, kwargs) under ``prefix`` ("/ctr" in Jupyter, "" for the unix
    socket service). Patterns are anchored by tornado; the first match wins."""
    table: list[Route] = [
        *system.routes(),
        *containers.routes(),
        *websocket.routes(),
        *attach.routes(),
        *exec.routes(),
        *checkpoint.routes(),
        *timeline.routes(),
        *images.routes(),
        *spec.routes(),
        *labs.routes(),
        *sessions.routes(),
        *openapi.routes(),
    ]
    table.append((r"/.*", NotFoundHandler, {}))
    return [(prefix + pattern, handler, dict(kwargs)) for pattern, handler, kwargs in table]


class NotFoundHandler(CtrHandler):
    """Any other path under the prefix: a JSON 404 (clients parse error bodies as JSON)."""

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()
        raise RouteError(404, f"no such route: {self.request.method} {self.request.path}",
                         "not found")
