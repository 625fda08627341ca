"""A ``Cli`` (tests/cli/conftest.py) that runs every command with ``--url`` against the
socket service on its roots: the CLI's own tests, run through the client."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from jupyter_ctr.engine import Runtime
from jupyter_ctr.server.socket_service import SocketService
from tests.cli.conftest import Cli


class RemoteCli(Cli):
    """``python -m jupyter_ctr.cli --url unix://SOCKET ...``; ``root``/``run_root`` stay the
    service's roots, for the tests that look at them."""

    def __init__(self, base: Path, socket: str) -> None:
        super().__init__(base)
        self.socket = socket

    def argv(self, *args: str) -> list[str]:
        local = super().argv(*args)
        return [*local[:3], "--url", f"unix://{self.socket}", *local[7:]]


def serve(root: Path, run_root: Path, socket: str) -> Iterator[None]:
    """The socket service on these roots, in a thread, for as long as the generator lives."""
    loop = asyncio.new_event_loop()
    svc = SocketService(socket, Runtime(root, run_root))
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(lambda: (svc.start(), started.set()))
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        yield
    finally:
        asyncio.run_coroutine_threadsafe(svc.stop(), loop).result(15)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        if os.path.exists(socket):
            os.unlink(socket)
