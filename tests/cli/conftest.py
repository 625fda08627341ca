"""The CLI's test harness: ``python -m jupyter_ctr.cli`` on private roots with the demo image
(``Cli``), and fixtures that leave nothing behind."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_ctr.engine import Runtime
from tests.conftest import leftovers, wait_until

REPO = Path(__file__).resolve().parents[2]
IMAGE = "localhost/busybox:latest"
FULL_ID = re.compile(r"^[0-9a-f]{64}$")


class Cli:
    """``python -m jupyter_ctr.cli --root R --runroot RR ...`` on private, short roots."""

    def __init__(self, base: Path) -> None:
        self.root, self.run_root = base / "r", base / "x"
        self.env = dict(os.environ, PYTHONPATH=str(REPO))

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "jupyter_ctr.cli", "--root", str(self.root),
                "--runroot", str(self.run_root), *args]

    def __call__(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(*args), capture_output=True, text=True,
                              timeout=timeout, env=self.env, cwd=REPO)

    def ok(self, *args: str, timeout: float = 60) -> str:
        proc = self(*args, timeout=timeout)
        assert proc.returncode == 0, (args, proc.returncode, proc.stdout, proc.stderr)
        return proc.stdout

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(self.argv(*args), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=self.env, cwd=REPO)

    def all_ids(self) -> list[str]:
        return self.ok("ps", "-a", "-q", "--no-trunc").split()


@pytest.fixture(scope="module")
def cli_roots() -> Iterator[Cli]:
    # Short paths: conmon's attach socket lives under the run root (108-byte limit).
    base = Path(tempfile.mkdtemp(prefix="jc", dir="/tmp"))
    cli = Cli(base)
    yield cli
    ids = cli.all_ids() if cli.root.exists() else []
    if ids:
        cli("rm", "-f", "-t", "0", *ids)
    time.sleep(0.2)  # let a last exit command finish before the roots go
    with open("/proc/self/mountinfo") as fh:
        mounts = [line.split()[4] for line in fh if line.split()[4].startswith(str(base))]
    for mnt in reversed(mounts):
        subprocess.run(["umount", "-l", mnt], check=False)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def image_id(cli_roots: Cli) -> str:
    return cli_roots.ok("image", "build-demo").strip()


@pytest.fixture
def cli(cli_roots: Cli, image_id: str) -> Iterator[Cli]:
    """The CLI with the demo image; every container a test made is force-removed after it,
    and nothing (mount, conmon, cgroup) may stay behind."""
    yield cli_roots
    ids = cli_roots.all_ids()
    if ids:
        cli_roots("rm", "-f", "-t", "0", *ids)
    assert cli_roots.all_ids() == []
    rt = Runtime(cli_roots.root, cli_roots.run_root)
    try:
        assert wait_until(lambda: not any(leftovers(rt, set(ids)).values()), 10), \
            leftovers(rt, set(ids))
    finally:
        rt.close()
