"""``--format`` (json and Go templates) for ps, images and inspect, the template subset itself,
and the CLI's light start-up (what importing it and parsing one command cost)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from jupyter_ctr.gotemplate import Format, Template, TemplateError, header_name
from tests.cli.test_cli import IMAGE, REPO, Cli, cli, cli_roots, image_id  # noqa: F401

DATA = {
    "Id": "abc123", "Name": "web",
    "State": {"Status": "running", "Pid": 42, "Running": True},
    "Config": {"Cmd": ["sh", "-c", "echo hi"], "Labels": {"tier": "front"}, "Env": []},
}


def render(text: str, data: object = DATA) -> str:
    return Template(text, "inspect").render(data)


# -- the template subset ------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("{{.State.Status}}", "running"),
    ("{{ .Name }} is {{.State.Status}}", "web is running"),
    ("{{.ID}} {{.Id}}", "abc123 abc123"),  # podman's inspect takes .ID for "Id"
    ("{{json .Config.Labels}}", '{"tier":"front"}'),
    ("{{json .Config.Cmd}}", '["sh","-c","echo hi"]'),
    ('{{index .Config.Labels "tier"}}', "front"),
    ('{{index .Config.Labels "none"}}', ""),
    ("{{.Config.Labels.tier}} {{.Config.Labels.none}}", "front <no value>"),
    ("{{index .Config.Cmd 2}}", "echo hi"),
    ("{{.Config.Cmd}} {{.Config.Labels}} {{.State.Running}}",
     "[sh -c echo hi] map[tier:front] true"),
    ("{{range .Config.Cmd}}<{{.}}>{{end}}", "<sh><-c><echo hi>"),
    ("{{range .Config.Env}}x{{else}}empty{{end}}", "empty"),
    ('{{if eq .State.Status "running"}}up{{else}}down{{end}}', "up"),
    ("{{if not .State.Running}}down{{end}}.", "."),
    ("{{with .State}}{{.Pid}}{{end}}", "42"),
    ("{{.Name | upper}} {{lower \"AB\"}} {{len .Config.Cmd}}", "WEB ab 3"),
    ('{{join .Config.Cmd ","}}', "sh,-c,echo hi"),
    ('{{printf "%s:%d %q %5.1f" .Name .State.Pid .Name 2.25}}', 'web:42 "web"   2.2'),
    ("{{truncate .Id 3}}", "abc"),
    ("a {{- \" b \" -}} c", "a b c"),
    ("{{/* a comment */}}x", "x"),
    ("{{$.Name}}", "web"),
    ("{{(index .Config.Cmd 0)}}", "sh"),
])
def test_template_renders_like_go(text: str, expected: str) -> None:
    assert render(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("{{.Bogus}}", "template: inspect:1:3: executing \"inspect\" at <.Bogus>: can't evaluate "
                   "field Bogus (fields here: Config, Id, Name, State)"),
    ("{{.State.Nope}}", "can't evaluate field Nope (fields here: Pid, Running, Status)"),
    ("{{.Name.X}}", "can't evaluate field X in a string value"),
    ("{{.Name", "template: inspect:1: unclosed action"),
    ("x\n{{nope .Name}}", "template: inspect:2:3: function 'nope' not defined"),
    ("{{if .Name}}x", "{{if}} has no {{end}}"),
    ("{{end}}", "unexpected {{end}}"),
    ("{{$x := .Name}}", "template variables are not supported"),
    ("{{.Name .Id}}", ".Name is not a function"),
    ("{{index .Config.Cmd 7}}", "index out of range: 7"),
    ("{{}}", "empty action"),
    ("{{range .Name}}{{end}}", "range can't iterate over web"),
])
def test_template_errors_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as info:
        render(text)
    assert message in str(info.value)


def test_table_format_aligns_like_podman_with_a_header() -> None:
    fmt = Format("table {{.ID}}\\t{{.Names}} {{json .Labels}}", "ps")
    assert fmt.table and not fmt.is_json
    rows = [{"ID": "1234", "Names": "web", "Labels": {}},
            {"ID": "5678", "Names": "a-much-longer-name", "Labels": {"k": "v"}}]
    lines = fmt.lines(rows, lambda f: header_name(f, {"ID": "CONTAINER ID"}))
    assert lines == ["CONTAINER ID  NAMES               LABELS",
                     "1234          web                 {}",
                     "5678          a-much-longer-name  {\"k\":\"v\"}"]


def test_format_forms() -> None:
    assert Format("json", "ps").is_json and Format("{{json .}}", "ps").is_json
    plain = Format("{{.Names}}\\t{{.ID}}\\n", "ps")
    assert plain.lines([{"Names": "a", "ID": "1"}]) == ["a\t1"]
    assert Format("table", "ps").template is None  # the command's default table
    assert header_name("ExitCode") == "EXIT CODE" and header_name("ImageID") == "IMAGE ID"


# -- the commands -------------------------------------------------------------------------------
def test_ps_format_json_templates_and_table(cli: Cli) -> None:  # noqa: F811
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


def test_inspect_format(cli: Cli, image_id: str) -> None:  # noqa: F811
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


def test_images_format(cli: Cli, image_id: str) -> None:  # noqa: F811
    images = json.loads(cli.ok("images", "--format", "json"))
    mine = [i for i in images if i["Id"] == image_id]
    assert len(mine) == 1 and mine[0]["Names"] == [IMAGE] and mine[0]["Size"] > 0
    lines = cli.ok("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").splitlines()
    assert f"{IMAGE} {image_id[:12]}" in lines
    table = cli.ok("image", "ls", "--format", "table {{.Repository}} {{.Tag}} {{.Size}}")
    assert table.splitlines()[0].split() == ["REPOSITORY", "TAG", "SIZE"]


def test_bad_format_is_a_clear_error_before_any_work(cli: Cli) -> None:  # noqa: F811
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


# -- start-up -------------------------------------------------------------------------------------
def _fresh_python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=REPO).stdout


def test_importing_the_cli_loads_no_parser_logging_or_engine() -> None:
    loaded = set(_fresh_python(
        "import sys, jupyter_ctr.cli; print(' '.join(sys.modules))").split())
    heavy = {"argparse", "logging", "typing", "json", "subprocess", "shutil", "sqlite3",
             "jupyter_ctr.engine.runtime", "jupyter_ctr.engine.images"}
    assert heavy & loaded == set()


def test_a_command_builds_only_its_own_parser() -> None:
    from jupyter_ctr import cli as cli_mod

    built: set[str] = set()
    cli_mod.build_parser(("ps",), built)
    assert built == {"ps"}
    built.clear()
    cli_mod.build_parser(("image", "ls"), built)
    assert built == {"image", "ls", "list"}
    built.clear()
    cli_mod.build_parser(None, built)
    assert {"ps", "run", "images", "checkpoint", "restore", "umount", "unmount"} <= built
    args = cli_mod.parse_args(["--root", "/r", "stop", "-t", "0", "a", "b"])
    assert (args.root, args.time, args.containers) == ("/r", 0, ["a", "b"])
    assert cli_mod.parse_args(["image", "list", "-q"]).quiet is True


def test_version_and_ps_need_no_more_than_they_use() -> None:
    out = _fresh_python(
        "import sys, contextlib, io\n"
        "from jupyter_ctr import cli\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    cli.main(['--version'])\n"
        "print(' '.join(sys.modules))")
    assert "jupyter_ctr.engine.runtime" not in out.split()
    assert "argparse" not in out.split()  # the quick parser answers --version
