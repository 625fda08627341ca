"""checkpoint and restore (also as ``container checkpoint|restore``), with CRIU."""

from __future__ import annotations

import json

from ...engine.checkpoint import CheckpointOptions
from ...engine.errors import InvalidArgumentError
from ..exits import each

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from ...service.door import Door


def checkpoint_options(args: argparse.Namespace) -> CheckpointOptions:
    """The CheckpointOptions ``checkpoint``'s flags say (checked where they conflict)."""
    if args.export and len(args.containers) > 1:
        raise InvalidArgumentError("--export works with one container at a time")
    return CheckpointOptions(
        keep=args.keep, keep_running=args.leave_running, tcp_established=args.tcp_established,
        target_file=args.export, ignore_rootfs=args.ignore_rootfs,
        ignore_volumes=args.ignore_volumes, compression=args.compress,
        print_stats=args.print_stats, file_locks=args.file_locks,
        pre_checkpoint=args.pre_checkpoint, with_previous=args.with_previous,
        create_image=args.create_image, include_image=not args.ignore_image)


def restore_options(args: argparse.Namespace) -> CheckpointOptions:
    """The CheckpointOptions ``restore``'s flags say (checked where they conflict)."""
    if args.name and not args.import_:
        raise InvalidArgumentError("--name works only with --import")
    if args.import_ and args.containers:
        raise InvalidArgumentError("--import restores a new container: give no names")
    if not args.import_ and not args.containers:
        raise InvalidArgumentError("restore needs a container, or --import FILE")
    return CheckpointOptions(
        keep=args.keep, tcp_established=args.tcp_established, tcp_close=args.tcp_close,
        ignore_rootfs=args.ignore_rootfs, ignore_static_ip=args.ignore_static_ip,
        ignore_static_mac=args.ignore_static_mac, ignore_volumes=args.ignore_volumes,
        print_stats=args.print_stats, file_locks=args.file_locks,
        import_previous=args.import_previous, pod=args.pod)


def cmd_checkpoint(door: Door, args: argparse.Namespace) -> int:
    return _each_reporting(door, args, "checkpoint", checkpoint_options(args))


def cmd_restore(door: Door, args: argparse.Namespace) -> int:
    options = restore_options(args)
    if args.import_:
        ctr, stats = door.import_checkpoint(args.import_, name=args.name, options=options)
        print(json.dumps([stats.to_dict()], indent=4) if args.print_stats else ctr.id)
        return 0
    return _each_reporting(door, args, "restore", options)


def _each_reporting(door: Door, args: argparse.Namespace, verb: str,
                    options: CheckpointOptions) -> int:
    """Run ``verb`` (checkpoint or restore) on each container named, as podman does: one line
    per container, or the reports as JSON with --print-stats."""
    reports: list[dict[str, Any]] = []

    def one(ref: str) -> str:
        ctr = door.container(ref, verb)
        stats = ctr.checkpoint(options) if verb == "checkpoint" else ctr.restore(options)
        reports.append(stats.to_dict())
        return ref

    code = each(args.containers, one)
    if args.print_stats:
        print(json.dumps(reports, indent=4))
    return code
