"""cgroupfs view of a container: stats, the freezer and leftover removal (cgroup v1 and v2
layouts)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from .procinfo import read_small

CGROUP_ROOT = Path("/sys/fs/cgroup")
_ROOT = str(CGROUP_ROOT)


class CgroupStats:
    """One reading of a container's cgroups (a plain class: typing.NamedTuple costs each
    command ~1 ms to create at import)."""

    __slots__ = ("cpu_ns", "memory_bytes", "memory_limit", "pids")

    def __init__(self, cpu_ns: int, memory_bytes: int, memory_limit: int | None,
                 pids: int) -> None:
        self.cpu_ns = cpu_ns
        self.memory_bytes = memory_bytes
        self.memory_limit = memory_limit
        self.pids = pids


_V2: list[bool] = []


def _is_v2() -> bool:
    """The host's cgroup layout is v2 (unified): looked up once per process (it does not
    change while the machine runs; a list asks once per container)."""
    if not _V2:
        _V2.append((CGROUP_ROOT / "cgroup.controllers").exists())
    return _V2[0]


def container_cgroup_dirs(cgroups_path: str) -> list[Path]:
    """Every directory a runtime may have made for ``cgroups_path`` (all hierarchies)."""
    rel = cgroups_path.lstrip("/")
    if _is_v2():
        return [CGROUP_ROOT / rel]
    dirs = []
    try:
        entries = list(os.scandir(CGROUP_ROOT))
    except OSError:
        return []
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            dirs.append(Path(entry.path) / rel)
    return dirs


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    if text == "max":
        return None
    try:
        return int(text.split()[0])
    except (ValueError, IndexError):
        return None


def read_stats(cgroups_path: str) -> CgroupStats:
    """CPU time (ns), memory usage and limit, and pid count of the container's cgroup."""
    rel = cgroups_path.lstrip("/")
    if _is_v2():
        base = CGROUP_ROOT / rel
        cpu_us = 0
        try:
            for line in (base / "cpu.stat").read_text().splitlines():
                k, _, v = line.partition(" ")
                if k == "usage_usec":
                    cpu_us = int(v)
        except OSError:
            pass
        return CgroupStats(cpu_ns=cpu_us * 1000,
                           memory_bytes=_read_int(base / "memory.current") or 0,
                           memory_limit=_read_int(base / "memory.max"),
                           pids=_read_int(base / "pids.current") or 0)
    limit = _read_int(CGROUP_ROOT / "memory" / rel / "memory.limit_in_bytes")
    if limit is not None and limit >= 1 << 62:
        limit = None
    return CgroupStats(
        cpu_ns=_read_int(CGROUP_ROOT / "cpuacct" / rel / "cpuacct.usage") or 0,
        memory_bytes=_read_int(CGROUP_ROOT / "memory" / rel / "memory.usage_in_bytes") or 0,
        memory_limit=limit,
        pids=_read_int(CGROUP_ROOT / "pids" / rel / "pids.current") or 0,
    )


class UsageReader:
    """Reads the usage numbers of the containers under one cgroup parent, a few ``openat``
    calls each on directory fds kept open (no Path objects, no process, no lock): what a
    stats sampler reads every second for every running container.

    v2: ``cpu.stat``, ``memory.current``, ``memory.max``, ``pids.current`` of ``<id>``
    under the parent; v1: ``cpuacct.usage``, ``memory.usage_in_bytes``,
    ``memory.limit_in_bytes``, ``pids.current`` in their hierarchies. Reading from several
    threads is fine; ``revalidate`` and ``close`` only while no read runs."""

    def __init__(self, cgroup_parent: str) -> None:
        self.parent = cgroup_parent.strip("/")
        self.v2 = _is_v2()
        self._fds: dict[str, int] = {}

    def _path(self, hierarchy: str) -> str:
        return os.path.join(str(CGROUP_ROOT), hierarchy, self.parent)

    def revalidate(self) -> None:
        """Drop a kept directory fd whose directory was removed (or made again) since it
        was opened: an empty parent may be removed by a cleanup. One stat each; a sampler
        calls it once per sweep."""
        for hierarchy, fd in list(self._fds.items()):
            try:
                same = os.stat(self._path(hierarchy)).st_ino == os.fstat(fd).st_ino
            except OSError:
                same = False
            if not same and self._fds.get(hierarchy) == fd:
                del self._fds[hierarchy]
                os.close(fd)

    def _dir(self, hierarchy: str) -> int:
        fd = self._fds.get(hierarchy)
        if fd is None:
            fd = os.open(self._path(hierarchy), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            old = self._fds.setdefault(hierarchy, fd)
            if old != fd:  # another thread opened it first
                os.close(fd)
                fd = old
        return fd

    def read(self, ctr_id: str) -> CgroupStats | None:
        """The container's numbers, or None when its cgroup is gone (it stopped, or the
        parent does not exist yet)."""
        try:
            if self.v2:
                fd = self._dir("")
                cpu_us = 0
                for line in _read_at(fd, ctr_id + "/cpu.stat").splitlines():
                    if line.startswith(b"usage_usec "):
                        cpu_us = int(line[11:])
                        break
                return CgroupStats(cpu_us * 1000, _int_at(fd, ctr_id + "/memory.current"),
                                   _limit(_read_at(fd, ctr_id + "/memory.max")),
                                   _int_at(fd, ctr_id + "/pids.current"))
            mem = self._dir("memory")
            limit = _limit(_read_at(mem, ctr_id + "/memory.limit_in_bytes"))
            if limit is not None and limit >= 1 << 62:
                limit = None
            return CgroupStats(_int_at(self._dir("cpuacct"), ctr_id + "/cpuacct.usage"),
                               _int_at(mem, ctr_id + "/memory.usage_in_bytes"), limit,
                               _int_at(self._dir("pids"), ctr_id + "/pids.current"))
        except (FileNotFoundError, ProcessLookupError):
            return None
        except ValueError:  # a file cut short while the cgroup went away
            return None

    def close(self) -> None:
        fds, self._fds = self._fds, {}
        for fd in fds.values():
            os.close(fd)


def _read_at(dir_fd: int, name: str) -> bytes:
    fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        return os.read(fd, 4096)
    finally:
        os.close(fd)


def _int_at(dir_fd: int, name: str) -> int:
    return int(_read_at(dir_fd, name))


def _limit(raw: bytes) -> int | None:
    raw = raw.strip()
    return None if raw == b"max" else int(raw)


def remove_cgroup(cgroups_path: str) -> list[Path]:
    """rmdir what the runtime left; returns the directories that could not be removed."""
    left = []
    for d in container_cgroup_dirs(cgroups_path):
        if d.is_dir():
            try:
                d.rmdir()
            except OSError:
                left.append(d)
    return left


def is_frozen(cgroups_path: str) -> bool:
    return freezer_state(cgroups_path) == "frozen"


def freezer_state(cgroups_path: str) -> str:
    """``frozen``, ``freezing`` (asked, not done: a pause in progress or one killed mid-way),
    ``thawed``, or ``""`` when the cgroup has no freezer. One small file read."""
    rel = cgroups_path.lstrip("/")
    try:  # plain strings and os reads: a list asks this of every running container
        if _is_v2():
            base = f"{_ROOT}/{rel}"
            if read_small(f"{base}/cgroup.freeze").strip() != b"1":
                return "thawed"
            return "frozen" if b"frozen 1" in read_small(f"{base}/cgroup.events") \
                else "freezing"
        return read_small(f"{_ROOT}/freezer/{rel}/freezer.state").strip().lower().decode()
    except OSError:
        return ""


def freezer_files(cgroups_path: str) -> list[str]:
    """The files ``freezer_state`` reads: what to watch for a freeze or thaw (a write to
    them, or v2's news in ``cgroup.events``)."""
    rel = cgroups_path.lstrip("/")
    if _is_v2():
        return [f"{_ROOT}/{rel}/cgroup.freeze", f"{_ROOT}/{rel}/cgroup.events"]
    return [f"{_ROOT}/freezer/{rel}/freezer.state"]


FREEZE_TIMEOUT = 10.0


def set_frozen(cgroups_path: str, frozen: bool, timeout: float = FREEZE_TIMEOUT) -> bool:
    """Freeze (or thaw) every process of the cgroup and wait until the kernel says it is done.

    This is what ``runc pause``/``resume`` and crun do (v2 ``cgroup.freeze``, v1
    ``freezer.state``), without a runtime exec; ``runc state`` reads the same freezer, so both
    views agree. Returns False when the cgroup has no freezer (gone, or no such controller):
    the caller then asks the runtime. Raises OSError when the kernel refuses, TimeoutError
    when a freeze does not complete (the cgroup is thawed again first, as runc does).
    """
    rel = cgroups_path.lstrip("/")
    if _is_v2():
        base = CGROUP_ROOT / rel
        if not (base / "cgroup.freeze").exists():
            return False
        _write(base / "cgroup.freeze", "1" if frozen else "0")
        want = "frozen 1" if frozen else "frozen 0"
        if _poll(lambda: want in (base / "cgroup.events").read_text().splitlines(), timeout):
            return True
        if frozen:
            _write(base / "cgroup.freeze", "0")
        raise TimeoutError(f"cgroup {cgroups_path} did not {'freeze' if frozen else 'thaw'} "
                           f"within {timeout:g}s")
    state = CGROUP_ROOT / "freezer" / rel / "freezer.state"
    if not state.exists():
        return False
    if not frozen:
        _write(state, "THAWED")
        return True
    # v1 can stay FREEZING while a task sits in an uninterruptible sleep: write FROZEN again
    # (it retries the tasks) and now and then thaw for a moment to let them reach a safe point.
    deadline = time.monotonic() + timeout
    tries = 0
    while True:
        _write(state, "FROZEN")
        current = state.read_text().strip()
        if current == "FROZEN":
            return True
        if current not in ("FREEZING", "THAWED"):
            raise OSError(f"unexpected freezer state {current!r} for cgroup {cgroups_path}")
        tries += 1
        if time.monotonic() >= deadline:
            _write(state, "THAWED")
            raise TimeoutError(f"cgroup {cgroups_path} did not freeze within {timeout:g}s")
        if tries % 50 == 0:
            _write(state, "THAWED")
            time.sleep(0.01)
        else:
            time.sleep(min(0.0001 * tries, 0.005))


def _write(path: Path, text: str) -> None:
    with open(path, "w") as fh:
        fh.write(text)


def _poll(done: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    delay = 0.0001
    while not done():
        if time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.005)
    return True


def container_pids(cgroups_path: str) -> list[int]:
    """Host pids of every process in the container's cgroup."""
    rel = cgroups_path.lstrip("/")
    candidates = [CGROUP_ROOT / rel / "cgroup.procs"] if _is_v2() else [
        CGROUP_ROOT / "pids" / rel / "cgroup.procs", CGROUP_ROOT / "memory" / rel / "cgroup.procs"]
    for path in candidates:
        try:
            return [int(x) for x in path.read_text().split()]
        except OSError:
            continue
    return []
