"""REST fuzzer: seeded random and hostile requests to every route of the service's own OpenAPI
document (``GET /openapi.json``), against ``jupyter-ctr service --socket``.

Each request takes one operation of the document and spoils some of it: bad query values
(huge and negative integers, ``%00`` and other control characters, floats, ``1e30``, unicode),
bad JSON bodies (nested 100,000 deep, wrong types, huge numbers, not JSON at all), other
methods (OPTIONS, PUT, ...), odd paths (``//``, ``..``, ``%2f``, very long). A few requests
stay valid so that the routes are reached with real containers behind them (one running, one
created, one paused, an exec session; put back after every request that changed them).

Invariants: never a 5xx; never a hang (no status within ``timeout``, unless the request asked
for a long wait itself, as ``wait`` or a ``stop`` with a legitimately long timeout); the
service stays alive; no spool file outlives its request; nothing leaked at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shlex
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from jupyter_ctr.engine import ContainerState, CtrError

from .harness import (
    COMMAND,
    DEMO,
    Failure,
    HttpError,
    Roots,
    Service,
    Table,
    check_invariants,
    request,
    settle,
)

S = ContainerState
RUNNING, CREATED, PAUSED = "fzr", "fzc", "fzp"
FIXTURES = (RUNNING, CREATED, PAUSED)

#: Every query parameter a handler reads, plus a few that none does.
QUERY_PARAMS = (
    "timeout", "t", "signal", "tail", "since", "until", "follow", "stdout", "stderr",
    "timestamps", "force", "all", "limit", "filters", "size", "h", "w", "condition", "interval",
    "stream", "one-shot", "export", "import", "name", "keep", "leaveRunning", "tcpEstablished",
    "ignoreRootFS", "printStats", "fileLocks", "compression", "reference", "fromImage", "tag",
    "logs", "detachKeys", "ignore", "replay", "rows", "cols", "containers", "v", "depend",
    "ps_args", "destination", "tlsVerify", "quiet", "references", "names", "format",
    "compress", "fuzz")
#: Values a client may well send, and hostile ones (percent-encoded where it matters).
GOOD_VALUES = ("true", "false", "1", "0", "2", "10", "SIGTERM", "TERM", "15", "9",
               "ctrl-p,ctrl-q", "gzip", "none", "not-running", "stopped", "100",
               '{"status":["running"]}', "2020-01-01T00:00:00Z", "1700000000", "fzr")
HOSTILE_VALUES = (
    "99999999999999999999999", "-99999999999999999999", "-1", "-2147483649", "2147483648",
    "9223372036854775808", "1e30", "-1e30", "1.5", "0.0001", "nan", "inf", "-inf", "0x10",
    "%00", "%01", "%0a", "%0d%0a", "%7f", "1%00", "SIG%00KILL", "%ff%fe", "%c3%28",
    quote("é"), quote("𝕏"), quote("\u202e"), "", "%20", "+", "true%00", "yes", "on",
    "SIGKILL" * 50, "SIGRTMAX+100", "SIGRTMIN-1", "0", "65", "-9", "9" * 400,
    quote('{"a":' * 50 + "1" + "}" * 50), quote('{"status":"running"}'), quote("[1,2]"),
    quote("{"), "a" * 5000, "..%2f..%2fetc%2fpasswd", "%2e%2e", "*", "true&t=1e30")
BAD_METHODS = ("OPTIONS", "PUT", "PATCH", "TRACE", "DELETE", "GET", "POST", "HEAD", "FOO",
               "CONNECT")
#: Routes that stream or take the connection over: only the status line and headers are read.
STREAMING = ("/attach", "/logs", "/stats", "/events", "/ws", "/export", "/start")
#: Requests whose answer may legitimately wait for the container.
LONG_POLL = ("/wait",)
FIXTURE_S = 10.0


@dataclass
class Req:
    method: str
    target: str
    body: bytes | None
    body_desc: str
    op: str                  # "METHOD /path/template" of the operation it came from
    headers: dict[str, str] = field(default_factory=dict)

    def curl(self, sock: str) -> str:
        url = shlex.quote("http://d" + self.target)
        cmd = f"curl -s --unix-socket {sock} -X {self.method} {url}"
        if self.body is not None:
            if len(self.body) <= 300 and self.body_desc == "json":
                cmd += f" --data-binary {shlex.quote(self.body.decode(errors='replace'))}"
            else:
                cmd += f" --data-binary @BODY  # BODY: {self.body_desc}"
        return cmd


def _hostile_number(rng: random.Random) -> Any:
    return rng.choice([10 ** 30, -(10 ** 30), 1e30, -1e30, 2 ** 63, 2 ** 64, -1, 0, 1.5,
                       1e308, -2 ** 31, 2 ** 31, 10 ** 400])


def _hostile_json_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return _hostile_number(rng)
    if kind == 1:
        return rng.choice(["", "\x00", "\u202e", "𝕏" * 100, "a" * 100000, "../../etc",
                           "SIGKILL", "1e30", "\n"])
    if kind == 2:
        return rng.choice([True, False, None])
    if kind in (3, 4):
        return rng.choice([[], {}, [1, "a", None], {"": 1}])
    if kind == 5:
        return rng.randrange(-5, 1000)
    if kind == 6:
        return [_hostile_json_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(["image", "name", "Cmd", "command", "a", ""]): _hostile_json_value(
        rng, depth + 1) for _ in range(rng.randrange(4))}


#: Fields of the create bodies (libpod SpecGenerator and Docker's config) and of exec bodies.
SPEC_FIELDS = ("image", "command", "entrypoint", "name", "env", "work_dir", "user", "terminal",
               "stdin", "labels", "remove", "restart_policy", "restart_tries", "stop_signal",
               "stop_timeout", "netns", "resource_limits", "dependencyContainers")
DOCKER_FIELDS = ("Image", "Cmd", "Entrypoint", "Env", "WorkingDir", "User", "Tty", "OpenStdin",
                 "Labels", "StopSignal", "StopTimeout", "HostConfig")
EXEC_FIELDS = ("Cmd", "Env", "AttachStdin", "AttachStdout", "AttachStderr", "Tty",
               "WorkingDir", "User", "DetachKeys", "Detach", "h", "w")


def _good_body(path: str) -> dict[str, Any] | None:
    if path.endswith("/libpod/containers/create"):
        return {"image": DEMO, "command": COMMAND}
    if path.endswith("/containers/create"):
        return {"Image": DEMO, "Cmd": COMMAND}
    if path.endswith("/exec"):
        return {"Cmd": ["true"]}
    if "/exec/" in path and path.endswith("/start"):
        return {"Detach": True}
    return None


def _body(rng: random.Random, path: str) -> tuple[bytes | None, str]:
    good = _good_body(path)
    roll = rng.random()
    if roll < 0.2:
        return None, "none"
    if roll < 0.4 and good is not None:
        return json.dumps(good).encode(), "json"
    if roll < 0.5:
        depth = rng.choice([100, 1000, 10000, 100000, 200000])
        opener, closer = rng.choice([("[", "]"), ('{"a":', "}")])
        inner = opener * depth + "1" + closer * depth
        return inner.encode(), f"JSON nested {depth} deep ({opener}...)"
    if roll < 0.6:
        return rng.choice([b"{", b"\xff\xfe\x00", b"null", b"[]", b"1e999", b'"x"', b"nan",
                           b'{"a": NaN}', b"{}" * 1000, b"\x00" * 100]), "not JSON / odd JSON"
    fields = (SPEC_FIELDS if "/libpod/" in path else DOCKER_FIELDS)
    if "/exec" in path:
        fields = EXEC_FIELDS
    base: dict[str, Any] = dict(good or {})
    for _ in range(rng.randrange(1, 4)):
        key = rng.choice(fields)
        if key == "resource_limits" and rng.random() < 0.7:
            base[key] = {rng.choice(["memory", "pids", "cpu"]): {
                rng.choice(["limit", "quota", "period", "shares"]): _hostile_number(rng)}}
        elif key == "HostConfig" and rng.random() < 0.7:
            base[key] = {rng.choice(["Memory", "PidsLimit", "NanoCpus", "CpuQuota",
                                     "AutoRemove", "RestartPolicy", "NetworkMode"]):
                         _hostile_json_value(rng)}
        elif key in ("stop_timeout", "StopTimeout", "restart_tries", "h", "w"):
            base[key] = _hostile_number(rng)
        else:
            base[key] = _hostile_json_value(rng)
    text = json.dumps(base, allow_nan=True)
    return text.encode(), "json" if len(text) <= 300 else f"JSON object of {len(text)} bytes"


class RestFuzz:
    def __init__(self, *, seed: int, requests: int = 1000, timeout: float = 20.0,
                 fixture_s: float = FIXTURE_S, log: Callable[[str], None] = print) -> None:
        self.seed, self.n, self.timeout, self.log = seed, requests, timeout, log
        self.fixture_s = fixture_s
        self.rng = random.Random(seed)
        self.failures: list[Failure] = []
        self.codes: Counter[int] = Counter()
        self.per_op: dict[str, Counter[str]] = {}
        self.restarts = 0
        self.slow = 0
        self.exec_id = "nope"

    # -- fixtures -----------------------------------------------------------------------------
    def _fixtures(self, roots: Roots) -> None:
        """Put the running, created and paused containers and the exec session back, and drop
        every other container (the fuzzer's creations)."""
        rt = roots.rt
        try:
            rt.get_image(DEMO)
        except CtrError:
            rt.images.build_demo()
        want = {RUNNING: S.RUNNING, CREATED: S.CONFIGURED, PAUSED: S.PAUSED}
        for ctr in rt.list_containers(all=True):
            try:
                ok = want.get(ctr.name) is ctr.state
            except CtrError:
                ok = False
            if not ok:
                with contextlib.suppress(CtrError):
                    rt.remove_container(ctr, force=True, timeout=0)
        names = {c.name for c in rt.list_containers(all=True)}
        for name, state in want.items():
            if name in names:
                continue
            ctr = rt.create_container(DEMO, COMMAND, name=name)
            if state in (S.RUNNING, S.PAUSED):
                ctr.start()
            if state is S.PAUSED:
                ctr.pause()
            if name == RUNNING:
                self.exec_id = ctr.exec(["true"]).id

    def _put_back(self, i: int, req: Req, svc: Service, roots: Roots) -> None:
        """The fixtures, within FIXTURE_S: a container lock still held that long after the
        answer is a finding (the service is then restarted, which frees it)."""
        errors: list[str] = []

        def work() -> None:
            try:
                self._fixtures(roots)
            except CtrError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")

        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        worker.join(self.fixture_s)
        if worker.is_alive():
            self._fail("wedged", req, f"a container lock is still held {self.fixture_s:.0f} s "
                       "after the answer (the fixtures could not be put back)", i, svc)
            svc.kill()
            worker.join(60)
            self._restart(svc)
        if errors:
            self._fail("fixtures", req, f"could not put the fixtures back: {errors[0]}", i, svc)
            self._restart(svc)
            self._fixtures(roots)

    # -- requests -----------------------------------------------------------------------------
    def _ops(self, doc: dict[str, Any]) -> list[tuple[str, str]]:
        return sorted((path, method.upper()) for path, item in doc["paths"].items()
                      for method in item)

    def _name(self, path: str, roots: Roots) -> str:
        rng = self.rng
        if "/images/" in path:
            pool = [DEMO, quote(DEMO, safe=""), "busybox", "nope"]
        elif "/exec/" in path:
            pool = [self.exec_id, self.exec_id[:12], "nope"]
        else:
            pool = [*FIXTURES, RUNNING, RUNNING, "nope"]
            with contextlib.suppress(CtrError):
                pool.append(roots.rt.lookup_container(RUNNING).id[:12])
        if rng.random() < 0.15:
            return rng.choice(["%00", "a%00b", "..", "%2e%2e", "..%2f..", "%2f", "x" * 3000,
                               quote("é𝕏"), "%ff", "*", "-", "%0a", "a%20b", "fzr%3Fx=1"])
        return rng.choice(pool)

    def _request(self, ops: list[tuple[str, str]], roots: Roots) -> Req:
        rng = self.rng
        path, method = rng.choice(ops)
        op = f"{method} {path}"
        target = path.replace("{version}", rng.choice(["4.0.0", "4.0.0", "1.41", "0", "%00",
                                                       "9" * 30]))
        if "{name}" in target:
            target = target.replace("{name}", self._name(path, roots))
        if rng.random() < 0.06:
            target = rng.choice([
                target.replace("/", "//"), target + "/", target + "/..", "/.." + target,
                target.replace("/", "/%2f", 1), target + "/" + "x" * 10000, target + "%00",
                "/" + "a/" * 500, target.upper(), "*", target + "#frag", target + ";x=1"])
        if rng.random() < 0.15:
            method = rng.choice(BAD_METHODS)
        params = []
        for _ in range(rng.choice([0, 1, 1, 2, 2, 3, 4])):
            name = rng.choice(QUERY_PARAMS)
            value = rng.choice(HOSTILE_VALUES if rng.random() < 0.7 else GOOD_VALUES)
            params.append(f"{name}={value}")
        if params:
            target += "?" + "&".join(params)
        body, desc = (None, "none")
        if method in ("POST", "PUT", "PATCH") or rng.random() < 0.05:
            body, desc = _body(rng, path)
        headers = {}
        if rng.random() < 0.05:
            headers["Content-Type"] = rng.choice(["text/plain", "application/x-tar", "",
                                                  "application/json; charset=utf-16"])
        return Req(method, target, body, desc, op, headers)

    @staticmethod
    def _legit_wait(req: Req) -> bool:
        """A request that may wait for long by its own wish: wait, or a valid long timeout."""
        if any(p in req.target.split("?")[0] for p in LONG_POLL):
            return True
        query = req.target.partition("?")[2]
        for part in query.split("&"):
            key, _, value = part.partition("=")
            if key in ("timeout", "t", "interval") and value.isdigit() and \
                    int(value) < 2 ** 31 and int(value) > 1:
                return True
        return "signal=" in query  # a SIGSTOP now makes a later stop wait for its timeout

    # -- the run --------------------------------------------------------------------------------
    def run(self) -> RestReport:
        roots = Roots("jrf")
        svc = Service(roots)
        started = time.monotonic()
        try:
            svc.start()
            doc = request(svc.path, "GET", "/openapi.json", timeout=30).json()
            ops = self._ops(doc)
            self._fixtures(roots)
            for i in range(self.n):
                req = self._request(ops, roots)
                self._one(i, req, svc, roots)
                if req.method != "GET" or i % 50 == 0 or "/export" in req.target:
                    self._put_back(i, req, svc, roots)
            svc.stop()
            self._final(roots, svc)
        finally:
            with contextlib.suppress(Exception):
                svc.kill()
            roots.close(remove=True)
        return RestReport(self, time.monotonic() - started)

    def _one(self, i: int, req: Req, svc: Service, roots: Roots) -> None:
        counts = self.per_op.setdefault(req.op, Counter())
        counts["requests"] += 1
        path = req.target.split("?")[0]
        streaming = any(path.endswith(s) for s in STREAMING) or "export=true" in req.target
        timeout = 1.0 if any(p in path for p in LONG_POLL) else self.timeout
        try:
            resp = request(svc.path, req.method, req.target, req.body, headers=req.headers,
                           timeout=timeout, head_only=streaming, max_body=1 << 16)
        except HttpError as exc:
            if "timed out" in str(exc) and self._legit_wait(req):
                self.slow += 1
                counts["slow"] += 1
                self._restart(svc)
                return
            counts["no answer"] += 1
            alive = svc.alive()
            self._fail("hang" if "timed out" in str(exc) else "no-answer", req,
                       f"{exc}; service {'alive' if alive else 'DEAD'}", i, svc)
            self._restart(svc)
            return
        self.codes[resp.status] += 1
        counts[f"{resp.status // 100}xx"] += 1
        if resp.status >= 500:
            text = resp.text()[:300] or f"(empty body) [service log: {svc.errors()}]"
            self._fail("5xx", req, f"HTTP {resp.status}: {text}", i, svc)
        with contextlib.suppress(OSError):
            spool = os.listdir(roots.run_root / "uploads")
            deadline = time.monotonic() + 2
            while spool and time.monotonic() < deadline:  # on_finish runs after the answer
                time.sleep(0.05)
                spool = os.listdir(roots.run_root / "uploads")
            if spool:
                self._fail("spool", req, f"spool files after the answer: {spool}", i, svc)
                for name in spool:
                    (roots.run_root / "uploads" / name).unlink(missing_ok=True)
        if not svc.alive():
            self._fail("service-died", req, f"exit {svc.proc.returncode if svc.proc else '?'}",
                       i, svc)
            self._restart(svc)

    def _restart(self, svc: Service) -> None:
        """A wedged request: a fresh service for the next ones. SIGKILL is quick; what a
        killed service leaves in the spool is the crash harness's finding, not this one's."""
        self.restarts += 1
        svc.kill()
        spool = svc.roots.run_root / "uploads"
        with contextlib.suppress(OSError):
            for name in os.listdir(spool):
                (spool / name).unlink(missing_ok=True)
        svc.start()

    def _fail(self, what: str, req: Req, detail: str, i: int, svc: Service) -> None:
        body = "" if req.body is None else f" body={req.body_desc}"
        f = Failure(what, req.op, f"{req.method} {req.target[:300]}{body}: {detail}",
                    f"{req.curl(str(svc.path))[:600]}\n    (seed {self.seed}, request #{i}: "
                    f"python -m tests.reliability rest --seed {self.seed} --requests {i + 1})")
        self.failures.append(f)
        self.log(f.line())

    def _final(self, roots: Roots, svc: Service) -> None:
        repro = f"python -m tests.reliability rest --seed {self.seed} --requests {self.n}"
        for ctr in roots.rt.list_containers(all=True):
            try:
                roots.rt.remove_container(ctr, force=True, timeout=0)
            except CtrError as exc:
                self.failures.append(Failure("unrecoverable", "end", f"rm -f {ctr.name}: {exc}",
                                             repro))
        settle(roots.run_root)
        for f in check_invariants(roots):
            self.failures.append(Failure("leftover", "end", str(f), repro))


@dataclass
class RestReport:
    fuzz: RestFuzz
    seconds: float

    @property
    def failures(self) -> list[Failure]:
        return self.fuzz.failures

    def render(self) -> str:
        f = self.fuzz
        kinds = Counter(x.what for x in f.failures)
        t = Table(("operation", "requests", "2xx", "3xx", "4xx", "5xx", "no answer", "slow"))
        total: Counter[str] = Counter()
        for op in sorted(f.per_op):
            c = f.per_op[op]
            total.update(c)
            t.add(op, c["requests"], c["2xx"], c["3xx"], c["4xx"], c["5xx"], c["no answer"],
                  c["slow"])
        t.add("total", total["requests"], total["2xx"], total["3xx"], total["4xx"],
              total["5xx"], total["no answer"], total["slow"])
        lines = [f"REST fuzzer: seed {f.seed}, {total['requests']} requests in "
                 f"{self.seconds:.0f} s", t.render(),
                 f"5xx {kinds['5xx']}, hangs {kinds['hang']}, no answer {kinds['no-answer']}, "
                 f"service died {kinds['service-died']}, spool leaks {kinds['spool']}, "
                 f"leftovers {kinds['leftover']}, unrecoverable {kinds['unrecoverable']}, "
                 f"service restarts {f.restarts} (slow legitimate waits {f.slow})"]
        if f.failures:
            lines.append(f"{len(f.failures)} findings:")
            lines += [x.line() for x in f.failures]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {"seed": self.fuzz.seed, "codes": dict(self.fuzz.codes),
                "failures": [x.__dict__ for x in self.fuzz.failures]}
