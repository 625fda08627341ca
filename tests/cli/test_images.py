"""Image commands (cli/commands/images.py) as the command line: build-demo, ls, inspect, rm."""

from __future__ import annotations

import json

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
