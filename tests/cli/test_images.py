"""Image commands (cli/commands/images.py) as the command line: build-demo, ls, inspect, rm,
build-debian."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.cli.conftest import FULL_ID, IMAGE, Cli


def test_build_demo_is_idempotent_and_listed(cli_roots: Cli, image_id: str) -> None:
    assert FULL_ID.match(image_id)
    assert cli_roots.ok("image", "build-demo").strip() == image_id
    lines = cli_roots.ok("image", "ls").splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    row = [line for line in lines[1:] if line.startswith("localhost/busybox ")]
    assert len(row) == 1 and row[0].split()[1:3] == ["latest", image_id[:12]]
    assert cli_roots.ok("images", "-q").split() == [image_id[:12]]
    info = json.loads(cli_roots.ok("image", "inspect", "busybox"))
    assert [i["Id"] for i in info] == [image_id] and info[0]["RepoTags"] == [IMAGE]


def test_image_rm_of_image_in_use_and_unknown(cli: Cli) -> None:
    cli.ok("create", "--name", "holder", IMAGE, "true")
    proc = cli("image", "rm", IMAGE)
    assert proc.returncode == 125 and "in use" in proc.stderr and "holder" in proc.stderr
    proc = cli("rmi", "localhost/nothing:here")
    assert proc.returncode == 125 and proc.stderr.startswith("Error: ")


PYTHON_IMAGE = "localhost/python:3"


@pytest.mark.skipif(shutil.which("mmdebstrap") is None or os.geteuid() != 0,
                    reason="mmdebstrap (scripts/setup.sh installs it) and root are needed")
def test_build_debian_python_image(cli: Cli) -> None:
    # The rootfs is cached in /var/cache/jupyter-ctr/debian (built once, a minute or two).
    proc = cli("image", "build-debian", timeout=1800)
    assert proc.returncode == 0, proc.stderr  # Debian's absolute symlinks are kept as written
    image_id = proc.stdout.strip()
    assert FULL_ID.match(image_id)
    try:
        assert cli.ok("image", "build-debian", "--name", PYTHON_IMAGE,
                      timeout=600).strip() == image_id  # cached: same content, same image
        assert cli.ok("run", "--rm", PYTHON_IMAGE, "python3", "-c", "print(1)") == "1\n"
        listing = cli.ok("run", "--rm", PYTHON_IMAGE, "ls", "-l", "/bin", "/etc/alternatives/awk")
        assert "/bin -> usr/bin" in listing and "-> /usr/bin/mawk" in listing
        caps = cli.ok("run", "--rm", PYTHON_IMAGE, "python3", "-c",
                      "import os; print(os.getxattr('/usr/bin/ping', 'security.capability').hex())")
        assert caps.strip(), "ping's file capability (cap_net_raw) was lost"
        pip = cli.ok("run", "--rm", PYTHON_IMAGE, "python3", "-m", "pip", "--version")
        assert pip.startswith("pip ")
    finally:
        cli.ok("rmi", PYTHON_IMAGE)
