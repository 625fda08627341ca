#!/usr/bin/env python3
"""CLI start-up benchmark: ``jupyter-ctr`` against ``podman``, command by command.

Each sample is one whole process, started and waited for (stdout to a file, stdin
/dev/null), timed from the benchmark's side:

  version   ``--version``: the fastest command, a floor for the process start
  ps        ``ps -a`` with two containers in the store (one running, one exited)
  inspect   ``inspect --format '{{.State.Status}}'`` of the running container
  cycle     the four commands ``create IMAGE sleep 1000``, ``start``, ``stop -t 0``, ``rm``
            (summed; each step is also reported on its own)

The two sides run interleaved (one sample of each per round, the order alternating), so that
a noisy machine hits both alike. After each cycle the benchmark waits, untimed, until no
process of that side is left (conmon, exit commands), as ``lifecycle.py`` does.

``jupyter-ctr`` runs from the venv's console script with bytecode cached in a private
pycache (steady state; the checkout is not written); podman with
``CONTAINERS_CONF=bench/containers.conf`` and private ``--root``/``--runroot``/``--tmpdir``.
Everything is removed at the end, also on errors and Ctrl-C (``lifecycle.py``'s helpers).

Targets (ratios of medians): ``ps -a`` at most 1.5x podman's, the four-command cycle at most
0.7x podman's. Exit status: 0; 1 when a side failed; 2 with ``--check`` when a target is
missed; 130 when interrupted.
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
import threading
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import lifecycle
from lifecycle import (
    PODMAN_IMAGE,
    REPO,
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

SIDES = ("ours", "podman")
MEASURES = ("version", "ps", "inspect", "cycle")
STEPS = ("create", "start", "stop", "rm")
TITLES = {"version": "`--version`", "ps": "`ps -a` (2 containers)",
          "inspect": "`inspect --format '{{.State.Status}}'`",
          "cycle": "create + start + stop -t 0 + rm", "create": "  create",
          "start": "  start", "stop": "  stop -t 0", "rm": "  rm"}
TARGETS = {"ps": 1.5, "cycle": 0.7}  # ours / podman, medians, must be <= this
DEVNULL = subprocess.DEVNULL
COMMAND_TIMEOUT = 120.0  # seconds: a hung command is killed (and then fails its side)


def log(msg: str) -> None:
    print(f"cli: {msg}", file=sys.stderr, flush=True)


lifecycle.log = log  # the shared helpers' cleanup messages carry this script's prefix


class Side:
    """One CLI: its argv prefix, environment, image and the directories its processes use."""

    def __init__(self, key: str, base: list[str], env: dict[str, str], image: str,
                 quiet_dirs: list[Path], exclude: Sequence[int] = ()) -> None:
        self.key, self.base, self.env, self.image = key, base, env, image
        self.quiet_dirs, self.exclude = quiet_dirs, list(exclude)
        self.samples: dict[str, list[float]] = {m: [] for m in (*MEASURES, *STEPS)}
        self.kept: list[str] = []  # ids of the containers ps and inspect see
        self.status = "ok"
        self.note = ""

    def run(self, *args: str, out: bool = False) -> tuple[float, str]:
        """Run one command; (seconds, stdout). Output goes to a temp file, never a pipe:
        ``start`` hands the container's stdio to conmon, which would keep a pipe open.

        The wait is a plain blocking one: ``Popen.wait(timeout=...)`` polls with growing
        sleeps, which would round every sample up (to 31.5 ms, 63.5 ms, ...)."""
        with tempfile.TemporaryFile() as fout, tempfile.TemporaryFile() as ferr:
            argv = [*self.base, *args]
            t0 = time.perf_counter()
            proc = subprocess.Popen(argv, stdin=DEVNULL, stdout=fout, stderr=ferr, env=self.env)
            watchdog = threading.Timer(COMMAND_TIMEOUT, proc.kill)
            watchdog.start()
            try:
                rc = proc.wait()
            finally:
                watchdog.cancel()
            dt = time.perf_counter() - t0
            if rc != 0:
                ferr.seek(0)
                raise CommandError(argv, rc, ferr.read().decode(errors="replace"))
            if not out:
                return dt, ""
            fout.seek(0)
            return dt, fout.read().decode(errors="replace")

    def quiesce(self) -> None:
        wait_quiet(self.quiet_dirs, self.exclude)

    # -- one sample of each measurement ---------------------------------------------------
    def version(self) -> None:
        self.samples["version"].append(self.run("--version")[0])

    def ps(self) -> None:
        self.samples["ps"].append(self.run("ps", "-a")[0])

    def inspect(self) -> None:
        dt, text = self.run("inspect", "--format", "{{.State.Status}}", self.kept[0], out=True)
        if text.strip() != "running":
            raise RuntimeError(f"{self.key}: inspect --format printed {text!r}, not running")
        self.samples["inspect"].append(dt)

    def cycle(self) -> None:
        t_create, out = self.run("create", self.image, "sleep", "1000", out=True)
        cid = out.split()[-1]
        t_start = self.run("start", cid)[0]
        t_stop = self.run("stop", "-t", "0", cid)[0]
        t_rm = self.run("rm", cid)[0]
        for key, dt in zip(STEPS, (t_create, t_start, t_stop, t_rm), strict=True):
            self.samples[key].append(dt)
        self.samples["cycle"].append(t_create + t_start + t_stop + t_rm)
        self.quiesce()

    def keep_containers(self) -> None:
        """One running and one exited container for ``ps -a`` and ``inspect``."""
        for args in (("sleep", "1000"), ("true",)):
            cid = self.run("create", self.image, *args, out=True)[1].split()[-1]
            self.kept.append(cid)
            self.run("start", cid)
        self.run("wait", self.kept[1])
        self.quiesce()
        # the running one's conmon stays: later cycles must not wait for it to go
        self.exclude += pids_referencing(self.quiet_dirs, self.exclude)

    def remove_kept(self) -> None:
        if self.kept:
            with contextlib.suppress(CommandError, subprocess.TimeoutExpired):
                self.run("rm", "-f", "-t", "0", *self.kept)
            self.kept.clear()


class Bench:
    def __init__(self, measures: Sequence[str], iterations: int, warmup: int) -> None:
        self.measures = list(measures)
        self.iterations, self.warmup = iterations, warmup
        self.cgroups_before = cgroup_dirs()
        self.top = Path(tempfile.mkdtemp(prefix="jcc", dir="/tmp"))  # short: socket paths
        self.rootfs = self.top / "rootfs"
        self.store: PodmanStore | None = None
        self.sides: dict[str, Side] = {}
        self.failed: dict[str, str] = {}

    def workdir(self, name: str) -> Path:  # for PodmanStore
        path = self.top / name
        path.mkdir(mode=0o700)
        return path

    def setup(self) -> None:
        build_rootfs(self.rootfs)
        for key in SIDES:
            try:
                side = self._setup_ours() if key == "ours" else self._setup_podman()
                if {"ps", "inspect"} & set(self.measures):
                    side.keep_containers()
            except Skip as exc:
                self.failed[key] = f"skipped: {exc}"
                log(f"{key}: skipped: {exc}")
            except Exception as exc:  # noqa: BLE001 - reported, the other side goes on
                self._fail(key, "setup", exc)

    def _fail(self, key: str, phase: str, exc: BaseException) -> None:
        first = str(exc).splitlines()[0] if str(exc) else ""
        self.failed[key] = f"{phase} failed: {type(exc).__name__}: {first}"
        log(f"{key}: {phase} failed:\n{''.join(traceback.format_exception(exc))}")

    def _setup_ours(self) -> Side:
        log("setting up jupyter-ctr (private roots, demo image)")
        engine = lifecycle._import_engine()
        self.odir = self.workdir("j")
        root, run_root = self.odir / "root", self.odir / "run"
        rt = engine.Runtime(root=root, run_root=run_root)
        try:
            image = lifecycle._demo_image(rt)
        finally:
            rt.close()
        script = Path(sys.executable).parent / "jupyter-ctr"
        prog = [str(script)] if script.exists() else [sys.executable, "-m", "jupyter_ctr.cli"]
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(self.odir / "pycache")  # the checkout is not written
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", ""))
                                            if p)
        side = Side("ours", [*prog, "--root", str(root), "--runroot", str(run_root)], env,
                    image, [self.odir])
        side.run("ps")  # fills the pycache
        self.sides["ours"] = side
        return side

    def _setup_podman(self) -> Side:
        log("setting up podman (private store)")
        self.store = PodmanStore(cast(Any, self))
        self.store.ensure()
        assert self.store.dir is not None
        side = Side("podman", self.store.base, self.store.env, PODMAN_IMAGE, [self.store.dir],
                    self.store.service_pids)
        self.sides["podman"] = side
        return side

    def measure(self) -> None:
        total = self.warmup + self.iterations
        for rnd in range(total):
            timed = rnd >= self.warmup
            order = list(self.sides.values())
            if rnd % 2:
                order.reverse()
            for measure in self.measures:
                for side in order:
                    if side.key in self.failed:
                        continue
                    before = {k: len(v) for k, v in side.samples.items()}
                    try:
                        getattr(side, measure)()
                    except Exception as exc:  # noqa: BLE001 - reported, the other side goes on
                        self._fail(side.key, measure, exc)
                        continue
                    if not timed:  # warm-up: forget what it added
                        for k, n in before.items():
                            del side.samples[k][n:]
            if rnd == self.warmup - 1:
                log("warm-up done")
            elif timed and (rnd - self.warmup + 1) % 5 == 0:
                log(f"{rnd - self.warmup + 1}/{self.iterations} rounds")

    def teardown(self) -> None:
        for side in self.sides.values():
            side.remove_kept()
            with contextlib.suppress(CommandError, subprocess.TimeoutExpired):
                left = side.run("ps", "-aq")[1].split() if side.key == "ours" else []
                if left:
                    log(f"cleanup: jupyter-ctr containers left: {len(left)}, removing them")
                    side.run("rm", "-f", *left)
        if "ours" in self.sides:
            wait_quiet([self.odir], timeout=5)
            kill_pids(pids_referencing([self.odir]))
            with contextlib.suppress(Skip, CommandError, subprocess.TimeoutExpired):
                lifecycle.runc_delete_all(lifecycle.which("runc"), self.odir / "run" / "runc")
        if self.store is not None:
            try:
                self.store.teardown()
            except Exception as exc:  # noqa: BLE001 - cleanup goes on regardless
                log(f"cleanup: podman store: {exc!r}")
        kill_pids(pids_referencing([self.top]))
        rmtree(self.top)
        remove_new_cgroups(self.cgroups_before)

    # -- report --------------------------------------------------------------------------
    def median_ms(self, key: str, measure: str) -> float | None:
        side = self.sides.get(key)
        if side is None or key in self.failed or not side.samples[measure]:
            return None
        return statistics.median(side.samples[measure]) * 1000

    def report(self) -> tuple[str, bool]:
        lines = [
            f"CLI commands, whole processes: median ms of {self.iterations} samples per side "
            f"after {self.warmup} warm-up, interleaved ({platform.node()}, kernel "
            f"{platform.release()}, {os.cpu_count()} cpus)",
            "",
            "| command | jupyter-ctr ms | podman ms | ratio | target | met |",
            "|---|---:|---:|---:|---:|---|",
        ]
        all_met = True
        rows = [m for m in self.measures if m != "cycle"]
        if "cycle" in self.measures:
            rows += ["cycle", *STEPS]
        for measure in rows:
            ours, theirs = self.median_ms("ours", measure), self.median_ms("podman", measure)
            ratio = ours / theirs if ours is not None and theirs else None
            target = TARGETS.get(measure)
            met = "" if target is None or ratio is None else (
                "yes" if ratio <= target else "NO")
            if target is not None and ratio is not None:
                all_met &= ratio <= target
            lines.append("| {} | {} | {} | {} | {} | {} |".format(
                TITLES[measure], "-" if ours is None else f"{ours:.1f}",
                "-" if theirs is None else f"{theirs:.1f}",
                "-" if ratio is None else f"{ratio:.2f}",
                "" if target is None else f"<= {target}", met))
        for key, why in self.failed.items():
            lines.append(f"\n{key}: {why}")
        return "\n".join(lines), all_met


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--iterations", "-n", type=int, default=20,
                   help="timed samples per side and measurement (default 20)")
    p.add_argument("--warmup", type=int, default=2, help="untimed rounds first (default 2)")
    p.add_argument("--only", metavar="LIST", default="",
                   help="comma-separated subset of: " + ",".join(MEASURES))
    p.add_argument("--check", action="store_true", help="exit 2 when a target is missed")
    args = p.parse_args(argv)
    if args.iterations < 1 or args.warmup < 0:
        p.error("--iterations must be >= 1 and --warmup >= 0")
    items = [x.strip() for x in args.only.split(",") if x.strip()]
    bad = [x for x in items if x not in MEASURES]
    if bad:
        p.error(f"unknown measurement(s) {', '.join(bad)}; choose from {', '.join(MEASURES)}")
    args.measures = [m for m in MEASURES if m in items] or list(MEASURES)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        log("needs root (runc, conmon, overlay mounts, rootful podman)")
        return 1
    bench = Bench(args.measures, args.iterations, args.warmup)
    if lifecycle.run_guarded(bench.setup, bench.measure, bench.teardown):
        return 130
    table, met = bench.report()
    print(table, flush=True)
    if bench.failed:
        return 1
    return 2 if args.check and not met else 0


if __name__ == "__main__":
    sys.exit(main())
