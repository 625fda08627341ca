"""ps, inspect, top and logs (cli/commands/show.py) as the command line."""

from __future__ import annotations

import json

from tests.cli.conftest import IMAGE, Cli


def test_inspect_containers_and_images(cli: Cli, image_id: str) -> None:
    ctr_id = cli.ok("create", "--name", "insp", "-e", "FOO=bar", "-l", "app=x",
                    "--memory", "64m", IMAGE, "echo", "hi").strip()
    [info] = json.loads(cli.ok("inspect", "insp"))
    assert info["Id"] == ctr_id and info["Name"] == "insp"
    assert info["State"]["Status"] == "created"
    assert "FOO=bar" in info["Config"]["Env"] and info["Config"]["Labels"] == {"app": "x"}
    assert info["Config"]["Cmd"] == ["echo", "hi"]
    assert info["Owner"] == {"Uid": 0, "Name": "root"}  # the CLI acts as its user
    assert cli.ok("ps", "-a", "-q", "--no-trunc", "--filter", "owner=root",
                  "--filter", "name=^insp$").split() == [ctr_id]
    assert cli.ok("ps", "-a", "-q", "--filter", "owner=0", "--filter", "name=^insp$").split() \
        == [ctr_id[:12]]
    assert cli.ok("ps", "-a", "-q", "--filter", "owner=nobody") == ""
    assert info["HostConfig"]["Memory"] == 64 << 20
    both = json.loads(cli.ok("inspect", "insp", IMAGE))
    assert [x["Id"] for x in both] == [ctr_id, image_id]
    proc = cli("inspect", "insp", "nothing-here")
    assert proc.returncode == 125 and "nothing-here" in proc.stderr
    assert [x["Id"] for x in json.loads(proc.stdout)] == [ctr_id]


def test_ps_shows_the_owner(cli: Cli) -> None:
    """Ours beside podman's fields: who created the container, as inspect's "Owner"."""
    ctr_id = cli.ok("create", "--name", "ps-owner", IMAGE, "true").strip()
    items = {i["Id"]: i for i in json.loads(cli.ok("ps", "-a", "--format", "json"))}
    assert items[ctr_id]["Owner"] == {"Uid": 0, "Name": "root"}
    assert items[ctr_id]["Names"] == ["ps-owner"]  # podman's fields unchanged
    assert cli.ok("ps", "-a", "--filter", "name=^ps-owner$", "--format",
                  "{{.Owner.Name}} {{.Owner.Uid}} {{.Names}}") == "root 0 ps-owner\n"
    assert cli.ok("ps", "-a", "--filter", "name=^ps-owner$", "--format",
                  "{{.Owner}}") == "map[Name:root Uid:0]\n"  # as Go prints a map
