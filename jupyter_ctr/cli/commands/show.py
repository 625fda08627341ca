"""Commands that show containers without changing them: ps and inspect (as podman's table,
Go templates or JSON; inspect shows images too), top and logs."""

from __future__ import annotations

import time

from ...engine.errors import (
    ContainerRemovedError,
    CtrError,
    NoSuchContainerError,
    NoSuchImageError,
)
from ...engine.timeutil import human_duration
from ..arguments import parse_time
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

    from ...engine import Container, Runtime

#: ``ps --format 'table ...'`` headers that are not the field's name in capitals.
PS_HEADERS = {"ID": "CONTAINER ID", "CreatedHuman": "CREATED", "Names": "NAMES"}


def cmd_ps(rt: Runtime, args: argparse.Namespace) -> int:
    fmt = parse_format(args.format, "ps")
    ctrs = list(reversed(rt.list_containers(all=args.all)))  # newest first, as podman
    if args.quiet and fmt is None:
        for ctr in ctrs:
            print(short(ctr.id, args.no_trunc))
        return 0
    now = time.time()
    rows = []
    listed: list[tuple[Container, dict[str, Any]]] = []
    for ctr in ctrs:
        try:
            info = ctr.inspect()
        except ContainerRemovedError:
            continue
        listed.append((ctr, info))
    if fmt is not None:
        if fmt.is_json:
            print_json([ps_json(ctr, info, now) for ctr, info in listed], indent=2)
        else:
            print_formatted(fmt, [ps_fields(ctr, info, now, args.no_trunc)
                                  for ctr, info in listed], PS_HEADERS)
        return 0
    for ctr, info in listed:
        command = " ".join(info["Config"]["Cmd"])
        if not args.no_trunc and len(command) > 20:
            command = command[:17] + "..."
        created = ago(now - ctr.config["created"] / 1e9)
        rows.append([short(ctr.id, args.no_trunc), info["ImageName"], command, created,
                     status_text(info["State"], now), ctr.name])
    print_table(["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES"], rows)
    return 0


def cmd_inspect(rt: Runtime, args: argparse.Namespace) -> int:
    fmt = parse_format(args.format, "inspect")
    found: list[dict[str, Any]] = []
    failed = False
    for ref in args.objects:
        try:
            found.append(inspect_one(rt, ref, args.type))
        except CtrError as exc:
            print_error(str(exc))
            failed = True
    if fmt is None or fmt.is_json:
        print_json(found)
    else:
        print_formatted(fmt, found)
    return ENGINE_ERROR if failed else 0


def cmd_top(rt: Runtime, args: argparse.Namespace) -> int:
    top = rt.lookup_container(args.container).top()
    print_table(top["Titles"], top["Processes"])
    return 0


def cmd_logs(rt: Runtime, args: argparse.Namespace) -> int:
    since = parse_time(args.since) if args.since else None
    until = parse_time(args.until) if args.until else None
    ctr = rt.lookup_container(args.container)
    tail = args.tail if args.tail is not None and args.tail >= 0 else None
    for line in ctr.logs(tail=tail, since=since, until=until, follow=args.follow):
        write_log_line(line, args.timestamps)
    return 0


def inspect_one(rt: Runtime, ref: str, kind: str) -> dict[str, Any]:
    """The inspect JSON of a container or an image (``kind``: container, image or all)."""
    if kind in ("container", "all"):
        try:
            return rt.lookup_container(ref).inspect()
        except NoSuchContainerError:
            if kind == "container":
                raise
    if kind in ("image", "all"):
        try:
            return rt.get_image(ref).inspect()
        except NoSuchImageError:
            if kind == "image":
                raise
    raise NoSuchContainerError(f"no such object: {ref!r}")


def _parse_rfc3339(value: str) -> float | None:
    """Unix seconds of an inspect timestamp; None for Go's zero time."""
    if not value or value.startswith("0001-"):
        return None
    return parse_time(value)


def status_text(state: dict[str, Any], now: float) -> str:
    """ps's STATUS of an inspect ``State``: ``Up 5 minutes``, ``Exited (0) 2 seconds ago``."""
    status = state["Status"]
    if status == "running":
        started = _parse_rfc3339(state["StartedAt"])
        return f"Up {human_duration(now - started)}" if started else "Up"
    if status in ("exited", "stopped"):
        finished = _parse_rfc3339(state["FinishedAt"])
        ago_ = f" {ago(now - finished)}" if finished else ""
        return f"Exited ({state['ExitCode']}){ago_}"
    return str(status).capitalize()


def ps_fields(ctr: Container, info: dict[str, Any], now: float,
              no_trunc: bool) -> dict[str, Any]:
    """What ``ps --format`` templates see: podman's field names (psReporter)."""
    st = info["State"]
    created_ns = int(ctr.config["created"])
    started, finished = _parse_rfc3339(st["StartedAt"]), _parse_rfc3339(st["FinishedAt"])
    command = " ".join(info["Config"]["Cmd"])
    if not no_trunc and len(command) > 20:
        command = command[:17] + "..."
    created = go_time(created_ns / 1e9, created_ns)
    created_ago = ago(now - created_ns / 1e9)
    return {
        "ID": short(ctr.id, no_trunc), "Image": info["ImageName"],
        "ImageID": short(info["Image"], no_trunc), "Command": command,
        "Created": created, "CreatedAt": created, "CreatedHuman": created_ago,
        "RunningFor": created_ago,
        "Status": status_text(st, now), "State": st["Status"], "Names": ctr.name,
        "Labels": dict(info["Config"].get("Labels") or {}), "Mounts": [], "Ports": "",
        "Networks": "", "Pod": "", "PodName": "", "IsInfra": False,
        "Pid": int(st["Pid"]), "ExitCode": int(st["ExitCode"]),
        "Exited": st["Status"] in ("exited", "stopped"),
        "ExitedAt": int(finished) if finished else GO_ZERO_UNIX,
        "StartedAt": int(started) if started else GO_ZERO_UNIX,
        "AutoRemove": bool(ctr.config.get("auto_remove")),
        "Restarts": int(info.get("RestartCount") or 0),
    }


def ps_json(ctr: Container, info: dict[str, Any], now: float) -> dict[str, Any]:
    """One element of ``ps --format json``: the libpod list shape, as podman's CLI prints it
    (``Created`` in Unix seconds, ``CreatedAt`` and ``Status`` for people)."""
    # typing, platform and shlex come with the server's models: not for ps's table.
    from ...server.models import container_libpod_list_item  # noqa: PLC0415 - lazy: --format json

    item = container_libpod_list_item(ctr, info)
    created = int(ctr.config["created"]) / 1e9
    item.update(Created=int(created), CreatedAt=ago(now - created),
                Status=status_text(info["State"], now))
    return item
