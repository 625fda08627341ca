"""The container engine: a Python implementation of Podman's libpod container API.

Knows nothing of Jupyter: usable from a plain script, a kernel, the CLI or the server.
"""

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

__all__ = [
    "Container", "ContainerExistsError", "ContainerRemovedError", "ContainerRunningError",
    "ContainerState", "ContainerStateInvalidError", "ContainerStoppedError", "CtrError", "Event",
    "InvalidArgumentError", "LogLine", "NoSuchContainerError", "NoSuchImageError", "Runtime",
    "RuntimeMissingError",
]
