#!/usr/bin/env python3
"""Bulk actions benchmark: a lab of ``-n`` (20) students' containers acted on at once through
``Door.lab_action`` (service/labs.py: each container by itself, several at a time), the
issue's "bulk reset of 20 students' containers, with the time measured".

Each run, on a private engine root (busybox demo image, real runc, conmon and CRIU):

  create   N containers labelled jupyter-ctr.lab=bench (untimed), each running a shell loop
           that exits on SIGTERM
  start    ``lab_action(lab, "start")``: all N, CONFIGURED -> RUNNING
  snapshot every container snapshotted at step "step-1" (a CRIU checkpoint kept running),
           N at a time in the same pool (timed, for reference: not a lab action)
  (change) each container writes /changed (untimed)
  reset    ``lab_action(lab, "reset", step="step-1")``: all N rewound in place; checked: the
           file is gone in every one and each runs
  reset 1x the same rewind one container after the other (``Door.rewind``), for comparison
           (``--no-sequential`` leaves it out)
  stop     ``lab_action(lab, "stop")``
  start    again, from stopped
  remove   ``lab_action(lab, "remove")`` (forced)

Output: a markdown table on stdout, the median of ``--runs`` runs (min and max beside it)
and the time per container; progress on stderr. Everything lives in a temp dir under /tmp,
removed at the end (also on errors). Exit status 0, or 1 when an action failed for some
container.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from jupyter_ctr.engine import Runtime  # noqa: E402 - after the path
from jupyter_ctr.engine.container import Container  # noqa: E402
from jupyter_ctr.engine.state import ContainerState  # noqa: E402
from jupyter_ctr.service.door import Door  # noqa: E402
from jupyter_ctr.service.labs import LAB_LABEL, run_each  # noqa: E402
from jupyter_ctr.service.principal import Principal  # noqa: E402

IMAGE = "localhost/busybox:latest"
LAB = "bench"
STEP = "step-1"
#: Exits on SIGTERM (after the current sleep): a stop does not wait for the kill timeout.
WORKLOAD = ["sh", "-c", "trap 'exit 0' TERM; i=0; while :; do i=$((i+1)); sleep 0.1; done"]
ROWS = ("start", "snapshot", "reset", "reset 1x", "stop", "start again", "remove")


def log(msg: str) -> None:
    print(f"bulk: {msg}", file=sys.stderr, flush=True)


def sh(ctr: Container, script: str) -> int:
    out = io.BytesIO()
    return int(ctr.exec(["sh", "-c", script]).start_and_attach(stdout=out, stderr=out))


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    out = fn()
    return time.perf_counter() - began, out


def failures(results: list[dict[str, Any]], what: str) -> int:
    bad = [r for r in results if not r["Ok"]]
    for r in bad:
        log(f"{what}: {r['Name']}: {r['Error']}")
    return len(bad)


def one_run(door: Door, n: int, sequential: bool) -> tuple[dict[str, float], int]:
    """One pass over every row; (seconds by row, number of failed container actions)."""
    rt = door.view
    times: dict[str, float] = {}
    failed = 0
    ctrs = [rt.create_container(IMAGE, WORKLOAD, name=f"bench-{i:02d}",
                                labels={LAB_LABEL: LAB}) for i in range(n)]
    times["start"], res = timed(lambda: door.lab_action(LAB, "start"))
    failed += failures(res, "start")
    times["snapshot"], res = timed(lambda: run_each(ctrs, lambda c: c.snapshot(STEP)))
    failed += failures(res, "snapshot")
    for ctr in ctrs:
        sh(ctr, "echo changed > /changed")
    times["reset"], res = timed(lambda: door.lab_action(LAB, "reset", step=STEP))
    failed += failures(res, "reset")
    for ctr in ctrs:
        if ctr.state is not ContainerState.RUNNING or sh(ctr, "test -e /changed") == 0:
            log(f"reset: {ctr.name} is not back at {STEP}")
            failed += 1
    if sequential:
        for ctr in ctrs:
            sh(ctr, "echo changed > /changed")
        times["reset 1x"], _ = timed(lambda: [door.rewind(c, STEP) for c in ctrs])
    times["stop"], res = timed(lambda: door.lab_action(LAB, "stop", timeout=10))
    failed += failures(res, "stop")
    times["start again"], res = timed(lambda: door.lab_action(LAB, "start"))
    failed += failures(res, "start again")
    times["remove"], res = timed(lambda: door.lab_action(LAB, "remove", timeout=10))
    failed += failures(res, "remove")
    return times, failed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=20, help="containers in the lab (default 20)")
    ap.add_argument("--runs", type=int, default=3, help="runs (the median is shown)")
    ap.add_argument("--no-sequential", dest="sequential", action="store_false",
                    help="leave out the one-by-one reset")
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="jcbulk", dir="/tmp"))
    log(f"temp dir {base}")
    rt = Runtime(base / "r", base / "x")
    door = Door(rt, Principal.of_process())
    failed = 0
    samples: dict[str, list[float]] = {row: [] for row in ROWS}
    try:
        rt.images.build_demo(IMAGE)
        for run in range(args.runs):
            log(f"run {run + 1}/{args.runs}: {args.n} containers")
            times, bad = one_run(door, args.n, args.sequential)
            failed += bad
            for row, seconds in times.items():
                samples[row].append(seconds)
    finally:
        for ctr in rt.list_containers(all=True):
            try:
                rt.remove_container(ctr, force=True, timeout=0)
            except Exception as exc:  # noqa: BLE001 - clean up what can be
                log(f"cleanup: {ctr.name}: {exc}")
        rt.close()
        time.sleep(0.2)  # a last exit command
        with open("/proc/self/mountinfo") as fh:
            mounts = [line.split()[4] for line in fh if line.split()[4].startswith(str(base))]
        for mnt in reversed(mounts):
            subprocess.run(["umount", "-l", mnt], check=False)
        subprocess.run(["rm", "-rf", str(base)], check=False)
    print(f"## Bulk actions on a lab of {args.n} containers ({args.runs} run(s), "
          f"{os.cpu_count()} CPUs, {platform.release()})\n")
    print("| action | median s | min s | max s | per container ms |")
    print("|---|---|---|---|---|")
    for row in ROWS:
        values = samples[row]
        if not values:
            continue
        med = statistics.median(values)
        print(f"| {row} | {med:.2f} | {min(values):.2f} | {max(values):.2f} | "
              f"{med / args.n * 1000:.0f} |")
    print(f"\nfailed container actions: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
