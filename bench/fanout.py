"""Events fan-out benchmark: ``--clients`` websocket clients follow ``/api/events/ws`` on
``jupyter-ctr service --socket``; for each event, the time from its recording (its
``timeNano``) until the last client has it.

Two sources, interleaved: an event the service records itself (a REST verb: pause/unpause of
one running container) and one another process records (this process, as the CLI or
conmon's exit command would). The clients are read by this one process (a selector over the
sockets), so the figures include reading 100 sockets one after the other.

    sudo .venv/bin/python bench/fanout.py [--clients 100] [--rounds 100]

``BENCH_TREE=/path/to/checkout`` measures another checkout's service (before/after). Prints
a markdown table; target (issue 16): p99 under 50 ms at 100 clients.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lifecycle import UnixHTTPConnection  # noqa: E402 - the shared helper
from rest import RawWebSocket  # noqa: E402 - the minimal websocket client

DEMO = "localhost/busybox:latest"
LIBPOD = "/v4.0.0/libpod"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=100)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
    root, runroot = tmp / "root", tmp / "run"
    rt = Runtime(root, runroot)
    rt.images.build_demo()
    ctr = rt.create_container(DEMO, ["sleep", "100000"], name="fanout")
    ctr.start()
    sock = str(tmp / "api.sock")
    env = {**os.environ, "PYTHONPATH": TREE}
    proc = subprocess.Popen([sys.executable, "-m", "jupyter_ctr.cli", "--root", str(root),
                             "--runroot", str(runroot), "service", "--socket", sock],
                            env=env, cwd=TREE, stdout=subprocess.DEVNULL,
                            stderr=open(tmp / "service.log", "wb"))  # noqa: SIM115
    clients: list[RawWebSocket] = []
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(sock):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((tmp / "service.log").read_text())
            time.sleep(0.05)
        api = UnixHTTPConnection(sock)

        def post(url: str) -> None:
            api.request("POST", url)
            resp = api.getresponse()
            resp.read()
            if resp.status >= 300:
                raise RuntimeError(f"POST {url}: {resp.status}")

        for _ in range(args.clients):
            clients.append(RawWebSocket(Path(sock), "/api/events/ws"))
        sel = selectors.DefaultSelector()
        for i, ws in enumerate(clients):
            ws.sock.setblocking(True)
            sel.register(ws.sock, selectors.EVENT_READ, i)
        time.sleep(0.5)  # every client subscribed

        def round_trip(trigger: str, n: int) -> float:
            """ms from the event's recording until the last client has it."""
            if trigger == "service":
                post(f"{LIBPOD}/containers/{ctr.id}/{'pause' if n % 2 == 0 else 'unpause'}")
                action = "pause" if n % 2 == 0 else "unpause"
            else:
                action = "fanout"
                rt.write_event("container", action, ctr.id, ctr.name, DEMO,
                               {"owner_uid": "0", "n": str(n)})
            waiting = set(range(len(clients)))
            recorded = 0
            last = 0
            while waiting:
                for key, _ in sel.select(10):
                    i = key.data
                    if i not in waiting:
                        ws = clients[i]  # a leftover event: read it
                        ws.recv()
                        continue
                    msg = json.loads(clients[i].recv() or "null")
                    if msg and msg.get("Action") == action and (
                            trigger == "service" or
                            msg["Actor"]["Attributes"].get("n") == str(n)):
                        waiting.discard(i)
                        recorded = int(msg["timeNano"])
                        last = time.time_ns()
            return (last - recorded) / 1e6

        for n in range(4):  # warm up
            round_trip("service", n)
            round_trip("process", n)
        load = os.getloadavg()
        results: dict[str, list[float]] = {"service": [], "process": []}
        for n in range(args.rounds):
            for trigger in ("service", "process"):
                results[trigger].append(round_trip(trigger, n + 4))
        # a paused container is left running
        with_state = rt.lookup_container(ctr.id).state
        if with_state.value == "paused":
            ctr.unpause()
        print(f"\nevents fan-out to {args.clients} websocket clients (service socket); "
              f"{args.rounds} events each; load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n")
        print("| event recorded by | p50 ms | p99 ms | max ms |")
        print("|---|---|---|---|")
        names = {"service": "the service (REST pause/unpause)",
                 "process": "another process (as the CLI)"}
        for key, vals in results.items():
            print(f"| {names[key]} | {statistics.median(vals):.1f} | "
                  f"{percentile(vals, 99):.1f} | {max(vals):.1f} |")
    finally:
        for ws in clients:
            ws.close()
        proc.terminate()
        proc.wait()
        ctr.remove(force=True, timeout=0)
        rt.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
