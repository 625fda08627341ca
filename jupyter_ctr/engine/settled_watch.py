"""Which containers are still as a full check last found them, from the kernel's own news.

A list trusts a running container's stored state once ``Container.settled`` found nothing to
reconcile: no exit file, its conmon alive, its freezer agreeing. Those checks cost a few
system calls per container; at 1,000 containers, most of a list. A process that lists again
and again (the service) keeps a SettledWatch instead: after a full check it holds

- a pidfd of the container's conmon, in one epoll set (readable once conmon exits);
- an inotify watch on the freezer file (``freezer.state``, or v2's ``cgroup.freeze`` and
  ``cgroup.events``): any write to it, whoever makes it (runc pause, a hand), and v2's
  frozen/populated news;
- one inotify watch on conmon's exits directory (an exit file appearing).

While none of these has fired, the full check's answer still holds: the next list asks one
``epoll_wait`` and a dict. Any news forgets the container, whose next check is a full one.
A watch that cannot be set (no such file, out of descriptors or inotify watches) means
no shortcut for that container, never a wrong answer.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import weakref
from typing import Any

#: inotify masks (linux/inotify.h): a write to a file; a file made or renamed into a directory.
IN_MODIFY = 0x2
IN_CREATE = 0x100
IN_MOVED_TO = 0x80
IN_IGNORED = 0x8000
IN_Q_OVERFLOW = 0x4000


#: Every watch of this process: a forked child must not read its parent's news (the epoll and
#: inotify instances are shared across fork), so its copies go quiet.
_WATCHES: weakref.WeakSet[SettledWatch] = weakref.WeakSet()


def _quiet_in_child() -> None:
    for watch in list(_WATCHES):
        watch.go_quiet()


os.register_at_fork(after_in_child=_quiet_in_child)


class _Entry:
    __slots__ = ("conmon_pid", "pidfd", "state", "valid", "watches")

    def __init__(self, conmon_pid: int, pidfd: int) -> None:
        self.conmon_pid = conmon_pid
        self.pidfd = pidfd
        self.state = ""
        #: True once a full check found the container settled and nothing fired since.
        self.valid = False
        self.watches: dict[str, int] = {}  # freezer file -> inotify watch descriptor


class SettledWatch:
    """Remembers the containers a full check found settled until the kernel says something
    it checked may have changed (see the module's docstring). Thread-safe."""

    def __init__(self, exits_dir: str) -> None:
        # lazy: it loads ctypes (~1.5 ms), which a command that lists once does not need
        from inotify_simple import INotify  # type: ignore[import-untyped]  # noqa: PLC0415

        self._lock = threading.Lock()
        self._forked = False
        self._entries: dict[str, _Entry] = {}
        self._by_fd: dict[int, str] = {}
        self._by_wd: dict[int, str] = {}
        self._inotify = INotify(nonblocking=True)
        try:
            self._epoll = select.epoll()
            self._epoll.register(self._inotify.fileno(), select.EPOLLIN)
            self._exits_wd = self._inotify.add_watch(exits_dir, IN_CREATE | IN_MOVED_TO)
        except BaseException:
            self._inotify.close()
            raise
        _WATCHES.add(self)

    def refresh(self) -> None:
        """Apply the news now (a list does, first: the containers that are gone let go of
        their descriptors even when no list shows them any more)."""
        if self._forked:
            return
        with self._lock:
            self._drain()

    def holds(self, ctr_id: str, conmon_pid: int, state: str) -> bool:
        """Whether the last full check of this container found it settled in ``state`` with
        this conmon, and nothing it checked has changed since."""
        if self._forked:
            return False
        with self._lock:
            self._drain()
            entry = self._entries.get(ctr_id)
            return entry is not None and entry.valid and entry.conmon_pid == conmon_pid \
                and entry.state == state

    def arm(self, ctr_id: str, conmon_pid: int, state: str, files: list[str]) -> bool:
        """Start watching before a full check (so nothing between the check and the watch
        goes unseen): conmon ``conmon_pid`` and the freezer ``files``. False when it cannot
        be watched (conmon gone, a file missing, out of descriptors): no ``confirm`` then."""
        if self._forked:
            return False
        with self._lock:
            self._drain()
            entry = self._entries.get(ctr_id)
            if entry is not None and entry.conmon_pid != conmon_pid:
                self._forget(ctr_id)
                entry = None
            try:
                if entry is None:
                    pidfd = os.pidfd_open(conmon_pid)
                    entry = self._entries[ctr_id] = _Entry(conmon_pid, pidfd)
                    self._by_fd[pidfd] = ctr_id
                    self._epoll.register(pidfd, select.EPOLLIN)
                for path in files:
                    if path not in entry.watches:
                        wd = self._inotify.add_watch(path, IN_MODIFY)
                        entry.watches[path] = wd
                        self._by_wd[wd] = ctr_id
            except OSError:
                self._forget(ctr_id)
                return False
            entry.state = state
            entry.valid = False
            return True

    def confirm(self, ctr_id: str, conmon_pid: int, state: str) -> None:
        """A full check after ``arm`` found the container settled: trust it until news."""
        with self._lock:
            self._drain()
            entry = self._entries.get(ctr_id)
            if entry is not None and entry.conmon_pid == conmon_pid and entry.state == state:
                entry.valid = True

    def go_quiet(self) -> None:
        """Answer "no" from now on, read nothing (in a forked child)."""
        self._forked = True

    def close(self) -> None:
        if self._forked:  # the parent's to close
            return
        with self._lock:
            for ctr_id in list(self._entries):
                self._forget(ctr_id)
            self._epoll.close()
            self._inotify.close()

    def __len__(self) -> int:
        return len(self._entries)

    # -- internals (under the lock) ----------------------------------------------------------
    def _drain(self) -> None:
        """Apply what happened since the last look. An entry ``arm`` just made and the news
        about it both happen under the lock, so news is never read before its entry exists:
        news about a container between ``arm`` and ``confirm`` makes ``confirm`` a no-op."""
        for fd, _ in self._epoll.poll(0):
            if fd == self._inotify.fileno():
                for event in self._inotify.read(timeout=0):
                    self._inotify_event(event)
            else:
                ctr_id = self._by_fd.get(fd)
                if ctr_id is not None:  # conmon exited: the next check is a full one
                    self._forget(ctr_id)

    def _inotify_event(self, event: Any) -> None:
        if event.mask & IN_Q_OVERFLOW:  # news was lost: trust nothing
            for each in self._entries.values():
                each.valid = False
            return
        if event.wd == self._exits_wd:
            ctr_id = event.name
        elif event.mask & IN_IGNORED:  # the file is gone (its cgroup removed)
            ctr_id = self._by_wd.pop(event.wd, None)
        else:
            ctr_id = self._by_wd.get(event.wd)
        entry = self._entries.get(ctr_id or "")
        if entry is not None:
            entry.valid = False
            if event.mask & IN_IGNORED:
                entry.watches = {p: w for p, w in entry.watches.items() if w != event.wd}

    def _forget(self, ctr_id: str) -> None:
        entry = self._entries.pop(ctr_id, None)
        if entry is None:
            return
        self._by_fd.pop(entry.pidfd, None)
        with contextlib.suppress(OSError, ValueError):
            self._epoll.unregister(entry.pidfd)
        os.close(entry.pidfd)
        for wd in entry.watches.values():
            self._by_wd.pop(wd, None)
            with contextlib.suppress(OSError):
                self._inotify.rm_watch(wd)
