"""bench/images.py in its smallest form: ``--quick`` (a busybox image of 3 layers), one run.
It must print its table and leave nothing behind (temp dir, mounts, podman or conmon
processes, the registry). The figures themselves are not checked (no timed assertions)."""

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
    pytest.mark.skipif(None in (shutil.which("podman"), shutil.which("skopeo"),
                                shutil.which("umoci"), shutil.which("docker-registry")),
                       reason="needs podman, skopeo, umoci and docker-registry"),
]


def test_quick_run_prints_the_table_and_leaves_nothing() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "images.py"), "--quick", "--runs", "1"],
        capture_output=True, text=True, timeout=280, check=False, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO),
             "CONTAINERS_CONF": str(REPO / "bench" / "containers.conf")})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "image: busybox, 3 layers" in out, out
    for row in ("| load oci-archive (gzip layers) | ",
                "| load docker-archive (plain layers) | ",
                "| pull from a local registry (http) | ",
                "| create, 10-layer image: CLI process | ",
                "| create, 10-layer image: engine in-process | ",
                "| stop -t 0: CLI process | ",
                "| disk: two images sharing the base | ",
                "| disk: the second image adds | ",
                "| left behind after cleanup | nothing | | | nothing | yes |"):
        assert row in out, out
    # every measured row has numbers on both sides (no side failed or was skipped)
    for line in out.splitlines():
        if line.startswith(("| load", "| pull", "| create", "| disk")):
            cells = [c.strip() for c in line.split("|")[2:4]]
            assert "-" not in cells, line
    found = re.search(r"temp dir (\S+)", proc.stderr)
    assert found, proc.stderr
    top = found.group(1)
    assert not Path(top).exists()
    with open("/proc/self/mountinfo") as f:
        assert top not in f.read()
    for tool in ("podman", "conmon", "docker-registry"):
        procs = subprocess.run(["pgrep", "-af", tool], capture_output=True, text=True).stdout
        assert top not in procs, procs
