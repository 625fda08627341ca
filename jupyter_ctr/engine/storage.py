"""ContainerStorage: each container's overlayfs, the image's layers as its read-only lower
directories (``lowerdir=top:...:bottom``), the container's own upper directory on top.

A container's config keeps its lower directories as one string, top first, colon-separated
(``join_lowers``): what overlayfs takes, and a plain path for an image of one layer. The mount
options must fit in one page; when the absolute paths of many layers do not, the overlay is
mounted by ``mount`` run in the layer store's directory with short relative paths (the
``l/<id>`` links the image store keeps, as containers/storage does).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import stat
from pathlib import Path

from .errors import CtrError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ctypes
    from collections.abc import Iterator, Sequence

_MNT_DETACH = 2
_MS_RDONLY = 1
#: mount(2) copies at most one page of options.
_MAX_OPTIONS = 4096 - 1
#: ``<layers dir>/l/<name>``: short symlinks to the layers' ``diff`` directories.
LAYER_LINKS = "l"


@functools.cache
def _libc() -> ctypes.CDLL:
    """The process's own symbols (libc is always among them): no find_library(), which runs
    ldconfig. Loaded on first mount: most commands (and the exit command) never mount."""
    import ctypes  # noqa: PLC0415 - lazy: see above

    return ctypes.CDLL(None, use_errno=True)


def _errno() -> int:
    import ctypes  # noqa: PLC0415 - lazy: see _libc

    return ctypes.get_errno()


class StorageError(CtrError):
    cause = "container storage error"


def layer_link_name(hex_digest: str) -> str:
    """The short name of a layer's link in ``<layers dir>/l``."""
    return hex_digest[:20]


def join_lowers(dirs: Sequence[Path]) -> str:
    """The lower directories ``dirs`` (bottom to top) as overlayfs takes them: top first,
    colon-separated. StorageError if a path cannot be written so (``:`` or ``,`` in it)."""
    if not dirs:
        raise StorageError("an overlay needs at least one lower directory")
    for d in dirs:
        if any(c in str(d) for c in ":,\\"):
            raise StorageError(f"the layer directory {d} has ':', ',' or '\\' in its path, "
                               "which overlayfs mount options cannot hold")
    return ":".join(str(d) for d in reversed(dirs))


def split_lowers(spec: str) -> list[Path]:
    """The lower directories of a ``join_lowers`` string, top first."""
    return [Path(p) for p in spec.split(":")]


def find_in_lowers(lowers: Sequence[Path], rel: str) -> Path | None:
    """The entry at ``rel`` (relative, ``/``-separated) in the merged view of the lower
    directories ``lowers`` (top first), as overlayfs would show it, without following any
    symlink on the host: None if it is missing, whited out, hidden by an opaque directory,
    or below a symlink or a non-directory."""
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    for lower in lowers:
        path = lower
        for i, part in enumerate(parts):
            path = path / part
            try:
                st = os.lstat(path)
            except OSError:
                break  # nothing here in this layer: look below, unless a parent was opaque
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                return None  # a whiteout
            if i == len(parts) - 1:
                return path
            if not stat.S_ISDIR(st.st_mode):
                return None
            if _is_opaque(path):
                # Nothing below this directory comes from lower layers.
                return _rest_of(path, parts[i + 1:])
    return None


def _rest_of(directory: Path, parts: list[str]) -> Path | None:
    """``parts`` below ``directory`` in this one layer only (below an opaque directory)."""
    path = directory
    for i, part in enumerate(parts):
        path = path / part
        try:
            st = os.lstat(path)
        except OSError:
            return None
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
            return None
        if i < len(parts) - 1 and not stat.S_ISDIR(st.st_mode):
            return None
    return path


def _is_opaque(path: Path) -> bool:
    try:
        return os.getxattr(path, "trusted.overlay.opaque", follow_symlinks=False) == b"y"
    except OSError:
        return False


@contextlib.contextmanager
def lower_view(lowers: Sequence[Path], target: Path) -> Iterator[Path]:
    """The merged read-only view of the lower directories ``lowers`` (top first) for the
    time of the block: the one directory itself, or an overlay mounted at ``target`` (a
    new directory), unmounted after."""
    if len(lowers) == 1:
        yield lowers[0]
        return
    target.mkdir(mode=0o700)
    _mount_overlay(lowers, None, None, target)
    try:
        yield target
    finally:
        _umount(target)


def _mount_overlay(lowers: Sequence[Path], upper: Path | None, work: Path | None,
                   target: Path) -> None:
    """Mount ``lowers`` (top first) with ``upper`` on top at ``target``; read-only when
    ``upper`` is None (overlayfs needs two lower directories then)."""
    tail = "" if upper is None else f",upperdir={upper},workdir={work}"
    flags = _MS_RDONLY if upper is None else 0
    opts = f"lowerdir={':'.join(map(str, lowers))}{tail}"
    if len(opts) <= _MAX_OPTIONS:
        if _libc().mount(b"overlay", str(target).encode(), b"overlay", flags,
                         opts.encode()) != 0:
            err = _errno()
            raise StorageError(f"mounting overlay at {target}: {os.strerror(err)}")
        return
    # Too long for one page: relative paths from the layer store, through its short links.
    base = lowers[0].parent.parent
    relative = []
    for lower in lowers:
        if lower.parent.parent != base:
            raise StorageError(f"cannot mount the overlay at {target}: its {len(lowers)} lower "
                               "directories do not fit in the mount options")
        link = Path(LAYER_LINKS, layer_link_name(lower.parent.name))
        relative.append(str(link) if (base / link).is_symlink()
                        else f"{lower.parent.name}/{lower.name}")
    opts = f"lowerdir={':'.join(relative)}{tail}"
    if len(opts) > _MAX_OPTIONS:
        raise StorageError(f"cannot mount the overlay at {target}: the image has {len(lowers)} "
                           "layers, more than fit in one mount's options")
    import subprocess  # noqa: PLC0415 - lazy: only images with very many layers need it

    # mount(8) in the layer store's directory: the relative paths resolve there; a chdir in
    # this (perhaps threaded) process would move every thread.
    if upper is None:
        opts = f"ro,{opts}"
    done = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", opts, str(target)],
                          cwd=base, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise StorageError(f"mounting overlay at {target}: {done.stderr.strip()}")


def _umount(target: Path) -> None:
    if _libc().umount2(str(target).encode(), 0) != 0:
        err = _errno()
        if err == errno.EINVAL:  # not a mount point
            return
        if err == errno.EBUSY:
            if _libc().umount2(str(target).encode(), _MNT_DETACH) == 0:
                return
            err = _errno()
        raise StorageError(f"unmounting {target}: {os.strerror(err)}")


def remove_tree(path: Path, ignore_errors: bool = False) -> None:
    """Delete the directory ``path`` and everything below it, as ``shutil.rmtree`` does here:
    by file descriptors (os.fwalk), never following a symlink, a symlink at ``path`` itself
    refused. Without shutil: it imports zlib, bz2 and lzma, ~1.5 ms of each stop and rm.
    Errors raise the first OSError, or are ignored with ``ignore_errors``."""

    def fail(exc: OSError) -> None:
        if not ignore_errors:
            raise exc

    try:
        if os.path.islink(path):
            raise OSError("Cannot call rmtree on a symbolic link")
        for _, dirs, files, dir_fd in os.fwalk(path, topdown=False, onerror=fail):
            for name in files:
                try:
                    os.unlink(name, dir_fd=dir_fd)
                except OSError as exc:
                    fail(exc)
            for name in dirs:
                try:
                    os.rmdir(name, dir_fd=dir_fd)
                except NotADirectoryError:  # a symlink to a directory: listed, never entered
                    try:
                        os.unlink(name, dir_fd=dir_fd)
                    except OSError as exc:
                        fail(exc)
                except OSError as exc:
                    fail(exc)
        os.rmdir(path)
    except OSError:
        if not ignore_errors:
            raise


def remove_mounted_tree(path: Path) -> None:
    """Unmount what is mounted at or below the directory ``path``, then delete it (leftovers
    of a killed runtime or create: runc's ``criu-root``, an overlay); a symlink is left."""
    if path.is_dir() and not path.is_symlink():
        unmount_tree(path)
        remove_tree(path, ignore_errors=True)


def unmount_tree(path: Path) -> None:
    """Unmount every mount at or below ``path``, deepest first (a killed runtime's leftovers,
    such as runc's ``criu-root``)."""
    prefix = str(path).rstrip("/")
    with open("/proc/self/mountinfo") as fh:
        targets = [line.split()[4] for line in fh]
    for target in sorted({t for t in targets if t == prefix or t.startswith(prefix + "/")},
                         key=len, reverse=True):
        _umount(Path(target))


class ContainerStorage:
    """Layer directories of one container under ``<root>/containers/<id>``; ``lower`` is its
    image's lower directories (``join_lowers``; one path for a one-layer image)."""

    def __init__(self, ctr_dir: Path, lower: Path | str) -> None:
        self.dir = ctr_dir
        #: The image's layer directories, top first.
        self.lowers = split_lowers(str(lower))
        self.upper = ctr_dir / "upper"
        self.work = ctr_dir / "work"
        self.merged = ctr_dir / "merged"

    def create(self) -> None:
        for d in (self.upper, self.work, self.merged):
            d.mkdir(parents=True, exist_ok=True)
        os.chmod(self.upper, 0o755)

    def mount(self) -> Path:
        if not self.is_mounted():
            _mount_overlay(self.lowers, self.upper, self.work, self.merged)
        return self.merged

    def unmount(self) -> None:
        # Only a mount point needs umount2 (and ctypes, ~1.5 ms to load): removing a stopped
        # container finds nothing mounted.
        if self.is_mounted():
            _umount(self.merged)

    def is_mounted(self) -> bool:
        return os.path.ismount(self.merged)

    def remove(self) -> None:
        self.unmount()
        if self.is_mounted():
            raise StorageError(f"{self.merged} is still mounted, refusing to delete the layer")
        remove_tree(self.dir, ignore_errors=True)
