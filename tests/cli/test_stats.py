"""stats (cli/commands/stats.py) as the command line."""

from __future__ import annotations

import re

from tests.cli.conftest import IMAGE, Cli


def test_stats_of_a_running_container(cli: Cli) -> None:
    cli.ok("run", "-d", "--name", "spin", "--memory", "64m", IMAGE, "sh", "-c",
           "while true; do :; done")
    out = cli.ok("stats", "--no-stream", "spin")
    header, *rows = out.splitlines()
    assert re.split(r"\s{2,}", header) == ["ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %",
                                           "PIDS"]
    assert len(rows) == 1
    cells = re.split(r"\s{2,}", rows[0])
    assert cells[1] == "spin"
    assert float(cells[2].rstrip("%")) > 1.0  # a busy loop
    assert cells[3].endswith(" / 67.1MB")
    assert int(cells[5]) >= 1
    cli.ok("rm", "-f", "-t", "0", "spin")
    cli.ok("create", "--name", "idle", IMAGE, "true")
    proc = cli("stats", "--no-stream", "idle")
    assert proc.returncode == 125 and "not running" in proc.stderr
