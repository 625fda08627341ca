"""The socket service on the session's engine roots, in a thread of the test process, and
a client Runtime on it (``remote``); ``rt`` (tests/conftest.py) removes and checks what a test
made."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_ctr.client import RemoteDoor
from jupyter_ctr.client import Runtime as RemoteRuntime
from jupyter_ctr.engine import Runtime
from tests.conftest import socket_service


@pytest.fixture(scope="module")
def service(engine_roots: tuple[Path, Path]) -> Iterator[str]:
    """The service's socket path (short: unix socket paths stop at 108 bytes)."""
    path = f"/tmp/jcc-{os.getpid()}.sock"
    with socket_service(path, Runtime(*engine_roots)):
        yield path


@pytest.fixture
def remote(service: str, rt: Runtime) -> Iterator[RemoteRuntime]:
    """A client Runtime on the service (the test's containers are removed by ``rt``)."""
    client = RemoteRuntime(f"unix://{service}")
    yield client
    client.close()


@pytest.fixture
def remote_door(remote: RemoteRuntime) -> RemoteDoor:
    return RemoteDoor(remote)
