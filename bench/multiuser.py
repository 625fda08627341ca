"""Multi-user service benchmark: --students real Unix users, each with a running container and
an open terminal (a shell exec session on ``/api/exec/{id}/ws``) through one root
``jupyter-ctr service --socket-group G --instructor-group I``, all typing at once.

    sudo .venv/bin/python bench/multiuser.py [--students 30] [--keys 200] [--max-pause 200]

Prints a markdown table; the targets are printed next to the figures (``--check``: exit 2
when one is missed). Targets: keystroke echo p99 under 5 ms; a student's and the
instructor's container list p99 under 20 ms; the service's memory under 150 MB.

How it measures (root needed: users, runc, conmon):

- Users: groups ``<tag>s`` (may use the socket) and ``<tag>i`` (instructors), students
  ``<tag>00``.. and one instructor ``<tag>t``, made with useradd (timed) and removed after.
- Each student is its own process with its own uid (``setpriv``, ``/usr/bin/python3 -I``
  running bench/clients/student.py): SO_PEERCRED is per process. It creates and starts a
  ``sleep`` container, creates a ``sh`` exec session with a tty and opens its websocket, as
  the lab extension's terminal tab does. When all are ready, the first student types
  --keys keys alone (the reference: the same path without the others), then all type at
  once, twice: alone, then while two processes list (below). A student types ``: ``, then
  keys, each after a random pause of up to --max-pause ms (a typist), an
  untimed Enter every 32 keys. One sample is the time from sending a key
  (``["stdin", "x"]``) to the frame holding its echo (the shell's line editor writes it back
  through the tty, conmon, the service). Each student's first --warmup keys are not counted.
- Lists: ``GET /v4.0.0/libpod/containers/json?all=true`` on a kept-alive connection, by a
  second process of the first student and by the instructor: every --list-interval ms during
  the second round of typing, then --lists requests each, one role after the other, while
  the terminals are open and idle.
- Memory of the service process (VmRSS; PSS from /proc/PID/smaps_rollup): before the
  students, with every terminal open, its peak (VmHWM), and after the students closed their
  terminals and removed their containers. The conmon processes of the containers (one per
  container and one per exec session) are separate processes, not counted; their total is
  printed for context (runc does not stay resident).

Cleanup, also on errors and Ctrl-C: the drivers are killed, every container removed, the
service stopped, mounts under the temp dir unmounted, the users and groups deleted and the
temp dir removed; what is left behind (mounts, conmon, cgroups, users) is reported (exit 1).
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from pathlib import Path
from typing import IO, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lifecycle import (  # noqa: E402 - the shared helpers of bench/lifecycle.py
    API,
    REPO,
    UnixHTTPConnection,
    kill_pids,
    mounts_under,
    pids_referencing,
    rmtree,
    run_guarded,
    unmount_all_under,
)

sys.path.insert(0, str(REPO))
from jupyter_ctr.engine import Runtime  # noqa: E402

DEMO = "localhost/busybox:latest"
STUDENT_SCRIPT = Path(__file__).resolve().parent / "clients" / "student.py"
SYSTEM_PYTHON = "/usr/bin/python3"
ECHO_TARGET_MS = 5.0
LIST_TARGET_MS = 20.0
MEMORY_TARGET_MB = 150.0


def log(msg: str) -> None:
    print(f"multiuser: {msg}", file=sys.stderr, flush=True)


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def ms(v: float) -> str:
    return f"{v * 1000:.2f}"


# -- processes and memory -----------------------------------------------------------------
def proc_memory(pid: int) -> dict[str, int]:
    """kB: ``rss`` and ``hwm`` (peak RSS) from /proc/PID/status, ``pss`` from smaps_rollup
    (absent when unreadable)."""
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out["rss" if line.startswith("VmRSS") else "hwm"] = int(line.split()[1])
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    out["pss"] = int(line.split()[1])
    except OSError:
        pass
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def conmon_memory(top: Path) -> tuple[int, int, int]:
    """(count, RSS kB, PSS kB) of the conmon processes of this run's containers."""
    count = rss = pss = 0
    for pid in pids_referencing([top]):
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() != "conmon":
                    continue
            mem = proc_memory(pid)
        except OSError:
            continue
        count += 1
        rss += mem.get("rss", 0)
        pss += mem.get("pss", 0)
    return count, rss, pss


def mb(kb: int | None) -> str:
    return "-" if kb is None else f"{kb / 1024:.1f}"


class Driver:
    """A student's (or the instructor's) process: JSON lines out, command lines in."""

    def __init__(self, argv: list[str], errlog: Path) -> None:
        self.errlog = errlog
        self._err: IO[bytes] = open(errlog, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._err, text=True, cwd="/",
                                     start_new_session=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def expect(self, key: str, timeout: float) -> dict[str, Any]:
        """The next report, which must hold ``key``."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError(f"{self.errlog.stem}: no {key!r} within {timeout:.0f} s: "
                               f"{self.stderr()}") from None
        if line is None:
            self.proc.wait(5)
            raise RuntimeError(f"{self.errlog.stem} exited ({self.proc.returncode}) before "
                               f"{key!r}: {self.stderr()}")
        msg = json.loads(line)
        if key not in msg:
            raise RuntimeError(f"{self.errlog.stem}: {key!r} expected, got {line[:200]}")
        return dict(msg)

    def say(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def stderr(self) -> str:
        self._err.flush()
        return self.errlog.read_text(errors="replace")[-2000:] or "(no stderr)"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        for f in (self.proc.stdin, self.proc.stdout):
            if f is not None:
                f.close()
        self._err.close()


class MemorySampler:
    """The service's RSS every 50 ms while running: the highest seen."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            try:
                self.peak = max(self.peak, proc_memory(self.pid).get("rss", 0))
            except OSError:
                return  # the service is gone (stopped by the cleanup)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


# -- the benchmark ------------------------------------------------------------------------
class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.top = Path(tempfile.mkdtemp(prefix="jcmu", dir="/tmp"))
        self.top.chmod(0o755)  # the students reach the socket and the script in it
        self.root, self.run_root = self.top / "r", self.top / "x"
        self.sock = self.top / "ctr.sock"
        self.tag = "jcb" + uuid.uuid4().hex[:5]
        self.groups: list[str] = []
        self.users: list[str] = []
        self.service: subprocess.Popen[bytes] | None = None
        self.drivers: list[Driver] = []
        self.ids: set[str] = set()
        self.figures: dict[str, Any] = {}
        self.left: list[str] = []
        self.failed = False

    # -- setup ---------------------------------------------------------------------------
    def setup(self) -> None:
        rt = Runtime(self.root, self.run_root)
        rt.images.build_demo()
        rt.close()
        shutil.copy(STUDENT_SCRIPT, self.top / "student.py")
        (self.top / "student.py").chmod(0o644)
        t0 = time.perf_counter()
        for group in (f"{self.tag}s", f"{self.tag}i"):
            self._admin("groupadd", group)
            self.groups.append(group)
        names = [f"{self.tag}{i:02d}" for i in range(self.args.students)] + [f"{self.tag}t"]
        for name in names:
            groups = f"{self.tag}s,{self.tag}i" if name.endswith("t") else f"{self.tag}s"
            self._admin("useradd", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        "--user-group", "--groups", groups, name)
            self.users.append(name)
        self.figures["users_s"] = time.perf_counter() - t0
        log(f"{len(names)} users {self.tag}* made in {self.figures['users_s']:.1f} s; "
            f"temp dir {self.top}")
        self.start_service()

    @staticmethod
    def _admin(*argv: str) -> None:
        """useradd and friends, retried while another process holds /etc/passwd's lock."""
        for attempt in range(50):
            proc = subprocess.run(argv, capture_output=True, text=True, check=False)
            if proc.returncode == 0:
                return
            if "lock" not in proc.stderr or attempt == 49:
                raise RuntimeError(f"{' '.join(argv)}: {proc.stderr.strip()}")
            time.sleep(0.1)

    def start_service(self) -> None:
        argv = [sys.executable]
        if self.args.profile:
            argv += ["-m", "cProfile", "-o", str(Path(self.args.profile).resolve())]
        argv += ["-m", "jupyter_ctr.cli", "--root", str(self.root), "--runroot",
                 str(self.run_root), "service", "--socket", str(self.sock),
                 "--socket-group", f"{self.tag}s", "--instructor-group", f"{self.tag}i"]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.service_log = open(self.top / "service.log", "wb")  # noqa: SIM115
        self.service = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=self.service_log,
                                        env=env, cwd=str(REPO), start_new_session=True)
        deadline = time.monotonic() + 60
        while not self.sock.exists():
            if self.service.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("jupyter-ctr service did not start: "
                                   f"{(self.top / 'service.log').read_text()}")
            time.sleep(0.05)
        self.root_call("GET", f"{API}/_ping")

    def root_call(self, method: str, url: str) -> Any:
        conn = UnixHTTPConnection(str(self.sock))
        try:
            conn.request(method, url)
            resp = conn.getresponse()
            data = resp.read()
            if resp.status >= 300:
                raise RuntimeError(f"{method} {url}: HTTP {resp.status}: {data[:300]!r}")
            return json.loads(data) if data.strip().startswith((b"[", b"{")) else data
        finally:
            conn.close()

    def driver(self, user: str, *options: str) -> Driver:
        entry = pwd.getpwnam(user)
        argv = ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}",
                "--init-groups", SYSTEM_PYTHON, "-I", str(self.top / "student.py"), *options,
                "--socket", str(self.sock)]
        drv = Driver(argv, self.top / f"{user}-{len(self.drivers)}.err")
        self.drivers.append(drv)
        return drv

    def service_memory(self) -> dict[str, int]:
        assert self.service is not None
        return proc_memory(self.service.pid)

    # -- measure -------------------------------------------------------------------------
    def measure(self) -> None:
        a, fig = self.args, self.figures
        fig["mem_before"] = self.service_memory()
        students = [self.driver(name, "typist", "--name", f"{name}-box", "--image", DEMO,
                                "--warmup", str(a.warmup),
                                "--max-pause", str(a.max_pause), "--seed", str(i))
                    for i, name in enumerate(self.users[:-1])]
        ready = [s.expect("ready", 300)["ready"] for s in students]
        self.ids = {c["Id"] for c in self.root_call("GET", f"{API}/containers/json?all=true")}
        fig["setup_container"] = [r["container"] for r in ready]
        fig["setup_terminal"] = [r["terminal"] for r in ready]
        time.sleep(0.5)  # the last opens settle
        fig["mem_open"] = self.service_memory()
        fig["conmon"] = conmon_memory(self.top)
        log(f"{len(students)} terminals open; the first student types {a.keys} keys alone")
        students[0].say(f"go {a.keys}")
        fig["solo"] = students[0].expect("echo", 120 + a.keys * (a.max_pause / 1000 + 1))["echo"]
        assert self.service is not None
        sampler = MemorySampler(self.service.pid)
        wait = 120 + a.keys * (a.max_pause / 1000 + 1)

        def all_type() -> tuple[list[float], float]:
            """Every student types --keys keys: the echo samples and the service's CPU s."""
            assert self.service is not None
            cpu0 = cpu_seconds(self.service.pid)
            for s in students:
                s.say(f"go {a.keys}")
            echo: list[float] = []
            for s in students:
                echo += s.expect("echo", wait)["echo"]
            return echo, cpu_seconds(self.service.pid) - cpu0

        log(f"all type {a.keys} keys each")
        fig["echo"], fig["typing_cpu"] = all_type()
        log(f"all type {a.keys} keys each again, while a student and the instructor list")
        first, instructor = self.users[0], self.users[-1]
        busy = [self.driver(user, "lister", "--interval", str(a.list_interval))
                for user in (first, instructor)]
        for drv in busy:
            drv.expect("ready", 60)
        fig["echo_lists"], fig["typing_lists_cpu"] = all_type()
        for drv in busy:
            drv.say("stop")
        fig["busy_lists"] = [drv.expect("lists", 60) for drv in busy]
        fig["mem_busy_peak"] = sampler.stop()
        log("lists while idle")
        idle = []
        for user in (first, instructor):
            drv = self.driver(user, "lister", "--count", str(a.lists), "--interval", "5")
            drv.expect("ready", 60)
            cpu0 = cpu_seconds(self.service.pid)
            idle.append(drv.expect("lists", 60 + a.lists))
            idle[-1]["cpu"] = cpu_seconds(self.service.pid) - cpu0
        fig["idle_lists"] = idle
        for s in students:
            s.say("bye")
        fig["bye"] = [s.expect("bye", 120)["bye"] for s in students]
        time.sleep(0.5)
        fig["mem_end"] = self.service_memory()
        fig["left_containers"] = len(self.root_call("GET", f"{API}/containers/json?all=true"))

    # -- teardown ------------------------------------------------------------------------
    def teardown(self) -> None:
        for drv in self.drivers:
            try:
                drv.stop()
            except Exception as exc:  # noqa: BLE001 - go on cleaning
                log(f"cleanup: driver: {exc}")
        if self.service is not None and self.service.poll() is None:
            try:
                for ctr in self.root_call("GET", f"{API}/containers/json?all=true"):
                    self.ids.add(ctr["Id"])
                    self.root_call("DELETE", f"{API}/containers/{ctr['Id']}?force=true&t=0")
            except Exception as exc:  # noqa: BLE001
                log(f"cleanup: removing containers through the service: {exc}")
            self.service.terminate()
            try:
                self.service.wait(30)
            except subprocess.TimeoutExpired:
                self.service.kill()
                self.service.wait(10)
            self.service_log.close()
            text = (self.top / "service.log").read_text(errors="replace")
            self.figures["log_errors"] = [
                line for line in text.splitlines()
                if any(word in line for word in ("Traceback", "ERROR", "never retrieved"))]
            if self.failed:
                tail = (self.top / "service.log").read_text(errors="replace")[-3000:]
                log(f"the service's log (tail):\n{tail}")
        try:
            rt = Runtime(self.root, self.run_root)
            for ctr in rt.list_containers(all=True):
                self.ids.add(ctr.id)
                rt.remove_container(ctr, force=True, timeout=0)
            rt.close()
        except Exception as exc:  # noqa: BLE001
            log(f"cleanup: removing containers in-process: {exc}")
        deadline = time.monotonic() + 10
        while pids_referencing([self.top]) and time.monotonic() < deadline:
            time.sleep(0.05)
        stray = pids_referencing([self.top])
        if stray:
            self.left.append(f"processes {stray}")
            kill_pids(stray)
        mounted = mounts_under([self.top])
        if mounted:
            self.left.append(f"mounts {mounted}")
            unmount_all_under([self.top])
        cgroups = [str(p) for ctrl in Path("/sys/fs/cgroup").iterdir()
                   if (ctrl / "jupyter-ctr").is_dir()
                   for p in (ctrl / "jupyter-ctr").iterdir() if p.name in self.ids]
        if cgroups:
            self.left.append(f"cgroups {cgroups}")
        for name in self.users:
            subprocess.run(["userdel", name], check=False, capture_output=True)
        for group in self.groups:
            subprocess.run(["groupdel", group], check=False, capture_output=True)
        with open("/etc/passwd") as f:
            users = [line.split(":")[0] for line in f if line.startswith(self.tag)]
        with open("/etc/group") as f:
            groups = [line.split(":")[0] for line in f if line.startswith(self.tag)]
        if users or groups:
            self.left.append(f"users {users} groups {groups}")
        rmtree(self.top)
        if self.top.exists():
            self.left.append(f"directory {self.top}")
        if self.left:
            log(f"left behind: {'; '.join(self.left)}")

    # -- report --------------------------------------------------------------------------
    def report(self) -> tuple[str, bool]:
        a, fig = self.args, self.figures
        met_all = True
        rows = ["| measure | value | target | met |", "|---|---|---|---|"]

        def row(what: str, value: str, target: str = "-", ok: bool | None = None) -> None:
            nonlocal met_all
            if ok is False:
                met_all = False
            mark = "-" if ok is None else ("met" if ok else "NOT MET")
            rows.append(f"| {what} | {value} | {target} | {mark} |")

        n = a.students
        for what, echo in (
                (f"echo: key -> its echo, {n} terminals typing at once", fig["echo"]),
                ("echo: the same while a student and the instructor list every "
                 f"{a.list_interval:g} ms", fig["echo_lists"]),
                ("echo: the first student typing alone (before the others)", fig["solo"])):
            row(f"{what}, {len(echo)} keys, p50 / p95 / p99 / max (ms)",
                " / ".join(ms(pct(echo, p)) for p in (50, 95, 99, 100)),
                f"p99 < {ECHO_TARGET_MS:g} ms", pct(echo, 99) * 1000 < ECHO_TARGET_MS)
        for phase, lists in (("while typing", fig["busy_lists"]),
                             ("terminals idle", fig["idle_lists"])):
            for role, msg in zip(("a student", "the instructor"), lists, strict=True):
                got = msg["lists"]
                sizes = "/".join(map(str, msg["sizes"]))
                row(f"list ({role}: {sizes} containers), {phase}, {len(got)} requests, "
                    "p50 / p99 / max (ms)",
                    " / ".join(ms(pct(got, p)) for p in (50, 99, 100)),
                    f"p99 < {LIST_TARGET_MS:g} ms", pct(got, 99) * 1000 < LIST_TARGET_MS)
        keys = len(fig["echo"])
        row(f"service CPU per key, {n} typing (ms)", f"{fig['typing_cpu'] / keys * 1000:.2f}")
        busy_lists = sum(len(msg["lists"]) for msg in fig["busy_lists"])
        row(f"service CPU per key, {n} typing while {busy_lists} lists (ms, the lists "
            "included)", f"{fig['typing_lists_cpu'] / len(fig['echo_lists']) * 1000:.2f}")
        for role, msg in zip(("a student", "the instructor"), fig["idle_lists"], strict=True):
            row(f"service CPU per list, {role}, terminals idle (ms)",
                f"{msg['cpu'] / len(msg['lists']) * 1000:.2f}")
        for what, mem, target in (
                ("before the students", fig["mem_before"], False),
                (f"{n} containers, {n} terminals open", fig["mem_open"], True),
                ("at the end (students gone)", fig["mem_end"], False)):
            ok = mem["rss"] / 1024 < MEMORY_TARGET_MB if target else None
            row(f"service memory {what}: RSS / PSS (MB)",
                f"{mb(mem.get('rss'))} / {mb(mem.get('pss'))}",
                f"RSS < {MEMORY_TARGET_MB:g} MB" if target else "-", ok)
        peak = max(fig["mem_busy_peak"], fig["mem_end"].get("hwm", 0))
        row("service memory peak (VmHWM, and RSS sampled while typing) (MB)", mb(peak),
            f"< {MEMORY_TARGET_MB:g} MB", peak / 1024 < MEMORY_TARGET_MB)
        count, rss, pss = fig["conmon"]
        row(f"not counted: {count} conmon processes (containers and exec sessions), "
            "RSS / PSS total (MB)", f"{mb(rss)} / {mb(pss)}")
        for what, key in (("container create + start", "setup_container"),
                          ("exec create + websocket + first prompt", "setup_terminal")):
            got = fig[key]
            row(f"per student, {n} at once: {what}, p50 / max (ms)",
                f"{ms(statistics.median(got))} / {ms(max(got))}")
        row(f"close terminal + remove container, {n} at once, p50 / max (ms)",
            f"{ms(statistics.median(fig['bye']))} / {ms(max(fig['bye']))}")
        row(f"useradd / groupadd of {n + 1} users and 2 groups (s)", f"{fig['users_s']:.1f}")
        errors = fig.get("log_errors", [])
        row("errors in the service's log", f"{len(errors)}" + (f": {errors[0][:100]}"
                                                               if errors else ""))
        row("left behind after cleanup", "; ".join(self.left) or "nothing",
            "nothing", not self.left)
        head = (f"## Multi-user service: {n} students typing at once "
                f"(--keys {a.keys}, --max-pause {a.max_pause:g} ms)\n\n")
        return head + "\n".join(rows), met_all


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--students", type=int, default=30, help="simulated students (users)")
    p.add_argument("--keys", type=int, default=200, help="timed keys per student")
    p.add_argument("--warmup", type=int, default=5, help="untimed first keys per student")
    p.add_argument("--max-pause", type=float, default=200.0,
                   help="ms: each key waits a random pause up to this after the last echo")
    p.add_argument("--lists", type=int, default=200,
                   help="list requests per role while the terminals are idle")
    p.add_argument("--list-interval", type=float, default=50.0,
                   help="ms between two list requests of a role while the students type")
    p.add_argument("--profile", metavar="FILE",
                   help="run the service under cProfile, its stats written to FILE")
    p.add_argument("--check", action="store_true", help="exit 2 when a target is missed")
    args = p.parse_args(argv)
    if args.students < 1 or args.keys < 1 or args.lists < 1:
        p.error("--students, --keys and --lists must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        log("needs root (useradd, runc, conmon)")
        return 1
    bench = Bench(args)

    def measure() -> None:
        try:
            bench.measure()
        except Exception:  # noqa: BLE001 - reported, then cleaned up
            traceback.print_exc()
            bench.failed = True

    if run_guarded(bench.setup, measure, bench.teardown):
        return 130
    if bench.failed:
        return 1
    table, met = bench.report()
    print(table, flush=True)
    if bench.left:
        return 1
    return 2 if args.check and not met else 0


if __name__ == "__main__":
    sys.exit(main())
