"""Checkpoint and restore with CRIU: the helpers behind libpod's Checkpoint/Restore verbs
(engine/container_checkpoint.py) and podman's ``container restore --import``
(Runtime.import_checkpoint).

* ``options``: CheckpointOptions (libpod's ContainerCheckpointOptions), CheckpointStats, and
  the checks that refuse what this engine cannot honour;
* ``criu``: finding CRIU, what the kernel lets it do, its statistics and logs;
* ``archive``: writing and reading checkpoint archives (members, manifest, root filesystem
  diff, limits).

They take paths and plain values and never touch a container's record: the verbs do, under
the container's lock. The public names load on first use (PEP 562), so that importing one
(the CLI's options) does not load tarfile and the archive code.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: the CLI imports this package
if TYPE_CHECKING:
    from typing import Any

    from .archive import CheckpointArchive
    from .criu import find_criu, read_criu_stats
    from .options import CheckpointOptions, CheckpointStats

#: Each public name and the submodule that defines it.
_MODULES = {
    "CheckpointArchive": "archive", "CheckpointOptions": "options",
    "CheckpointStats": "options", "find_criu": "criu", "read_criu_stats": "criu",
}

__all__ = ["CheckpointArchive", "CheckpointOptions", "CheckpointStats", "find_criu",
           "read_criu_stats"]


if not TYPE_CHECKING:  # type checkers see the imports above, and no catch-all __getattr__

    def __getattr__(name: str) -> Any:
        module = _MODULES.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        import importlib  # noqa: PLC0415 - lazy: only when a public name is first used

        value = getattr(importlib.import_module(f".{module}", __name__), name)
        globals()[name] = value  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__})
