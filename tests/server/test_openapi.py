"""The OpenAPI document lists exactly the registered routes and methods."""

from __future__ import annotations

import re

from tornado.web import RequestHandler

from jupyter_ctr.server.handlers import NotFoundHandler, routes

METHODS = ("get", "head", "post", "put", "delete", "patch")


def template(pattern: str) -> str:
    out = pattern.replace("/v(?P<version>[^/]+)/libpod", "/v{version}/libpod")
    out = out.replace("(?:/v(?P<version>[0-9][0-9.]*))?", "")
    return re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", out)


def registered() -> set[tuple[str, str]]:
    ops = set()
    for pattern, handler, _ in routes(""):
        if handler is NotFoundHandler:
            continue
        assert "(" not in template(pattern), pattern
        for m in METHODS:
            if getattr(handler, m) is not getattr(RequestHandler, m):
                ops.add((template(pattern), m))
    return ops


def test_document_matches_routes():
    from jupyter_ctr.server.openapi import document

    doc = document()
    documented = {(path, m) for path, item in doc["paths"].items() for m in item}
    assert documented == registered()
    assert doc["openapi"].startswith("3.")


async def test_served(api):
    r = await api.get("ctr/openapi.json")
    assert r.code == 200 and "/v{version}/libpod/containers/create" in r.json()["paths"]
