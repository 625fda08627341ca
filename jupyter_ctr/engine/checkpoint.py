"""Checkpoint and restore with CRIU: libpod's Checkpoint/Restore, and podman's
``container checkpoint --export`` / ``container restore --import`` (a new container from an
archive, on this engine root or on another one).

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
released (so the exit command finds nothing to do), ``Container._read_exit_file`` ignores exit
files while checkpointed and any written before the restore, and the restore kills a
still-waiting old conmon and starts the new one with a new run token (so a late exit command
of the old run is a no-op). The new conmon (``--restore``) appends to the same ``ctr.log`` and
serves the attach socket again. The checkpoint images stay until a restore without ``keep``
(so an exported checkpoint can also be restored in place).

Limits: the root filesystem diff is written with :mod:`tarfile`, which keeps owners, modes and
times but not extended attributes (file capabilities); a restore under a new name keeps the
archived hostname (CRIU restores the UTS namespace) while inspect shows the new ID's; a crash
between the dump and the save leaves the container EXITED with exit code 137 and without the
checkpointed mark, but its images complete, so ``restore()`` still works.

The archive (``target_file``) is a tar (gzip by default) of::

    config.dump          format, id, name, hostname, checkpoint time, the container's config
                         and its image's id, names and config
    checkpoint/...       CRIU's images
    ctr.log, artifacts/  the container's log and artifacts
    stats-dump           CRIU's dump statistics (when kept)
    rootfs-diff.tar      files the container added or changed (unless ``ignore_rootfs``)
    deleted.files        JSON list of paths the container deleted (overlay whiteouts)
    image/rootfs.tar     the image's root filesystem (unless ``include_image=False``)
    manifest.json        written last: size and sha256 of every other member

Restoring an archive never trusts it: it is extracted into a staging directory under the
engine root with images.archive's member checks (no absolute or ``..`` paths, no links leading
out, no devices), the manifest must be present (a truncated archive has none) and match every
file, and config.dump is validated field by field. Only then is a container row created; any
later failure removes the container, its directories, mounts and conmon again.

The image: a restore uses the image with the archived id if this root has it. Otherwise the
archive's ``image/rootfs.tar`` is imported (its id is the sha256 of that tarball, so restoring
the same archive again reuses it; it takes the archived name only if that name is free here,
else it stays nameless). An archive made with ``include_image=False`` whose image is missing
fails with NoSuchImageError naming the image.

Not supported, refused with an error that says why: pre-checkpoints (``pre_checkpoint``,
``with_previous``, ``import_previous``: CRIU's pre-dump needs the kernel's soft-dirty page
tracking, which this platform's kernel lacks), checkpoint images (``create_image``,
``checkpoint_image_id``), pods, zstd compression, and ``tcp_close`` with a runc that has no
``restore --tcp-close`` (runc 1.1.5). ``ignore_static_ip``/``ignore_static_mac``/
``ignore_volumes`` are accepted and change nothing: this engine has no static addresses and
no named volumes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import signal
import stat
import struct
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from . import procinfo, procs
from .container import Container
from .errors import (
    ContainerExistsError,
    CtrError,
    InvalidArgumentError,
    NoSuchImageError,
    NotImplementedCtrError,
    OCIRuntimeError,
    RuntimeMissingError,
)
from .images import ArchiveLimits, normalize_reference
from .images.archive import MemberGuard, extract_tarball, name_parts, sha256_file
from .parsing import parse_restart_policy
from .records import NAME_PATTERN, NETWORK_MODES, ContainerConfig, ContainerRecord
from .state import ContainerState

if TYPE_CHECKING:
    from .images import Image
    from .runtime import Runtime

S = ContainerState

CHECKPOINT_DIR = "checkpoint"
WORK_DIR = "criu-work"
ARCHIVE_FORMAT = "jupyter-ctr-checkpoint"
ARCHIVE_VERSION = 1
MANIFEST = "manifest.json"
#: How long the old conmon may take to write its exit file after ``runc checkpoint``.
EXIT_FILE_TIMEOUT = 10.0
#: Where the CRIU that works is installed (Debian's /usr/sbin/criu 3.17 fails on new kernels).
CRIU_DIRS = ("/usr/local/sbin", "/usr/local/bin")
COMPRESSIONS = ("gzip", "none", "uncompressed", "bzip2", "xz")

_STAGING_PREFIX = ".restore-"
_STAGING_GRACE = 60.0
_STAGING_RE = re.compile(r"\.restore-(\d+)-(\d+)-[^/]+")
_MAX_JSON_BYTES = 4 << 20
_IMAGE_CONFIG_KEYS = ("Env", "Cmd", "Entrypoint", "WorkingDir", "User", "Labels")
_SHA256_HEX = frozenset("0123456789abcdef")


@dataclass
class CheckpointOptions:
    """libpod's ContainerCheckpointOptions (one field each), plus ``include_image``."""

    #: Keep CRIU's work files (dump.log, restore.log, stats) and, on restore, the images.
    keep: bool = False
    #: Checkpoint and leave the container running.
    keep_running: bool = False
    #: Checkpoint/restore established TCP connections.
    tcp_established: bool = False
    #: Close established TCP connections on restore (needs runc restore --tcp-close).
    tcp_close: bool = False
    #: Checkpoint: also write an archive here. (Restoring from one: Runtime.restore_container.)
    target_file: str | os.PathLike[str] | None = None
    #: Restore from an archive as a new container under this name.
    name: str | None = None
    #: Leave the root filesystem's changes out of the archive, or do not apply them.
    ignore_rootfs: bool = False
    #: Accepted for podman's sake: this engine gives containers no static IP addresses.
    ignore_static_ip: bool = False
    #: Accepted for podman's sake: this engine gives containers no static MAC addresses.
    ignore_static_mac: bool = False
    #: Accepted for podman's sake: this engine has no named volumes.
    ignore_volumes: bool = False
    #: CRIU pre-dump (refused: no soft-dirty tracking in the kernel).
    pre_checkpoint: bool = False
    #: Dump on top of a pre-dump (refused, as pre_checkpoint).
    with_previous: bool = False
    #: Restore on top of a pre-dump archive (refused, as pre_checkpoint).
    import_previous: str | None = None
    #: Store the checkpoint as an image (refused: use target_file).
    create_image: str | None = None
    #: Restore from a checkpoint image (refused: use Runtime.restore_container).
    checkpoint_image_id: str | None = None
    #: Archive compression: gzip (default), none, bzip2 or xz.
    compression: str = "gzip"
    #: Restore into a pod (refused: this engine has no pods).
    pod: str | None = None
    #: Add CRIU's own statistics (stats-dump / stats-restore) to the returned stats.
    print_stats: bool = False
    #: Checkpoint/restore file locks.
    file_locks: bool = False
    #: Engine extension: put the image's root filesystem into the archive, so that it can be
    #: restored on an engine root that lacks the image.
    include_image: bool = True


@dataclass
class CheckpointStats:
    """What one checkpoint or restore cost. Durations in microseconds, sizes in bytes."""

    id: str
    name: str
    #: ``runc checkpoint``, or conmon + ``runc restore``, alone (podman's RuntimeDuration).
    runtime_duration: int = 0
    #: The whole verb, export/import included.
    total_duration: int = 0
    #: CRIU's image directory.
    image_size: int = 0
    #: The archive written (checkpoint) or read (restore); 0 without one.
    archive_size: int = 0
    #: With ``print_stats``: CRIU's statistics (freezing_time, pages_written, ... in its own
    #: units: microseconds and pages).
    criu: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Podman's report shape: Id, RuntimeDuration, CRIUStatistics (CamelCase keys)."""
        return {
            "Id": self.id, "Name": self.name, "RuntimeDuration": self.runtime_duration,
            "TotalDuration": self.total_duration, "ImageSize": self.image_size,
            "ArchiveSize": self.archive_size,
            "CRIUStatistics": {_camel(k): v for k, v in self.criu.items()},
        }


# -- the verbs --------------------------------------------------------------------------------
def checkpoint(ctr: Container, options: CheckpointOptions | None = None,
               **kw: Any) -> CheckpointStats:
    """Checkpoint ``ctr`` (RUNNING only): EXITED and checkpointed, or still RUNNING with
    ``keep_running``; with ``target_file`` also write an archive.

    Raises ContainerStateInvalidError when the container does not run, InvalidArgumentError or
    NotImplementedCtrError for options this engine cannot honour, OCIRuntimeError (with the end
    of CRIU's dump.log) when the dump fails; the container then keeps running.
    """
    opts = _options(options, kw)
    _check_options(ctr._rt, opts, "checkpoint")
    rt = ctr._rt
    target = _export_target(opts.target_file) if opts.target_file is not None else None
    if target is not None and ctr.config.dependencies:
        raise InvalidArgumentError(f"cannot export the checkpoint of container {ctr.id[:12]} "
                                   f"({ctr.name}): it has dependencies")
    criu = find_criu(rt)
    started = time.monotonic()
    with ctr._lock_and_sync():
        if ctr._record.state is not S.RUNNING:
            raise ctr._err_state("can only checkpoint running containers")
        if ctr.config.auto_remove and target is None:
            raise InvalidArgumentError(
                f"cannot checkpoint container {ctr.id[:12]} ({ctr.name}): it was created with "
                "auto-remove, which would delete the checkpoint; export it with target_file")
        stats = _checkpoint_locked(ctr, opts, criu, target)
    if ctr.config.auto_remove and not opts.keep_running:
        with contextlib.suppress(CtrError):  # as podman: the export is what remains
            rt.remove_container(ctr, force=True, timeout=0)
    stats.total_duration = _micros(time.monotonic() - started)
    return stats


def restore(ctr: Container, options: CheckpointOptions | None = None,
            **kw: Any) -> CheckpointStats:
    """Restore ``ctr`` from its checkpoint: CONFIGURED/EXITED -> RUNNING and restored.

    Raises ContainerStateInvalidError when it runs or has no complete checkpoint,
    InvalidArgumentError for archive options (use Runtime.restore_container), OCIRuntimeError
    (with the end of CRIU's restore.log) when CRIU fails; the checkpoint is then kept.
    """
    opts = _options(options, kw)
    _check_options(ctr._rt, opts, "restore")
    if opts.target_file is not None or opts.name is not None:
        raise InvalidArgumentError(
            "restoring from an archive or under a new name creates a new container: use "
            "Runtime.restore_container(archive, name=...)")
    criu = find_criu(ctr._rt)
    _check_runtime_options(ctr._rt, opts)
    started = time.monotonic()
    with ctr._lock_and_sync():
        st = ctr._record.state
        if st not in (S.CONFIGURED, S.EXITED):
            raise ctr._err_state("cannot restore: only a container that is not running (exited "
                                 "or created) can be restored")
        if not (_image_dir(ctr) / "inventory.img").is_file():
            raise ctr._err_state("a complete checkpoint for this container cannot be found, "
                                 "cannot restore")
        stats = _restore_locked(ctr, opts, criu)
    stats.total_duration = _micros(time.monotonic() - started)
    return stats


def restore_container(rt: Runtime, archive: str | os.PathLike[str], name: str | None = None,
                      options: CheckpointOptions | None = None,
                      **kw: Any) -> tuple[Container, CheckpointStats]:
    """Create a container from a checkpoint archive and restore it (it runs on return).

    Without ``name`` (here or in the options) the container keeps the archived ID and name,
    like a migration; with one it gets a new ID, so one archive can be restored many times.
    Raises InvalidArgumentError for a missing, corrupt, truncated or unsafe archive,
    ContainerExistsError when the name or ID is taken, NoSuchImageError when the image is
    neither here nor in the archive. On any failure nothing is left behind.
    """
    opts = _options(options, kw)
    name = opts.name if name is None else name
    _check_options(rt, opts, "restore")
    if name is not None and (not isinstance(name, str) or not re.match(NAME_PATTERN, name)):
        raise InvalidArgumentError(f"invalid container name {name!r}: names must match "
                                   "[a-zA-Z0-9][a-zA-Z0-9_.-]*")
    path = Path(os.fspath(archive)).absolute()
    origin = str(path)
    if not path.is_file():
        raise InvalidArgumentError(f"cannot restore from {origin}: no such checkpoint archive "
                                   "(not an existing regular file)")
    if name is not None and _name_taken(rt, name):
        raise ContainerExistsError(f"the container name {name!r} is already in use: choose "
                                   "another name")
    criu = find_criu(rt)
    _check_runtime_options(rt, opts)
    started = time.monotonic()
    ctr: Container | None = None
    imported_image = ""
    with _staging(rt) as staging:
        try:
            info = _read_archive(path, staging, origin, rt.images.limits)
            if name is None:
                ctr_id, ctr_name = info.id, info.name
                if rt.store.container_exists(ctr_id):
                    raise ContainerExistsError(
                        f"cannot restore {origin} with its own ID: container {ctr_id[:12]} "
                        "exists here already; restore it under a new name")
            else:
                ctr_id, ctr_name = secrets.token_hex(32), name
            image, imported = _restore_image(rt, info)
            imported_image = image.id if imported else ""
            config = dict(info.config, id=ctr_id, name=ctr_name,
                          image=image.names[0] if image.names else image.id,
                          image_id=image.id, image_rootfs=str(image.rootfs),
                          created=time.time_ns(), dependencies=[])
            ctr = _add_container(rt, info, ctr_id, ctr_name, config)
            _populate(ctr, info, opts)
            with ctr._lock_and_sync():
                stats = _restore_locked(ctr, opts, criu, hostname=info.hostname)
        except BaseException:
            if ctr is not None:
                with contextlib.suppress(CtrError):
                    rt.remove_container(ctr, force=True, timeout=0)
            if imported_image:
                with contextlib.suppress(CtrError):
                    rt.remove_image(imported_image)
            raise
    stats.archive_size = path.stat().st_size
    stats.total_duration = _micros(time.monotonic() - started)
    return ctr, stats


# -- checkpoint -------------------------------------------------------------------------------
def _checkpoint_locked(ctr: Container, opts: CheckpointOptions, criu: str,
                       target: Path | None) -> CheckpointStats:
    rt = ctr._rt
    image_dir, work_dir = _image_dir(ctr), _work_dir(ctr)
    ctr._begin("checkpoint")
    for d in (image_dir, work_dir):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(mode=0o700)
    ctr._record.update(checkpoint_path=str(image_dir), checkpoint_log=str(work_dir / "dump.log"))
    conmon_pid = int(ctr._record.conmon_pid or 0)
    try:
        duration = rt.oci.checkpoint(ctr.id, image_dir, work_dir,
                                     runtime_args=_criu_args(rt, criu),
                                     leave_running=opts.keep_running,
                                     tcp_established=opts.tcp_established,
                                     file_locks=opts.file_locks)
    except CtrError as exc:
        shutil.rmtree(image_dir, ignore_errors=True)
        ctr._record.update(checkpoint_path="", error=f"checkpoint failed: {exc}")
        ctr._reconcile()  # CRIU resumes the tasks when a dump fails: runc says what runs
        raise OCIRuntimeError(f"checkpointing container {ctr.id[:12]} ({ctr.name}) failed: "
                              f"{exc}{_log_tail(work_dir / 'dump.log')}") from exc
    now = time.time_ns()
    if not opts.keep_running:
        # runc has killed the tasks; the old conmon writes its exit file (137), then runs its
        # exit command, which waits for this lock. Wait for the file, not for conmon (it waits
        # for us), so that nothing of the old monitor can land after this point.
        ctr._wait_exit_file(EXIT_FILE_TIMEOUT)
        ctr._set(S.STOPPED)
        ctr._record.pid = 0
        ctr._cleanup_unlocked()  # runc delete, unmount, cgroups, exit file, bundle -> EXITED
        ctr._record.update(checkpointed=True, checkpointed_at=now, restored=False,
                          restored_at=0, finished_at=now, checkpoint_conmon_pid=conmon_pid)
    ctr._record.pending = None
    ctr._save()
    stats = CheckpointStats(id=ctr.id, name=ctr.name, runtime_duration=_micros(duration),
                            image_size=_tree_size(image_dir))
    try:
        if target is not None:
            stats.archive_size = _export(ctr, target, opts)
    finally:
        if opts.print_stats:
            stats.criu = read_criu_stats(work_dir / "stats-dump")
        if not opts.keep:
            shutil.rmtree(work_dir, ignore_errors=True)
            ctr._record.checkpoint_log = ""
        ctr._save()
        ctr._event("checkpoint")
    return stats


# -- restore ----------------------------------------------------------------------------------
def _restore_locked(ctr: Container, opts: CheckpointOptions, criu: str,
                    hostname: str | None = None) -> CheckpointStats:
    """Run conmon with --restore for ``ctr`` (lock held, checkpoint present)."""
    rt = ctr._rt
    image_dir, work_dir = _image_dir(ctr), _work_dir(ctr)
    # Saved with the marker: if this process dies once conmon runs, whoever reconciles knows
    # the run that conmon's exit command reports and when the restored container began.
    restored_at = time.time_ns()
    run_token = secrets.token_hex(8)  # the old monitor's exit command has another
    ctr._record.update(run_token=run_token, restored_at=restored_at)
    ctr._begin("restore")
    _stop_old_monitor(ctr)
    work_dir.mkdir(mode=0o700, exist_ok=True)
    for stale in ("restore.log", "stats-restore"):
        with contextlib.suppress(FileNotFoundError):
            (work_dir / stale).unlink()
    ctr._record.restore_log = str(work_dir / "restore.log")
    runtime_opts = [f"--work-path={work_dir}"]
    if opts.tcp_established:
        runtime_opts.append("--tcp-established")
    if opts.tcp_close:
        runtime_opts.append("--tcp-close")
    if opts.file_locks:
        runtime_opts.append("--file-locks")
    try:
        ctr._remove_runtime_files()  # a stale exit file, bundle or socket of the old monitor
        rootfs = ctr._storage().mount()
        ctr._record.mounted = True
        ctr._write_bundle(rootfs)
        if hostname:
            _set_bundle_hostname(ctr.bundle, hostname)
        began = time.monotonic()
        result = rt.oci.create(
            ctr_id=ctr.id, name=ctr.name, bundle=ctr.bundle, log_path=ctr.log_path,
            tty=bool(ctr.config.tty), stdin=bool(ctr.config.stdin),
            exit_command=rt.exit_command(ctr.id, run_token), extra_env=rt.exit_command_env(),
            restore_path=image_dir, runtime_args=_criu_args(rt, criu),
            runtime_opts=runtime_opts, log_size_max=ctr.config.log_size_max)
        duration = time.monotonic() - began
    except (CtrError, OSError) as exc:
        ctr._record.error = f"restore failed: {exc}"
        ctr._fail_and_cleanup()  # the checkpoint stays: it can be restored again
        raise OCIRuntimeError(f"restoring container {ctr.id[:12]} ({ctr.name}) failed: {exc}"
                              f"{_log_tail(work_dir / 'restore.log')}") from exc
    ctr._record.update(pid=result.pid, conmon_pid=result.conmon_pid, pending=None, error="",
                      stopped_by_user=False, oom_killed=False, checkpointed=False,
                      checkpointed_at=0, checkpoint_conmon_pid=0, restored=True,
                      restored_at=restored_at)
    if not ctr._record.started_at:
        ctr._record.started_at = restored_at
    ctr._set(S.RUNNING)
    ctr._save()
    stats = CheckpointStats(id=ctr.id, name=ctr.name, runtime_duration=_micros(duration),
                            image_size=_tree_size(image_dir))
    if opts.print_stats:
        stats.criu = read_criu_stats(work_dir / "stats-restore")
    if not opts.keep:
        shutil.rmtree(image_dir, ignore_errors=True)
        shutil.rmtree(work_dir, ignore_errors=True)
        ctr._record.update(checkpoint_path="", checkpoint_log="", restore_log="")
    ctr._save()
    ctr._event("restore")
    return stats


def _stop_old_monitor(ctr: Container) -> None:
    """SIGKILL the conmon that ran before the checkpoint if it still waits for its exit command
    (which waits for our lock): nothing of it may touch the bundle path the new one uses."""
    pid = int(ctr._record.checkpoint_conmon_pid or 0)
    if pid and procinfo.alive(pid) and procinfo.is_conmon(pid, ctr.id):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 2
        while procinfo.alive(pid) and time.monotonic() < deadline:
            time.sleep(0.002)
    ctr._record.checkpoint_conmon_pid = 0


def _set_bundle_hostname(bundle: Path, hostname: str) -> None:
    spec = json.loads((bundle / "config.json").read_text())
    spec["hostname"] = hostname
    tmp = bundle / "config.json.tmp"
    tmp.write_text(json.dumps(spec))
    tmp.replace(bundle / "config.json")


# -- export -----------------------------------------------------------------------------------
def _export(ctr: Container, target: Path, opts: CheckpointOptions) -> int:
    """Write the archive (see the module docstring) to ``target``; returns its size."""
    rt = ctr._rt
    ctr_dir = rt.container_dir(ctr.id)
    scratch = Path(tempfile.mkdtemp(prefix=".export-", dir=ctr_dir))
    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
    try:
        members: list[tuple[str, Path]] = []
        image_dir = _image_dir(ctr)
        members += [(f"{CHECKPOINT_DIR}/{p.name}", p) for p in sorted(image_dir.iterdir())
                    if p.is_file() and not p.is_symlink()]
        if ctr.log_path.is_file():
            members.append(("ctr.log", ctr.log_path))
        artifacts = ctr_dir / "artifacts"
        if artifacts.is_dir():
            members += [(f"artifacts/{p.name}", p) for p in sorted(artifacts.iterdir())
                        if p.is_file() and not p.is_symlink()]
        stats_dump = _work_dir(ctr) / "stats-dump"
        if stats_dump.is_file():
            members.append(("stats-dump", stats_dump))
        if not opts.ignore_rootfs:
            storage = ctr._storage()
            members += _write_rootfs_diff(storage.upper, storage.lower, scratch)
        image = rt.images.get(ctr.config.image_id)
        if opts.include_image:
            image_tar = scratch / "image-rootfs.tar"
            _write_tree_tar(image.rootfs, image_tar)
            members.append(("image/rootfs.tar", image_tar))
        dump = {
            "format": ARCHIVE_FORMAT, "version": ARCHIVE_VERSION, "id": ctr.id,
            "name": ctr.name, "hostname": ctr.id[:12],
            "checkpointed_at": int(ctr._record.checkpointed_at or time.time_ns()),
            "config": ctr.config.to_dict(),
            "image": {"id": image.id, "names": list(image.names),
                      "config": {k: image.config.get(k) for k in _IMAGE_CONFIG_KEYS}},
        }
        (scratch / "config.dump").write_text(json.dumps(dump, indent=1))
        members.insert(0, ("config.dump", scratch / "config.dump"))
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as raw, _tar_writer(raw, opts.compression.lower()) as tar:
            files = {arcname: _add_file(tar, arcname, src) for arcname, src in members}
            manifest = json.dumps({"format": ARCHIVE_FORMAT, "version": ARCHIVE_VERSION,
                                   "files": files}).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode, info.mtime = len(manifest), 0o600, int(time.time())
            tar.addfile(info, io.BytesIO(manifest))
        os.replace(partial, target)
        return target.stat().st_size
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _tar_writer(fileobj: BinaryIO, compression: str) -> tarfile.TarFile:
    fmt = tarfile.PAX_FORMAT
    if compression == "gzip":  # level 1: memory pages are large and compress well anyway
        return tarfile.open(fileobj=fileobj, mode="w:gz", format=fmt, compresslevel=1)
    if compression == "bzip2":
        return tarfile.open(fileobj=fileobj, mode="w:bz2", format=fmt, compresslevel=1)
    if compression == "xz":
        return tarfile.open(fileobj=fileobj, mode="w:xz", format=fmt, preset=1)
    return tarfile.open(fileobj=fileobj, mode="w", format=fmt)


class _HashingReader:
    """A file wrapper that hashes what tarfile reads through it."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.sha = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.sha.update(data)
        return data


def _add_file(tar: tarfile.TarFile, arcname: str, src: Path) -> dict[str, Any]:
    with src.open("rb") as fh:
        st = os.fstat(fh.fileno())
        info = tarfile.TarInfo(arcname)
        info.size, info.mode, info.mtime = st.st_size, 0o600, int(st.st_mtime)
        reader = _HashingReader(fh)
        tar.addfile(info, reader)  # tarfile only calls read()
    return {"size": st.st_size, "sha256": reader.sha.hexdigest()}


def _write_rootfs_diff(upper: Path, lower: Path, scratch: Path) -> list[tuple[str, Path]]:
    """rootfs-diff.tar (what the container added or changed) and deleted.files (overlay
    whiteouts, opaque directories, and lower directories replaced by a non-directory)."""
    entries: list[tuple[str, str]] = []
    deleted: list[str] = []
    for dirpath, dirnames, filenames in os.walk(upper):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, upper)
        for name in sorted(dirnames + filenames):
            full = os.path.join(dirpath, name)
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            st = os.lstat(full)
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                deleted.append("/" + rel)  # a whiteout
                continue
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) or stat.S_ISSOCK(st.st_mode):
                continue  # containers get no devices; sockets are not files to restore
            if stat.S_ISDIR(st.st_mode):
                if _is_opaque(full):
                    deleted.append("/" + rel)
            elif os.path.isdir(lower / rel) and not os.path.islink(lower / rel):
                deleted.append("/" + rel)
            entries.append((full, rel))
    out: list[tuple[str, Path]] = []
    if entries:
        with tarfile.open(scratch / "rootfs-diff.tar", "w", format=tarfile.PAX_FORMAT) as tar:
            for full, rel in entries:
                tar.add(full, arcname=rel, recursive=False)
        out.append(("rootfs-diff.tar", scratch / "rootfs-diff.tar"))
    if deleted:
        (scratch / "deleted.files").write_text(json.dumps(deleted))
        out.append(("deleted.files", scratch / "deleted.files"))
    return out


def _is_opaque(path: str) -> bool:
    try:
        return os.getxattr(path, "trusted.overlay.opaque", follow_symlinks=False) == b"y"
    except OSError:
        return False


def _write_tree_tar(root: Path, out: Path) -> None:
    """A reproducible tar of a directory tree (sorted, GNU format)."""
    with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, root)
            for name in sorted(dirnames + filenames):
                rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                tar.add(os.path.join(dirpath, name), arcname=rel, recursive=False)


def _export_target(target_file: str | os.PathLike[str]) -> Path:
    target = Path(os.fspath(target_file)).absolute()
    if target.is_dir():
        raise InvalidArgumentError(f"cannot export the checkpoint to {target}: it is a "
                                   "directory")
    if not target.parent.is_dir():
        raise InvalidArgumentError(f"cannot export the checkpoint to {target}: the directory "
                                   f"{target.parent} does not exist")
    return target


# -- import -----------------------------------------------------------------------------------
@dataclass
class _Archive:
    origin: str
    root: Path
    id: str
    name: str
    hostname: str
    checkpointed_at: int
    config: dict[str, Any]
    image: dict[str, Any]
    files: dict[str, dict[str, Any]]


class _RootfsDiffGuard(MemberGuard):
    """images.archive's member checks, except that symlinks may point anywhere: in a container's
    own root filesystem ``/usr/bin/x -> /bin/busybox`` is normal, and is only ever resolved
    inside the container. Nothing is ever written through a symlink (the parent checks)."""

    def __call__(self, member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo:
        if member.issym():
            super().__call__(member.replace(linkname=".", deep=False), dest)
            return member
        return super().__call__(member, dest)


@contextlib.contextmanager
def _staging(rt: Runtime) -> Iterator[Path]:
    """A private directory under ``<root>/containers`` named by its owner process
    (``.restore-PID-START-*``) and always removed after; ones whose owner died are swept
    first (and by every engine start-up: ``Runtime.sweep_orphans``)."""
    parent = rt.root / "containers"
    sweep_staging(parent)
    path = Path(tempfile.mkdtemp(prefix=f"{_STAGING_PREFIX}{procinfo.owner_tag()}-",
                                 dir=parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def sweep_staging(parent: Path) -> list[str]:
    """Remove the restore staging directories in ``parent`` whose owner process is gone
    (older unnamed ones after ``_STAGING_GRACE`` seconds); the names removed."""
    removed = []
    for entry in parent.glob(f"{_STAGING_PREFIX}*"):
        m = _STAGING_RE.fullmatch(entry.name)
        with contextlib.suppress(OSError):
            if m is not None:
                if procinfo.owner_alive(m.group(1), m.group(2)):
                    continue
            elif time.time() - entry.lstat().st_mtime < _STAGING_GRACE:
                continue
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry.name)
    return removed


def _read_archive(path: Path, staging: Path, origin: str,
                  limits: ArchiveLimits | None = None) -> _Archive:
    """Extract safely within ``limits`` (no sparse members: our archives have none, and
    hashing gigabytes of holes is slow), check the manifest against every file, validate
    config.dump."""
    limits = (limits or ArchiveLimits()).replace(sparse=False)
    if extract_tarball(path, staging, origin, limits=limits) == 0:
        raise InvalidArgumentError(f"{origin} is an empty archive, not a checkpoint")
    manifest_path = staging / MANIFEST
    if manifest_path.is_symlink() or not manifest_path.is_file():
        raise InvalidArgumentError(
            f"{origin} is not a complete checkpoint archive: {MANIFEST}, its last member, is "
            "missing (the archive is truncated, or was not written by checkpoint(target_file))")
    manifest = _read_json(manifest_path, MANIFEST, origin)
    if manifest.get("format") != ARCHIVE_FORMAT:
        raise InvalidArgumentError(f"{origin} is not a {ARCHIVE_FORMAT} archive")
    if manifest.get("version") != ARCHIVE_VERSION:
        raise InvalidArgumentError(f"{origin} has checkpoint archive version "
                                   f"{manifest.get('version')!r}; this engine reads version "
                                   f"{ARCHIVE_VERSION}")
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(
            isinstance(k, str) and isinstance(v, dict) and isinstance(v.get("size"), int)
            and isinstance(v.get("sha256"), str) for k, v in files.items()):
        raise InvalidArgumentError(f"{origin}: {MANIFEST} has no valid file list")
    _verify_files(staging, files, origin)
    if "config.dump" not in files or f"{CHECKPOINT_DIR}/inventory.img" not in files:
        raise InvalidArgumentError(f"{origin} holds no complete checkpoint: config.dump or "
                                   f"{CHECKPOINT_DIR}/inventory.img is missing")
    doc = _read_json(staging / "config.dump", "config.dump", origin)
    if doc.get("format") != ARCHIVE_FORMAT or doc.get("version") != ARCHIVE_VERSION:
        raise InvalidArgumentError(f"{origin}: config.dump is not a {ARCHIVE_FORMAT} "
                                   f"version {ARCHIVE_VERSION} document")
    ctr_id, name, hostname = doc.get("id"), doc.get("name"), doc.get("hostname")
    if not _is_sha256_hex(ctr_id):
        raise InvalidArgumentError(f"{origin}: config.dump has an invalid container id")
    if not isinstance(name, str) or not re.match(NAME_PATTERN, name):
        raise InvalidArgumentError(f"{origin}: config.dump has an invalid container name")
    if not isinstance(hostname, str) or not 0 < len(hostname) <= 64 or not all(
            c.isalnum() or c in "-." for c in hostname):
        raise InvalidArgumentError(f"{origin}: config.dump has an invalid hostname")
    checkpointed_at = doc.get("checkpointed_at")
    if not isinstance(checkpointed_at, int) or checkpointed_at < 0:
        raise InvalidArgumentError(f"{origin}: config.dump has an invalid checkpoint time")
    assert isinstance(ctr_id, str)
    return _Archive(origin=origin, root=staging, id=ctr_id, name=name, hostname=hostname,
                    checkpointed_at=checkpointed_at,
                    config=_validated_config(doc.get("config"), origin),
                    image=_validated_image(doc.get("image"), origin), files=files)


def _verify_files(root: Path, files: dict[str, dict[str, Any]], origin: str) -> None:
    """Every extracted file is in the manifest with its size and sha256, and vice versa."""
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            st = os.lstat(full)
            if stat.S_ISDIR(st.st_mode):
                continue
            if rel == MANIFEST:
                continue
            if not stat.S_ISREG(st.st_mode):
                raise InvalidArgumentError(f"refusing to import {origin}: member {rel!r} is "
                                           "not a regular file; checkpoint archives hold none")
            want = files.get(rel)
            if want is None:
                raise InvalidArgumentError(f"refusing to import {origin}: member {rel!r} is "
                                           f"not listed in its {MANIFEST}")
            if st.st_size != want["size"] or sha256_file(Path(full)) != want["sha256"]:
                raise InvalidArgumentError(f"{origin} is corrupt: {rel!r} does not match the "
                                           f"size and checksum in its {MANIFEST}")
            seen.add(rel)
    missing = sorted(set(files) - seen)
    if missing:
        raise InvalidArgumentError(f"{origin} is truncated or incomplete: {len(missing)} "
                                   f"file(s) of its {MANIFEST} are missing, e.g. {missing[0]!r}")


def _validated_config(raw: object, origin: str) -> dict[str, Any]:
    """The container config of an archive, field by field (unknown keys are dropped)."""
    if not isinstance(raw, dict):
        raise InvalidArgumentError(f"{origin}: config.dump has no container config")

    def bad(key: str, why: str) -> InvalidArgumentError:
        return InvalidArgumentError(f"{origin}: config.dump has an invalid {key}: {why}")

    def strings(key: str) -> list[str]:
        value = raw.get(key)
        if not isinstance(value, list) or not all(
                isinstance(v, str) and "\0" not in v for v in value):
            raise bad(key, "expected a list of strings")
        return list(value)

    def flag(key: str) -> bool:
        value = raw.get(key, False)
        if not isinstance(value, bool):
            raise bad(key, "expected true or false")
        return value

    def integer(key: str, low: int, high: int, optional: bool = False) -> int | None:
        value = raw.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise bad(key, f"expected an integer from {low} to {high}")
        return value

    def text(key: str) -> str:
        value = raw.get(key, "")
        if not isinstance(value, str) or "\0" in value:
            raise bad(key, "expected a string")
        return value

    command = strings("command")
    if not command or not command[0]:
        raise bad("command", "it is empty")
    workdir = text("workdir")
    if not workdir.startswith("/"):
        raise bad("workdir", "expected an absolute path")
    labels = raw.get("labels") or {}
    if not isinstance(labels, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        raise bad("labels", "expected a map of strings")
    stop_signal = integer("stop_signal", 1, int(signal.SIGRTMAX))
    network = raw.get("network")
    if network not in NETWORK_MODES:
        raise bad("network", f"expected one of {', '.join(NETWORK_MODES)}")
    cpus = raw.get("cpus")
    if cpus is not None and (isinstance(cpus, bool) or not isinstance(cpus, (int, float))
                             or not 0 < cpus <= (os.cpu_count() or 1)):
        raise bad("cpus", f"expected a number of cpus up to this host's {os.cpu_count()}")
    policy = raw.get("restart_policy") or "no"
    retries = integer("restart_retries", 0, 1 << 31) if "restart_retries" in raw else 0
    try:
        parse_restart_policy(f"{policy}:{retries}" if policy == "on-failure" and retries
                             else str(policy))
    except InvalidArgumentError as exc:
        raise bad("restart_policy", str(exc)) from None
    if raw.get("dependencies"):
        raise bad("dependencies", "containers with dependencies cannot be restored from an "
                  "archive")
    return {
        "command": command, "env": strings("env"), "workdir": workdir, "user": text("user"),
        "uid": integer("uid", 0, 0xFFFFFFFE), "gid": integer("gid", 0, 0xFFFFFFFE),
        "tty": flag("tty"), "stdin": flag("stdin"), "labels": dict(labels),
        "stop_signal": stop_signal, "stop_timeout": integer("stop_timeout", 0, 1 << 31),
        "memory": integer("memory", 6 << 20, 1 << 62, optional=True),
        "pids_limit": integer("pids_limit", 1, 1 << 31, optional=True), "cpus": cpus,
        "network": network, "auto_remove": flag("auto_remove"), "restart_policy": policy,
        "restart_retries": retries, "dependencies": [],
    }


def _validated_image(raw: object, origin: str) -> dict[str, Any]:
    if not isinstance(raw, dict) or not _is_sha256_hex(raw.get("id")):
        raise InvalidArgumentError(f"{origin}: config.dump has no valid image id")
    names = []
    for name in raw.get("names") or []:
        with contextlib.suppress(InvalidArgumentError):
            names.append(normalize_reference(name) if isinstance(name, str) else "")
    config = raw.get("config") or {}
    if not isinstance(config, dict):
        raise InvalidArgumentError(f"{origin}: config.dump has an invalid image config")
    return {"id": raw["id"], "names": [n for n in names if n],
            "config": {k: config[k] for k in _IMAGE_CONFIG_KEYS if config.get(k) is not None}}


def _restore_image(rt: Runtime, info: _Archive) -> tuple[Image, bool]:
    """The image to restore on: this root's copy, or the archive's (imported). True if
    imported by this call."""
    src = info.image
    with contextlib.suppress(NoSuchImageError):
        return rt.images.get(src["id"]), False
    label = f"{src['names'][0]} ({src['id'][:12]})" if src["names"] else src["id"][:12]
    member = info.files.get("image/rootfs.tar")
    tarball = info.root / "image" / "rootfs.tar"
    if member is None:
        raise NoSuchImageError(
            f"cannot restore {info.origin}: its image {label} is not in this engine's store "
            "and the archive does not include it (it was exported with include_image=False): "
            "import the image first")
    with contextlib.suppress(NoSuchImageError):
        return rt.images.get(str(member["sha256"])), False  # restored here before
    free = next((n for n in src["names"] if rt.store.image_id_for_name(n) is None), None)
    ref = free or f"localhost/jupyter-ctr-restore-{secrets.token_hex(6)}:latest"
    image = rt.images.import_image(tarball, ref, config=src["config"])
    if free is None:  # the archived name belongs to another image here: leave it alone
        rt.images.untag(ref)
        image = rt.images.get(image.id)
    rt.events_log.record("image", "import", image.id, ref, ref)
    return image, True


def _add_container(rt: Runtime, info: _Archive, ctr_id: str, name: str,
                   config: dict[str, Any]) -> Container:
    state = ContainerRecord()
    state.update(checkpointed=True, checkpointed_at=info.checkpointed_at,
                 checkpoint_path=str(rt.container_dir(ctr_id) / CHECKPOINT_DIR))
    return rt.add_container(ContainerConfig.from_dict(dict(config, id=ctr_id, name=name)), state)


def _populate(ctr: Container, info: _Archive, opts: CheckpointOptions) -> None:
    """Move the checkpoint, log and artifacts into place; apply the root filesystem diff."""
    ctr_dir = ctr._rt.container_dir(ctr.id)
    os.rename(info.root / CHECKPOINT_DIR, ctr_dir / CHECKPOINT_DIR)
    if (info.root / "ctr.log").is_file():
        os.rename(info.root / "ctr.log", ctr.log_path)
    if (info.root / "artifacts").is_dir():
        os.rename(info.root / "artifacts", ctr_dir / "artifacts")
    if (info.root / "stats-dump").is_file():
        _work_dir(ctr).mkdir(mode=0o700, exist_ok=True)
        os.rename(info.root / "stats-dump", _work_dir(ctr) / "stats-dump")
    if opts.ignore_rootfs:
        return
    diff, deleted = info.root / "rootfs-diff.tar", info.root / "deleted.files"
    if not diff.is_file() and not deleted.is_file():
        return
    rootfs = ctr._storage().mount()
    if deleted.is_file():
        entries = json.loads(deleted.read_text())
        if not isinstance(entries, list):
            raise InvalidArgumentError(f"{info.origin}: deleted.files is not a list of paths")
        for entry in entries:
            _remove_in_rootfs(rootfs, entry, info.origin)
    if diff.is_file():
        what = f"{info.origin} (rootfs-diff.tar)"
        extract_tarball(diff, rootfs, what, guard=_RootfsDiffGuard(what, ctr._rt.images.limits))


def _remove_in_rootfs(rootfs: Path, entry: object, origin: str) -> None:
    """Delete ``entry`` (a path inside the container) without following any symlink."""
    parts = (name_parts(entry.lstrip("/")) if isinstance(entry, str)
             and entry.startswith("/") and "\0" not in entry else None)
    if not parts:
        raise InvalidArgumentError(f"refusing to import {origin}: deleted.files lists "
                                   f"{entry!r}, which is not a path inside the container")
    current = rootfs
    for part in parts[:-1]:
        current = current / part
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            return
        if not stat.S_ISDIR(st.st_mode):
            raise InvalidArgumentError(f"refusing to import {origin}: deleted.files entry "
                                       f"{entry!r} goes through {part!r}, not a directory")
    target = current / parts[-1]
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(target)
    else:
        target.unlink()


# -- CRIU -------------------------------------------------------------------------------------
def find_criu(rt: Runtime) -> str:
    """The CRIU binary runc should use: EngineConfig.criu if it is a path, else that name in
    /usr/local/sbin or /usr/local/bin (where set-up builds a working CRIU), else on PATH."""
    configured = rt.config.criu or "criu"
    if "/" in configured:
        if os.path.isfile(configured) and os.access(configured, os.X_OK):
            return configured
        raise RuntimeMissingError(f"the configured CRIU {configured!r} is not an executable "
                                  "file")
    return shutil.which(configured, path=os.pathsep.join(CRIU_DIRS)) or procs.find_binary(
        configured)


def _criu_args(rt: Runtime, criu: str) -> list[str]:
    """runc's global ``--criu PATH`` (it would take the first ``criu`` on PATH); crun links
    libcriu and has no such flag."""
    return ["--criu", criu] if rt.oci.name.startswith("runc") else []


@functools.cache
def _kernel_tracks_dirty_memory(criu: str) -> bool:
    proc = procs.run([criu, "check", "--feature", "mem_dirty_track"], check=False)
    return proc.returncode == 0


@functools.cache
def _runtime_has_option(runtime: str, verb: str, option: str) -> bool:
    proc = procs.run([runtime, verb, "--help"], check=False)
    return option.encode() in proc.stdout + proc.stderr


def _check_options(rt: Runtime, opts: CheckpointOptions, verb: str) -> None:
    """Refuse what cannot be honoured, saying why, before anything is touched."""
    if opts.pre_checkpoint or opts.with_previous or opts.import_previous:
        what = ("pre_checkpoint" if opts.pre_checkpoint else
                "with_previous" if opts.with_previous else "import_previous")
        try:
            tracked = _kernel_tracks_dirty_memory(find_criu(rt))
        except RuntimeMissingError:
            tracked = False
        why = ("this engine does not implement pre-checkpoints" if tracked else
               "CRIU's pre-dump needs the kernel's soft-dirty page tracking, which this "
               "kernel lacks (`criu check --feature mem_dirty_track` fails)")
        raise NotImplementedCtrError(f"{what} is not supported: {why}; take full checkpoints "
                                     "instead")
    if opts.create_image or opts.checkpoint_image_id:
        raise NotImplementedCtrError(
            "checkpoint images (create_image / checkpoint_image_id) are not supported: this "
            "engine's images are root filesystems; export with target_file and restore with "
            "Runtime.restore_container instead")
    if opts.pod:
        raise NotImplementedCtrError("this engine has no pods: cannot restore into pod "
                                     f"{opts.pod!r}")
    if not isinstance(opts.compression, str) or opts.compression.lower() not in COMPRESSIONS:
        raise InvalidArgumentError(
            f"unsupported checkpoint compression {opts.compression!r}: use one of "
            f"{', '.join(sorted(COMPRESSIONS))} (zstd cannot be written by this Python)")
    if verb == "checkpoint":
        if opts.name is not None:
            raise InvalidArgumentError("name is a restore option: it names the container "
                                       "restored from an archive")
        if opts.tcp_close:
            raise InvalidArgumentError("tcp_close is a restore option: checkpoint with "
                                       "tcp_established, then restore with tcp_close")


def _check_runtime_options(rt: Runtime, opts: CheckpointOptions) -> None:
    if opts.tcp_close and not _runtime_has_option(rt.oci.path, "restore", "--tcp-close"):
        raise NotImplementedCtrError(f"tcp_close needs an OCI runtime with `restore "
                                     f"--tcp-close`; {rt.oci.path} has none")


def read_criu_stats(path: Path) -> dict[str, int]:
    """CRIU's stats-dump/stats-restore: a CRIU image holding one protobuf ``stats_entry``,
    decoded by hand (a few varint fields). Empty if the file is missing or unreadable."""
    try:
        data = path.read_bytes()
    except OSError:
        return {}
    if len(data) < 12 or data[:8] != _STATS_MAGIC:
        return {}
    (size,) = struct.unpack_from("<I", data, 8)
    out: dict[str, int] = {}
    try:
        for number, wire, value in _protobuf_fields(data[12:12 + size]):
            names = _STATS_FIELDS.get(number)
            if names is None or wire != 2 or not isinstance(value, bytes):
                continue
            for sub, sub_wire, sub_value in _protobuf_fields(value):
                if sub_wire == 0 and sub in names and isinstance(sub_value, int):
                    out[names[sub]] = sub_value
    except ValueError:
        return {}
    return out


# IMG_SERVICE_MAGIC then STATS_MAGIC, little endian (criu/include/magic.h).
_STATS_MAGIC = struct.pack("<II", 0x55105940, 0x57093306)
# stats_entry { dump_stats_entry dump = 1; restore_stats_entry restore = 2; } (images/stats.proto)
_STATS_FIELDS: dict[int, dict[int, str]] = {
    1: {1: "freezing_time", 2: "frozen_time", 3: "memdump_time", 4: "memwrite_time",
        5: "pages_scanned", 6: "pages_skipped_parent", 7: "pages_written", 8: "irmap_resolve",
        9: "pages_lazy", 10: "page_pipes", 11: "page_pipe_bufs", 12: "shpages_scanned",
        13: "shpages_skipped_parent", 14: "shpages_written"},
    2: {1: "pages_compared", 2: "pages_skipped_cow", 3: "forking_time", 4: "restore_time",
        5: "pages_restored"},
}


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _protobuf_fields(buf: bytes) -> list[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) of one protobuf message; varints and
    length-delimited fields (fixed 32/64-bit ones are skipped over)."""
    out: list[tuple[int, int, int | bytes]] = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            out.append((number, wire, value))
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > len(buf):
                raise ValueError("truncated field")
            out.append((number, wire, buf[pos:pos + length]))
            pos += length
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
    return out


# -- small helpers ----------------------------------------------------------------------------
def _options(options: CheckpointOptions | None, kw: dict[str, Any]) -> CheckpointOptions:
    try:
        if options is None:
            return CheckpointOptions(**kw)
        return dataclasses.replace(options, **kw) if kw else options
    except TypeError as exc:
        known = ", ".join(f.name for f in dataclasses.fields(CheckpointOptions))
        raise InvalidArgumentError(f"unknown checkpoint option: {exc}; known: {known}") from None


def _image_dir(ctr: Container) -> Path:
    return ctr._rt.container_dir(ctr.id) / CHECKPOINT_DIR


def _work_dir(ctr: Container) -> Path:
    return ctr._rt.container_dir(ctr.id) / WORK_DIR


def _name_taken(rt: Runtime, name: str) -> bool:
    return any(cfg.get("name") == name for _, cfg, _ in rt.store.all_containers())


def _micros(seconds: float) -> int:
    return int(seconds * 1_000_000)


def _tree_size(root: Path) -> int:
    total = 0
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


def _log_tail(path: Path, lines: int = 8) -> str:
    """CRIU's error lines from its log (else its last lines), for an error message."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    all_lines = text.rstrip().splitlines()
    errors = [line for line in all_lines if "Error (" in line][:lines]
    if errors:
        return f"\nerrors in {path}:\n" + "\n".join(errors)
    tail = "\n".join(all_lines[-lines:])
    return f"\n{path} ends with:\n{tail}" if tail else ""


def _read_json(path: Path, what: str, origin: str) -> dict[str, Any]:
    with path.open("rb") as fh:
        data = fh.read(_MAX_JSON_BYTES + 1)
    if len(data) > _MAX_JSON_BYTES:
        raise InvalidArgumentError(f"{origin}: {what} is too big")
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise InvalidArgumentError(f"{origin}: {what} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidArgumentError(f"{origin}: {what} is not a JSON object")
    return doc


def _is_sha256_hex(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and set(value) <= _SHA256_HEX


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


__all__ = ["CheckpointOptions", "CheckpointStats", "checkpoint", "find_criu", "read_criu_stats",
           "restore", "restore_container"]
