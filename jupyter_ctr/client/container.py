"""Container over the service: the engine's Container methods (engine/container.py), each
one request to the service's libpod routes (or a stream on a connection of its own), with
the engine's return shapes and exceptions."""

from __future__ import annotations

import contextlib
import json
import threading
from pathlib import Path

from ..engine.errors import (
    ContainerRemovedError,
    ContainerRunningError,
    ContainerStateInvalidError,
    ContainerStoppedError,
    NoSuchContainerError,
)
from ..engine.records import Snapshot
from ..engine.state import ContainerState
from . import records
from .transport import path_part

TYPE_CHECKING = False
if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
    from typing import Any, BinaryIO

    from ..engine.checkpoint import CheckpointOptions, CheckpointStats
    from ..engine.logs import LogLine
    from ..engine.records import ContainerConfig, ContainerSnapshot
    from .exec import ExecSession
    from .runtime import Runtime
    from .streams import AttachStream

S = ContainerState
#: engine/stdio.DEFAULT_DETACH_KEYS (not imported: attach alone needs the stdio module).
DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"
#: How long a follower waits on the socket before it looks at its stop condition.
_STOP_POLL = 0.2


class Container:
    """A handle on one container of the service. ``config`` is fixed at create; every verb
    and ``state`` ask the service."""

    def __init__(self, runtime: Runtime, snap: ContainerSnapshot, *, full: bool = True) -> None:
        self._rt = runtime
        self._snap = snap
        self._full = full  # False: read from a list item, which leaves most config out

    # -- identity -------------------------------------------------------------------------
    @property
    def id(self) -> str:
        return self._snap.id

    @property
    def name(self) -> str:
        return self._snap.name

    @property
    def config(self) -> ContainerConfig:
        """The configuration (as inspect shows it: read once, when first needed)."""
        if not self._full:
            self.observe()
        return self._snap.config

    @property
    def state(self) -> ContainerState:
        return self.observe().state

    @property
    def runtime(self) -> Runtime:
        return self._rt

    @property
    def api(self) -> Any:
        """The service connection (client/transport.Transport)."""
        return self._rt.api

    def __repr__(self) -> str:
        return f"<Container {self.id[:12]} {self.name} (remote)>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Container) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def _path(self, verb: str = "") -> str:
        return f"/containers/{path_part(self.id)}" + (f"/{verb}" if verb else "")

    def _post(self, verb: str, query: Mapping[str, Any] | None = None) -> tuple[int, bytes]:
        status, data = self.api.request("POST", self._path(verb), query)
        return int(status), bytes(data)

    # -- lifecycle ------------------------------------------------------------------------
    def _start_dependencies(self) -> None:
        """``recursive``: start what this container needs first (as the engine does)."""
        for dep in self.config.dependencies:
            with contextlib.suppress(ContainerRunningError):
                self._rt.lookup_container(dep).start(recursive=True)

    def init(self, recursive: bool = False) -> None:
        if recursive:
            self._start_dependencies()
        status, _ = self._post("init")
        if status == 304:
            snap = self.observe()
            raise ContainerStateInvalidError(
                f"container has already been created in runtime; container {self.id[:12]} "
                f"({self.name}) is in state {snap.state.value}")

    def start(self, recursive: bool = False) -> None:
        if recursive:
            self._start_dependencies()
        status, _ = self._post("start")
        if status == 304:
            raise ContainerRunningError(f"container {self.id[:12]} ({self.name}) is already "
                                        "running")

    def stop(self, timeout: int | None = None) -> None:
        status, _ = self._post("stop", {"timeout": timeout})
        if status == 304:
            raise ContainerStoppedError(f"container {self.id[:12]} ({self.name}) is already "
                                        f"stopped (state {self.observe().state.value})")

    def restart(self, timeout: int | None = None) -> None:
        self._post("restart", {"t": timeout})

    def kill(self, signal: str | int = "SIGKILL") -> None:
        self._post("kill", {"signal": signal})

    def pause(self) -> None:
        self._post("pause")

    def unpause(self) -> None:
        self._post("unpause")

    def wait(self) -> int:
        """Until the container is stopped or exited: its exit code."""
        return self.wait_for_condition(["stopped", "exited"])

    def wait_for_condition(self, conditions: ContainerState | str |
                           Iterable[ContainerState | str]) -> int:
        items = [conditions] if isinstance(conditions, (str, ContainerState)) \
            else list(conditions)
        names = [c.value if isinstance(c, ContainerState) else str(c) for c in items]
        try:
            _, data = self._post("wait", {"condition": names})
        except (NoSuchContainerError, ContainerRemovedError):
            # Removed meanwhile (auto-remove): its recorded exit code, as the engine's wait
            # returns, from the journal's "died" event.
            code = self._recorded_exit_code() if {"stopped", "exited"} & set(names) else None
            if code is None:
                raise
            return code
        return int(data.decode().strip() or 0)

    def _recorded_exit_code(self) -> int | None:
        died = list(self._rt.events(since=self._snap.config.created / 1e9 - 1,
                                    filters={"container": [self.id], "event": ["died"]}))
        if not died:
            return None
        try:
            return int(died[-1].attributes.get("exitCode", ""))
        except ValueError:
            return None

    def mount(self) -> Path:
        _, data = self._post("mount")
        return Path(data.decode().strip())

    def unmount(self, force: bool = False) -> None:
        self._post("unmount")

    def remove(self, force: bool = False, timeout: int | None = None) -> None:
        self.api.request("DELETE", self._path(), {"force": force, "t": timeout})

    def is_running(self) -> bool:
        try:
            return self.observe().state in (S.RUNNING, S.PAUSED, S.STOPPING, S.CREATED)
        except NoSuchContainerError:
            return False

    # -- attach ---------------------------------------------------------------------------
    def open_attach(self, *, logs: bool = False, stdin: bool = True) -> AttachStream:
        """Attach to a CREATED or RUNNING container (a hijacked ``/attach``); the service
        answers once conmon accepted, so a container started now is seen from its first
        byte. Detach keys are the caller's business (as with the engine's AttachStream)."""
        from .streams import AttachStream, StreamConnection  # noqa: PLC0415 - lazy: CLI start-up

        # The service initializes a configured or exited container first (Docker's
        # attach-then-start); the engine refuses: so is it refused here.
        st = self.observe().state
        if st not in (S.CREATED, S.RUNNING):
            raise ContainerStateInvalidError(
                "can only attach to created or running containers; container "
                f"{self.id[:12]} ({self.name}) is in state {st.value}")
        cfg = self.config
        take_stdin = stdin and bool(cfg.stdin)
        resp = self.api.open("POST", self._path("attach"), {
            "stream": True, "logs": logs, "stdin": take_stdin, "stdout": True,
            "stderr": True, "detachKeys": ""}, upgrade=True)
        conn = StreamConnection(resp.sock, resp.leftover, framed=not cfg.tty)
        return AttachStream(conn, stdin=take_stdin, tty=bool(cfg.tty))

    def attach(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None,
               stderr: BinaryIO | None = None, detach_keys: str = DEFAULT_DETACH_KEYS,
               logs: bool = False) -> str:
        from ..engine.stdio import parse_detach_keys  # noqa: PLC0415 - lazy: CLI start-up

        keys = parse_detach_keys(detach_keys)
        with self.open_attach(logs=logs) as stream:
            return stream.copy(stdin, stdout, stderr, keys)

    def start_and_attach(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None,
                         stderr: BinaryIO | None = None,
                         detach_keys: str = DEFAULT_DETACH_KEYS) -> str:
        """Attach, then start: not a byte of output is lost. "exited" or "detached"."""
        from ..engine.stdio import parse_detach_keys  # noqa: PLC0415 - lazy: CLI start-up

        keys = parse_detach_keys(detach_keys)
        st = self.state
        if st is S.RUNNING:
            raise ContainerRunningError(f"container {self.id[:12]} ({self.name}) is "
                                        "already running")
        if st not in (S.CONFIGURED, S.CREATED, S.STOPPED, S.EXITED):
            raise ContainerStateInvalidError(
                "container must be in Created or Stopped state to be started; container "
                f"{self.id[:12]} ({self.name}) is in state {st.value}")
        if st is not S.CREATED:
            self.init()
        with self.open_attach() as stream:
            self.start()
            return stream.copy(stdin, stdout, stderr, keys)

    def resize(self, height: int, width: int) -> None:
        self._post("resize", {"h": height, "w": width})

    # -- reading --------------------------------------------------------------------------
    def logs(self, tail: int | None = None, since: float | None = None,
             until: float | None = None, follow: bool = False,
             stop: threading.Event | Callable[[], bool] | None = None) -> Iterator[LogLine]:
        """Log lines; a follow ends when the container stops or ``stop`` says so."""
        resp = self.api.open("GET", self._path("logs"), {
            "stdout": True, "stderr": True, "timestamps": True, "follow": follow,
            "tail": tail, "since": since, "until": until})
        stopped = None if stop is None else \
            (stop.is_set if isinstance(stop, threading.Event) else stop)
        return _log_lines(resp, stopped)

    def stats(self) -> dict[str, Any]:
        """CPU ns, memory bytes and limit, pids of a running or paused container."""
        from ..engine.timeutil import parse_rfc3339_ns  # noqa: PLC0415 - lazy: stats only

        s = self.api.json("GET", self._path("stats"), {"stream": False, "one-shot": True})
        mem = s.get("memory_stats") or {}
        return {"id": self.id, "name": self.name,
                "cpu_ns": int(((s.get("cpu_stats") or {}).get("cpu_usage") or {})
                              .get("total_usage") or 0),
                "memory_bytes": int(mem.get("usage") or 0),
                "memory_limit": int(mem.get("limit") or 0),
                "pids": int((s.get("pids_stats") or {}).get("current") or 0),
                "time_ns": parse_rfc3339_ns(s.get("read") or "")}

    def top(self) -> dict[str, Any]:
        return dict(self.api.json("GET", self._path("top")))

    def observe(self) -> ContainerSnapshot:
        """One reading (from inspect)."""
        self._snap = records.snapshot_from_inspect(self._inspect())
        self._full = True
        return self._snap

    def _inspect(self) -> dict[str, Any]:
        insp: dict[str, Any] = self.api.json("GET", self._path("json"))
        return insp

    def inspect(self) -> dict[str, Any]:
        """The engine's inspect dict."""
        insp = self._inspect()
        self._snap = records.snapshot_from_inspect(insp)
        self._full = True
        return records.engine_inspect(insp)

    def export(self, out: str | os.PathLike[str] | BinaryIO) -> None:
        """The root filesystem as a tar stream into ``out`` (a path or a binary file)."""
        resp = self.api.open("GET", self._path("export"))
        with resp, (open(out, "wb") if isinstance(out, (str, Path)) or hasattr(
                out, "__fspath__") else contextlib.nullcontext(out)) as fh:
            while (data := resp.read()) is not None:
                fh.write(data)

    # -- checkpoint -----------------------------------------------------------------------
    def checkpoint(self, options: CheckpointOptions | None = None,
                   **kw: Any) -> CheckpointStats:
        """CRIU checkpoint; with ``target_file`` the archive comes back and is written
        there."""
        from ..engine.checkpoint.options import (  # noqa: PLC0415 - lazy: dataclasses
            check_options,
            merge_options,
        )

        opts = merge_options(options, kw)
        # What the route cannot carry is refused here, as the engine refuses it (its
        # pre-checkpoint message asks this host's CRIU: the service's host, usually).
        check_options(opts, "checkpoint", "criu")
        query: dict[str, Any] = {
            "keep": opts.keep, "leaveRunning": opts.keep_running,
            "tcpEstablished": opts.tcp_established, "ignoreRootFS": opts.ignore_rootfs,
            "printStats": opts.print_stats, "fileLocks": opts.file_locks,
            "compression": opts.compression if opts.compression != "gzip" else None}
        if opts.target_file is None:
            return records.checkpoint_stats(self.api.json("POST", self._path("checkpoint"),
                                                          query))
        query["export"] = True
        resp = self.api.open("POST", self._path("checkpoint"), query)
        size = 0
        with resp, open(opts.target_file, "wb") as fh:
            while (data := resp.read()) is not None:
                fh.write(data)
                size += len(data)
        from ..engine.checkpoint.options import CheckpointStats  # noqa: PLC0415 - lazy: dataclasses

        return CheckpointStats(id=self.id, name=self.name, archive_size=size)

    def restore(self, options: CheckpointOptions | None = None, **kw: Any) -> CheckpointStats:
        from ..engine.checkpoint.options import (  # noqa: PLC0415 - lazy: dataclasses
            check_options,
            merge_options,
        )

        opts = merge_options(options, kw)
        check_options(opts, "restore", "criu")
        query = {"keep": opts.keep, "tcpEstablished": opts.tcp_established,
                 "tcpClose": opts.tcp_close, "ignoreRootFS": opts.ignore_rootfs,
                 "printStats": opts.print_stats, "fileLocks": opts.file_locks}
        return records.checkpoint_stats(self.api.json("POST", self._path("restore"), query))

    # -- checkpoint timeline (server/handlers/timeline.py) ------------------------------------
    def _timeline_path(self, step: str = "", verb: str = "") -> str:
        path = f"/api/containers/{path_part(self.id)}/snapshots"
        return path + (f"/{path_part(step)}" if step else "") + (f"/{verb}" if verb else "")

    def snapshot(self, step: str, *, replace: bool = False) -> Snapshot:
        """Snapshot the container as ``step`` (the engine's Container.snapshot)."""
        return Snapshot.from_dict(self.api.json("POST", self._timeline_path(),
                                                {"step": step, "replace": replace or None}))

    def snapshots(self) -> list[Snapshot]:
        return [Snapshot.from_dict(d) for d in self.api.json("GET", self._timeline_path())]

    def rewind(self, step: str) -> Snapshot:
        return Snapshot.from_dict(self.api.json("POST", self._timeline_path(step, "rewind")))

    def remove_snapshot(self, step: str) -> None:
        self.api.request("DELETE", self._timeline_path(step))

    def export_snapshot(self, step: str, target: str | os.PathLike[str]) -> int:
        """The snapshot's archive written to ``target`` (whole or not at all); its size."""
        from ..engine.checkpoint.archive import export_target  # noqa: PLC0415 - lazy: tarfile

        dest = export_target(target)
        resp = self.api.open("GET", self._timeline_path(step, "export"))
        partial = dest.with_name(f".{dest.name}.partial")
        size = 0
        try:
            with resp, open(partial, "wb") as fh:
                while (data := resp.read()) is not None:
                    fh.write(data)
                    size += len(data)
            partial.replace(dest)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
            raise
        return size

    # -- exec -----------------------------------------------------------------------------
    def exec(self, command: Sequence[str] | str, *, tty: bool = False, stdin: bool = False,
             env: Mapping[str, str] | Sequence[str] | None = None, user: str | None = None,
             workdir: str | None = None, detach_keys: str | None = None) -> ExecSession:
        """A new exec session in this RUNNING container (not started)."""
        if isinstance(command, str):
            from ..engine.parsing import parse_command  # noqa: PLC0415 - lazy: string commands

            command = parse_command(command, "must provide a non-empty command to start an "
                                             "exec session")
        if env is not None and not isinstance(env, (list, tuple)):
            env = [f"{k}={v}" for k, v in env.items()]  # type: ignore[union-attr]
        body = {"Cmd": list(command), "Tty": tty, "AttachStdin": stdin, "AttachStdout": True,
                "AttachStderr": True, "Env": list(env) if env is not None else None,
                "User": user, "WorkingDir": workdir, "DetachKeys": detach_keys}
        created = self.api.json("POST", self._path("exec"),
                                body={k: v for k, v in body.items() if v is not None})
        return self._rt.lookup_exec(created["Id"], container=self)

    def exec_session(self, session_id: str) -> ExecSession:
        return self._rt.lookup_exec(session_id, container=self)


def _log_lines(resp: Any, stopped: Callable[[], bool] | None) -> Iterator[LogLine]:
    """The frames of a logs answer as LogLines, until its end or ``stopped()``."""
    from ..server.framing import demux_frames  # noqa: PLC0415 - lazy: logs only

    rest = b""
    for data in resp.chunks(stopped, _STOP_POLL):
        frames, rest = demux_frames(rest + data)
        for stream, chunk in frames:
            yield records.log_line(stream, chunk)


def dump_query(filters: Mapping[str, Sequence[str]] | None) -> str | None:
    """A filters mapping as the ``filters`` query parameter (JSON)."""
    return json.dumps({k: list(v) for k, v in filters.items()}) if filters else None
