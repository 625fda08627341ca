#!/usr/bin/env python3
"""Checkpoint/restore benchmark: the engine's ``Container.checkpoint()``/``restore()`` against
``podman container checkpoint``/``podman container restore``, with CRIU 4 underneath both.

Two workloads, each a running busybox container checkpointed (it stops) and restored (it runs
on) again and again, the time of each step measured on its own:

  loop    ``sh -c 'i=0; while :; do i=$((i+1)); sleep 0.1; done'``: a tiny process tree
  mem256  ``sh -c 'dd if=/dev/urandom bs=268435456 count=1 | sleep 1000'``: ``dd`` blocks in
          write() on the pipe holding its 256 MiB buffer, full of random bytes: 256 MiB of
          resident memory that CRIU must write and read back (checked with the engine's
          stats() and the process's VmRSS before the runs, and again after them)

Columns, interleaved (one checkpoint+restore of each per round, the order rotating every
round):

  engine  the jupyter_ctr engine in-process: ``ctr.checkpoint()`` then ``ctr.restore()``
  podman  ``podman container checkpoint CID`` then ``podman container restore CID``

Between a checkpoint and the restore that follows, the benchmark waits, untimed, until no
process of the column is left (the old conmon and its exit command), so that background work
never lands in a timed step. CRIU is /usr/local/sbin/criu for both (PATH for podman's runc, the
engine's own lookup). Everything lives in a private temp dir under /tmp (own engine root,
podman ``--root``/``--runroot``/``--tmpdir`` with ``CONTAINERS_CONF``), removed at the end,
also on errors and Ctrl-C. Output: markdown tables of medians and engine/podman ratios on
stdout (target <= 1.2), progress and tracebacks on stderr.

Exit status: 0, or 1 when a column failed, 2 with ``--check`` when a target was missed, 130
when interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

import lifecycle
from lifecycle import (
    PODMAN_IMAGE,
    CommandError,
    PodmanStore,
    Skip,
    build_rootfs,
    cgroup_dirs,
    kill_pids,
    pids_referencing,
    remove_new_cgroups,
    rmtree,
    wait_quiet,
)

COLUMNS = ("engine", "podman")
WORKLOADS = {
    "loop": ["sh", "-c", "i=0; while :; do i=$((i+1)); sleep 0.1; done"],
    "mem256": ["sh", "-c", "dd if=/dev/urandom bs=268435456 count=1 2>/dev/null | sleep 1000"],
}
MEM_BYTES = 256 << 20
TARGET = 1.2  # engine median / podman median, for checkpoint and for restore
CRIU_PATH = "/usr/local/sbin:/usr/local/bin"
READY_TIMEOUT = 60.0


def log(msg: str) -> None:
    print(f"checkpoint: {msg}", file=sys.stderr, flush=True)


lifecycle.log = log  # the shared helpers' cleanup messages carry this script's prefix


def largest_rss(pid: int) -> int:
    """The largest VmRSS (bytes) of ``pid`` and its descendants."""
    best, todo = 0, [pid]
    while todo:
        p = todo.pop()
        with contextlib.suppress(OSError, ValueError):
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        best = max(best, int(line.split()[1]) * 1024)
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo += [int(c) for c in fh.read().split()]
    return best


class Column:
    """One way of checkpointing: an engine or podman container per workload."""

    key = ""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.status = "pending"
        self.note = ""
        self.samples: dict[tuple[str, str], list[float]] = {}
        self.ctr: Any = None

    def setup(self) -> None:
        raise NotImplementedError

    def start(self, workload: str) -> int:
        """Run the workload's container; return its init pid."""
        raise NotImplementedError

    def checkpoint(self) -> None:
        raise NotImplementedError

    def restore(self) -> int:
        """Restore; return the new init pid."""
        raise NotImplementedError

    def remove(self) -> None:
        raise NotImplementedError

    def quiet_dirs(self) -> list[Path]:
        return []

    def teardown(self) -> None:
        raise NotImplementedError


class EngineColumn(Column):
    key = "engine"

    def setup(self) -> None:
        engine = lifecycle._import_engine()
        self.dir = self.bench.workdir("e")
        self.root, self.run_root = self.dir / "root", self.dir / "run"
        self.rt = engine.Runtime(root=self.root, run_root=self.run_root)
        self.image = lifecycle._demo_image(self.rt)
        from jupyter_ctr.engine.checkpoint import find_criu

        self.note = f"CRIU {find_criu(self.rt.config.criu)}"

    def start(self, workload: str) -> int:
        self.ctr = self.rt.create_container(self.image, WORKLOADS[workload],
                                            name=f"bench-{workload}")
        self.ctr.start()
        return int(self.ctr.inspect()["State"]["Pid"])

    def memory(self) -> int:
        return int(self.ctr.stats()["memory_bytes"])

    def checkpoint(self) -> None:
        self.ctr.checkpoint()

    def restore(self) -> int:
        self.ctr.restore()
        return int(self.ctr.inspect()["State"]["Pid"])

    def remove(self) -> None:
        if self.ctr is not None:
            self.rt.remove_container(self.ctr, force=True, timeout=0)
            self.ctr = None

    def quiet_dirs(self) -> list[Path]:
        return [self.dir]

    def teardown(self) -> None:
        if getattr(self, "dir", None) is None:
            return
        rt = getattr(self, "rt", None)
        if rt is not None:
            try:
                for c in rt.list_containers(all=True):
                    rt.remove_container(c, force=True, timeout=0)
            except Exception as exc:  # noqa: BLE001 - cleanup goes on regardless
                log(f"cleanup: engine: {exc!r}")
            with contextlib.suppress(Exception):
                rt.close()
        wait_quiet([self.dir], timeout=5)
        kill_pids(pids_referencing([self.dir]))
        with contextlib.suppress(Skip, CommandError, subprocess.TimeoutExpired):
            lifecycle.runc_delete_all(lifecycle.which("runc"), self.run_root / "runc")
        rmtree(self.dir)


class PodmanColumn(Column):
    key = "podman"

    def setup(self) -> None:
        self.store = PodmanStore(cast(Any, self.bench))
        self.bench.store = self.store
        self.store.ensure()
        # podman's runc finds CRIU on PATH: the working one first (Debian's 3.17 fails here)
        self.store.env["PATH"] = os.pathsep.join(
            [CRIU_PATH, self.store.env.get("PATH", os.defpath)])
        self.note = "CONTAINERS_CONF=bench/containers.conf, PATH starts with /usr/local/sbin"

    def _podman(self, *args: str, out: bool = False) -> str:
        return self.store.podman_cmd(*args, out=out)

    def _pid(self) -> int:
        return int(self._podman("inspect", "--format", "{{.State.Pid}}", self.ctr,
                                out=True).strip())

    def start(self, workload: str) -> int:
        self.ctr = self._podman("run", "-d", "--name", f"bench-{workload}", PODMAN_IMAGE,
                                *WORKLOADS[workload], out=True).split()[-1]
        self.store.ids.add(self.ctr)
        return self._pid()

    def checkpoint(self) -> None:
        self._podman("container", "checkpoint", self.ctr)

    def restore(self) -> int:
        self._podman("container", "restore", self.ctr)
        return self._pid()

    def remove(self) -> None:
        if self.ctr is not None:
            self._podman("rm", "-f", "-t", "0", self.ctr)
            self.store.ids.discard(self.ctr)
            self.ctr = None

    def quiet_dirs(self) -> list[Path]:
        return [self.store.dir] if self.store.dir else []

    def teardown(self) -> None:
        pass  # the bench tears the store down


class Bench:
    def __init__(self, keys: Sequence[str], workloads: Sequence[str], iterations: int,
                 warmup: int) -> None:
        self.iterations, self.warmup = iterations, warmup
        self.workloads = list(workloads)
        self.cgroups_before = cgroup_dirs()
        self.top = Path(tempfile.mkdtemp(prefix="jck", dir="/tmp"))  # short: socket paths
        self.rootfs = self.top / "rootfs"  # PodmanStore imports it as PODMAN_IMAGE
        self.store: PodmanStore | None = None
        classes: dict[str, type[Column]] = {"engine": EngineColumn, "podman": PodmanColumn}
        self.columns = [classes[k](self) for k in keys]

    def workdir(self, name: str) -> Path:  # for PodmanStore
        path = self.top / name
        path.mkdir(mode=0o700)
        return path

    def _fail(self, col: Column, phase: str, exc: BaseException) -> None:
        col.status = "failed"
        first = str(exc).splitlines()[0] if str(exc) else ""
        col.note = f"{phase} failed: {type(exc).__name__}: {first}"
        log(f"{col.key}: {phase} failed:\n{''.join(traceback.format_exception(exc))}")

    def setup(self) -> None:
        build_rootfs(self.rootfs)
        for col in self.columns:
            log(f"setting up {col.key}")
            try:
                col.setup()
                col.status = "ok"
            except Skip as exc:
                col.status, col.note = "skipped", str(exc)
                log(f"{col.key}: skipped: {exc}")
            except Exception as exc:  # noqa: BLE001 - reported, the other column goes on
                self._fail(col, "setup", exc)

    def _active(self) -> list[Column]:
        return [c for c in self.columns if c.status == "ok"]

    def _ready(self, col: Column, workload: str, pid: int) -> None:
        """Wait until the workload runs (mem256: its 256 MiB are resident)."""
        if workload != "mem256":
            time.sleep(0.3)
            return
        deadline = time.monotonic() + READY_TIMEOUT
        while largest_rss(pid) < MEM_BYTES:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{col.key}: the mem256 workload never held 256 MiB "
                                   f"(largest VmRSS {largest_rss(pid) >> 20} MiB)")
            time.sleep(0.1)
        if isinstance(col, EngineColumn) and col.memory() < MEM_BYTES:
            raise RuntimeError(f"engine stats() reports {col.memory() >> 20} MiB, not 256")

    def _step(self, col: Column, workload: str, what: str, fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        result = fn()
        col.samples.setdefault((workload, what), []).append(
            (time.perf_counter() - t0) * 1000)
        return result

    def measure(self) -> None:
        for workload in self.workloads:
            for col in self._active():
                try:
                    pid = col.start(workload)
                    self._ready(col, workload, pid)
                except Exception as exc:  # noqa: BLE001
                    self._fail(col, f"{workload} start", exc)
            total = self.warmup + self.iterations
            for rnd in range(total):
                active = self._active()
                if not active:
                    break
                k = rnd % len(active)
                for col in active[k:] + active[:k]:
                    try:
                        self._cycle(col, workload, timed=rnd >= self.warmup)
                    except Exception as exc:  # noqa: BLE001
                        self._fail(col, f"{workload} round {rnd}", exc)
                log(f"{workload}: round {rnd + 1}/{total}")
            for col in self._active():
                try:
                    if workload == "mem256":
                        self._ready(col, workload, self._pid_of(col))  # memory came back
                    col.remove()
                except Exception as exc:  # noqa: BLE001
                    self._fail(col, f"{workload} check", exc)
                wait_quiet(col.quiet_dirs(), timeout=10)

    def _pid_of(self, col: Column) -> int:
        if isinstance(col, EngineColumn):
            return int(col.ctr.inspect()["State"]["Pid"])
        return cast(PodmanColumn, col)._pid()

    def _cycle(self, col: Column, workload: str, timed: bool) -> None:
        samples_before = {k: len(v) for k, v in col.samples.items()}
        self._step(col, workload, "checkpoint", col.checkpoint)
        wait_quiet(col.quiet_dirs(), timeout=10)  # the old conmon and its exit command
        pid = self._step(col, workload, "restore", col.restore)
        if not pid:
            raise RuntimeError(f"{col.key}: no process after restore")
        if not timed:  # warm-up: drop what was just recorded
            for key, values in col.samples.items():
                del values[samples_before.get(key, 0):]

    def teardown(self) -> None:
        for col in reversed(self.columns):
            with contextlib.suppress(Exception):
                col.remove()
            try:
                col.teardown()
            except Exception as exc:  # noqa: BLE001 - cleanup goes on regardless
                log(f"cleanup: {col.key}: {exc!r}")
        if self.store is not None:
            try:
                self.store.teardown()
            except Exception as exc:  # noqa: BLE001
                log(f"cleanup: podman store: {exc!r}")
        kill_pids(pids_referencing([self.top]))
        rmtree(self.top)
        remove_new_cgroups(self.cgroups_before)

    def median(self, col: Column, workload: str, what: str) -> float | None:
        values = col.samples.get((workload, what)) or []
        return statistics.median(values) if values and col.status == "ok" else None

    def report(self) -> tuple[str, bool]:
        lines = [
            f"Checkpoint and restore, median of {self.iterations} per step after "
            f"{self.warmup} warm-up, interleaved ({platform.node()}, kernel "
            f"{platform.release()}, {os.cpu_count()} cpus). ms.",
            "",
            "| workload | column | checkpoint ms | restore ms | n | note |",
            "|---|---|---:|---:|---:|---|",
        ]
        for workload in self.workloads:
            for col in self.columns:
                ck, rs = (self.median(col, workload, w) for w in ("checkpoint", "restore"))
                n = len(col.samples.get((workload, "checkpoint")) or [])
                note = col.note if col.status == "ok" else f"{col.status}: {col.note}"
                lines.append(f"| {workload} | {col.key} | {_ms(ck)} | {_ms(rs)} | {n} | "
                             f"{note} |")
        lines += ["", "| ratio engine / podman (medians) | value | target | met |",
                  "|---|---:|---:|---|"]
        cols = {c.key: c for c in self.columns}
        met_all = True
        for workload in self.workloads:
            for what in ("checkpoint", "restore"):
                name = f"{workload} {what}"
                if "engine" not in cols or "podman" not in cols:
                    continue
                a = self.median(cols["engine"], workload, what)
                b = self.median(cols["podman"], workload, what)
                if a is None or b is None:
                    lines.append(f"| {name} | - | <= {TARGET} | n/a |")
                    continue
                met = a / b <= TARGET
                met_all &= met
                lines.append(f"| {name} | {a / b:.2f} | <= {TARGET} | "
                             f"{'yes' if met else 'NO'} |")
        return "\n".join(lines), met_all


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--iterations", "-n", type=int, default=5,
                   help="timed checkpoint+restore cycles per column and workload (default 5)")
    p.add_argument("--warmup", type=int, default=1, help="untimed cycles first (default 1)")
    p.add_argument("--only", metavar="ITEMS", default="",
                   help="comma-separated subset of columns (engine, podman) and workloads "
                        "(loop, mem256)")
    p.add_argument("--check", action="store_true", help="exit 2 when a ratio misses 1.2")
    args = p.parse_args(argv)
    if args.iterations < 1 or args.warmup < 0:
        p.error("--iterations must be >= 1 and --warmup >= 0")
    items = [x.strip() for x in args.only.split(",") if x.strip()]
    bad = [x for x in items if x not in COLUMNS and x not in WORKLOADS]
    if bad:
        p.error(f"unknown --only item(s) {', '.join(bad)}")
    args.keys = [k for k in COLUMNS if k in items] or list(COLUMNS)
    args.workloads = [w for w in WORKLOADS if w in items] or list(WORKLOADS)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        log("needs root (runc, conmon, CRIU, overlay mounts, rootful podman)")
        return 1
    bench = Bench(args.keys, args.workloads, args.iterations, args.warmup)
    if lifecycle.run_guarded(bench.setup, bench.measure, bench.teardown):
        return 130
    table, met = bench.report()
    print(table, flush=True)
    if any(c.status == "failed" for c in bench.columns):
        return 1
    return 2 if args.check and not met else 0


if __name__ == "__main__":
    sys.exit(main())
