"""Engine configuration through traitlets: roots, binaries, cgroup parent."""

from __future__ import annotations

from typing import Any

from traitlets import Bool, Int, Unicode, default
from traitlets.config.configurable import Configurable

from . import settings
from .settings import EngineSettings

__all__ = ["EngineConfig", "EngineSettings"]


class EngineConfig(Configurable):
    """Where the engine keeps its state and which tools it drives.

    Defaults, and the environment variables ``JUPYTER_CTR_ROOT`` / ``JUPYTER_CTR_RUNROOT``,
    come from engine/settings.py (the traitlets-free twin the CLI and exit command use);
    explicit arguments and traitlets config take precedence over them.
    """

    root = Unicode(help="Persistent state: SQLite DB, images, container layers and logs. "
                        "Default /var/lib/jupyter-ctr or $JUPYTER_CTR_ROOT.").tag(config=True)
    run_root = Unicode(help="Volatile state: locks, bundles, runc state, exit files, sockets. "
                            "Default /run/jupyter-ctr or $JUPYTER_CTR_RUNROOT.").tag(config=True)
    runtime = Unicode(settings.RUNTIME, help="OCI runtime binary name or path (runc; crun is "
                      "selectable where the host supports it).").tag(config=True)
    conmon = Unicode(settings.CONMON, help="conmon binary name or path.").tag(config=True)
    criu = Unicode(settings.CRIU, help="CRIU binary name or path.").tag(config=True)
    cgroup_parent = Unicode(settings.CGROUP_PARENT,
                            help="cgroupfs parent of container cgroups.").tag(config=True)
    runtime_shortcuts = Bool(
        settings.RUNTIME_SHORTCUTS,
        help="Do what runc and crun themselves do, without exec'ing them (a Go process start, "
             "about 8 ms each): start reads the exec FIFO that runc init waits on; pause/unpause "
             "write the container's cgroup freezer; signals to "
             "its init process go through a pidfd once /proc shows the process in the "
             "container's cgroup; deleting a container whose processes are all gone removes "
             "its cgroups and the runtime's state directory. Each falls back to the runtime. "
             "Turn off for a runtime that keeps its own state in other ways.").tag(config=True)

    archive_max_member_size = Int(
        settings.ARCHIVE_MAX_MEMBER_SIZE,
        help="Largest member (in bytes, as its tar header says) of an image or checkpoint "
             "archive to import; a larger one is refused before any of it is written. Sparse "
             "members count at their full size.").tag(config=True)
    archive_max_size = Int(
        settings.ARCHIVE_MAX_SIZE,
        help="Largest total of the member sizes of an image or checkpoint archive to import "
             "(and, with some room for headers, of an uploaded archive).").tag(config=True)
    archive_max_members = Int(
        settings.ARCHIVE_MAX_MEMBERS,
        help="Most members (files, directories, links) in an image or checkpoint archive to "
             "import.").tag(config=True)

    @default("root")
    def _default_root(self) -> str:
        return settings.default_root()

    @default("run_root")
    def _default_run_root(self) -> str:
        return settings.default_run_root()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**{k: v for k, v in kwargs.items() if v is not None})
