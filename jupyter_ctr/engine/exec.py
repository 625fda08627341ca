"""Exec sessions as their users see them (libpod's ExecSession): the ExecSession handle and
the ExecStream of an attached session, whose verbs are the container's (ExecVerbs,
engine/container_exec.py); and what a session is made of: its validated config and its OCI
process spec.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .errors import (
    ExecSessionStateInvalidError,
    InvalidArgumentError,
    NoSuchExecSessionError,
    OCIRuntimeError,
)
from .parsing import check_path_length, env_dict, parse_command, parse_env
from .spec import home_dir, resolve_user
from .state import ExecState
from .stdio import DEFAULT_DETACH_KEYS, Input, as_stream, attach_streams, parse_detach_keys
from .storage import split_lowers

if TYPE_CHECKING:
    from .conmon_socket import AttachConnection
    from .container_exec import ExecRecord, ExecVerbs
    from .oci import ExecLaunch
    from .records import ContainerConfig

#: Where output may go: binary streams, or text streams (written decoded as UTF-8).
Output = IO[bytes] | IO[str] | None

_STOPPED = ExecState.STOPPED.value


class ExecSession:
    """A handle on one exec session (Container.exec, Container.exec_session(s),
    Runtime.lookup_exec). Cheap: its verbs are the container's, which re-read the stored
    state; its properties show the state as last read."""

    def __init__(self, ctr: ExecVerbs, record: ExecRecord) -> None:
        self._ctr = ctr
        self._rec = record

    # -- identity -------------------------------------------------------------------------
    @property
    def id(self) -> str:
        return self._rec.id

    @property
    def container(self) -> ExecVerbs:
        return self._ctr

    @property
    def container_id(self) -> str:
        return self._ctr.id

    @property
    def config(self) -> dict[str, Any]:
        """What the session was created with (command, tty, stdin, env, user, workdir...)."""
        return self._rec.config

    @property
    def command(self) -> list[str]:
        return list(self._rec.config["command"])

    @property
    def state(self) -> ExecState:
        """The state as last synced (``inspect()`` or ``wait()`` give a fresh reading)."""
        return self._rec.status

    @property
    def pid(self) -> int:
        return self._rec.pid

    @property
    def exit_code(self) -> int | None:
        return self._rec.exit_code

    @property
    def dir(self) -> Path:
        return self._rec.dir

    def __repr__(self) -> str:
        return f"<ExecSession {self.id[:12]} in {self._ctr.id[:12]} {self._rec.state['state']}>"

    # -- start and attach -----------------------------------------------------------------
    def start(self) -> None:
        """Start the session without attaching: CREATED -> RUNNING (container RUNNING).

        Raises ContainerStateInvalidError, ExecSessionStateInvalidError, RuntimeMissingError
        (command not found; the session is then STOPPED with exit code 127) or OCIRuntimeError.
        """
        self._ctr.exec_start(self.id)
        self._reload()

    def start_and_attach(self, stdin: Input = None, stdout: Output = None,
                         stderr: Output = None, *, detach_keys: str | None = None,
                         tty_size: tuple[int, int] | None = None) -> int | None:
        """Start the session and stream its stdio until it exits; returns its exit code.

        ``stdin`` is bytes, text or a stream (EOF closes the process's stdin); ``stdout`` and
        ``stderr`` are streams to write to (a tty session writes everything to ``stdout``).
        ``tty_size`` is the (height, width) the tty has from the start. Returns None if the
        caller detached with ``detach_keys`` (default the session's, else ctrl-p,ctrl-q):
        the session keeps running, but conmon closes its stdin (as with podman; a tty keeps
        its terminal). The container lock is not held while attached.
        """
        keys = self._attach_checks(stdin, detach_keys)
        return self._run(self.open_stream(start=True, tty_size=tty_size), stdin, stdout,
                         stderr, keys)

    def attach(self, stdin: Input = None, stdout: Output = None, stderr: Output = None, *,
               detach_keys: str | None = None) -> int | None:
        """Attach to a RUNNING session (one started with ``start()``) until it exits.

        Output written before the attach is not replayed. Returns the exit code, or None if
        the caller detached. Raises ExecSessionStateInvalidError unless RUNNING.
        """
        keys = self._attach_checks(stdin, detach_keys)
        return self._run(self.open_stream(start=False), stdin, stdout, stderr, keys)

    def open_stream(self, *, start: bool, tty_size: tuple[int, int] | None = None
                    ) -> ExecStream:
        """The session's stdio for a caller with its own event loop (the server): ``start``
        a CREATED session (``tty_size`` as in ``start_and_attach``), or connect to a RUNNING
        one. The caller reads and writes ``ExecStream.conn`` (conmon's attach socket) and
        handles detach keys itself; after the output ended, ``finish()`` gives the code."""
        stream = self._ctr.exec_open_stream(self.id, start=start, tty_size=tty_size)
        self._rec = stream.record
        return stream

    def _attach_checks(self, stdin: Input, detach_keys: str | None) -> bytes:
        """The detach keys to use (the session's by default); no input without stdin."""
        if detach_keys is None:
            detach_keys = self._rec.config.get("detach_keys")
            if detach_keys is None:
                detach_keys = DEFAULT_DETACH_KEYS
        keys = parse_detach_keys(detach_keys)
        if stdin is not None and not self._rec.config["stdin"]:
            raise InvalidArgumentError(
                f"exec session {self.id[:12]} was created without stdin: it cannot take input")
        return keys

    def _run(self, stream: ExecStream, stdin: Input, stdout: Output, stderr: Output,
             keys: bytes) -> int | None:
        code = stream.run(stdin, stdout, stderr, keys)
        if code is not None:
            self._rec.state.update(state=_STOPPED, exit_code=code, pid=0, conmon_pid=0)
        return code

    # -- the running session --------------------------------------------------------------
    def resize(self, height: int, width: int) -> None:
        """Resize a tty session's terminal. Raises ExecSessionStateInvalidError unless it is a
        RUNNING tty session."""
        self._ctr.exec_resize(self.id, height, width)

    def wait(self, timeout: float | None = None) -> int:
        """Block until the session has exited; returns its exit code (also after removal).

        Raises TimeoutCtrError after ``timeout`` seconds, NoSuchExecSessionError if the session
        was removed without a known exit code.
        """
        code = self._ctr.exec_wait(self.id, timeout)
        self._rec.state.update(state=_STOPPED, exit_code=code, pid=0, conmon_pid=0)
        return code

    def stop(self, timeout: int | None = None) -> None:
        """Stop a RUNNING session: SIGTERM, SIGKILL after ``timeout`` (see ExecVerbs)."""
        self._ctr.exec_stop(self.id, timeout)
        self._reload()

    def inspect(self) -> dict[str, Any]:
        """A dict shaped like ``podman exec inspect`` (libpod's InspectExecSession)."""
        self._rec = self._ctr.exec_record(self.id)
        return self._rec.inspect()

    def remove(self, force: bool = False) -> None:
        """Remove the session; a RUNNING one needs ``force`` and is killed (exit code 137)."""
        code = self._ctr.exec_remove(self.id, force)
        if code is not None:
            self._rec.state.update(state=_STOPPED, exit_code=code, pid=0, conmon_pid=0)

    def _reload(self) -> None:
        try:
            self._rec = self._ctr.exec_record(self.id)
        except NoSuchExecSessionError:
            pass  # gone meanwhile (its container stopped): the last reading stays


class ExecStream:
    """An attached exec session (ExecVerbs.exec_open_stream): ``conn`` is conmon's attach
    socket (None when the session had already exited), ``record`` the session as it was
    when the stream opened."""

    def __init__(self, record: ExecRecord, conn: AttachConnection | None,
                 launch: ExecLaunch | None, collect: Callable[[str, int | None], int]) -> None:
        self.record = record
        self.conn = conn
        self._launch = launch
        self._collect = collect

    @property
    def session_id(self) -> str:
        return self.record.id

    @property
    def detach_keys(self) -> bytes:
        """The session's detach keys (its DetachKeys, else ctrl-p,ctrl-q)."""
        keys = self.record.config.get("detach_keys")
        return parse_detach_keys(DEFAULT_DETACH_KEYS if keys is None else keys)

    def run(self, stdin: Input, stdout: Output, stderr: Output,
            detach_keys: bytes | None = None) -> int | None:
        """Copy stdio (engine/stdio.py) until the output ends (the exit code) or the caller
        detaches with ``detach_keys`` (default the session's): None. Closes the stream."""
        keys = self.detach_keys if detach_keys is None else detach_keys
        try:
            if self.conn is not None and attach_streams(
                    self.conn, as_stream(stdin), stdout, stderr, keys) == "detached":
                return None
            return self.finish()
        finally:
            self.close()

    def finish(self) -> int:
        """After the output ended: wait for the exit code, record it, free the pipes."""
        code = self._launch.read_exit_code() if self._launch is not None else None
        self.close()
        return self._collect(self.record.id, code)

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


# -- what a session is made of ------------------------------------------------------------------
def new_exec_config(ctr_config: ContainerConfig, command: Sequence[str] | str, *,
                    tty: bool = False, stdin: bool = False,
                    env: Mapping[str, str] | Sequence[str] | None = None,
                    user: str | None = None, workdir: str | None = None,
                    detach_keys: str | None = None) -> dict[str, Any]:
    """A session's config from an exec request, checked against its container's config
    (``ctr_config``). Raises InvalidArgumentError."""
    args = parse_command(command, "must provide a non-empty command to start an exec session")
    extra_env = [f"{k}={v}" for k, v in parse_env(env)]
    if workdir is not None and (not isinstance(workdir, str) or not workdir.startswith("/")
                                or "\0" in workdir):
        raise InvalidArgumentError(f"exec working directory {workdir!r} must be an absolute path")
    if workdir is not None:
        check_path_length("the exec working directory", workdir)
    if detach_keys is not None:
        parse_detach_keys(detach_keys)
    if user:
        uid, gid, _ = resolve_user(split_lowers(ctr_config.image_rootfs), user)
    else:
        uid, gid = ctr_config.uid, ctr_config.gid
    return {
        "command": args, "tty": bool(tty), "stdin": bool(stdin), "env": extra_env,
        "user": user or "", "uid": uid, "gid": gid,
        "workdir": workdir, "detach_keys": detach_keys, "created": time.time_ns(),
    }


def process_spec(bundle_config: Path, config: Mapping[str, Any], ctr_config: ContainerConfig,
                 tty_size: tuple[int, int] | None = None) -> dict[str, Any]:
    """The container's OCI process (from its bundle's ``config.json``) with the session's
    (``config``) args, env, cwd, user and tty.

    ``tty_size`` goes into ``consoleSize``: runc sizes the pty before the process runs
    (a resize through conmon's ctl FIFO could arrive after the process looked).
    """
    try:
        ctr_proc: dict[str, Any] = json.loads(bundle_config.read_text())["process"]
    except (OSError, ValueError, KeyError) as exc:
        raise OCIRuntimeError(f"cannot read the OCI spec of container "
                              f"{bundle_config.parent.name[:12]}: {exc}") from exc
    cfg = config
    proc = copy.deepcopy(ctr_proc)
    proc.pop("consoleSize", None)
    proc["args"] = list(cfg["command"])
    proc["terminal"] = bool(cfg["tty"])
    if cfg["tty"] and tty_size is not None:
        proc["consoleSize"] = {"height": tty_size[0], "width": tty_size[1]}
    env = env_dict(proc.get("env") or [])
    env.update(env_dict(cfg["env"]))
    uid, gid = int(cfg["uid"]), int(cfg["gid"])
    if cfg["tty"]:
        env.setdefault("TERM", "xterm")
    env.setdefault("HOME", home_dir(split_lowers(ctr_config.image_rootfs), uid))
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
    elif uid != ctr_config.uid:
        caps["effective"] = caps["permitted"] = caps["ambient"] = []
    return proc


__all__ = [
    "DEFAULT_DETACH_KEYS", "ExecSession", "ExecSessionStateInvalidError", "ExecState",
    "ExecStream", "new_exec_config", "process_spec",
]
