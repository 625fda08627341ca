"""OCIRuntime: the thin interface to runc (or crun) and to conmon, the per-container monitor.

As in libpod's oci_conmon_linux.go, the container is created by conmon (which runs
``runc create`` and then stays as the container's parent: it reaps it, writes the exit file,
keeps the k8s-file log and serves the attach socket); every other verb is a direct runtime call.
"""

from __future__ import annotations

import json
import os
import re
import signal as signal_mod
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from . import procs
from .errors import CtrError, InvalidArgumentError, OCIRuntimeError, RuntimeMissingError
from .procinfo import alive

# typing is for type checkers only: importing it costs every CLI command ~2 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from typing import Any

    SyncReader = Callable[[int, float, str], dict[str, Any] | None]

#: How long conmon may take to report the container pid on its sync pipe.
CONMON_SYNC_TIMEOUT = 60.0
#: How long a CRIU dump may take (gigabytes of memory are written to disk).
CRIU_TIMEOUT = 600.0
#: How long conmon may take for each step of an exec session's launch handshake.
HANDSHAKE_TIMEOUT = 30.0

_RUNC_MSG_RE = re.compile(r'msg="((?:[^"\\]|\\.)*)"')


class CreateResult:
    """The container's init pid and its conmon's (a plain class: typing.NamedTuple costs
    each command ~1 ms to create at import)."""

    __slots__ = ("pid", "conmon_pid")

    def __init__(self, pid: int, conmon_pid: int) -> None:
        self.pid = pid
        self.conmon_pid = conmon_pid


def parse_signal(sig: str | int) -> int:
    """Turn ``"TERM"``, ``"SIGTERM"``, ``"15"`` or ``15`` into a signal number, or raise."""
    if isinstance(sig, bool) or not isinstance(sig, (int, str)) or (
            isinstance(sig, str) and not sig.isascii()):
        raise InvalidArgumentError(f"invalid signal: {sig!r} is not a signal name or number")
    if isinstance(sig, int) or sig.strip().isdigit():
        num = int(sig)
        valid = {int(s) for s in signal_mod.valid_signals()}
        if num in valid and num > 0:
            return num
        raise InvalidArgumentError(f"invalid signal: {sig!r} is not a valid signal number")
    name = sig.strip().upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    rt = None
    if name.startswith("SIGRTMIN") or name.startswith("SIGRTMAX"):
        base = signal_mod.SIGRTMIN if name.startswith("SIGRTMIN") else signal_mod.SIGRTMAX
        rest = name[8:]
        try:
            rt = base + int(rest) if rest else base
        except ValueError:
            rt = None
        if rt is not None and signal_mod.SIGRTMIN <= rt <= signal_mod.SIGRTMAX:
            return int(rt)
    try:
        return int(signal_mod.Signals[name])
    except KeyError:
        raise InvalidArgumentError(f"invalid signal: {sig!r} is not a known signal name") from None


class OCIRuntime:
    """runc/crun commands with the engine's own ``--root``, and conmon launches."""

    def __init__(self, runtime_path: str, conmon_path: str, state_dir: Path, exits_dir: Path,
                 socks_dir: Path, shortcuts: bool = False) -> None:
        # Names or paths, looked up on PATH at first use (RuntimeMissingError then): a command
        # that only reads state (ps, inspect) never needs the binaries.
        self._binaries = {"path": runtime_path, "conmon_path": conmon_path}
        self._resolved: dict[str, str] = {}
        self.name = Path(runtime_path).name
        self.state_dir = state_dir
        self.exits_dir = exits_dir
        self.socks_dir = socks_dir
        #: EngineSettings.runtime_shortcuts: do what runc does itself where that is simple.
        self.shortcuts = shortcuts

    @property
    def path(self) -> str:
        """The runtime's absolute path."""
        return self._binary("path")

    @property
    def conmon_path(self) -> str:
        """conmon's absolute path."""
        return self._binary("conmon_path")

    def _binary(self, key: str) -> str:
        if key not in self._resolved:
            self._resolved[key] = procs.find_binary(self._binaries[key])
        return self._resolved[key]

    def _argv(self, *args: str) -> list[str]:
        return [self.path, "--root", str(self.state_dir), *args]

    # -- create through conmon -------------------------------------------------------------
    def create(self, *, ctr_id: str, name: str, bundle: Path, log_path: Path, tty: bool,
               stdin: bool, exit_command: list[str],
               extra_env: dict[str, str] | None = None, restore_path: Path | None = None,
               runtime_args: Sequence[str] = (),
               runtime_opts: Sequence[str] = (),
               log_size_max: int | None = None) -> CreateResult:
        """Start conmon, which runs ``runc create``; returns once the container pid is known.

        With ``restore_path`` conmon runs ``runc restore --detach --image-path restore_path``
        instead (the container is running when this returns: no ``start`` follows).
        ``runtime_args`` go before runc's subcommand (``--criu PATH``), ``runtime_opts`` after
        it (``--work-path=DIR``, ``--tcp-established``). With ``log_size_max`` conmon replaces
        the log by an empty file before a write would make it larger.
        """
        argv = self._conmon_argv(
            ctr_id=ctr_id, uuid=ctr_id, name=name, directory=bundle, exit_dir=self.exits_dir,
            log=f"k8s-file:{log_path}", runtime_args=runtime_args)
        argv += ["--socket-dir-path", str(self.socks_dir)]
        if log_size_max:
            argv += ["--log-size-max", str(log_size_max)]
        if tty:
            argv.append("-t")
        if stdin:
            argv.append("-i")
            if tty:
                # A terminal outlives its viewers: detaching or a browser reload must not
                # close the shell's input. (Non-tty keeps podman's close-on-detach.)
                argv.append("--leave-stdin-open")
        if exit_command:
            argv += ["--exit-command", exit_command[0]]
            for arg in exit_command[1:]:
                argv += ["--exit-command-arg", arg]
        if restore_path is not None:
            argv += ["--restore", str(restore_path)]
        for opt in runtime_opts:
            argv += ["--runtime-opt", opt]
        sync_r, sync_w = os.pipe()
        env = dict(os.environ)
        env["_OCI_SYNCPIPE"] = str(sync_w)
        # The exit command (a Python process per container exit) should use cached bytecode.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(extra_env or {})
        try:
            try:
                # cwd: conmon writes files such as "oom" into its working directory.
                first = self._spawn_conmon(argv, (sync_w,), env, bundle)
            finally:
                os.close(sync_w)
            # The first conmon process forks the monitor and exits; its stderr closes with it
            # only if the monitor does not inherit it, so read stderr after the sync message.
            message = self._read_sync(sync_r)
            rc = first.wait(timeout=CONMON_SYNC_TIMEOUT)
        finally:
            os.close(sync_r)
        if first.stderr is not None:
            first.stderr.close()
        if message is None:
            raise OCIRuntimeError(f"conmon exited (code {rc}) without reporting the container "
                                  f"pid for {ctr_id}")
        pid = int(message.get("data", -1))
        if pid < 0:
            text = str(message.get("message", "")).strip()
            verb = "create" if restore_path is None else "restore"
            raise OCIRuntimeError(f"{self.name} {verb} failed for {ctr_id}: {text}")
        conmon_pid = self._read_pidfile(bundle / "conmon.pid")
        return CreateResult(pid=pid, conmon_pid=conmon_pid)

    # -- exec sessions through conmon ------------------------------------------------------
    def exec_launch(self, *, ctr_id: str, exec_id: str, name: str, session_dir: Path,
                    tty: bool, stdin: bool) -> ExecLaunch:
        """Start conmon in exec mode for the process spec ``<session_dir>/process.json``
        (``-e --exec-attach``: it runs ``runc exec --detach``, serves the attach socket in
        ``session_dir`` and writes the exit code to ``<session_dir>/exit/<ctr_id>``) and take
        the launch to the point where its attach socket listens. ``ExecLaunch.start()`` then
        lets it run the process."""
        argv = self._conmon_argv(ctr_id=ctr_id, uuid=exec_id, name=name, directory=session_dir,
                                 exit_dir=session_dir / "exit", log="none")
        if tty:
            argv.append("-t")
        if stdin:
            argv.append("-i")
        argv += ["-e", "--exec-attach", "--exec-process-spec", str(session_dir / "process.json")]
        launch = ExecLaunch(self._read_sync)
        try:
            launch.spawn(lambda fds, env: self._spawn_conmon(argv, fds, env, session_dir))
            launch.wait_attach_ready()
        except BaseException:
            launch.close()
            raise
        return launch

    def exec_error(self, ctr_id: str, ctr_name: str, message: str) -> CtrError:
        """runc's complaint about an exec that never ran, as libpod classifies it: a missing
        command (or working directory) is RuntimeMissingError, anything else OCIRuntimeError."""
        found = _RUNC_MSG_RE.search(message)
        text = found.group(1).replace('\\"', '"').replace("\\\\", "\\") if found else message
        text = text.strip() or "unknown error"
        full = f"{self.name} exec in container {ctr_id[:12]} ({ctr_name}) failed: {text}"
        low = text.lower()
        if "not found" in low or "no such file" in low or "executable path is empty" in low:
            return RuntimeMissingError(full)
        return OCIRuntimeError(full)

    # -- what container and exec launches share ---------------------------------------------
    def _conmon_argv(self, *, ctr_id: str, uuid: str, name: str, directory: Path,
                     exit_dir: Path, log: str, runtime_args: Sequence[str] = ()) -> list[str]:
        """conmon's arguments for a container (``uuid`` its id) or an exec session (``uuid``
        the session's id): ``directory`` holds the pid files, persist dir and attach socket."""
        extra_args: list[str] = []
        for arg in runtime_args:
            extra_args += ["--runtime-arg", arg]
        return [
            self.conmon_path, "--api-version", "1", "-c", ctr_id, "-u", uuid,
            "-r", self.path, "--runtime-arg", "--root", "--runtime-arg", str(self.state_dir),
            *extra_args, "-b", str(directory), "-p", str(directory / "pidfile"), "-n", name,
            "--exit-dir", str(exit_dir), "--persist-dir", str(directory / "persist"),
            "-l", log, "--log-level", "error", "--conmon-pidfile", str(directory / "conmon.pid"),
            "--full-attach",
        ]

    def _spawn_conmon(self, argv: list[str], fds: tuple[int, ...], env: dict[str, str],
                      cwd: Path) -> subprocess.Popen[bytes]:
        """Run conmon's first process (it forks the monitor and exits), its stderr a pipe."""
        procs.log.debug("exec %s", " ".join(argv))
        import subprocess  # noqa: PLC0415 - lazy: CLI start-up (commands that start nothing)

        try:
            return subprocess.Popen(argv, pass_fds=fds, env=env, cwd=cwd,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, start_new_session=True)
        except FileNotFoundError as exc:
            raise RuntimeMissingError(f"cannot run conmon at {argv[0]}") from exc

    @staticmethod
    def _read_sync(fd: int, timeout: float = CONMON_SYNC_TIMEOUT,
                   what: str = "the container pid") -> dict[str, Any] | None:
        """One JSON line from a conmon pipe; None at EOF. Also the reader of exec sessions'
        sync and attach pipes (ExecLaunch). OCIRuntimeError after ``timeout`` seconds."""
        import select  # noqa: PLC0415 - lazy: CLI start-up (commands that start nothing)

        buf = b""
        deadline = time.monotonic() + timeout
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise OCIRuntimeError(f"timed out waiting for conmon to report {what}")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            buf += chunk
        line = buf.split(b"\n", 1)[0].strip()
        if not line:
            return None
        try:
            msg: dict[str, Any] = json.loads(line)
        except ValueError as exc:
            raise OCIRuntimeError(f"conmon sent an unreadable sync message: {line!r}") from exc
        return msg

    @staticmethod
    def _read_pidfile(path: Path) -> int:
        for _ in range(200):
            try:
                text = path.read_text().strip()
                if text:
                    return int(text)
            except FileNotFoundError:
                pass
            time.sleep(0.005)
        return 0

    # -- direct runtime verbs ---------------------------------------------------------------
    def start(self, ctr_id: str) -> None:
        """``runc start``; with ``shortcuts``, what it does itself: one Go process start
        less for every container start (see ``_start_by_exec_fifo``)."""
        if self.shortcuts and self._start_by_exec_fifo(ctr_id):
            return
        procs.run(self._argv("start", ctr_id))

    def _start_by_exec_fifo(self, ctr_id: str) -> bool:
        """Start a created runc container as ``runc start`` does: ``runc init`` waits to open
        ``<state>/<id>/exec.fifo`` for writing, writes one byte, then execs the container's
        process; the starter opens the FIFO, reads that byte and removes the FIFO (runc then
        reports the container running). False, with nothing done, when the layout is not
        runc's or its init is gone: the runtime itself then starts it or says why not."""
        cdir = self.state_dir / ctr_id
        fifo = cdir / "exec.fifo"
        try:
            with open(cdir / "state.json", "rb") as fh:
                pid = int(json.load(fh)["init_process_pid"])
            if not fifo.is_fifo() or pid <= 0:
                return False
            fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except (OSError, ValueError, KeyError, TypeError):
            return False
        import select  # noqa: PLC0415 - lazy: CLI start-up (commands that start nothing)

        try:
            while True:
                ready, _, _ = select.select([fd], [], [], 0.1)
                if ready:
                    data = os.read(fd, 16)
                    break
                if not alive(pid):  # as runc: a dead init will never write
                    return False
        finally:
            os.close(fd)
        if not data:
            return False  # the writer closed without a byte: let runc say what happened
        fifo.unlink()
        _wait_exec(pid)
        return True

    def kill(self, ctr_id: str, signal: int, all_procs: bool = False) -> None:
        args = ["kill"] + (["--all"] if all_procs else []) + [ctr_id, str(signal)]
        procs.run(self._argv(*args))

    def delete(self, ctr_id: str, force: bool = False) -> None:
        args = ["delete"] + (["--force"] if force else []) + [ctr_id]
        proc = procs.run(self._argv(*args), check=False)
        if proc.returncode != 0:
            err = proc.stderr.decode(errors="replace")
            if "does not exist" in err or "not exist" in err:
                return
            raise OCIRuntimeError(f"{self.name} delete {ctr_id} failed: {err.strip()}")

    def state(self, ctr_id: str) -> dict[str, Any] | None:
        """runc's view of the container, or None if the runtime does not know it."""
        proc = procs.run(self._argv("state", ctr_id), check=False)
        if proc.returncode != 0:
            return None
        data: dict[str, Any] = json.loads(proc.stdout)
        return data

    def pause(self, ctr_id: str) -> None:
        procs.run(self._argv("pause", ctr_id))

    def resume(self, ctr_id: str) -> None:
        procs.run(self._argv("resume", ctr_id))

    def exit_file(self, ctr_id: str) -> Path:
        return self.exits_dir / ctr_id

    def checkpoint(self, ctr_id: str, image_path: Path, work_path: Path, *,
                   runtime_args: Sequence[str] = (), leave_running: bool = False,
                   tcp_established: bool = False, file_locks: bool = False) -> float:
        """``runc checkpoint``: CRIU's images in ``image_path``, dump.log and stats-dump in
        ``work_path``; ``runtime_args`` before the subcommand (``--criu PATH``). Returns the
        seconds the runtime took."""
        args = [*runtime_args, "checkpoint", "--image-path", str(image_path),
                "--work-path", str(work_path)]
        if leave_running:
            args.append("--leave-running")
        if tcp_established:
            args.append("--tcp-established")
        if file_locks:
            args.append("--file-locks")
        started = time.monotonic()
        procs.run(self._argv(*args, ctr_id), timeout=CRIU_TIMEOUT)
        return time.monotonic() - started

    def criu_args(self, criu: str) -> list[str]:
        """The global arguments that make the runtime use ``criu``: runc's ``--criu PATH`` (it
        would take the first ``criu`` on PATH); crun links libcriu and has no such flag."""
        return ["--criu", criu] if self.name.startswith("runc") else []

    def has_option(self, verb: str, option: str) -> bool:
        """Whether ``<runtime> <verb> --help`` lists ``option`` (runc 1.1.5's restore has no
        ``--tcp-close``); asked once per runtime binary and process."""
        key = (self.path, verb, option)
        if key not in _HELP_OPTIONS:
            proc = procs.run([self.path, verb, "--help"], check=False)
            _HELP_OPTIONS[key] = option.encode() in proc.stdout + proc.stderr
        return _HELP_OPTIONS[key]


#: OCIRuntime.has_option's answers: (runtime path, verb, option) -> listed.
_HELP_OPTIONS: dict[tuple[str, str, str], bool] = {}


#: How long a start waits for the container's init to exec the container's process.
EXEC_WAIT = 1.0


def _wait_exec(pid: int) -> None:
    """Wait (briefly) until runc's init has exec'd the container's process, or is gone.

    The byte on the exec FIFO comes just before that exec: without this wait a verb that
    follows at once (a stop, a kill, stats) could meet ``runc init`` instead of the
    container's process: its signal handlers (a ``trap``) not yet set up, its threads counted
    as the container's pids. ``runc start`` leaves the same window open, only shorter.
    """
    deadline = time.monotonic() + EXEC_WAIT
    delay = 0.0001
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/comm", "rb") as fh:
                if not fh.read().startswith(b"runc:["):
                    return
        except OSError:
            return  # gone: the exec failed, the exit file will say so
        time.sleep(delay)
        delay = min(delay * 2, 0.002)


class ExecLaunch:
    """The pipes of one conmon in exec mode (OCIRuntime.exec_launch): libpod's three-pipe
    handshake. One byte on the start pipe lets conmon fork (the moment libpod moves it into a
    cgroup); conmon answers on the attach pipe once its socket listens; a second start byte
    lets it run ``runc exec``; the sync pipe then carries the pid (or ``-1`` and runc's
    error) and, after the process ended, its exit code."""

    def __init__(self, read_sync: SyncReader) -> None:
        self._read_sync = read_sync
        self._fds: dict[str, int] = {}
        self._first: subprocess.Popen[bytes] | None = None

    def spawn(self, popen: Callable[[tuple[int, ...], dict[str, str]],
                                    subprocess.Popen[bytes]]) -> None:
        """Make the pipes and run ``popen(fds to pass, environment)`` (conmon's first
        process)."""
        sync_r, sync_w = os.pipe()
        start_r, start_w = os.pipe()
        attach_r, attach_w = os.pipe()
        self._fds = {"sync": sync_r, "start": start_w, "attach": attach_r}
        env = dict(os.environ)
        env.update(_OCI_SYNCPIPE=str(sync_w), _OCI_STARTPIPE=str(start_r),
                   _OCI_ATTACHPIPE=str(attach_w))
        try:
            self._first = popen((sync_w, start_r, attach_w), env)
        finally:
            for fd in (sync_w, start_r, attach_w):
                os.close(fd)

    def wait_attach_ready(self) -> None:
        """Let conmon fork, then wait until its attach socket listens."""
        os.write(self._fds["start"], b"0")
        assert self._first is not None
        import subprocess  # noqa: PLC0415 - lazy: CLI start-up (commands that start nothing)

        try:
            rc = self._first.wait(timeout=HANDSHAKE_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._first.kill()
            self._first.wait()
            raise OCIRuntimeError("conmon did not fork in time") from None
        msg = self._read_sync(self._fds["attach"], HANDSHAKE_TIMEOUT,
                              "that its attach socket is ready")
        if msg is None:
            raise OCIRuntimeError(f"conmon exited (code {rc}) before its attach socket was "
                                  f"ready: {self._first_stderr() or 'no message'}")

    def start(self) -> tuple[int, str]:
        """Let conmon run ``runc exec``; returns (pid, '') or (-1, runc's error)."""
        self._close("start", b"0")
        msg = self._read_sync(self._fds["sync"], HANDSHAKE_TIMEOUT, "the exec pid")
        if msg is None:
            raise OCIRuntimeError("conmon exited without reporting the exec pid: "
                                  f"{self._first_stderr() or 'no message'}")
        pid = int(msg.get("data", -1))
        return (pid, "") if pid > 0 else (-1, str(msg.get("message") or ""))

    def read_exit_code(self) -> int | None:
        """conmon's last word on the sync pipe (exec mode): the exit code, None if it died."""
        fd = self._fds.get("sync")
        if fd is None:
            return None
        try:
            msg = self._read_sync(fd, HANDSHAKE_TIMEOUT, "the exit code")
        except CtrError:
            return None
        if msg is None or msg.get("message"):
            return None  # a timeout message, or nothing: let the exit file tell
        return int(msg.get("data", -1))

    def _first_stderr(self) -> str:
        if self._first is None or self._first.stderr is None:
            return ""
        fd = self._first.stderr.fileno()
        os.set_blocking(fd, False)
        try:
            return os.read(fd, 65536).decode(errors="replace").strip()
        except (BlockingIOError, OSError):
            return ""

    def _close(self, name: str, write: bytes = b"") -> None:
        fd = self._fds.pop(name, None)
        if fd is not None:
            try:
                if write:
                    os.write(fd, write)
            finally:
                os.close(fd)

    def close(self) -> None:
        """Close the pipes; reap conmon's first process (killed if it still runs)."""
        for name in list(self._fds):
            self._close(name)
        if self._first is not None:
            if self._first.poll() is None:
                self._first.kill()
                self._first.wait()
            if self._first.stderr is not None:
                self._first.stderr.close()
            self._first = None
