"""The checkpoint timeline as the command line (cli/commands/timeline.py): ``snapshot
create|ls|rewind|rm|export|import``, with CRIU; run again remotely by
tests/client/test_cli_remote.py."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.cli.conftest import Cli
from tests.conftest import wait_until

COUNTER = ["sh", "-c", "i=0; while :; do echo $i; i=$((i+1)); sleep 0.1; done"]


def counts(cli: Cli, name: str) -> list[int]:
    return [int(x) for x in cli.ok("logs", name).split()]


def test_snapshot_create_ls_rewind_rm(cli: Cli) -> None:
    cli.ok("run", "-d", "--name", "tl", "localhost/busybox", *COUNTER)
    assert wait_until(lambda: len(counts(cli, "tl")) >= 3, 10)
    assert cli.ok("snapshot", "create", "tl", "step-1").strip() == "step-1"
    at_1 = counts(cli, "tl")[-1]
    assert wait_until(lambda: counts(cli, "tl")[-1] >= at_1 + 10, 10)
    cli.ok("exec", "tl", "sh", "-c", "echo later > /later.txt")
    res = cli("snapshot", "create", "tl", "step-1")
    assert res.returncode == 125 and "exists already" in res.stderr
    cli.ok("snapshot", "create", "tl", "step-2")
    table = cli.ok("snapshot", "ls", "tl").splitlines()
    assert table[0].split() == ["STEP", "KIND", "CREATED", "SIZE", "REASON"]
    assert [row.split()[:2] for row in table[1:]] == [["step-1", "checkpoint"],
                                                      ["step-2", "checkpoint"]]
    listed = json.loads(cli.ok("snapshot", "ls", "--format", "json", "tl"))
    assert [s["Name"] for s in listed] == ["step-1", "step-2"]
    assert set(listed[0]) == {"Name", "Kind", "Created", "Size", "Reason"}
    assert cli.ok("snapshot", "rewind", "tl", "step-1").strip() == "step-1"
    assert json.loads(cli.ok("inspect", "tl"))[0]["State"]["Status"] == "running"
    before = counts(cli, "tl")
    assert wait_until(lambda: len(counts(cli, "tl")) > len(before) + 2, 10)
    vals = counts(cli, "tl")
    drop = next(i for i in range(1, len(vals)) if vals[i] != vals[i - 1] + 1)
    assert vals[drop] <= at_1 + 2, vals  # back at step 1's count
    res = cli("exec", "tl", "cat", "/later.txt")
    assert res.returncode != 0  # written after step 1: gone
    res = cli("snapshot", "rewind", "tl", "nope")
    assert res.returncode == 125 and "no snapshot 'nope'" in res.stderr
    res = cli("snapshot", "create", "tl", "../x")
    assert res.returncode == 125 and "invalid step name" in res.stderr
    res = cli("snapshot", "rm", "tl", "step-1", "nope")
    assert res.returncode == 125 and res.stdout.split() == ["step-1"]
    assert [s["Name"] for s in json.loads(cli.ok("snapshot", "ls", "--format", "json",
                                                 "tl"))] == ["step-2"]
    cli.ok("rm", "-f", "-t", "0", "tl")


def test_snapshot_export_import(cli: Cli, tmp_path: Path) -> None:
    cli.ok("run", "-d", "--name", "tlx", "localhost/busybox", *COUNTER)
    time.sleep(0.5)
    cli.ok("exec", "tlx", "sh", "-c", "echo handed-in > /work.txt")
    cli.ok("snapshot", "create", "tlx", "final")
    out = tmp_path / "final.tar.gz"
    cli.ok("snapshot", "export", "tlx", "final", "-o", str(out))
    assert out.stat().st_size > 0
    new_id = cli.ok("snapshot", "import", "--name", "tlx-copy", str(out)).strip()
    assert len(new_id) == 64
    assert cli.ok("exec", "tlx-copy", "cat", "/work.txt") == "handed-in\n"
    res = cli("snapshot", "export", "tlx", "nope", "-o", str(tmp_path / "x.tar"))
    assert res.returncode == 125 and not (tmp_path / "x.tar").exists()
    cli.ok("rm", "-f", "-t", "0", "tlx", "tlx-copy")
