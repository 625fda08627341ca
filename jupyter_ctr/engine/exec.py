"""Exec sessions: more processes in a running container (libpod's container_exec.go).

A session is a row in the state store (``exec_sessions``) and, while it lives, a directory
``<run_root>/exec/<exec id>/`` with its process spec, runc's pidfile, conmon's pidfile, exit
and persist dirs, the attach socket and the ctl/winsz FIFOs. conmon runs in exec mode
(``-e --exec-attach --exec-process-spec``): it runs ``runc exec --detach``, serves the attach
socket (``--full-attach`` puts it in the session dir) and writes the exit code to
``exit/<container id>`` and, once more, to its sync pipe.

The launch is libpod's three-pipe handshake: one byte on the start pipe lets conmon fork (the
moment libpod moves it into a cgroup); conmon answers on the attach pipe once its socket
listens; a second start byte lets it run ``runc exec``; the sync pipe then carries the pid
(or ``-1`` and runc's error), and for exec the exit code after the process ends.

Locking: session state changes happen under the container's lock, as in libpod, and the lock
is released while a caller is attached. A session that exits while nobody watches is noticed
by the next call that syncs it (list, inspect, wait, remove); its directory goes then, its exit
code stays in the row (and in ``exit_codes`` once the row is removed).
"""

from __future__ import annotations

import contextlib
import copy
import enum
import io
import json
import os
import re
import secrets
import shlex
import shutil
import signal as signal_mod
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from . import procinfo, procs
from .attach import (
    DEFAULT_DETACH_KEYS,
    AttachConnection,
    attach_streams,
    check_tty_size,
    parse_detach_keys,
    resize_tty,
)
from .errors import (
    ContainerRemovedError,
    ContainerStateInvalidError,
    CtrError,
    ExecSessionStateInvalidError,
    InvalidArgumentError,
    NoSuchContainerError,
    NoSuchExecSessionError,
    OCIRuntimeError,
    RuntimeMissingError,
    TimeoutCtrError,
)
from .oci import OCIRuntime
from .spec import resolve_user
from .state import ContainerState
from .timeutil import rfc3339_ns

if TYPE_CHECKING:
    from .container import Container
    from .runtime import Runtime

#: How long conmon may take for each step of the launch handshake.
HANDSHAKE_TIMEOUT = 30.0
#: How long a killed session's conmon gets to write its exit file before it is killed too.
KILL_GRACE = 5.0
#: Poll interval while waiting for a session's exit file.
EXIT_POLL = 0.005

_ID_RE = re.compile(r"^[0-9a-f]{64}$")
_RUNC_MSG_RE = re.compile(r'msg="((?:[^"\\]|\\.)*)"')

# libpod's exit codes for an exec that never ran (define/exec_codes.go).
EXIT_GENERIC, EXIT_CANNOT_INVOKE, EXIT_NOT_FOUND = 125, 126, 127


class ExecState(enum.Enum):
    """libpod's exec session states (define.ContainerExecStatus)."""

    CREATED = "created"
    RUNNING = "running"
    STOPPED = "stopped"

    def __str__(self) -> str:
        return str(self.value)


Input = bytes | str | IO[bytes] | None
Output = IO[bytes] | IO[str] | None


def _new_state() -> dict[str, Any]:
    return {"state": ExecState.CREATED.value, "pid": 0, "conmon_pid": 0, "exit_code": None,
            "started_at": 0, "finished_at": 0, "error": ""}


# -- module functions the Container wires in -----------------------------------------------------
def create_exec(ctr: Container, command: Sequence[str] | str, *, tty: bool = False,
                stdin: bool = False, env: Mapping[str, str] | Sequence[str] | None = None,
                user: str | None = None, workdir: str | None = None,
                detach_keys: str | None = None) -> ExecSession:
    """Create (not start) an exec session. The container must be RUNNING (not paused).

    ``user`` defaults to the container's user, ``workdir`` to its working directory; ``env``
    adds to (and overrides) the container's environment.
    Raises InvalidArgumentError, ContainerStateInvalidError.
    """
    args = _parse_command(command)
    extra_env = _parse_env(env)
    if workdir is not None and (not isinstance(workdir, str) or not workdir.startswith("/")
                                or "\0" in workdir):
        raise InvalidArgumentError(f"exec working directory {workdir!r} must be an absolute path")
    if detach_keys is not None:
        parse_detach_keys(detach_keys)
    if user:
        uid, gid, _ = resolve_user(Path(ctr.config.image_rootfs), user)
    else:
        uid, gid = int(ctr.config.uid), int(ctr.config.gid)
    exec_id = secrets.token_hex(32)
    config: dict[str, Any] = {
        "command": args, "tty": bool(tty), "stdin": bool(stdin), "env": extra_env,
        "user": user or "", "uid": uid, "gid": gid,
        "workdir": workdir, "detach_keys": detach_keys, "created": time.time_ns(),
    }
    state = _new_state()
    try:
        with ctr._lock_and_sync():
            _require_running(ctr, "can only create exec sessions on running containers")
            ctr._rt.store.add_exec_session(exec_id, ctr.id, config, state)
    except NoSuchContainerError as exc:
        raise ContainerRemovedError(f"container {ctr.id} has already been removed") from exc
    return ExecSession(ctr, exec_id, config, state)


def list_exec(ctr: Container) -> list[ExecSession]:
    """The container's live (created or running) exec sessions, each synced."""
    with ctr._lock_and_sync():
        return live_exec_sessions(ctr)


def live_exec_sessions(ctr: Container) -> list[ExecSession]:
    """``list_exec`` for a caller that already holds the container lock (inspect, unmount)."""
    out = []
    for exec_id, config, state in ctr._rt.store.container_exec_sessions(ctr.id):
        session = ExecSession(ctr, exec_id, config, state)
        session._sync_locked()
        if session._state["state"] != ExecState.STOPPED.value:
            out.append(session)
    return out


def get_exec(rt: Runtime, exec_id: str) -> ExecSession:
    """Look an exec session up by its full ID. Raises NoSuchExecSessionError."""
    if not isinstance(exec_id, str) or not _ID_RE.match(exec_id):
        raise NoSuchExecSessionError(f"no exec session with ID {exec_id!r} found")
    ctr_id, config, state = rt.store.exec_session(exec_id)
    try:
        ctr = rt.lookup_container(ctr_id)
    except NoSuchContainerError:
        raise NoSuchExecSessionError(f"no exec session with ID {exec_id} found: its container "
                                     f"{ctr_id[:12]} is gone") from None
    return ExecSession(ctr, exec_id, config, state)


def cleanup_exec_sessions(ctr: Container) -> None:
    """Kill the container's running sessions, drop their directories and rows.

    For stop, cleanup and remove: the caller holds the container lock (this never takes it).
    Exit codes stay readable through ``store.exit_code(exec_id)``. Also sweeps session
    directories whose rows are already gone (container rows cascade to their sessions).
    """
    rt = ctr._rt
    paused = ctr._record.state is ContainerState.PAUSED
    for exec_id, config, state in rt.store.container_exec_sessions(ctr.id):
        session = ExecSession(ctr, exec_id, config, state)
        if state["state"] == ExecState.RUNNING.value:
            session._sync_locked()
            if session._state["state"] == ExecState.RUNNING.value:
                session._finish(session._kill(grace=0 if paused else KILL_GRACE))
        session._forget()
    root = _exec_root(rt)
    with contextlib.suppress(FileNotFoundError):
        for d in root.iterdir():
            if _read_text(d / "container") == ctr.id:
                _kill_conmon(procinfo.read_int(d / "conmon.pid"), d.name)
                shutil.rmtree(d, ignore_errors=True)


# -- the session --------------------------------------------------------------------------------
class ExecSession:
    """A handle on one exec session. Cheap; every verb re-reads the stored state."""

    def __init__(self, ctr: Container, exec_id: str, config: dict[str, Any],
                 state: dict[str, Any]) -> None:
        self._ctr = ctr
        self._rt = ctr._rt
        self._id = exec_id
        self.config = config
        self._state = state

    # -- identity -------------------------------------------------------------------------
    @property
    def id(self) -> str:
        return self._id

    @property
    def container(self) -> Container:
        return self._ctr

    @property
    def container_id(self) -> str:
        return self._ctr.id

    @property
    def command(self) -> list[str]:
        return list(self.config["command"])

    @property
    def state(self) -> ExecState:
        """The state as last synced (``inspect()`` or ``wait()`` give a fresh reading)."""
        return ExecState(self._state["state"])

    @property
    def pid(self) -> int:
        return int(self._state.get("pid") or 0)

    @property
    def exit_code(self) -> int | None:
        code = self._state.get("exit_code")
        return None if code is None else int(code)

    @property
    def dir(self) -> Path:
        return _exec_root(self._rt) / self._id

    def __repr__(self) -> str:
        return f"<ExecSession {self._id[:12]} in {self._ctr.id[:12]} {self._state['state']}>"

    # -- locking and syncing ----------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the container lock, with this session re-read and synced from its exit file."""
        try:
            with self._ctr._lock_and_sync():
                self._sync_locked()
                yield
        except ContainerRemovedError:
            raise NoSuchExecSessionError(
                f"no exec session {self._id[:12]}: container {self._ctr.id[:12]} has been "
                "removed") from None

    def _load(self) -> None:
        _, self.config, self._state = self._rt.store.exec_session(self._id)

    def _save(self) -> None:
        self._rt.store.save_exec_state(self._id, self._state)

    def _sync_locked(self) -> None:
        """Re-read the row; a running session whose conmon finished becomes STOPPED."""
        self._load()
        if self._state["state"] != ExecState.RUNNING.value:
            return
        code = self._read_exit_file()
        if code is not None:
            self._finish(code)
        elif not procinfo.alive(int(self._state.get("conmon_pid") or 0)):
            code = self._read_exit_file()  # it may have written the file and exited since
            if code is None:
                # conmon was killed: nobody watches the process any more, so end it.
                self._kill_process()
                code = -1
            self._finish(code)

    def _read_exit_file(self) -> int | None:
        try:
            text = (self.dir / "exit" / self._ctr.id).read_text().strip()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not text:
            return None  # conmon is still writing it
        try:
            return int(text)
        except ValueError:
            return -1

    def _finish(self, code: int) -> None:
        """RUNNING -> STOPPED with ``code``: save, drop the directory, record exec_died."""
        self._state.update(state=ExecState.STOPPED.value, exit_code=code, pid=0, conmon_pid=0,
                           finished_at=time.time_ns())
        self._save()
        shutil.rmtree(self.dir, ignore_errors=True)
        _event(self._ctr, "exec_died", execID=self._id, exitCode=str(code))

    def _forget(self) -> None:
        """Drop the row and the directory; the exit code (if any) outlives them."""
        code = self._state.get("exit_code")
        if code is not None:
            self._rt.store.set_exit_code(self._id, int(code))
        shutil.rmtree(self.dir, ignore_errors=True)
        self._rt.store.remove_exec_session(self._id)

    def _err_state(self, msg: str) -> ExecSessionStateInvalidError:
        return ExecSessionStateInvalidError(
            f"{msg}; exec session {self._id[:12]} of container {self._ctr.id[:12]} "
            f"({self._ctr.name}) is {self._state['state']}")

    def _check_startable(self) -> None:
        _require_running(self._ctr, "can only start exec sessions when their container is "
                                    "running")
        if self._state["state"] != ExecState.CREATED.value:
            raise self._err_state("can only start created exec sessions")

    # -- start ------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the session without attaching: CREATED -> RUNNING (container RUNNING).

        Raises ContainerStateInvalidError, ExecSessionStateInvalidError, RuntimeMissingError
        (command not found; the session is then STOPPED with exit code 127) or OCIRuntimeError.
        """
        with self._locked():
            self._check_startable()
            launch = self._launch(connect=False, tty_size=None)
            launch.close()

    def start_and_attach(self, stdin: Input = None, stdout: Output = None,
                         stderr: Output = None, *, detach_keys: str | None = None,
                         tty_size: tuple[int, int] | None = None) -> int | None:
        """Start the session and stream its stdio until it exits; returns its exit code.

        ``stdin`` is bytes or a binary stream (EOF closes the process's stdin); ``stdout`` and
        ``stderr`` are streams to write to (a tty session writes everything to ``stdout``).
        ``tty_size`` is the (height, width) the tty has from the start. Returns None if the
        caller detached with ``detach_keys`` (default the session's, else ctrl-p,ctrl-q):
        the session keeps running, but conmon closes its stdin (as with podman; a tty keeps
        its terminal). The container lock is not held while attached.
        """
        keys = self._detach_bytes(detach_keys)
        self._check_stdin(stdin)
        return self._stream_io(self.open_stream(start=True, tty_size=tty_size), stdin, stdout,
                               stderr, keys)

    def attach(self, stdin: Input = None, stdout: Output = None, stderr: Output = None, *,
               detach_keys: str | None = None) -> int | None:
        """Attach to a RUNNING session (one started with ``start()``) until it exits.

        Output written before the attach is not replayed. Returns the exit code, or None if
        the caller detached. Raises ExecSessionStateInvalidError unless RUNNING.
        """
        keys = self._detach_bytes(detach_keys)
        self._check_stdin(stdin)
        return self._stream_io(self.open_stream(start=False), stdin, stdout, stderr, keys)

    def _stream_io(self, stream: ExecStream, stdin: Input, stdout: Output, stderr: Output,
                   keys: bytes) -> int | None:
        """Copy stdio until the output ends (the exit code) or the caller detaches (None)."""
        try:
            if stream.conn is not None and _attach_io(stream.conn, stdin, stdout, stderr, keys):
                return None
            return stream.finish()
        finally:
            stream.close()

    def open_stream(self, *, start: bool, tty_size: tuple[int, int] | None = None
                    ) -> ExecStream:
        """The session's stdio for a caller with its own event loop (the server): ``start``
        a CREATED session (``tty_size`` as in ``start_and_attach``), or connect to a RUNNING
        one. The caller reads and writes ``ExecStream.conn`` (conmon's attach socket) and
        handles detach keys itself; after the output ended, ``finish()`` gives the code."""
        if tty_size is not None:
            check_tty_size(*tty_size)
        with self._locked():
            if start:
                self._check_startable()
                launch = self._launch(connect=True, tty_size=tty_size)
                return ExecStream(self, launch.conn, launch)
            if self._state["state"] != ExecState.RUNNING.value:
                raise self._err_state("can only attach to running exec sessions")
            try:
                return ExecStream(self, AttachConnection.connect(self.dir), None)
            except OCIRuntimeError:
                return ExecStream(self, None, None)  # it exited between the sync and here

    def _detach_bytes(self, detach_keys: str | None) -> bytes:
        if detach_keys is None:
            detach_keys = self.config.get("detach_keys")
            if detach_keys is None:
                detach_keys = DEFAULT_DETACH_KEYS
        return parse_detach_keys(detach_keys)

    def _check_stdin(self, stdin: Input) -> None:
        if stdin is not None and not self.config["stdin"]:
            raise InvalidArgumentError(
                f"exec session {self._id[:12]} was created without stdin: it cannot take input")

    def _launch(self, *, connect: bool, tty_size: tuple[int, int] | None) -> _Launch:
        """Run conmon in exec mode through the handshake; the session is RUNNING after it."""
        d = self.dir
        shutil.rmtree(d, ignore_errors=True)  # a crashed earlier start may have left it
        launch = _Launch()
        try:
            d.parent.mkdir(mode=0o700, exist_ok=True)
            d.mkdir(mode=0o700)
            (d / "exit").mkdir(mode=0o700)
            (d / "persist").mkdir(mode=0o700)
            (d / "container").write_text(self._ctr.id)  # for the sweep in cleanup_exec_sessions
            (d / "process.json").write_text(json.dumps(self._process_spec(tty_size)))
            launch.spawn(self._conmon_argv(), cwd=d)
            launch.handshake_attach()
            if connect:
                launch.conn = AttachConnection.connect(d)
            pid, error = launch.handshake_start()
            conmon_pid = procinfo.read_int(d / "conmon.pid")
        except CtrError as exc:
            launch.close()
            self._abort(EXIT_GENERIC, str(exc))
            raise
        except OSError as exc:
            launch.close()
            self._abort(EXIT_GENERIC, str(exc))
            raise OCIRuntimeError(f"starting exec session {self._id[:12]} in container "
                                  f"{self._ctr.id[:12]}: {exc}") from exc
        if pid < 0:
            launch.close()
            err = _runtime_error(self._rt.oci.name, self._ctr, error)
            code = EXIT_NOT_FOUND if isinstance(err, RuntimeMissingError) else EXIT_CANNOT_INVOKE
            self._abort(code, str(err))
            raise err
        self._state.update(state=ExecState.RUNNING.value, pid=pid, conmon_pid=conmon_pid,
                           started_at=time.time_ns(), error="")
        self._save()
        _event(self._ctr, "exec", execID=self._id)
        return launch

    def _abort(self, code: int, error: str) -> None:
        """A start that failed: no conmon, no directory; the session is STOPPED with ``code``."""
        _kill_conmon(procinfo.read_int(self.dir / "conmon.pid"), self._id, grace=1.0)
        shutil.rmtree(self.dir, ignore_errors=True)
        self._state.update(state=ExecState.STOPPED.value, exit_code=code, pid=0, conmon_pid=0,
                           finished_at=time.time_ns(), error=error)
        with contextlib.suppress(NoSuchExecSessionError):
            self._save()

    def _conmon_argv(self) -> list[str]:
        oci, d, cfg = self._rt.oci, self.dir, self.config
        argv = [
            oci.conmon_path, "--api-version", "1", "-c", self._ctr.id, "-u", self._id,
            "-r", oci.path, "--runtime-arg", "--root", "--runtime-arg", str(oci.state_dir),
            "-b", str(d), "-p", str(d / "pidfile"), "-n", self._ctr.name,
            "--exit-dir", str(d / "exit"), "--persist-dir", str(d / "persist"),
            "--full-attach", "-l", "none", "--log-level", "error",
            "--conmon-pidfile", str(d / "conmon.pid"),
        ]
        if cfg["tty"]:
            argv.append("-t")
        if cfg["stdin"]:
            argv.append("-i")
        return argv + ["-e", "--exec-attach", "--exec-process-spec", str(d / "process.json")]

    def _process_spec(self, tty_size: tuple[int, int] | None = None) -> dict[str, Any]:
        """The container's OCI process with this session's args, env, cwd, user and tty.

        ``tty_size`` goes into ``consoleSize``: runc sizes the pty before the process runs
        (a resize through conmon's ctl FIFO could arrive after the process looked).
        """
        bundle_cfg = self._rt.bundle_dir(self._ctr.id) / "config.json"
        try:
            ctr_proc: dict[str, Any] = json.loads(bundle_cfg.read_text())["process"]
        except (OSError, ValueError, KeyError) as exc:
            raise OCIRuntimeError(f"cannot read the OCI spec of container {self._ctr.id[:12]}: "
                                  f"{exc}") from exc
        cfg = self.config
        proc = copy.deepcopy(ctr_proc)
        proc.pop("consoleSize", None)
        proc["args"] = list(cfg["command"])
        proc["terminal"] = bool(cfg["tty"])
        if cfg["tty"] and tty_size is not None:
            proc["consoleSize"] = {"height": tty_size[0], "width": tty_size[1]}
        env = _env_dict(proc.get("env") or [])
        env.update(_env_dict(cfg["env"]))
        uid, gid = int(cfg["uid"]), int(cfg["gid"])
        if cfg["tty"]:
            env.setdefault("TERM", "xterm")
        env.setdefault("HOME", _home_dir(Path(self._ctr.config.image_rootfs), uid))
        proc["env"] = [f"{k}={v}" for k, v in env.items()]
        if cfg.get("workdir"):
            proc["cwd"] = cfg["workdir"]
        proc["user"] = {"uid": uid, "gid": gid, "additionalGids": [gid]}
        # Capabilities as libpod sets them for exec: root gets the bounding set, the
        # container's own user keeps the container's, any other user gets none.
        caps = proc.setdefault("capabilities", {})
        bounding = list(caps.get("bounding") or [])
        caps["inheritable"] = []
        if uid == 0:
            caps["effective"] = caps["permitted"] = bounding
        elif uid != int(self._ctr.config.uid):
            caps["effective"] = caps["permitted"] = caps["ambient"] = []
        return proc

    def _collect(self, code: int | None) -> int:
        """After the attached process ended: record its exit code, return it."""
        if code is None:
            return self.wait()
        try:
            with self._locked():
                if self._state["state"] == ExecState.RUNNING.value:
                    self._finish(code)
                elif self._state.get("exit_code") is not None:
                    return int(self._state["exit_code"])
        except NoSuchExecSessionError:
            pass  # removed meanwhile (container stopped or removed): the code is still ours
        return code

    # -- the running session ------------------------------------------------------------------
    def resize(self, height: int, width: int) -> None:
        """Resize a tty session's terminal. Raises ExecSessionStateInvalidError unless it is a
        RUNNING tty session."""
        check_tty_size(height, width)
        with self._locked():
            if not self.config["tty"]:
                raise self._err_state("cannot resize: exec session has no tty")
            if self._state["state"] != ExecState.RUNNING.value:
                raise self._err_state("cannot resize an exec session that is not running")
            try:
                resize_tty(self.dir, height, width)
            except OCIRuntimeError as exc:
                raise self._err_state(str(exc)) from exc

    def wait(self, timeout: float | None = None) -> int:
        """Block until the session has exited; returns its exit code (also after removal).

        Raises TimeoutCtrError after ``timeout`` seconds, NoSuchExecSessionError if the session
        was removed without a known exit code.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                with self._locked():
                    state = self._state["state"]
                    if state == ExecState.STOPPED.value:
                        code = self._state.get("exit_code")
                        return -1 if code is None else int(code)
                    conmon = int(self._state.get("conmon_pid") or 0)
            except NoSuchExecSessionError:
                code = self._rt.store.exit_code(self._id)
                if code is None:
                    raise
                return code
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutCtrError(f"timed out waiting for exec session {self._id[:12]} "
                                      f"of container {self._ctr.id[:12]} to exit")
            step = 0.25 if left is None else min(0.25, left)
            if state == ExecState.CREATED.value:
                time.sleep(step)  # not started yet: nothing to watch but the row
                continue
            exit_file = self.dir / "exit" / self._ctr.id
            end = time.monotonic() + step
            while time.monotonic() < end and not exit_file.exists() and procinfo.alive(conmon):
                time.sleep(EXIT_POLL)

    def inspect(self) -> dict[str, Any]:
        """A dict shaped like ``podman exec inspect`` (libpod's InspectExecSession)."""
        with self._locked():
            cfg, st = self.config, self._state
            state = st["state"]
            code = st.get("exit_code")
            return {
                "ID": self._id,
                "ContainerID": self._ctr.id,
                "Running": state == ExecState.RUNNING.value,
                "ExitCode": int(code) if code is not None else 0,
                "Pid": int(st.get("pid") or 0),
                "ProcessConfig": {
                    "entrypoint": cfg["command"][0],
                    "arguments": list(cfg["command"][1:]),
                    "tty": bool(cfg["tty"]),
                    "privileged": False,
                    "user": cfg.get("user") or "",
                },
                "OpenStdin": bool(cfg["stdin"]),
                "OpenStdout": True,
                "OpenStderr": True,
                "CanRemove": state == ExecState.STOPPED.value,
                "DetachKeys": cfg.get("detach_keys") or "",
                # Extras libpod keeps internally, handy for UIs.
                "State": state,
                "WorkingDir": cfg.get("workdir") or "",
                "CreatedAt": rfc3339_ns(cfg.get("created")),
                "StartedAt": rfc3339_ns(st.get("started_at")),
                "FinishedAt": rfc3339_ns(st.get("finished_at")),
                "Error": st.get("error") or "",
            }

    def remove(self, force: bool = False) -> None:
        """Remove the session; a RUNNING one needs ``force`` and is killed (exit code 137)."""
        with self._locked():
            if self._state["state"] == ExecState.RUNNING.value:
                if not force:
                    raise self._err_state("cannot remove a running exec session without force")
                paused = self._ctr._record.state is ContainerState.PAUSED
                self._finish(self._kill(grace=0 if paused else KILL_GRACE))
            self._forget()

    def _kill(self, grace: float) -> int:
        """SIGKILL the process, give conmon ``grace`` seconds to report, then kill conmon."""
        self._kill_process()
        conmon = int(self._state.get("conmon_pid") or 0)
        deadline = time.monotonic() + grace
        while procinfo.alive(conmon) and self._read_exit_file() is None:
            if time.monotonic() >= deadline:
                break
            time.sleep(EXIT_POLL)
        code = self._read_exit_file()
        if code is None:
            # A frozen (paused) process dies only when thawed: conmon would wait for it.
            _kill_conmon(conmon, self._id)
            code = 137
        return code

    def _kill_process(self) -> None:
        pid = int(self._state.get("pid") or 0)
        if pid and procinfo.in_cgroup_of(pid, self._ctr.id):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal_mod.SIGKILL)


# -- launching conmon ---------------------------------------------------------------------------
class ExecStream:
    """An attached exec session for an event-loop caller (ExecSession.open_stream)."""

    def __init__(self, session: ExecSession, conn: AttachConnection | None,
                 launch: _Launch | None) -> None:
        self.session = session
        #: conmon's attach socket; None when the session had already exited.
        self.conn = conn
        self._launch = launch
        if launch is not None:
            launch.conn = None  # the stream owns the connection now

    @property
    def detach_keys(self) -> bytes:
        """The session's detach keys (its DetachKeys, else ctrl-p,ctrl-q)."""
        return self.session._detach_bytes(None)

    def finish(self) -> int:
        """After the output ended: wait for the exit code, record it, free the pipes."""
        code = self._launch.read_exit_code() if self._launch is not None else None
        self.close()
        return self.session._collect(code)

    def detach(self) -> None:
        """Leave a session that goes on running (conmon closes its stdin, unless a tty)."""
        if self.conn is not None:
            self.conn.detach()
        self.close()

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if self._launch is not None:
            self._launch.close()
            self._launch = None


class _Launch:
    """The pipes of one conmon launch and, when attaching, the connected socket."""

    def __init__(self) -> None:
        self.conn: AttachConnection | None = None
        self._fds: dict[str, int] = {}
        self._first: subprocess.Popen[bytes] | None = None

    def spawn(self, argv: list[str], cwd: Path) -> None:
        sync_r, sync_w = os.pipe()
        start_r, start_w = os.pipe()
        attach_r, attach_w = os.pipe()
        self._fds = {"sync": sync_r, "start": start_w, "attach": attach_r}
        env = dict(os.environ)
        env.update(_OCI_SYNCPIPE=str(sync_w), _OCI_STARTPIPE=str(start_r),
                   _OCI_ATTACHPIPE=str(attach_w))
        procs.log.debug("exec %s", " ".join(argv))
        try:
            self._first = subprocess.Popen(
                argv, pass_fds=(sync_w, start_r, attach_w), env=env, cwd=cwd,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                start_new_session=True)
        except FileNotFoundError as exc:
            raise RuntimeMissingError(f"cannot run conmon at {argv[0]}") from exc
        finally:
            for fd in (sync_w, start_r, attach_w):
                os.close(fd)

    def handshake_attach(self) -> None:
        """Let conmon fork, then wait until its attach socket listens."""
        os.write(self._fds["start"], b"0")
        assert self._first is not None
        try:
            rc = self._first.wait(timeout=HANDSHAKE_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._first.kill()
            self._first.wait()
            raise OCIRuntimeError("conmon did not fork in time") from None
        msg = _read_message(self._fds["attach"], "that its attach socket is ready")
        if msg is None:
            raise OCIRuntimeError(f"conmon exited (code {rc}) before its attach socket was "
                                  f"ready: {self._first_stderr() or 'no message'}")

    def handshake_start(self) -> tuple[int, str]:
        """Let conmon run ``runc exec``; returns (pid, '') or (-1, runc's error)."""
        self._close("start", b"0")
        msg = _read_message(self._fds["sync"], "the exec pid")
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
            msg = _read_message(fd, "the exit code")
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
        for name in list(self._fds):
            self._close(name)
        if self._first is not None:
            if self._first.poll() is None:
                self._first.kill()
                self._first.wait()
            if self._first.stderr is not None:
                self._first.stderr.close()
            self._first = None
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _read_message(fd: int, what: str) -> dict[str, Any] | None:
    """One JSON line from a conmon pipe (the reader container creation uses); None at EOF."""
    return OCIRuntime._read_sync(fd, HANDSHAKE_TIMEOUT, what)


def _runtime_error(runtime: str, ctr: Container, message: str) -> CtrError:
    """runc's complaint about an exec that never ran, as libpod classifies it."""
    found = _RUNC_MSG_RE.search(message)
    text = found.group(1).replace('\\"', '"').replace("\\\\", "\\") if found else message
    text = text.strip() or "unknown error"
    full = f"{runtime} exec in container {ctr.id[:12]} ({ctr.name}) failed: {text}"
    low = text.lower()
    if "not found" in low or "no such file" in low or "executable path is empty" in low:
        return RuntimeMissingError(full)
    return OCIRuntimeError(full)


# -- the attach socket --------------------------------------------------------------------------
def _attach_io(conn: AttachConnection, stdin: Input, stdout: Output, stderr: Output,
               detach_keys: bytes) -> bool:
    """Stream stdio through conmon's attach socket (engine/attach.py) until the process's
    output ends; True if the caller detached. ``stdin`` may also be bytes or str."""
    if isinstance(stdin, str):
        stdin = stdin.encode()
    src = io.BytesIO(stdin) if isinstance(stdin, bytes) else stdin
    return attach_streams(conn, src, stdout, stderr, detach_keys) == "detached"


# -- helpers ------------------------------------------------------------------------------------
def _exec_root(rt: Runtime) -> Path:
    return rt.run_root / "exec"


def _require_running(ctr: Container, msg: str) -> None:
    state = ctr._record.state
    if state is not ContainerState.RUNNING:
        raise ContainerStateInvalidError(
            f"{msg}; container {ctr.id[:12]} ({ctr.name}) is in state {state}")


def _event(ctr: Container, action: str, **attrs: str) -> None:
    attributes = {"image": ctr.config.image, "name": ctr.name, **attrs}
    ctr._rt.events.record("container", action, ctr.id, ctr.name, ctr.config.image,
                          attributes)


def _parse_command(command: Sequence[str] | str) -> list[str]:
    if isinstance(command, str):
        try:
            args = shlex.split(command)
        except ValueError as exc:
            raise InvalidArgumentError(f"cannot parse command {command!r}: {exc}") from exc
    elif command is None:
        args = []
    else:
        args = list(command)
    if not args or not args[0]:
        raise InvalidArgumentError("must provide a non-empty command to start an exec session")
    for a in args:
        if not isinstance(a, str) or "\0" in a:
            raise InvalidArgumentError(f"command argument {a!r} is not a valid string")
    return args


def _parse_env(env: Mapping[str, str] | Sequence[str] | None) -> list[str]:
    """Validated ``NAME=VALUE`` items; a bare ``NAME`` takes the caller's value, as podman."""
    if env is None:
        return []
    items: list[tuple[str, str]]
    if isinstance(env, Mapping):
        items = [(str(k), str(v)) for k, v in env.items()]
    elif isinstance(env, str):
        raise InvalidArgumentError("exec environment must be a mapping or a list of NAME=VALUE")
    else:
        items = []
        for e in env:
            k, sep, v = str(e).partition("=")
            if not sep:
                v = os.environ.get(k, "")
            items.append((k, v))
    for k, v in items:
        if not k or "=" in k or "\0" in k or "\0" in v:
            raise InvalidArgumentError(f"invalid environment variable {k!r}: names must be "
                                       "non-empty without '=' or NUL")
    return [f"{k}={v}" for k, v in items]


def _env_dict(items: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        k, _, v = item.partition("=")
        out[k] = v
    return out


def _home_dir(rootfs: Path, uid: int) -> str:
    """The user's home from the image's /etc/passwd (as libpod sets HOME), else "/"."""
    passwd = rootfs / "etc/passwd"
    try:
        if passwd.is_symlink():
            return "/"
        for line in passwd.read_text(errors="replace").splitlines():
            fields = line.split(":")
            if len(fields) > 5 and fields[2] == str(uid) and fields[5].startswith("/"):
                return fields[5]
    except OSError:
        pass
    return "/"


def _kill_conmon(pid: int, exec_id: str, grace: float = 2.0) -> None:
    """SIGKILL a session's conmon (checked by its command line) and wait for it to go."""
    if not pid or not procinfo.alive(pid) or not procinfo.is_conmon(pid, exec_id):
        return  # gone, or the pid was reused
    try:
        os.kill(pid, signal_mod.SIGKILL)
    except OSError:
        return
    deadline = time.monotonic() + grace
    while procinfo.alive(pid) and time.monotonic() < deadline:
        time.sleep(EXIT_POLL)


def _read_text(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


__all__ = [
    "DEFAULT_DETACH_KEYS", "ExecSession", "ExecSessionStateInvalidError", "ExecState",
    "cleanup_exec_sessions", "create_exec", "get_exec", "list_exec", "live_exec_sessions",
]
