"""ContainerStorage: each container's overlayfs (image rootfs as read-only lower layer)."""

from __future__ import annotations

import errno
import functools
import os
from pathlib import Path

from .errors import CtrError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ctypes

_MNT_DETACH = 2


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


def _mount_overlay(lower: Path, upper: Path, work: Path, target: Path) -> None:
    opts = f"lowerdir={lower},upperdir={upper},workdir={work}".encode()
    if _libc().mount(b"overlay", str(target).encode(), b"overlay", 0, opts) != 0:
        err = _errno()
        raise StorageError(f"mounting overlay at {target}: {os.strerror(err)}")


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
    """Layer directories of one container under ``<root>/containers/<id>``."""

    def __init__(self, ctr_dir: Path, lower: Path) -> None:
        self.dir = ctr_dir
        self.lower = lower
        self.upper = ctr_dir / "upper"
        self.work = ctr_dir / "work"
        self.merged = ctr_dir / "merged"

    def create(self) -> None:
        for d in (self.upper, self.work, self.merged):
            d.mkdir(parents=True, exist_ok=True)
        os.chmod(self.upper, 0o755)

    def mount(self) -> Path:
        if not self.is_mounted():
            _mount_overlay(self.lower, self.upper, self.work, self.merged)
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
