"""TimelineVerbs: Container's checkpoint timeline (a teaching lab's "go back a step"): named
snapshots of a container, each shaped lock -> sync -> check -> act -> event like the other
verbs. The files are engine/timeline.py's, CRIU's dump and restore the checkpoint verbs'
(container_checkpoint.py) and runc's.

* ``snapshot(step)``: a running container is dumped by CRIU and left running
  (``runc checkpoint --leave-running``), its root filesystem's changes kept beside the images
  (kind "checkpoint"). When CRIU refuses (an established TCP connection, a device...) or the
  container does not run, the changes alone are kept (kind "filesystem", with CRIU's
  complaint or "the container was not running" as the reason). The container is frozen
  (as pause) across the dump and the diff, so its files and its processes are of one moment
  (podman's ``--leave-running --export`` writes the diff with the processes running again).
* ``rewind(step)``: in place (same ID, name, config, log). A running container is stopped
  as ``stop`` would (killed: its state is thrown away), its upper layer is emptied and the
  snapshot's diff applied; a checkpoint is then restored from a copy of the snapshot's
  images (the processes go on from that step, the snapshot stays for the next rewind), a
  filesystem snapshot is started afresh if the container ran.
* ``export_snapshot``: a checkpoint archive (engine/checkpoint/archive.py, with the image:
  for hand-in to another machine), which Runtime.restore_container reads too;
  Runtime.import_snapshot takes either kind.

container.py imports this module at top level, and conmon's exit command loads container.py
at every container exit: the helpers (tarfile) are imported inside the verbs.
"""

from __future__ import annotations

import contextlib
import os
import time

from .container_checkpoint import CheckpointVerbs
from .errors import CtrError
from .records import Snapshot
from .state import ContainerState
from .storage import remove_tree

TYPE_CHECKING = False  # not typing's: importing typing costs every CLI command ~2 ms
if TYPE_CHECKING:
    from pathlib import Path

S = ContainerState
#: The reason of a filesystem snapshot of a container that does not run.
NOT_RUNNING = "the container was not running"
#: States ``rewind`` stops the container from (and then lets it run again).
RUNS = (S.CREATED, S.RUNNING, S.PAUSED, S.STOPPING)


class TimelineVerbs(CheckpointVerbs):
    """The checkpoint timeline (a mixin of Container; CRIU's dump and restore are
    CheckpointVerbs')."""

    def snapshot(self, step: str, *, replace: bool = False) -> Snapshot:
        """Keep the container's present as the snapshot ``step`` (see the module docstring);
        a running container keeps running. Raises InvalidArgumentError for a bad step name or
        one taken (unless ``replace``). Records the event ``snapshot`` (attribute ``step``)."""
        from . import timeline  # noqa: PLC0415 - lazy: tarfile (exit command / CLI start-up)
        from .staging import staging_dir  # noqa: PLC0415 - lazy: as above

        timeline.check_step(step)
        ctr_dir = self._rt.container_dir(self._id)
        with self._lock_and_sync():
            if self._record.state is S.REMOVING:
                raise self._err_state("cannot snapshot a container that is being removed")
            if not replace and (timeline.snapshot_dir(ctr_dir, step) / timeline.RECORD).exists():
                raise timeline.duplicate(step)
            tdir = timeline.timeline_dir(ctr_dir)
            tdir.mkdir(mode=0o700, exist_ok=True)
            timeline.sweep(ctr_dir)
            with staging_dir(tdir, timeline.NEW_PREFIX) as staging:
                created = time.time_ns()
                reason = NOT_RUNNING
                if self._record.state is S.RUNNING and self._freeze_for_snapshot():
                    # frozen across CRIU's dump (which leaves a frozen cgroup frozen) and the
                    # diff: the files are those of the moment the processes were dumped
                    try:
                        reason = self._dump_for_snapshot(staging)
                        timeline.write_diff(self._storage(), staging)
                    finally:
                        if self._record.state is S.RUNNING:
                            self._set_frozen(False)
                        else:  # it died meanwhile: nothing to thaw, maybe a cgroup left
                            with contextlib.suppress(CtrError):
                                self._set_frozen(False)
                    if reason and reason != NOT_RUNNING:
                        self._reconcile()  # CRIU resumes the tasks when a dump fails
                else:
                    timeline.write_diff(self._storage(), staging)
                kind = "filesystem" if reason else "checkpoint"
                snap = timeline.commit(staging, ctr_dir,
                                       Snapshot(step, kind, created, reason=reason), replace)
            self._event("snapshot", step=step, kind=kind)
        return snap

    def snapshots(self) -> list[Snapshot]:
        """The container's snapshots, oldest first."""
        from . import timeline  # noqa: PLC0415 - lazy: exit command / CLI start-up

        with self._lock_and_sync():
            return timeline.list_snapshots(self._rt.container_dir(self._id))

    def get_snapshot(self, step: str) -> Snapshot:
        """The snapshot ``step``; NoSuchSnapshotError if there is none."""
        from . import timeline  # noqa: PLC0415 - lazy: exit command / CLI start-up

        with self._lock_and_sync():
            return timeline.read_snapshot(self._rt.container_dir(self._id), step,
                                          self._label())

    def remove_snapshot(self, step: str) -> None:
        """Delete the snapshot ``step``; NoSuchSnapshotError if there is none."""
        from . import timeline  # noqa: PLC0415 - lazy: exit command / CLI start-up

        with self._lock_and_sync():
            timeline.remove(self._rt.container_dir(self._id), step, self._label())
            self._event("snapshot_remove", step=step)

    def rewind(self, step: str) -> Snapshot:
        """Take the container back to the snapshot ``step``, in place (see the module
        docstring): a checkpoint is restored and runs on from that step; a filesystem
        snapshot runs afresh if the container ran. Raises NoSuchSnapshotError,
        ContainerStateInvalidError (removing, or its root filesystem mounted by a user),
        OCIRuntimeError when CRIU cannot restore (the container is then stopped, its files
        the snapshot's). Records the event ``rewind`` (attribute ``step``)."""
        from . import timeline  # noqa: PLC0415 - lazy: exit command / CLI start-up
        from .checkpoint import criu  # noqa: PLC0415 - lazy: as above
        from .checkpoint.options import CheckpointOptions  # noqa: PLC0415 - lazy: as above

        ctr_dir = self._rt.container_dir(self._id)
        with self._lock_and_sync():
            snap = timeline.read_snapshot(ctr_dir, step, self._label())
            criu_path = criu.find_criu(self._rt.config.criu) if snap.kind == "checkpoint" \
                else ""
            st = self._record.state
            if st is S.REMOVING:
                raise self._err_state("cannot rewind a container that is being removed")
            if self._record.mount_count:
                raise self._err_state("cannot rewind while its root filesystem is mounted "
                                      "(unmount it first)")
            ran = st in RUNS
            if ran:
                self._stop_unlocked(0)  # its present is thrown away: no grace period
            if self._record.state is S.STOPPED:
                self._cleanup_unlocked()
            if self._record.state not in (S.CONFIGURED, S.EXITED):
                raise self._err_state("cannot rewind: the container was started again "
                                      "meanwhile")
            storage = self._storage()
            storage.unmount()
            self._record.mounted = False
            try:
                timeline.reset_rootfs(storage, timeline.snapshot_dir(ctr_dir, step),
                                      self._rt.images.limits)
                self._record.mounted = True
                if snap.kind == "checkpoint":
                    timeline.copy_images(timeline.snapshot_dir(ctr_dir, step),
                                         self._checkpoint_dir())
                    self._record.checkpoint_path = str(self._checkpoint_dir())
            except BaseException:
                with contextlib.suppress(CtrError):
                    storage.unmount()
                    self._record.mounted = False
                self._save()
                raise
            self._save()
            if snap.kind == "checkpoint":
                self._restore_locked(CheckpointOptions(), criu_path)
            elif ran:
                self._start_unlocked()
            else:
                storage.unmount()
                self._record.mounted = False
                self._save()
            self._event("rewind", step=step, kind=snap.kind)
        return snap

    def export_snapshot(self, step: str, target: str | os.PathLike[str]) -> int:
        """Write the snapshot ``step`` as one archive file (hand-in): a checkpoint archive
        with the image included (engine/checkpoint/archive.py), for Runtime.import_snapshot
        (either kind) or Runtime.restore_container (kind checkpoint). Returns its size."""
        from . import timeline  # noqa: PLC0415 - lazy: exit command / CLI start-up
        from .checkpoint import archive  # noqa: PLC0415 - lazy: as above

        dest = archive.export_target(target)
        ctr_dir = self._rt.container_dir(self._id)
        with self._lock_and_sync():
            snap = timeline.read_snapshot(ctr_dir, step, self._label())
            snap_dir = timeline.snapshot_dir(ctr_dir, step)
            return archive.write_archive(
                dest, ctr_id=self._id, name=self.name, config=self.config.to_dict(),
                checkpointed_at=snap.created, image=self._rt.images.get(self.config.image_id),
                ctr_dir=snap_dir, log_path=self.log_path, rootfs_layers=None,
                include_image=True, compression="gzip", image_lowers=self._storage().lowers,
                extra_members=timeline.diff_members(snap_dir),
                extra_dump={"snapshot": snap.to_record()})

    # -- helpers ----------------------------------------------------------------------------
    def _label(self) -> str:
        return f"{self._id[:12]} ({self.name})"

    def _freeze_for_snapshot(self) -> bool:
        """Freeze the running container (as pause does; the record stays running, the lock
        is held). False when it exited meanwhile (the record says so then)."""
        try:
            self._set_frozen(True)
        except CtrError:
            if not self._exited_meanwhile():
                raise
            self._save()
            return False
        return True

    def _dump_for_snapshot(self, staging: Path) -> str:
        """CRIU's images of the running (frozen) container into ``staging`` (it keeps
        running); returns "" on success, else why not (CRIU's complaint; the caller
        reconciles once it has thawed it), with nothing of the dump left in ``staging``."""
        from . import timeline  # noqa: PLC0415 - lazy: exit command / CLI start-up
        from .checkpoint import archive, criu  # noqa: PLC0415 - lazy: as above

        image_dir, work_dir = staging / archive.CHECKPOINT_DIR, staging / archive.WORK_DIR
        try:
            criu_path = criu.find_criu(self._rt.config.criu)
            for d in (image_dir, work_dir):
                d.mkdir(mode=0o700)
            self._rt.oci.checkpoint(self._id, image_dir, work_dir,
                                    runtime_args=self._rt.oci.criu_args(criu_path),
                                    leave_running=True)
            return ""
        except CtrError as exc:
            remove_tree(image_dir, ignore_errors=True)
            if self._exited_meanwhile():
                self._save()
                return NOT_RUNNING
            return timeline.criu_complaint(work_dir / "dump.log", str(exc))
        finally:
            remove_tree(work_dir, ignore_errors=True)

