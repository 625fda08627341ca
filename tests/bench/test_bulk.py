"""bench/bulk.py in its smallest form (a lab of 2 containers, one run): it must print its
table with every row and leave nothing behind (temp dir, mounts, conmon processes). The
figures themselves are not checked (no timed assertions)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.timeout(300),
              pytest.mark.skipif(os.geteuid() != 0, reason="needs root")]


def test_tiny_run_prints_the_table_and_leaves_nothing() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "bulk.py"), "-n", "2", "--runs", "1"],
        capture_output=True, text=True, timeout=280, check=False, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "## Bulk actions on a lab of 2 containers" in out, out
    for row in ("start", "snapshot", "reset", "reset 1x", "stop", "start again", "remove"):
        assert re.search(rf"^\| {re.escape(row)} \| [0-9.]+ \| ", out, re.M), (row, out)
    assert "failed container actions: 0" in out
    found = re.search(r"temp dir (\S+)", proc.stderr)
    assert found, proc.stderr
    top = found.group(1)
    assert not Path(top).exists()
    with open("/proc/self/mountinfo") as f:
        assert top not in f.read()
    procs = subprocess.run(["pgrep", "-af", "conmon"], capture_output=True, text=True).stdout
    assert top not in procs, procs
