"""The engine's settings without traitlets: their defaults, what the engine reads of them
(``EngineSettings``), and a plain ``Settings`` object for the CLI and conmon's exit command,
which start often and should not pay for importing traitlets. The server configures the
engine through ``EngineConfig`` (engine/config.py: traitlets, same names and defaults).

The environment variables ``JUPYTER_CTR_ROOT`` / ``JUPYTER_CTR_RUNROOT`` are read here and
nowhere else; explicit arguments and configuration take precedence over them.
"""

from __future__ import annotations

import os

# typing is for type checkers only (importing it costs every CLI command ~2 ms): at run time
# EngineSettings is a plain class that nothing instantiates.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol
else:
    Protocol = object

RUNTIME = "runc"
CONMON = "conmon"
CRIU = "criu"
CGROUP_PARENT = "/jupyter-ctr"
RUNTIME_SHORTCUTS = True
#: Archive limits (image imports, checkpoint restores), checked from each member's header
#: before a byte of it is written: a member's size, all members' sizes, and their number.
ARCHIVE_MAX_MEMBER_SIZE = 16 << 30
ARCHIVE_MAX_SIZE = 64 << 30
ARCHIVE_MAX_MEMBERS = 1_000_000


def default_root() -> str:
    return os.environ.get("JUPYTER_CTR_ROOT") or "/var/lib/jupyter-ctr"


def default_run_root() -> str:
    return os.environ.get("JUPYTER_CTR_RUNROOT") or "/run/jupyter-ctr"


class EngineSettings(Protocol):
    """What the engine reads of its configuration (``EngineConfig`` or ``Settings``)."""

    root: str
    run_root: str
    runtime: str
    conmon: str
    criu: str
    cgroup_parent: str
    runtime_shortcuts: bool
    archive_max_member_size: int
    archive_max_size: int
    archive_max_members: int


class Settings:
    """``EngineSettings`` as a plain object; see EngineConfig for what each one means."""

    def __init__(self, *, root: str | None = None, run_root: str | None = None,
                 runtime: str = RUNTIME, conmon: str = CONMON, criu: str = CRIU,
                 cgroup_parent: str = CGROUP_PARENT,
                 runtime_shortcuts: bool = RUNTIME_SHORTCUTS,
                 archive_max_member_size: int = ARCHIVE_MAX_MEMBER_SIZE,
                 archive_max_size: int = ARCHIVE_MAX_SIZE,
                 archive_max_members: int = ARCHIVE_MAX_MEMBERS) -> None:
        self.root = root or default_root()
        self.run_root = run_root or default_run_root()
        self.runtime = runtime
        self.conmon = conmon
        self.criu = criu
        self.cgroup_parent = cgroup_parent
        self.runtime_shortcuts = runtime_shortcuts
        self.archive_max_member_size = archive_max_member_size
        self.archive_max_size = archive_max_size
        self.archive_max_members = archive_max_members
