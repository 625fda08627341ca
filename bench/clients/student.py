"""One simulated user of bench/multiuser.py, run as that Unix user (setpriv) with the system
interpreter (``/usr/bin/python3 -I``): standard library only, so that it needs nothing the
user cannot read. It speaks to the service over its unix socket, so the service knows it by
SO_PEERCRED. Reports are JSON lines on stdout; commands are lines on stdin.

``typist``: creates and starts a container, creates a shell exec session (Tty) and opens its
websocket (``/api/exec/{id}/ws``, as the lab extension's terminal tab does), prints
``{"ready": ...}``; at each ``go N`` line types N keys (each after a random pause of up to
``--max-pause`` ms; the first ``--warmup`` keys untimed) timing each from its send to its
echo, and prints ``{"echo": [...]}``; at ``bye`` closes the terminal, removes its container
and prints ``{"bye": ...}``.

``lister``: ``GET /containers/json?all=true`` on one kept-alive connection, ``--interval``
ms apart; ``--count N`` requests, or until a ``stop`` line on stdin; prints the samples.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import random
import select
import socket
import struct
import sys
import time
from typing import Any

API = "/v4.0.0/libpod"
KEY = "x"
#: The shell's line editor asks the terminal for the cursor position (device status report)
#: after each prompt.
CURSOR_QUERY = "\x1b[6n"
#: An untimed Enter after this many keys keeps the shell's line short.
LINE = 32


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=120)
        self.unix_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def call(conn: UnixConnection, method: str, url: str, body: Any = None,
         want: int = 200) -> Any:
    payload = None if body is None else json.dumps(body)
    headers = {"Content-Type": "application/json"} if payload is not None else {}
    conn.request(method, url, body=payload, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    if resp.status != want:
        raise RuntimeError(f"{method} {url}: HTTP {resp.status} (want {want}): {data[:300]!r}")
    return json.loads(data) if data else None


class WebSocket:
    """A minimal RFC 6455 client on the unix socket: masked text frames out, frames in."""

    def __init__(self, path: str, url: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(60)
        self.sock.connect(path)
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
            raise ConnectionError(f"websocket handshake refused: {head[:300]!r}")

    def _need(self, n: int) -> None:
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
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
            if opcode == 9:  # ping (the server's keep-alive): pong with its payload
                self._frame(0x8A, payload)
            elif opcode in (0, 1):
                return payload.decode()

    def _frame(self, first: int, data: bytes) -> None:
        mask = os.urandom(4)
        n = len(data)
        head = bytes([first]) + (bytes([0x80 | n]) if n < 126 else
                                 bytes([0x80 | 126]) + struct.pack(">H", n))
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.sock.sendall(head + mask + masked)

    def send(self, text: str) -> None:
        self._frame(0x81, text.encode())

    def close(self) -> None:
        try:
            self._frame(0x88, struct.pack(">H", 1000))
        except OSError:
            pass
        self.sock.close()


class Terminal:
    """A shell's terminal on the exec websocket (JSON protocol: ["stdin", text] out,
    ["stdout", text] in)."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws

    def output(self) -> str:
        text = self.ws.recv()
        if text is None:
            raise ConnectionError("the terminal's websocket closed")
        msg = json.loads(text)
        if msg[0] in ("stdout", "stderr"):
            text = str(msg[1])
            # Left unanswered: ash does not wait for the answer, and one arriving in the
            # same read as the next keys makes it drop those keys.
            text = text.replace(CURSOR_QUERY, "")
            return text
        if msg[0] == "exit":
            raise ConnectionError(f"the shell exited ({msg[1]})")
        if msg[0] == "session":  # who watches, whether it records: no output
            return ""
        raise RuntimeError(f"terminal error: {msg}")

    def type(self, text: str) -> None:
        self.ws.send(json.dumps(["stdin", text]))

    def read_until(self, done: Any) -> str:
        """Output until ``done(all output so far)``."""
        seen = ""
        while not done(seen):
            seen += self.output()
            if os.environ.get("STUDENT_DEBUG"):
                sys.stderr.write(f"{seen!r}\n")
        return seen


def prompt(seen: str) -> bool:
    return seen.rstrip(" ").endswith(("#", "$"))


def report(**fields: Any) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def typist(args: argparse.Namespace) -> None:
    conn = UnixConnection(args.socket)
    t0 = time.perf_counter()
    cid = call(conn, "POST", f"{API}/containers/create",
               {"image": args.image, "name": args.name, "command": ["sleep", "3600"]},
               want=201)["Id"]
    call(conn, "POST", f"{API}/containers/{cid}/start", want=204)
    t1 = time.perf_counter()
    eid = call(conn, "POST", f"{API}/containers/{cid}/exec", {
        "Cmd": ["sh"], "Tty": True, "AttachStdin": True, "AttachStdout": True,
        "AttachStderr": True, "Env": ["TERM=xterm-256color"]}, want=201)["Id"]
    ws = WebSocket(args.socket, f"/api/exec/{eid}/ws?rows=24&cols=80")
    term = Terminal(ws)
    term.read_until(prompt)
    t2 = time.perf_counter()
    report(ready={"container": t1 - t0, "terminal": t2 - t1})
    pause = random.Random(args.seed)
    typed = 0
    while (line := sys.stdin.readline().split()) and line[0] == "go":
        # "go N": N timed keys (after the warm-up keys of the first round)
        samples: list[float] = []
        wanted = int(line[1]) + (args.warmup if not typed else 0)
        for _ in range(wanted):
            if typed % LINE == 0:
                if typed:
                    term.type("\r")  # runs ": xxx...": no output but the next prompt
                    term.read_until(prompt)
                term.type(": ")
                term.read_until(lambda seen: seen.endswith(": "))
            time.sleep(pause.uniform(0, args.max_pause) / 1000)
            start = time.perf_counter()
            term.type(KEY)
            term.read_until(lambda seen: KEY in seen)
            typed += 1
            if typed > args.warmup:
                samples.append(time.perf_counter() - start)
        report(echo=samples)
    if line != ["bye"]:
        raise SystemExit(f"expected 'go N' or 'bye' on stdin, got {line!r}")
    t3 = time.perf_counter()
    term.type("\x03")  # the unfinished line, then EOF: the shell exits
    term.type("\x04")
    ws.close()
    call(conn, "DELETE", f"{API}/containers/{cid}?force=true&t=0")
    conn.close()
    report(bye=time.perf_counter() - t3)


def lister(args: argparse.Namespace) -> None:
    conn = UnixConnection(args.socket)
    call(conn, "GET", f"{API}/containers/json?all=true")  # the connection, untimed
    report(ready=True)
    samples: list[float] = []
    sizes: set[int] = set()
    while args.count <= 0 or len(samples) < args.count:
        start = time.perf_counter()
        listed = call(conn, "GET", f"{API}/containers/json?all=true")
        samples.append(time.perf_counter() - start)
        sizes.add(len(listed))
        ready, _, _ = select.select([sys.stdin], [], [], args.interval / 1000)
        if ready and sys.stdin.readline().strip() == "stop":
            break
    conn.close()
    report(lists=samples, sizes=sorted(sizes))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", choices=["typist", "lister"])
    p.add_argument("--socket", required=True)
    p.add_argument("--image", default="localhost/busybox:latest")
    p.add_argument("--name", default="")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--max-pause", type=float, default=200.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--count", type=int, default=0, help="lister: requests (0: until stop)")
    p.add_argument("--interval", type=float, default=20.0, help="lister: ms between requests")
    args = p.parse_args()
    try:
        typist(args) if args.mode == "typist" else lister(args)
    except BrokenPipeError:
        pass


if __name__ == "__main__":
    main()
