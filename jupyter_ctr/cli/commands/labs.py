"""Lab commands (ours): ``lab ls`` lists the labs (containers labelled ``jupyter-ctr.lab``),
``lab start|stop|reset|rm LAB`` acts on every container of one at once and prints one row per
container; the exit status is 125 when any of them failed (the others were still done)."""

from __future__ import annotations

from ..exits import ENGINE_ERROR
from ..formatting import print_json, print_table, short

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from ...service.door import Door


def cmd_ls(door: Door, args: argparse.Namespace) -> int:
    labs = door.labs()
    if args.format == "json":
        print_json(labs)
        return 0
    print_table(["LAB", "CONTAINERS", "RUNNING", "OWNERS"],
                [[lab["Name"], str(lab["Containers"]), str(lab["Running"]),
                  ",".join(lab["Owners"])] for lab in labs])
    return 0


def print_results(results: list[dict[str, Any]]) -> None:
    """One row per container: its ID, name, owner and ok or the engine's message."""
    print_table(["CONTAINER ID", "NAME", "OWNER", "RESULT"],
                [[short(r["Id"]), r["Name"], r["Owner"], "ok" if r["Ok"] else
                  f"error: {r['Error']}"] for r in results])


def cmd_action(door: Door, args: argparse.Namespace) -> int:
    results = door.lab_action(args.lab, args.lab_action, step=getattr(args, "step", None),
                              timeout=getattr(args, "time", None))
    if getattr(args, "format", None) == "json":
        print_json(results)
    else:
        print_results(results)
    return ENGINE_ERROR if any(not r["Ok"] for r in results) else 0
