"""stats: CPU, memory and pid usage of containers, as a table refreshed every second."""

from __future__ import annotations

import sys
import time

from ...engine import procinfo
from ...engine.errors import CtrError
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

    def targets() -> list[Container]:
        return named if named else door.containers("stats")

    prev = _samples(targets(), strict=bool(named))
    interval = 0.5  # the first table comes quickly; later ones every second, as podman
    clear = sys.stdout.isatty() and args.stream
    while True:
        time.sleep(interval)
        cur = _samples(targets(), strict=False)
        rows = [_row(prev[i], s, host_mem) for i, s in cur.items() if i in prev]
        if clear:
            sys.stdout.write("\033[2J\033[H")
        print_table(headers, rows)
        if not args.stream or (named and not cur):
            return 0
        prev.update(cur)
        interval = 1.0


def _samples(ctrs: Sequence[Container], strict: bool) -> dict[str, dict[str, Any]]:
    out = {}
    for ctr in ctrs:
        try:
            out[ctr.id] = ctr.stats()
        except CtrError:
            if strict:
                raise
    return out


def _row(before: dict[str, Any], after: dict[str, Any], host_mem: int) -> list[str]:
    elapsed = max(after["time_ns"] - before["time_ns"], 1)
    cpu = 100.0 * max(after["cpu_ns"] - before["cpu_ns"], 0) / elapsed
    used, limit = after["memory_bytes"], after["memory_limit"] or host_mem
    mem_pct = f"{100.0 * used / limit:.2f}%" if limit else "--"
    return [after["id"][:12], after["name"], f"{cpu:.2f}%",
            f"{human_size(used)} / {human_size(limit) if limit else '--'}", mem_pct,
            str(after["pids"])]
