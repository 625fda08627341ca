#!/usr/bin/env python3
"""Log reading benchmark: ``logs --tail 5`` and ``logs --since T`` on big k8s-file logs, the
engine against podman, both reading the very same file.

For each size (default 100 MB and 1 GB) a synthetic log in conmon's k8s-file format is
written as the log of a created (never started) container of a private engine root: one
record per 10 us of a past day, a P record (a line split by conmon's buffer) every 97 records,
a stderr record every 13. Podman gets a created container of its own whose log is that file
(``podman create --log-opt path=FILE``), so both read the same bytes from the page cache.

Queries, each run ``--runs`` times after one untimed run (medians shown):

  tail 5     the last 5 lines
  since      ``--since`` the time of the 100th line from the end (100 lines out)
  since+until  a 100-line window in the middle of the log

Columns:

  engine     ``read_log`` in-process (with the bytes it read)
  cli        ``jupyter-ctr logs ...`` (a process)
  podman     ``podman logs ...`` (a process; private roots, ``CONTAINERS_CONF``)

The CLI must print the engine's lines, else it fails; podman's that differ are marked "other
lines" (podman 4.3.1's tail misplaces the text of P records). Everything lives in a temp dir
(``/tmp/jcl*``), deleted at the end, also on errors and Ctrl-C; the logs take the disk space
of the biggest size twice at most. Exit status: 0, 1 when a column failed, 130 when
interrupted.

    sudo .venv/bin/python bench/logs.py                    # 100 MB and 1 GB, 5 runs
    .venv/bin/python bench/logs.py --sizes 100 --runs 3 --no-podman
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TypeVar

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import lifecycle  # noqa: E402 - bench/ helpers (podman store, rootfs)

from jupyter_ctr.engine import Runtime  # noqa: E402
from jupyter_ctr.engine.logs import LogReader  # noqa: E402

STEP_NS = 10_000  # one record per 10 us
HALF = STEP_NS // 2
DAY = datetime(2026, 11, 1, tzinfo=UTC)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def write_log(path: Path, megabytes: int) -> int:
    """A k8s-file log of about ``megabytes`` MB; returns its number of records."""
    target = megabytes * 10**6
    written = count = 0
    second = int(DAY.timestamp())
    per_second = 1_000_000_000 // STEP_NS
    with open(path, "wb") as fh:
        while written < target:
            prefix = datetime.fromtimestamp(second, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
            for j0 in range(0, per_second, 10_000):
                recs = []
                for j in range(j0, j0 + 10_000):
                    i = count + j
                    stream = "stderr" if i % 13 == 12 else "stdout"
                    tag = "P" if i % 97 == 96 and stream == "stdout" else "F"
                    recs.append(f"{prefix}.{j * STEP_NS:09d}+00:00 {stream} {tag} "
                                f"record {i:010d} of a synthetic container log\n")
                chunk = "".join(recs).encode()
                fh.write(chunk)
                written += len(chunk)
                if written >= target:
                    return count + j0 + 10_000
            count += per_second
            second += 1
    return count


def stamp(i: int, delta: int = 0) -> str:
    """RFC3339 time of record ``i``, plus ``delta`` ns."""
    ns = _ns(i) + delta
    base = datetime.fromtimestamp(ns // 10**9, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{ns % 10**9:09d}Z"


def engine_query(path: Path, kw: dict[str, int]) -> tuple[list[str], int]:
    """The lines (with their newlines) and the bytes read, in-process."""
    reader = LogReader(path)
    found = reader.lines(**kw)  # type: ignore[arg-type]
    lines = [x.text + ("" if x.partial else "\n") for x in found]
    return lines, reader.bytes_read


def process_query(argv: list[str], env: dict[str, str]) -> list[str]:
    """The lines a ``logs`` process prints on stdout and stderr, sorted."""
    p = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    return sorted(p.stdout.splitlines(True) + p.stderr.splitlines(True))


T = TypeVar("T")


def timed(fn: Callable[[], T], runs: int) -> tuple[float, T]:
    out = fn()  # untimed: page cache, bytecode
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        again = fn()
        times.append(time.perf_counter() - t0)
        if again != out:
            raise RuntimeError("two runs of the same query gave different output")
    return statistics.median(times), out


class Store:
    """Duck-typed stand-in for lifecycle.Bench: what PodmanStore needs."""

    def __init__(self, top: Path) -> None:
        self.top = top
        self.rootfs = lifecycle.build_rootfs(top / "rootfs")

    def workdir(self, name: str) -> Path:
        path = self.top / name
        path.mkdir(mode=0o700)
        return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,1000", help="log sizes in MB (default 100,1000)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per query (default 5)")
    ap.add_argument("--no-podman", action="store_true", help="skip the podman column")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    top = Path(tempfile.mkdtemp(prefix="jcl", dir="/tmp"))
    failed = False
    rows: list[list[str]] = []
    podman = None
    rt = None
    try:
        rt = Runtime(top / "r", top / "x")
        rt.images.build_demo()
        store = Store(top)
        if not args.no_podman:
            try:
                podman = lifecycle.PodmanStore(store)  # type: ignore[arg-type]
                podman.ensure()
            except Exception as exc:  # noqa: BLE001 - the peer is optional
                log(f"podman: skipped: {exc}")
                podman = None
        cli = [sys.executable, "-m", "jupyter_ctr.cli", "--root", str(top / "r"),
               "--runroot", str(top / "x")]
        env = dict(os.environ, PYTHONPATH=str(REPO))
        for mb in sizes:
            ctr = rt.create_container("localhost/busybox", ["true"], name=f"log{mb}")
            ctr.log_path.parent.mkdir(parents=True, exist_ok=True)
            log(f"writing a {mb} MB log")
            count = write_log(ctr.log_path, mb)
            size = ctr.log_path.stat().st_size
            pid = None
            if podman is not None:
                pid = podman.podman_cmd("create", "--log-opt", f"path={ctr.log_path}",
                                        lifecycle.PODMAN_IMAGE, "true", out=True).strip()
            mid = count // 2
            queries = {
                "tail 5": (["--tail", "5"], {"tail": 5}),
                # Bounds 5 us off the records: podman's are exclusive, ours inclusive, and
                # the CLI's go through float seconds (sub-microsecond precision is lost).
                "since (100 lines)": (["--since", stamp(count - 100, -HALF)],
                                      {"since_ns": _ns(count - 100) - HALF}),
                "since+until (100 lines)": (
                    ["--since", stamp(mid, -HALF), "--until", stamp(mid + 99, HALF)],
                    {"since_ns": _ns(mid) - HALF, "until_ns": _ns(mid + 99) + HALF}),
            }
            for name, (flags, kw) in queries.items():
                row = [f"{size / 1e6:,.0f} MB", name]
                try:
                    t_engine, (lines, nbytes) = timed(
                        partial(engine_query, ctr.log_path, kw), args.runs)
                    row.append(f"{t_engine * 1e3:.2f} ms ({nbytes / 1e3:,.0f} kB read)")
                    t_cli, cli_lines = timed(
                        partial(process_query, [*cli, "logs", *flags, f"log{mb}"], env),
                        args.runs)
                    if cli_lines != sorted(lines):
                        raise RuntimeError(f"cli printed other lines for {name}")
                    row.append(f"{t_cli * 1e3:.1f} ms")
                    if podman is not None and pid is not None:
                        t_pm, pm_lines = timed(
                            partial(process_query, [*podman.base, "logs", *flags, pid],
                                    podman.env), args.runs)
                        same = "" if pm_lines == cli_lines else " (other lines)"
                        row.append(f"{t_pm * 1e3:.1f} ms{same}")
                        row.append(f"{t_cli / t_pm:.2f}x")
                except Exception:  # noqa: BLE001 - report, go on with the next query
                    traceback.print_exc()
                    failed = True
                    row.append("failed")
                rows.append(row)
            rt.remove_container(ctr, force=True)
            if podman is not None and pid:
                podman.podman_cmd("rm", "-f", pid)
        head = ["log", "query", "engine in-process", "jupyter-ctr logs"]
        if podman is not None:
            head += ["podman logs", "cli / podman"]
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for row in rows:
            print("| " + " | ".join(row) + " |")
        if podman is None:
            print("\npodman not measured (--no-podman or not available)")
        return 1 if failed else 0
    except KeyboardInterrupt:
        return 130
    finally:
        if rt is not None:
            for c in rt.list_containers(all=True):
                rt.remove_container(c, force=True)
            rt.close()
        if podman is not None:
            podman.teardown()
        shutil.rmtree(top, ignore_errors=True)


def _ns(i: int) -> int:
    return int(DAY.timestamp()) * 10**9 + i * STEP_NS


if __name__ == "__main__":
    sys.exit(main())
