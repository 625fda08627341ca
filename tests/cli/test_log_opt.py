"""``--log-opt max-size`` on ``create``/``run`` and ``logs --tail`` after conmon rotated the
log, through the ``jupyter-ctr`` process on the session's engine roots."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from jupyter_ctr.engine import Runtime
from tests.conftest import DEMO

REPO = Path(__file__).resolve().parents[2]


def cli(rt: Runtime, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_ctr.cli", "--root", str(rt.root), "--runroot",
         str(rt.run_root), *args], capture_output=True, text=True, timeout=60,
        env=dict(os.environ, PYTHONPATH=str(REPO)), cwd=REPO)


def test_log_opt_max_size(rt: Runtime) -> None:
    script = "i=0; while [ $i -lt 300 ]; do echo line-$i-............................; " \
             "i=$((i+1)); done"
    run = cli(rt, "run", "--name", "lopt", "--log-opt", "max-size=9k", DEMO, "sh", "-c", script)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1].startswith("line-299-")
    tail = cli(rt, "logs", "--tail", "5", "lopt")
    assert tail.stdout.splitlines() == [f"line-{i}-{'.' * 28}" for i in range(295, 300)]
    insp = json.loads(cli(rt, "inspect", "lopt").stdout)[0]
    assert insp["HostConfig"]["LogConfig"]["Size"] == "9kB"
    before = cli(rt, "ps", "-a", "-q").stdout
    for opt, words in (("max-size=-1", "cannot be negative"), ("max-size=big", "invalid log"),
                       ("max-size=1k", "at least 8192"), ("max-file=3", "only max-size"),
                       ("max-size", "only max-size")):
        proc = cli(rt, "create", "--log-opt", opt, DEMO, "true")
        assert proc.returncode != 0 and words in proc.stderr, (opt, proc.stderr)
    assert cli(rt, "ps", "-a", "-q").stdout == before
