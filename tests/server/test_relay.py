"""Remote mode of the Jupyter extension (server/relay.py): the REST, stream, hijack and
websocket tests of tests/server again, with the Jupyter server relaying every ``/ctr/`` route
to a ``jupyter-ctr service`` on the same engine; the same assertions. The tests that look at
the in-process engine's own objects stay in their modules."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_ctr.engine import Runtime
from jupyter_ctr.service.bridge import BridgeLimits
from tests.conftest import socket_service
from tests.server import (
    test_bad_input,
    test_checkpoint,
    test_errors,
    test_logs,
    test_rest,
    test_sessions,
    test_streams,
)
from tests.server.test_streams import attach_url  # noqa: F401 - a fixture of those tests

pytestmark = pytest.mark.timeout(180)

#: Tests of the in-process extension's own objects (its service's settings and bridges).
IN_PROCESS_ONLY = {"test_ws_flow_control_bounds_memory"}


@pytest.fixture(scope="module")
def relay_socket(engine_roots: tuple[Path, Path]) -> Iterator[str]:
    """The service on the session's engine (short path: unix socket paths stop at 108
    bytes)."""
    path = f"/tmp/jcrelay-{os.getpid()}.sock"
    # the bridge limits of test_streams' in-process server
    limits = BridgeLimits(linger=1.0, high_water=256 * 1024, low_water=64 * 1024,
                          replay_bytes=4096, stall_timeout=2.0)
    with socket_service(path, Runtime(*engine_roots), limits):
        yield path


@pytest.fixture
def jp_server_config(relay_socket: str) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_ctr": True}},
        "ContainersApp": {"url": f"unix://{relay_socket}"},
    }


for _module in (test_rest, test_logs, test_errors, test_bad_input,
                test_checkpoint, test_streams, test_sessions):
    for _name in dir(_module):
        if _name.startswith("test_") and _name not in IN_PROCESS_ONLY:
            globals()[_name] = getattr(_module, _name)

