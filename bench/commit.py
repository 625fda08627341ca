#!/usr/bin/env python3
"""Commit benchmark: ``Runtime.commit_container`` (and ``jupyter-ctr commit``) against
``podman commit``, for a stopped busybox container that wrote ``--size`` MB of random bytes.

Columns, interleaved round by round:

  engine  the engine in-process: ``rt.commit_container(ctr, NAME)``
  cli     ``python -m jupyter_ctr.cli commit CTR NAME`` (one process)
  podman  ``podman commit -q CTR NAME`` on a private store (overlay driver, its own root,
          run root and tmp dir; ``CONTAINERS_CONF`` = bench/containers.conf when present)

Only the commit is timed; the container's run before it and the image's removal after it are
not. Everything lives under a private temp dir in /tmp, removed at the end. Output: a markdown
table of medians and the engine/podman ratio on stdout.
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
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from jupyter_ctr.engine import Runtime  # noqa: E402 - after the path
from jupyter_ctr.engine.images import demo  # noqa: E402

IMAGE = "localhost/busybox:latest"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=50, help="MB the container writes")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="jcb", dir="/tmp"))
    script = f"head -c {args.size * 1000 * 1000} /dev/urandom > /big"
    times: dict[str, list[float]] = {"engine": [], "cli": [], "podman": []}
    rt = Runtime(base / "r", base / "x")
    rt.images.build_demo(IMAGE)
    podman = shutil.which("podman")
    env = dict(os.environ)
    conf = REPO / "bench" / "containers.conf"
    if conf.exists():
        env["CONTAINERS_CONF"] = str(conf)
    pbase = [str(podman), "--root", str(base / "p"), "--runroot", str(base / "pr"),
             "--tmpdir", str(base / "pt"), "--storage-driver", "overlay",
             "--events-backend", "none", "--cgroup-manager", "cgroupfs"]
    cli = [sys.executable, "-m", "jupyter_ctr.cli", "--root", str(base / "r"), "--runroot",
           str(base / "x")]
    try:
        if podman:
            tar = base / "rootfs.tar"
            demo.write_tarball(demo.find_static_busybox(None), tar)
            subprocess.run([*pbase, "import", str(tar), IMAGE], check=True,
                           capture_output=True, env=env)
        for i in range(args.rounds):
            made = []
            for _ in range(2):  # one each: the same content would reuse the first's layer
                ctr = rt.create_container(IMAGE, ["sh", "-c", script])
                ctr.start()
                ctr.wait()
                made.append(ctr)
            t0 = time.perf_counter()
            rt.commit_container(made[0], f"localhost/bench/e{i}")
            times["engine"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            subprocess.run([*cli, "commit", "-q", made[1].id, f"localhost/bench/c{i}"],
                           check=True, capture_output=True, env=dict(env, PYTHONPATH=str(REPO)))
            times["cli"].append(time.perf_counter() - t0)
            for ctr in made:
                rt.remove_container(ctr)
            for ref in (f"localhost/bench/e{i}", f"localhost/bench/c{i}"):
                rt.remove_image(ref)
            if podman:
                name = f"pb{i}"
                subprocess.run([*pbase, "run", "--name", name, "--runtime", "runc",
                                "--network", "none", IMAGE, "sh", "-c", script], check=True,
                               capture_output=True, env=env)
                t0 = time.perf_counter()
                subprocess.run([*pbase, "commit", "-q", name, f"localhost/bench/p{i}"],
                               check=True, capture_output=True, env=env)
                times["podman"].append(time.perf_counter() - t0)
                subprocess.run([*pbase, "rm", name], check=True, capture_output=True, env=env)
                subprocess.run([*pbase, "rmi", f"localhost/bench/p{i}"], check=True,
                               capture_output=True, env=env)
            print(f"round {i + 1}/{args.rounds}", file=sys.stderr)
    finally:
        rt.close()
        if podman:
            subprocess.run([*pbase, "system", "reset", "-f"], capture_output=True, env=env)
        subprocess.run(["umount", "-R", "-l", str(base)], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
    print(f"| commit of a {args.size} MB change | median s | min s |")
    print("|---|---|---|")
    for col, vals in times.items():
        if vals:
            print(f"| {col} | {statistics.median(vals):.3f} | {min(vals):.3f} |")
    if times["podman"]:
        ratio = statistics.median(times["engine"]) / statistics.median(times["podman"])
        print(f"\nengine / podman: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
