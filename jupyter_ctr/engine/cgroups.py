"""cgroupfs view of a container: stats and leftover removal (cgroup v1 and v2 layouts)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class CgroupStats:
    cpu_ns: int
    memory_bytes: int
    memory_limit: int | None
    pids: int


def _is_v2() -> bool:
    return (CGROUP_ROOT / "cgroup.controllers").exists()


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
    rel = cgroups_path.lstrip("/")
    if _is_v2():
        return (_read_int(CGROUP_ROOT / rel / "cgroup.freeze") or 0) == 1
    try:
        return (CGROUP_ROOT / "freezer" / rel / "freezer.state").read_text().strip() == "FROZEN"
    except OSError:
        return False


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
