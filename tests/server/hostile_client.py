"""The client a hostile (or a victim) student runs in their own process, as their own Unix user
(``/usr/bin/python3 -I``: stdlib only, so it is sent as a program text, ``SCRIPT``).

``python3 -I -c SCRIPT SOCKET MODE`` with a JSON argument on the first line of stdin:

* ``http``: a list of raw requests ``{"method", "path" (sent as given, unencoded), "headers",
  "body": null | {"text"} | {"b64"} | {"fill": [prefix, unit, count, suffix]}, "timeout"}``;
  prints one answer each: ``{"status", "ctype", "body", "error"}`` (error: "timeout",
  "closed: ..." when the service gave no answer).
* ``victim``: ``{"path"}`` of a JSON-protocol exec websocket (a ``cat`` in a tty); then each
  stdin line ``probe N`` sends N keystroke lines ``pIq`` one after the other, each once its
  echo came back, and prints their round trips in ms (null: none within 30 s); ``end`` prints
  everything received and leaves.
* ``flood``: ``{"path", "kind": "stdin" | "noread", "secs"}``: opens the websocket, prints
  ``{"open": status}``, then "stdin" sends 64 KiB stdin messages (JSON and binary frames) as
  fast as it can, "noread" never reads; both until stdin closes (or ``secs``), then print
  what they did
  (``{"sent", "secs", "closed_by_service"}``); a final frame over the service's message limit
  is sent after the flood ("stdin").

The websocket client is the minimum of RFC 6455 a test needs (masked frames out, unmasked in).
``Hostile`` runs it as a user of tests/multiuser.py.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.multiuser import User

SCRIPT = r'''
import base64, http.client, json, os, select, socket, sys, threading, time

SOCK, MODE = sys.argv[1], sys.argv[2]
ARG = json.loads(sys.stdin.readline())


def connect(timeout=60):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(SOCK)
    return s


def body_of(spec):
    if spec is None:
        return b""
    if "text" in spec:
        return spec["text"].encode()
    if "b64" in spec:
        return base64.b64decode(spec["b64"])
    prefix, unit, count, suffix = spec["fill"]
    return prefix.encode() + unit.encode() * count + suffix.encode()


def http_one(req):
    body = body_of(req.get("body"))
    headers = {"Host": "localhost", "Connection": "close", **req.get("headers", {})}
    if req.get("body") is not None and "Content-Length" not in headers \
            and "Transfer-Encoding" not in headers:
        headers["Content-Length"] = str(len(body))
    head = f"{req['method']} {req['path']} HTTP/1.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    out = {"status": None, "ctype": "", "body": "", "error": ""}
    s = connect(req.get("timeout", 60))
    try:
        try:
            s.sendall(head.encode("utf-8", "surrogateescape") + body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the service answered before reading everything: read its answer
        resp = http.client.HTTPResponse(s, method=req["method"])
        try:
            resp.begin()
            out["status"] = resp.status
            out["ctype"] = resp.getheader("Content-Type", "")
            out["body"] = resp.read().decode("utf-8", "replace")
        except socket.timeout:
            out["error"] = "timeout"
        except (http.client.HTTPException, OSError) as exc:
            out["error"] = f"closed: {exc!r}"
    finally:
        s.close()
    return out


def mask(data, key):
    n = len(data)
    if not n:
        return data
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")


class WebSocket:
    def __init__(self, path, timeout=60):
        self.s = connect(timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall((f"GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            more = self.s.recv(65536)
            if not more:
                break
            buf += more
        head, _, self.buf = buf.partition(b"\r\n\r\n")
        self.status = int(head.split()[1]) if head else None
        self.closed = None

    def send(self, payload, opcode=1):
        if isinstance(payload, str):
            payload = payload.encode()
        n = len(payload)
        if n < 126:
            head = bytes([0x80 | opcode, 0x80 | n])
        elif n < 65536:
            head = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
        else:
            head = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
        key = os.urandom(4)
        self.s.sendall(head + key + mask(payload, key))

    def _read(self, n):
        while len(self.buf) < n:
            more = self.s.recv(1 << 16)
            if not more:
                raise EOFError("closed")
            self.buf += more
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        """(opcode, payload) of the next data frame; a close frame ends (EOFError)."""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = int.from_bytes(self._read(2), "big")
            elif n == 127:
                n = int.from_bytes(self._read(8), "big")
            payload = self._read(n)
            op = b0 & 0x0F
            if op == 8:
                self.closed = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                raise EOFError(f"close {self.closed}")
            if op == 9:
                self.send(payload, 10)
                continue
            if op in (1, 2, 0):
                return op, payload


def victim():
    ws = WebSocket(ARG["path"])
    print(json.dumps({"open": ws.status}), flush=True)
    text, seq = "", 0
    for line in sys.stdin:
        cmd = line.split()
        if cmd[0] == "end":
            break
        lat = []
        for _ in range(int(cmd[1])):
            seq += 1
            token = f"p{seq}q"
            start = time.perf_counter()
            ws.send(json.dumps(["stdin", token + "\n"]))
            ws.s.settimeout(30)
            try:
                while token not in text:
                    op, payload = ws.recv()
                    msg = json.loads(payload)
                    if msg[0] in ("stdout", "stderr"):
                        text += msg[1]
                lat.append((time.perf_counter() - start) * 1000)
            except (socket.timeout, EOFError):
                lat.append(None)
            time.sleep(0.01)
        print(json.dumps({"lat": lat}), flush=True)
    print(json.dumps({"out": text}), flush=True)


def flood():
    ws = WebSocket(ARG["path"])
    print(json.dumps({"open": ws.status}), flush=True)
    if ws.status != 101:
        return
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    sent, start, closed = 0, time.monotonic(), None
    chunk = "ATTACK" * (65536 // 6)
    frames = [json.dumps(["stdin", chunk]).encode(), chunk.encode()]
    try:
        if ARG["kind"] == "stdin":
            i = 0
            while not stop.is_set() and time.monotonic() - start < ARG["secs"]:
                i += 1
                ws.send(frames[i % 2], 1 if i % 2 == 0 else 2)
                sent += 65536
            # one message over the service's limit (tornado's websocket_max_message_size)
            ws.send(b"\0" * (11 << 20), 2)
            sent += 11 << 20
            ws.s.settimeout(10)
            while True:
                ws.recv()
        else:
            stop.wait(ARG["secs"])
    except (OSError, EOFError) as exc:
        closed = ws.closed or repr(exc)
    print(json.dumps({"sent": sent, "secs": time.monotonic() - start,
                      "closed_by_service": closed}), flush=True)


if MODE == "http":
    print(json.dumps([http_one(r) for r in ARG]))
elif MODE == "victim":
    victim()
else:
    flood()
'''


class Hostile:
    """A student's own process talking raw HTTP and websockets to the service."""

    def __init__(self, user: User, sock: Path) -> None:
        self.user, self.sock = user, sock

    def http(self, *requests: dict[str, Any]) -> list[dict[str, Any]]:
        """One answer per request (each request gets 20 s unless it says otherwise)."""
        proc = subprocess.Popen(
            self.user.argv("/usr/bin/python3", "-I", "-c", SCRIPT, str(self.sock), "http"),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            cwd="/")
        wanted = [{"timeout": 20, **r} for r in requests]
        try:
            out, err = proc.communicate(json.dumps(wanted) + "\n", timeout=600)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise AssertionError("the hostile client did not finish") from None
        assert proc.returncode == 0, err
        return json.loads(out)  # type: ignore[no-any-return]

    def spawn(self, mode: str, arg: dict[str, Any]) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            self.user.argv("/usr/bin/python3", "-I", "-c", SCRIPT, str(self.sock), mode),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            cwd="/")
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(arg) + "\n")
        proc.stdin.flush()
        return proc
