"""Staging directories: private scratch directories under an engine root, named by the
process that owns them (``<prefix><PID>-<START>-<random>``, procinfo.owner_tag), so that
whoever finds one knows, with no timing guess, whether its owner still lives. A process killed
mid-way leaves its directory behind; ``sweep_staging`` removes exactly those.

Kept free of tempfile and shutil (each costs a CLI command milliseconds to import): the engine
start-up sweep (Runtime.sweep_orphans) may call it.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from . import procinfo
from .storage import remove_tree

#: A directory of the prefix whose name has no owner tag (an older engine's) is left alone
#: this long after its last change.
UNTAGGED_GRACE = 60.0


@contextlib.contextmanager
def staging_dir(parent: Path, prefix: str) -> Iterator[Path]:
    """A new private directory in ``parent`` owned by this process, always removed after;
    the stale ones of the same prefix (owner gone) are swept first."""
    sweep_staging(parent, prefix)
    path = parent / f"{prefix}{procinfo.owner_tag()}-{os.urandom(6).hex()}"
    os.mkdir(path, 0o700)
    try:
        yield path
    finally:
        remove_tree(path, ignore_errors=True)


def sweep_staging(parent: Path, prefix: str, grace: float = UNTAGGED_GRACE) -> list[str]:
    """Remove the staging directories of ``prefix`` in ``parent`` whose owner process is gone
    (untagged ones after ``grace`` seconds); the names removed."""
    removed = []
    try:
        entries = [e for e in os.listdir(parent) if e.startswith(prefix)]
    except FileNotFoundError:
        return []
    for name in entries:
        entry = parent / name
        pid, _, rest = name[len(prefix):].partition("-")
        start, _, _ = rest.partition("-")
        with contextlib.suppress(OSError):
            if pid.isdigit() and start.isdigit():
                if procinfo.owner_alive(pid, start):
                    continue
            elif time.time() - entry.lstat().st_mtime < grace:
                continue
            remove_tree(entry, ignore_errors=True)
            removed.append(name)
    return removed
