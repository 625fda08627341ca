"""``jupyter-ctr recording ls|export|rm``: terminal recordings (asciicast v2) of websocket
sessions, through the Door (a student's own only, in the multi-user service)."""

from __future__ import annotations

import os
import sys
import time

from ..formatting import (
    ago,
    go_time,
    human_size,
    parse_format,
    print_formatted,
    print_json,
    print_table,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from ...service.door import Door

HEADERS = {"ID": "RECORDING ID"}


def fields(rec: dict[str, Any]) -> dict[str, Any]:
    """What ``--format`` templates and JSON see (the REST list's names)."""
    return {"ID": rec["id"], "Container": rec["container"],
            "ContainerName": rec["container_name"], "ExecID": rec["exec_id"],
            "Owner": rec["owner_name"], "User": rec["user"], "Lab": rec["lab"],
            "Started": go_time(rec["started"]) if rec["started"] else "",
            "Ended": go_time(rec["ended"]) if rec["ended"] else "",
            "Size": int(rec["size"] or 0), "Duration": float(rec["duration"] or 0),
            "Width": rec["width"], "Height": rec["height"]}


def cmd_ls(door: Door, args: argparse.Namespace) -> int:
    """ID, CONTAINER, SESSION, OWNER, LAB, STARTED, DURATION, SIZE, oldest first."""
    fmt = parse_format(args.format, "recording ls")
    recs = door.recordings()
    rows = [fields(r) for r in recs]
    if fmt is not None and fmt.is_json:
        print_json(rows)
        return 0
    if fmt is not None:
        print_formatted(fmt, rows, HEADERS)
        return 0
    if args.quiet:
        for row in rows:
            print(row["ID"])
        return 0
    now = time.time()
    table = []
    for rec, row in zip(recs, rows, strict=True):
        live = "" if rec["ended"] else " (live)"
        table.append([row["ID"][:12], row["ContainerName"] or (row["Container"] or "")[:12],
                      (row["ExecID"] or "")[:12] or "attach", row["Owner"] or "",
                      row["Lab"] or "", ago(now - rec["started"]) if rec["started"] else "",
                      f"{row['Duration']:.1f}s{live}", human_size(row["Size"])])
    print_table(["ID", "CONTAINER", "SESSION", "OWNER", "LAB", "STARTED", "DURATION", "SIZE"],
                table)
    return 0


def cmd_export(door: Door, args: argparse.Namespace) -> int:
    """The .cast file, to stdout or ``-o FILE`` (written 0600: a terminal may show secrets)."""
    data = door.recording(args.recording)
    if not args.output or args.output == "-":
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return 0
    fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return 0


def cmd_rm(door: Door, args: argparse.Namespace) -> int:
    """Remove each recording; prints the ids removed (as podman's rm)."""
    for rec_id in args.recordings:
        door.remove_recording(rec_id)
        print(rec_id)
    return 0
