"""stats: CPU, memory and pid usage of containers, as a table refreshed every second."""

from __future__ import annotations

import sys
import time

from ...engine import procinfo
from ..formatting import human_size, print_table

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from typing import Any

    from ...engine import Container
    from ...service.door import Door


def cmd_stats(door: Door, args: argparse.Namespace) -> int:
    headers = ["ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "PIDS"]
    host_mem = procinfo.host_memory()
    named = [door.container(ref, "stats") for ref in args.containers]
    prev = samples(door, named, strict=bool(named))
    interval = 0.5  # the first table comes quickly; later ones every second, as podman
    clear = sys.stdout.isatty() and args.stream
    while True:
        time.sleep(interval)
        cur = samples(door, named, strict=False)
        rows = [_row(prev[i], s, host_mem) for i, s in cur.items() if i in prev]
        if clear:
            sys.stdout.write("\033[2J\033[H")
        print_table(headers, rows)
        if not args.stream or (named and not cur):
            return 0
        prev.update(cur)
        interval = 1.0


def samples(door: Door, named: Sequence[Container], strict: bool) -> dict[str, dict[str, Any]]:
    """The stats of the ``named`` containers (in their order), or of every running one the
    caller may see, by ID: one ``Door.stats`` call, no container locked. With ``strict``
    a named one that does not run raises the engine's error (its own ``stats()``), else it
    is left out."""
    if not named:
        return door.stats()
    got = door.stats([ctr.id for ctr in named])
    out = {}
    for ctr in named:
        if ctr.id in got:
            out[ctr.id] = got[ctr.id]
        elif strict:
            out[ctr.id] = ctr.stats()  # raises why (not running); else it just started
    return out


def usage(before: dict[str, Any], after: dict[str, Any], host_mem: int) -> dict[str, Any]:
    """One container's usage between two samples: ``after`` with ``cpu_percent``,
    ``memory_percent`` (None without a limit) and ``memory_limit`` (the host's memory when
    the container has no limit)."""
    elapsed = max(after["time_ns"] - before["time_ns"], 1)
    cpu = 100.0 * max(after["cpu_ns"] - before["cpu_ns"], 0) / elapsed
    used, limit = after["memory_bytes"], after["memory_limit"] or host_mem
    return {**after, "cpu_percent": cpu, "memory_limit": limit,
            "memory_percent": 100.0 * used / limit if limit else None}


def _row(before: dict[str, Any], after: dict[str, Any], host_mem: int) -> list[str]:
    u = usage(before, after, host_mem)
    limit, pct = u["memory_limit"], u["memory_percent"]
    return [u["id"][:12], u["name"], f"{u['cpu_percent']:.2f}%",
            f"{human_size(u['memory_bytes'])} / {human_size(limit) if limit else '--'}",
            "--" if pct is None else f"{pct:.2f}%", str(u["pids"])]
