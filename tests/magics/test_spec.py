"""``%%ctr spec NAME``: the cell is the container's spec; run through IPython's own machinery
in this process against real containers (create, unchanged, changed -> diff and recreate,
--dry-run, bad specs, containers made otherwise, ``%ctr spec NAME``)."""

from __future__ import annotations

import re

import pytest
from IPython.core.interactiveshell import InteractiveShell

from jupyter_ctr.engine import ContainerState, Runtime
from jupyter_ctr.magics.results import SpecResult, SpecText
from jupyter_ctr.service import cellspec
from tests.magics.conftest import IMAGE

# SIGKILL stops: busybox's sleep as PID 1 ignores SIGTERM, and a recreate stops it first.
SPEC = f"""
image = "{IMAGE}"
command = ["sleep", "1000"]
memory = "64m"
stop_signal = "KILL"

[env]
GREETING = "hello"

[labels]
"jupyter-ctr.lab" = "lab1"
"""


def spec_cell(ip: InteractiveShell, line: str, body: str) -> SpecResult:
    result = ip.run_cell_magic("ctr", f"spec {line}", body)
    assert isinstance(result, SpecResult), result
    return result


def test_create_unchanged_changed_and_dry_run(ip: InteractiveShell, rt: Runtime,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    made = spec_cell(ip, "web --out r", SPEC)
    assert (made.action, made.changes, made.state) == ("created", [], "running")
    assert ip.user_ns["r"] is made
    ctr = rt.lookup_container("web")
    assert ctr.id == made.id and ctr.state is ContainerState.RUNNING
    assert ctr.config.memory == 64 << 20 and "GREETING=hello" in ctr.config.env
    assert ctr.config.labels["jupyter-ctr.lab"] == "lab1"
    assert cellspec.applied(ctr.config.labels) == cellspec.load(SPEC)[0]

    # again, unchanged (reformatted as YAML: the same spec): nothing happens
    same = spec_cell(ip, "web", cellspec.render(cellspec.load(SPEC)[0], "yaml"))
    assert (same.action, same.id, same.changes, same.note) == ("unchanged", made.id, [], "")
    assert "unchanged: web" in repr(same)

    # changed, --dry-run: the difference, and nothing touched
    changed = SPEC.replace('"64m"', '"128m"').replace('"hello"', '"bonjour"')
    dry = spec_cell(ip, "web --dry-run", changed)
    assert dry.action == "would recreate" and dry.id == made.id
    assert dry.changes == [("memory", "64m", "128m"), ("env.GREETING", "hello", "bonjour")]
    assert rt.lookup_container("web").id == made.id

    # changed: the difference shown, the container recreated with a new ID, started
    new = spec_cell(ip, "web", changed)
    assert (new.action, new.old_id) == ("recreated", made.id)
    assert new.id != made.id and new.changes == dry.changes
    ctr = rt.lookup_container("web")
    assert ctr.id == new.id and ctr.state is ContainerState.RUNNING
    assert ctr.config.memory == 128 << 20 and "GREETING=bonjour" in ctr.config.env
    assert [c.name for c in rt.list_containers(all=True)] == ["web"]
    text, page = repr(new), new._repr_html_()
    assert "recreated: web" in text and re.search(r"\nmemory +64m +128m\n", text)
    assert "jctr-spec-diff" in page and "<code>128m</code>" in page
    assert capsys.readouterr().err == ""


def test_start_false_only_creates_and_yaml_flag(ip: InteractiveShell, rt: Runtime) -> None:
    made = spec_cell(ip, "idle --yaml", f"image: {IMAGE}\ncommand: [sleep, '1000']\n"
                                        "start: false\nstop_signal: KILL\n")
    assert made.action == "created"
    assert rt.lookup_container("idle").state is ContainerState.CONFIGURED
    # start is the cell's, not the container's: changing it alone changes nothing
    again = spec_cell(ip, "idle --yaml", f"image: {IMAGE}\ncommand: [sleep, '1000']\n"
                                         "stop_signal: KILL\n")
    assert again.action == "unchanged"


@pytest.mark.parametrize(("body", "message"), [
    ('image = "x"\nmemroy = "1g"', "unknown spec field 'memroy' (did you mean 'memory'?)"),
    (f'image = "{IMAGE}"\nmemory = "lots"', "spec field 'memory': invalid memory limit"),
    ('image = "localhost/nope:1"\ncommand = ["true"]', "localhost/nope:1"),
    ("", "the cell is empty"),
    ('image = "x', "the spec is not valid TOML"),
])
def test_bad_spec_is_one_line_and_touches_nothing(ip: InteractiveShell, rt: Runtime,
                                                  capsys: pytest.CaptureFixture[str],
                                                  body: str, message: str) -> None:
    made = spec_cell(ip, "web", SPEC)
    capsys.readouterr()
    result = ip.run_cell(f"%%ctr spec web\n{body}\n")
    out, err = capsys.readouterr()
    assert result.success and result.result is None
    assert out == "" and err.count("\n") == 1 and err.startswith("Error: "), err
    assert message in err, err
    assert [(c.name, c.id) for c in rt.list_containers(all=True)] == [("web", made.id)]
    assert rt.lookup_container("web").state is ContainerState.RUNNING
    # a new name with a bad spec: nothing created
    ip.run_cell(f"%%ctr spec other\n{body}\n")
    assert "Error: " in capsys.readouterr().err
    assert [c.name for c in rt.list_containers(all=True)] == ["web"]


def test_bad_line_is_one_line(ip: InteractiveShell,
                              capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_cell("%%ctr spec\nimage = 'x'\n")
    assert capsys.readouterr().err.startswith("Error: spec: the following arguments are "
                                              "required: NAME")
    ip.run_cell("%%ctr spec a/b\nimage = 'x'\n")
    assert "Error: " in capsys.readouterr().err
    ip.run_cell("%%ctr spec x --yaml --toml\nimage = 'x'\n")
    assert "not allowed with argument" in capsys.readouterr().err


def test_container_made_otherwise_is_kept_unless_replace(
        ip: InteractiveShell, rt: Runtime, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("ctr", f"run -d --name hand --memory 64m --stop-signal KILL {IMAGE} "
                             "sleep 1000")
    hand = rt.lookup_container("hand")
    capsys.readouterr()
    # the spec the sidebar would write for it: the same container, so unchanged
    shown = ip.run_line_magic("ctr", "spec hand")
    assert isinstance(shown, SpecText) and shown.cell.startswith("%%ctr spec hand\n")
    assert cellspec.load(shown)[0] == {"image": IMAGE, "command": ["sleep", "1000"],
                                       "memory": 64 << 20, "stop_signal": "SIGKILL"}
    same = spec_cell(ip, "hand", shown)
    assert same.action == "unchanged" and "was not created from a spec cell" in same.note
    # different: shown, and left as it is
    kept = spec_cell(ip, "hand", shown.replace("64m", "32m"))
    assert kept.action == "kept" and kept.changes == [("memory", "64m", "32m")]
    assert "--replace" in kept.note and "--replace" in capsys.readouterr().err
    assert rt.lookup_container("hand").id == hand.id
    dry = spec_cell(ip, "hand --dry-run", shown.replace("64m", "32m"))
    assert dry.action == "would recreate" and "only --replace" in dry.note
    # --replace: recreated from the spec, which it now carries
    new = spec_cell(ip, "hand --replace", shown.replace("64m", "32m"))
    assert new.action == "recreated" and new.old_id == hand.id and new.id != hand.id
    assert cellspec.applied(rt.lookup_container("hand").config.labels) is not None
    assert spec_cell(ip, "hand", shown.replace("64m", "32m")).action == "unchanged"


def test_line_magic_shows_the_applied_spec(ip: InteractiveShell) -> None:
    spec_cell(ip, "web", SPEC)
    shown = ip.run_line_magic("ctr", "spec web --yaml")
    assert isinstance(shown, SpecText) and shown.fmt == "yaml"
    assert cellspec.load(shown, "yaml")[0] == cellspec.load(SPEC)[0]
    assert shown.cell.startswith("%%ctr spec web --yaml\nimage: ")
