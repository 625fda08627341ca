"""What a checkpoint or restore is asked to do (libpod's ContainerCheckpointOptions), what it
cost (CheckpointStats), and the checks that refuse what this engine cannot honour before
anything is touched."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import InvalidArgumentError, NotImplementedCtrError, RuntimeMissingError
from . import criu

if TYPE_CHECKING:
    from ..oci import OCIRuntime

#: What ``compression`` accepts (zstd cannot be written by this Python).
COMPRESSIONS = ("gzip", "none", "uncompressed", "bzip2", "xz")


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


def merge_options(options: CheckpointOptions | None, kw: dict[str, Any]) -> CheckpointOptions:
    """``options`` with the fields named in ``kw`` replaced (a verb's ``**kw``)."""
    try:
        if options is None:
            return CheckpointOptions(**kw)
        return dataclasses.replace(options, **kw) if kw else options
    except TypeError as exc:
        known = ", ".join(f.name for f in dataclasses.fields(CheckpointOptions))
        raise InvalidArgumentError(f"unknown checkpoint option: {exc}; known: {known}") from None


def check_options(opts: CheckpointOptions, verb: str, criu_setting: str) -> None:
    """Refuse what cannot be honoured, saying why, before anything is touched. ``verb`` is
    "checkpoint" or "restore"; ``criu_setting`` the configured CRIU (EngineConfig.criu), asked
    whether the kernel tracks dirty memory when a pre-checkpoint is requested."""
    if opts.pre_checkpoint or opts.with_previous or opts.import_previous:
        what = ("pre_checkpoint" if opts.pre_checkpoint else
                "with_previous" if opts.with_previous else "import_previous")
        try:
            tracked = criu.kernel_tracks_dirty_memory(criu.find_criu(criu_setting))
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


def check_restore_runtime(opts: CheckpointOptions, oci: OCIRuntime) -> None:
    """Refuse ``tcp_close`` when the OCI runtime's restore has no ``--tcp-close`` (asked only
    then: it costs a runtime exec)."""
    if opts.tcp_close and not oci.has_option("restore", "--tcp-close"):
        raise NotImplementedCtrError(f"tcp_close needs an OCI runtime with `restore "
                                     f"--tcp-close`; {oci.path} has none")


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))
