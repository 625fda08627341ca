"""``GET {base_url}ctr/openapi.json``: the OpenAPI document of our routes."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..openapi import document
from .base import CtrHandler


class OpenAPIHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.reply_json(document())


def routes() -> list[tuple[str, type, dict[str, Any]]]:
    return [("/openapi.json", OpenAPIHandler, {})]
