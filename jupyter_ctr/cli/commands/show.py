"""Commands that show containers without changing them: ps and inspect (as podman's table,
Go templates or JSON; inspect shows images too), top and logs."""

from __future__ import annotations

import time

from ...engine.errors import (
    CtrError,
    NoSuchContainerError,
    NoSuchImageError,
)
from ..arguments import filters, parse_time
from ..exits import ENGINE_ERROR, print_error
from ..formatting import (
    GO_ZERO_UNIX,
    ago,
    go_time,
    parse_format,
    print_formatted,
    print_json,
    print_table,
    short,
    write_log_line,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from ...engine.records import ContainerSnapshot
    from ...service.door import Door

#: ``ps --format 'table ...'`` headers that are not the field's name in capitals.
PS_HEADERS = {"ID": "CONTAINER ID", "CreatedHuman": "CREATED", "Names": "NAMES"}


def cmd_ps(door: Door, args: argparse.Namespace) -> int:
    fmt = parse_format(args.format, "ps")
    wanted = filters(args.filter)
    if args.quiet and fmt is None and not wanted:
        for ctr in reversed(door.containers("list", all=args.all)):  # newest first, as podman
            print(short(ctr.id, args.no_trunc))
        return 0
    now = time.time()
    listed = door.list_containers(all=args.all, filters=wanted)  # newest first
    if args.quiet and fmt is None:
        for snap in listed:
            print(short(snap.id, args.no_trunc))
        return 0
    if fmt is not None:
        if fmt.is_json:
            print_json([ps_json(snap, now) for snap in listed], indent=2)
        else:
            print_formatted(fmt, [ps_fields(snap, now, args.no_trunc) for snap in listed],
                            PS_HEADERS)
        return 0
    rows = []
    for snap in listed:
        rows.append([short(snap.id, args.no_trunc), snap.config.image,
                     _command(snap, args.no_trunc), ago(now - snap.config.created / 1e9),
                     snap.status_text(now), snap.name])
    print_table(["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES"], rows)
    return 0


def _command(snap: ContainerSnapshot, no_trunc: bool) -> str:
    command = " ".join(snap.config.command)
    return command if no_trunc or len(command) <= 20 else command[:17] + "..."


def cmd_inspect(door: Door, args: argparse.Namespace) -> int:
    fmt = parse_format(args.format, "inspect")
    found: list[dict[str, Any]] = []
    failed = False
    for ref in args.objects:
        try:
            found.append(inspect_one(door, ref, args.type))
        except CtrError as exc:
            print_error(str(exc))
            failed = True
    if fmt is None or fmt.is_json:
        print_json(found)
    else:
        print_formatted(fmt, found)
    return ENGINE_ERROR if failed else 0


def cmd_top(door: Door, args: argparse.Namespace) -> int:
    top = door.container(args.container, "top").top()
    print_table(top["Titles"], top["Processes"])
    return 0


def cmd_logs(door: Door, args: argparse.Namespace) -> int:
    since = parse_time(args.since) if args.since else None
    until = parse_time(args.until) if args.until else None
    ctr = door.container(args.container, "logs")
    tail = args.tail if args.tail is not None and args.tail >= 0 else None
    for line in ctr.logs(tail=tail, since=since, until=until, follow=args.follow):
        write_log_line(line, args.timestamps)
    return 0


def inspect_one(door: Door, ref: str, kind: str) -> dict[str, Any]:
    """The inspect JSON of a container or an image (``kind``: container, image or all)."""
    if kind in ("container", "all"):
        try:
            return door.container(ref, "inspect").inspect()
        except NoSuchContainerError:
            if kind == "container":
                raise
    if kind in ("image", "all"):
        try:
            return door.image(ref, "image.inspect").inspect()
        except NoSuchImageError:
            if kind == "image":
                raise
    raise NoSuchContainerError(f"no such object: {ref!r}")


def ps_fields(snap: ContainerSnapshot, now: float, no_trunc: bool) -> dict[str, Any]:
    """What ``ps --format`` templates see: podman's field names (psReporter)."""
    cfg, rec = snap.config, snap.record
    created = go_time(cfg.created / 1e9, cfg.created)
    created_ago = ago(now - cfg.created / 1e9)
    return {
        "ID": short(snap.id, no_trunc), "Image": cfg.image,
        "ImageID": short(cfg.image_id, no_trunc), "Command": _command(snap, no_trunc),
        "Created": created, "CreatedAt": created, "CreatedHuman": created_ago,
        "RunningFor": created_ago,
        "Status": snap.status_text(now), "State": snap.status, "Names": snap.name,
        "Labels": dict(cfg.labels), "Mounts": [], "Ports": "",
        "Networks": "", "Pod": "", "PodName": "", "IsInfra": False,
        "Pid": rec.pid, "ExitCode": snap.exit_code, "Exited": snap.exited,
        "ExitedAt": rec.finished_at // 1_000_000_000 if rec.finished_at else GO_ZERO_UNIX,
        "StartedAt": rec.started_at // 1_000_000_000 if rec.started_at else GO_ZERO_UNIX,
        "AutoRemove": cfg.auto_remove, "Restarts": rec.restart_count,
        # Ours: who created it ({{.Owner.Name}}, {{.Owner.Uid}}), as inspect's "Owner".
        "Owner": {"Uid": int(cfg.owner_uid), "Name": cfg.owner_name},
    }


def ps_json(snap: ContainerSnapshot, now: float) -> dict[str, Any]:
    """One element of ``ps --format json``: the libpod list shape, as podman's CLI prints it
    (``Created`` in Unix seconds, ``CreatedAt`` and ``Status`` for people)."""
    # typing, platform and shlex come with the server's models: not for ps's table.
    from ...server.models import container_libpod_list_item  # noqa: PLC0415 - lazy: --format json

    item = container_libpod_list_item(snap)
    created = snap.config.created / 1e9
    item.update(Created=int(created), CreatedAt=ago(now - created), Status=snap.status_text(now))
    return item
