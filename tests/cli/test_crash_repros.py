"""Issue 9's command-line repros, as the user ran them: a ``container restore`` SIGKILLed at
several moments, and ``run -it --rm`` on a terminal that reports a size of 0x0."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_ctr.engine import Runtime
from tests.cli.conftest import Cli
from tests.conftest import _mounts_under, leftovers, wait_until

REPO = Path(__file__).resolve().parents[2]
IMAGE = "localhost/busybox:latest"


@pytest.fixture(scope="module")
def cli() -> Iterator[Cli]:
    base = Path(tempfile.mkdtemp(prefix="jk", dir="/tmp"))
    c = Cli(base)
    c.ok("image", "build-demo")
    yield c
    for ctr_id in c.ok("ps", "-a", "-q", "--no-trunc").split():
        c("rm", "-f", "-t", "0", ctr_id)
    for mnt in reversed(_mounts_under(base)):
        subprocess.run(["umount", "-l", mnt], check=False)
    shutil.rmtree(base, ignore_errors=True)


def _nothing_left(cli: Cli) -> None:
    rt = Runtime(cli.root, cli.run_root)
    try:
        assert not rt.list_containers(all=True)
        assert wait_until(lambda: not any(leftovers(rt, set()).values()), 10), leftovers(rt)
        for sub in ("runc", "bundles", "exits"):
            assert not list((cli.run_root / sub).iterdir()), sub
        assert not [p for p in (cli.root / "containers").iterdir()]
    finally:
        rt.close()


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.08, 0.105, 0.13, 0.2])
def test_killed_restore_leaves_a_recoverable_container(cli: Cli, delay: float) -> None:
    cli.ok("run", "-d", "--name", "x", IMAGE, "sleep", "1000")
    cli.ok("container", "checkpoint", "x")
    proc = cli.popen("container", "restore", "x")
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    again = cli("container", "restore", "x")
    if again.returncode != 0:
        # The killed restore got as far as a restored container: that is what runs now.
        assert "is in state running" in again.stderr, again.stderr
    info = json.loads(cli.ok("inspect", "x"))[0]["State"]
    assert info["Status"] == "running" and info["Pid"] > 0, info
    assert cli.ok("exec", "x", "echo", "alive") == "alive\n"
    cli.ok("rm", "-f", "-t", "0", "x")
    _nothing_left(cli)


@pytest.mark.skipif(shutil.which("script") is None, reason="util-linux script(1) is needed")
def test_run_it_rm_on_a_0x0_terminal(cli: Cli) -> None:
    # script(1) with no terminal of its own gives the command a pty of size 0x0.
    command = " ".join(cli.argv("run", "-it", "--rm", IMAGE, "tty"))
    proc = subprocess.run(["script", "-qec", command, "/dev/null"], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60, env=cli.env, cwd=REPO)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    assert "/dev/pts/0" in proc.stdout
    _nothing_left(cli)


def test_run_rm_removes_the_container_whatever_fails(cli: Cli) -> None:
    # The command does not exist in the image: runc create fails after the create.
    proc = cli("run", "--rm", IMAGE, "/no/such/program")
    assert proc.returncode != 0 and "no/such/program" in proc.stderr, proc.stderr
    proc = cli("run", "-it", "--rm", IMAGE, "/no/such/program")
    assert proc.returncode != 0
    _nothing_left(cli)
