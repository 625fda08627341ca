"""CheckpointVerbs: Container's checkpoint and restore verbs (libpod container_api.go
Checkpoint/Restore, container_internal_common.go checkpoint/restore), each shaped lock ->
sync -> check -> act -> save -> event. CRIU, options and archives are the helpers' business
(engine/checkpoint/); runc and conmon are OCIRuntime's.

Where things live (the bundle in the run root is deleted on cleanup, so nothing of a
checkpoint may live there)::

    <root>/containers/<id>/checkpoint/   CRIU's images (runc --image-path): inspect CheckpointPath
    <root>/containers/<id>/criu-work/    dump.log, restore.log, stats-dump, stats-restore
                                         (runc --work-path); removed unless ``keep``

States, as in podman: checkpoint takes RUNNING to EXITED with ``checkpointed`` set (or leaves it
RUNNING with ``keep_running``); restore takes CONFIGURED/EXITED with a checkpoint to RUNNING with
``restored`` set. ``runc checkpoint`` kills the container, so its old conmon writes an exit file
(137) and runs its exit command, which waits for the container lock: the checkpoint waits for
that file under the lock, cleans up and marks the container checkpointed before the lock is
released (so the exit command finds nothing to do), ``_read_exit_file`` ignores exit files
while checkpointed and any written before the restore, and the restore kills a still-waiting
old conmon and starts the new one with a new run token (so a late exit command of the old run
is a no-op). The new conmon (``--restore``) appends to the same ``ctr.log`` and serves the
attach socket again. The checkpoint images stay until a restore without ``keep`` (so an
exported checkpoint can also be restored in place). An export of a container that keeps
running freezes it across the dump and the root filesystem's diff, so that the archive's
files are those of the dumped moment (podman writes the diff with the processes running
again: a file written meanwhile would be newer than the processes that restore with it).

A crash between the dump and the save leaves the container EXITED with exit code 137 and
without the checkpointed mark, but its images complete, so ``restore()`` still works. A
restore under a new name (Runtime.import_checkpoint) keeps the archived hostname (CRIU
restores the UTS namespace) while inspect shows the new ID's.

Not supported, refused with an error that says why: pre-checkpoints (``pre_checkpoint``,
``with_previous``, ``import_previous``: CRIU's pre-dump needs the kernel's soft-dirty page
tracking, which this platform's kernel lacks), checkpoint images (``create_image``,
``checkpoint_image_id``), pods, zstd compression, and ``tcp_close`` with a runc that has no
``restore --tcp-close`` (runc 1.1.5). ``ignore_static_ip``/``ignore_static_mac``/
``ignore_volumes`` are accepted and change nothing: this engine has no static addresses and
no named volumes.

container.py imports this module at top level, and conmon's exit command loads container.py
at every container exit: the helpers are imported inside the verbs.
"""

from __future__ import annotations

import contextlib
import os
import time

from . import procinfo
from .container_internal import ContainerBase
from .errors import CtrError, InvalidArgumentError, OCIRuntimeError
from .state import ContainerState
from .storage import remove_tree

TYPE_CHECKING = False  # not typing's: importing typing costs every CLI command ~2 ms
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from .checkpoint.archive import CheckpointArchive
    from .checkpoint.options import CheckpointOptions, CheckpointStats

S = ContainerState

#: How long the old conmon may take to write its exit file after ``runc checkpoint``.
EXIT_FILE_TIMEOUT = 10.0


class CheckpointVerbs(ContainerBase):
    """Checkpoint and restore (a mixin of Container)."""

    def checkpoint(self, options: CheckpointOptions | None = None,
                   **kw: Any) -> CheckpointStats:
        """Dump the container with CRIU (libpod Checkpoint; ``kw`` are CheckpointOptions
        fields). RUNNING -> EXITED and checkpointed, or stays RUNNING with ``keep_running``;
        with ``target_file`` also write an archive.

        Raises ContainerStateInvalidError when the container does not run, InvalidArgumentError
        or NotImplementedCtrError for options this engine cannot honour, OCIRuntimeError (with
        the end of CRIU's dump.log) when the dump fails; the container then keeps running.
        """
        from .checkpoint import archive, criu  # noqa: PLC0415 - lazy: exit command / CLI start-up
        from .checkpoint.options import check_options, merge_options  # noqa: PLC0415 - lazy: as above

        opts = merge_options(options, kw)
        check_options(opts, "checkpoint", self._rt.config.criu)
        target = archive.export_target(opts.target_file) if opts.target_file is not None \
            else None
        if target is not None and self.config.dependencies:
            raise InvalidArgumentError(f"cannot export the checkpoint of container "
                                       f"{self._id[:12]} ({self.name}): it has dependencies")
        criu_path = criu.find_criu(self._rt.config.criu)
        started = time.monotonic()
        with self._lock_and_sync():
            if self._record.state is not S.RUNNING:
                raise self._err_state("can only checkpoint running containers")
            if self.config.auto_remove and target is None:
                raise InvalidArgumentError(
                    f"cannot checkpoint container {self._id[:12]} ({self.name}): it was "
                    "created with auto-remove, which would delete the checkpoint; export it "
                    "with target_file")
            stats = self._checkpoint_locked(opts, criu_path, target)
        if self.config.auto_remove and not opts.keep_running:
            with contextlib.suppress(CtrError):  # as podman: the export is what remains
                self._rt.remove_container(self.id, force=True, timeout=0)
        stats.total_duration = _micros(time.monotonic() - started)
        return stats

    def restore(self, options: CheckpointOptions | None = None, *,
                from_archive: CheckpointArchive | None = None, **kw: Any) -> CheckpointStats:
        """Restore the container from its checkpoint (libpod Restore; ``kw`` are
        CheckpointOptions fields): CONFIGURED/EXITED -> RUNNING and restored.

        ``from_archive`` (Runtime.import_checkpoint's) first moves a read archive's checkpoint
        into this container, which must never have run, and restores it with the archived
        hostname. Archives restore as new containers: Runtime.restore_container.

        Raises ContainerStateInvalidError when it runs or has no complete checkpoint,
        InvalidArgumentError for archive options, OCIRuntimeError (with the end of CRIU's
        restore.log) when CRIU fails; the checkpoint is then kept.
        """
        from .checkpoint import criu  # noqa: PLC0415 - lazy: exit command / CLI start-up
        from .checkpoint.options import (  # noqa: PLC0415 - lazy: as above
            check_options,
            check_restore_runtime,
            merge_options,
        )

        opts = merge_options(options, kw)
        check_options(opts, "restore", self._rt.config.criu)
        if from_archive is None and (opts.target_file is not None or opts.name is not None):
            raise InvalidArgumentError(
                "restoring from an archive or under a new name creates a new container: use "
                "Runtime.restore_container(archive, name=...)")
        criu_path = criu.find_criu(self._rt.config.criu)
        check_restore_runtime(opts, self._rt.oci)
        started = time.monotonic()
        with self._lock_and_sync():
            st = self._record.state
            if st not in (S.CONFIGURED, S.EXITED):
                raise self._err_state("cannot restore: only a container that is not running "
                                      "(exited or created) can be restored")
            hostname = ""
            if from_archive is not None:
                self._install_archive(from_archive, opts.ignore_rootfs)
                hostname = from_archive.hostname
            if not self._has_checkpoint_images():
                raise self._err_state("a complete checkpoint for this container cannot be "
                                      "found, cannot restore")
            stats = self._restore_locked(opts, criu_path, hostname)
        stats.total_duration = _micros(time.monotonic() - started)
        return stats

    # -- checkpoint ---------------------------------------------------------------------------
    def _checkpoint_locked(self, opts: CheckpointOptions, criu_path: str,
                           target: Path | None) -> CheckpointStats:
        from .checkpoint import archive, criu  # noqa: PLC0415 - lazy: exit command / CLI start-up
        from .checkpoint.options import CheckpointStats  # noqa: PLC0415 - lazy: as above

        image_dir, work_dir = self._checkpoint_dir(), self._criu_work_dir()
        self._begin("checkpoint")
        for d in (image_dir, work_dir):
            remove_tree(d, ignore_errors=True)
            d.mkdir(mode=0o700)
        self._record.update(checkpoint_path=str(image_dir),
                            checkpoint_log=str(work_dir / "dump.log"))
        conmon_pid = int(self._record.conmon_pid or 0)
        # An export of a container that keeps running: frozen across the dump (CRIU leaves a
        # frozen cgroup frozen) and the root filesystem's diff, written into ``diff_dir``
        # before it is thawed, so that the archive's files are those of the dumped moment.
        diff_dir = None
        if opts.keep_running and target is not None and not opts.ignore_rootfs:
            diff_dir = self._rt.container_dir(self._id) / \
                f"{archive.EXPORT_STAGING_PREFIX}diff-{os.urandom(4).hex()}"
            diff_dir.mkdir(mode=0o700)
        diff_members: list[tuple[str, Path]] = []
        frozen = False
        try:
            try:
                if diff_dir is not None:
                    self._set_frozen(True)
                    frozen = True
                duration = self._rt.oci.checkpoint(
                    self._id, image_dir, work_dir,
                    runtime_args=self._rt.oci.criu_args(criu_path),
                    leave_running=opts.keep_running, tcp_established=opts.tcp_established,
                    file_locks=opts.file_locks)
                if diff_dir is not None:
                    storage = self._storage()
                    diff_members = archive.write_rootfs_diff(storage.upper, storage.lowers,
                                                             diff_dir)
            finally:
                if frozen:
                    try:
                        self._set_frozen(False)
                    except CtrError:
                        if not self._exited_meanwhile():  # died meanwhile: nothing to thaw
                            raise
        except CtrError as exc:
            if diff_dir is not None:
                remove_tree(diff_dir, ignore_errors=True)
            remove_tree(image_dir, ignore_errors=True)
            self._record.checkpoint_path = ""
            if self._exited_meanwhile():
                # It exited between our state check and the dump: report what it is now, as
                # for a container found stopped (as kill does), not as a CRIU failure.
                self._record.pending = None
                self._save()
                raise self._err_state("can only checkpoint running containers") from None
            self._record.error = f"checkpoint failed: {exc}"
            self._reconcile()  # CRIU resumes the tasks when a dump fails: runc says what runs
            raise OCIRuntimeError(f"checkpointing container {self._id[:12]} ({self.name}) "
                                  f"failed: {exc}{criu.log_tail(work_dir / 'dump.log')}"
                                  ) from exc
        now = time.time_ns()
        if not opts.keep_running:
            # runc has killed the tasks; the old conmon writes its exit file (137), then runs
            # its exit command, which waits for this lock. Wait for the file, not for conmon
            # (it waits for us), so that nothing of the old monitor can land after this point.
            self._wait_exit_file(EXIT_FILE_TIMEOUT)
            self._set(S.STOPPED)
            self._record.pid = 0
            self._cleanup_unlocked()  # runc delete, unmount, cgroups, exit file, bundle
            self._record.update(checkpointed=True, checkpointed_at=now, restored=False,
                                restored_at=0, finished_at=now,
                                checkpoint_conmon_pid=conmon_pid)
        self._record.pending = None
        self._save()
        stats = CheckpointStats(id=self._id, name=self.name,
                                runtime_duration=_micros(duration),
                                image_size=archive.tree_size(image_dir))
        try:
            if target is not None:
                storage = self._storage()
                stats.archive_size = archive.write_archive(
                    target, ctr_id=self._id, name=self.name, config=self.config.to_dict(),
                    checkpointed_at=int(self._record.checkpointed_at or time.time_ns()),
                    image=self._rt.images.get(self.config.image_id),
                    ctr_dir=self._rt.container_dir(self._id), log_path=self.log_path,
                    rootfs_layers=None if opts.ignore_rootfs or diff_dir is not None
                    else (storage.upper, storage.lowers),
                    include_image=opts.include_image, compression=opts.compression,
                    image_lowers=storage.lowers, extra_members=diff_members)
        finally:
            if diff_dir is not None:
                remove_tree(diff_dir, ignore_errors=True)
            if opts.print_stats:
                stats.criu = criu.read_criu_stats(work_dir / "stats-dump")
            if not opts.keep:
                remove_tree(work_dir, ignore_errors=True)
                self._record.checkpoint_log = ""
            self._save()
            self._event("checkpoint")
        return stats

    # -- restore ------------------------------------------------------------------------------
    def _install_archive(self, source: CheckpointArchive, ignore_rootfs: bool) -> None:
        """Move an archive's checkpoint into this container and apply its root filesystem
        diff (lock held). Only into a container that never ran: its files are the archive's."""
        from .checkpoint import archive  # noqa: PLC0415 - lazy: exit command / CLI start-up

        if self._record.state is not S.CONFIGURED or self._record.started_at or \
                self._checkpoint_dir().exists():
            raise self._err_state("only a new container without a checkpoint can be restored "
                                  "from an archive")
        archive.install_checkpoint(source, self._rt.container_dir(self._id), self.log_path)
        if not ignore_rootfs and source.has_rootfs_diff:
            archive.apply_rootfs_diff(source, self._storage().mount(), self._rt.images.limits)

    def _restore_locked(self, opts: CheckpointOptions, criu_path: str,
                        hostname: str = "") -> CheckpointStats:
        """Run conmon with --restore (lock held, checkpoint present)."""
        from .checkpoint import archive, criu  # noqa: PLC0415 - lazy: exit command / CLI start-up
        from .checkpoint.options import CheckpointStats  # noqa: PLC0415 - lazy: as above

        image_dir, work_dir = self._checkpoint_dir(), self._criu_work_dir()
        # Saved with the marker: if this process dies once conmon runs, whoever reconciles
        # knows the run that conmon's exit command reports and when the restored container
        # began.
        restored_at = time.time_ns()
        run_token = os.urandom(8).hex()  # the old monitor's exit command has another
        self._record.update(run_token=run_token, restored_at=restored_at)
        self._begin("restore")
        # The conmon from before the checkpoint may still wait for its exit command (which
        # waits for our lock): nothing of it may touch the bundle path the new one uses.
        procinfo.kill_conmon(int(self._record.checkpoint_conmon_pid or 0), self._id)
        self._record.checkpoint_conmon_pid = 0
        work_dir.mkdir(mode=0o700, exist_ok=True)
        for stale in ("restore.log", "stats-restore"):
            with contextlib.suppress(FileNotFoundError):
                (work_dir / stale).unlink()
        self._record.restore_log = str(work_dir / "restore.log")
        runtime_opts = [f"--work-path={work_dir}"]
        if opts.tcp_established:
            runtime_opts.append("--tcp-established")
        if opts.tcp_close:
            runtime_opts.append("--tcp-close")
        if opts.file_locks:
            runtime_opts.append("--file-locks")
        try:
            self._remove_runtime_files()  # a stale exit file, bundle or socket of the old run
            rootfs = self._storage().mount()
            self._record.mounted = True
            self._write_bundle(rootfs, hostname)
            began = time.monotonic()
            result = self._rt.oci.create(
                ctr_id=self._id, name=self.name, bundle=self.bundle, log_path=self.log_path,
                tty=bool(self.config.tty), stdin=bool(self.config.stdin),
                exit_command=self._rt.exit_command(self._id, run_token),
                extra_env=self._rt.exit_command_env(), restore_path=image_dir,
                runtime_args=self._rt.oci.criu_args(criu_path), runtime_opts=runtime_opts,
                log_size_max=self.config.log_size_max)
            duration = time.monotonic() - began
        except (CtrError, OSError) as exc:
            self._record.error = f"restore failed: {exc}"
            self._fail_and_cleanup()  # the checkpoint stays: it can be restored again
            raise OCIRuntimeError(f"restoring container {self._id[:12]} ({self.name}) failed: "
                                  f"{exc}{criu.log_tail(work_dir / 'restore.log')}") from exc
        self._record.update(pid=result.pid, conmon_pid=result.conmon_pid, pending=None,
                            error="", stopped_by_user=False, oom_killed=False,
                            checkpointed=False, checkpointed_at=0, checkpoint_conmon_pid=0,
                            restored=True, restored_at=restored_at)
        if not self._record.started_at:
            self._record.started_at = restored_at
        self._set(S.RUNNING)
        self._save()
        stats = CheckpointStats(id=self._id, name=self.name,
                                runtime_duration=_micros(duration),
                                image_size=archive.tree_size(image_dir))
        if opts.print_stats:
            stats.criu = criu.read_criu_stats(work_dir / "stats-restore")
        if not opts.keep:
            remove_tree(image_dir, ignore_errors=True)
            remove_tree(work_dir, ignore_errors=True)
            self._record.update(checkpoint_path="", checkpoint_log="", restore_log="")
        self._save()
        self._event("restore")
        return stats

    # -- paths ----------------------------------------------------------------------------
    def _has_checkpoint_images(self) -> bool:
        """A complete checkpoint is on disk (its inventory.img: the check restore makes)."""
        from .checkpoint.archive import CHECKPOINT_DIR  # noqa: PLC0415 - lazy: exit command

        # os.path, not pathlib: a list asks this of every stopped container.
        return os.path.isfile(os.path.join(self._rt.containers_dir, self._id, CHECKPOINT_DIR,
                                           "inventory.img"))

    def _checkpoint_dir(self) -> Path:
        """CRIU's images (inspect's CheckpointPath)."""
        from .checkpoint.archive import CHECKPOINT_DIR  # noqa: PLC0415 - lazy: exit command

        return self._rt.container_dir(self._id) / CHECKPOINT_DIR

    def _criu_work_dir(self) -> Path:
        """CRIU's logs and statistics (runc --work-path)."""
        from .checkpoint.archive import WORK_DIR  # noqa: PLC0415 - lazy: exit command

        return self._rt.container_dir(self._id) / WORK_DIR


def _micros(seconds: float) -> int:
    return int(seconds * 1_000_000)
