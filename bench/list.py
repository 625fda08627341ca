"""List benchmark: the cost of listing containers, in process and over the service socket.

Starts ``--running`` containers (``sleep``) and creates ``--created`` more (never started),
in private roots; half of the running ones belong to a student (uid ``--student-uid``). Then,
interleaved, medians of ``--repeat`` runs:

- engine ``Runtime.list_containers(all=True)`` and ``Door.list_containers(all=True)`` in
  process (as root, and as the student under the ownership policy);
- libpod ``GET /libpod/containers/json?all=true`` and Docker ``GET /containers/json?all=1``
  over ``jupyter-ctr service --socket`` (as root);
- a student's list and a name filter (``filters={"name":["^c-7$"]}``) over the socket;
- inspect one container (libpod and Docker).

    sudo .venv/bin/python bench/list.py [--running 100] [--created 0] [--repeat 20]

``BENCH_TREE=/path/to/checkout`` measures another checkout's code (before/after).

Prints a markdown table. Targets (issue 16): 100 containers under 10 ms, 1,000 under 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TREE = os.environ.get("BENCH_TREE") or str(Path(__file__).resolve().parent.parent)
sys.path.insert(0, TREE)
from jupyter_ctr.engine import Runtime  # noqa: E402
from jupyter_ctr.service.door import Door  # noqa: E402
from jupyter_ctr.service.policy import OwnershipPolicy  # noqa: E402
from jupyter_ctr.service.principal import Principal  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lifecycle import UnixHTTPConnection  # noqa: E402 - the shared helper

DEMO = "localhost/busybox:latest"
LIBPOD = "/v4.0.0/libpod"


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


class Socket:
    def __init__(self, path: str) -> None:
        self.path = path
        self.conn = UnixHTTPConnection(path)

    def get(self, url: str) -> bytes:
        self.conn.request("GET", url)
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"GET {url}: {resp.status} {data[:200]!r}")
        return data


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--running", type=int, default=100)
    ap.add_argument("--created", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--student-uid", type=int, default=60001)
    ap.add_argument("--keep", action="store_true", help="leave the roots (and containers)")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-list-"))
    root, runroot = tmp / "root", tmp / "run"
    rt = Runtime(root, runroot)
    rt.images.build_demo()
    student = rt.acting_as(args.student_uid, "student")
    t0 = time.monotonic()
    made = []
    for i in range(args.running + args.created):
        view = student if i % 2 else rt
        ctr = view.create_container(DEMO, ["sleep", "100000"], name=f"c-{i}")
        if i < args.running:
            ctr.start()
        made.append(ctr)
    print(f"made {len(made)} containers ({args.running} running) in "
          f"{time.monotonic() - t0:.1f} s", file=sys.stderr)

    sock = str(tmp / "api.sock")
    cli = [sys.executable, "-m", "jupyter_ctr.cli", "--root", str(root), "--runroot",
           str(runroot), "service", "--socket", sock, "--multi-user"]
    env = {**os.environ, "PYTHONPATH": TREE}
    proc = subprocess.Popen(cli, env=env, cwd=TREE, stdout=subprocess.DEVNULL,
                            stderr=open(tmp / "service.log", "wb"))  # noqa: SIM115
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(sock):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((tmp / "service.log").read_text())
            time.sleep(0.05)
        api = Socket(sock)
        api.get(f"{LIBPOD}/_ping")
        root_door = Door(rt, Principal(0, name="root"), OwnershipPolicy())
        student_door = Door(rt, Principal(args.student_uid, name="student"), OwnershipPolicy())
        one = made[len(made) // 2].id
        load = os.getloadavg()
        cases = {
            "engine Runtime.list_containers(all=True)": lambda: rt.list_containers(all=True),
            "Door.list_containers(all=True), root": lambda: root_door.list_containers(all=True),
            "Door.list_containers(all=True), student":
                lambda: student_door.list_containers(all=True),
            "Door.list_containers() running, root": lambda: root_door.list_containers(),
            "libpod containers/json?all=true": lambda: api.get(
                f"{LIBPOD}/containers/json?all=true"),
            "Docker containers/json?all=1": lambda: api.get("/v1.41/containers/json?all=1"),
            "libpod list, name filter (1 shown)": lambda: api.get(
                f"{LIBPOD}/containers/json?all=true&filters="
                + json.dumps({"name": ["^c-7$"]}).replace(" ", "")),
            "libpod inspect one": lambda: api.get(f"{LIBPOD}/containers/{one}/json"),
            "Docker inspect one": lambda: api.get(f"/v1.41/containers/{one}/json"),
        }
        for fn in cases.values():  # warm up
            fn()
        results: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(3):  # interleaved rounds
            for name, fn in cases.items():
                results[name].append(median_ms(fn, max(args.repeat // 3, 1)))
        total = args.running + args.created
        print(f"\n{total} containers ({args.running} running, half a student's); load "
              f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; median of {args.repeat}\n")
        print("| request | ms |")
        print("|---|---|")
        for name, vals in results.items():
            print(f"| {name} | {statistics.median(vals):.2f} |")
    finally:
        proc.terminate()
        proc.wait()
        if not args.keep:
            for ctr in made:
                try:
                    ctr.remove(force=True, timeout=0)
                except Exception as exc:  # noqa: BLE001
                    print(f"remove {ctr.name}: {exc}", file=sys.stderr)
            rt.close()
            subprocess.run(["umount", "-R", str(tmp)], stderr=subprocess.DEVNULL, check=False)
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
