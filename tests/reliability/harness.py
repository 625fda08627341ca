"""What the reliability runs share: private engine roots, the CLI and the unix-socket service as
subprocesses, a raw HTTP client, and the invariants checked after every kill or fuzz run.

The invariants (issue 9): the engine's state agrees with runc (``runc state`` and the cgroup
freezer); nothing exists in the outside world without its container (mount, cgroup, conmon,
runc state directory, storage directory, bundle, spool file); every container can be finished.

Everything here reads the outside world directly (``/proc``, ``/sys/fs/cgroup``, runc) and the
engine only through its public API, so a finding is about the engine, not about the harness.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_ctr.engine import ContainerState, CtrError, Runtime

REPO = Path(__file__).resolve().parents[2]
DEMO = "localhost/busybox:latest"
CGROUP_ROOT = Path("/sys/fs/cgroup")
CGROUP_PARENT = "jupyter-ctr"
#: A container that stops quickly on SIGTERM (busybox sh as PID 1 ignores it otherwise) and
#: that CRIU can checkpoint: the verbs under test finish in a bounded time.
COMMAND = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"]
RUNC = shutil.which("runc") or "/usr/bin/runc"
_GONE = (ContainerState.CONFIGURED, ContainerState.EXITED)


# -- roots --------------------------------------------------------------------------------------
class Roots:
    """A private engine root pair (short /tmp paths: unix socket paths are limited to 108
    bytes) with the demo image; ``renew()`` scrubs it and starts over on fresh directories."""

    def __init__(self, prefix: str = "jrel") -> None:
        self.prefix = prefix
        self.base = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
        self.known_ids: set[str] = set()
        self._rt: Runtime | None = None
        self.rt.images.build_demo()

    @classmethod
    def adopt(cls, base: Path) -> Roots:
        """The roots a killed run left at ``base`` (for ``scrub``), without a new image."""
        roots = cls.__new__(cls)
        roots.prefix, roots.base, roots.known_ids, roots._rt = "jrel", Path(base), set(), None
        return roots

    @property
    def root(self) -> Path:
        return self.base / "r"

    @property
    def run_root(self) -> Path:
        return self.base / "x"

    @property
    def rt(self) -> Runtime:
        """The harness's own engine handle (setup, reading states, last-resort cleanup)."""
        if self._rt is None:
            self._rt = Runtime(self.root, self.run_root)
        return self._rt

    def cli_args(self) -> list[str]:
        return ["--root", str(self.root), "--runroot", str(self.run_root)]

    def learn_ids(self) -> set[str]:
        """Every container id these roots have shown, anywhere: a cgroup or a conmon can only
        be attributed to us by its id (the cgroup parent is shared with other engines)."""
        ids = {c.id for c in self.rt.list_containers(all=True)}
        for d, suffix in ((self.root / "containers", ""), (self.run_root / "runc", ""),
                          (self.run_root / "bundles", ""), (self.run_root / "locks", ".lock"),
                          (self.run_root / "exits", "")):
            with contextlib.suppress(OSError):
                for entry in os.scandir(d):
                    name = entry.name.removesuffix(suffix)
                    if len(name) == 64:
                        ids.add(name)
        ids |= {c.ctr_id for c in conmons(self.run_root)}
        self.known_ids |= ids
        return ids

    def scrub(self) -> None:
        """Last resort after a finding: remove by force whatever the engine could not."""
        self.learn_ids()
        with contextlib.suppress(Exception):
            for ctr in self.rt.list_containers(all=True):
                with contextlib.suppress(Exception):
                    self.rt.remove_container(ctr, force=True, timeout=0)
        for proc in conmons(self.run_root):
            with contextlib.suppress(OSError):
                os.kill(proc.pid, signal.SIGKILL)
        for ctr_id in self.known_ids:
            subprocess.run([RUNC, "--root", str(self.run_root / "runc"), "delete", "--force",
                            ctr_id], capture_output=True, check=False, timeout=30)
        for mnt in reversed(mounts_under([self.base])):
            subprocess.run(["umount", "-l", mnt], capture_output=True, check=False)
        for ctr_id in self.known_ids:
            remove_cgroups(ctr_id)

    def renew(self) -> None:
        """Scrub, drop these roots and start again on new ones (after an unrecoverable case)."""
        self.close(remove=True)
        self.base = Path(tempfile.mkdtemp(prefix=self.prefix, dir="/tmp"))
        self.known_ids = set()
        self.rt.images.build_demo()

    def close(self, remove: bool = True) -> None:
        if remove:
            self.scrub()
        if self._rt is not None:
            self._rt.close()
            self._rt = None
        if remove:
            shutil.rmtree(self.base, ignore_errors=True)


# -- the outside world --------------------------------------------------------------------------
def mounts_under(paths: Iterable[Path]) -> list[str]:
    prefixes = [str(p) for p in paths]
    out = []
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            point = line.split()[4].replace("\\040", " ")
            if any(point == p or point.startswith(p + "/") for p in prefixes):
                out.append(point)
    return out


def _cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return [a.decode(errors="replace") for a in fh.read().split(b"\0") if a]
    except OSError:
        return []


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return True


def _pids() -> Iterator[int]:
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            yield int(entry.name)


@dataclass
class Conmon:
    pid: int
    ctr_id: str
    exec_session: bool


def conmons(run_root: Path) -> list[Conmon]:
    """Live conmon processes serving containers of ``run_root`` (container and exec mode)."""
    found = []
    for pid in _pids():
        argv = _cmdline(pid)
        if not argv or not argv[0].endswith("conmon") or str(run_root) not in " ".join(argv):
            continue
        if _is_zombie(pid):
            continue
        ctr_id = argv[argv.index("-c") + 1] if "-c" in argv[:-1] else "?"
        found.append(Conmon(pid, ctr_id, "-e" in argv))
    return found


def busy_processes(run_root: Path, exclude: Iterable[int] = ()) -> list[str]:
    """Processes still working on ``run_root`` other than conmon: runc (and CRIU under it),
    conmon's exit command, an orphaned CLI. The invariants are read once these are gone."""
    skip = set(exclude) | {os.getpid()}
    out = []
    for pid in _pids():
        if pid in skip:
            continue
        argv = _cmdline(pid)
        if not argv or argv[0].endswith("conmon") or _is_zombie(pid):
            continue
        joined = " ".join(argv)
        if str(run_root) in joined and " service --socket " not in f" {joined} ":
            out.append(f"{pid} {joined[:160]}")
    return out


def settle(run_root: Path, timeout: float = 30.0, exclude: Iterable[int] = ()) -> list[str]:
    """Wait until no runc, exit command or orphaned CLI works on ``run_root``; what is still
    busy after ``timeout`` (an empty list when settled)."""
    deadline = time.monotonic() + timeout
    while True:
        busy = busy_processes(run_root, exclude)
        if not busy or time.monotonic() > deadline:
            return busy
        time.sleep(0.02)


def cgroup_dirs(ctr_id: str) -> list[Path]:
    found = []
    with contextlib.suppress(OSError):
        for ctrl in os.scandir(CGROUP_ROOT):
            path = Path(ctrl.path) / CGROUP_PARENT / ctr_id
            if path.is_dir():
                found.append(path)
    return found


def remove_cgroups(ctr_id: str) -> None:
    for path in cgroup_dirs(ctr_id):
        with contextlib.suppress(OSError):
            if path.parent.parent.name == "freezer":
                (path / "freezer.state").write_text("THAWED")
            for pid in (path / "cgroup.procs").read_text().split():
                with contextlib.suppress(OSError):
                    os.kill(int(pid), signal.SIGKILL)
        for _ in range(50):
            try:
                path.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.02)


def freezer_state(ctr_id: str) -> str | None:
    try:
        return (CGROUP_ROOT / "freezer" / CGROUP_PARENT / ctr_id / "freezer.state") \
            .read_text().strip()
    except OSError:
        return None


def runc_state(run_root: Path, ctr_id: str) -> str | None:
    """runc's status of the container, or None if runc does not know it."""
    if not (run_root / "runc" / ctr_id).exists():
        return None
    proc = subprocess.run([RUNC, "--root", str(run_root / "runc"), "state", ctr_id],
                          capture_output=True, text=True, check=False, timeout=30)
    if proc.returncode != 0:
        return None if "does not exist" in proc.stderr else f"error: {proc.stderr.strip()}"
    return str(json.loads(proc.stdout).get("status"))


def _lingers(pid: int, grace: float = 2.0) -> bool:
    """Whether a process is still alive after ``grace`` s (conmon exits a moment after the
    container it served is cleaned up: that moment is no leak)."""
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if _is_zombie(pid):
            return False
        time.sleep(0.02)
    return not _is_zombie(pid)


# -- invariants ---------------------------------------------------------------------------------
@dataclass
class Finding:
    kind: str          # state, mount, cgroup, conmon, runc-dir, storage-dir, bundle, spool, ...
    ctr_id: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind} {self.ctr_id[:12]}: {self.detail}"


#: Seconds a disagreement between the engine and runc may last before it is a finding.
SETTLE = 2.0

#: engine state -> runc statuses that agree with it (None: runc does not know the container).
AGREES: dict[ContainerState, set[str | None]] = {
    ContainerState.CONFIGURED: {None},
    ContainerState.EXITED: {None},
    ContainerState.CREATED: {"created"},
    ContainerState.RUNNING: {"running"},
    ContainerState.PAUSED: {"paused"},
    ContainerState.STOPPED: {"stopped", None},
    ContainerState.STOPPING: {"running", "stopped", None},
    ContainerState.REMOVING: {None},
}


def engine_states(rt: Runtime) -> dict[str, tuple[str, ContainerState, dict[str, Any]]]:
    """id -> (name, state, inspect State) as the engine reports them (its usual sync)."""
    out = {}
    for ctr in rt.list_containers(all=True):
        with contextlib.suppress(CtrError):
            info = ctr.inspect()
            out[ctr.id] = (ctr.name, ctr.state, info.get("State", {}))
    return out


def check_invariants(roots: Roots, *, spool_ok: bool = False) -> list[Finding]:
    """State agreement and orphans, read once the roots have settled."""
    rt, run_root = roots.rt, roots.run_root
    roots.learn_ids()
    findings: list[Finding] = []
    states = engine_states(rt)
    for ctr_id, (name, st, _info) in states.items():
        # A process that exits between the two readings (the engine's, then runc's) makes a
        # disagreement that the exit file ends a moment later: only one that lasts counts.
        deadline = time.monotonic() + SETTLE
        while True:
            status = runc_state(run_root, ctr_id)
            frozen = freezer_state(ctr_id)
            ok = status in AGREES.get(st, set()) and not (
                st is ContainerState.RUNNING and frozen == "FROZEN")
            if ok or time.monotonic() >= deadline:
                break
            time.sleep(0.1)
            with contextlib.suppress(CtrError):
                st = rt.lookup_container(ctr_id).state
        if not ok:
            findings.append(Finding("state", ctr_id, f"{name}: engine says {st.value}, runc "
                                    f"says {status or 'nothing'}, freezer {frozen or 'none'}"))
        live = [c for c in conmons(run_root) if c.ctr_id == ctr_id and not c.exec_session]
        if live and st in _GONE and _lingers(live[0].pid):
            findings.append(Finding("conmon", ctr_id, f"{name}: conmon {live[0].pid} alive "
                                    f"but the container is {st.value}"))
    findings += orphans(roots, set(states), spool_ok=spool_ok)
    return findings


def orphans(roots: Roots, live_ids: set[str], *, spool_ok: bool = False) -> list[Finding]:
    """Things in the outside world that belong to no container of the engine."""
    run_root = roots.run_root
    found: list[Finding] = []
    for mnt in mounts_under([roots.root, run_root]):
        ctr_id = next((part for part in Path(mnt).parts if len(part) == 64), "?")
        if ctr_id not in live_ids:
            found.append(Finding("mount", ctr_id, mnt))
    for ctr_id in sorted(roots.known_ids - live_ids):
        for path in cgroup_dirs(ctr_id):
            found.append(Finding("cgroup", ctr_id, str(path)))
    for proc in conmons(run_root):
        if proc.ctr_id not in live_ids and _lingers(proc.pid):
            found.append(Finding("conmon", proc.ctr_id, f"pid {proc.pid}"))
    for kind, d in (("runc-dir", run_root / "runc"), ("storage-dir", roots.root / "containers"),
                    ("bundle", run_root / "bundles")):
        with contextlib.suppress(OSError):
            for entry in os.scandir(d):
                if entry.name not in live_ids:
                    found.append(Finding(kind, entry.name, entry.path))
    if not spool_ok:
        with contextlib.suppress(OSError):
            for entry in os.scandir(run_root / "uploads"):
                found.append(Finding("spool", "-", entry.path))
    return found


# -- the CLI ------------------------------------------------------------------------------------
def cli_argv(roots: Roots, *args: str) -> list[str]:
    return [sys.executable, "-m", "jupyter_ctr.cli", *roots.cli_args(), *args]


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + ([env["PYTHONPATH"]]
                                                       if env.get("PYTHONPATH") else []))
    return env


@dataclass
class CliResult:
    argv: list[str]
    rc: int
    out: str
    err: str

    def text(self) -> str:
        lines = (self.err or self.out).strip().splitlines()
        return " | ".join(lines[-3:])[:400]


def cli(roots: Roots, *args: str, timeout: float = 120) -> CliResult:
    argv = cli_argv(roots, *args)
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, env=child_env(),
                              timeout=timeout, cwd=REPO, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        return CliResult(list(args), -1, "", f"timed out after {timeout:.0f} s: {exc}")
    return CliResult(list(args), proc.returncode, proc.stdout, proc.stderr)


# -- the service and a raw HTTP client ----------------------------------------------------------
class Service:
    """``jupyter-ctr service --socket PATH`` as a subprocess (killable, restartable)."""

    def __init__(self, roots: Roots, name: str = "svc.sock") -> None:
        self.roots = roots
        self.name = name
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def path(self) -> Path:
        return self.roots.base / self.name

    def start(self, timeout: float = 30) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self.log = open(self.roots.base / "service.log", "ab")  # noqa: SIM115 - kept open
        self.proc = subprocess.Popen(
            cli_argv(self.roots, "service", "--socket", str(self.path)), env=child_env(),
            cwd=REPO, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the service exited with {self.proc.returncode} at start")
            with contextlib.suppress(OSError, HttpError):
                if request(self.path, "GET", "/_ping", timeout=2).status == 200:
                    return
            time.sleep(0.02)
        raise RuntimeError("the service did not answer _ping in time")

    def errors(self, limit: int = 2) -> str:
        """The service log's last exception lines (what a 500 with an empty body hides)."""
        try:
            lines = (self.roots.base / "service.log").read_text(errors="replace").splitlines()
        except OSError:
            return ""
        hits = [ln.strip() for ln in lines if ln and not ln.startswith((" ", "Traceback"))
                and ("Error" in ln or "Exception" in ln)]
        return " | ".join(hits[-limit:])[:400]

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc is not None else -1

    def kill(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.proc = None
            self.log.close()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
            self.log.close()


class HttpError(Exception):
    """No complete HTTP response: the connection failed, closed early or timed out."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed: float = 0.0
    truncated: bool = False

    def text(self) -> str:
        return self.body[:400].decode(errors="replace").strip()

    def json(self) -> Any:
        return json.loads(self.body)


def request(sock_path: Path | str, method: str, target: str, body: bytes | None = None, *,
            headers: dict[str, str] | None = None, timeout: float = 30,
            max_body: int = 1 << 20, head_only: bool = False,
            out: Any = None) -> Response:
    """One HTTP/1.1 request over a unix socket, written by hand so that any method, target
    (control characters, odd paths) and body can be sent. Reads at most ``max_body`` bytes of
    the body (``out``: a file to copy the whole body to instead); ``head_only`` stops after the
    headers (streaming routes). Raises HttpError without a complete status and headers."""
    start = time.monotonic()
    deadline = start + timeout
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        try:
            sock.connect(str(sock_path))
        except OSError as exc:
            raise HttpError(f"connect: {exc}") from exc
        hdrs = {"Host": "d", "Connection": "close", "User-Agent": "jupyter-ctr-reliability"}
        if body is not None:
            hdrs["Content-Length"] = str(len(body))
            hdrs.setdefault("Content-Type", "application/json")
        hdrs.update(headers or {})
        head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n"
                                                         for k, v in hdrs.items()) + "\r\n"
        send_error: OSError | None = None
        try:
            sock.sendall(head.encode("utf-8", "surrogateescape") + (body or b""))
        except OSError as exc:
            # A server may refuse a request from its head and close before it has read the
            # body (RFC 9112 9.6: clients watch for such an early answer while they send):
            # the answer is then waiting here.
            send_error = exc
        buf = b""

        def recv() -> bytes:
            left = deadline - time.monotonic()
            if left <= 0:
                raise HttpError(f"timed out after {timeout:.1f} s")
            sock.settimeout(left)
            try:
                return sock.recv(65536)
            except TimeoutError as exc:
                raise HttpError(f"timed out after {timeout:.1f} s") from exc
            except OSError as exc:
                raise HttpError(f"recv: {exc}") from exc

        while b"\r\n\r\n" not in buf:
            try:
                chunk = recv()
            except HttpError:
                if send_error is not None:
                    raise HttpError(f"send: {send_error}") from send_error
                raise
            if not chunk:
                if send_error is not None:
                    raise HttpError(f"send: {send_error}") from send_error
                raise HttpError(f"connection closed before the headers ({len(buf)} bytes)")
            buf += chunk
        raw_head, rest = buf.split(b"\r\n\r\n", 1)
        lines = raw_head.decode("latin-1").split("\r\n")
        try:
            status = int(lines[0].split()[1])
        except (IndexError, ValueError) as exc:
            raise HttpError(f"bad status line {lines[0]!r}") from exc
        headers_in = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers_in[k.strip().lower()] = v.strip()
        resp = Response(status, headers_in, b"")
        if head_only or method == "HEAD" or status in (101, 204, 304):
            resp.elapsed = time.monotonic() - start
            return resp
        body_in = _read_body(rest, recv, headers_in, max_body, out)
        resp.body, resp.truncated = body_in
        resp.elapsed = time.monotonic() - start
        return resp
    finally:
        sock.close()


def _read_body(rest: bytes, recv: Any, headers: dict[str, str], max_body: int,
               out: Any) -> tuple[bytes, bool]:
    kept = bytearray()
    total = 0

    def take(data: bytes) -> bool:
        nonlocal total
        total += len(data)
        if out is not None:
            out.write(data)
        elif len(kept) < max_body:
            kept.extend(data[:max_body - len(kept)])
        return out is None and total > max_body

    if "chunked" in headers.get("transfer-encoding", ""):
        buf = rest
        while True:
            while b"\r\n" not in buf:
                chunk = recv()
                if not chunk:
                    raise HttpError("connection closed inside a chunked body")
                buf += chunk
            size_line, buf = buf.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                return bytes(kept), False
            while len(buf) < size + 2:
                chunk = recv()
                if not chunk:
                    raise HttpError("connection closed inside a chunk")
                buf += chunk
            if take(buf[:size]):
                return bytes(kept), True
            buf = buf[size + 2:]
    length = headers.get("content-length")
    if length is not None:
        want = int(length)
        if take(rest[:want]):
            return bytes(kept), True
        got = len(rest)
        while got < want:
            chunk = recv()
            if not chunk:
                raise HttpError(f"connection closed after {got} of {want} body bytes")
            got += len(chunk)
            if take(chunk):
                return bytes(kept), True
        return bytes(kept), False
    if take(rest):
        return bytes(kept), True
    while True:
        chunk = recv()
        if not chunk:
            return bytes(kept), False
        if take(chunk):
            return bytes(kept), True


# -- reports ------------------------------------------------------------------------------------
@dataclass
class Failure:
    """One failure with what it takes to see it again."""

    what: str        # failure, unrecoverable, leftover, state, 5xx, hang, ...
    verb: str
    detail: str
    repro: str

    def line(self) -> str:
        return f"[{self.what}] {self.verb}: {self.detail}\n    repro: {self.repro}"


@dataclass
class Table:
    columns: Sequence[str]
    rows: list[list[Any]] = field(default_factory=list)

    def add(self, *row: Any) -> None:
        self.rows.append(list(row))

    def render(self) -> str:
        cells = [list(map(str, self.columns))] + [[str(c) for c in r] for r in self.rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(self.columns))]
        lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                           for i, (c, w) in enumerate(zip(r, widths, strict=True)))
                 for r in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)
