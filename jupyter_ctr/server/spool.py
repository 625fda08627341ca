"""Spool files: request bodies (image import, checkpoint restore) and checkpoint exports on
their way to the client live in ``<run_root>/uploads/``, under names the server picks.

Each name carries its owner's pid and start time (``upload-PID-START-RANDOM.tar``), so a file
whose process is gone (a server killed mid-upload) is known to be stale with no timing
guess, and ``sweep`` at start-up removes exactly those, never one a live server still writes.
"""

from __future__ import annotations

import contextlib
import logging
import re
import tempfile
import time
from pathlib import Path

from ..engine import Runtime, procinfo

#: Ours, and the engine's ``.NAME.RANDOM.partial`` while it writes an export to NAME.
_NAME_RE = re.compile(r"\.?(?:upload|checkpoint)-(\d+)-(\d+)-[^/]*")
#: A file not named by this module (an older version's) is left alone this long.
_FOREIGN_GRACE = 600.0

log = logging.getLogger("jupyter_ctr.server")


def spool_dir(rt: Runtime) -> Path:
    """The private directory of spool files under the engine's run root."""
    path = rt.run_root / "uploads"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def new_spool_file(rt: Runtime, kind: str = "upload") -> tuple[int, Path]:
    """Create an empty spool file owned by this process: (fd, path)."""
    fd, path = tempfile.mkstemp(prefix=f"{kind}-{procinfo.owner_tag()}-",
                                suffix=".tar", dir=spool_dir(rt))
    return fd, Path(path)


def sweep(rt: Runtime) -> int:
    """Remove spool files whose owner process is gone; the number removed."""
    removed = 0
    try:
        entries = list(spool_dir(rt).iterdir())
    except OSError:
        return 0
    for entry in entries:
        m = _NAME_RE.fullmatch(entry.name)
        if m:
            stale = not procinfo.owner_alive(m.group(1), m.group(2))
        else:
            try:
                stale = time.time() - entry.lstat().st_mtime > _FOREIGN_GRACE
            except FileNotFoundError:
                continue
        if stale:
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
                removed += 1
    if removed:
        log.info("jupyter_ctr: removed %d stale spool file(s) from %s", removed,
                 spool_dir(rt))
    return removed
