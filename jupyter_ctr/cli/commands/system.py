"""System commands: info (the host's runtime, conmon, CRIU, cgroups, store) and events."""

from __future__ import annotations

import json
from datetime import datetime

from ...engine.errors import InvalidArgumentError
from ...engine.health import host_info
from ..arguments import filters, parse_time
from ..exits import ENGINE_ERROR
from ..formatting import print_nested

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from ...service.door import Door


def cmd_info(door: Door, args: argparse.Namespace) -> int:
    door.authorize("info", None)
    # A remote runtime (jupyter_ctr.client) reports the service's host; this one, this host.
    remote_info = getattr(door.runtime, "host_info", None)
    info = remote_info() if remote_info is not None else host_info(door.runtime)
    if args.format == "json":
        print(json.dumps(info, indent=2))
    else:
        print_nested(info)
    return 0 if info["ok"] else ENGINE_ERROR


def cmd_events(door: Door, args: argparse.Namespace) -> int:
    since = parse_time(args.since) if args.since else None
    until = parse_time(args.until) if args.until else None
    if args.format not in (None, "json"):
        raise InvalidArgumentError(f"unsupported events format {args.format!r}: use json")
    for ev in door.events(since=since, until=until, filters=filters(args.filter),
                        follow=args.stream):
        print(json.dumps(ev.to_dict()) if args.format == "json" else event_text(ev),
              flush=True)
    return 0


def event_text(ev: Any) -> str:
    """One event as podman's ``events`` prints it without --format."""
    t = datetime.fromtimestamp(ev.time_ns // 1_000_000_000).astimezone()
    stamp = f"{t:%Y-%m-%d %H:%M:%S}.{ev.time_ns % 1_000_000_000:09d} {t:%z %Z}"
    if ev.type != "container":
        return f"{stamp} {ev.type} {ev.action} {ev.id} {ev.name}"
    attrs = dict(ev.attributes)
    for key in ("uid", "owner_uid"):  # numbers for filters and policy; user names the actor
        attrs.pop(key, None)
    first = [f"image={attrs.pop('image', ev.image)}", f"name={attrs.pop('name', ev.name)}"]
    rest = [f"{k}={v}" for k, v in sorted(attrs.items())]
    return f"{stamp} container {ev.action} {ev.id} ({', '.join(first + rest)})"
