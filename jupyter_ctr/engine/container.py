"""Container: one public method per libpod verb, each shaped lock -> sync -> check -> act ->
save -> event (libpod/container_api.go). Exec and checkpoint/restore verbs come from their
mixins (container_exec.py, container_checkpoint.py, container_timeline.py: the
checkpoint timeline); the record, the lock, crash recovery and
the steps verbs share are ContainerBase's (container_internal.py).
"""

from __future__ import annotations

import contextlib
import os
import signal as signal_mod
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from . import cgroups, limits, procinfo
from .container_checkpoint import CheckpointVerbs
from .container_exec import ExecVerbs
from .container_internal import ContainerBase
from .container_timeline import TimelineVerbs
from .errors import (
    ContainerRemovedError,
    ContainerRunningError,
    DependencyExistsError,
    InvalidArgumentError,
    NoSuchContainerError,
    NotImplementedCtrError,
    OCIRuntimeError,
    TimeoutCtrError,
)
from .oci import parse_signal
from .records import ContainerSnapshot
from .state import IN_RUNTIME, ContainerState
from .timeutil import rfc3339_ns

# What only creating containers or reading logs needs is imported where it is used: conmon's
# exit command (engine/cleanup.py) loads this module at every container exit. typing too is
# for type checkers only: importing it costs every CLI command ~2 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, BinaryIO, TypeVar

    from .attach import AttachStream
    from .logs import LogLine

    T = TypeVar("T")

#: The states a restore accepts (``ContainerSnapshot.restorable``).
RESTORABLE = frozenset({ContainerState.CONFIGURED, ContainerState.EXITED})

S = ContainerState


class Container(ExecVerbs, TimelineVerbs, CheckpointVerbs, ContainerBase):
    """A handle on one container: one public method per libpod verb. Cheap to create; every
    verb re-reads the shared state."""

    # -- init / start -----------------------------------------------------------------------
    def init(self, recursive: bool = False) -> None:
        """Create the container in the OCI runtime: CONFIGURED/STOPPED/EXITED -> CREATED.

        Dependencies must run; ``recursive`` starts them first.
        """
        with self._lock_and_sync():
            st = self._record.state
            if st not in (S.CONFIGURED, S.STOPPED, S.EXITED):
                raise self._err_state("container has already been created in runtime")
            self._check_dependencies(recursive)
            self._init_runtime()
            self._event("init")

    def start(self, recursive: bool = False) -> None:
        """Start the container: CONFIGURED/CREATED/STOPPED/EXITED -> RUNNING.

        Dependencies must run; ``recursive`` starts them first.
        """
        with self._lock_and_sync():
            self._start_unlocked(recursive=recursive)

    # -- attach (libpod Attach, StartAndAttach, AttachResize) ------------------------------
    def open_attach(self, *, logs: bool = False, stdin: bool = True) -> AttachStream:
        """Connect to a CREATED or RUNNING container's stdio (libpod Attach/HTTPAttach) and
        record the attach event. The AttachStream is conmon's attach socket, accepted (a
        CREATED container started now is seen from its first byte), with ``logs`` the log up
        to then to replay first; input goes through it only if ``stdin`` and the container
        was created with stdin. The lock is not held while attached; the state is left as it
        is. Raises ContainerStateInvalidError otherwise."""
        from .attach import AttachStream  # noqa: PLC0415 - lazy: exit command / CLI start-up

        with self._lock_and_sync():
            self._check_attachable()
        try:
            stream = AttachStream.connect(
                self.bundle, self.log_path, logs=logs,
                stdin=stdin and bool(self.config.stdin), tty=bool(self.config.tty))
        except OCIRuntimeError:
            with self._lock_and_sync():
                self._check_attachable()  # it stopped meanwhile: say so
            raise
        self._event("attach")
        return stream

    def attach(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None,
               stderr: BinaryIO | None = None, detach_keys: str = "ctrl-p,ctrl-q",
               logs: bool = False) -> str:
        """Attach to a CREATED or RUNNING container's stdio until it exits ("exited") or the
        detach keys are typed ("detached"). ``logs`` replays the log first (gapless). stdin
        is forwarded only if the container was created with stdin."""
        from .stdio import parse_detach_keys  # noqa: PLC0415 - lazy: exit command / CLI start-up

        keys = parse_detach_keys(detach_keys)
        with self.open_attach(logs=logs) as stream:
            return stream.copy(stdin, stdout, stderr, keys)

    def start_and_attach(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None,
                         stderr: BinaryIO | None = None,
                         detach_keys: str = "ctrl-p,ctrl-q") -> str:
        """Attach, then start: not a byte of output is lost (libpod StartAndAttach).

        Accepts CONFIGURED, CREATED, STOPPED, EXITED (init first where needed); connects to
        the attach socket before ``start``, so nothing is lost even if the process exits at
        once. Returns "exited" or "detached".
        """
        from .attach import AttachStream  # noqa: PLC0415 - lazy: exit command / CLI start-up
        from .stdio import parse_detach_keys  # noqa: PLC0415 - lazy: exit command / CLI start-up

        keys = parse_detach_keys(detach_keys)
        with self._lock_and_sync():
            st = self._record.state
            if st is S.RUNNING:
                raise ContainerRunningError(f"container {self._id[:12]} ({self.name}) is "
                                            "already running")
            if st not in (S.CONFIGURED, S.CREATED, S.STOPPED, S.EXITED):
                raise self._err_state("container must be in Created or Stopped state to be "
                                      "started")
        if st is not S.CREATED:
            self.init()
        with AttachStream.connect(self.bundle, self.log_path, logs=False,
                                  stdin=bool(self.config.stdin),
                                  tty=bool(self.config.tty)) as stream:
            self.start()
            self._event("attach")
            return stream.copy(stdin, stdout, stderr, keys)

    def resize(self, height: int, width: int) -> None:
        """Resize the tty of a CREATED or RUNNING container (libpod AttachResize).

        Containers without a tty accept it and nothing happens: podman writes to conmon's ctl
        all the same, but conmon never reads the size pipe then, and enough of them would
        fill it and block conmon, so nothing is written.
        """
        from .conmon_socket import check_tty_size, resize_tty  # noqa: PLC0415 - lazy: exit command / CLI start-up

        check_tty_size(height, width)
        with self._lock_and_sync():
            if self._record.state not in (S.CREATED, S.RUNNING):
                raise self._err_state("can only resize created or running containers")
            if self.config.tty:
                resize_tty(self.bundle, height, width)

    def _check_attachable(self) -> None:
        if self._record.state not in (S.CREATED, S.RUNNING):
            raise self._err_state("can only attach to created or running containers")

    # -- stop / kill / wait ---------------------------------------------------------------
    def stop(self, timeout: int | None = None) -> None:
        """Stop signal, then SIGKILL after ``timeout`` seconds (config default 10; 0 = kill now).

        Accepts CREATED, RUNNING, STOPPING; leaves EXITED (cleaned up).
        Raises ContainerStoppedError for STOPPED/EXITED, ContainerStateInvalidError otherwise.
        """
        if timeout is not None and timeout < 0:
            raise InvalidArgumentError(f"stop timeout must not be negative, got {timeout}")
        if timeout is not None:
            limits.check("stop timeout", timeout, 0, limits.TIMEOUT_MAX)
        with self._lock_and_sync():
            self._stop_unlocked(timeout)

    def restart(self, timeout: int | None = None) -> None:
        """Stop (if running, with ``timeout``) and start again (libpod RestartWithTimeout).

        Accepts CONFIGURED, CREATED, RUNNING, STOPPED, EXITED; leaves RUNNING.
        """
        with self._lock_and_sync():
            st = self._record.state
            if st not in (S.CONFIGURED, S.CREATED, S.RUNNING, S.STOPPED, S.EXITED):
                raise self._err_state("unable to restart a container in a paused or unknown "
                                      "state")
            self._check_dependencies(recursive=False)
            if st in (S.RUNNING, S.CREATED):
                self._stop_unlocked(timeout)
            if self._record.state is not S.RUNNING:
                self._start_unlocked()
            # else: started again by another process while this stop waited for the exit
            # (without the lock): a fresh run, what a restart asks for.
            self._event("restart")

    def kill(self, signal: str | int = "SIGKILL") -> None:
        """Send a signal to the container's init process. Accepts RUNNING, STOPPING, PAUSED.

        After SIGKILL it waits (up to 30 s) for the exit, without holding the lock: ps and
        inspect must not block behind a dying container."""
        signum = parse_signal(signal)
        with self._lock_and_sync():
            st = self._record.state
            if st not in (S.RUNNING, S.STOPPING, S.PAUSED):
                raise self._err_state("can only kill running containers")
            try:
                self._signal(signum)
            except OCIRuntimeError:
                if not self._exited_meanwhile():
                    raise
                self._save()
                raise self._err_state("can only kill running containers") from None
            self._record.stopped_by_user = True
            self._save()
            self._event("kill", signal=_signal_name(signum))
            if signum != signal_mod.SIGKILL:
                return
            if st is S.PAUSED:
                with contextlib.suppress(OCIRuntimeError):
                    self._set_frozen(False)  # a frozen task never dies
            if self._batched:
                if self._wait_exit_file(30):
                    self._read_exit_file()
                return
        if not self._wait_exit_file(30):
            return
        # The next sync reads the exit file (STOPPED); conmon's exit command cleans up.
        with contextlib.suppress(ContainerRemovedError), self._lock_and_sync():
            pass

    def pause(self) -> None:
        """Freeze every process of the container (cgroup freezer): RUNNING -> PAUSED."""
        with self._lock_and_sync():
            st = self._record.state
            if st is S.PAUSED:
                raise self._err_state("container is already paused")
            if st is not S.RUNNING:
                raise self._err_state("container is not running, can't pause")
            try:
                self._set_frozen(True)
            except OCIRuntimeError:
                if not self._exited_meanwhile():
                    raise
                self._save()
                raise self._err_state("container is not running, can't pause") from None
            self._set(S.PAUSED)
            self._save()
            self._event("pause")

    def unpause(self) -> None:
        """Thaw a paused container: PAUSED -> RUNNING."""
        with self._lock_and_sync():
            if self._record.state is not S.PAUSED:
                raise self._err_state("container is not paused, can't unpause")
            self._set_frozen(False)
            self._set(S.RUNNING)
            self._save()
            self._event("unpause")

    def wait(self) -> int:
        """Block until the container exits; returns its exit code (any state)."""
        return self.wait_for_condition([S.STOPPED, S.EXITED])

    def wait_for_condition(self, conditions: ContainerState | str |
                           Iterable[ContainerState | str], interval: float = 0.25,
                           timeout: float | None = None) -> int:
        """Block until the container reaches one of ``conditions`` (states or their names).

        Returns the exit code for stopped/exited, else -1. A container removed while waited
        for returns its recorded exit code.
        """
        wanted = _parse_conditions(conditions)
        exit_wait = wanted & {S.STOPPED, S.EXITED}
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                with self._lock_and_sync(resync=True):
                    st = self._record.state
                    if exit_wait and st in (S.CONFIGURED, S.CREATED) and \
                            not self._record.started_at and st not in wanted:
                        if st is S.CONFIGURED:
                            return 0  # never ran, as libpod answers
                    if st in wanted or (exit_wait and st in (S.STOPPED, S.EXITED)):
                        code = self._record.exit_code
                        return int(code) if code is not None and exit_wait else -1
                    conmon = int(self._record.conmon_pid or 0)
            except ContainerRemovedError:
                code = self._rt.store.exit_code(self._id)
                if code is not None and exit_wait:
                    return code
                raise
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutCtrError(f"timed out waiting for container {self._id[:12]} to be "
                                      f"{'/'.join(s.value for s in wanted)}")
            if exit_wait and st in (S.RUNNING, S.PAUSED, S.STOPPING, S.CREATED) and conmon:
                self._wait_exit_file(min(interval, 0.1) if interval else 0.1)
            else:
                time.sleep(interval)

    # -- sync / cleanup ---------------------------------------------------------------------
    def sync(self) -> None:
        """Re-read the state and reconcile it with runc (fixes drift made behind our back)."""
        if self._batched:
            self._reconcile()
            return
        if not self._valid:
            raise ContainerRemovedError(f"container {self._id} has already been removed")
        with self._lock:
            self._sync_locked(reconcile=True)
            self._event("sync")

    def cleanup(self, run_token: str | None = None) -> None:
        """Free runtime resources of a stopped container (conmon's exit command calls this).

        Accepts CONFIGURED, CREATED, STOPPED, STOPPING, EXITED; refuses RUNNING and PAUSED.
        With ``run_token`` (the exit command's), does nothing unless that run is current.
        """
        with self._lock_and_sync():
            if run_token is not None and run_token != self._record.run_token:
                return  # a late exit command of an earlier run: that run is long cleaned up
            st = self._record.state
            if st in (S.RUNNING, S.PAUSED):
                raise self._err_state("container is running or paused, refusing to clean up")
            if st is S.REMOVING:
                raise self._err_state("container is being removed")
            if st is S.STOPPING:
                return  # the stopping process cleans up when the exit arrives
            self._cleanup_unlocked()
            if st is S.STOPPED and self._should_restart():
                self._record.restart_count = int(self._record.restart_count or 0) + 1
                self._save()
                self._event("restart")
                self._start_unlocked(retain_retries=True)

    # -- storage: mount, unmount, export --------------------------------------------------
    def mount(self) -> Path:
        """Mount the root filesystem and return its path; mounts are counted (any state but
        REMOVING)."""
        with self._lock_and_sync():
            if self._record.state is S.REMOVING:
                raise self._err_state("cannot mount a container that is being removed")
            path = self._storage().mount()
            self._record.mounted = True
            self._record.mount_count = int(self._record.mount_count or 0) + 1
            self._save()
            self._event("mount")
            return path

    def unmount(self, force: bool = False) -> None:
        """Drop one mount. The last mount stays while the container runs, is paused, or has
        exec sessions; ``force`` drops all user mounts at once."""
        with self._lock_and_sync():
            st = self._record.state
            count = int(self._record.mount_count or 0)
            if count == 0 and self._record.mounted:
                if st in (S.RUNNING, S.PAUSED):
                    raise self._err_state("cannot unmount storage as the container is running "
                                          "or paused")
                if self._live_exec_sessions():
                    raise self._err_state("container has active exec sessions, refusing to "
                                          "unmount")
                if st in IN_RUNTIME and not force:
                    raise self._err_state("can't unmount the last mount, it is still in use")
            count = 0 if force else max(count - 1, 0)
            self._record.mount_count = count
            if count == 0 and self._record.state not in IN_RUNTIME:
                self._storage().unmount()
                self._record.mounted = False
            self._save()
            self._event("unmount")

    def export(self, out: str | os.PathLike[str] | BinaryIO) -> None:
        """Write the root filesystem as a tar archive (``podman export``) to a path or a
        binary file object. Any state but REMOVING."""
        with self._lock_and_sync():
            if self._record.state is S.REMOVING:
                raise self._err_state("cannot export a container that is being removed")
            storage = self._storage()
            was_mounted = storage.is_mounted()
            rootfs = storage.mount()
            try:
                argv = ["tar", "--numeric-owner", "--xattrs", "-C", str(rootfs), "-cf", "-",
                        "."]
                if isinstance(out, (str, os.PathLike)):
                    with open(out, "wb") as fh:
                        _stream_command(argv, fh)
                else:
                    _stream_command(argv, out)
            finally:
                if not was_mounted:
                    storage.unmount()
            self._event("export")

    # -- artifacts: small files the engine keeps with the container ---------------------------
    def _artifact_path(self, name: str) -> Path:
        if (not isinstance(name, str) or not name or name in (".", "..") or "/" in name
                or "\0" in name or len(name) > 255):
            raise InvalidArgumentError(f"invalid artifact name {name!r}: a plain file name is "
                                       "required (no '/', NUL, '.' or '..')")
        folder = self._rt.container_dir(self._id) / "artifacts"
        path = folder / name
        if path.is_symlink():
            raise InvalidArgumentError(f"artifact {name!r} is a symbolic link, refusing it")
        return path

    def _check_valid(self) -> None:
        if not self._valid or not self._rt.store.container_exists(self._id):
            self._valid = False
            raise ContainerRemovedError(f"container {self._id} has already been removed")

    def add_artifact(self, name: str, data: bytes) -> None:
        """Store ``data`` as the artifact ``name`` (replacing it)."""
        self._check_valid()
        path = self._artifact_path(name)
        path.parent.mkdir(exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)

    def get_artifact(self, name: str) -> bytes:
        """Read the artifact ``name``; InvalidArgumentError if there is none."""
        self._check_valid()
        path = self._artifact_path(name)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            raise InvalidArgumentError(f"container {self._id[:12]} has no artifact "
                                       f"{name!r}") from None
        with os.fdopen(fd, "rb") as fh:
            return fh.read()

    def remove_artifact(self, name: str) -> None:
        """Delete the artifact ``name``; InvalidArgumentError if there is none."""
        self._check_valid()
        try:
            self._artifact_path(name).unlink()
        except FileNotFoundError:
            raise InvalidArgumentError(f"container {self._id[:12]} has no artifact "
                                       f"{name!r}") from None

    # -- batch and the rest of libpod's API ------------------------------------------------
    def batch(self, fn: Callable[[Container], T]) -> T:
        """Run ``fn(ctr)`` under one lock and one sync: the verbs it calls on ``ctr`` neither
        lock nor re-sync. ``ctr`` cannot be removed inside ``fn``."""
        if not self._valid:
            raise ContainerRemovedError(f"container {self._id} has already been removed")
        with self._lock:
            self._sync_locked()
            inner = Container(self._rt, self._id, self.config)
            inner._record = self._record
            inner._lock = self._lock
            inner._batched = True
            try:
                return fn(inner)
            finally:
                inner._batched = False
                inner._valid = False  # the handle dies with the batch
                self._record = inner._record
                self._save()

    def refresh(self) -> None:
        """libpod's Refresh (reset after a reboot): not implemented, as in the seed."""
        raise NotImplementedCtrError("refresh is not implemented: a container's state is "
                                     "reconciled on every sync() instead")

    # -- removal (called by Runtime.remove_container under this container's lock) -----------
    def remove(self, force: bool = False, timeout: int | None = None) -> None:
        """Remove the container and everything it owns (libpod RemoveContainer). Running or
        paused ones need ``force`` (stopped with ``timeout`` first). Refused while other
        containers depend on it, unless ``force``, which removes them first (podman rm
        --depend)."""
        dependents = self._rt.dependents(self._id)
        if dependents and not force:
            raise DependencyExistsError(
                f"container {self._id[:12]} ({self.name}) has dependent containers which must "
                f"be removed before it: {', '.join(d.name for d in dependents)} (or use force)")
        for dep in dependents:
            with contextlib.suppress(NoSuchContainerError, ContainerRemovedError):
                dep.remove(force=True, timeout=timeout)
        with self._lock_and_sync():
            self._remove_locked(force, timeout)

    def _remove_locked(self, force: bool, timeout: int | None) -> None:
        if self._batched:
            raise self._err_state("cannot remove a container inside its own batch")
        st = self._record.state
        if st in (S.RUNNING, S.PAUSED, S.STOPPING) and not force:
            raise self._err_state("cannot remove a running or paused container without force")
        if st is S.PAUSED:
            with contextlib.suppress(OCIRuntimeError):
                self._rt.oci.kill(self._id, signal_mod.SIGKILL, all_procs=True)
                self._set_frozen(False)
            self._wait_exit_file(30)
        elif st in (S.RUNNING, S.STOPPING, S.CREATED):
            self._record.stopped_by_user = True
            self._claim_cleanup(str(self._record.run_token or ""))
            self._mark_stopping()
            self._save()
            wait = self.config.stop_timeout if timeout is None else timeout
            self._stop_runtime(wait if st is not S.CREATED else 0)
        self._read_exit_file()
        in_runtime = self._record.state in IN_RUNTIME
        self._set(S.REMOVING)
        self._record.pending = "remove"
        self._save()
        self._kill_conmon()
        self._record.mount_count = 0
        self._release_resources(in_runtime=in_runtime)
        storage = self._storage()
        storage.remove()
        self._drop_claims()
        self._rt.store.remove_container(self._id)
        self._valid = False
        self._event("remove")
        self._lock.remove_file()

    # -- reading ----------------------------------------------------------------------------
    def is_running(self) -> bool:
        """Cheap state read without the lock (for log followers and UIs)."""
        try:
            st = S(self._rt.store.container_state(self._id)["state"])
        except NoSuchContainerError:
            return False
        if st in (S.RUNNING, S.PAUSED, S.STOPPING, S.CREATED):
            return not self._rt.oci.exit_file(self._id).exists()
        return False

    def logs(self, tail: int | None = None, since: float | None = None,
             until: float | None = None, follow: bool = False,
             stop: threading.Event | Callable[[], bool] | None = None) -> Iterator[LogLine]:
        """Yield log lines (time, stream, text); ``since``/``until`` are unix times. A follow
        ends when the container stops or when ``stop`` (an Event, or a callable) says so."""
        if not self._valid:
            raise ContainerRemovedError(f"container {self._id} has already been removed")
        from .logs import read_log  # noqa: PLC0415 - lazy: exit command / CLI start-up

        still_running: Callable[[], bool] = self.is_running
        if stop is not None:
            stopped = stop.is_set if isinstance(stop, threading.Event) else stop

            def still_running() -> bool:
                return not stopped() and self.is_running()

        return read_log(self.log_path, tail=tail,
                        since_ns=None if since is None else int(since * 1e9),
                        until_ns=None if until is None else int(until * 1e9),
                        follow=follow, still_running=still_running)

    def stats(self) -> dict[str, Any]:
        """CPU ns, memory bytes and limit, pids of a running or paused container."""
        with self._lock_and_sync():
            if self._record.state not in (S.RUNNING, S.PAUSED):
                raise self._err_state("cannot get stats: container is not running")
            s = cgroups.read_stats(self.cgroups_path)
        return {"id": self._id, "name": self.name, "cpu_ns": s.cpu_ns,
                "memory_bytes": s.memory_bytes, "memory_limit": s.memory_limit,
                "pids": s.pids, "time_ns": time.time_ns()}

    def top(self) -> dict[str, Any]:
        """The container's processes, like ``podman top`` (default descriptors):
        ``{"Titles": [...], "Processes": [[...], ...]}``. RUNNING or PAUSED only."""
        with self._lock_and_sync():
            if self._record.state not in (S.RUNNING, S.PAUSED):
                raise self._err_state("top can only be used on running containers")
            pids = cgroups.container_pids(self.cgroups_path)
        titles = ["USER", "PID", "PPID", "%CPU", "ELAPSED", "TTY", "TIME", "COMMAND"]
        rows = [row for row in (procinfo.ps_row(pid) for pid in sorted(pids)) if row]
        return {"Titles": titles, "Processes": rows}

    def observe(self) -> ContainerSnapshot:
        """One consistent, typed reading of the container (what ``inspect`` renders)."""
        with self._lock_and_sync():
            return self._snapshot_unlocked()

    def list_view(self, exec_ids: list[str]) -> ContainerSnapshot:
        """A reading for a list, from the record the list read and made this handle with
        (``exec_ids``: its live exec sessions as stored): taken as it is when it is settled
        (``settled``), without the lock, so a list costs a few stat calls per container;
        else ``observe()``'s, synced under the lock. What only inspect shows is left empty
        (storage directories, log path, bundle: as the client's list readings), and the
        checkpoint is looked for only where a restore would accept the state (what
        ``restorable`` needs)."""
        rec = self._record
        if not self.settled(rec):
            return self.observe()
        return ContainerSnapshot(
            self.config, rec, exec_ids=exec_ids, oci_runtime="", log_path="", bundle="",
            storage_dirs={}, has_checkpoint=rec.state in RESTORABLE
            and self._has_checkpoint_images())

    def _snapshot_unlocked(self) -> ContainerSnapshot:
        storage = self._storage()
        dirs = {"LowerDir": ":".join(map(str, storage.lowers)), "UpperDir": str(storage.upper),
                "WorkDir": str(storage.work)}
        if self._record.mounted:
            dirs["MergedDir"] = str(storage.merged)
        return ContainerSnapshot(self.config, self._record.copy(),
                                 exec_ids=self._live_exec_sessions(),
                                 oci_runtime=self._rt.oci.name, log_path=str(self.log_path),
                                 bundle=str(self.bundle), storage_dirs=dirs,
                                 has_checkpoint=self._has_checkpoint_images())

    def inspect(self) -> dict[str, Any]:
        """A dict shaped like ``podman inspect``."""
        return render_inspect(self.observe())


def render_inspect(snap: ContainerSnapshot) -> dict[str, Any]:
    """``podman inspect``'s shape of a snapshot."""
    from .logs import human_size  # noqa: PLC0415 - lazy: the exit command inspects nothing

    cfg, st = snap.config, snap.record
    state = st.state
    exit_code = st.exit_code
    return {
        "Id": cfg.id,
        "Created": rfc3339_ns(cfg.created),
        "Path": cfg.command[0],
        "Args": list(cfg.command[1:]),
        "State": {
            "OciVersion": "1.0.2",
            "Status": state.api_status,
            "Running": state is S.RUNNING,
            "Paused": state is S.PAUSED,
            "Restarting": False,
            "OOMKilled": bool(st.oom_killed),
            "Dead": False,
            "Pid": int(st.pid or 0),
            "ConmonPid": int(st.conmon_pid or 0),
            "ExitCode": int(exit_code) if exit_code is not None else 0,
            "Error": st.error or "",
            "StartedAt": rfc3339_ns(st.started_at),
            "FinishedAt": rfc3339_ns(st.finished_at),
            "Checkpointed": bool(st.checkpointed),
            "CheckpointedAt": rfc3339_ns(st.checkpointed_at),
            "CheckpointPath": st.checkpoint_path or "",
            "CheckpointLog": st.checkpoint_log or "",
            "Restored": bool(st.restored),
            "RestoredAt": rfc3339_ns(st.restored_at),
            "RestoreLog": st.restore_log or "",
        },
        "Image": cfg.image_id,
        "ImageName": cfg.image,
        "Rootfs": "",
        "Pod": "",
        "OCIRuntime": snap.oci_runtime,
        "ConmonPidFile": f"{snap.bundle}/conmon.pid",
        "PidFile": f"{snap.bundle}/pidfile",
        "Name": cfg.name,
        # Not podman's: who created the container (the multi-user service's ownership).
        "Owner": {"Uid": int(cfg.owner_uid), "Name": cfg.owner_name},
        "RestartCount": int(st.restart_count or 0),
        "Driver": "overlay",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": list(snap.exec_ids),
        "GraphDriver": {"Name": "overlay", "Data": dict(snap.storage_dirs)},
        "Mounts": [],
        "Dependencies": list(cfg.dependencies or []),
        "NetworkSettings": {"Networks": {} if cfg.network == "none" else {"host": {}}},
        "LogPath": snap.log_path,
        "Config": {
            "Hostname": cfg.id[:12],
            "Domainname": "",
            "User": cfg.user or "",
            "AttachStdin": False,
            "AttachStdout": False,
            "AttachStderr": False,
            "Tty": bool(cfg.tty),
            "OpenStdin": bool(cfg.stdin),
            "StdinOnce": False,
            "Env": list(cfg.env),
            "Cmd": list(cfg.command),
            "Image": cfg.image,
            "WorkingDir": cfg.workdir,
            "Entrypoint": None,
            "Labels": dict(cfg.labels or {}),
            "Annotations": {},
            "StopSignal": _signal_name(int(cfg.stop_signal)),
            "StopTimeout": int(cfg.stop_timeout),
            "Umask": "0022",
        },
        "HostConfig": {
            "Memory": int(cfg.memory or 0),
            "MemorySwap": int(cfg.memory or 0),
            "PidsLimit": int(cfg.pids_limit or 0),
            "NanoCpus": int((cfg.cpus or 0) * 1e9),
            "CpuPeriod": 100_000 if cfg.cpus else 0,
            "CpuQuota": int((cfg.cpus or 0) * 100_000),
            "NetworkMode": cfg.network,
            "AutoRemove": bool(cfg.auto_remove),
            "RestartPolicy": {"Name": cfg.restart_policy or "",
                              "MaximumRetryCount": int(cfg.restart_retries or 0)},
            "Privileged": False,
            "CapAdd": [],
            "CapDrop": [],
            "LogConfig": {"Type": "k8s-file", "Config": None, "Path": snap.log_path,
                          "Tag": "", "Size": human_size(cfg.log_size_max or 0)},
        },
    }


# -- helpers ------------------------------------------------------------------------------
def _stream_command(argv: list[str], out: BinaryIO) -> None:
    """Run ``argv`` and copy its stdout into ``out`` (through the logged subprocess seam)."""
    # Only export needs them: the exit command and most CLI commands never load them.
    import shutil  # noqa: PLC0415 - lazy: see above
    import subprocess  # noqa: PLC0415 - lazy: see above
    import tempfile  # noqa: PLC0415 - lazy: see above

    from . import procs  # noqa: PLC0415 - lazy: see above

    procs.log.debug("exec %s", " ".join(argv))
    # stderr to a file: a pipe could fill with warnings while we copy stdout, and both stop.
    with tempfile.TemporaryFile() as errfile:
        with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errfile) as proc:
            assert proc.stdout is not None
            try:
                shutil.copyfileobj(proc.stdout, out, 1 << 20)
            except BaseException:
                proc.kill()  # the reader went away: nothing may keep running (or the lock)
                raise
        errfile.seek(0)
        err = errfile.read()[-4096:]
    if proc.returncode != 0:
        raise OCIRuntimeError(f"{argv[0]} failed (exit {proc.returncode}): "
                              f"{err.decode(errors='replace').strip()}")


def _signal_name(num: int) -> str:
    try:
        return signal_mod.Signals(num).name
    except ValueError:
        return str(num)


# What users see as "created" is libpod's Configured as well as Created ("initialized").
_CONDITION_NAMES: dict[str, frozenset[ContainerState]] = {
    **{s.value: frozenset({s}) for s in ContainerState},
    "created": frozenset({S.CONFIGURED, S.CREATED}),
    "initialized": frozenset({S.CREATED}),
}


def _parse_conditions(conditions: ContainerState | str | Iterable[ContainerState | str]
                      ) -> set[ContainerState]:
    items: list[ContainerState | str]
    if isinstance(conditions, (ContainerState, str)):
        items = [conditions]
    else:
        items = list(conditions)
    out: set[ContainerState] = set()
    for item in items:
        if isinstance(item, ContainerState):
            out.add(item)
            continue
        states = _CONDITION_NAMES.get(str(item).lower())
        if states is None:
            raise InvalidArgumentError(
                f"unknown wait condition {item!r}: use one of "
                f"{', '.join(sorted(_CONDITION_NAMES))}")
        out |= states
    if not out:
        raise InvalidArgumentError("at least one wait condition is required")
    return out
