"""What the CLI prints (cli.formatting): human sizes and durations, and ``--format`` (json and
Go templates) for ps, images and inspect, run as the command line."""

from __future__ import annotations

import contextlib
import io
import json
import re

import pytest

from jupyter_ctr.cli.formatting import (
    ago,
    go_time,
    human_duration,
    human_size,
    parse_format,
    print_table,
    short,
)
from jupyter_ctr.engine.errors import InvalidArgumentError
from tests.cli.conftest import IMAGE, Cli


def test_human_duration_and_size() -> None:
    assert human_duration(0.4) == "Less than a second"
    assert human_duration(1) == "1 second"
    assert human_duration(59) == "59 seconds"
    assert human_duration(61) == "About a minute"
    assert human_duration(600) == "10 minutes"
    assert human_duration(3600) == "About an hour"
    assert human_duration(5 * 3600) == "5 hours"
    assert human_duration(3 * 86400) == "3 days"
    assert human_size(1984234, " ") == "1.98 MB"
    assert human_size(512) == "512B"
    assert ago(600) == "10 minutes ago"
    assert short("0123456789abcdef") == "0123456789ab"
    assert short("0123456789abcdef", no_trunc=True) == "0123456789abcdef"


def test_tables_align_like_podmans_tabwriter() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_table(["ID", "NAME", "STATUS"], [["1", "a-long-name", "Up"], ["22", "b", ""]])
    assert out.getvalue() == ("ID  NAME         STATUS\n"
                              "1   a-long-name  Up\n"
                              "22  b\n")


def test_go_time_prints_like_go() -> None:
    text = go_time(1_800_000_000, 1_800_000_000_123_400_000)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.1234 [+-]\d{4} \S+", text), text
    assert ".0" not in go_time(1_800_000_000, 1_800_000_000_000_000_000)
    assert "." not in go_time(1_800_000_000).split()[1]


def test_parse_format_forms_and_errors() -> None:
    assert parse_format(None, "ps") is None
    assert parse_format("table", "ps") is None  # the command's default table
    fmt = parse_format("json", "ps")
    assert fmt is not None and fmt.is_json
    with pytest.raises(InvalidArgumentError, match="invalid --format '{{.Names'"):
        parse_format("{{.Names", "ps")


# -- the commands -------------------------------------------------------------------------------
def test_ps_format_json_templates_and_table(cli: Cli) -> None:
    web = cli.ok("run", "-d", "--name", "fmt-web", "-l", "tier=front", IMAGE,
                 "sleep", "100").strip()
    created = cli.ok("create", "--name", "fmt-new", IMAGE, "true").strip()
    items = {i["Names"][0]: i for i in json.loads(cli.ok("ps", "-a", "--format", "json"))}
    assert items["fmt-web"]["Id"] == web and items["fmt-web"]["State"] == "running"
    assert items["fmt-web"]["Labels"] == {"tier": "front"} and items["fmt-web"]["Pid"] > 0
    assert items["fmt-web"]["Status"].startswith("Up")
    assert items["fmt-new"]["Id"] == created and items["fmt-new"]["State"] == "created"
    assert items["fmt-new"]["Command"] == ["true"] and items["fmt-new"]["Exited"] is False

    lines = cli.ok("ps", "-a", "--format", "{{.Names}} {{.State}} {{.ID}}").splitlines()
    assert sorted(lines) == sorted([f"fmt-web running {web[:12]}",
                                    f"fmt-new created {created[:12]}"])
    assert cli.ok("ps", "--format", '{{index .Labels "tier"}}|{{.Image}}') == f"front|{IMAGE}\n"
    assert cli.ok("ps", "--no-trunc", "--format", "{{.ID}}") == f"{web}\n"
    assert cli.ok("ps", "-q", "--format", "{{.Names}}") == "fmt-web\n"  # --format wins, as podman

    table = cli.ok("ps", "--format", r"table {{.ID}}\t{{.Image}} {{.ExitCode}}").splitlines()
    assert table[0] == "CONTAINER ID  IMAGE                     EXIT CODE"
    assert table[1].split() == [web[:12], IMAGE, "0"]
    assert cli.ok("ps", "--format", "table").splitlines()[0].split()[:2] == ["CONTAINER", "ID"]


def test_inspect_format(cli: Cli, image_id: str) -> None:
    web = cli.ok("run", "-d", "--name", "fmt-i", "-l", "tier=back", IMAGE, "sleep", "100").strip()
    assert cli.ok("inspect", "--format", "{{.State.Status}}", "fmt-i") == "running\n"
    assert cli.ok("inspect", "-f", "{{.Id}}", "fmt-i") == f"{web}\n"
    assert cli.ok("inspect", "-f", "{{.ID}} {{.Name}}", web[:12]) == f"{web} fmt-i\n"
    config = json.loads(cli.ok("inspect", "--format", "{{json .Config}}", "fmt-i"))
    assert config["Cmd"] == ["sleep", "100"] and config["Labels"] == {"tier": "back"}
    assert cli.ok("inspect", "-f", '{{index .Config.Labels "tier"}}', "fmt-i") == "back\n"
    assert json.loads(cli.ok("inspect", "--format", "json", "fmt-i"))[0]["Id"] == web
    assert cli.ok("inspect", "-f", "{{.Id}}", IMAGE) == f"{image_id}\n"
    assert cli.ok("image", "inspect", "-f", "{{.RepoTags}}", IMAGE) == f"[{IMAGE}]\n"
    # found objects are printed, the missing one is an error, as podman
    proc = cli("inspect", "-f", "{{.Name}}", "fmt-i", "no-such-thing")
    assert (proc.returncode, proc.stdout) == (125, "fmt-i\n")
    assert "no-such-thing" in proc.stderr


def test_images_format(cli: Cli, image_id: str) -> None:
    images = json.loads(cli.ok("images", "--format", "json"))
    mine = [i for i in images if i["Id"] == image_id]
    assert len(mine) == 1 and mine[0]["Names"] == [IMAGE] and mine[0]["Size"] > 0
    lines = cli.ok("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").splitlines()
    assert f"{IMAGE} {image_id[:12]}" in lines
    table = cli.ok("image", "ls", "--format", "table {{.Repository}} {{.Tag}} {{.Size}}")
    assert table.splitlines()[0].split() == ["REPOSITORY", "TAG", "SIZE"]


def test_bad_format_is_a_clear_error_before_any_work(cli: Cli) -> None:
    cli.ok("create", "--name", "fmt-bad", IMAGE, "true")
    proc = cli("ps", "-a", "--format", "{{.Bogus}}")
    assert proc.returncode == 125 and proc.stdout == ""
    assert proc.stderr.startswith("Error: template: ps:1:3:")
    assert "can't evaluate field Bogus" in proc.stderr and "Names" in proc.stderr
    proc = cli("inspect", "--format", "{{.State.Nope}}", "fmt-bad")
    assert proc.returncode == 125 and "field Nope" in proc.stderr and "Status" in proc.stderr
    proc = cli("ps", "--format", "{{.Names")
    assert proc.returncode == 125 and "invalid --format '{{.Names'" in proc.stderr
    assert "unclosed action" in proc.stderr
    proc = cli("images", "--format", "{{shout .ID}}")
    assert proc.returncode == 125 and "function 'shout' not defined" in proc.stderr
    assert cli.ok("ps", "-a", "--format", "{{.Names}}") == "fmt-bad\n"
