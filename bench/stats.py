"""Stats benchmark: stats of all running containers at 10 / 100 (/ 1,000) containers, over our
service (``jupyter-ctr service`` on a unix socket), optionally over a second of our services
running another tree's code (``--baseline /work/main``: the numbers before a change), and
over podman's (``podman system service``, private roots, CONTAINERS_CONF=bench/containers.conf),
interleaved; in process (this tree's engine on the service's roots: the sampler's read of
all, and the engine's ``Container.stats()`` of each); and what streaming clients cost the
service (CPU ms per second with 1 and N clients following ``containers/stats?stream=true``).

    sudo PYTHONPATH=$PWD .venv/bin/python bench/stats.py [--sizes 10,100] [--rounds 15]
         [--baseline /work/main] [--clients 1,20]

One-shot rounds are 0.6 s apart, so that our service never answers from a reading it took
for the previous round (it reuses readings younger than 0.5 s). Prints markdown tables;
progress goes to stderr. Everything is removed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lifecycle import (  # noqa: E402 - the shared helpers of bench/lifecycle.py
    API,
    PODMAN_IMAGE,
    REPO,
    Bench,
    RestColumn,
    UnixHTTPConnection,
    build_rootfs,
    log,
)
from rest import Rest  # noqa: E402

DEMO = "localhost/busybox:latest"
STATS = f"{API}/containers/stats?stream=false"
TICKS = os.sysconf("SC_CLK_TCK")


class Service:
    """``jupyter-ctr service`` of the code in ``tree`` on private roots (a process)."""

    def __init__(self, top: Path, name: str, tree: Path) -> None:
        self.name = name
        self.dir = top / name
        self.dir.mkdir(mode=0o700)
        root, run_root = self.dir / "r", self.dir / "x"
        self.roots = (root, run_root)
        self.sock = self.dir / "api.sock"
        env = dict(os.environ, PYTHONPATH=str(tree))
        cli = [sys.executable, "-m", "jupyter_ctr.cli", "--root", str(root),
               "--runroot", str(run_root)]
        # cwd: ``-m`` puts it first on sys.path, before PYTHONPATH's tree
        subprocess.run([*cli, "image", "build-demo"], check=True, capture_output=True, env=env,
                       cwd=self.dir)
        self.errlog = open(self.dir / "service.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen([*cli, "service", "--socket", str(self.sock)], env=env,
                                     cwd=self.dir, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self.errlog,
                                     start_new_session=True)
        deadline = time.monotonic() + 30
        while not self.sock.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} service did not start: "
                                   f"{(self.dir / 'service.log').read_text()}")
            time.sleep(0.05)
        self.rest = Rest(self.sock)
        self.rest.expect(200, "GET", f"{API}/_ping")
        self.pid = self.proc.pid
        self.image = DEMO

    def close(self) -> None:
        with contextlib.suppress(Exception):
            left = json.loads(self.rest.expect(200, "GET", f"{API}/containers/json?all=true"))
            for c in left:  # a kill first: podman's DELETE takes ``timeout``, ours ``t``
                self.rest.request("POST", f"{API}/containers/{c['Id']}/kill")
                self.rest.request("DELETE", f"{API}/containers/{c['Id']}?force=true")
        self.rest.close()
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.errlog.close()


class Podman:
    """podman's REST service (bench/lifecycle.py RestColumn) with the same interface."""

    def __init__(self, bench: Bench) -> None:
        self.name = "podman"
        self.column = RestColumn(bench)
        self.column.setup()
        self.sock = self.column.sock_path
        self.rest = Rest(self.sock)
        self.pid = self.column.proc.pid
        self.image = PODMAN_IMAGE

    def close(self) -> None:
        with contextlib.suppress(Exception):
            left = json.loads(self.rest.expect(200, "GET", f"{API}/containers/json?all=true"))
            for c in left:  # a kill first: podman's DELETE takes ``timeout``, ours ``t``
                self.rest.request("POST", f"{API}/containers/{c['Id']}/kill")
                self.rest.request("DELETE", f"{API}/containers/{c['Id']}?force=true")
        self.rest.close()
        self.column.teardown()


def fill(svc: Service | Podman, size: int) -> None:
    """Create and start containers until ``size`` run."""
    have = len(json.loads(svc.rest.expect(200, "GET", f"{API}/containers/json")))
    for _ in range(size - have):
        cid = json.loads(svc.rest.expect(201, "POST", f"{API}/containers/create", {
            "image": svc.image, "command": ["sleep", "100000"]}))["Id"]
        svc.rest.expect(204, "POST", f"{API}/containers/{cid}/start")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its waited-for children."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / TICKS


class Follower(threading.Thread):
    """One client following ``containers/stats?stream=true&interval=1``."""

    def __init__(self, sock: Path) -> None:
        super().__init__(daemon=True)
        self.conn = UnixHTTPConnection(str(sock), timeout=120)
        self.messages = 0
        self.first = threading.Event()

    def run(self) -> None:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            self.conn.request("GET", f"{API}/containers/stats?stream=true&interval=1")
            resp = self.conn.getresponse()
            while resp.readline():
                self.messages += 1
                self.first.set()
        self.first.set()

    def stop(self) -> None:
        sock = self.conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.conn.close()


def stream_cost(svc: Service | Podman, clients: int, window: float) -> tuple[float, int]:
    """The service's CPU ms per second while ``clients`` follow the stream, and the
    messages they got in the window."""
    followers = [Follower(svc.sock) for _ in range(clients)]
    for f in followers:
        f.start()
    for f in followers:
        f.first.wait(60)
    time.sleep(0.5)
    got0 = sum(f.messages for f in followers)
    cpu0, t0 = cpu_seconds(svc.pid), time.monotonic()
    time.sleep(window)
    cpu1, t1 = cpu_seconds(svc.pid), time.monotonic()
    got = sum(f.messages for f in followers) - got0
    for f in followers:
        f.stop()
    for f in followers:
        f.join(10)
    return (cpu1 - cpu0) / (t1 - t0) * 1000, got


def in_process(roots: tuple[Path, Path], rounds: int) -> dict[str, list[float]]:
    """This tree's engine on our service's roots: the sampler's read of every running
    container (fresh), and the engine's ``Container.stats()`` of each (the way before)."""
    from jupyter_ctr.engine import Runtime  # noqa: PLC0415 - the tree under test, late
    from jupyter_ctr.service.executors import Executors  # noqa: PLC0415
    from jupyter_ctr.service.stats import StatsSampler  # noqa: PLC0415

    rt = Runtime(*roots)
    pools = Executors(1, 1)
    sampler = StatsSampler(rt, pools)
    out: dict[str, list[float]] = {"sampler": [], "engine": []}
    try:
        for _ in range(rounds):
            t0 = time.perf_counter()
            sampler.read(None, 0.0)
            t1 = time.perf_counter()
            for ctr in rt.list_containers():
                with contextlib.suppress(Exception):
                    ctr.stats()
            t2 = time.perf_counter()
            out["sampler"].append((t1 - t0) * 1000)
            out["engine"].append((t2 - t1) * 1000)
    finally:
        sampler.close()
        pools.close()
        rt.close()
    return out


def one_shots(services: list[Any], size: int, rounds: int,
              warmup: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {s.name: [] for s in services}
    for rnd in range(warmup + rounds):
        k = rnd % len(services)
        for svc in services[k:] + services[:k]:
            t0 = time.perf_counter()
            body = json.loads(svc.rest.expect(200, "GET", STATS))
            dt = (time.perf_counter() - t0) * 1000
            if len(body["Stats"]) != size:
                raise RuntimeError(f"{svc.name}: {len(body['Stats'])} stats, {size} running")
            if rnd >= warmup:
                samples[svc.name].append(dt)
        time.sleep(0.6)
    return samples


def med(v: list[float]) -> str:
    return f"{statistics.median(v):.1f}" if v else "-"


def p90(v: list[float]) -> str:
    if not v:
        return "-"
    s = sorted(v)
    return f"{s[min(len(s) - 1, int(len(s) * 0.9))]:.1f}"


def report(names: list[str], titles: dict[str, str], clients: list[int], size: int,
           shots: dict[str, list[float]], local: dict[str, list[float]],
           streams: dict[tuple[str, int], tuple[float, int]]) -> None:
    print(f"## {size} running containers\n")
    print("| stats of all, `containers/stats?stream=false` | median ms | p90 ms | "
          "ratio to podman |")
    print("|---|---|---|---|")
    pod = statistics.median(shots["podman"]) if shots.get("podman") else None
    for name in names:
        ratio = f"{statistics.median(shots[name]) / pod:.2f}" if pod else "-"
        print(f"| {titles[name]} | {med(shots[name])} | {p90(shots[name])} | {ratio} |")
    print(f"| in process: StatsSampler.read() of all | {med(local['sampler'])} | "
          f"{p90(local['sampler'])} | - |")
    print(f"| in process: Container.stats() of each (lock, sync) | {med(local['engine'])}"
          f" | {p90(local['engine'])} | - |")
    print()
    print("| streaming `containers/stats?stream=true&interval=1` | "
          + " | ".join(f"{n} client{'s' if n > 1 else ''}: service CPU ms/s (messages)"
                       for n in clients) + " |")
    print("|---|" + "---|" * len(clients))
    for name in names:
        cells = [f"{streams[(name, n)][0]:.0f} ({streams[(name, n)][1]})" for n in clients]
        print(f"| {titles[name]} | " + " | ".join(cells) + " |")
    print(flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10,100")
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--clients", default="1,20", help="streaming clients to compare")
    p.add_argument("--window", type=float, default=4.0, help="seconds of streaming measured")
    p.add_argument("--baseline", type=Path, help="another tree's service beside ours")
    p.add_argument("--no-podman", action="store_true")
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    clients = [int(c) for c in args.clients.split(",")]
    os.environ.setdefault("CONTAINERS_CONF", str(REPO / "bench" / "containers.conf"))
    bench = Bench([], args.rounds, args.warmup)
    build_rootfs(bench.rootfs)
    services: list[Any] = []
    load = os.getloadavg()
    titles = {"ours": "jupyter-ctr service (this tree)",
              "before": f"jupyter-ctr service ({args.baseline})",
              "podman": "podman system service"}
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          f"({os.cpu_count()} CPUs); one-shot rounds: {args.rounds}, interleaved\n", flush=True)
    try:
        services.append(Service(bench.top, "ours", REPO))
        if args.baseline:
            services.append(Service(bench.top, "before", args.baseline))
        if not args.no_podman:
            try:
                services.append(Podman(bench))
            except Exception as exc:  # noqa: BLE001 - podman is a peer, not a requirement
                log(f"podman skipped: {exc}")
        for size in sizes:
            for svc in services:
                log(f"{svc.name}: starting containers up to {size}")
                fill(svc, size)
            log(f"{size}: one-shot stats of all")
            shots = one_shots(services, size, args.rounds, args.warmup)
            local = in_process(services[0].roots, args.rounds)
            streams = {}
            for n in clients:
                for svc in services:
                    log(f"{size}: {svc.name}: {n} streaming clients")
                    streams[(svc.name, n)] = stream_cost(svc, n, args.window)
            report([s.name for s in services], titles, clients, size, shots, local,
                   streams)
    finally:
        for svc in services:
            try:
                svc.close()
            except Exception as exc:  # noqa: BLE001 - cleanup goes on
                log(f"cleanup: {svc.name}: {exc!r}")
        bench.teardown()

    return 0


if __name__ == "__main__":
    sys.exit(main())
