"""The widgets in a real notebook, in real headless Chromium against a real ``jupyter lab``
(tests/labextension's server: fresh roots with the demo image, this tree's extension build
first on JUPYTER_PATH, the kernel on this tree): a cell shows a Terminal and typing ``echo
hi`` shows ``hi``; typing works while another cell runs ``time.sleep(30)`` (the bytes go over
the server's websocket bridge, not the kernel); a ContainerPanel's pause button turns its
badge to paused. The steps share one page and build on each other, in file order;
screenshots go to test-artifacts/widgets/."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from ..labextension.conftest import CHROMIUM, lab_server, open_lab

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "widgets"
LIBPOD = "ctr/v4.0.0/libpod"
DEMO = "localhost/busybox:latest"
NAME = "wb1"
NOTEBOOK = "widgets.ipynb"
WAIT = 60_000  # ms: the machine is shared and loaded; nothing here measures time

CELLS = [
    f'from jupyter_ctr.widgets import Terminal\nt = Terminal("{NAME}", "sh")\nt',
    "import time\ntime.sleep(30)",
    f'from jupyter_ctr.widgets import ContainerPanel\np = ContainerPanel("{NAME}")\np',
    'print("terminal:", t.status, bool(t.exec_id), "panel:", p.state)',
    f'from jupyter_ctr.widgets import ContainerList, StatsPlot\n'
    f'display(ContainerList(), StatsPlot(["{NAME}"]))',
    f'a = Terminal("{NAME}")\na',
    'ContainerPanel("no-such-ctr")',
]
NB7 = "nb7.ipynb"
NB7_CELLS = [f'from jupyter_ctr.widgets import ContainerPanel\nContainerPanel("{NAME}")']


def _notebook(cells: list[str]) -> dict[str, Any]:
    return {
        "cells": [{"cell_type": "code", "source": src, "metadata": {}, "outputs": [],
                   "execution_count": None} for src in cells],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }


@pytest.fixture(scope="module")
def lab() -> Iterator[Any]:
    with lab_server() as server:
        code, body = server.api("POST", f"{LIBPOD}/containers/create",
                                {"name": NAME, "image": DEMO, "command": ["sleep", "1000"]})
        assert code == 201, body
        code, body = server.api("POST", f"{LIBPOD}/containers/{NAME}/start")
        assert code == 204, body
        for path, cells in ((NOTEBOOK, CELLS), (NB7, NB7_CELLS)):
            code, body = server.api("PUT", f"api/contents/{path}", {
                "type": "notebook", "format": "json", "content": _notebook(cells)})
            assert code in (200, 201), body
        yield server


@pytest.fixture(scope="module")
def page(lab: Any) -> Iterator[Page]:
    with sync_playwright() as pw:
        browser: Browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = open_lab(browser, lab)
        page.evaluate(f"() => window.jupyterapp.commands.execute('docmanager:open', "
                      f"{{path: {json.dumps(NOTEBOOK)}}})")
        # Kernel readiness (docs: frontend): the toolbar says idle before a kernel exists
        wait_kernel_idle(page)
        yield page
        page.context.close()
        browser.close()


def wait_kernel_idle(page: Page) -> None:
    """Kernel readiness (docs: frontend): the toolbar says idle before a kernel exists."""
    page.wait_for_function(
        """() => {
            const w = window.jupyterapp.shell.currentWidget;
            const k = w && w.sessionContext && w.sessionContext.session
                && w.sessionContext.session.kernel;
            return !!k && k.connectionStatus === 'connected' && k.status === 'idle';
        }""", timeout=WAIT)


def shot(page: Page, name: str, what: Locator | None = None) -> None:
    if what is not None:
        what.scroll_into_view_if_needed()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def run_cell(page: Page, index: int) -> None:
    """Run cell ``index`` as Shift+Enter would (not waiting for it to finish)."""
    page.evaluate("""(i) => {
        const nb = window.jupyterapp.shell.currentWidget;
        nb.content.activeCellIndex = i;
        void window.jupyterapp.commands.execute('notebook:run-cell');
    }""", index)


def kernel_status(page: Page) -> str:
    return str(page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"))


def cell_output(page: Page, index: int) -> Locator:
    return page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-OutputArea")


def terminal_text(page: Page) -> str:
    return str(page.evaluate(f"""() => {{
        const t = [...window.jupyterCtr.terminals.values()].find(t => t.container === '{NAME}');
        return t ? t.text() : '';
    }}"""))


def wait_for_line(page: Page, line: str) -> None:
    page.wait_for_function(f"""() => {{
        const t = [...(window.jupyterCtr?.terminals?.values() ?? [])]
            .find(t => t.container === '{NAME}');
        return !!t && t.text().split('\\n').some(l => l.trim() === {json.dumps(line)});
    }}""", timeout=WAIT)


def type_in_terminal(page: Page, text: str) -> None:
    out = cell_output(page, 0)
    out.locator(".xterm-screen").click()
    page.keyboard.type(text)


def test_terminal_in_a_cell_echoes(page: Page) -> None:
    run_cell(page, 0)
    out = cell_output(page, 0)
    expect(out.locator(".jp-ctr-cell-terminal .xterm-screen")).to_be_visible(timeout=WAIT)
    # connected: the shell's prompt is there
    page.wait_for_function(f"""() => {{
        const t = [...(window.jupyterCtr?.terminals?.values() ?? [])]
            .find(t => t.container === '{NAME}');
        return !!t && t.status() === '' && /[#$] ?$/m.test(t.text());
    }}""", timeout=WAIT)
    type_in_terminal(page, "echo hi\n")
    wait_for_line(page, "hi")
    # the terminal fills the output's width (resize follows the output area)
    size = page.evaluate(f"""() => [...window.jupyterCtr.terminals.values()]
        .find(t => t.container === '{NAME}').size()""")
    assert size["cols"] > 80, size
    shot(page, "terminal-echo", out)


def test_typing_works_while_the_kernel_is_busy(page: Page) -> None:
    run_cell(page, 1)  # time.sleep(30)
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
        " === 'busy'", timeout=WAIT)
    type_in_terminal(page, "echo busy-$((6*7))\n")
    wait_for_line(page, "busy-42")
    assert kernel_status(page) == "busy"  # the answer came while the sleep still ran
    shot(page, "terminal-while-busy")
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session"
                  ".kernel.interrupt()")
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
        " === 'idle'", timeout=WAIT)


def test_panel_pause_turns_the_badge_to_paused(page: Page, lab: Any) -> None:
    run_cell(page, 2)
    panel = cell_output(page, 2).locator(".jp-ctr-panel-widget")
    badge = panel.locator(".jp-ctr-badge")
    expect(badge).to_have_attribute("data-state", "running", timeout=WAIT)
    expect(panel.locator(".jp-ctr-widget-name")).to_have_text(NAME)
    expect(panel.locator('[data-action="start"]')).to_be_disabled()
    # displayed: the kernel samples its stats once a second
    expect(panel.locator(".jp-ctr-widget-stat-label").first).to_have_text(
        re.compile(r"CPU \d"), timeout=WAIT)
    panel.locator('[data-action="pause"]').click()
    expect(badge).to_have_attribute("data-state", "paused", timeout=WAIT)
    expect(badge).to_have_text("paused")
    expect(panel.locator('[data-action="unpause"]')).to_be_enabled()
    expect(panel.locator('[data-action="pause"]')).to_be_disabled()
    code, body = lab.api("GET", f"{LIBPOD}/containers/{NAME}/json")
    assert code == 200 and body["State"]["Status"] == "paused", body
    shot(page, "panel-paused", panel)
    panel.locator('[data-action="unpause"]').click()
    expect(badge).to_have_attribute("data-state", "running", timeout=WAIT)


def test_kernel_mirrors_the_terminal_and_panel(page: Page) -> None:
    run_cell(page, 3)
    expect(cell_output(page, 3)).to_contain_text("terminal: connected True panel: running",
                                                 timeout=WAIT)


def test_list_and_plot_render(page: Page) -> None:
    run_cell(page, 4)
    out = cell_output(page, 4)
    row = out.locator(f'.jp-ctr-list-widget tr[data-name="{NAME}"]')
    expect(row.locator(".jp-ctr-badge")).to_have_text("running", timeout=WAIT)
    expect(row.locator('[data-action="pause"]')).to_be_enabled()
    expect(out.locator(f'.jp-ctr-plot-widget polyline[data-name="{NAME}"]').first) \
        .to_be_attached(timeout=WAIT)
    shot(page, "list-and-plot", out)


def test_terminal_reconnects_with_replay(page: Page) -> None:
    page.evaluate(f"""() => [...window.jupyterCtr.terminals.values()]
        .find(t => t.container === '{NAME}').drop()""")
    # back, with the screen replayed (not doubled), and typing works again
    page.wait_for_function(f"""() => {{
        const t = [...window.jupyterCtr.terminals.values()].find(t => t.container === '{NAME}');
        return t.status() === '' && t.text().includes('busy-42');
    }}""", timeout=WAIT)
    type_in_terminal(page, "echo again\n")
    wait_for_line(page, "again")
    text = terminal_text(page)
    assert text.count("busy-42") == 1 and text.count("echo hi") == 1, text  # not doubled


def test_attach_asks_first(page: Page) -> None:
    run_cell(page, 5)
    out = cell_output(page, 5)
    warning = out.locator(".jp-ctr-widget-warning")
    expect(warning).to_contain_text(f"Attach to the main process of {NAME}?", timeout=WAIT)
    expect(out.locator(".xterm")).to_have_count(0)
    shot(page, "attach-warning", out)
    warning.get_by_role("button", name="Attach").click()
    expect(warning).to_have_count(0)
    expect(out.locator(".xterm-screen")).to_be_visible(timeout=WAIT)
    page.wait_for_function(f"""() => [...window.jupyterCtr.terminals.values()]
        .some(t => t.container === '{NAME}' && t.mode === 'attach' && t.status() === '')""",
                           timeout=WAIT)


def test_engine_error_in_place(page: Page) -> None:
    run_cell(page, 6)
    panel = cell_output(page, 6).locator(".jp-ctr-panel-widget")
    expect(panel.locator(".jp-ctr-widget-error")).to_contain_text("no-such-ctr", timeout=WAIT)
    expect(panel.locator(".jp-ctr-badge")).to_have_text("removed")
    expect(panel.locator("button:enabled")).to_have_count(0)


def test_panel_follows_events_while_the_kernel_is_busy(page: Page, lab: Any) -> None:
    """The kernel's event thread updates the views while a cell runs (only clicks wait)."""
    run_cell(page, 1)  # time.sleep(30)
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
        " === 'busy'", timeout=WAIT)
    badge = cell_output(page, 2).locator(".jp-ctr-panel-widget .jp-ctr-badge")
    code, body = lab.api("POST", f"{LIBPOD}/containers/{NAME}/pause")
    assert code == 204, body
    expect(badge).to_have_attribute("data-state", "paused", timeout=WAIT)
    code, body = lab.api("POST", f"{LIBPOD}/containers/{NAME}/unpause")
    assert code == 204, body
    expect(badge).to_have_attribute("data-state", "running", timeout=WAIT)
    assert kernel_status(page) == "busy"
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session"
                  ".kernel.interrupt()")
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
        " === 'idle'", timeout=WAIT)


def test_notebook7_shows_the_same_widgets(page: Page, lab: Any) -> None:
    nb7 = page.context.new_page()
    nb7.goto(f"{lab.url}notebooks/{NB7}?token={lab.token}")
    nb7.wait_for_function("() => window.jupyterapp && window.jupyterapp.started", timeout=WAIT)
    wait_kernel_idle(nb7)
    run_cell(nb7, 0)
    panel = cell_output(nb7, 0).locator(".jp-ctr-panel-widget")
    expect(panel.locator(".jp-ctr-badge")).to_have_attribute("data-state", "running",
                                                             timeout=WAIT)
    shot(nb7, "notebook7-panel", panel)
    nb7.close()


def test_removed_container_says_so(page: Page, lab: Any) -> None:
    code, body = lab.api("DELETE", f"{LIBPOD}/containers/{NAME}?force=true&t=0")
    assert code == 200, body
    panel = cell_output(page, 2).locator(".jp-ctr-panel-widget")
    expect(panel.locator(".jp-ctr-badge")).to_have_text("removed", timeout=WAIT)
    expect(panel.locator(".jp-ctr-widget-error")).to_have_text(f"container {NAME} was removed")
    expect(panel.locator("button:enabled")).to_have_count(0)
    row = cell_output(page, 4).locator(f'.jp-ctr-list-widget tr[data-name="{NAME}"]')
    expect(row).to_have_count(0)
    shot(page, "panel-removed", panel)
