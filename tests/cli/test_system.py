"""info and events (cli/commands/system.py) as the command line."""

from __future__ import annotations

import json
import re
import time

from tests.cli.conftest import IMAGE, Cli


def test_events_list_the_lifecycle(cli: Cli) -> None:
    since = f"{time.time() - 1:.3f}"
    cli.ok("run", "--rm", "--name", "evt", IMAGE, "true")
    out = cli.ok("events", "--no-stream", "--since", since, "--filter", "container=evt",
                 "--format", "json")
    events = [json.loads(line) for line in out.splitlines()]
    actions = [e["Status"] for e in events]
    for action in ("create", "init", "start", "remove"):
        assert action in actions, actions
    assert actions.index("create") < actions.index("start") < actions.index("remove")
    assert {e["Name"] for e in events} == {"evt"}
    text = cli.ok("events", "--no-stream", "--since", since, "--filter", "event=start",
                  "--filter", "container=evt")
    assert len(text.splitlines()) == 1
    # who acted, and from where: the process that asked (pid; a relayed request also names
    # its browser's address as client=)
    assert re.search(r" container start [0-9a-f]{64} \(image=localhost/busybox:latest, "
                     r"name=evt, pid=[0-9]+, user=root\)$", text.strip())
    by_root = cli.ok("events", "--no-stream", "--since", since, "--filter", "user=root",
                     "--filter", "container=evt", "--format", "json")
    # What conmon's exit command did (when it came before this process) is the engine's
    # ("conmon"), not root's: the exit, its cleanup and the --rm removal.
    users = {e["Status"]: e["Attributes"]["user"] for e in events}
    assert {users[a] for a in ("create", "init", "start")} == {"root"}
    assert set(users.values()) <= {"root", "conmon"}
    assert {a for a, user in users.items() if user == "conmon"} <= {"died", "cleanup",
                                                                     "remove"}
    assert [json.loads(line)["Status"] for line in by_root.splitlines()] == \
        [a for a in actions if users[a] == "root"]
    assert {json.loads(line)["Attributes"]["uid"] for line in by_root.splitlines()} == {"0"}
    assert cli.ok("events", "--no-stream", "--since", since, "--filter", "user=nobody") == ""
    # Streaming (the default) stops at --until.
    t0 = time.monotonic()
    out = cli.ok("events", "--since", since, "--until", f"{time.time() + 1:.3f}",
                 "--filter", "event=remove", "--filter", "container=evt", timeout=30)
    assert len(out.splitlines()) == 1 and time.monotonic() - t0 < 20
    proc = cli("events", "--no-stream", "--filter", "colour=blue")
    assert proc.returncode == 125 and "colour" in proc.stderr


def test_info_reports_criu_check(cli: Cli) -> None:
    info = json.loads(cli.ok("info", "--format", "json"))
    assert info["ok"] is True
    # CRIU may print warnings before its verdict (seen on a loaded machine).
    assert info["criu"]["check"]["ok"] is True
    assert info["criu"]["check"]["output"].endswith("Looks good."), info["criu"]["check"]
    assert info["runtime"]["version"].startswith("runc version")
    assert info["conmon"]["ok"] and info["store"]["images"] >= 1
    assert "criu:" in cli.ok("info")
