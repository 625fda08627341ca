"""ExecVerbs: a container's exec verbs (libpod's container_exec.go), each shaped lock -> sync ->
check -> act -> save -> event; ExecRecord: one session as stored.

A session is a row in the state store (``exec_sessions``) and, while it runs, a directory
``<run_root>/exec/<exec id>/`` with its process spec, runc's pidfile, conmon's pidfile, exit
and persist dirs, the attach socket and the ctl/winsz FIFOs. conmon runs in exec mode
(OCIRuntime.exec_launch): it runs ``runc exec --detach``, serves the attach socket and writes
the exit code to ``exit/<container id>`` and, once more, to its sync pipe.

Locking: session state changes happen under the container's lock, as in libpod, and the lock
is released while a caller is attached. A session that exits while nobody watches is noticed
by the next verb that syncs it (list, inspect, wait, remove); its directory goes then, its exit
code stays in the row (and in ``exit_codes`` once the row is removed).

This module is loaded with every Container (each CLI command, conmon's exit command): what
only starting and attaching need (the process spec, conmon's socket, stdio copying, the
session handle in engine/exec.py) is imported by the verbs that use it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal as signal_mod
import time
from collections.abc import Iterator
from pathlib import Path

from . import limits, procinfo
from .container_internal import ContainerBase
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
from .state import ContainerState, ExecState
from .storage import remove_tree
from .timeutil import rfc3339_ns

# typing is for type checkers only: importing it costs every CLI command ~2 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

    from .conmon_socket import AttachConnection
    from .exec import ExecSession, ExecStream
    from .oci import ExecLaunch
    from .stdio import Input, Output

#: How long a killed session's conmon gets to write its exit file before it is killed too.
KILL_GRACE = 5.0
#: Poll interval while waiting for a session's exit file.
EXIT_POLL = 0.005

# libpod's exit codes for an exec that never ran (define/exec_codes.go).
EXIT_GENERIC, EXIT_CANNOT_INVOKE, EXIT_NOT_FOUND = 125, 126, 127

_RUNNING, _STOPPED = ExecState.RUNNING.value, ExecState.STOPPED.value


def new_exec_state() -> dict[str, Any]:
    """The mutable part of a freshly created session's record."""
    return {"state": ExecState.CREATED.value, "pid": 0, "conmon_pid": 0, "exit_code": None,
            "started_at": 0, "finished_at": 0, "error": ""}


class ExecRecord:
    """One exec session as stored (libpod's ExecSession): ``config`` is what was asked
    (command, tty, stdin, env, user, uid, gid, workdir, detach_keys, created), ``state`` what
    happened (state, pid, conmon_pid, exit_code, started_at, finished_at, error); ``dir`` is
    its directory while it runs. A copy: verbs re-read the store."""

    __slots__ = ("id", "container_id", "config", "state", "dir")

    def __init__(self, exec_id: str, container_id: str, config: dict[str, Any],
                 state: dict[str, Any], directory: Path) -> None:
        self.id = exec_id
        self.container_id = container_id
        self.config = config
        self.state = state
        self.dir = directory

    @property
    def status(self) -> ExecState:
        return ExecState(self.state["state"])

    @property
    def pid(self) -> int:
        return int(self.state.get("pid") or 0)

    @property
    def exit_code(self) -> int | None:
        code = self.state.get("exit_code")
        return None if code is None else int(code)

    def inspect(self) -> dict[str, Any]:
        """A dict shaped like ``podman exec inspect`` (libpod's InspectExecSession)."""
        cfg, st = self.config, self.state
        state = st["state"]
        code = st.get("exit_code")
        return {
            "ID": self.id,
            "ContainerID": self.container_id,
            "Running": state == _RUNNING,
            "ExitCode": int(code) if code is not None else 0,
            "Pid": int(st.get("pid") or 0),
            "ProcessConfig": {
                "entrypoint": cfg["command"][0],
                "arguments": list(cfg["command"][1:]),
                "tty": bool(cfg["tty"]),
                "privileged": False,
                "user": cfg["user"] or "",
            },
            "OpenStdin": bool(cfg["stdin"]),
            "OpenStdout": True,
            "OpenStderr": True,
            "CanRemove": state == _STOPPED,
            "DetachKeys": cfg.get("detach_keys") or "",
            # Extras libpod keeps internally, handy for UIs.
            "State": state,
            "WorkingDir": cfg["workdir"] or "",
            "CreatedAt": rfc3339_ns(cfg["created"]),
            "StartedAt": rfc3339_ns(st.get("started_at")),
            "FinishedAt": rfc3339_ns(st.get("finished_at")),
            "Error": st.get("error") or "",
        }


class ExecVerbs(ContainerBase):
    """The exec verbs of Container (a mixin over ContainerBase). Sessions are named by their
    ID, as in libpod; ``exec()`` returns an ExecSession, a handle with the same verbs."""

    # -- create and look up -------------------------------------------------------------
    def exec(self, command: Sequence[str] | str, *, tty: bool = False, stdin: bool = False,
             env: Mapping[str, str] | Sequence[str] | None = None, user: str | None = None,
             workdir: str | None = None, detach_keys: str | None = None) -> ExecSession:
        """Create an exec session in this RUNNING container (see ``exec_create``); start,
        attach and wait on the handle it returns."""
        from .exec import ExecSession  # noqa: PLC0415 - lazy: exit command / CLI start-up

        return ExecSession(self, self._exec_create(command, tty=tty, stdin=stdin, env=env,
                                                   user=user, workdir=workdir,
                                                   detach_keys=detach_keys))

    def exec_create(self, command: Sequence[str] | str, *, tty: bool = False,
                    stdin: bool = False, env: Mapping[str, str] | Sequence[str] | None = None,
                    user: str | None = None, workdir: str | None = None,
                    detach_keys: str | None = None) -> str:
        """Create (not start) an exec session; returns its ID (libpod ExecCreate). The
        container must be RUNNING (not paused).

        ``user`` defaults to the container's user, ``workdir`` to its working directory;
        ``env`` adds to (and overrides) the container's environment; ``detach_keys`` are the
        session's default for attaching (else ctrl-p,ctrl-q).
        Raises InvalidArgumentError, ContainerStateInvalidError.
        """
        return self._exec_create(command, tty=tty, stdin=stdin, env=env, user=user,
                                 workdir=workdir, detach_keys=detach_keys).id

    def _exec_create(self, command: Sequence[str] | str, *, tty: bool, stdin: bool,
                     env: Mapping[str, str] | Sequence[str] | None, user: str | None,
                     workdir: str | None, detach_keys: str | None) -> ExecRecord:
        from .exec import new_exec_config  # noqa: PLC0415 - lazy: exit command / CLI start-up

        config = new_exec_config(self.config, command, tty=tty, stdin=stdin, env=env, user=user,
                                 workdir=workdir, detach_keys=detach_keys)
        exec_id = os.urandom(32).hex()
        state = new_exec_state()
        try:
            with self._lock_and_sync():
                if self._record.state is not ContainerState.RUNNING:
                    raise self._err_state("can only create exec sessions on running containers")
                self._rt.store.add_exec_session(exec_id, self._id, config, state)
        except NoSuchContainerError as exc:
            raise ContainerRemovedError(f"container {self._id} has already been removed") from exc
        return ExecRecord(exec_id, self._id, config, state, self._exec_dir(exec_id))

    def exec_session(self, session_id: str) -> ExecSession:
        """A handle on one of this container's sessions, as last saved (no lock taken; its
        verbs sync). Raises NoSuchExecSessionError."""
        from .exec import ExecSession  # noqa: PLC0415 - lazy: exit command / CLI start-up

        return ExecSession(self, self._exec_read(session_id))

    def exec_sessions(self) -> list[ExecSession]:
        """The live (created or running) exec sessions, each synced."""
        from .exec import ExecSession  # noqa: PLC0415 - lazy: exit command / CLI start-up

        with self._lock_and_sync():
            records = self._exec_live()
        return [ExecSession(self, rec) for rec in records]

    def exec_record(self, session_id: str) -> ExecRecord:
        """A synced copy of the session's record (libpod's ExecSession(id)).
        Raises NoSuchExecSessionError."""
        with self._exec_locked(session_id) as rec:
            return rec

    def exec_inspect(self, session_id: str) -> dict[str, Any]:
        """A dict shaped like ``podman exec inspect``."""
        return self.exec_record(session_id).inspect()

    # -- start and attach ---------------------------------------------------------------
    def exec_start(self, session_id: str) -> None:
        """Start the session without attaching (libpod ExecStart): CREATED -> RUNNING, the
        container RUNNING.

        Raises ContainerStateInvalidError, ExecSessionStateInvalidError, RuntimeMissingError
        (command not found; the session is then STOPPED with exit code 127) or OCIRuntimeError.
        """
        with self._exec_locked(session_id) as rec:
            self._exec_check_startable(rec)
            launch, _ = self._exec_launch(rec, connect=False, tty_size=None)
            launch.close()

    def exec_start_and_attach(self, session_id: str, stdin: Input = None,
                              stdout: Output | None = None, stderr: Output | None = None, *,
                              detach_keys: str | None = None,
                              tty_size: tuple[int, int] | None = None) -> int | None:
        """Start the session and stream its stdio until it exits (libpod ExecStartAndAttach);
        returns its exit code, or None if the caller detached (see ExecSession)."""
        keys = self._exec_attach_checks(session_id, stdin, detach_keys)
        stream = self.exec_open_stream(session_id, start=True, tty_size=tty_size)
        return stream.run(stdin, stdout, stderr, keys)

    def exec_attach(self, session_id: str, stdin: Input = None, stdout: Output | None = None,
                    stderr: Output | None = None, *,
                    detach_keys: str | None = None) -> int | None:
        """Attach to a RUNNING session until it exits; the exit code, or None if detached."""
        keys = self._exec_attach_checks(session_id, stdin, detach_keys)
        stream = self.exec_open_stream(session_id, start=False)
        return stream.run(stdin, stdout, stderr, keys)

    def exec_open_stream(self, session_id: str, *, start: bool,
                         tty_size: tuple[int, int] | None = None) -> ExecStream:
        """The session's stdio for a caller with its own event loop (libpod's
        ExecHTTPStartAndAttach): ``start`` a CREATED session (``tty_size``: the terminal's
        (height, width) from the start), or connect to a RUNNING one. The caller reads and
        writes ``ExecStream.conn`` and handles detach keys itself; after the output ended,
        ``finish()`` gives the exit code."""
        from .conmon_socket import (  # noqa: PLC0415 - lazy: exit command / CLI start-up
            AttachConnection,
            check_tty_size,
        )
        from .exec import ExecStream  # noqa: PLC0415 - lazy: exit command / CLI start-up

        if tty_size is not None:
            check_tty_size(*tty_size)
        with self._exec_locked(session_id) as rec:
            if start:
                self._exec_check_startable(rec)
                launch, conn = self._exec_launch(rec, connect=True, tty_size=tty_size)
                return ExecStream(rec, conn, launch, self._exec_collect)
            if rec.state["state"] != _RUNNING:
                raise self._exec_err_state(rec, "can only attach to running exec sessions")
            try:
                conn = AttachConnection.connect(rec.dir)
            except OCIRuntimeError:
                conn = None  # it exited between the sync and here
            return ExecStream(rec, conn, None, self._exec_collect)

    # -- the running session ------------------------------------------------------------
    def exec_resize(self, session_id: str, height: int, width: int) -> None:
        """Resize a tty session's terminal (libpod ExecResize). Raises
        ExecSessionStateInvalidError unless it is a RUNNING tty session."""
        from .conmon_socket import check_tty_size, resize_tty  # noqa: PLC0415 - lazy: exit command / CLI start-up

        check_tty_size(height, width)
        with self._exec_locked(session_id) as rec:
            if not rec.config["tty"]:
                raise self._exec_err_state(rec, "cannot resize: exec session has no tty")
            if rec.state["state"] != _RUNNING:
                raise self._exec_err_state(rec, "cannot resize an exec session that is not "
                                                "running")
            try:
                resize_tty(rec.dir, height, width)
            except OCIRuntimeError as exc:
                raise self._exec_err_state(rec, str(exc)) from exc

    def exec_wait(self, session_id: str, timeout: float | None = None) -> int:
        """Block until the session has exited; returns its exit code (also after removal).

        Raises TimeoutCtrError after ``timeout`` seconds, NoSuchExecSessionError if the session
        was removed without a known exit code.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                with self._exec_locked(session_id) as rec:
                    state = rec.state["state"]
                    if state == _STOPPED:
                        code = rec.exit_code
                        return -1 if code is None else code
                    conmon = int(rec.state.get("conmon_pid") or 0)
                    exit_file = rec.dir / "exit" / self._id
            except NoSuchExecSessionError:
                code = self._rt.store.exit_code(session_id)
                if code is None:
                    raise
                return code
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutCtrError(f"timed out waiting for exec session {session_id[:12]} "
                                      f"of container {self._id[:12]} to exit")
            step = 0.25 if left is None else min(0.25, left)
            if state != _RUNNING:
                time.sleep(step)  # not started yet: nothing to watch but the row
                continue
            end = time.monotonic() + step
            while time.monotonic() < end and not exit_file.exists() and procinfo.alive(conmon):
                time.sleep(EXIT_POLL)

    def exec_stop(self, session_id: str, timeout: int | None = None) -> None:
        """Stop a RUNNING session (libpod ExecStop): SIGTERM, then SIGKILL after ``timeout``
        seconds (default the container's stop timeout; 0 = kill now). RUNNING -> STOPPED.
        The container lock is held meanwhile, as in libpod."""
        if timeout is not None:
            limits.check("exec stop timeout", timeout, 0, limits.TIMEOUT_MAX)
        with self._exec_locked(session_id) as rec:
            if rec.state["state"] != _RUNNING:
                raise self._exec_err_state(rec, "can only stop running exec sessions")
            wait = int(self.config.stop_timeout) if timeout is None else timeout
            code = None
            if wait > 0 and procinfo.signal_if_in_cgroup(rec.pid, self._id, signal_mod.SIGTERM):
                code = self._exec_wait_exit_file(rec, wait)
            if code is None:
                code = self._exec_kill(rec, grace=self._exec_kill_grace())
            self._exec_finish(rec, code)

    def exec_cleanup(self, session_id: str) -> None:
        """Drop what a session that is no longer running left in the run root (libpod
        ExecCleanup). Raises ExecSessionStateInvalidError for a RUNNING one."""
        with self._exec_locked(session_id) as rec:
            if rec.state["state"] == _RUNNING:
                raise self._exec_err_state(rec, "cannot clean up a running exec session")
            remove_tree(rec.dir, ignore_errors=True)

    def exec_remove(self, session_id: str, force: bool = False) -> int | None:
        """Remove the session (libpod ExecRemove); a RUNNING one needs ``force`` and is killed
        (exit code 137). Returns its exit code (None if it never ran); it stays readable
        (``exec_wait``)."""
        with self._exec_locked(session_id) as rec:
            if rec.state["state"] == _RUNNING:
                if not force:
                    raise self._exec_err_state(rec, "cannot remove a running exec session "
                                                    "without force")
                self._exec_finish(rec, self._exec_kill(rec, grace=self._exec_kill_grace()))
            self._exec_forget(rec)
            return rec.exit_code

    # -- internals ----------------------------------------------------------------------
    def _exec_dir(self, session_id: str) -> Path:
        return self._rt.run_root / "exec" / session_id

    def _exec_read(self, session_id: str) -> ExecRecord:
        """The session's stored record. Raises NoSuchExecSessionError (also for the session
        of another container)."""
        ctr_id, config, state = self._rt.store.exec_session(session_id)
        if ctr_id != self._id:
            raise NoSuchExecSessionError(f"no exec session with ID {session_id} in container "
                                         f"{self._id[:12]}")
        return ExecRecord(session_id, ctr_id, config, state, self._exec_dir(session_id))

    @contextlib.contextmanager
    def _exec_locked(self, session_id: str) -> Iterator[ExecRecord]:
        """Hold the container lock, with the session re-read and synced from its exit file."""
        try:
            with self._lock_and_sync():
                rec = self._exec_read(session_id)
                self._exec_sync(rec)
                yield rec
        except ContainerRemovedError:
            raise NoSuchExecSessionError(
                f"no such exec session {session_id[:12]}: its container {self._id[:12]} has "
                "already been removed") from None

    def _exec_live(self) -> list[ExecRecord]:
        """The live sessions, synced; the caller holds the lock."""
        out = []
        for exec_id, config, state in self._rt.store.container_exec_sessions(self._id):
            rec = ExecRecord(exec_id, self._id, config, state, self._exec_dir(exec_id))
            self._exec_sync(rec)
            if rec.state["state"] != _STOPPED:
                out.append(rec)
        return out

    def _live_exec_sessions(self) -> list[str]:
        return [rec.id for rec in self._exec_live()]

    def _exec_sync(self, rec: ExecRecord) -> None:
        """A running session whose conmon finished becomes STOPPED."""
        if rec.state["state"] != _RUNNING:
            return
        code = self._exec_read_exit_file(rec)
        if code is not None:
            self._exec_finish(rec, code)
        elif not procinfo.alive(int(rec.state.get("conmon_pid") or 0)):
            code = self._exec_read_exit_file(rec)  # it may have written the file and exited
            if code is None:
                # conmon was killed: nobody watches the process any more, so end it.
                procinfo.signal_if_in_cgroup(rec.pid, self._id, signal_mod.SIGKILL)
                code = -1
            self._exec_finish(rec, code)

    def _exec_read_exit_file(self, rec: ExecRecord) -> int | None:
        try:
            text = (rec.dir / "exit" / self._id).read_text().strip()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not text:
            return None  # conmon is still writing it
        try:
            return int(text)
        except ValueError:
            return -1

    def _exec_wait_exit_file(self, rec: ExecRecord, timeout: float) -> int | None:
        """Wait up to ``timeout`` seconds for conmon's exit file (or conmon's end)."""
        conmon = int(rec.state.get("conmon_pid") or 0)
        deadline = time.monotonic() + timeout
        while (code := self._exec_read_exit_file(rec)) is None and procinfo.alive(conmon):
            if time.monotonic() >= deadline:
                break
            time.sleep(EXIT_POLL)
        return code if code is not None else self._exec_read_exit_file(rec)

    def _exec_finish(self, rec: ExecRecord, code: int) -> None:
        """RUNNING -> STOPPED with ``code``: save, drop the directory, record exec_died."""
        rec.state.update(state=_STOPPED, exit_code=code, pid=0, conmon_pid=0,
                         finished_at=time.time_ns())
        self._rt.store.save_exec_state(rec.id, rec.state)
        remove_tree(rec.dir, ignore_errors=True)
        self._event("exec_died", execID=rec.id, exitCode=str(code))

    def _exec_forget(self, rec: ExecRecord) -> None:
        """Drop the row and the directory; the exit code (if any) outlives them."""
        code = rec.exit_code
        if code is not None:
            self._rt.store.set_exit_code(rec.id, code)
        remove_tree(rec.dir, ignore_errors=True)
        self._rt.store.remove_exec_session(rec.id)

    def _exec_kill_grace(self) -> float:
        # A frozen (paused) process dies only when thawed: conmon would wait for it.
        return 0.0 if self._record.state is ContainerState.PAUSED else KILL_GRACE

    def _exec_kill(self, rec: ExecRecord, grace: float) -> int:
        """SIGKILL the process, give conmon ``grace`` seconds to report, then kill conmon."""
        procinfo.signal_if_in_cgroup(rec.pid, self._id, signal_mod.SIGKILL)
        code = self._exec_wait_exit_file(rec, grace)
        if code is None:
            procinfo.kill_conmon(int(rec.state.get("conmon_pid") or 0), rec.id)
            code = 137
        return code

    def _exec_err_state(self, rec: ExecRecord, msg: str) -> ExecSessionStateInvalidError:
        return ExecSessionStateInvalidError(
            f"{msg}; exec session {rec.id[:12]} of container {self._id[:12]} "
            f"({self.name}) is {rec.state['state']}")

    def _exec_check_startable(self, rec: ExecRecord) -> None:
        if self._record.state is not ContainerState.RUNNING:
            raise self._err_state("can only start exec sessions when their container is running")
        if rec.state["state"] != ExecState.CREATED.value:
            raise self._exec_err_state(rec, "can only start created exec sessions")

    def _exec_attach_checks(self, session_id: str, stdin: Input,
                            detach_keys: str | None) -> bytes | None:
        """Before attaching: the detach keys parsed (None: the session's), and no input for a
        session created without stdin."""
        from .stdio import parse_detach_keys  # noqa: PLC0415 - lazy: exit command / CLI start-up

        keys = None if detach_keys is None else parse_detach_keys(detach_keys)
        if stdin is not None and not self._exec_read(session_id).config["stdin"]:
            raise InvalidArgumentError(f"exec session {session_id[:12]} was created without "
                                       "stdin: it cannot take input")
        return keys

    def _exec_launch(self, rec: ExecRecord, *, connect: bool,
                     tty_size: tuple[int, int] | None
                     ) -> tuple[ExecLaunch, AttachConnection | None]:
        """Run conmon in exec mode through the handshake; the session is RUNNING after it
        (and saved, with its ``exec`` event). With ``connect``, attached before it runs."""
        from .conmon_socket import AttachConnection  # noqa: PLC0415 - lazy: exit command / CLI start-up
        from .exec import process_spec  # noqa: PLC0415 - lazy: exit command / CLI start-up

        d = rec.dir
        remove_tree(d, ignore_errors=True)  # a crashed earlier start may have left it
        launch: ExecLaunch | None = None
        conn: AttachConnection | None = None
        try:
            d.parent.mkdir(mode=0o700, exist_ok=True)
            d.mkdir(mode=0o700)
            (d / "exit").mkdir(mode=0o700)
            (d / "persist").mkdir(mode=0o700)
            (d / "container").write_text(self._id)  # for the sweep in _cleanup_exec_sessions
            spec = process_spec(self.bundle / "config.json", rec.config, self.config, tty_size)
            (d / "process.json").write_text(json.dumps(spec))
            launch = self._rt.oci.exec_launch(ctr_id=self._id, exec_id=rec.id, name=self.name,
                                              session_dir=d, tty=bool(rec.config["tty"]),
                                              stdin=bool(rec.config["stdin"]))
            if connect:
                conn = AttachConnection.connect(d)
            pid, error = launch.start()
            conmon_pid = procinfo.read_int(d / "conmon.pid")
        except (CtrError, OSError) as exc:
            _close(launch, conn)
            self._exec_abort(rec, EXIT_GENERIC, str(exc))
            if isinstance(exc, CtrError):
                raise
            raise OCIRuntimeError(f"starting exec session {rec.id[:12]} in container "
                                  f"{self._id[:12]}: {exc}") from exc
        if pid < 0:
            _close(launch, conn)
            err = self._rt.oci.exec_error(self._id, self.name, error)
            if not procinfo.alive(int(self._record.pid or 0)):
                # The container died after the sync (a kill does not wait under the lock):
                # runc refused because it is not running, which its next sync records.
                err = ContainerStateInvalidError(
                    f"can only start exec sessions when their container is running; container "
                    f"{self._id[:12]} ({self.name}) has exited")
            code = EXIT_NOT_FOUND if isinstance(err, RuntimeMissingError) else EXIT_CANNOT_INVOKE
            self._exec_abort(rec, code, str(err))
            raise err
        rec.state.update(state=_RUNNING, pid=pid, conmon_pid=conmon_pid,
                         started_at=time.time_ns(), error="")
        self._rt.store.save_exec_state(rec.id, rec.state)
        self._event("exec", execID=rec.id)
        return launch, conn

    def _exec_abort(self, rec: ExecRecord, code: int, error: str) -> None:
        """A start that failed: no conmon, no directory; the session is STOPPED with ``code``."""
        procinfo.kill_conmon(procinfo.read_int(rec.dir / "conmon.pid"), rec.id, timeout=1.0)
        remove_tree(rec.dir, ignore_errors=True)
        rec.state.update(state=_STOPPED, exit_code=code, pid=0, conmon_pid=0,
                         finished_at=time.time_ns(), error=error)
        with contextlib.suppress(NoSuchExecSessionError):
            self._rt.store.save_exec_state(rec.id, rec.state)

    def _exec_collect(self, session_id: str, code: int | None) -> int:
        """After an attached process ended: record its exit code (conmon's, or the exit
        file's when conmon said nothing), return it."""
        if code is None:
            return self.exec_wait(session_id)
        try:
            with self._exec_locked(session_id) as rec:
                if rec.state["state"] == _RUNNING:
                    self._exec_finish(rec, code)
                elif rec.exit_code is not None:
                    return rec.exit_code
        except NoSuchExecSessionError:
            pass  # removed meanwhile (container stopped or removed): the code is still ours
        return code

    def _cleanup_exec_sessions(self) -> None:
        """Kill the running sessions, drop their directories and rows (stop, cleanup and
        remove: the caller holds the lock). Exit codes stay readable (``exec_wait``). Also
        sweeps session directories whose rows are already gone (container rows cascade to
        their sessions)."""
        exec_root = self._rt.run_root / "exec"
        rows = self._rt.store.container_exec_sessions(self._id)
        if not rows and not (exec_root.is_dir() and any(exec_root.iterdir())):
            return  # the usual case, at every container exit
        for exec_id, config, state in rows:
            rec = ExecRecord(exec_id, self._id, config, state, self._exec_dir(exec_id))
            if state["state"] == _RUNNING:
                self._exec_sync(rec)
                if rec.state["state"] == _RUNNING:
                    self._exec_finish(rec, self._exec_kill(rec, grace=self._exec_kill_grace()))
            self._exec_forget(rec)
        with contextlib.suppress(FileNotFoundError):
            for d in exec_root.iterdir():
                if _read_text(d / "container") == self._id:
                    procinfo.kill_conmon(procinfo.read_int(d / "conmon.pid"), d.name)
                    remove_tree(d, ignore_errors=True)


def _close(launch: ExecLaunch | None, conn: AttachConnection | None) -> None:
    if conn is not None:
        conn.close()
    if launch is not None:
        launch.close()


def _read_text(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


__all__ = ["ExecRecord", "ExecVerbs", "new_exec_state"]
