"""A ``Cli`` (tests/cli/conftest.py) that runs every command with ``--url`` against the
socket service on its roots: the CLI's own tests, run through the client."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from jupyter_ctr.engine import Runtime
from tests.cli.conftest import Cli
from tests.conftest import socket_service


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
    try:
        with socket_service(socket, Runtime(root, run_root)):
            yield
    finally:
        if os.path.exists(socket):
            os.unlink(socket)
