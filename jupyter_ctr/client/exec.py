"""Exec sessions over the service: ExecSession and ExecStream with the engine's methods
(engine/exec.py), over ``POST /containers/{id}/exec``, ``/exec/{id}/start`` and
``/exec/{id}/attach`` (hijacked), ``/exec/{id}/resize``, ``/exec/{id}/stop``,
``GET /exec/{id}/json`` and ``DELETE /exec/{id}``."""

from __future__ import annotations

import contextlib
import time

from ..engine.errors import InvalidArgumentError, NoSuchExecSessionError
from ..engine.state import ExecState
from ..engine.stdio import DEFAULT_DETACH_KEYS, as_stream, attach_streams, parse_detach_keys
from .streams import StreamConnection
from .transport import path_part

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..engine.stdio import Input, Output
    from .container import Container

#: How often ``wait`` asks the service.
_WAIT_POLL = 0.05


def _config(insp: dict[str, Any]) -> dict[str, Any]:
    """The engine's session config as far as inspect shows it."""
    proc = insp.get("ProcessConfig") or {}
    return {"command": [proc.get("entrypoint", ""), *(proc.get("arguments") or [])],
            "tty": bool(proc.get("tty")), "stdin": bool(insp.get("OpenStdin")),
            "user": proc.get("user") or None, "workdir": insp.get("WorkingDir") or None,
            "detach_keys": insp.get("DetachKeys") or None}


class ExecSession:
    """A handle on one exec session; its properties show the state as last read."""

    def __init__(self, ctr: Container, insp: dict[str, Any]) -> None:
        self._ctr = ctr
        self._insp = insp

    @property
    def id(self) -> str:
        return str(self._insp["ID"])

    @property
    def container(self) -> Container:
        return self._ctr

    @property
    def container_id(self) -> str:
        return self._ctr.id

    @property
    def config(self) -> dict[str, Any]:
        return _config(self._insp)

    @property
    def command(self) -> list[str]:
        return list(self.config["command"])

    @property
    def state(self) -> ExecState:
        try:
            return ExecState(self._insp.get("State") or "created")
        except ValueError:
            return ExecState.CREATED

    @property
    def pid(self) -> int:
        return int(self._insp.get("Pid") or 0)

    @property
    def exit_code(self) -> int | None:
        return None if self.state is not ExecState.STOPPED else int(self._insp["ExitCode"])

    def __repr__(self) -> str:
        return f"<ExecSession {self.id[:12]} in {self._ctr.id[:12]} {self.state.value} (remote)>"

    def _api(self) -> Any:
        return self._ctr.api

    # -- start and attach ---------------------------------------------------------------------
    def start(self) -> None:
        """Start without attaching (``{"Detach": true}``)."""
        self._api().request("POST", f"/exec/{self.id}/start", body={"Detach": True},
                            not_found=NoSuchExecSessionError)
        self.inspect()

    def open_stream(self, *, start: bool, tty_size: tuple[int, int] | None = None
                    ) -> ExecStream:
        """``start`` the session, or connect to a RUNNING one (started detached), with its
        stdio on a hijacked connection. A session that cannot start says why on that
        stream (as the service sends it); one that is not running cannot be attached to
        (ExecSessionStateInvalidError)."""
        if not start:
            return self._attach_stream(None)
        body: dict[str, Any] = {"Detach": False, "Tty": bool(self.config["tty"])}
        if tty_size:
            body.update(h=int(tty_size[0]), w=int(tty_size[1]))
        resp = self._api().open("POST", f"/exec/{path_part(self.id)}/start", body=body,
                                upgrade=True, not_found=NoSuchExecSessionError)
        conn = StreamConnection(resp.sock, resp.leftover, framed=not self.config["tty"])
        return ExecStream(self, conn)

    def _attach_stream(self, detach_keys: str | None) -> ExecStream:
        """``POST /exec/{id}/attach``: the running session's stdio (the service detaches on
        ``detach_keys`` too, default the session's)."""
        query: dict[str, Any] = {"stdin": bool(self.config["stdin"])}
        if detach_keys is not None:
            query["detachKeys"] = detach_keys
        resp = self._api().open("POST", f"/exec/{path_part(self.id)}/attach", query,
                                upgrade=True, not_found=NoSuchExecSessionError)
        conn = StreamConnection(resp.sock, resp.leftover, framed=not self.config["tty"])
        return ExecStream(self, conn)

    def start_and_attach(self, stdin: Input = None, stdout: Output | None = None,
                         stderr: Output | None = None, *, detach_keys: str | None = None,
                         tty_size: tuple[int, int] | None = None) -> int | None:
        """Start and stream stdio until the process exits (its exit code) or the caller
        detaches (None)."""
        keys = self._attach_checks(stdin, detach_keys)
        return self.open_stream(start=True, tty_size=tty_size).run(stdin, stdout, stderr, keys)

    def attach(self, stdin: Input = None, stdout: Output | None = None,
               stderr: Output | None = None, *,
               detach_keys: str | None = None) -> int | None:
        """Attach to a RUNNING session (one started with ``start()``) until it exits: its
        exit code, or None if the caller detached. Output written before is not replayed.
        Raises ExecSessionStateInvalidError unless RUNNING."""
        keys = self._attach_checks(stdin, detach_keys)
        return self._attach_stream(detach_keys).run(stdin, stdout, stderr, keys)

    def _attach_checks(self, stdin: Input, detach_keys: str | None) -> bytes:
        if detach_keys is None:
            detach_keys = self.config.get("detach_keys") or DEFAULT_DETACH_KEYS
        keys = parse_detach_keys(detach_keys)
        if stdin is not None and not self.config["stdin"]:
            raise InvalidArgumentError(
                f"exec session {self.id[:12]} was created without stdin: it cannot take input")
        return keys

    # -- the running session ------------------------------------------------------------------
    def resize(self, height: int, width: int) -> None:
        self._api().request("POST", f"/exec/{self.id}/resize", {"h": height, "w": width},
                            not_found=NoSuchExecSessionError)

    def wait(self, timeout: float | None = None) -> int:
        """Until the session has exited: its exit code."""
        from ..engine.errors import TimeoutCtrError  # noqa: PLC0415 - lazy: rarely raised

        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            insp = self.inspect()
            if not insp.get("Running") and insp.get("State") != "created":
                return int(insp["ExitCode"])
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutCtrError(f"exec session {self.id[:12]} is still running after "
                                      f"{timeout} seconds")
            time.sleep(_WAIT_POLL)

    def stop(self, timeout: int | None = None) -> None:
        """Stop a RUNNING session: SIGTERM, SIGKILL after ``timeout`` seconds (default the
        container's stop timeout). Raises ExecSessionStateInvalidError unless RUNNING."""
        self._api().request("POST", f"/exec/{path_part(self.id)}/stop",
                            None if timeout is None else {"t": timeout},
                            not_found=NoSuchExecSessionError)
        with contextlib.suppress(NoSuchExecSessionError):
            self.inspect()  # gone meanwhile (its container stopped): the last reading stays

    def remove(self, force: bool = False) -> None:
        """Remove the session; a RUNNING one needs ``force`` and is killed (exit code 137)."""
        report = self._api().json("DELETE", f"/exec/{path_part(self.id)}", {"force": force},
                                  not_found=NoSuchExecSessionError)
        code = report.get("ExitCode") if isinstance(report, dict) else None
        if code is not None:
            self._insp = {**self._insp, "State": ExecState.STOPPED.value, "Running": False,
                          "ExitCode": int(code), "Pid": 0}

    def inspect(self) -> dict[str, Any]:
        insp: dict[str, Any] = self._api().json("GET", f"/exec/{path_part(self.id)}/json",
                                                not_found=NoSuchExecSessionError)
        self._insp = insp
        return insp


class ExecStream:
    """An attached exec session (engine/exec.ExecStream): ``conn`` is the hijacked
    connection."""

    def __init__(self, session: ExecSession, conn: StreamConnection) -> None:
        self.session = session
        self.conn: StreamConnection | None = conn

    @property
    def session_id(self) -> str:
        return self.session.id

    @property
    def detach_keys(self) -> bytes:
        return parse_detach_keys(self.session.config.get("detach_keys") or DEFAULT_DETACH_KEYS)

    def run(self, stdin: Input, stdout: Output | None, stderr: Output | None,
            detach_keys: bytes | None = None) -> int | None:
        """Copy stdio until the output ends (the exit code) or the caller detaches (None)."""
        keys = self.detach_keys if detach_keys is None else detach_keys
        try:
            if self.conn is not None and attach_streams(
                    self.conn, as_stream(stdin), stdout, stderr,  # type: ignore[arg-type]
                    keys) == "detached":
                return None
            return self.finish()
        finally:
            self.close()

    def finish(self) -> int:
        """After the output ended: the exit code (the service recorded it before it closed
        the stream)."""
        self.close()
        return self.session.wait()

    def detach(self) -> None:
        if self.conn is not None:
            self.conn.detach()
        self.close()

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
