"""The checkpoint timeline's files: named snapshots of one container, kept in its own
directory (so they go with it)::

    <container dir>/timeline/<step>/snapshot.json    name, kind, created (ns), size, reason
    <container dir>/timeline/<step>/checkpoint/      CRIU's images (kind "checkpoint")
    <container dir>/timeline/<step>/rootfs-diff.tar  files the container added or changed
    <container dir>/timeline/<step>/deleted.files    paths it deleted (overlay whiteouts)

The layout is a checkpoint archive's (engine/checkpoint/archive.py), whose writers and
readers these helpers reuse: the root filesystem diff is written by ``write_rootfs_diff`` and
applied with the archive readers' member checks. A snapshot is built in a staging directory
(``.new-<owner>``) and renamed into place whole; a replaced one is renamed aside first, so no
reader ever sees half a snapshot. The verbs (engine/container_timeline.py) hold the container
lock around all of it.

Loaded on first use by the verbs: it imports tarfile (through the archive module).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from .checkpoint.archive import (
    CHECKPOINT_DIR,
    RootfsDiffGuard,
    remove_in_rootfs,
    tree_size,
    write_rootfs_diff,
)
from .errors import InvalidArgumentError, NoSuchSnapshotError
from .images.archive import extract_tarball
from .records import NAME_PATTERN, Snapshot
from .storage import remove_tree

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .images import ArchiveLimits
    from .storage import ContainerStorage

#: ``<container dir>/timeline``
TIMELINE_DIR = "timeline"
#: Each snapshot's record file.
RECORD = "snapshot.json"
#: Staging directories of a snapshot being written, and of a replaced one being removed.
NEW_PREFIX = ".new-"
OLD_PREFIX = ".old-"
#: A step name's most characters (it is a directory name, and shown in tables).
STEP_MAX = 128
DIFF = "rootfs-diff.tar"
#: CRIU's log lines start with "(00.156586) ".
_TIMESTAMP = re.compile(r"^\(\d+\.\d+\)\s*")
DELETED = "deleted.files"


def check_step(step: object) -> str:
    """``step`` if it is a valid step name (as a container name: letters, digits, ``_.-``,
    not starting with a punctuation mark; never a path); InvalidArgumentError otherwise."""
    if not isinstance(step, str) or not re.match(NAME_PATTERN, step) or len(step) > STEP_MAX:
        raise InvalidArgumentError(
            f"invalid step name {step!r}: use letters, digits and _ . - (starting with a "
            f"letter or digit, at most {STEP_MAX} characters)")
    return step


def timeline_dir(ctr_dir: Path) -> Path:
    return ctr_dir / TIMELINE_DIR


def snapshot_dir(ctr_dir: Path, step: str) -> Path:
    return timeline_dir(ctr_dir) / check_step(step)


def read_snapshot(ctr_dir: Path, step: str, ctr_label: str) -> Snapshot:
    """The snapshot ``step`` of the container in ``ctr_dir``; NoSuchSnapshotError if none."""
    record = snapshot_dir(ctr_dir, step) / RECORD
    try:
        data = json.loads(record.read_text())
    except FileNotFoundError:
        raise NoSuchSnapshotError(f"container {ctr_label} has no snapshot {step!r}") from None
    except ValueError:
        raise InvalidArgumentError(f"{record} is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidArgumentError(f"{record} is not a valid snapshot record")
    return Snapshot.from_record(data, str(record))


def list_snapshots(ctr_dir: Path) -> list[Snapshot]:
    """Every complete snapshot, oldest first (staging directories are skipped)."""
    found = []
    try:
        names = os.listdir(timeline_dir(ctr_dir))
    except FileNotFoundError:
        return []
    for name in names:
        if name.startswith("."):
            continue
        with contextlib.suppress(NoSuchSnapshotError, InvalidArgumentError):
            found.append(read_snapshot(ctr_dir, name, ""))
    return sorted(found, key=lambda s: (s.created, s.name))


def write_diff(storage: ContainerStorage, dest: Path) -> None:
    """The root filesystem's changes (the overlay's upper layer against the image's lowers)
    as ``rootfs-diff.tar`` and ``deleted.files`` in ``dest`` (none when nothing changed)."""
    write_rootfs_diff(storage.upper, storage.lowers, dest)


def commit(staging: Path, ctr_dir: Path, snap: Snapshot, replace: bool) -> Snapshot:
    """Write ``snap``'s record into the complete ``staging`` directory (its size measured
    first) and rename it into place as ``<timeline>/<step>``; an existing one is replaced
    only with ``replace`` (InvalidArgumentError otherwise)."""
    snap.size = tree_size(staging)
    (staging / RECORD).write_text(json.dumps(snap.to_record()))
    final = snapshot_dir(ctr_dir, snap.name)
    old = None
    if final.exists():
        if not replace:
            raise duplicate(snap.name)
        old = final.with_name(f"{OLD_PREFIX}{os.urandom(6).hex()}")
        os.rename(final, old)
    os.rename(staging, final)
    if old is not None:
        remove_tree(old, ignore_errors=True)
    return snap


def duplicate(step: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"a snapshot named {step!r} exists already: choose another "
                                "step name, or replace it")


def remove(ctr_dir: Path, step: str, ctr_label: str) -> None:
    """Remove the snapshot ``step`` (renamed aside first: it vanishes whole)."""
    path = snapshot_dir(ctr_dir, step)
    if not (path / RECORD).is_file():
        raise NoSuchSnapshotError(f"container {ctr_label} has no snapshot {step!r}")
    old = path.with_name(f"{OLD_PREFIX}{os.urandom(6).hex()}")
    os.rename(path, old)
    remove_tree(old, ignore_errors=True)


def sweep(ctr_dir: Path) -> None:
    """Remove what a killed process left: replaced or removed snapshots not yet deleted
    (staging directories are staging_dir's: swept by it)."""
    with contextlib.suppress(FileNotFoundError):
        for name in os.listdir(timeline_dir(ctr_dir)):
            if name.startswith(OLD_PREFIX):
                remove_tree(timeline_dir(ctr_dir) / name, ignore_errors=True)


def reset_rootfs(storage: ContainerStorage, snap_dir: Path,
                 limits: ArchiveLimits | None) -> Path:
    """Make the container's root filesystem the snapshot's: its upper layer emptied (the
    overlay is not mounted: the caller made sure), then the snapshot's diff applied through
    the mounted overlay (deletions become whiteouts again). Returns the mounted rootfs."""
    if storage.is_mounted():
        raise InvalidArgumentError(f"cannot rewind: {storage.merged} is still mounted")
    for d in (storage.upper, storage.work):
        remove_tree(d, ignore_errors=True)
    storage.create()
    rootfs = storage.mount()
    apply_diff(snap_dir, rootfs, limits)
    return rootfs


def apply_diff(snap_dir: Path, rootfs: Path, limits: ArchiveLimits | None,
               origin: str = "") -> None:
    """Apply the diff in ``snap_dir`` (a snapshot's, or an extracted archive's) to the
    mounted ``rootfs``: deletions first, then the changed files, every member checked."""
    origin = origin or str(snap_dir)
    deleted, diff = snap_dir / DELETED, snap_dir / DIFF
    if deleted.is_file():
        entries = json.loads(deleted.read_text())
        if not isinstance(entries, list):
            raise InvalidArgumentError(f"{origin}: {DELETED} is not a list of paths")
        for entry in entries:
            remove_in_rootfs(rootfs, entry, origin)
    if diff.is_file():
        what = f"{origin} ({DIFF})"
        extract_tarball(diff, rootfs, what, guard=RootfsDiffGuard(what, limits))


def criu_complaint(log: Path, fallback: str, lines: int = 6) -> str:
    """What CRIU said went wrong (its log's error lines, else its last lines), one line
    each: a filesystem snapshot's ``reason``; ``fallback`` (the runtime's error) if none."""
    try:
        text = log.read_text(errors="replace").rstrip().splitlines()
    except OSError:
        text = []
    # Without its timestamp; CRIU goes on after failing to raise its own file limit (in a
    # container's cgroup it may not), so that line is no reason.
    errors = [_TIMESTAMP.sub("", line.strip()) for line in text
              if "Error (" in line and "RLIMIT_NOFILE" not in line][:lines]
    return "\n".join(errors or [line.strip() for line in text[-lines:]]) or fallback


def copy_images(snap_dir: Path, dest: Path) -> None:
    """A copy of the snapshot's CRIU images as ``dest`` (the container's checkpoint: a
    restore consumes it, the snapshot stays)."""
    remove_tree(dest, ignore_errors=True)
    shutil.copytree(snap_dir / CHECKPOINT_DIR, dest)
    os.chmod(dest, 0o700)


def diff_members(snap_dir: Path) -> Sequence[tuple[str, Path]]:
    """The snapshot's diff files as archive members (name, path)."""
    return [(name, snap_dir / name) for name in (DIFF, DELETED) if (snap_dir / name).is_file()]
