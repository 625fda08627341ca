"""The checkpoint timeline: ``snapshot create|ls|rewind|rm|export|import`` (ours; the engine's
Container.snapshot and friends, through the Door, in process or remote)."""

from __future__ import annotations

import time

from ...engine.errors import InvalidArgumentError
from ..exits import each
from ..formatting import ago, human_size, print_json, print_table

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

    from ...service.door import Door


def cmd_create(door: Door, args: argparse.Namespace) -> int:
    snap = door.snapshot(args.container, args.step, replace=args.replace)
    print(snap.name if snap.kind == "checkpoint" else
          f"{snap.name} (filesystem only: {snap.reason})")
    return 0


def cmd_ls(door: Door, args: argparse.Namespace) -> int:
    snaps = door.snapshots(args.container)
    if args.format == "json":
        print_json([s.to_dict() for s in snaps])
        return 0
    now = time.time()
    print_table(["STEP", "KIND", "CREATED", "SIZE", "REASON"],
                [[s.name, s.kind, ago(now - s.created / 1e9), human_size(s.size, " "),
                  s.reason.splitlines()[0] if s.reason else ""] for s in snaps])
    return 0


def cmd_rewind(door: Door, args: argparse.Namespace) -> int:
    snap = door.rewind(args.container, args.step)
    print(snap.name)
    return 0


def cmd_rm(door: Door, args: argparse.Namespace) -> int:
    def remove(step: str) -> str:
        door.remove_snapshot(args.container, step)
        return step

    return each(args.steps, remove)


def cmd_export(door: Door, args: argparse.Namespace) -> int:
    if not args.output:
        raise InvalidArgumentError("snapshot export needs -o FILE (the archive to write)")
    door.export_snapshot(args.container, args.step, args.output)
    return 0


def cmd_import(door: Door, args: argparse.Namespace) -> int:
    print(door.import_snapshot(args.file, name=args.name).id)
    return 0
