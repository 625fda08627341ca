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


def test_rmi_by_one_of_several_names_untags_it(cli: Cli, image_id: str) -> None:
    """podman's rmi: "Untagged: NAME" only while the image keeps another name (a container
    may use it meanwhile); by ID with several names: refused without -f."""
    cli.ok("tag", IMAGE, "localhost/rmi/a:1", "localhost/rmi/b:1")
    cli.ok("create", "--name", "rmi-holder", "localhost/rmi/a:1", "true")
    try:
        assert cli.ok("rmi", "localhost/rmi/a:1") == "Untagged: localhost/rmi/a:1\n"
        proc = cli("rmi", image_id[:12])
        assert proc.returncode == 125, proc.stderr
        assert proc.stderr == (f'Error: unable to delete image "{image_id}" by ID with more '
                               f"than one tag ({IMAGE}, localhost/rmi/b:1): please force "
                               "removal\n")
        proc = cli("rmi", "-f", image_id[:12])  # forced: still refused while in use
        assert proc.returncode == 125 and "rmi-holder" in proc.stderr
        assert cli.ok("image", "rm", "rmi/b:1") == "Untagged: localhost/rmi/b:1\n"
        proc = cli("rmi", IMAGE)  # its last name: the image would go
        assert proc.returncode == 125 and "in use" in proc.stderr
        assert cli.ok("images", "--format", "{{.Repository}}:{{.Tag}}").split() == [IMAGE]
    finally:
        cli.ok("rm", "-f", "rmi-holder")


def test_rmi_of_the_last_name_deletes(cli: Cli) -> None:
    """The image goes with its last name: "Untagged: NAME" then "Deleted: ID" (as with -f
    by ID, which lists all its names)."""
    cli.ok("commit", cli.ok("create", IMAGE, "true").strip(), "localhost/rmi/c:1")
    new_id = json.loads(cli.ok("image", "inspect", "localhost/rmi/c:1"))[0]["Id"]
    cli.ok("tag", "localhost/rmi/c:1", "localhost/rmi/c:2")
    assert cli.ok("rmi", "localhost/rmi/c:2", "localhost/rmi/c:1") == (
        "Untagged: localhost/rmi/c:2\nUntagged: localhost/rmi/c:1\n"
        f"Deleted: {new_id}\n")
    cli.ok("commit", cli.ok("create", IMAGE, "true").strip(), "localhost/rmi/d:1")
    d_id = json.loads(cli.ok("image", "inspect", "localhost/rmi/d:1"))[0]["Id"]
    cli.ok("tag", "localhost/rmi/d:1", "localhost/rmi/d:2")
    assert cli.ok("rmi", "-f", d_id) == (
        f"Untagged: localhost/rmi/d:1\nUntagged: localhost/rmi/d:2\nDeleted: {d_id}\n")


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
