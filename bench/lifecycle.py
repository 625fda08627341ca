#!/usr/bin/env python3
"""Container lifecycle benchmark: create -> start -> stop (timeout 0) -> remove.

One run measures, side by side, a busybox ``sleep 1000`` container driven by:

  runc     raw runc: create, start, kill KILL, poll ``runc state`` until stopped, delete
  conmon   raw runc + conmon as libpod drives it, with a fresh overlay mount per container
  engine   the jupyter_ctr engine, in-process (``jupyter_ctr.engine.Runtime``)
  cli      the ``jupyter-ctr`` CLI (skipped while ``jupyter_ctr.cli`` is not importable)
  podman   the podman CLI: create, start, stop -t 0, rm
  rest     podman's libpod REST API over ``podman system service``'s unix socket

The columns run interleaved (one cycle of each per round, the order rotating every round) so
that a noisy machine affects all of them alike. After each timed cycle the benchmark waits,
untimed, until no process that belongs to the column (conmon, exit commands such as
``podman container cleanup``) is left, so one column's background work does not land in the
next column's numbers.

Everything lives in private temp dirs (own ``runc --root``, podman ``--root``/``--runroot``/
``--tmpdir``) and is removed at the end, also on errors and Ctrl-C. Timing output is a
markdown table on stdout; progress and tracebacks go to stderr.

Exit status: 0, or 1 when a column failed, 2 with ``--check`` when a target was missed,
130 when interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import errno
import http.client
import importlib.util
import json
import math
import os
import platform
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
COLUMNS = ("runc", "conmon", "engine", "cli", "podman", "rest")
TITLES = {
    "runc": "raw runc",
    "conmon": "runc + conmon (+ overlay)",
    "engine": "jupyter_ctr engine (in-process)",
    "cli": "jupyter-ctr CLI",
    "podman": "podman CLI",
    "rest": "podman REST (libpod API)",
}
# (numerator, denominator, target: ratio must be <= this)
TARGETS = (("engine", "conmon", 1.5), ("engine", "podman", 0.5))
# containers.conf for the podman peer, as in docs/platform.md (used if bench/ has none)
PODMAN_CONF = """\
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
netns = "none"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
"""
# cgroup dirs that podman (cgroupfs manager) and the engine create under each controller
HOST_CGROUPS = ("libpod_parent", "libpod_parent/conmon", "jupyter-ctr")
DEMO_IMAGE = "localhost/busybox:latest"
PODMAN_IMAGE = "localhost/bbbench"
API = "/v4.0.0/libpod"
QUIESCE_TIMEOUT = 10.0
DEVNULL = subprocess.DEVNULL


def log(msg: str) -> None:
    print(f"lifecycle: {msg}", file=sys.stderr, flush=True)


class Skip(Exception):
    """The column cannot run here (not an error: reported as skipped)."""


class CommandError(RuntimeError):
    def __init__(self, argv: Sequence[str], rc: int, stderr: str) -> None:
        super().__init__(f"{' '.join(argv)} exited {rc}: {stderr.strip()}")
        self.stderr = stderr


def run(argv: Sequence[str], *, env: dict[str, str] | None = None, out: bool = False,
        check: bool = True, timeout: float = 120) -> str:
    """Run a command; return its stdout if ``out``. Output goes to temp files, never pipes:
    runtimes hand their stdio to containers and conmon, which would keep a pipe open."""
    with tempfile.TemporaryFile() as fout, tempfile.TemporaryFile() as ferr:
        proc = subprocess.run(list(argv), stdin=DEVNULL, stdout=fout if out else DEVNULL,
                              stderr=ferr, env=env, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            ferr.seek(0)
            raise CommandError(argv, proc.returncode, ferr.read().decode(errors="replace"))
        if out:
            fout.seek(0)
            return fout.read().decode(errors="replace")
    return ""


def which(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if not path:
        raise Skip(f"{name} is not installed")
    return path


# -- mounts and processes ------------------------------------------------------------------
_libc = ctypes.CDLL(None, use_errno=True)
_MNT_DETACH = 2


def mount_overlay(lower: Path, upper: Path, work: Path, target: Path) -> None:
    data = f"lowerdir={lower},upperdir={upper},workdir={work}".encode()
    if _libc.mount(b"overlay", os.fsencode(target), b"overlay", 0, data) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount overlay on {target}: {os.strerror(err)}")


def umount(target: str | Path) -> None:
    path = os.fsencode(target)
    if _libc.umount2(path, 0) == 0:
        return
    err = ctypes.get_errno()
    if err == errno.EINVAL:  # not mounted
        return
    if _libc.umount2(path, _MNT_DETACH) != 0:
        err = ctypes.get_errno()
        if err != errno.EINVAL:
            raise OSError(err, f"umount {target}: {os.strerror(err)}")


def _unescape_mountinfo(field: str) -> str:
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mounts_under(dirs: Iterable[str | Path]) -> list[str]:
    prefixes = [str(Path(d).resolve()) for d in dirs]
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = _unescape_mountinfo(line.split()[4])
            if any(point == p or point.startswith(p + "/") for p in prefixes):
                found.append(point)
    return found


def unmount_all_under(dirs: Iterable[str | Path]) -> None:
    dirs = list(dirs)
    for _ in range(5):  # stacked mounts need several passes
        points = mounts_under(dirs)
        if not points:
            return
        for point in sorted(set(points), key=len, reverse=True):
            try:
                umount(point)
            except OSError as exc:
                log(f"cleanup: {exc}")
    left = mounts_under(dirs)
    if left:
        log(f"cleanup: still mounted: {left}")


def pids_referencing(dirs: Iterable[str | Path], exclude: Iterable[int] = ()) -> list[int]:
    """Processes whose command line mentions one of ``dirs`` (this process excluded)."""
    needles = [os.fsencode(str(d)) for d in dirs]
    skip = {os.getpid(), *exclude}
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in skip:
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if any(n in cmdline for n in needles):
            pids.append(int(entry))
    return pids


def wait_quiet(dirs: Sequence[str | Path], exclude: Iterable[int] = (),
               timeout: float = QUIESCE_TIMEOUT) -> bool:
    """Wait until no process refers to ``dirs`` (background cleanups done)."""
    exclude = list(exclude)
    deadline = time.monotonic() + timeout
    while pids_referencing(dirs, exclude):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.005)
    return True


def kill_pids(pids: Iterable[int]) -> None:
    """SIGKILL processes this benchmark started (found by their command lines)."""
    pids = list(pids)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            log(f"cleanup: killing leftover process {pid}")
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    for pid in pids:
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, os.WNOHANG)
            try:
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        break
            except OSError:
                break
            time.sleep(0.01)


def podman_processes() -> list[int]:
    """Running podman (or netavark) processes, ours included."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() in ("podman", "netavark"):
                        pids.append(int(entry))
            except OSError:
                continue
    return pids


def cgroup_dirs() -> set[str]:
    """Existing cgroup dirs that runs of podman or the engine may create on the host."""
    found = set()
    for mount in Path("/sys/fs/cgroup").iterdir():
        for rel in HOST_CGROUPS:
            if (mount / rel).is_dir():
                found.add(str(mount / rel))
    return found


def remove_new_cgroups(before: set[str]) -> None:
    """rmdir the cgroup dirs of HOST_CGROUPS made during the run (fails harmlessly, EBUSY,
    while anything still uses them)."""
    for path in sorted(cgroup_dirs() - before, key=len, reverse=True):
        try:
            os.rmdir(path)
        except OSError as exc:
            if exc.errno not in (errno.EBUSY, errno.ENOTEMPTY, errno.ENOENT):
                log(f"cleanup: rmdir {path}: {exc}")


def runc_delete_all(runc: str, root: Path, ids: Iterable[str] | None = None) -> None:
    """Force-delete containers in a runc state dir (all of them, or only ``ids``)."""
    if not root.exists():
        return
    try:
        listed = json.loads(run([runc, "--root", str(root), "list", "--format", "json"],
                                out=True) or "null") or []
    except (CommandError, ValueError, subprocess.TimeoutExpired) as exc:
        log(f"cleanup: runc list in {root}: {exc}")
        return
    wanted = None if ids is None else set(ids)
    for item in listed:
        cid = item.get("id", "")
        if wanted is not None and cid not in wanted:
            continue
        log(f"cleanup: runc delete --force {cid[:12]} ({root})")
        with contextlib.suppress(CommandError, subprocess.TimeoutExpired):
            run([runc, "--root", str(root), "delete", "--force", cid])


def rmtree(path: Path) -> None:
    if not path.exists():
        return
    unmount_all_under([path])
    shutil.rmtree(path, ignore_errors=True)
    if path.exists():
        log(f"cleanup: could not remove {path}")


# -- image material ------------------------------------------------------------------------
def build_rootfs(dest: Path) -> Path:
    """A busybox rootfs: the static busybox plus relative symlinks for every applet."""
    busybox = which("busybox")
    with open(busybox, "rb") as f:
        if f.read(4) != b"\x7fELF":
            raise RuntimeError(f"{busybox} is not an ELF binary")
    (dest / "bin").mkdir(parents=True)
    shutil.copy2(busybox, dest / "bin" / "busybox")
    applets = run([busybox, "--list"], out=True).split()
    for applet in applets:
        if applet and applet != "busybox" and "/" not in applet:
            os.symlink("busybox", dest / "bin" / applet)
    if not (dest / "bin" / "sleep").exists():
        raise RuntimeError("busybox has no sleep applet")
    for d in ("dev", "proc", "sys", "tmp", "etc", "root", "run"):
        (dest / d).mkdir(exist_ok=True)
    os.chmod(dest / "tmp", 0o1777)
    (dest / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (dest / "etc" / "group").write_text("root:x:0:\n")
    return dest


def runc_spec_template(runc: str, scratch: Path) -> dict[str, Any]:
    """``runc spec``'s default config, made to run ``sleep 1000`` without a terminal."""
    scratch.mkdir(parents=True, exist_ok=True)
    run([runc, "spec", "--bundle", str(scratch)])
    spec: dict[str, Any] = json.loads((scratch / "config.json").read_text())
    (scratch / "config.json").unlink()
    proc = spec["process"]
    proc["args"] = ["/bin/sleep", "1000"]
    proc["terminal"] = False
    hard_nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    limits = [r for r in proc.get("rlimits", []) if r.get("type") != "RLIMIT_NOFILE"]
    nofile = next((r for r in proc.get("rlimits", []) if r.get("type") == "RLIMIT_NOFILE"), None)
    if nofile is None or (hard_nofile != resource.RLIM_INFINITY and nofile["hard"] > hard_nofile):
        nofile = {"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}
    proc["rlimits"] = [*limits, nofile]
    return spec


def new_id() -> str:
    return secrets.token_hex(32)  # the size of libpod's ids


# -- columns -------------------------------------------------------------------------------
class Column:
    key = ""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.samples: list[float] = []
        self.status = "pending"  # ok, skipped, failed
        self.note = ""
        self.error = ""
        self.quiesce_timeouts = 0

    @property
    def title(self) -> str:
        return TITLES[self.key]

    def setup(self) -> None:
        raise NotImplementedError

    def cycle(self) -> None:
        raise NotImplementedError

    def teardown(self) -> None:
        raise NotImplementedError

    def quiet_dirs(self) -> list[Path]:
        """Dirs whose processes must be gone before the next timed cycle (of any column)."""
        return []

    def quiet_exclude(self) -> list[int]:
        return []


class RuncColumn(Column):
    key = "runc"

    def setup(self) -> None:
        self.runc = which("runc")
        self.dir = self.bench.workdir("r")
        self.state = self.dir / "state"
        self.bundle = self.dir / "bundle"
        self.bundle.mkdir()
        spec = runc_spec_template(self.runc, self.dir / "spec")
        spec["root"] = {"path": str(self.bench.rootfs), "readonly": True}
        (self.bundle / "config.json").write_text(json.dumps(spec))
        self.errfile = self.dir / "create.err"

    def _runc(self, *args: str) -> list[str]:
        return [self.runc, "--root", str(self.state), *args]

    def cycle(self) -> None:
        cid = new_id()
        # runc create hands its stdio to the container: DEVNULL in, a file for errors
        with open(self.errfile, "wb") as err:
            rc = subprocess.call(self._runc("create", "--bundle", str(self.bundle), cid),
                                 stdin=DEVNULL, stdout=DEVNULL, stderr=err)
        if rc != 0:
            raise CommandError(["runc", "create"], rc, self.errfile.read_text())
        run(self._runc("start", cid))
        run(self._runc("kill", cid, "KILL"))
        deadline = time.monotonic() + 30
        while json.loads(run(self._runc("state", cid), out=True))["status"] != "stopped":
            if time.monotonic() > deadline:
                raise TimeoutError(f"runc container {cid[:12]} did not stop")
        run(self._runc("delete", cid))

    def quiet_dirs(self) -> list[Path]:
        return [self.dir]

    def teardown(self) -> None:
        if getattr(self, "dir", None) is None:
            return
        runc_delete_all(self.runc, self.state)
        kill_pids(pids_referencing([self.dir]))
        rmtree(self.dir)


class ConmonColumn(Column):
    """What libpod does around runc: overlay mount, conmon create, runc start/kill/delete."""

    key = "conmon"

    def setup(self) -> None:
        self.runc = which("runc")
        self.conmon = which("conmon")
        self.dir = self.bench.workdir("c")
        self.state, self.exits, self.socks, self.ctrs = (
            self.dir / "state", self.dir / "exits", self.dir / "s", self.dir / "ctr")
        for d in (self.exits, self.socks, self.ctrs):
            d.mkdir()
        self.spec = runc_spec_template(self.runc, self.dir / "spec")
        self.note = "overlay per container, conmon log-level error, no exit command"

    def _runc(self, *args: str) -> list[str]:
        return [self.runc, "--root", str(self.state), *args]

    def cycle(self) -> None:
        cid = new_id()
        cdir = self.ctrs / cid[:12]
        upper, work, merged, bundle = (cdir / "upper", cdir / "work", cdir / "merged",
                                       cdir / "bundle")
        for d in (upper, work, merged, bundle / "persist"):
            d.mkdir(parents=True)
        mount_overlay(self.bench.rootfs, upper, work, merged)
        try:
            spec = dict(self.spec, root={"path": str(merged), "readonly": False})
            (bundle / "config.json").write_text(json.dumps(spec))
            self._conmon_create(cid, bundle)
            run(self._runc("start", cid))
            run(self._runc("kill", cid, "KILL"))
            exit_file = self.exits / cid
            deadline = time.monotonic() + 30
            while not exit_file.exists():
                if time.monotonic() > deadline:
                    raise TimeoutError(f"conmon wrote no exit file for {cid[:12]}")
                time.sleep(0.001)
            run(self._runc("delete", cid))
        finally:
            umount(merged)
        shutil.rmtree(cdir)
        (self.exits / cid).unlink(missing_ok=True)
        (self.socks / cid).unlink(missing_ok=True)

    def _conmon_create(self, cid: str, bundle: Path) -> None:
        argv = [
            self.conmon, "--api-version", "1", "-c", cid, "-u", cid, "-r", self.runc,
            "--runtime-arg", "--root", "--runtime-arg", str(self.state),
            "-b", str(bundle), "-p", str(bundle / "pidfile"), "-n", f"bench-{cid[:12]}",
            "--exit-dir", str(self.exits), "--persist-dir", str(bundle / "persist"),
            "--socket-dir-path", str(self.socks), "-l", f"k8s-file:{bundle / 'ctr.log'}",
            "--log-level", "error", "--conmon-pidfile", str(bundle / "conmon.pid"),
            "--full-attach",
        ]
        rfd, wfd = os.pipe()
        try:
            env = dict(os.environ, _OCI_SYNCPIPE=str(wfd))
            with open(bundle / "conmon.err", "wb") as err:
                first = subprocess.Popen(argv, pass_fds=(wfd,), env=env, stdin=DEVNULL,
                                         stdout=DEVNULL, stderr=err, start_new_session=True)
            os.close(wfd)
            wfd = -1
            data = b""
            with os.fdopen(rfd, "rb", buffering=0) as pipe:
                rfd = -1
                while b"\n" not in data:
                    chunk = pipe.read(4096)
                    if not chunk:
                        break
                    data += chunk
            first.wait(timeout=30)
        finally:
            for fd in (rfd, wfd):
                if fd >= 0:
                    os.close(fd)
        line = data.split(b"\n", 1)[0]
        if not line:
            raise RuntimeError(f"conmon exited {first.returncode} without a sync message: "
                               f"{(bundle / 'conmon.err').read_text().strip()}")
        msg = json.loads(line)
        if int(msg.get("data", -1)) < 0:
            raise RuntimeError(f"conmon: runc create failed: {msg.get('message', '')}")

    def quiet_dirs(self) -> list[Path]:
        return [self.dir]

    def teardown(self) -> None:
        if getattr(self, "dir", None) is None:
            return
        kill_pids(pids_referencing([self.dir]))
        runc_delete_all(self.runc, self.state)
        rmtree(self.dir)


def _import_engine() -> Any:
    try:
        from jupyter_ctr import engine
    except ImportError:
        if str(REPO) in sys.path:
            raise
        # not installed: use the checkout (conmon's exit command needs it too)
        sys.path.insert(0, str(REPO))
        os.environ["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
        from jupyter_ctr import engine
    return engine


def _demo_image(rt: Any) -> str:
    image = rt.images.build_demo()
    names = getattr(image, "names", None)
    return names[0] if names else DEMO_IMAGE


class EngineColumn(Column):
    key = "engine"

    def setup(self) -> None:
        engine = _import_engine()
        self.dir = self.bench.workdir("e")
        self.root, self.run_root = self.dir / "root", self.dir / "run"
        self.rt = engine.Runtime(root=self.root, run_root=self.run_root)
        self.image = _demo_image(self.rt)

    def cycle(self) -> None:
        c = self.rt.create_container(self.image, ["sleep", "1000"])
        c.start()
        c.stop(timeout=0)
        self.rt.remove_container(c)

    def quiet_dirs(self) -> list[Path]:
        return [self.dir]

    def teardown(self) -> None:
        if getattr(self, "dir", None) is None:
            return
        rt = getattr(self, "rt", None)
        if rt is not None:
            try:
                for c in rt.list_containers(all=True):
                    log(f"cleanup: engine container {c.id[:12]} left, removing it")
                    rt.remove_container(c, force=True, timeout=0)
            except Exception as exc:  # noqa: BLE001 - cleanup goes on regardless
                log(f"cleanup: engine: {exc!r}")
            with contextlib.suppress(Exception):
                rt.close()
        wait_quiet([self.dir], timeout=5)
        kill_pids(pids_referencing([self.dir]))
        with contextlib.suppress(Skip):
            runc_delete_all(which("runc"), self.run_root / "runc")
        rmtree(self.dir)


class CliColumn(Column):
    key = "cli"

    def setup(self) -> None:
        engine = _import_engine()
        if importlib.util.find_spec("jupyter_ctr.cli") is None:
            raise Skip("jupyter_ctr.cli is not importable yet")
        self.dir = self.bench.workdir("j")
        root, run_root = self.dir / "root", self.dir / "run"
        rt = engine.Runtime(root=root, run_root=run_root)
        try:
            self.image = _demo_image(rt)
        finally:
            rt.close()
        script = Path(sys.executable).parent / "jupyter-ctr"
        prog = [str(script)] if script.exists() else [sys.executable, "-m", "jupyter_ctr.cli"]
        self.base = [*prog, "--root", str(root), "--runroot", str(run_root)]
        self.root, self.run_root = root, run_root
        # Steady-state CLI cost: bytecode cached (the warm-up fills a private pycache, so the
        # checkout is not written), even where PYTHONDONTWRITEBYTECODE is set.
        self.env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        self.env["PYTHONPYCACHEPREFIX"] = str(self.dir / "pycache")
        self.note = "bytecode cached in a private pycache"

    def _cli(self, *args: str, out: bool = False, check: bool = True) -> str:
        return run([*self.base, *args], env=self.env, out=out, check=check)

    def cycle(self) -> None:
        cid = self._cli("create", self.image, "sleep", "1000", out=True).split()[-1]
        self._cli("start", cid)
        self._cli("stop", "-t", "0", cid)
        self._cli("rm", cid)

    def quiet_dirs(self) -> list[Path]:
        return [self.dir]

    def teardown(self) -> None:
        if getattr(self, "dir", None) is None:
            return
        if hasattr(self, "env"):
            with contextlib.suppress(CommandError, subprocess.TimeoutExpired):
                ids = self._cli("ps", "-aq", out=True).split()
                if ids:
                    log(f"cleanup: jupyter-ctr containers left: {len(ids)}, removing them")
                    self._cli("rm", "-f", *ids, check=False)
        wait_quiet([self.dir], timeout=5)
        kill_pids(pids_referencing([self.dir]))
        with contextlib.suppress(Skip):
            runc_delete_all(which("runc"), self.run_root / "runc")
        rmtree(self.dir)


class PodmanStore:
    """Private podman roots shared by the podman CLI and REST columns, with the image."""

    HOST_PATHS = ("/var/lib/containers", "/run/containers", "/run/libpod", "/etc/cni/net.d",
                  "/etc/containers/networks", "/run/runc", "/dev/shm/libpod_lock")
    HOST_FILES = ("blob-info-cache-v1.boltdb", "netavark.lock", "libpod_lock")

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.ready = False
        self.dir: Path | None = None
        self.ids: set[str] = set()
        self.service_pids: list[int] = []

    def ensure(self) -> None:
        if self.ready:
            return
        self.podman = which("podman")
        self.runc = which("runc")
        self.host_before = {p: os.path.lexists(p) for p in self.HOST_PATHS}
        self.dir = self.bench.workdir("p")
        self.root, self.run_root, self.tmp = self.dir / "root", self.dir / "run", self.dir / "tmp"
        conf = REPO / "bench" / "containers.conf"
        if not conf.exists():
            conf = self.dir / "containers.conf"
            conf.write_text(PODMAN_CONF)
        self.conf = conf
        self.env = dict(os.environ, CONTAINERS_CONF=str(conf))
        self.base = [self.podman, "--root", str(self.root), "--runroot", str(self.run_root),
                     "--tmpdir", str(self.tmp)]
        tar = self.dir / "rootfs.tar"
        with tarfile.open(tar, "w") as tf:
            for entry in sorted(self.bench.rootfs.iterdir()):
                tf.add(entry, arcname=entry.name)
        run([*self.base, "import", str(tar), PODMAN_IMAGE], env=self.env)
        tar.unlink()
        self.ready = True

    def podman_cmd(self, *args: str, out: bool = False) -> str:
        return run([*self.base, *args], env=self.env, out=out)

    def teardown(self) -> None:
        if self.dir is None:
            return
        if self.ready:
            with contextlib.suppress(CommandError, subprocess.TimeoutExpired):
                left = run([*self.base, "ps", "-aq", "--no-trunc"], env=self.env,
                           out=True).split()
                if left:
                    log(f"cleanup: podman containers left: {len(left)}, removing them")
                    run([*self.base, "rm", "-f", "-t", "0", *left], env=self.env, check=False)
        wait_quiet([self.dir], exclude=self.service_pids, timeout=5)
        kill_pids(pids_referencing([self.dir]))
        # podman's runc state lives in its runroot or in the host's /run/runc: only ours
        runc_delete_all(self.runc, self.run_root / "runc")
        if self.ids:
            runc_delete_all(self.runc, Path("/run/runc"), self.ids)
        rmtree(self.dir)
        self._remove_host_paths()
        self.dir = None

    def _remove_host_paths(self) -> None:
        """Host paths podman made although every root was private (a blob info cache, the
        netavark lock, the SHM lock segment, empty runtime dirs): removed when they did not
        exist before the run, hold nothing else and no other podman is running."""
        created = [p for p in self.HOST_PATHS
                   if not self.host_before.get(p, True) and os.path.lexists(p)]
        if not created:
            return
        others = podman_processes()
        if others:
            log(f"note: another podman is running (pid {others[0]}): left in place: "
                f"{', '.join(created)}")
            return
        for top in created:
            if not os.path.isdir(top):
                if os.path.basename(top) in self.HOST_FILES:
                    with contextlib.suppress(OSError):
                        os.unlink(top)
                continue
            files, others = [], []
            for dirpath, _, names in os.walk(top):
                for n in names:
                    (files if n in self.HOST_FILES else others).append(os.path.join(dirpath, n))
            if others:
                log(f"note: {top} was created during the run and is left in place: "
                    f"it holds {others[0]}")
                continue
            for f in files:
                with contextlib.suppress(OSError):
                    os.unlink(f)
            for dirpath, _, _ in sorted(os.walk(top), key=lambda w: len(w[0]), reverse=True):
                with contextlib.suppress(OSError):
                    os.rmdir(dirpath)


class PodmanColumn(Column):
    key = "podman"

    def setup(self) -> None:
        self.store = self.bench.podman_store()
        self.store.ensure()
        if self.store.conf != REPO / "bench" / "containers.conf":
            self.note = "bench/containers.conf missing: used platform.md's content"

    def cycle(self) -> None:
        s = self.store
        cid = s.podman_cmd("create", PODMAN_IMAGE, "sleep", "1000", out=True).split()[-1]
        s.ids.add(cid)
        s.podman_cmd("start", cid)
        s.podman_cmd("stop", "-t", "0", cid)
        s.podman_cmd("rm", cid)
        s.ids.discard(cid)

    def quiet_dirs(self) -> list[Path]:
        return [self.store.dir] if self.store.dir else []

    def quiet_exclude(self) -> list[int]:
        return self.store.service_pids

    def teardown(self) -> None:
        pass  # the store is torn down by the bench, after the REST column


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 60) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.unix_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class RestColumn(Column):
    key = "rest"

    def setup(self) -> None:
        self.store = self.bench.podman_store()
        self.store.ensure()
        assert self.store.dir is not None
        self.sock_path = self.store.dir / "api.sock"
        self.errlog = open(self.store.dir / "service.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [*self.store.base, "system", "service", "--time=0", f"unix://{self.sock_path}"],
            env=self.store.env, stdin=DEVNULL, stdout=DEVNULL, stderr=self.errlog,
            start_new_session=True)
        self.store.service_pids.append(self.proc.pid)
        self.conn: UnixHTTPConnection | None = None
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"podman system service exited {self.proc.returncode}: "
                                   f"{(self.store.dir / 'service.log').read_text().strip()}")
            if self.sock_path.exists():
                try:
                    status, _ = self.request("GET", f"{API}/_ping")
                    if status == 200:
                        break
                except OSError:
                    self._close()
            if time.monotonic() > deadline:
                raise TimeoutError("podman system service did not answer within 30 s")
            time.sleep(0.05)

    def _close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        """One request on a kept-alive connection (reopened once if the server closed it)."""
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = UnixHTTPConnection(str(self.sock_path))
            try:
                self.conn.request(method, path, body=payload, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.will_close:
                    self._close()
                return resp.status, data
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self._close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _expect(self, want: int, method: str, path: str, body: Any = None) -> bytes:
        status, data = self.request(method, path, body)
        if status != want:
            raise RuntimeError(f"{method} {path}: HTTP {status} (want {want}): "
                               f"{data.decode(errors='replace').strip()}")
        return data

    def cycle(self) -> None:
        data = self._expect(201, "POST", f"{API}/containers/create",
                            {"image": PODMAN_IMAGE, "command": ["sleep", "1000"]})
        cid = json.loads(data)["Id"]
        self.store.ids.add(cid)
        self._expect(204, "POST", f"{API}/containers/{cid}/start")
        self._expect(204, "POST", f"{API}/containers/{cid}/stop?timeout=0")
        self._expect(200, "DELETE", f"{API}/containers/{cid}?force=true")
        self.store.ids.discard(cid)

    def quiet_dirs(self) -> list[Path]:
        return [self.store.dir] if self.store.dir else []

    def quiet_exclude(self) -> list[int]:
        return self.store.service_pids

    def teardown(self) -> None:
        if getattr(self, "store", None) is None:
            return
        if hasattr(self, "conn"):
            self._close()
        proc = getattr(self, "proc", None)
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                log("cleanup: podman system service ignored SIGTERM, killing it")
                proc.kill()
                proc.wait(timeout=10)
        if proc is not None:
            with contextlib.suppress(ValueError):
                self.store.service_pids.remove(proc.pid)
        if hasattr(self, "errlog"):
            self.errlog.close()


COLUMN_CLASSES: dict[str, type[Column]] = {
    c.key: c for c in (RuncColumn, ConmonColumn, EngineColumn, CliColumn, PodmanColumn,
                       RestColumn)
}


# -- the run -------------------------------------------------------------------------------
class Bench:
    def __init__(self, keys: Sequence[str], iterations: int, warmup: int) -> None:
        self.keys = list(keys)
        self.iterations = iterations
        self.warmup = warmup
        self.cgroups_before = cgroup_dirs()
        self.top = Path(tempfile.mkdtemp(prefix="jcb"))  # short: conmon socket paths
        self.rootfs = self.top / "rootfs"
        self._store: PodmanStore | None = None
        self.columns = [COLUMN_CLASSES[k](self) for k in self.keys]

    def workdir(self, name: str) -> Path:
        path = self.top / name
        path.mkdir(mode=0o700)
        return path

    def podman_store(self) -> PodmanStore:
        if self._store is None:
            self._store = PodmanStore(self)
        return self._store

    def setup(self) -> None:
        build_rootfs(self.rootfs)
        for col in self.columns:
            log(f"setting up {col.key}")
            try:
                col.setup()
                col.status = "ok"
            except Skip as exc:
                col.status, col.note = "skipped", str(exc)
                log(f"{col.key}: skipped: {exc}")
            except Exception as exc:  # noqa: BLE001 - reported, the other columns go on
                self._fail(col, "setup", exc)

    def _fail(self, col: Column, phase: str, exc: BaseException) -> None:
        col.status = "failed"
        col.error = "".join(traceback.format_exception(exc))
        first = str(exc).splitlines()[0] if str(exc) else ""
        col.note = f"{phase} failed: {type(exc).__name__}: {first}"
        log(f"{col.key}: {phase} failed:\n{col.error}")

    def _one(self, col: Column, timed: bool, phase: str) -> None:
        try:
            t0 = time.perf_counter()
            col.cycle()
            dt = time.perf_counter() - t0
        except Exception as exc:  # noqa: BLE001 - reported, the other columns go on
            self._fail(col, phase, exc)
            return
        if timed:
            col.samples.append(dt * 1000)
        dirs = col.quiet_dirs()
        if dirs and not wait_quiet(dirs, col.quiet_exclude()):
            col.quiesce_timeouts += 1

    def measure(self) -> None:
        for rnd in range(self.warmup + self.iterations):
            active = [c for c in self.columns if c.status == "ok"]
            if not active:
                return
            k = rnd % len(active)
            timed = rnd >= self.warmup
            for col in active[k:] + active[:k]:
                self._one(col, timed, "cycle" if timed else "warm-up")
            if rnd == self.warmup - 1 or (timed and (rnd - self.warmup + 1) % 5 == 0):
                done = rnd - self.warmup + 1
                log("warm-up done" if not timed else f"{done}/{self.iterations} rounds")

    def teardown(self) -> None:
        for col in reversed(self.columns):
            try:
                col.teardown()
            except Exception as exc:  # noqa: BLE001 - cleanup goes on regardless
                log(f"cleanup: {col.key}: {exc!r}")
        if self._store is not None:
            try:
                self._store.teardown()
            except Exception as exc:  # noqa: BLE001
                log(f"cleanup: podman store: {exc!r}")
        kill_pids(pids_referencing([self.top]))
        rmtree(self.top)
        remove_new_cgroups(self.cgroups_before)

    # -- report --------------------------------------------------------------------------
    def stats(self, key: str) -> tuple[float, float] | None:
        col = next((c for c in self.columns if c.key == key), None)
        if col is None or col.status != "ok" or not col.samples:
            return None
        s = sorted(col.samples)
        return statistics.median(s), s[max(0, math.ceil(0.9 * len(s)) - 1)]

    def report(self) -> tuple[str, bool]:
        lines = [
            f"Lifecycle create -> start -> stop -t 0 -> rm, busybox `sleep 1000`: "
            f"{self.iterations} cycles per column after {self.warmup} warm-up, interleaved "
            f"({platform.node()}, kernel {platform.release()}, {os.cpu_count()} cpus)",
            "",
            "| column | median ms | p90 ms | n | note |",
            "|---|---:|---:|---:|---|",
        ]
        for col in self.columns:
            st = self.stats(col.key)
            note = col.note
            if col.quiesce_timeouts:
                note = f"{note}; {col.quiesce_timeouts} cycles left processes behind".lstrip("; ")
            if st is None:
                lines.append(f"| {col.title} | - | - | 0 | {col.status}: {note} |")
            else:
                lines.append(f"| {col.title} | {st[0]:.1f} | {st[1]:.1f} | "
                             f"{len(col.samples)} | {note} |")
        lines += ["", "| ratio (medians) | value | target | met |", "|---|---:|---:|---|"]
        all_met = True
        for num, den, target in TARGETS:
            a, b = self.stats(num), self.stats(den)
            name = f"{TITLES[num]} / {TITLES[den]}"
            if a is None or b is None:
                lines.append(f"| {name} | - | <= {target} | n/a |")
                continue
            ratio = a[0] / b[0]
            met = ratio <= target
            all_met &= met
            lines.append(f"| {name} | {ratio:.2f} | <= {target} | {'yes' if met else 'NO'} |")
        return "\n".join(lines), all_met


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="columns: " + ", ".join(
                                    f"{k} ({TITLES[k]})" for k in COLUMNS))
    p.add_argument("--iterations", "-n", type=int, default=20,
                   help="timed cycles per column (default 20)")
    p.add_argument("--warmup", type=int, default=3, help="untimed cycles first (default 3)")
    p.add_argument("--only", metavar="COLUMNS", default="",
                   help="comma-separated subset of: " + ",".join(COLUMNS))
    p.add_argument("--check", action="store_true",
                   help="exit 2 when a ratio misses its target")
    args = p.parse_args(argv)
    if args.iterations < 1 or args.warmup < 0:
        p.error("--iterations must be >= 1 and --warmup >= 0")
    keys = [k.strip() for k in args.only.split(",") if k.strip()] if args.only else list(COLUMNS)
    bad = [k for k in keys if k not in COLUMNS]
    if bad:
        p.error(f"unknown column(s) {', '.join(bad)}; choose from {', '.join(COLUMNS)}")
    args.keys = [k for k in COLUMNS if k in keys]
    return args


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run_guarded(setup: Callable[[], None], measure: Callable[[], None],
                teardown: Callable[[], None]) -> bool:
    """setup + measure, with teardown always run (also on Ctrl-C, SIGTERM, SIGHUP, which
    are ignored meanwhile). Returns True if interrupted. Shared by every bench/*.py."""
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGHUP, _raise_interrupt)
    interrupted = False
    try:
        setup()
        measure()
    except KeyboardInterrupt:
        interrupted = True
        log("interrupted: cleaning up")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        teardown()
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    return interrupted


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        log("needs root (runc, conmon, overlay mounts, rootful podman)")
        return 1
    bench = Bench(args.keys, args.iterations, args.warmup)
    if run_guarded(bench.setup, bench.measure, bench.teardown):
        return 130
    table, met = bench.report()
    print(table, flush=True)
    if any(c.status == "failed" for c in bench.columns):
        return 1
    return 2 if args.check and not met else 0


if __name__ == "__main__":
    sys.exit(main())
