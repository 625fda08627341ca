"""Scale benchmark (issue 16): 10, 100 and 1,000 running containers, our service beside
podman's.

For each size N, with a fresh ``jupyter-ctr service --socket`` and a fresh ``podman system
service`` (unix sockets, private roots, ``CONTAINERS_CONF=bench/containers.conf``), both on
the busybox demo image running ``sleep``: start all (create + start, one after another
through the REST API), list (libpod ``containers/json?all=true``, Docker
``containers/json?all=1``), inspect one, stats of all (one-shot ``containers/stats?stream=false``
and one interval of the stream), events fan-out to 100 clients (ours: ``/api/events/ws``;
podman has no websocket events: its streaming HTTP ``/events``), the service's memory, and
remove all. Requests alternate between the two services (interleaved) unless the machine
cannot hold both at once at that size.

    sudo .venv/bin/python bench/scale.py                        # sizes 10,100,1000
    .venv/bin/python bench/scale.py --sizes 10,100 --runs 30
    .venv/bin/python bench/scale.py --sizes 2 --runs 1 --only ours

Prints one markdown table per size (ours, podman, ratio, the issue's target, met) and a last
table saying what was left behind (exit 1 if anything). Exit 130 when interrupted.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import platform
import resource
import selectors
import signal
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lifecycle import (  # noqa: E402 - the shared helpers of bench/lifecycle.py
    API,
    PODMAN_IMAGE,
    REPO,
    Bench,
    PodmanStore,
    build_rootfs,
    kill_pids,
    mounts_under,
    pids_referencing,
    run,
    run_guarded,
    runc_delete_all,
    wait_quiet,
    which,
)
from rest import Rest  # noqa: E402 - the kept-alive unix-socket client of bench/rest.py

DEMO = "localhost/busybox:latest"
DOCKER_API = "/v1.41"
SLEEP = ["sleep", "1000000"]
SIDES = ("ours", "podman")
TITLE = {"ours": "jupyter-ctr service", "podman": "podman system service"}
# MemAvailable a container costs (conmon, sleep, mounts, cgroups) before one was measured
DEFAULT_CTR_MB = 8.0
MIN_CTR_MB = 4.0


T0 = time.monotonic()


def log(msg: str) -> None:
    print(f"scale: {time.monotonic() - T0:6.1f}s {msg}", file=sys.stderr, flush=True)


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    s = sorted(values)
    return s[max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))]


def mem_kb(pid: int) -> dict[str, int]:
    """``rss`` and ``hwm`` (peak RSS) in kB from /proc/PID/status."""
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out["rss" if line.startswith("VmRSS") else "hwm"] = int(line.split()[1])
    return out


def mem_available_mb() -> float:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    return 0.0


def process_count() -> int:
    return sum(1 for e in os.listdir("/proc") if e.isdigit())


def raise_nofile() -> None:
    """Children get the hard open-files limit as their soft one (as a service manager would
    give a daemon): 1,000 containers need more than the usual 1024 descriptors."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# -- HTTP streams and websockets on a unix socket ------------------------------------------
class Stream:
    """One streaming request on its own connection: an HTTP response (chunked or not) cut
    into JSON lines, or a websocket's text frames. ``feed`` takes raw bytes and returns the
    complete messages they finish; usable blocking (``next``) or from a selector."""

    def __init__(self, sock_path: Path, url: str, websocket: bool = False) -> None:
        self.ws = websocket
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(60)
        self.sock.connect(str(sock_path))
        extra = ""
        if websocket:
            key = base64.b64encode(os.urandom(16)).decode()
            extra = (f"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: {key}\r\n"
                     "Sec-WebSocket-Version: 13\r\n")
        self.sock.sendall(f"GET {url} HTTP/1.1\r\nHost: localhost\r\n{extra}\r\n".encode())
        self.head: bytes | None = None
        self.chunked = False
        self.raw = b""      # bytes not parsed yet
        self.body = b""     # de-chunked body not yet cut into lines
        self.closed = False
        self.pending: list[Any] = []

    def feed(self, data: bytes) -> list[Any]:
        if not data:
            self.closed = True
            return []
        self.raw += data
        if self.head is None:
            if b"\r\n\r\n" not in self.raw:
                return []
            self.head, self.raw = self.raw.split(b"\r\n\r\n", 1)
            want = b" 101 " if self.ws else b" 200 "
            status = self.head.split(b"\r\n", 1)[0]
            if want not in status + b" ":
                raise ConnectionError(f"stream refused: {self.head[:300]!r}")
            self.chunked = b"transfer-encoding: chunked" in self.head.lower()
        return self._frames() if self.ws else self._lines()

    def _frames(self) -> list[Any]:
        out = []
        while len(self.raw) >= 2:
            opcode, length, pos = self.raw[0] & 0x0F, self.raw[1] & 0x7F, 2
            if length == 126:
                if len(self.raw) < 4:
                    break
                length, pos = struct.unpack(">H", self.raw[2:4])[0], 4
            elif length == 127:
                if len(self.raw) < 10:
                    break
                length, pos = struct.unpack(">Q", self.raw[2:10])[0], 10
            if len(self.raw) < pos + length:
                break
            payload, self.raw = self.raw[pos:pos + length], self.raw[pos + length:]
            if opcode == 8:
                self.closed = True
            elif opcode in (0, 1):
                out.append(json.loads(payload))
        return out

    def _lines(self) -> list[Any]:
        if self.chunked:
            while b"\r\n" in self.raw:
                size_line, rest = self.raw.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0], 16)
                if len(rest) < size + 2:
                    break
                if size == 0:
                    self.closed = True
                self.body += rest[:size]
                self.raw = rest[size + 2:]
        else:
            self.body, self.raw = self.body + self.raw, b""
        out = []
        while b"\n" in self.body:
            line, self.body = self.body.split(b"\n", 1)
            if line.strip():
                out.append(json.loads(line))
        return out

    def next(self) -> Any:
        """The next message (blocking)."""
        while not self.pending:
            if self.closed:
                raise ConnectionError("stream closed")
            self.pending.extend(self.feed(self.sock.recv(1 << 20)))
        return self.pending.pop(0)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


# -- the two services ------------------------------------------------------------------------
class Side:
    """One service under test: started fresh for each size, its containers tracked."""

    key = ""
    image = ""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.sock = Path()
        self.rest: Rest | None = None
        self.ids: list[str] = []       # running now, in creation order
        self.all_ids: set[str] = set()  # every container ever created (the leftover check)
        self.errlog: Any = None

    def argv(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str] | None:
        return None

    def start_service(self, logdir: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.sock.unlink()
        self.errlog = open(logdir / f"{self.key}-service.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(self.argv(), env=self.env(), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self.errlog,
                                     start_new_session=True, preexec_fn=raise_nofile)
        self.rest = Rest(self.sock)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{TITLE[self.key]} exited {self.proc.returncode}: see "
                                   f"{logdir / f'{self.key}-service.log'}")
            if self.sock.exists():
                with contextlib.suppress(OSError):
                    if self.rest.request("GET", f"{API}/_ping")[0] == 200:
                        return
                self.rest.close()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{TITLE[self.key]} did not answer within 60 s")
            time.sleep(0.05)

    def stop_service(self) -> None:
        if self.rest is not None:
            self.rest.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                log(f"cleanup: {TITLE[self.key]} ignored SIGTERM, killing it")
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None
        if self.errlog is not None:
            self.errlog.close()
            self.errlog = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def call(self, want: int, method: str, url: str, body: Any = None) -> bytes:
        assert self.rest is not None
        return self.rest.expect(want, method, url, body)

    def create(self) -> str:
        cid: str = json.loads(self.call(201, "POST", f"{API}/containers/create",
                                        {"image": self.image, "command": SLEEP}))["Id"]
        self.all_ids.add(cid)
        self.ids.append(cid)
        return cid

    def start(self, cid: str) -> None:
        self.call(204, "POST", f"{API}/containers/{cid}/start")

    def remove(self, cid: str) -> None:
        self.call(200, "DELETE", f"{API}/containers/{cid}?force=true&timeout=0&t=0")
        self.ids.remove(cid)

    def remove_left(self) -> None:
        """Cleanup: every container the service still lists, removed (errors logged)."""
        if self.proc is None or self.proc.poll() is not None or self.rest is None:
            return
        self.rest.close()  # an interrupted request may have left it mid-exchange
        try:
            listed = json.loads(self.call(200, "GET", f"{API}/containers/json?all=true"))
        except Exception as exc:  # noqa: BLE001 - cleanup goes on with the CLI
            log(f"cleanup: {self.key}: list: {exc}")
            return
        for c in listed:
            try:
                self.call(200, "DELETE", f"{API}/containers/{c['Id']}?force=true&timeout=0&t=0")
            except Exception as exc:  # noqa: BLE001
                log(f"cleanup: {self.key}: remove {c['Id'][:12]}: {exc}")
        self.ids.clear()

    def teardown(self) -> None:
        raise NotImplementedError


class Ours(Side):
    key = "ours"
    image = DEMO

    def __init__(self, bench: Bench) -> None:
        super().__init__()
        self.dir = bench.workdir("o")
        self.root, self.run_root = self.dir / "r", self.dir / "x"
        self.sock = self.dir / "api.sock"
        # this checkout's package, run by this interpreter (the project's venv)
        self.cli = [sys.executable, "-m", "jupyter_ctr.cli", "--root", str(self.root),
                    "--runroot", str(self.run_root)]
        self._env = dict(os.environ, PYTHONPATH=str(REPO))
        run([*self.cli, "image", "build-demo"], env=self._env, timeout=300)

    def argv(self) -> list[str]:
        return [*self.cli, "service", "--socket", str(self.sock)]

    def env(self) -> dict[str, str] | None:
        return self._env

    def teardown(self) -> None:
        self.remove_left()
        self.stop_service()
        # the engine's own CLI for anything the service did not remove (it had died)
        with contextlib.suppress(Exception):
            left = run([*self.cli, "ps", "-a", "-q", "--no-trunc"], env=self._env,
                       out=True).split()
            if left:
                log(f"cleanup: ours: {len(left)} containers left, removing with the CLI")
                run([*self.cli, "rm", "-f", "-t", "0", *left], env=self._env, check=False,
                    timeout=600)
        wait_quiet([self.dir], timeout=10)
        kill_pids(pids_referencing([self.dir]))
        with contextlib.suppress(Exception):
            runc_delete_all(which("runc"), self.run_root / "runc")


class Podman(Side):
    key = "podman"
    image = PODMAN_IMAGE

    def __init__(self, bench: Bench) -> None:
        super().__init__()
        self.store: PodmanStore = bench.podman_store()
        self.store.ensure()   # private roots, the busybox rootfs imported as PODMAN_IMAGE
        assert self.store.dir is not None
        self.sock = self.store.dir / "api.sock"

    def argv(self) -> list[str]:
        # events in a file of its private tmpdir, not the host's journal
        return [*self.store.base, "--events-backend", "file", "system", "service", "--time=0",
                f"unix://{self.sock}"]

    def env(self) -> dict[str, str] | None:
        return self.store.env

    def start_service(self, logdir: Path) -> None:
        super().start_service(logdir)
        self.store.service_pids.append(self.pid)

    def stop_service(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ValueError):
                self.store.service_pids.remove(self.proc.pid)
        super().stop_service()

    def create(self) -> str:
        cid = super().create()
        self.store.ids.add(cid)
        return cid

    def teardown(self) -> None:
        self.remove_left()
        self.stop_service()
        self.store.ids |= self.all_ids
        # PodmanStore.teardown (podman rm -f of what is left, runc, host paths) runs from
        # Bench.teardown


# -- measurements ----------------------------------------------------------------------------
class Result:
    """What one size measured: for each row and side a list of samples (seconds, or MB for
    memory, or a count), plus notes."""

    def __init__(self, n: int, mode: str) -> None:
        self.n = n
        self.mode = mode
        self.values: dict[tuple[str, str], list[float]] = {}
        self.notes: dict[str, list[str]] = {}
        self.load = [os.getloadavg()[0]]
        self.per_ctr_mb = 0.0  # MemAvailable spent per container started

    def add(self, row: str, side: str, value: float) -> None:
        self.values.setdefault((row, side), []).append(value)

    def get(self, row: str, side: str) -> list[float]:
        return self.values.get((row, side), [])

    def note(self, side: str, text: str) -> None:
        self.notes.setdefault(side, []).append(text)


def interleaved(sides: list[Side], count: int, step: Callable[[Side, int], None],
                first: int = 0) -> None:
    """``step(side, i)`` for i in range(first, count), the sides alternating (order flipped
    every round) so a load spike lands on both alike."""
    for i in range(first, count):
        for side in (sides if i % 2 == 0 else list(reversed(sides))):
            step(side, i)


def start_all(sides: list[Side], n: int, res: Result) -> None:
    def step(side: Side, i: int) -> None:
        t0 = time.perf_counter()
        cid = side.create()
        side.start(cid)
        res.add("start", side.key, time.perf_counter() - t0)
        if (i + 1) % 100 == 0:
            log(f"{side.key}: {i + 1}/{n} started")
    interleaved(sides, n, step)


def remove_all(sides: list[Side], res: Result) -> None:
    def step(side: Side, i: int) -> None:
        if not side.ids:
            return
        t0 = time.perf_counter()
        side.remove(side.ids[0])
        res.add("remove", side.key, time.perf_counter() - t0)
        if (i + 1) % 100 == 0:
            log(f"{side.key}: {i + 1} removed")
    interleaved(sides, max(len(s.ids) for s in sides), step)


def requests(sides: list[Side], res: Result, runs: int, n: int) -> None:
    """list (both APIs), inspect one, stats one-shot: ``runs`` timed requests of each, one
    untimed first; the sides alternate per request. Each answer is checked for N
    containers."""
    urls: list[tuple[str, Callable[[Side], str], Callable[[Any], int]]] = [
        ("list-libpod", lambda s: f"{API}/containers/json?all=true", len),
        ("list-docker", lambda s: f"{DOCKER_API}/containers/json?all=1", len),
        ("inspect", lambda s: f"{API}/containers/{s.ids[len(s.ids) // 2]}/json",
         lambda body: n if body.get("Id") else 0),
        ("stats", lambda s: f"{API}/containers/stats?stream=false",
         lambda body: len(body.get("Stats") or [])),
    ]
    for row, url, count in urls:
        def step(side: Side, i: int, row: str = row, url: Any = url, count: Any = count) -> None:
            t0 = time.perf_counter()
            body = json.loads(side.call(200, "GET", url(side)))
            dt = time.perf_counter() - t0
            got = count(body)
            if got != n:
                res.note(side.key, f"{row} answered {got} containers, not {n}")
            if i:
                res.add(row, side.key, dt)
        interleaved(sides, runs + 1, step)

    def fresh(side: Side, i: int) -> None:
        # Our service answers a one-shot from its sampler's reading when that is under 0.5 s
        # old; 0.6 s apart, every request reads every container again.
        time.sleep(0.6)
        t0 = time.perf_counter()
        body = json.loads(side.call(200, "GET", f"{API}/containers/stats?stream=false"))
        dt = time.perf_counter() - t0
        if len(body.get("Stats") or []) != n:
            res.note(side.key, f"stats-fresh answered {len(body.get('Stats') or [])}, not {n}")
        if i:
            res.add("stats-fresh", side.key, dt)
    interleaved(sides, min(runs, 5) + 1, fresh)


def stats_stream(sides: list[Side], res: Result, runs: int, n: int) -> None:
    """``containers/stats?stream=true&interval=1``: seconds from the request to the first
    sample holding all N containers, and to the next one."""
    def step(side: Side, i: int) -> None:
        t0 = time.perf_counter()
        stream = Stream(side.sock, f"{API}/containers/stats?stream=true&interval=1")
        try:
            times: list[float] = []
            skipped = 0
            while len(times) < 2:
                msg = stream.next()
                if len(msg.get("Stats") or []) == n:
                    times.append(time.perf_counter() - t0)
                elif not times:
                    skipped += 1
                else:
                    raise RuntimeError(f"{side.key}: stats stream lost containers")
            if skipped:
                res.note(side.key, f"stats stream: {skipped} incomplete samples first")
            res.add("stream-first", side.key, times[0])
            res.add("stream-second", side.key, times[1])
        finally:
            stream.close()
    interleaved(sides, runs, step)


class Fanout:
    """``clients`` event streams per side read by one thread (epoll); ``events`` pause /
    unpause actions on one container of each side, alternating between the sides; each
    waits until every client of its side has the event. Latency: receipt (this machine's
    clock) minus the event's own ``timeNano``."""

    def __init__(self, sides: list[Side], clients: int) -> None:
        self.sides = sides
        self.sel = selectors.DefaultSelector()
        self.streams: dict[str, list[Stream]] = {}
        # per side, per client: [(action, timeNano, received ns)]
        self.got: dict[str, list[list[tuple[str, int, int]]]] = {}
        self.lock = threading.Lock()
        self.stop = False
        self.error: BaseException | None = None
        for side in sides:
            url = "/api/events/ws" if side.key == "ours" else f"{API}/events?stream=true"
            self.streams[side.key] = []
            self.got[side.key] = []
            for idx in range(clients):
                st = Stream(side.sock, url, websocket=side.key == "ours")
                st.sock.setblocking(False)
                self.streams[side.key].append(st)
                self.got[side.key].append([])
                self.sel.register(st.sock, selectors.EVENT_READ, (side.key, idx, st))
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        try:
            while not self.stop:
                for key, _ in self.sel.select(0.1):
                    side, idx, st = key.data
                    try:
                        data = st.sock.recv(1 << 16)
                    except BlockingIOError:
                        continue
                    now = time.time_ns()
                    msgs = st.feed(data)
                    if st.closed:
                        self.sel.unregister(st.sock)
                    for m in msgs:
                        if m.get("Type") == "container" and m.get("Action") in ("pause",
                                                                               "unpause"):
                            with self.lock:
                                self.got[side][idx].append((m["Action"], int(m["timeNano"]),
                                                            now))
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            self.error = exc

    def _count_min(self, side: str) -> int:
        with self.lock:
            return min(len(g) for g in self.got[side])

    def trigger(self, side: Side, want: int, timeout: float) -> bool:
        """Pause the side's first container, or unpause it when paused; True when every
        client has ``want`` events within ``timeout`` seconds."""
        action = "unpause" if self.paused.get(side.key) else "pause"
        side.call(204, "POST", f"{API}/containers/{side.ids[0]}/{action}")
        self.paused[side.key] = action == "pause"
        deadline = time.monotonic() + timeout
        while self._count_min(side.key) < want:
            if self.error is not None:
                raise self.error
            if time.monotonic() > deadline:
                return False
            time.sleep(0.001)
        return True

    def run(self, events: int, res: Result) -> None:
        self.paused: dict[str, bool] = {}
        # warm-up: events until every client has seen one (its subscription is live), then
        # the count starts from zero
        for side in self.sides:
            deadline = time.monotonic() + 60
            while not self.trigger(side, 1, 0.5):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"events: {side.key}: some clients never got an event")
            time.sleep(0.2)
        with self.lock:
            for side in self.sides:
                self.got[side.key] = [[] for _ in self.got[side.key]]
        lost: dict[str, int] = {}

        def step(side: Side, k: int) -> None:
            if not self.trigger(side, k + 1, 15):
                lost[side.key] = lost.get(side.key, 0) + 1
        interleaved(self.sides, events, step)
        extra = {}
        for side in self.sides:  # leave it running (this event is not counted)
            extra[side.key] = 1 if self.paused.get(side.key) else 0
            if extra[side.key]:
                self.trigger(side, events + 1, 15)
        time.sleep(0.2)  # duplicates, if any, arrive
        for side in self.sides:
            total, bad_order = 0, 0
            with self.lock:
                per_client = [list(g) for g in self.got[side.key]]
            for g in per_client:
                total += len(g)
                stamps = [t for _, t, _ in g]
                actions = [a for a, _, _ in g]
                if stamps != sorted(stamps) or any(x == y for x, y in pairwise(actions)):
                    bad_order += 1
                for _, t, recv in g[:events]:
                    res.add("events", side.key, (recv - t) / 1e9)
            expected = (events + extra[side.key]) * len(per_client)
            res.add("events-delivered", side.key, min(total, expected) / expected)
            if total != expected or bad_order or lost.get(side.key):
                res.note(side.key, f"events: {total} received of {expected}, "
                         f"{bad_order} clients out of order, {lost.get(side.key, 0)} timed out")

    def close(self) -> None:
        self.stop = True
        self.thread.join(5)
        for streams in self.streams.values():
            for st in streams:
                st.close()
        self.sel.close()


def measure_size(sides: list[Side], n: int, args: argparse.Namespace, logdir: Path,
                 mode: str) -> Result:
    res = Result(n, mode)
    for side in sides:
        side.start_service(logdir)
        res.add("mem-idle", side.key, mem_kb(side.pid)["rss"] / 1024)
    avail0 = mem_available_mb()
    log(f"size {n}: starting {n} containers on {', '.join(s.key for s in sides)} ({mode})")
    start_all(sides, n, res)
    res.per_ctr_mb = max(0.0, (avail0 - mem_available_mb()) / (n * len(sides)))
    time.sleep(1)
    log(f"size {n}: list, inspect, stats ({args.runs} runs)")
    requests(sides, res, args.runs, n)
    stats_stream(sides, res, max(1, min(args.runs, args.stream_runs)), n)
    log(f"size {n}: events to {args.clients} clients per side ({args.events} events)")
    fan = Fanout(sides, args.clients)
    try:
        fan.run(args.events, res)
    finally:
        fan.close()
    time.sleep(2)
    for side in sides:
        m = mem_kb(side.pid)
        res.add("mem-steady", side.key, m["rss"] / 1024)
    if args.keep and n == args.sizes[-1]:
        return res
    log(f"size {n}: removing all")
    remove_all(sides, res)
    for side in sides:
        res.add("mem-peak", side.key, mem_kb(side.pid)["hwm"] / 1024)
        side.stop_service()
    res.load.append(os.getloadavg()[0])
    return res


# -- report ----------------------------------------------------------------------------------
ROWS: list[tuple[str, str, str]] = [
    # (row key, title, how the cell is made)
    ("start-total", "start all: create + start one after another, total (s)", "total"),
    ("start", "start one: create + start, median / p99 (ms)", "ms"),
    ("list-libpod", "list libpod `containers/json?all=true`, median / p99 (ms)", "ms"),
    ("list-docker", "list Docker `containers/json?all=1`, median / p99 (ms)", "ms"),
    ("inspect", "inspect one `containers/{id}/json`, median / p99 (ms)", "ms"),
    ("stats", "stats of all `containers/stats?stream=false`, median / p99 (ms)", "ms"),
    ("stats-fresh", "stats of all, one-shots 0.6 s apart (a fresh reading each), median / p99 "
     "(ms)", "ms"),
    ("stream-first", "stats stream (interval=1): first complete sample, median (ms)", "ms1"),
    ("stream-second", "stats stream (interval=1): second sample, median (ms)", "ms1"),
    ("events", "events fan-out latency, p50 / p99 (ms)", "ev"),
    ("events-delivered", "events delivered to every client", "frac"),
    ("mem-idle", "service RSS, no containers (MB)", "mb"),
    ("mem-steady", "service RSS, all running, idle after the requests (MB)", "mb"),
    ("mem-peak", "service peak RSS, VmHWM (MB)", "mb"),
    ("remove-total", "remove all: DELETE ?force one after another, total (s)", "total"),
]


def targets(n: int) -> dict[str, tuple[str, Callable[[dict[str, float | None]], bool]]]:
    """The issue's targets that apply at size n: row -> (text, test on the medians/p99s)."""
    out: dict[str, tuple[str, Callable[[dict[str, float | None]], bool]]] = {}
    if n == 100:
        for row in ("stats", "stats-fresh"):
            out[row] = ("ours <= 0.5x podman",
                        lambda v: v["ours"] is not None and v["podman"] is not None
                        and v["ours"] <= 0.5 * v["podman"])
    if n == 100:
        for row in ("list-libpod", "list-docker"):
            out[row] = ("< 10 ms", lambda v: v["ours"] is not None and v["ours"] < 0.010)
    if n >= 1000:
        for row in ("list-libpod", "list-docker"):
            out[row] = ("< 50 ms", lambda v: v["ours"] is not None and v["ours"] < 0.050)
        for row in ("stats", "stats-fresh"):
            out[row] = ("< 300 ms", lambda v: v["ours"] is not None and v["ours"] < 0.300)
        out["mem-peak"] = ("< 150 MB", lambda v: v["ours"] is not None and v["ours"] < 150)
    out["events"] = ("p99 < 50 ms", lambda v: v["ours-p99"] is not None
                     and v["ours-p99"] < 0.050)
    return out


def cell(kind: str, vals: list[float]) -> tuple[str, float | None, float | None]:
    """(text, the value compared, p99)."""
    if not vals:
        return "-", None, None
    if kind == "total":
        return f"{sum(vals):.2f}", sum(vals), None
    if kind == "ms":
        med, p99 = statistics.median(vals), pct(vals, 99)
        return f"{med * 1000:.1f} / {p99 * 1000:.1f}", med, p99
    if kind == "ms1":
        med = statistics.median(vals)
        return f"{med * 1000:.0f}", med, None
    if kind == "ev":
        p50, p99 = pct(vals, 50), pct(vals, 99)
        return f"{p50 * 1000:.1f} / {p99 * 1000:.1f}", p99, p99
    if kind == "frac":
        v = min(vals)
        return ("all" if v >= 1 else f"{v * 100:.1f}%"), v, None
    return f"{max(vals):.1f}", max(vals), None


def report(res: Result, args: argparse.Namespace) -> list[str]:
    n = res.n
    for side in SIDES:
        for src, dst in (("start", "start-total"), ("remove", "remove-total")):
            for v in res.get(src, side):
                res.add(dst, side, v)
    tg = targets(n)
    load = ", ".join(f"{v:.1f}" for v in res.load)
    lines = [f"## {n:,} running containers", "",
             f"{args.runs} requests per measurement after one untimed, {args.events} events "
             f"to {args.clients} clients per side; {res.mode}; load average {load} "
             f"({platform.node()}, {os.cpu_count()} cpus); MemAvailable spent per container "
             f"started (the whole machine's: noisy): {res.per_ctr_mb:.1f} MB", "",
             "| measure | ours | podman | ours / podman | target | met |",
             "|---|---:|---:|---:|---|---|"]
    for row, title, kind in ROWS:
        texts, values = {}, {}
        for side in SIDES:
            texts[side], values[side], values[f"{side}-p99"] = cell(kind, res.get(row, side))
        if row == "events":
            title = (f"events fan-out to {args.clients} clients (ours: websocket "
                     "`/api/events/ws`; podman: HTTP stream `/events`), p50 / p99 (ms)")
        if all(v is None for v in (values["ours"], values["podman"])):
            continue
        ratio = "-"
        if kind != "frac" and values["ours"] and values["podman"]:
            ratio = f"{values['ours'] / values['podman']:.2f}"
        target, met = "", ""
        if row in tg:
            target = tg[row][0]
            met = "met" if tg[row][1](values) else "not met"
        lines.append(f"| {title} | {texts['ours']} | {texts['podman']} | {ratio} | {target} "
                     f"| {met} |")
    for side in SIDES:
        for text in dict.fromkeys(res.notes.get(side, [])):
            lines.append(f"\nnote ({side}): {text}")
    return lines


# -- leftovers -------------------------------------------------------------------------------
def leftovers(top: Path, ids: set[str]) -> list[str]:
    """What the run left: processes naming the temp dir or a container id (conmon), mounts
    under it, the dir itself, cgroup dirs named after a container."""
    found = []
    if top.exists():
        found.append(f"temp dir {top}")
    mounts = mounts_under([top])
    if mounts:
        found.append(f"{len(mounts)} mounts under {top}")
    procs = pids_referencing([top, *ids])
    if procs:
        found.append(f"{len(procs)} processes (e.g. pid {procs[0]})")
    cgroups = 0
    for ctrl in Path("/sys/fs/cgroup").iterdir():
        for parent in ("jupyter-ctr", "libpod_parent"):
            with contextlib.suppress(OSError):
                for entry in os.scandir(ctrl / parent):
                    if entry.is_dir() and any(i in entry.name for i in ids):
                        cgroups += 1
    if cgroups:
        found.append(f"{cgroups} container cgroup dirs")
    return found


# -- the run ---------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="10,100,1000", help="numbers of running containers")
    p.add_argument("--runs", type=int, default=20, help="timed requests per measurement")
    p.add_argument("--stream-runs", type=int, default=3,
                   help="stats streams opened per size (at most --runs)")
    p.add_argument("--events", type=int, default=20, help="events per side for the fan-out")
    p.add_argument("--clients", type=int, default=100, help="event clients per side")
    p.add_argument("--only", choices=SIDES, help="one service only")
    p.add_argument("--separate", action="store_true",
                   help="one service after the other at every size (else only when the "
                        "machine cannot hold both)")
    p.add_argument("--keep", action="store_true",
                   help="debugging: leave the last size's containers and services running")
    args = p.parse_args(argv)
    try:
        args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        p.error("--sizes takes numbers, e.g. 10,100,1000")
    if not args.sizes or min(args.sizes) < 1 or args.runs < 1 or args.clients < 1:
        p.error("--sizes, --runs and --clients must be >= 1")
    return args


def plan(n: int, sides: int, per_ctr_mb: float) -> tuple[str, str | None]:
    """("both"|"one", reason) for n containers on ``sides`` services, from memory and pids;
    ("skip", reason) when even one engine would not fit."""
    avail = mem_available_mb()
    with open("/proc/sys/kernel/pid_max") as f:
        pid_max = int(f.read())
    free_pids = pid_max - process_count() - 500
    need_one_mb = n * per_ctr_mb * 1.5 + 512
    need_one_pids = n * 3  # conmon, sleep, a short-lived helper
    if sides > 1 and avail > sides * need_one_mb and free_pids > sides * need_one_pids:
        return "both", None
    why = (f"MemAvailable {avail:.0f} MB, need ~{need_one_mb:.0f} MB per engine "
           f"({per_ctr_mb:.1f} MB a container); free pids {free_pids}, need {need_one_pids} "
           "per engine")
    if avail > need_one_mb and free_pids > need_one_pids:
        return ("one" if sides > 1 else "both"), why
    return "skip", why


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        log("needs root (runc, conmon, overlay mounts, rootful podman)")
        return 1
    # Ctrl-C cleans up even when started where SIGINT was ignored (a background job)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.environ.setdefault("CONTAINERS_CONF", str(REPO / "bench" / "containers.conf"))
    bench = Bench([], 1, 0)
    log(f"temp dir {bench.top}")
    logdir = bench.workdir("logs")
    sides: list[Side] = []
    results: list[Result] = []
    skipped: list[str] = []

    def setup() -> None:
        build_rootfs(bench.rootfs)  # podman's image (PodmanStore imports it)
        if args.only != "podman":
            sides.append(Ours(bench))
        if args.only != "ours":
            try:
                which("podman")
                sides.append(Podman(bench))
            except Exception as exc:  # noqa: BLE001 - podman is a peer, not a requirement
                log(f"podman column skipped: {exc}")
                skipped.append(f"podman skipped: {exc}")

    def measure() -> None:
        per_ctr = DEFAULT_CTR_MB
        for n in args.sizes:
            how, why = plan(n, len(sides), per_ctr)
            log(f"size {n}: MemAvailable {mem_available_mb():.0f} MB, {process_count()} "
                f"processes: {how}" + (f" ({why})" if why else ""))
            if how == "both" and args.separate and len(sides) > 1:
                how, why = "one", "--separate"
            if how == "skip":
                log(f"size {n} skipped: {why}")
                skipped.append(f"{n:,} containers skipped: {why}")
                continue
            if how == "both":
                mode = ("both services at once, requests interleaved" if len(sides) > 1
                        else f"{sides[0].key} only")
                res = measure_size(sides, n, args, logdir, mode)
            else:
                mode = (f"one service after the other ({why})" if why == "--separate" else
                        f"one service after the other, not enough for both at once: {why}")
                res = measure_size(sides[:1], n, args, logdir, mode)
                other = measure_size(sides[1:], n, args, logdir, mode)
                res.values.update(other.values)
                res.notes.update(other.notes)
                res.load += other.load
                res.per_ctr_mb = max(res.per_ctr_mb, other.per_ctr_mb)
            if n >= 50:  # MemAvailable is the whole (shared) machine's: only a big
                # size says something, and then within bounds
                per_ctr = min(max(res.per_ctr_mb, MIN_CTR_MB), 64.0)
            results.append(res)
            print("\n".join(report(res, args)) + "\n", flush=True)

    def teardown() -> None:
        if args.keep:
            log(f"--keep: left running, in {bench.top}: " + ", ".join(
                f"{s.key} service pid {s.proc.pid} on {s.sock}" for s in sides
                if s.proc is not None))
            log("to clean up: remove the containers through each socket (or `python -m "
                "jupyter_ctr.cli --root DIR/o/r --runroot DIR/o/x rm -f -t 0 ...`, "
                "`podman --root DIR/p/root --runroot DIR/p/run rm -af -t 0`), kill the "
                "services, then rm -rf the dir")
            return
        for side in sides:
            try:
                side.teardown()
            except Exception as exc:  # noqa: BLE001 - cleanup goes on regardless
                log(f"cleanup: {side.key}: {exc!r}")
        bench.teardown()

    interrupted = run_guarded(setup, measure, teardown)
    for text in skipped:
        print(f"note: {text}\n")
    if args.keep:
        return 130 if interrupted else 0
    ids = set().union(*(s.all_ids for s in sides)) if sides else set()
    left = leftovers(bench.top, ids)
    print("| after cleanup | left behind |\n|---|---|")
    print(f"| {len(ids)} containers made | {'; '.join(left) if left else 'nothing'} |")
    if interrupted:
        return 130
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
