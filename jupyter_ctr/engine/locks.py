"""Per-container locks that work across processes and threads (flock on a file per id).

flock locks belong to an open file description, so every acquisition opens its own fd: two
threads of one process exclude each other exactly like two processes do. A process killed
with SIGKILL releases its locks when the kernel closes its fds.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType


class ContainerLock:
    """An exclusive lock on ``<run_root>/locks/<id>.lock``; use as a context manager."""

    def __init__(self, path: str | Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; False (and nothing held) otherwise."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the description drops the flock

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> ContainerLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

    def remove_file(self) -> None:
        """Delete the lock file (after the container is removed, while holding the lock)."""
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
