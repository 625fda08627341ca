"""The engine through the service (remote mode): ``Runtime`` and ``Container`` with the
engine's methods, return shapes and errors, over the service's own libpod v4 API on its unix
socket (``jupyter-ctr service --socket PATH``), like podman's ``--remote``.

``RemoteDoor`` is the Door of a remote Runtime: the CLI, the magics and the widgets take it
where they take the in-process Door, and run the same code (see client/door.py). Which one a
front end uses is decided in client/host.py.

Importing this package loads nothing: the CLI asks ``client.host`` whether to go remote on
every command, and pays for the client (http.client, json...) only when it does.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .container import Container
    from .door import RemoteDoor
    from .exec import ExecSession
    from .runtime import Runtime

__all__ = ["Container", "ExecSession", "RemoteDoor", "Runtime"]

_WHERE = {"Runtime": "runtime", "Container": "container", "ExecSession": "exec",
          "RemoteDoor": "door"}


def __getattr__(name: str) -> object:
    """``jupyter_ctr.client.Runtime`` and friends, imported on first use (PEP 562)."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(__import__(f"{__name__}.{module}", fromlist=[name]), name)
