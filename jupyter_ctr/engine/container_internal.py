"""ContainerBase: a container's record, lock and sync, and the internal steps the verbs share
(libpod's container_internal.go). The verbs themselves are on Container (container.py, libpod's
container_api.go), exec sessions (ExecVerbs, container_exec.py) and checkpoint/restore
(CheckpointVerbs, container_checkpoint.py).

State that changes the outside world is bracketed by a persisted ``pending`` marker: a verb
first saves ``pending=<verb>``, acts, then saves the result with ``pending`` cleared. Locks die
with their process, so whoever next takes the lock and finds a marker knows its writer was
killed mid-verb and reconciles the record with what runc, conmon and the mount table say.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal as signal_mod
import time
from collections.abc import Iterator
from pathlib import Path

from . import cgroups, procinfo
from .errors import (
    ContainerRemovedError,
    ContainerRunningError,
    ContainerStateInvalidError,
    ContainerStoppedError,
    CtrError,
    NoSuchContainerError,
    OCIRuntimeError,
    TimeoutCtrError,
)
from .locks import ContainerLock
from .records import ContainerConfig, ContainerRecord, event_attributes
from .state import UNSETTLED, ContainerState
from .storage import ContainerStorage, remove_mounted_tree, remove_tree

# What only creating containers needs is imported where it is used: conmon's exit command
# (engine/cleanup.py) loads this module at every container exit. typing too is for type
# checkers only: importing it costs every CLI command ~2 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from .runtime import Runtime

S = ContainerState

#: Poll interval while waiting for conmon's exit file.
EXIT_POLL = 0.002
#: How long reconciliation waits for a runtime step that a killed verb left running (a CRIU
#: restore of gigabytes takes minutes) before it kills it.
RUNTIME_STEP_TIMEOUT = 600.0
#: A conmon runs the runtime within milliseconds of its start; until then it has no child.
CONMON_START_GRACE = 2.0


class ContainerBase:
    """A handle on one container: identity, record, lock, sync and shared internal steps.
    Cheap to create; every verb re-reads the shared state."""

    def __init__(self, runtime: Runtime, ctr_id: str, config: ContainerConfig,
                 record: ContainerRecord | None = None) -> None:
        self._rt = runtime
        self._id = ctr_id
        self.config = config
        #: The record as last read (``record``: just read by the caller, a list).
        self._record = record if record is not None else ContainerRecord()
        self._lock = ContainerLock(f"{runtime.locks_dir}/{ctr_id}.lock")  # a str: cheap
        self._batched = False
        self._valid = True

    # -- identity ---------------------------------------------------------------------------
    @property
    def id(self) -> str:
        return self._id

    @property
    def name(self) -> str:
        return str(self.config.name)

    @property
    def state(self) -> ContainerState:
        """The state now: the stored one when nothing needs reconciling (``glance``), else
        after a sync under the lock."""
        if self._batched:
            return self._record.state
        return self.glance()

    def __repr__(self) -> str:
        return f"<Container {self._id[:12]} {self.name} {self._record.state.value}>"

    # -- paths ------------------------------------------------------------------------------
    @property
    def bundle(self) -> Path:
        return self._rt.bundle_dir(self._id)

    @property
    def log_path(self) -> Path:
        return self._rt.container_dir(self._id) / "ctr.log"

    @property
    def cgroups_path(self) -> str:
        return self._rt.cgroups_path(self._id)

    def _storage(self) -> ContainerStorage:
        return ContainerStorage(self._rt.container_dir(self._id),
                                Path(self.config.image_rootfs))

    # -- locking and syncing ------------------------------------------------------------------
    @contextlib.contextmanager
    def _lock_and_sync(self, resync: bool = False) -> Iterator[None]:
        """Hold the container lock and sync from the store (inside ``batch`` the lock is
        already held: nothing happens, unless ``resync`` asks for a fresh reading)."""
        if self._batched:
            if resync:
                self._sync_locked()
            yield
            return
        if not self._valid:
            raise ContainerRemovedError(f"container {self._id} has already been removed")
        with self._lock:
            self._sync_locked()
            yield

    def glance(self, stored: Mapping[str, Any] | None = None) -> ContainerState:
        """The state now, read without the lock, and synced under the lock only when the
        record is unsettled (``settled``). ``stored``: the record's stored form, when the
        caller read the row already (a list).

        Lock-free is safe: each row is written whole, a verb in flight marks it ``pending``
        first, and a container that exits leaves conmon's exit file (or a dead conmon)
        behind until its exit is recorded - each of which sends this to the locked sync.
        The handle's own record is left alone (another thread's verb may be using it).
        Raises ContainerRemovedError when the container is gone."""
        if stored is not None:
            rec = ContainerRecord.from_dict(stored)
        else:
            try:
                rec = ContainerRecord.from_dict(self._rt.store.container_state(self._id))
            except NoSuchContainerError:
                self._valid = False
                raise ContainerRemovedError(
                    f"container {self._id} ({self.name}) has already been removed") from None
        if self.settled(rec):
            return rec.state
        with self._lock_and_sync():
            return self._record.state

    def settled(self, rec: ContainerRecord) -> bool:
        """Whether ``rec`` (this container's record as stored) is the container's state, with
        nothing to reconcile: no verb in flight, and while the runtime may hold it, its
        conmon alive with no exit file, its freezer agreeing with running or paused, its
        stopper alive. A few stat calls and one small read; what ``_sync_locked`` would find
        to do otherwise. A process that lists again and again keeps a SettledWatch
        (``Runtime.settled_watch``): then a container found settled costs a dict lookup
        until the kernel reports a change to what was checked."""
        if rec.pending:
            return False
        st = rec.state
        if st not in UNSETTLED:
            return True
        watch = self._rt.settled_watch if st is not S.STOPPING else None
        if watch is None:
            return self._settled_now(rec)
        pid, ctr_id = rec.conmon_pid, self._id
        if watch.holds(ctr_id, pid, st.value):
            return True
        files = cgroups.freezer_files(self.cgroups_path) if st in (S.RUNNING, S.PAUSED) else []
        armed = watch.arm(ctr_id, pid, st.value, files)
        if not self._settled_now(rec):
            return False
        if armed:
            watch.confirm(ctr_id, pid, st.value)
        return True

    def _settled_now(self, rec: ContainerRecord) -> bool:
        """``settled``'s checks, made now (for a state in UNSETTLED)."""
        st = rec.state
        if os.path.exists(f"{self._rt.oci.exits_dir}/{self._id}") or \
                not procinfo.alive(rec.conmon_pid):
            return False
        if st is S.STOPPING:
            return self._stopper_alive(rec)
        if st in (S.RUNNING, S.PAUSED):
            freezer = cgroups.freezer_state(self.cgroups_path)
            return freezer in ("", "frozen" if st is S.PAUSED else "thawed")
        return True

    def _load(self) -> None:
        try:
            self._record = ContainerRecord.from_dict(self._rt.store.container_state(self._id))
        except NoSuchContainerError:
            self._valid = False
            raise ContainerRemovedError(
                f"container {self._id} ({self.name}) has already been removed") from None

    def _save(self) -> None:
        self._rt.store.save_container_state(self._id, self._record.to_dict())

    def _set(self, state: ContainerState) -> None:
        self._record.state = state

    def _sync_locked(self, reconcile: bool = False) -> None:
        self._load()
        st = self._record.state
        if self._record.pending or reconcile:
            self._reconcile()
            return
        if st in (S.CREATED, S.RUNNING, S.STOPPING, S.PAUSED):
            if self._read_exit_file():
                self._finish_abandoned_stop()
                self._save()
            elif not procinfo.alive(self._record.conmon_pid):
                # conmon died without an exit file: ask runc what is left.
                self._reconcile()
            elif st in (S.RUNNING, S.PAUSED):
                self._sync_freezer(st)
            elif st is S.STOPPING and not self._stopper_alive():
                # Its stopper died while it waited (without the lock) for the exit: the stop
                # is abandoned, and the container is what the runtime says it is.
                self._set(S.RUNNING)
                self._reconcile()

    def _stopper_alive(self, rec: ContainerRecord | None = None) -> bool:
        pid, _, start = str((rec or self._record).stopper or "").partition(" ")
        return not pid or procinfo.owner_alive(pid, start)  # no record: an older stop

    def _mark_stopping(self) -> None:
        """STOPPING, with who stops it: a stop waits for the exit without holding the lock,
        and whoever meets STOPPING must know whether a live process still owns it."""
        self._set(S.STOPPING)
        self._record.stopper = procinfo.owner_tag(" ")

    def _sync_freezer(self, st: ContainerState) -> None:
        """The freezer is the truth about paused, as for ``runc state``: a pause killed
        mid-way, or one made behind our back, shows as paused (and a thaw as running)."""
        freezer = cgroups.freezer_state(self.cgroups_path)
        if freezer == "freezing":
            # A freeze that nobody completes (its pause was killed): undo it, as runc does
            # when a freeze does not finish.
            with contextlib.suppress(OSError, TimeoutError):
                cgroups.set_frozen(self.cgroups_path, False)
            freezer = "thawed"
        now = S.PAUSED if freezer == "frozen" else S.RUNNING if freezer == "thawed" else st
        if now is not st:
            self._set(now)
            self._save()
            self._event("pause" if now is S.PAUSED else "unpause")

    def _read_exit_file(self) -> bool:
        """Move to STOPPED if conmon wrote the exit file; True if the state changed."""
        path = self._rt.oci.exit_file(self._id)
        try:
            text = path.read_text().strip()
            mtime = path.stat().st_mtime_ns
        except FileNotFoundError:
            return False
        if not text:
            return False  # conmon is still writing it
        if self._record.checkpointed or (
                self._record.restored and mtime < int(self._record.restored_at or 0)):
            # The monitor from before a checkpoint reports the 137 of the dump: the checkpoint
            # was no exit, and that file must never end the restored container.
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            return False
        try:
            code = int(text)
        except ValueError:
            code = -1
        # The file's mtime is the kernel's coarse clock, up to a tick behind time.time_ns():
        # a process that exits at once (started through the exec FIFO) would seem to finish
        # before it started.
        finished = max(mtime, int(self._record.started_at or 0))
        self._record.update(exit_code=code, finished_at=finished, pid=0)
        self._set(S.STOPPED)
        self._rt.store.set_exit_code(self._id, code)
        if self._record.stopped_by_user is False and code == 137 and self.config.memory \
                and _oom_killed(self.cgroups_path):
            self._record.oom_killed = True
            self._event("oom")  # Docker's event for it, just before the "died"
        self._event("died", exitCode=str(code))
        return True

    def _reconcile(self) -> None:
        """Make the record match reality (after a crash mid-verb, or on sync())."""
        pending = self._record.pending
        if pending:
            self._await_runtime_step()
        rt_state = self._rt.oci.state(self._id)
        if rt_state is not None and pending == "restore":
            self._adopt_restore()
        if rt_state is not None:
            status = rt_state.get("status")
            self._record.pid = int(rt_state.get("pid") or 0)
            mapping = {"created": S.CREATED, "running": S.RUNNING, "paused": S.PAUSED,
                       "stopped": S.STOPPED}
            new = mapping.get(str(status), S.STOPPED)
            if new is S.STOPPED:
                self._record.pid = 0
                if not self._read_exit_file() and self._record.exit_code is None:
                    self._record.exit_code = -1
            elif self._record.state is S.STOPPING and new is S.RUNNING:
                new = S.STOPPING
            self._set(new)
            self._record.mounted = self._storage().is_mounted()
            if new in (S.RUNNING, S.PAUSED) and not self._record.started_at:
                self._record.started_at = time.time_ns()
            if new in (S.RUNNING, S.PAUSED, S.CREATED) and not self._record.conmon_pid:
                self._record.conmon_pid = procinfo.read_int(self.bundle / "conmon.pid")
        else:
            # The runtime does not know the container: it is not running, whatever the record
            # says. Drop what a killed verb may have left, keep what the user mounted.
            if self._read_exit_file():
                pass
            was_started = bool(self._record.started_at)
            self._kill_conmon()
            self._remove_runtime_state_dir()
            self._release_resources(in_runtime=False)
            self._set(S.EXITED if was_started else S.CONFIGURED)
            self._record.pid = 0
            if self._record.pending == "remove":
                # A remove died half-way: its layer may be gone. Only remove may finish it.
                self._set(S.REMOVING)
        self._record.pending = None
        self._save()

    def _await_runtime_step(self) -> None:
        """Wait until no conmon or runtime command that a killed verb started still works on
        this container (``runc create``/``start``/``restore`` and its CRIU), so that nothing is
        torn down under them: the runtime's answer is final only then. A monitor without the
        container's pid file counts as starting for its first ``CONMON_START_GRACE`` seconds
        (the moment before it runs the runtime): an older one is ending, and may well wait
        for its exit command, which waits for this lock. Past ``RUNTIME_STEP_TIMEOUT`` they
        are killed instead."""
        name = os.path.basename(self._rt.oci.path)
        pidfile = self.bundle / "pidfile"
        deadline = time.monotonic() + RUNTIME_STEP_TIMEOUT
        while True:
            conmons, commands = procinfo.runtime_helpers(self._id, name)
            starting = [pid for pid in conmons if not pidfile.exists()
                        and procinfo.age(pid) < CONMON_START_GRACE]
            if not commands and not starting:
                return
            if time.monotonic() >= deadline:
                procinfo.kill_and_wait(commands + conmons, 5.0)
                return
            time.sleep(0.01)

    def _adopt_restore(self) -> None:
        """A restore whose process was killed after the runtime restored the container: the
        container is the restored one (the record says when the restore began)."""
        restored_at = int(self._record.restored_at or 0) or time.time_ns()
        self._record.update(checkpointed=False, checkpointed_at=0, checkpoint_conmon_pid=0,
                           restored=True, restored_at=restored_at, stopped_by_user=False,
                           error="")
        if not self._record.started_at:
            self._record.started_at = restored_at

    def _remove_runtime_state_dir(self) -> None:
        """The runtime's directory of a container that the runtime itself no longer knows (a
        create or restore killed before it wrote its state): its mounts (``criu-root``) and
        files, which ``runc delete`` cannot remove any more."""
        remove_mounted_tree(self._rt.oci.state_dir / self._id)

    def _begin(self, verb: str) -> None:
        self._record.pending = verb
        self._save()

    def _event(self, action: str, **attrs: str) -> None:
        self._rt.write_event("container", action, self._id, self.name, self.config.image,
                             event_attributes(self.config, **attrs))

    def _exited_meanwhile(self) -> bool:
        """After the runtime refused to act on a container that the record calls running:
        True if it exited since the check (the runtime says stopped, or knows it no more),
        with the exit read into the record, so the caller reports the state error of a
        stopped container instead of a runtime failure. False for a real failure."""
        rs = self._rt.oci.state(self._id)
        if rs is not None and rs.get("status") != "stopped":
            return False
        if self._wait_exit_file(2.0):
            self._read_exit_file()
        return True

    def _err_state(self, msg: str) -> ContainerStateInvalidError:
        return ContainerStateInvalidError(f"{msg}; container {self._id[:12]} ({self.name}) is "
                                          f"in state {self._record.state.value}")

    def _check_dependencies(self, recursive: bool) -> None:
        """Refuse while a dependency is not running; with ``recursive``, start it."""
        not_running = []
        for dep_id in self.config.dependencies or []:
            try:
                dep = self._rt.lookup_container(dep_id)
                if recursive:
                    with contextlib.suppress(ContainerRunningError):
                        dep.start(recursive=True)
                elif dep.state is not S.RUNNING:
                    not_running.append(dep.name)
            except (NoSuchContainerError, ContainerRemovedError):
                not_running.append(dep_id[:12])
        if not_running:
            raise self._err_state(f"some dependencies are not running: {', '.join(not_running)}"
                                  " (start them, or start recursively)")

    def _start_unlocked(self, recursive: bool = False, retain_retries: bool = False) -> None:
        st = self._record.state
        if st is S.RUNNING:
            raise ContainerRunningError(
                f"container {self._id[:12]} ({self.name}) is already running")
        if st not in (S.CONFIGURED, S.CREATED, S.STOPPED, S.EXITED):
            raise self._err_state("container must be in Created or Stopped state to be started")
        self._check_dependencies(recursive)
        if not retain_retries:
            self._record.restart_count = 0
        if st is not S.CREATED:
            self._init_runtime()
        self._begin("start")
        started_at = time.time_ns()  # before runc start: a fast process may exit within it
        try:
            self._rt.oci.start(self._id)
        except CtrError:
            self._fail_and_cleanup()
            raise
        self._record.update(started_at=started_at, stopped_by_user=False, pending=None,
                           error="")
        self._set(S.RUNNING)
        self._save()
        self._event("start")

    def _init_runtime(self) -> None:
        st = self._record.state
        # The new run's token is saved with the pending marker: if this process dies after
        # conmon started, the record still names the run that conmon's exit command will
        # report.
        run_token = os.urandom(8).hex()  # secrets.token_hex, without importing hashlib
        self._record.run_token = run_token
        self._begin("init")
        try:
            if st is S.STOPPED:
                self._rt.oci.delete(self._id, force=True)
            self._remove_runtime_files()
            self._drop_claims()
            storage = self._storage()
            rootfs = storage.mount()
            self._record.mounted = True
            self._write_bundle(rootfs)
            result = self._rt.oci.create(
                ctr_id=self._id, name=self.name, bundle=self.bundle, log_path=self.log_path,
                tty=bool(self.config.tty), stdin=bool(self.config.stdin),
                exit_command=self._rt.exit_command(self._id, run_token),
                extra_env=self._rt.exit_command_env(),
                log_size_max=self.config.log_size_max)
        except CtrError as exc:
            self._record.error = str(exc)
            self._fail_and_cleanup()
            raise
        except OSError as exc:
            self._record.error = str(exc)
            self._fail_and_cleanup()
            raise OCIRuntimeError(f"initializing container {self._id[:12]}: {exc}") from exc
        self._record.update(pid=result.pid, conmon_pid=result.conmon_pid, pending=None,
                           oom_killed=False)
        self._record.forget_checkpoint()
        self._set(S.CREATED)
        self._save()

    def _write_bundle(self, rootfs: Path, hostname: str = "") -> None:
        """The OCI bundle's config.json; ``hostname`` defaults to the short id (a restore from
        an archive keeps the archived one: CRIU restores the UTS namespace anyway)."""
        from .spec import build_spec  # noqa: PLC0415 - lazy: only init writes a spec (exit command)

        cfg = self.config
        spec = build_spec(
            ctr_id=self._id, rootfs=str(rootfs), args=list(cfg.command), env=list(cfg.env),
            cwd=cfg.workdir, uid=cfg.uid, gid=cfg.gid, tty=bool(cfg.tty),
            hostname=hostname or self._id[:12], network=cfg.network,
            cgroups_path=self.cgroups_path,
            memory=cfg.memory, pids_limit=cfg.pids_limit, cpus=cfg.cpus,
            labels=dict(cfg.labels))
        self.bundle.mkdir(parents=True, exist_ok=True, mode=0o700)
        (self.bundle / "persist").mkdir(exist_ok=True)
        tmp = self.bundle / "config.json.tmp"
        tmp.write_text(json.dumps(spec))
        tmp.replace(self.bundle / "config.json")

    def _fail_and_cleanup(self) -> None:
        """After a failed init/start: tear down what exists and go back to a resting state."""
        self._kill_conmon()
        with contextlib.suppress(CtrError):
            self._rt.oci.delete(self._id, force=True)
        self._release_resources(in_runtime=False)
        self._set(S.EXITED if self._record.started_at else S.CONFIGURED)
        self._record.update(pid=0, conmon_pid=0, pending=None)
        self._save()

    def _stop_unlocked(self, timeout: int | None) -> None:
        st = self._record.state
        self._record.stopped_by_user = True
        if st in (S.STOPPED, S.EXITED):
            self._save()
            raise ContainerStoppedError(
                f"container {self._id[:12]} ({self.name}) is already stopped "
                f"(state {st.value})")
        if st not in (S.CREATED, S.RUNNING, S.STOPPING, S.PAUSED):
            raise self._err_state("can only stop created, running or paused containers")
        run_token = str(self._record.run_token or "")
        claim = self._claim_cleanup(run_token)
        self._mark_stopping()
        self._save()
        wait = self.config.stop_timeout if timeout is None else timeout
        try:
            if self._batched:
                self._stop_runtime(wait)
            else:
                # Don't hold the lock during the timeout: ps and inspect must not block.
                self._lock.release()
                try:
                    self._stop_runtime(wait, run_token)
                finally:
                    self._lock.acquire()
                self._load()
            self._finish_stop(run_token)
        except ContainerRemovedError:
            _unlink(claim)  # removed (with force) while we waited: stopped for good
            return
        except BaseException:
            _release_claim(claim)  # no cleanup from us after all: the exit command must do it
            raise
        _unlink(claim)  # cleaned up: the exit command, if it waits, has nothing left to do

    def _finish_stop(self, run_token: str) -> None:
        """After the exit: record it and clean up (the caller holds the lock again)."""
        st = self._record.state
        if str(self._record.run_token or "") != run_token or \
                st not in (S.STOPPING, S.STOPPED):
            return  # another process cleaned this run up (or started a new one) meanwhile
        # From here on the cleanup is ours, whoever read the exit file: the claim told this
        # run's exit command to leave it to us.
        if st is S.STOPPING and not self._read_exit_file() and \
                not procinfo.alive(int(self._record.conmon_pid or 0)):
            rs = self._rt.oci.state(self._id)
            if rs is None or rs.get("status") == "stopped":
                self._set(S.STOPPED)
                self._record.pid = 0
                if self._record.exit_code is None:
                    self._record.exit_code = -1
        self._event("stop")
        self._cleanup_unlocked()

    def _finish_abandoned_stop(self) -> None:
        """A stopper claimed this run's cleanup and died or gave up before doing it (its claim
        is stale or released): whoever reads the exit file next does it."""
        claim = self._rt.claim_path(self._id, str(self._record.run_token or ""))
        try:
            pid_text, _, started = claim.read_text().partition(" ")
        except (FileNotFoundError, ValueError):
            return
        if pid_text.isdigit() and procinfo.owner_alive(pid_text, started):
            return  # the stopper lives: the cleanup is its job
        _unlink(claim)
        self._cleanup_unlocked()

    def _claim_cleanup(self, run_token: str) -> Path | None:
        """Tell this run's exit command that this process (alive) will clean up, so conmon
        starts no Python cleanup process (Runtime.exit_command: it waits for the claim to go).
        None when the run has no token, or for --rm containers, whose exit command also
        removes them."""
        if not run_token or self.config.auto_remove:
            return None
        claim = self._rt.claim_path(self._id, run_token)
        try:
            claim.write_text(procinfo.owner_tag(" ") + "\n")  # the exit prelude reads it
        except OSError:
            return None  # only an optimisation: the exit command then does its usual work
        return claim

    def _drop_claims(self) -> None:
        for claim in self._rt.claims_dir.glob(f"{self._id}-*"):
            _unlink(claim)

    def _stop_runtime(self, timeout: int, run_token: str | None = None) -> None:
        """Stop signal, wait, SIGKILL. With ``run_token`` (a stop that waits without the
        lock), nothing is signalled once another process has moved on to a new run: its
        SIGKILL must not land on a container that someone started again meanwhile."""
        oci = self._rt.oci
        if timeout > 0:
            try:
                self._signal(int(self.config.stop_signal))
            except OCIRuntimeError:
                pass  # it may have exited meanwhile; the exit file tells
            self._thaw_if_frozen()  # a frozen task handles no signal (as docker stop)
            if self._wait_exit_file(timeout) or self._run_moved_on(run_token):
                return
        try:
            self._signal(signal_mod.SIGKILL)
            self._thaw_if_frozen()  # a frozen task never dies
        except OCIRuntimeError:
            if self._rt.oci.exit_file(self._id).exists() or self._run_moved_on(run_token):
                return
            rs = oci.state(self._id)
            if rs is None:
                return
            if rs.get("status") != "stopped":
                raise
        if not self._wait_exit_file(30):
            raise TimeoutCtrError(f"container {self._id[:12]} did not exit after SIGKILL")

    def _run_moved_on(self, run_token: str | None) -> bool:
        """Whether the stored record names another run than ``run_token`` (or is gone)."""
        if run_token is None:
            return False
        try:
            return str(self._rt.store.container_state(self._id).get("run_token") or "") \
                != run_token
        except NoSuchContainerError:
            return True

    def _thaw_if_frozen(self) -> None:
        if cgroups.freezer_state(self.cgroups_path) in ("frozen", "freezing"):
            with contextlib.suppress(OSError, TimeoutError):
                cgroups.set_frozen(self.cgroups_path, False)

    def _wait_exit_file(self, timeout: float) -> bool:
        path = self._rt.oci.exit_file(self._id)
        deadline = time.monotonic() + timeout
        conmon = int(self._record.conmon_pid or 0)
        while True:
            if path.exists():
                return True
            if conmon and not procinfo.alive(conmon):
                rs = self._rt.oci.state(self._id)
                if rs is None or rs.get("status") == "stopped":
                    return True  # the monitor is gone: nothing more will be written
                time.sleep(0.02)
            if time.monotonic() >= deadline:
                return False
            time.sleep(EXIT_POLL)

    def _signal(self, signum: int) -> None:
        """Signal the container's init process: through a pidfd when it is still the
        container's (config ``runtime_shortcuts``), else with ``runc kill`` (which also reports a
        container that is not running)."""
        if self._rt.config.runtime_shortcuts and procinfo.signal_if_in_cgroup(
                int(self._record.pid or 0), self._id, signum):
            return
        self._rt.oci.kill(self._id, signum)

    def _set_frozen(self, frozen: bool) -> None:
        """Freeze or thaw the container's cgroup (config ``runtime_shortcuts``), else ask the
        runtime (``runc pause``/``resume``)."""
        if self._rt.config.runtime_shortcuts:
            try:
                if cgroups.set_frozen(self.cgroups_path, frozen):
                    if not frozen or procinfo.alive(int(self._record.pid or 0)):
                        return
                    # It died before the freeze: not ours to call paused. runc says so.
                    cgroups.set_frozen(self.cgroups_path, False)
            except (OSError, TimeoutError) as exc:
                verb = "pause" if frozen else "unpause"
                raise OCIRuntimeError(f"cannot {verb} container {self._id[:12]}: {exc}") from exc
        if frozen:
            self._rt.oci.pause(self._id)
        else:
            self._rt.oci.resume(self._id)

    def _should_restart(self) -> bool:
        """The restart policy's verdict on an exit that the user did not ask for."""
        policy = self.config.restart_policy or "no"
        if policy == "no" or self._record.stopped_by_user:
            return False
        if policy in ("always", "unless-stopped"):
            return True
        code = self._record.exit_code
        retries = int(self.config.restart_retries or 0)
        count = int(self._record.restart_count or 0)
        return code not in (0, None) and (retries == 0 or count < retries)

    def _cleanup_unlocked(self) -> None:
        st = self._record.state
        if st not in (S.STOPPED, S.CREATED):
            # Nothing in the runtime; still drop a mount nobody asked to keep.
            if self._record.mounted and not self._record.mount_count:
                self._release_resources(in_runtime=False)
                self._save()
            return
        self._begin("cleanup")
        self._release_resources(in_runtime=True)
        self._set(S.EXITED if st is S.STOPPED else S.CONFIGURED)
        self._record.update(pid=0, conmon_pid=0, pending=None)
        self._save()
        self._event("cleanup")

    def _release_resources(self, in_runtime: bool) -> None:
        """Exec sessions, runc delete, unmount (unless the user holds mounts), cgroup and
        file leftovers."""
        errors: list[str] = []
        try:
            self._cleanup_exec_sessions()
        except CtrError as exc:
            errors.append(str(exc))
        if in_runtime:
            try:
                self._delete_from_runtime()
            except CtrError as exc:
                errors.append(str(exc))
        if not self._record.mount_count:
            try:
                self._storage().unmount()
                self._record.mounted = False
            except CtrError as exc:
                errors.append(str(exc))
        left = cgroups.remove_cgroup(self.cgroups_path)
        if left:
            errors.append(f"cgroups left: {', '.join(map(str, left))}")
        self._remove_runtime_files()
        if errors:
            self._record.error = "; ".join(errors)

    def _delete_from_runtime(self) -> None:
        """``runc delete --force``; with ``runtime_shortcuts``, for a container whose
        processes are all gone, what runc's delete then does itself: remove the container's
        cgroups (done by the caller) and the runtime's state directory."""
        if self._rt.config.runtime_shortcuts and not procinfo.alive(
                int(self._record.pid or 0)) and not cgroups.container_pids(
                self.cgroups_path):
            state_dir = self._rt.oci.state_dir / self._id
            if state_dir.is_dir() and not state_dir.is_symlink():
                _rmtree(state_dir)
            return
        self._rt.oci.delete(self._id, force=True)

    def _remove_runtime_files(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._rt.oci.exit_file(self._id).unlink()
        sock = self._rt.socks_dir / self._id
        if sock.is_symlink() or sock.is_file():
            sock.unlink()
        elif sock.is_dir():
            _rmtree(sock, ignore_errors=True)
        if self.bundle.exists():
            _rmtree(self.bundle, ignore_errors=True)

    def _kill_conmon(self, pid: int = 0) -> None:
        """SIGKILL the container's conmon (``pid``, else the recorded one, else its pidfile's)
        and wait for it to go."""
        pid = pid or (int(self._record.conmon_pid or 0)
                      or procinfo.read_int(self.bundle / "conmon.pid"))
        procinfo.kill_conmon(pid, self._id)

    # -- exec sessions: ExecVerbs (container_exec.py) provides these ---------------------------
    def _live_exec_sessions(self) -> list[str]:
        """Ids of live exec sessions; the caller holds the lock."""
        raise NotImplementedError

    def _cleanup_exec_sessions(self) -> None:
        """Kill the exec sessions and drop their rows and directories; the caller holds the
        lock."""
        raise NotImplementedError


# -- helpers ------------------------------------------------------------------------------
def _oom_killed(cgroups_path: str) -> bool:
    path = cgroups.CGROUP_ROOT / "memory" / cgroups_path.lstrip("/") / "memory.oom_control"
    try:
        for line in path.read_text().splitlines():
            if line.startswith("oom_kill ") and int(line.split()[1]) > 0:
                return True
    except (OSError, ValueError, IndexError):
        pass
    return False


def _rmtree(path: Path, ignore_errors: bool = False) -> None:
    """shutil.rmtree's work without importing shutil (see storage.remove_tree)."""
    remove_tree(path, ignore_errors=ignore_errors)


def _unlink(path: Path | None) -> None:
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _release_claim(path: Path | None) -> None:
    """Give a cleanup claim up: the exit command (waiting for it) runs the cleanup after all."""
    if path is not None:
        with contextlib.suppress(OSError):
            path.write_text("released\n")

