#!/usr/bin/env python3
"""Notebook magics benchmark: ``%ctr run --rm IMAGE echo hi`` in a real kernel against
``podman run --rm IMAGE echo hi``, and output throughput from a container into a cell.

  run       ``%ctr run --rm IMAGE echo hi`` sent to a python3 kernel (jupyter_client), timed
            from the execute_request to its execute_reply; its output is checked ("hi")
            afterwards. The peer: the ``podman run --rm IMAGE echo hi`` process, started and
            waited for (stdout to a file).
  flood     ``%%ctr run --rm IMAGE`` with the body ``seq 1 N`` (as fast as a container
            prints), then a shell loop echoing N lines (a steady producer): lines per second
            from the container into the cell (request to reply), and the iopub messages it
            took (stream messages, and the display updates of the elided tail).

The sides run interleaved, one sample of each per round, the order alternating. After each
sample the benchmark waits, untimed, until no process of that side is left (conmon, exit
commands), as ``lifecycle.py`` does. The kernel is this venv's python3 kernel running this
checkout, on private engine roots (JUPYTER_CTR_ROOT/RUNROOT); podman uses
``CONTAINERS_CONF=bench/containers.conf`` and private roots (``lifecycle.py``'s PodmanStore).

Target: the ``run`` median at most 0.5x podman's. Exit status 0; 1 when a side failed; 2 with
``--check`` when the target is missed; 130 when interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import queue
import statistics
import subprocess
import sys
import tempfile
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
    build_rootfs,
    cgroup_dirs,
    kill_pids,
    pids_referencing,
    remove_new_cgroups,
    rmtree,
    wait_quiet,
)

TARGET = 0.5  # ours / podman, medians of `run --rm IMAGE echo hi`
TIMEOUT = 120.0


def log(msg: str) -> None:
    print(f"magics: {msg}", file=sys.stderr, flush=True)


lifecycle.log = log


def p90(samples: Sequence[float]) -> float:
    return statistics.quantiles(samples, n=10)[8] if len(samples) >= 2 else samples[0]


class KernelSide:
    """A python3 kernel with ``%load_ext jupyter_ctr`` on private engine roots."""

    def __init__(self, workdir: Path) -> None:
        from jupyter_client.manager import KernelManager

        self.dir = workdir
        root, run_root = workdir / "root", workdir / "run"
        engine = lifecycle._import_engine()
        rt = engine.Runtime(root=root, run_root=run_root)
        try:
            self.image = lifecycle._demo_image(rt)
        finally:
            rt.close()
        env = dict(os.environ, JUPYTER_CTR_ROOT=str(root), JUPYTER_CTR_RUNROOT=str(run_root),
                   PYTHONPATH=os.pathsep.join(p for p in (str(REPO),
                                                          os.environ.get("PYTHONPATH", ""))
                                              if p))
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(env=env)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)
        self.execute("%load_ext jupyter_ctr")
        self.execute("%ctr ps")  # opens the kernel's engine (its store under the roots)
        self.exclude = pids_referencing([self.dir])  # the kernel itself

    def execute(self, code: str) -> tuple[float, list[dict[str, Any]], dict[str, Any]]:
        """(seconds from the request to its reply, the iopub messages, the reply)."""
        t0 = time.perf_counter()
        msg_id = self.kc.execute(code)
        while True:
            reply = self.kc.get_shell_msg(timeout=TIMEOUT)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        dt = time.perf_counter() - t0
        msgs = []
        while True:
            try:
                msg = self.kc.get_iopub_msg(timeout=TIMEOUT)
            except queue.Empty:
                raise RuntimeError(f"no idle status after {code!r}") from None
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            msgs.append(msg)
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"{code!r}: {reply['content']}")
        return dt, msgs, reply

    def quiesce(self) -> None:
        wait_quiet([self.dir], self.exclude)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.execute("%unload_ext jupyter_ctr")
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


class Bench:
    def __init__(self, iterations: int, warmup: int, lines: int) -> None:
        self.iterations, self.warmup, self.lines = iterations, warmup, lines
        self.cgroups_before = cgroup_dirs()
        self.top = Path(tempfile.mkdtemp(prefix="jcm", dir="/tmp"))  # short: socket paths
        self.rootfs = self.top / "rootfs"
        self.store: PodmanStore | None = None
        self.kernel: KernelSide | None = None
        self.samples: dict[str, list[float]] = {"ours": [], "podman": []}
        # seq, shell loop: (seconds, stream messages, display messages) per run
        self.flood: dict[bool, list[tuple[float, int, int]]] = {False: [], True: []}
        self.failed: dict[str, str] = {}

    def workdir(self, name: str) -> Path:  # for PodmanStore
        path = self.top / name
        path.mkdir(mode=0o700)
        return path

    def _fail(self, key: str, phase: str, exc: BaseException) -> None:
        first = str(exc).splitlines()[0] if str(exc) else ""
        self.failed[key] = f"{phase} failed: {type(exc).__name__}: {first}"
        log(f"{key}: {phase} failed:\n{''.join(traceback.format_exception(exc))}")

    def setup(self) -> None:
        build_rootfs(self.rootfs)
        try:
            log("starting a kernel on private roots (demo image)")
            self.kernel = KernelSide(self.workdir("j"))
        except Exception as exc:  # noqa: BLE001 - reported, the other side goes on
            self._fail("ours", "setup", exc)
        try:
            log("setting up podman (private store)")
            self.store = PodmanStore(cast(Any, self))
            self.store.ensure()
        except Exception as exc:  # noqa: BLE001 - reported, the other side goes on
            self._fail("podman", "setup", exc)

    # -- one sample of each --------------------------------------------------------------
    def run_ours(self) -> float:
        assert self.kernel is not None
        dt, msgs, _ = self.kernel.execute(f"%ctr run --rm {self.kernel.image} echo hi")
        out = "".join(m["content"]["text"] for m in msgs if m["msg_type"] == "stream")
        if out != "hi\n":
            raise RuntimeError(f"%ctr run printed {out!r}")
        self.kernel.quiesce()
        return dt

    def run_podman(self) -> float:
        assert self.store is not None and self.store.dir is not None
        argv = [*self.store.base, "run", "--rm", PODMAN_IMAGE, "echo", "hi"]
        with tempfile.TemporaryFile() as fout, tempfile.TemporaryFile() as ferr:
            t0 = time.perf_counter()
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=fout, stderr=ferr,
                                    env=self.store.env)
            rc = proc.wait()
            dt = time.perf_counter() - t0
            fout.seek(0)
            ferr.seek(0)
            out = fout.read().decode(errors="replace")
            if rc != 0 or out != "hi\n":
                raise CommandError(argv, rc, out + ferr.read().decode(errors="replace"))
        wait_quiet([self.store.dir], self.store.service_pids)
        return dt

    def flood_ours(self, loop: bool = False) -> tuple[float, int, int]:
        """One flood: ``seq`` (as fast as the container can print), or with ``loop`` a
        shell loop printing a line per iteration (a slower, steady producer)."""
        assert self.kernel is not None
        body = (f"i=1; while [ $i -le {self.lines} ]; do echo $i; i=$((i+1)); done" if loop
                else f"seq 1 {self.lines}")
        dt, msgs, _ = self.kernel.execute(f"%%ctr run --rm {self.kernel.image}\n{body}\n")
        streams = sum(1 for m in msgs if m["msg_type"] == "stream")
        displays = sum(1 for m in msgs if m["msg_type"] in ("display_data",
                                                            "update_display_data"))
        tail = [m for m in msgs if m["msg_type"] in ("display_data", "update_display_data")]
        if tail:  # past the output limit: the last lines are the live tail's display
            last = tail[-1]["content"]["data"]["text/plain"]
        else:  # within it: all of it came as stream messages
            last = "".join(m["content"]["text"] for m in msgs
                           if m["msg_type"] == "stream").rstrip("\n")
        if not last.endswith(f"\n{self.lines}"):
            raise RuntimeError(f"the flood's tail does not end in {self.lines}: {last[-80:]!r}")
        self.kernel.quiesce()
        return dt, streams, displays

    def measure(self) -> None:
        for rnd in range(self.warmup + self.iterations):
            timed = rnd >= self.warmup
            order = ["ours", "podman"] if rnd % 2 == 0 else ["podman", "ours"]
            for key in order:
                if key in self.failed:
                    continue
                try:
                    dt = self.run_ours() if key == "ours" else self.run_podman()
                except Exception as exc:  # noqa: BLE001 - reported, the other side goes on
                    self._fail(key, "run", exc)
                    continue
                if timed:
                    self.samples[key].append(dt)
            if timed and (rnd - self.warmup + 1) % 10 == 0:
                log(f"{rnd - self.warmup + 1}/{self.iterations} rounds")
        if "ours" not in self.failed:
            for loop in (False, True):
                for _ in range(max(3, self.iterations // 10)):
                    try:
                        self.flood[loop].append(self.flood_ours(loop))
                    except Exception as exc:  # noqa: BLE001 - reported in the table
                        self._fail("ours", "flood", exc)
                        return

    def teardown(self) -> None:
        if self.kernel is not None:
            with contextlib.suppress(Exception):
                self.kernel.close()
            wait_quiet([self.kernel.dir], timeout=5)
        if self.store is not None:
            try:
                self.store.teardown()
            except Exception as exc:  # noqa: BLE001 - cleanup goes on regardless
                log(f"cleanup: podman store: {exc!r}")
        kill_pids(pids_referencing([self.top]))
        with contextlib.suppress(lifecycle.Skip, CommandError, subprocess.TimeoutExpired):
            lifecycle.runc_delete_all(lifecycle.which("runc"), self.top / "j" / "run" / "runc")
        rmtree(self.top)
        remove_new_cgroups(self.cgroups_before)

    # -- report --------------------------------------------------------------------------
    def report(self) -> tuple[str, bool]:
        lines = [
            f"Notebook magics: {self.iterations} samples per side after {self.warmup} warm-up, "
            f"interleaved ({platform.node()}, kernel {platform.release()}, "
            f"{os.cpu_count()} cpus)",
            "",
            "| `run --rm IMAGE echo hi` | median ms | p90 ms |",
            "|---|---:|---:|",
        ]
        med = {}
        for key, title in (("ours", "`%ctr run` in a kernel (request to reply)"),
                           ("podman", "`podman run` (process)")):
            s = self.samples[key]
            if s and key not in self.failed:
                med[key] = statistics.median(s) * 1000
                lines.append(f"| {title} | {med[key]:.1f} | {p90(s) * 1000:.1f} |")
            else:
                lines.append(f"| {title} | - | - |")
        met = True
        if "ours" in med and "podman" in med:
            ratio = med["ours"] / med["podman"]
            met = ratio <= TARGET
            lines.append(f"\nratio of medians {ratio:.2f} (target <= {TARGET}: "
                         f"{'met' if met else 'NOT met'})")
        if self.flood[False]:
            lines += ["", "| `%%ctr run --rm IMAGE` printing | seconds (median) | lines/s | "
                          "stream messages (max) | display messages (max) |",
                      "|---|---:|---:|---:|---:|"]
        for loop, what in ((False, f"`seq 1 {self.lines}`"),
                           (True, f"a `sh` loop, `echo $i` x {self.lines}")):
            runs = self.flood[loop]
            if runs:
                secs = statistics.median(f[0] for f in runs)
                lines.append(f"| {what} ({len(runs)} runs) | {secs:.2f} | "
                             f"{self.lines / secs:,.0f} | {max(f[1] for f in runs)} | "
                             f"{max(f[2] for f in runs)} |")
        for key, why in self.failed.items():
            lines.append(f"\n{key}: {why}")
        return "\n".join(lines), met


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--iterations", "-n", type=int, default=30,
                   help="timed samples per side (default 30)")
    p.add_argument("--warmup", type=int, default=3, help="untimed rounds first (default 3)")
    p.add_argument("--lines", type=int, default=200_000,
                   help="lines the flood container prints (default 200000)")
    p.add_argument("--check", action="store_true", help="exit 2 when the target is missed")
    args = p.parse_args(argv)
    if args.iterations < 2 or args.warmup < 0 or args.lines < 1:
        p.error("--iterations must be >= 2, --warmup >= 0, --lines >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        log("needs root (runc, conmon, overlay mounts, rootful podman)")
        return 1
    bench = Bench(args.iterations, args.warmup, args.lines)
    if lifecycle.run_guarded(bench.setup, bench.measure, bench.teardown):
        return 130
    table, met = bench.report()
    print(table, flush=True)
    if bench.failed:
        return 1
    return 2 if args.check and not met else 0


if __name__ == "__main__":
    sys.exit(main())
