"""The engine inside a kernel: one Runtime and one Door per kernel process, shared by the
widgets (and the magics). The kernel drives the engine in process, daemonless like libpod and
the CLI: the roots come from the same place as the CLI's (``$JUPYTER_CTR_ROOT`` /
``$JUPYTER_CTR_RUNROOT``, else /var/lib/jupyter-ctr and /run/jupyter-ctr), and every act goes
through the one door as this process's user (``Principal.of_process()``), as the CLI's do.

The server the kernel was started by passes its environment on, so a server started with those
variables and its kernels see the same containers (a server configured only through traitlets'
``EngineConfig`` does not tell its kernels: set the variables, or call ``use()``).

Remote mode (client/host.py): with ``$JUPYTER_CTR_HOST=unix:///PATH``, or when the engine's
root is not writable by the kernel's user and the service's default socket exists, the kernel
uses the engine through the service instead (``client.Runtime`` and its ``RemoteDoor``): the
magics and the widgets run the same code on it.
"""

from __future__ import annotations

import threading

from .client.door import RemoteDoor
from .client.host import remote_socket
from .client.runtime import Runtime as RemoteRuntime
from .engine.runtime import Runtime
from .service.door import Door
from .service.principal import Principal

_lock = threading.Lock()
_current: KernelEngine | None = None


class KernelEngine:
    """A Runtime and the Door this kernel acts through."""

    def __init__(self, runtime: Runtime | RemoteRuntime,
                 door: Door | RemoteDoor | None = None) -> None:
        self.runtime = runtime
        if door is None:
            door = RemoteDoor(runtime) if isinstance(runtime, RemoteRuntime) \
                else Door(runtime, Principal.of_process())
        # A RemoteDoor has the Door's methods (client/door.py): the front ends take it as one.
        self.door: Door = door  # type: ignore[assignment]

    def close(self) -> None:
        self.runtime.close()


def engine() -> KernelEngine:
    """This kernel's engine, opened on first use (the CLI's roots)."""
    global _current  # noqa: PLW0603 - the one per kernel
    with _lock:
        if _current is None:
            socket = remote_socket()
            _current = KernelEngine(RemoteRuntime(socket) if socket else Runtime())
        return _current


def door() -> Door:
    """This kernel's door (``engine().door``)."""
    return engine().door


def use(runtime: Runtime | RemoteRuntime | Door | RemoteDoor) -> KernelEngine:
    """Make ``runtime`` (or a Door on one) this kernel's engine: other roots, another policy.
    Widgets made afterwards act through it."""
    global _current  # noqa: PLW0603 - the one per kernel
    made = KernelEngine(runtime.runtime, runtime) if isinstance(runtime, (Door, RemoteDoor)) \
        else KernelEngine(runtime)
    with _lock:
        _current = made
    return made
