"""bench/multiuser.py in its smallest form: two students, a few keys. It must print its
table and leave nothing behind (users, groups, containers, mounts, conmon, temp dir). The
figures themselves are not checked (no timed assertions)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(300)


def test_smallest_run_prints_the_table_and_leaves_nothing() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "multiuser.py"), "--students", "2", "--keys", "5",
         "--warmup", "1", "--lists", "5", "--max-pause", "20"],
        capture_output=True, text=True, timeout=280, check=False, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    for row in ("| echo: key -> its echo, 2 terminals typing at once, 10 keys",
                "| echo: the same while a student and the instructor list every 50 ms, 10 keys",
                "| echo: the first student typing alone (before the others), 5 keys",
                "list (a student: 1 containers), while typing",
                "list (the instructor: 2 containers), terminals idle",
                "service memory 2 containers, 2 terminals open: RSS / PSS (MB)",
                "not counted: 4 conmon processes",
                "| left behind after cleanup | nothing | nothing | met |"):
        assert row in out, out
    found = re.search(r"users (jcb[0-9a-f]+)\* made in .* temp dir (\S+)", proc.stderr)
    assert found, proc.stderr
    tag, top = found.groups()
    assert not Path(top).exists()
    with open("/etc/passwd") as f:
        assert not [line for line in f if line.startswith(tag)]
    with open("/etc/group") as f:
        assert not [line for line in f if line.startswith(tag)]
    with open("/proc/self/mountinfo") as f:
        assert top not in f.read()
    conmons = subprocess.run(["pgrep", "-af", "conmon"], capture_output=True, text=True).stdout
    assert top not in conmons
