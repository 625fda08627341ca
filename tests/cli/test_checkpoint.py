"""checkpoint and restore (cli/commands/checkpoint.py) as the command line, with CRIU."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.cli.conftest import Cli


def test_container_checkpoint_and_restore(cli: Cli, tmp_path: Path) -> None:
    cli.ok("run", "-d", "--name", "count", "localhost/busybox", "sh", "-c",
           "i=0; while :; do echo $i; i=$((i+1)); sleep 0.1; done")
    time.sleep(0.8)
    archive = tmp_path / "count.tar.gz"
    cli.ok("container", "checkpoint", "--export", str(archive), "count")
    state = json.loads(cli.ok("inspect", "count"))[0]["State"]
    assert state["Status"] == "exited" and state["Checkpointed"] is True
    before = [int(x) for x in cli.ok("logs", "count").split()]
    cli.ok("container", "restore", "count")
    time.sleep(0.5)
    after = [int(x) for x in cli.ok("logs", "count").split()]
    assert after[:len(before)] == before and after[len(before)] == before[-1] + 1
    new_id = cli.ok("restore", "--import", str(archive), "--name", "count2").strip()
    assert len(new_id) == 64
    time.sleep(0.5)
    assert int(cli.ok("logs", "--tail", "1", "count2")) > before[-1]
    res = cli("container", "restore", "count")
    assert res.returncode == 125 and "running" in res.stderr
    res = cli("container", "checkpoint", "-P", "count")
    assert res.returncode == 125 and "soft-dirty" in res.stderr
    cli.ok("rm", "-f", "-t", "0", "count", "count2")
