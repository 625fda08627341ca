"""The Go template subset behind the CLI's ``--format`` (jupyter_ctr.gotemplate): what it
renders as Go does, the errors it names, and the table and json forms."""

from __future__ import annotations

import pytest

from jupyter_ctr.gotemplate import Format, Template, TemplateError, header_name

DATA = {
    "Id": "abc123", "Name": "web",
    "State": {"Status": "running", "Pid": 42, "Running": True},
    "Config": {"Cmd": ["sh", "-c", "echo hi"], "Labels": {"tier": "front"}, "Env": []},
}


def render(text: str, data: object = DATA) -> str:
    return Template(text, "inspect").render(data)


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
