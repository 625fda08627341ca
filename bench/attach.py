#!/usr/bin/env python3
"""Attach benchmark: output throughput and keystroke echo latency through conmon's attach socket.

One run measures, side by side:

  throughput  a non-tty busybox ``head -c 256m /dev/zero`` read to its end through attach:
                engine  ``Container.start_and_attach(stdout=<counting sink>)``, in-process
                cli     ``jupyter-ctr run -i``, stdout a pipe the benchmark reads
                podman  ``podman start --attach``, stdout a pipe the benchmark reads
              reported as MB/s (10^6 bytes) from the first byte to the last one (``stream``)
              and from the start of the call to its end (``wall``); median of ``--runs``
  latency     one keystroke into a tty ``cat`` until its echo comes back (the tty echoes:
              the first byte back is timed), p50/p90/p99 over ``--keys`` keystrokes:
                engine  the engine's ``AttachConnection`` (engine/conmon_socket.py), in-process
                cli     ``jupyter-ctr attach NAME`` under a pty (a process in the middle)
                podman  ``podman attach CID`` under a pty (a process in the middle)

The columns run interleaved (one run, or one keystroke, of each per round, the order rotating
every round) so that a noisy machine affects all of them alike. Everything lives in a private
temp dir under /tmp (own engine root, podman ``--root``/``--runroot``/``--tmpdir`` with
``CONTAINERS_CONF``) and is removed at the end, also on errors and Ctrl-C. The tables are
markdown on stdout; progress and tracebacks go to stderr.

Exit status: 0, or 1 when a column failed, 2 with ``--check`` when a target was missed,
130 when interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import importlib
import importlib.util
import io
import math
import os
import platform
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

import lifecycle
from lifecycle import (
    PODMAN_IMAGE,
    REPO,
    CommandError,
    PodmanStore,
    Skip,
    build_rootfs,
    cgroup_dirs,
    kill_pids,
    pids_referencing,
    remove_new_cgroups,
    rmtree,
    wait_quiet,
)

COLUMNS = ("engine", "cli", "podman")
MEASURES = ("throughput", "latency")
TITLES = {
    ("throughput", "engine"): "engine `start_and_attach` (in-process)",
    ("throughput", "cli"): "`jupyter-ctr run -i` (CLI process)",
    ("throughput", "podman"): "`podman start --attach`",
    ("latency", "engine"): "engine `AttachConnection` (in-process)",
    ("latency", "cli"): "`jupyter-ctr attach` under a pty",
    ("latency", "podman"): "`podman attach` under a pty",
}
P99_TARGET_MS = 5.0
THROUGHPUT_TARGET = 1.0  # engine stream MB/s / podman stream MB/s must be >= this
LINE_KEYS = 32  # keystrokes per line before an (untimed) Enter: cat then prints the line
LETTERS = b"abcdefghijklmnopqrstuvwxyz"
DETACH = b"\x10\x11"  # ctrl-p ctrl-q, the default detach keys of both CLIs
KEY_TIMEOUT = 10.0  # per keystroke (the first ones wait for the attach to be connected)
RUN_TIMEOUT = 300.0  # per throughput run
DEVNULL = subprocess.DEVNULL


def log(msg: str) -> None:
    print(f"attach: {msg}", file=sys.stderr, flush=True)


lifecycle.log = log  # the shared helpers' cleanup messages carry this script's prefix


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    s = sorted(samples)
    return s[max(0, math.ceil(q / 100 * len(s)) - 1)]


# -- throughput ----------------------------------------------------------------------------
class CountingSink(io.RawIOBase):
    """A binary stream that only counts what is written and when the first and last came."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.first = 0.0
        self.last = 0.0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        now = time.perf_counter()
        if not self.count:
            self.first = now
        n = len(data)
        self.count += n
        self.last = now
        return n


class Sample:
    """One throughput run: bytes, when the call began and ended, first and last byte."""

    def __init__(self, nbytes: int, t0: float, first: float, last: float, t1: float) -> None:
        self.nbytes, self.t0, self.first, self.last, self.t1 = nbytes, t0, first, last, t1

    @property
    def stream_mbs(self) -> float:
        return self.nbytes / max(self.last - self.first, 1e-9) / 1e6

    @property
    def wall_mbs(self) -> float:
        return self.nbytes / max(self.t1 - self.t0, 1e-9) / 1e6


def read_pipe(fd: int, proc: subprocess.Popen[bytes], timeout: float = RUN_TIMEOUT
              ) -> tuple[int, float, float]:
    """Read ``fd`` to EOF, counting; (bytes, first-byte time, last-byte time).

    Also ends once ``proc`` has exited and nothing came for 0.5 s, in case some other process
    (conmon) inherited the pipe and keeps it open.
    """
    count, first, last = 0, 0.0, 0.0
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    deadline = time.monotonic() + timeout
    idle_since = None
    while True:
        if not poller.poll(100):
            if proc.poll() is not None:
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since > 0.5:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"no end of output within {timeout:.0f} s ({count} bytes)")
            continue
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        now = time.perf_counter()
        if not count:
            first = now
        count += len(chunk)
        last = now
        idle_since = None
    return count, first, last


# -- latency sessions ----------------------------------------------------------------------
class EchoSession:
    """An attached tty ``cat``: type one key, time until the first byte comes back."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.typed = bytearray()  # this line so far

    def send(self, data: bytes) -> None:
        raise NotImplementedError

    def read_some(self, timeout: float) -> bytes:
        """Some output (b"" if none came within ``timeout``); EOFError when it ended."""
        raise NotImplementedError

    def _fill(self, want: int, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while len(self.buf) < want:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {what} within {timeout:.0f} s "
                                   f"(have {bytes(self.buf[-80:])!r})")
            self.buf += self.read_some(left)

    def key(self, ch: bytes, timeout: float = KEY_TIMEOUT) -> float:
        """Type ``ch``; seconds until its echo (the first byte back) arrived."""
        if self.buf:
            raise RuntimeError(f"unexpected output before a keystroke: {bytes(self.buf)!r}")
        t0 = time.perf_counter()
        self.send(ch)
        self._fill(1, timeout, f"echo of {ch!r}")
        dt = time.perf_counter() - t0
        got = bytes(self.buf[:1])
        del self.buf[:1]
        if got != ch:
            raise RuntimeError(f"typed {ch!r}, got {got!r} back")
        self.typed += ch
        return dt

    def enter(self, timeout: float = KEY_TIMEOUT) -> None:
        """Untimed Enter: the tty echoes CR LF, then cat prints the line."""
        want = b"\r\n" + bytes(self.typed) + b"\r\n"
        self.send(b"\r")
        self._fill(len(want), timeout, "line from cat")
        got = bytes(self.buf[:len(want)])
        del self.buf[:len(want)]
        if got != want:
            raise RuntimeError(f"after Enter expected {want!r}, got {got!r}")
        self.typed.clear()

    def close(self) -> None:
        raise NotImplementedError


class EngineSession(EchoSession):
    def __init__(self, bench: Bench) -> None:
        super().__init__()
        attach = bench.attach_mod
        self.rt = bench.rt
        self.ctr = bench.rt.create_container(bench.image, ["cat"], tty=True, stdin=True,
                                             name="lat-engine")
        self.ctr.start()
        self.conn = attach.AttachConnection.connect(self.ctr.bundle)
        self.conn.wait_accepted()

    def send(self, data: bytes) -> None:
        self.conn.send(data)

    def read_some(self, timeout: float) -> bytes:
        try:
            packet = self.conn.recv(timeout)
        except TimeoutError:
            return b""
        if packet is None:
            raise EOFError("the attach connection ended")
        return cast(bytes, packet[1])

    def close(self) -> None:
        self.conn.close()
        self.rt.remove_container(self.ctr, force=True, timeout=0)


class PtySession(EchoSession):
    """A client process (podman attach, jupyter-ctr attach) with a pty as its terminal."""

    def __init__(self, argv: list[str], env: dict[str, str],
                 remove: Callable[[], None]) -> None:
        super().__init__()
        self.remove = remove  # removes the container, after the client detached
        self.master, slave = os.openpty()
        self.proc: subprocess.Popen[bytes] | None = None
        try:
            try:
                fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
                self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                                             env=env, start_new_session=True)
            finally:
                os.close(slave)
            self._wait_raw(Path(argv[0]).name)
        except BaseException:
            self.close()
            raise

    def _wait_raw(self, name: str) -> None:
        """Until the client puts the pty into raw mode, the pty itself would echo our keys."""
        assert self.proc is not None
        deadline = time.monotonic() + 30
        while termios.tcgetattr(self.master)[3] & (termios.ECHO | termios.ICANON):
            if self.proc.poll() is not None:
                raise RuntimeError(f"{name} exited {self.proc.returncode}: {self._drain()!r}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} did not put its terminal in raw mode")
            time.sleep(0.01)

    def _drain(self) -> bytes:
        out = b""
        with contextlib.suppress(OSError):
            while select.select([self.master], [], [], 0.2)[0]:
                chunk = os.read(self.master, 4096)
                if not chunk:
                    break
                out += chunk
        return out

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def read_some(self, timeout: float) -> bytes:
        if not select.select([self.master], [], [], timeout)[0]:
            return b""
        try:
            chunk = os.read(self.master, 4096)
        except OSError:  # EIO: the client is gone
            chunk = b""
        if not chunk:
            raise EOFError("the attach client's terminal closed")
        return chunk

    def close(self) -> None:
        proc = self.proc
        if proc is not None and proc.poll() is None:
            # one key per write: podman only detaches when each key comes in a read of its own
            with contextlib.suppress(OSError):
                for key in DETACH:
                    self.send(bytes([key]))
                    time.sleep(0.05)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                log(f"cleanup: attach client {proc.pid} ({Path(proc.args[0]).name}) did not "
                    "detach, killing it")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        if self.master >= 0:
            with contextlib.suppress(OSError):
                self._drain()
            os.close(self.master)
            self.master = -1
        self.remove()


# -- columns -------------------------------------------------------------------------------
class Column:
    def __init__(self, measure: str, key: str) -> None:
        self.measure, self.key = measure, key
        self.samples: list[Any] = []  # Sample (throughput) or seconds (latency)
        self.status = "pending"  # ok, skipped, failed
        self.note = ""
        self.error = ""

    @property
    def title(self) -> str:
        return TITLES[(self.measure, self.key)]


# -- the run -------------------------------------------------------------------------------
class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.keys: list[str] = args.keys
        self.measures: list[str] = args.measures
        self.runs: int = args.runs
        self.warmup: int = args.warmup
        self.nkeys: int = args.nkeys
        self.key_warmup: int = args.key_warmup
        self.nbytes: int = args.mib << 20
        self.cgroups_before = cgroup_dirs()
        self.top = Path(tempfile.mkdtemp(prefix="jca", dir="/tmp"))  # short: socket paths
        self.rootfs = self.top / "rootfs"
        self.store: PodmanStore | None = None
        self.rt: Any = None
        self.sessions: dict[str, EchoSession] = {}
        self.tp = {k: Column("throughput", k) for k in self.keys}
        self.lat = {k: Column("latency", k) for k in self.keys}
        self.seq = 0

    def workdir(self, name: str) -> Path:  # for PodmanStore
        path = self.top / name
        path.mkdir(mode=0o700)
        return path

    def columns(self, measure: str) -> dict[str, Column]:
        return self.tp if measure == "throughput" else self.lat

    def _fail(self, col: Column, phase: str, exc: BaseException) -> None:
        col.status = "failed"
        col.error = "".join(traceback.format_exception(exc))
        first = str(exc).splitlines()[0] if str(exc) else ""
        col.note = f"{phase} failed: {type(exc).__name__}: {first}"
        log(f"{col.measure}/{col.key}: {phase} failed:\n{col.error}")

    # -- setup -------------------------------------------------------------------------
    def setup(self) -> None:
        build_rootfs(self.rootfs)
        needs_engine = {"engine", "cli"} & set(self.keys)
        for key in self.keys:
            cols = [self.columns(m)[key] for m in self.measures]
            try:
                if key in needs_engine and self.rt is None:
                    self._setup_engine()
                if key == "cli":
                    self._setup_cli()
                if key == "podman":
                    self._setup_podman()
                for col in cols:
                    col.status = "ok"
            except Skip as exc:
                for col in cols:
                    col.status, col.note = "skipped", str(exc)
                log(f"{key}: skipped: {exc}")
            except Exception as exc:  # noqa: BLE001 - reported, the other columns go on
                for col in cols:
                    self._fail(col, "setup", exc)

    def _setup_engine(self) -> None:
        if hasattr(self, "edir"):
            raise RuntimeError("the engine's setup failed (see the engine column)")
        log("setting up the engine")
        self.engine_mod = lifecycle._import_engine()
        self.attach_mod = importlib.import_module("jupyter_ctr.engine.conmon_socket")
        self.edir = self.workdir("e")
        self.eroot, self.erun = self.edir / "root", self.edir / "run"
        self.rt = self.engine_mod.Runtime(root=self.eroot, run_root=self.erun)
        self.image = lifecycle._demo_image(self.rt)

    def _setup_cli(self) -> None:
        if importlib.util.find_spec("jupyter_ctr.cli") is None:
            raise Skip("jupyter_ctr.cli is not importable")
        self.cli = [sys.executable, "-m", "jupyter_ctr.cli", "--root", str(self.eroot),
                    "--runroot", str(self.erun)]
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(self.top / "pyc")  # the checkout is not written
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", ""))
                                            if p)
        self.cli_env = env

    def _setup_podman(self) -> None:
        log("setting up podman (private store)")
        self.store = PodmanStore(cast(Any, self))
        self.store.ensure()
        assert self.store.dir is not None
        self.pdir = self.store.dir

    def _name(self, prefix: str) -> str:
        self.seq += 1
        return f"{prefix}-{self.seq}"

    # -- throughput runs -----------------------------------------------------------------
    def tp_engine(self) -> Sample:
        c = self.rt.create_container(self.image, ["head", "-c", str(self.nbytes), "/dev/zero"],
                                     name=self._name("tp-engine"))
        try:
            sink, err = CountingSink(), io.BytesIO()
            t0 = time.perf_counter()
            result = c.start_and_attach(stdout=sink, stderr=err)
            t1 = time.perf_counter()
            code = c.wait()
        finally:
            self.rt.remove_container(c, force=True, timeout=0)
        if result != "exited" or code != 0:
            raise RuntimeError(f"start_and_attach returned {result!r}, exit code {code}: "
                               f"{err.getvalue()[-300:]!r}")
        return self._sample(sink.count, t0, sink.first, sink.last, t1)

    def tp_cli(self) -> Sample:
        name = self._name("tp-cli")
        argv = [*self.cli, "run", "-i", "--name", name, self.image,
                "head", "-c", str(self.nbytes), "/dev/zero"]
        try:
            count, t0, first, last, t1, rc, err = self._pipe_run(argv, self.cli_env)
        finally:
            with contextlib.suppress(Exception):
                self.rt.remove_container(self.rt.lookup_container(name), force=True, timeout=0)
        if rc != 0:
            raise RuntimeError(f"jupyter-ctr run exited {rc}: {err[-300:]!r}")
        return self._sample(count, t0, first, last, t1)

    def tp_podman(self) -> Sample:
        s = self.store
        assert s is not None
        cid = s.podman_cmd("create", "--log-driver", "k8s-file", PODMAN_IMAGE,
                           "head", "-c", str(self.nbytes), "/dev/zero", out=True).split()[-1]
        s.ids.add(cid)
        try:
            count, t0, first, last, t1, rc, err = self._pipe_run(
                [*s.base, "start", "--attach", cid], s.env)
        finally:
            s.podman_cmd("rm", "-f", "-t", "0", cid)
            s.ids.discard(cid)
        if rc != 0:
            raise RuntimeError(f"podman start --attach exited {rc}: {err[-300:]!r}")
        return self._sample(count, t0, first, last, t1)

    def _pipe_run(self, argv: list[str], env: dict[str, str]
                  ) -> tuple[int, float, float, float, float, int, str]:
        """Run ``argv`` with stdout to a pipe we count; stdin /dev/null, stderr to a file."""
        with tempfile.TemporaryFile(dir=self.top) as ferr:
            t0 = time.perf_counter()
            proc = subprocess.Popen(argv, stdin=DEVNULL, stdout=subprocess.PIPE, stderr=ferr,
                                    env=env, start_new_session=True)
            try:
                assert proc.stdout is not None
                count, first, last = read_pipe(proc.stdout.fileno(), proc)
                rc = proc.wait(timeout=60)
                t1 = time.perf_counter()
            finally:
                if proc.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                if proc.stdout is not None:
                    proc.stdout.close()
            ferr.seek(0)
            err = ferr.read().decode(errors="replace")
        return count, t0, first, last, t1, rc, err

    def _sample(self, count: int, t0: float, first: float, last: float, t1: float) -> Sample:
        if count != self.nbytes:
            raise RuntimeError(f"read {count} bytes, expected {self.nbytes}")
        return Sample(count, t0, first, last, t1)

    def _quiesce(self, key: str) -> None:
        """Wait (untimed) until the run's background processes (exit commands) are done."""
        dirs = [self.pdir] if key == "podman" else [self.edir]
        if not wait_quiet(dirs, exclude=[]):
            log(f"{key}: processes still running 10 s after a run")

    def measure_throughput(self) -> None:
        cols = self.tp
        runners = {"engine": self.tp_engine, "cli": self.tp_cli, "podman": self.tp_podman}
        total = self.warmup + self.runs
        for rnd in range(total):
            active = [k for k in self.keys if cols[k].status == "ok"]
            if not active:
                return
            timed = rnd >= self.warmup
            k = rnd % len(active)
            for key in active[k:] + active[:k]:
                try:
                    sample = runners[key]()
                except Exception as exc:  # noqa: BLE001 - reported, the others go on
                    self._fail(cols[key], "run" if timed else "warm-up", exc)
                    continue
                finally:
                    self._quiesce(key)
                if timed:
                    cols[key].samples.append(sample)
            log(f"throughput: {'warm-up' if not timed else 'round'} "
                f"{rnd + 1 - (self.warmup if timed else 0)}/{self.runs if timed else self.warmup}")

    # -- latency -------------------------------------------------------------------------
    def _open_session(self, key: str) -> EchoSession:
        if key == "engine":
            return EngineSession(self)
        if key == "cli":
            c = self.rt.create_container(self.image, ["cat"], tty=True, stdin=True,
                                         name="lat-cli")
            c.start()
            return PtySession([*self.cli, "attach", c.name], self.cli_env,
                              lambda: self.rt.remove_container(c, force=True, timeout=0))
        s = self.store
        assert s is not None
        cid = s.podman_cmd("create", "-it", "--log-driver", "k8s-file", "--name", "lat-podman",
                           PODMAN_IMAGE, "cat", out=True).split()[-1]
        s.ids.add(cid)
        s.podman_cmd("start", cid)

        def remove() -> None:
            s.podman_cmd("rm", "-f", "-t", "0", cid)
            s.ids.discard(cid)

        return PtySession([*s.base, "attach", cid], s.env, remove)

    def measure_latency(self) -> None:
        cols = self.lat
        for key in self.keys:
            if cols[key].status != "ok":
                continue
            try:
                log(f"latency: attaching {key}")
                self.sessions[key] = self._open_session(key)
            except Exception as exc:  # noqa: BLE001
                self._fail(cols[key], "attach", exc)
        total = self.key_warmup + self.nkeys
        for rnd in range(total):
            active = [k for k in self.keys if cols[k].status == "ok" and k in self.sessions]
            if not active:
                return
            timed = rnd >= self.key_warmup
            ch = LETTERS[rnd % len(LETTERS):][:1]
            k = rnd % len(active)
            for key in active[k:] + active[:k]:
                sess = self.sessions[key]
                try:
                    dt = sess.key(ch)
                    if (rnd + 1) % LINE_KEYS == 0 or rnd == total - 1:
                        sess.enter()
                except Exception as exc:  # noqa: BLE001
                    self._fail(cols[key], "keystroke", exc)
                    continue
                if timed:
                    cols[key].samples.append(dt)
            if (rnd + 1) % 100 == 0:
                log(f"latency: {rnd + 1}/{total} keystrokes")

    # -- teardown ------------------------------------------------------------------------
    def teardown(self) -> None:
        for key, sess in list(self.sessions.items()):
            try:
                sess.close()
            except Exception as exc:  # noqa: BLE001 - cleanup goes on regardless
                log(f"cleanup: {key} session: {exc!r}")
        self.sessions.clear()
        if self.rt is not None:
            try:
                for c in self.rt.list_containers(all=True):
                    self.rt.remove_container(c, force=True, timeout=0)
            except Exception as exc:  # noqa: BLE001
                log(f"cleanup: engine: {exc!r}")
            with contextlib.suppress(Exception):
                self.rt.close()
            wait_quiet([self.edir], timeout=5)
        if self.store is not None:
            try:
                self.store.teardown()
            except Exception as exc:  # noqa: BLE001
                log(f"cleanup: podman store: {exc!r}")
        kill_pids(pids_referencing([self.top]))
        if self.rt is not None:
            with contextlib.suppress(Skip, CommandError, subprocess.TimeoutExpired):
                lifecycle.runc_delete_all(lifecycle.which("runc"), self.erun / "runc")
        rmtree(self.top)
        remove_new_cgroups(self.cgroups_before)

    # -- report --------------------------------------------------------------------------
    def _note(self, col: Column) -> str:
        return col.note if col.status == "ok" else f"{col.status}: {col.note}"

    def report(self) -> tuple[str, bool]:
        host = (f"{platform.node()}, kernel {platform.release()}, {os.cpu_count()} cpus")
        lines: list[str] = []
        targets: list[tuple[str, str, str, bool | None]] = []
        if "throughput" in self.measures:
            mib = self.nbytes >> 20
            lines += [
                f"Attach throughput, non-tty busybox `head -c {mib}m /dev/zero` "
                f"({self.nbytes} bytes) read to its end: median of {self.runs} runs per column "
                f"after {self.warmup} warm-up, interleaved ({host}). MB/s = 10^6 bytes/s; "
                "stream = first byte to last byte, wall = the whole call (the CLI's includes "
                "create).",
                "",
                "| column | stream MB/s | min | max | wall MB/s | runs | bytes | note |",
                "|---|---:|---:|---:|---:|---:|---|---|",
            ]
            for key in self.keys:
                col = self.tp[key]
                ss: list[Sample] = col.samples
                if not ss:
                    lines.append(f"| {col.title} | - | - | - | - | 0 | - | {self._note(col)} |")
                    continue
                st = [s.stream_mbs for s in ss]
                wall = statistics.median(s.wall_mbs for s in ss)
                lines.append(f"| {col.title} | {statistics.median(st):.0f} | {min(st):.0f} | "
                             f"{max(st):.0f} | {wall:.0f} | {len(ss)} | all {self.nbytes} | "
                             f"{self._note(col)} |")
            e, p = self._tp_median("engine"), self._tp_median("podman")
            if e is not None and p is not None:
                ratio = e / p
                targets.append(("engine / podman stream MB/s (medians)", f"{ratio:.2f}",
                                f">= {THROUGHPUT_TARGET:g}", ratio >= THROUGHPUT_TARGET))
            else:
                targets.append(("engine / podman stream MB/s (medians)", "-",
                                f">= {THROUGHPUT_TARGET:g}", None))
            lines.append("")
        if "latency" in self.measures:
            lines += [
                f"Keystroke echo through attach, tty busybox `cat`: {self.nkeys} keystrokes per "
                f"column after {self.key_warmup} warm-up, interleaved, an untimed Enter every "
                f"{LINE_KEYS} ({host}). Time from writing one byte to reading the first byte "
                "back (the tty's echo).",
                "",
                f"| column | p50 ms | p90 ms | p99 ms | max ms | keys | p99 < {P99_TARGET_MS:g} ms "
                "| note |",
                "|---|---:|---:|---:|---:|---:|---|---|",
            ]
            for key in self.keys:
                col = self.lat[key]
                ms = [x * 1000 for x in col.samples]
                if not ms:
                    lines.append(f"| {col.title} | - | - | - | - | 0 | n/a | {self._note(col)} |")
                    continue
                p99 = percentile(ms, 99)
                met = p99 < P99_TARGET_MS
                lines.append(f"| {col.title} | {percentile(ms, 50):.3f} | "
                             f"{percentile(ms, 90):.3f} | {p99:.3f} | {max(ms):.3f} | "
                             f"{len(ms)} | {'yes' if met else 'NO'} | {self._note(col)} |")
                if key in ("engine", "cli"):
                    targets.append((f"{col.title}: p99 echo", f"{p99:.3f} ms",
                                    f"< {P99_TARGET_MS:g} ms", met))
            for key in ("engine", "cli"):
                if key in self.keys and not self.lat[key].samples:
                    targets.append((f"{self.lat[key].title}: p99 echo", "-",
                                    f"< {P99_TARGET_MS:g} ms", None))
            lines.append("")
        lines += ["| target | value | wanted | met |", "|---|---:|---:|---|"]
        all_met = True
        for name, value, wanted, ok in targets:
            if ok is not None:
                all_met &= ok
            met = "n/a" if ok is None else "yes" if ok else "NO"
            lines.append(f"| {name} | {value} | {wanted} | {met} |")
        return "\n".join(lines), all_met

    def _tp_median(self, key: str) -> float | None:
        col = self.tp.get(key)
        if col is None or not col.samples:
            return None
        return statistics.median(s.stream_mbs for s in col.samples)

    def failed(self) -> bool:
        return any(c.status == "failed" for m in self.measures
                   for c in self.columns(m).values())


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", "-n", type=int, default=3,
                   help="timed throughput runs per column (default 3)")
    p.add_argument("--warmup", type=int, default=1,
                   help="untimed throughput runs per column first (default 1)")
    p.add_argument("--mib", type=int, default=256,
                   help="MiB the throughput container writes (default 256)")
    p.add_argument("--keys", dest="nkeys", metavar="N", type=int, default=500,
                   help="timed keystrokes per column (default 500)")
    p.add_argument("--key-warmup", metavar="N", type=int, default=20,
                   help="untimed keystrokes per column first (default 20)")
    p.add_argument("--only", metavar="LIST", default="",
                   help="comma-separated measurements (" + ",".join(MEASURES) + ") and/or "
                        "columns (" + ",".join(COLUMNS) + "); default all of both")
    p.add_argument("--check", action="store_true", help="exit 2 when a target is missed")
    args = p.parse_args(argv)
    if args.runs < 1 or args.warmup < 0 or args.mib < 1 or args.nkeys < 1 or \
            args.key_warmup < 0:
        p.error("--runs, --mib and --keys must be >= 1, the warm-ups >= 0")
    items = [x.strip() for x in args.only.split(",") if x.strip()]
    bad = [x for x in items if x not in COLUMNS + MEASURES]
    if bad:
        p.error(f"unknown --only item(s) {', '.join(bad)}; choose from "
                f"{', '.join(MEASURES + COLUMNS)}")
    args.measures = [m for m in MEASURES if m in items] or list(MEASURES)
    args.keys = [k for k in COLUMNS if k in items] or list(COLUMNS)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        log("needs root (runc, conmon, overlay mounts, rootful podman)")
        return 1
    bench = Bench(args)

    def measure() -> None:
        if "throughput" in bench.measures:
            bench.measure_throughput()
        if "latency" in bench.measures:
            bench.measure_latency()

    if lifecycle.run_guarded(bench.setup, measure, bench.teardown):
        return 130
    table, met = bench.report()
    print(table, flush=True)
    if bench.failed():
        return 1
    return 2 if args.check and not met else 0


if __name__ == "__main__":
    sys.exit(main())
