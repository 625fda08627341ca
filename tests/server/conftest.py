"""Fixtures for the server tests: a Jupyter server (pytest-jupyter) whose jupyter_ctr engine
runs on the session's short temporary roots, and a small client for our routes."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pytest_jupyter.jupyter_server import *  # noqa: F403 - the jp_* fixtures

from jupyter_ctr.engine import ContainerRemovedError, NoSuchContainerError, Runtime

LIBPOD = "ctr/v4.0.0/libpod"
DOCKER = "ctr/v1.41"


@pytest.fixture
def jp_server_config(engine_roots: tuple[Path, Path]) -> dict[str, Any]:
    root, run_root = engine_roots
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_ctr": True}},
        "EngineConfig": {"root": str(root), "run_root": str(run_root)},
        "ContainersApp": {"linger": 1.0},
    }


@dataclass
class Reply:
    code: int
    body: bytes
    headers: Any

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


class Client:
    """``await api.post("v4.0.0/libpod/containers/x/start")`` -> Reply, never raising."""

    def __init__(self, fetch: Any) -> None:
        self.fetch = fetch

    async def call(self, method: str, path: str, params: Any = None, body: Any = None,
                   **kwargs: Any) -> Reply:
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if body is None and method in ("POST", "PUT"):
            body = b""
        resp = await self.fetch(*path.split("/"), method=method, params=params, body=body,
                                raise_error=False, **kwargs)
        return Reply(resp.code, resp.body or b"", resp.headers)

    async def get(self, path: str, params: Any = None, **kw: Any) -> Reply:
        return await self.call("GET", path, params, **kw)

    async def post(self, path: str, params: Any = None, body: Any = None, **kw: Any) -> Reply:
        return await self.call("POST", path, params, body, **kw)

    async def delete(self, path: str, params: Any = None, **kw: Any) -> Reply:
        return await self.call("DELETE", path, params, **kw)


@pytest.fixture
def api(jp_fetch: Any, rt: Runtime, jp_asyncio_loop: Any) -> Iterator[Client]:
    """A client on the running server; containers are removed (and checked) after the test
    by the ``rt`` fixture. Removal runs in a thread so that the server keeps serving
    meanwhile (an attach bridge must go on reading for conmon to see the container die)."""
    yield Client(jp_fetch)
    jp_asyncio_loop.run_until_complete(asyncio.to_thread(remove_all, rt))


def remove_all(rt: Runtime) -> None:
    """Force-remove every container (dependents go with their dependencies)."""
    for ctr in rt.list_containers(all=True):
        with contextlib.suppress(NoSuchContainerError, ContainerRemovedError):
            rt.remove_container(ctr, force=True, timeout=0)
