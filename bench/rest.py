"""REST benchmark: the container cycle create -> start -> pause -> unpause -> stop -> delete
over our REST API (``jupyter-ctr service`` on a unix socket) and over podman's REST service
(``podman system service``, private roots, CONTAINERS_CONF=bench/containers.conf), in one
run, interleaved; an attached exec (create, hijacked start, inspect) over both; then attach
throughput and echo latency through our websocket bridge.

    sudo .venv/bin/python bench/rest.py [--iterations 20] [--warmup 3] [--check]

Prints markdown tables. Target: our cycle <= 0.5x podman REST's (``--check`` exits 2 when
missed).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import socket
import statistics
import struct
import subprocess
import sys
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
    wait_quiet,
)

DEMO = "localhost/busybox:latest"
TARGET = 0.5


class Rest:
    """One kept-alive HTTP connection to a unix socket."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn: UnixHTTPConnection | None = None

    def request(self, method: str, url: str, body: Any = None) -> tuple[int, bytes]:
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = UnixHTTPConnection(str(self.path))
            try:
                self.conn.request(method, url, body=payload, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.will_close:
                    self.close()
                return resp.status, data
            except (ConnectionError, OSError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def expect(self, want: int, method: str, url: str, body: Any = None) -> bytes:
        status, data = self.request(method, url, body)
        if status != want:
            raise RuntimeError(f"{method} {url}: HTTP {status} (want {want}): {data[:300]!r}")
        return data

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def cycle(rest: Rest, image: str) -> None:
    cid = json.loads(rest.expect(201, "POST", f"{API}/containers/create",
                                 {"image": image, "command": ["sleep", "1000"]}))["Id"]
    rest.expect(204, "POST", f"{API}/containers/{cid}/start")
    rest.expect(204, "POST", f"{API}/containers/{cid}/pause")
    rest.expect(204, "POST", f"{API}/containers/{cid}/unpause")
    rest.expect(204, "POST", f"{API}/containers/{cid}/stop?timeout=0")
    rest.expect(200, "DELETE", f"{API}/containers/{cid}?force=true")


def exec_cycle(rest: Rest, sock: Path, cid: str) -> None:
    """One attached exec over the API: create ``echo exec-ok``, start it hijacked (read to
    the end of the stream), inspect its exit code."""
    eid = json.loads(rest.expect(201, "POST", f"{API}/containers/{cid}/exec", {
        "Cmd": ["echo", "exec-ok"], "AttachStdout": True, "AttachStderr": True}))["Id"]
    body = b'{"Detach": false, "Tty": false}'
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as raw:
        raw.connect(str(sock))
        raw.sendall((f"POST {API}/exec/{eid}/start HTTP/1.1\r\nHost: d\r\n"
                     "Content-Type: application/json\r\nConnection: Upgrade\r\n"
                     f"Upgrade: tcp\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body)
        got = b""
        while chunk := raw.recv(65536):
            got += chunk
    if b"exec-ok" not in got:
        raise RuntimeError(f"exec start: no output in {got[:300]!r}")
    info = json.loads(rest.expect(200, "GET", f"{API}/exec/{eid}/json"))
    if info.get("ExitCode") != 0:
        raise RuntimeError(f"exec inspect: {info}")


class OurService:
    """``jupyter-ctr service`` on private roots, as a separate process (the real CLI)."""

    def __init__(self, top: Path) -> None:
        self.dir = top / "o"
        self.dir.mkdir(mode=0o700)
        self.root, self.run_root = self.dir / "r", self.dir / "x"
        self.sock = self.dir / "api.sock"
        cli = [str(REPO / ".venv" / "bin" / "jupyter-ctr"), "--root", str(self.root),
               "--runroot", str(self.run_root)]
        subprocess.run([*cli, "image", "build-demo"], check=True, capture_output=True)
        self.errlog = open(self.dir / "service.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen([*cli, "service", "--socket", str(self.sock)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self.errlog, start_new_session=True)
        deadline = time.monotonic() + 30
        while not self.sock.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("jupyter-ctr service did not start: "
                                   f"{(self.dir / 'service.log').read_text()}")
            time.sleep(0.05)
        self.rest = Rest(self.sock)
        self.rest.expect(200, "GET", f"{API}/_ping")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            left = json.loads(self.rest.expect(200, "GET", f"{API}/containers/json?all=true"))
            for c in left:
                self.rest.request("DELETE", f"{API}/containers/{c['Id']}?force=true&t=0")
        self.rest.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.errlog.close()


# -- websocket bridge -------------------------------------------------------------------------
class RawWebSocket:
    """A minimal websocket client on the unix socket (RFC 6455: masked frames out, unmasked
    frames in). websocket-client parses frames in pure Python slowly enough to be the
    bottleneck of a throughput measurement; this reads 1 MiB at a time."""

    def __init__(self, sock_path: Path, url: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(str(sock_path))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {url} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\n"
                           f"Upgrade: websocket\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("websocket handshake: connection closed")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(f"websocket handshake refused: {head[:200]!r}")

    def _need(self, n: int) -> None:
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("websocket closed")
            self.buf += chunk

    def recv(self) -> str | None:
        """The next text message; None at a close frame."""
        while True:
            self._need(2)
            opcode, length, pos = self.buf[0] & 0x0F, self.buf[1] & 0x7F, 2
            if length == 126:
                self._need(4)
                length, pos = struct.unpack(">H", self.buf[2:4])[0], 4
            elif length == 127:
                self._need(10)
                length, pos = struct.unpack(">Q", self.buf[2:10])[0], 10
            self._need(pos + length)
            payload, self.buf = self.buf[pos:pos + length], self.buf[pos + length:]
            if opcode == 8:
                return None
            if opcode in (1, 0):
                return payload.decode()

    def send(self, text: str) -> None:
        data = text.encode()
        mask = os.urandom(4)
        n = len(data)
        head = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else
                                bytes([0x80 | 126]) + struct.pack(">H", n))
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.sock.sendall(head + mask + masked)

    def close(self) -> None:
        self.sock.close()


def ws_connect(sock_path: Path, url: str) -> RawWebSocket:
    return RawWebSocket(sock_path, url)


def ws_throughput(svc: OurService, megabytes: int) -> tuple[float, int]:
    """Seconds and bytes to stream ``megabytes`` of output through the JSON bridge."""
    size = megabytes << 20
    rest = svc.rest
    cid = json.loads(rest.expect(201, "POST", f"{API}/containers/create", {
        "image": DEMO, "command": ["sh", "-c", f"yes 0123456789abcdef | head -c {size}"]}))["Id"]
    ws = ws_connect(svc.sock, f"/api/containers/{cid}/attach/ws")
    start = time.perf_counter()
    rest.expect(204, "POST", f"{API}/containers/{cid}/start")
    got = 0
    while True:
        text = ws.recv()
        if text is None:
            break
        msg = json.loads(text)
        if msg[0] == "stdout":
            got += len(msg[1])
        elif msg[0] == "exit":
            break
    elapsed = time.perf_counter() - start
    ws.close()
    rest.expect(200, "DELETE", f"{API}/containers/{cid}?force=true")
    return elapsed, got


def ws_echo(svc: OurService, rounds: int) -> list[float]:
    rest = svc.rest
    cid = json.loads(rest.expect(201, "POST", f"{API}/containers/create", {
        "image": DEMO, "command": ["cat"], "stdin": True}))["Id"]
    rest.expect(204, "POST", f"{API}/containers/{cid}/start")
    ws = ws_connect(svc.sock, f"/api/containers/{cid}/attach/ws")
    samples = []
    for i in range(rounds):
        token = f"ping-{i}\n"
        t0 = time.perf_counter()
        ws.send(json.dumps(["stdin", token]))
        buf = ""
        while token not in buf:
            msg = json.loads(ws.recv() or '["exit"]')
            if msg[0] == "stdout":
                buf += msg[1]
            elif msg[0] == "exit":
                raise RuntimeError("the echo container exited")
        samples.append(time.perf_counter() - t0)
    ws.close()
    rest.expect(200, "DELETE", f"{API}/containers/{cid}?force=true&t=0")
    return samples


def measure_exec(ours: OurService, podman: RestColumn | None, prest: Rest | None,
                 iterations: int, warmup: int) -> dict[str, list[float]]:
    """exec_cycle against a running ``sleep`` container of each API, interleaved."""
    sides: list[tuple[str, Rest, Path, str]] = []
    cid = json.loads(ours.rest.expect(201, "POST", f"{API}/containers/create", {
        "image": DEMO, "command": ["sleep", "1000"]}))["Id"]
    ours.rest.expect(204, "POST", f"{API}/containers/{cid}/start")
    sides.append(("ours", ours.rest, ours.sock, cid))
    if podman is not None and prest is not None:
        pid = json.loads(prest.expect(201, "POST", f"{API}/containers/create", {
            "image": PODMAN_IMAGE, "command": ["sleep", "1000"]}))["Id"]
        prest.expect(204, "POST", f"{API}/containers/{pid}/start")
        sides.append(("podman", prest, podman.sock_path, pid))
    samples: dict[str, list[float]] = {key: [] for key, *_ in sides}
    for i in range(warmup + iterations):
        for key, rest, sock, ctr in (sides if i % 2 == 0 else list(reversed(sides))):
            t0 = time.perf_counter()
            exec_cycle(rest, sock, ctr)
            if i >= warmup:
                samples[key].append(time.perf_counter() - t0)
    for _, rest, _, ctr in sides:
        rest.expect(200, "DELETE", f"{API}/containers/{ctr}?force=true&t=0")
    return samples


def ms(v: float) -> str:
    return f"{v * 1000:.1f}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iterations", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--megabytes", type=int, default=32, help="attach throughput payload")
    p.add_argument("--echo-rounds", type=int, default=200)
    p.add_argument("--check", action="store_true", help="exit 2 when the target is missed")
    args = p.parse_args(argv)
    os.environ.setdefault("CONTAINERS_CONF", str(REPO / "bench" / "containers.conf"))
    bench = Bench([], args.iterations, args.warmup)
    build_rootfs(bench.rootfs)
    ours: OurService | None = None
    podman: RestColumn | None = None
    samples: dict[str, list[float]] = {"ours": [], "podman": []}
    rc = 0
    try:
        ours = OurService(bench.top)
        try:
            podman = RestColumn(bench)
            podman.setup()
        except Exception as exc:  # noqa: BLE001 - podman is a peer, not a requirement
            log(f"podman REST column skipped: {exc}")
            podman = None
        prest = Rest(podman.sock_path) if podman is not None else None
        quiet_ours = [ours.dir]
        quiet_podman = podman.quiet_dirs() if podman is not None else []
        for i in range(args.warmup + args.iterations):
            order = [("ours", ours.rest, DEMO, quiet_ours, [ours.proc.pid])]
            if prest is not None and podman is not None:
                order.append(("podman", prest, PODMAN_IMAGE, quiet_podman,
                              podman.quiet_exclude()))
            if i % 2:
                order.reverse()
            for key, rest, image, dirs, exclude in order:
                t0 = time.perf_counter()
                cycle(rest, image)
                dt = time.perf_counter() - t0
                if i >= args.warmup:
                    samples[key].append(dt)
                wait_quiet(dirs, exclude=exclude, timeout=10)
        exec_samples = measure_exec(ours, podman, prest, args.iterations, args.warmup)
        thr_s, thr_bytes = ws_throughput(ours, args.megabytes)
        echo = ws_echo(ours, args.echo_rounds)
        if prest is not None:
            prest.close()
    finally:
        if ours is not None:
            ours.close()
        if podman is not None:
            podman.teardown()
        bench.teardown()

    print("## REST cycle: create, start, pause, unpause, stop?timeout=0, DELETE?force\n")
    print(f"{args.iterations} timed cycles each (after {args.warmup} warm-up), interleaved.\n")
    print("| API | median ms | p90 ms | ratio to podman |")
    print("|---|---|---|---|")
    med = {k: statistics.median(v) for k, v in samples.items() if v}
    for key, title in (("ours", "jupyter-ctr service (libpod v4 API)"),
                       ("podman", "podman system service")):
        if key not in med:
            print(f"| {title} | - | - | skipped |")
            continue
        v = sorted(samples[key])
        p90 = v[min(len(v) - 1, int(len(v) * 0.9))]
        ratio = f"{med[key] / med['podman']:.2f}" if "podman" in med else "-"
        print(f"| {title} | {ms(med[key])} | {ms(p90)} | {ratio} |")
    if "podman" in med:
        ratio = med["ours"] / med["podman"]
        ok = ratio <= TARGET
        print(f"\nTarget ours/podman <= {TARGET}: {ratio:.2f} -> {'met' if ok else 'MISSED'}")
        if args.check and not ok:
            rc = 2
    print("\n## Attached exec: create, start (hijacked, read to the end), inspect\n")
    print("| API | median ms | p90 ms | ratio to podman |")
    print("|---|---|---|---|")
    exec_med = {k: statistics.median(v) for k, v in exec_samples.items() if v}
    for key, title in (("ours", "jupyter-ctr service"), ("podman", "podman system service")):
        if key not in exec_med:
            print(f"| {title} | - | - | skipped |")
            continue
        v = sorted(exec_samples[key])
        ratio = f"{exec_med[key] / exec_med['podman']:.2f}" if "podman" in exec_med else "-"
        print(f"| {title} | {ms(exec_med[key])} | {ms(v[min(len(v) - 1, int(len(v) * 0.9))])}"
              f" | {ratio} |")
    echo.sort()
    print("\n## Websocket bridge (JSON protocol, /api/containers/{id}/attach/ws)\n")
    print("| measure | value |")
    print("|---|---|")
    print(f"| attach throughput ({thr_bytes >> 20} MiB of output) | "
          f"{thr_bytes / thr_s / (1 << 20):.1f} MiB/s |")
    print(f"| echo latency median (stdin -> stdout, {len(echo)} rounds) | "
          f"{ms(echo[len(echo) // 2])} ms |")
    print(f"| echo latency p90 | {ms(echo[int(len(echo) * 0.9)])} ms |")
    return rc


if __name__ == "__main__":
    sys.exit(main())
