"""The checkpoint timeline's magics: ``%ctr snapshot CTR STEP``, ``%ctr snapshots CTR`` (a
table) and ``%ctr rewind CTR STEP``, against real containers and CRIU."""

from __future__ import annotations

import pytest
from IPython.core.interactiveshell import InteractiveShell

from jupyter_ctr.engine import ContainerState, Runtime
from jupyter_ctr.magics import SnapshotTable
from jupyter_ctr.magics.magic import timeline_argv
from tests.engine.test_container_checkpoint import COUNTER, counts_on
from tests.magics.conftest import IMAGE


def test_short_forms() -> None:
    assert timeline_argv(["snapshot", "c", "s"]) == ["snapshot", "create", "c", "s"]
    assert timeline_argv(["snapshot", "--replace", "c", "s"]) == [
        "snapshot", "create", "--replace", "c", "s"]
    assert timeline_argv(["--root", "/r", "snapshots", "c"]) == [
        "--root", "/r", "snapshot", "ls", "c"]
    assert timeline_argv(["rewind", "c", "s"]) == ["snapshot", "rewind", "c", "s"]
    assert timeline_argv(["snapshot", "rm", "c", "s"]) == ["snapshot", "rm", "c", "s"]
    assert timeline_argv(["ps"]) == ["ps"]


def test_snapshot_snapshots_rewind(ip: InteractiveShell, rt: Runtime,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    ctr = rt.create_container(IMAGE, COUNTER, name="mtl")
    ctr.start()
    counts_on(ctr, 2)
    made = ip.run_line_magic("ctr", "snapshot mtl step-1")
    assert isinstance(made, SnapshotTable) and made[0].name == "step-1"
    assert made.rows[0][:2] == ["step-1", "checkpoint"]
    ip.run_line_magic("ctr", "snapshot mtl step-2 --out snap2")
    assert ip.user_ns["snap2"][0].name == "step-2"
    table = ip.run_line_magic("ctr", "snapshots mtl")
    assert isinstance(table, SnapshotTable)
    assert [s.name for s in table] == ["step-1", "step-2"]
    assert repr(table).splitlines()[0].split() == ["STEP", "KIND", "CREATED", "SIZE",
                                                  "REASON"]
    assert "jctr-checkpoint" in table._repr_html_()
    back = ip.run_line_magic("ctr", "rewind mtl step-1")
    assert isinstance(back, SnapshotTable) and back[0].name == "step-1"
    assert ctr.state is ContainerState.RUNNING
    capsys.readouterr()
    assert ip.run_line_magic("ctr", "rewind mtl nope") is None
    assert "Error: container" in capsys.readouterr().err
    assert ip.run_line_magic("ctr", "snapshot mtl step-1") is None
    assert "exists already" in capsys.readouterr().err
    ip.run_line_magic("ctr", "snapshot rm mtl step-1")
    assert [s.name for s in ip.run_line_magic("ctr", "snapshots mtl")] == ["step-2"]
    stopped = rt.create_container(IMAGE, ["true"], name="mtl-fs")
    fs = ip.run_line_magic("ctr", "snapshot mtl-fs s")
    assert fs[0].kind == "filesystem" and fs.rows[0][4] == "the container was not running"
    assert "jctr-filesystem" in fs._repr_html_()
    assert stopped.snapshots()[0].name == "s"


def test_snapshots_display_as_a_table(ip: InteractiveShell, rt: Runtime) -> None:
    ctr = rt.create_container(IMAGE, ["true"])
    ctr.snapshot("a")
    ctr.snapshot("b")
    formatter = ip.display_formatter.formatters["text/html"]
    html = formatter(ctr.snapshots())
    assert "<table" in html and ">a</td>" in html and ">b</td>" in html
    assert "jctr-filesystem" in formatter(ctr.snapshots()[0])
