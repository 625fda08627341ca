"""The sidebar's "Edit as cell" and "Clone as cell" in real Chromium: the row's button writes
a ``%%ctr spec NAME`` cell (the container's spec, from GET /ctr/api/containers/NAME/spec) into
a new notebook when none is in front, then below the active cell of the one in front; run,
the edited cell finds its container unchanged."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from jupyter_ctr.service import cellspec

from .conftest import DEMO, Containers
from .helpers import open_sidebar, row, row_action

SOURCES = ("() => window.jupyterapp.shell.currentWidget.content.model.sharedModel.cells"
           ".map(c => c.getSource())")


def notebook_sources(page: Page) -> list[str]:
    return list(page.evaluate(SOURCES))


def test_edit_and_clone_as_cell(lab_page: Page, ctrs: Containers, shot: Any) -> None:
    page = lab_page
    name = ctrs.run("spec", ["sleep", "1000"], env={"GREETING": "hello"},
                    resource_limits={"memory": {"limit": 64 << 20}})
    open_sidebar(page)
    expect(row(page, name)).to_be_visible()
    # no notebook in front: a new one, with the magics loaded first
    row_action(page, name, "edit-cell")  # in the row's "..." menu
    cell = page.locator(".jp-NotebookPanel .jp-Cell").filter(has_text=f"%%ctr spec {name}")
    expect(cell).to_be_visible()
    expect(cell).to_contain_text('memory = "64m"')
    sources = notebook_sources(page)
    assert sources[0] == "%load_ext jupyter_ctr"
    magic, _, body = sources[1].partition("\n")
    assert magic == f"%%ctr spec {name}"
    assert cellspec.load(body)[0] == {"image": DEMO, "command": ["sleep", "1000"],
                                      "memory": 64 << 20, "env": {"GREETING": "hello"}}
    shot("edit-as-cell")

    # the notebook in front: the clone goes below the active (edited) cell, a free name
    row_action(page, name, "clone-cell")
    clone = page.locator(".jp-NotebookPanel .jp-Cell").filter(
        has_text=f"%%ctr spec {name}-copy")
    expect(clone).to_be_visible()
    sources = notebook_sources(page)
    assert len(sources) == 3 and sources[2] == f"%%ctr spec {name}-copy\n" + body
    shot("clone-as-cell")

    # run them (the new notebook's default kernel, on the lab's engine roots): the edited
    # cell finds its container as it is, the clone makes a new one
    copy = ctrs.track(f"{name}-copy")
    page.wait_for_function(
        "() => { const k = window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel;"
        " return !!k && k.connectionStatus === 'connected' && k.status === 'idle'; }")
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    edited = page.locator(".jp-NotebookPanel .jp-Cell").nth(1)  # (the filter finds both)
    expect(edited.locator(".jp-OutputArea")).to_contain_text("unchanged")
    expect(edited.locator(".jp-OutputArea")).to_contain_text("not created from a spec cell")
    expect(clone.locator(".jp-OutputArea")).to_contain_text(f"{copy} (")
    expect(clone.locator(".jp-OutputArea")).to_contain_text("created")
    expect(row(page, copy)).to_contain_text("running")
    shot("cells-run")
