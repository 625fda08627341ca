"""The container engine: a Python implementation of Podman's libpod container API.

Knows nothing of Jupyter: usable from a plain script, a kernel, the CLI or the server.

The public names load on first use (PEP 562): ``python -m jupyter_ctr.engine.cleanup``, which
conmon runs at every container exit, imports this package first and needs little of it.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing costs every CLI command ~2 ms
if TYPE_CHECKING:
    from typing import Any

    from .container import Container
    from .errors import (
        ContainerExistsError,
        ContainerRemovedError,
        ContainerRunningError,
        ContainerStateInvalidError,
        ContainerStoppedError,
        CtrError,
        InvalidArgumentError,
        NoSuchContainerError,
        NoSuchImageError,
        RuntimeMissingError,
    )
    from .events import Event
    from .logs import LogLine
    from .runtime import Runtime
    from .state import ContainerState

#: Each public name and the submodule that defines it.
_MODULES = {
    "Container": "container", "ContainerExistsError": "errors",
    "ContainerRemovedError": "errors", "ContainerRunningError": "errors",
    "ContainerState": "state", "ContainerStateInvalidError": "errors",
    "ContainerStoppedError": "errors", "CtrError": "errors", "Event": "events",
    "InvalidArgumentError": "errors", "LogLine": "logs", "NoSuchContainerError": "errors",
    "NoSuchImageError": "errors", "Runtime": "runtime", "RuntimeMissingError": "errors",
}

__all__ = [
    "Container", "ContainerExistsError", "ContainerRemovedError", "ContainerRunningError",
    "ContainerState", "ContainerStateInvalidError", "ContainerStoppedError", "CtrError", "Event",
    "InvalidArgumentError", "LogLine", "NoSuchContainerError", "NoSuchImageError", "Runtime",
    "RuntimeMissingError",
]


if not TYPE_CHECKING:  # type checkers see the imports above, and no catch-all __getattr__

    def __getattr__(name: str) -> Any:
        module = _MODULES.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        import importlib  # noqa: PLC0415 - lazy: importing it (and warnings) costs every command ~0.5 ms

        value = getattr(importlib.import_module(f".{module}", __name__), name)
        globals()[name] = value  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__})
