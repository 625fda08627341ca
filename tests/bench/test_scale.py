"""bench/scale.py in its smallest form: two containers, one request each, a few event
clients (podman beside ours when it is installed). It must print the table and leave nothing
behind (temp dir, mounts, conmon or podman processes, container cgroups). The figures
themselves are not checked (no timed assertions)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
]


def test_smallest_run_prints_the_table_and_leaves_nothing() -> None:
    podman = shutil.which("podman") is not None
    argv = [sys.executable, str(REPO / "bench" / "scale.py"), "--sizes", "2", "--runs", "1",
            "--clients", "3", "--events", "2"]
    if not podman:
        argv += ["--only", "ours"]
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=280, check=False, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO),
             "CONTAINERS_CONF": str(REPO / "bench" / "containers.conf")})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "## 2 running containers" in out, out
    for row in ("| start all: create + start one after another, total (s) | ",
                "| list libpod `containers/json?all=true`, median / p99 (ms) | ",
                "| list Docker `containers/json?all=1`, median / p99 (ms) | ",
                "| inspect one `containers/{id}/json`, median / p99 (ms) | ",
                "| stats of all `containers/stats?stream=false`, median / p99 (ms) | ",
                "| stats stream (interval=1): first complete sample, median (ms) | ",
                "| stats stream (interval=1): second sample, median (ms) | ",
                "| events fan-out to 3 clients (ours: websocket `/api/events/ws`; ",
                "| events delivered to every client | all | ",
                "| service peak RSS, VmHWM (MB) | ",
                "| remove all: DELETE ?force one after another, total (s) | "):
        assert row in out, out
    made = 4 if podman else 2
    assert f"| {made} containers made | nothing |" in out, out
    # every measured row has a number for each side that ran
    for line in out.splitlines():
        if line.startswith(("| start", "| list", "| inspect", "| stats", "| remove")):
            cells = [c.strip() for c in line.split("|")[2:4]]
            assert cells[0] != "-", line
            assert (cells[1] != "-") == podman, line
    found = re.search(r"temp dir (\S+)", proc.stderr)
    assert found, proc.stderr
    top = found.group(1)
    assert not Path(top).exists()
    with open("/proc/self/mountinfo") as f:
        assert top not in f.read()
    for tool in ("podman", "conmon", "jupyter_ctr"):
        procs = subprocess.run(["pgrep", "-af", tool], capture_output=True, text=True).stdout
        assert top not in procs, procs
