"""The widgets in a real notebook, in real headless Chromium against a real ``jupyter lab``
(tests/labextension's server: fresh roots with the demo image, this tree's extension build
first on JUPYTER_PATH, the kernel on this tree): a cell shows a Terminal and typing ``echo
hi`` shows ``hi``; typing works while another cell runs ``time.sleep(30)`` (the bytes go over
the server's websocket bridge, not the kernel); a ContainerPanel's pause button turns its
badge to paused.

Each test stands alone (any order, alone by node id): it makes its containers through ``ctrs``
(unique names, removed when it ends, passed or not) and opens, through ``notebook``, a notebook
of its own holding just the cells it runs, in a fresh page on a workspace of its own; the
notebook's kernel is shut down when the test ends. One lab server and one browser serve the
module, which ends with no kernel running. Screenshots go to test-artifacts/widgets/."""

from __future__ import annotations

import contextlib
import json
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from ..labextension.conftest import CHROMIUM, Containers, Lab, lab_server, open_lab
from ..labextension.helpers import TERM, term_text

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "widgets"
LIBPOD = "ctr/v4.0.0/libpod"
WAIT = 60_000  # ms: the machine is shared and loaded; nothing here measures time
SLEEP = ["sleep", "1000"]
SLEEP_CELL = "import time\ntime.sleep(30)"


def terminal_cell(name: str) -> str:
    return f'from jupyter_ctr.widgets import Terminal\nt = Terminal("{name}", "sh")\nt'


def panel_cell(name: str) -> str:
    return f'from jupyter_ctr.widgets import ContainerPanel\np = ContainerPanel("{name}")\np'


def list_cell(name: str) -> str:
    return (f'from jupyter_ctr.widgets import ContainerList, StatsPlot\n'
            f'display(ContainerList(), StatsPlot(["{name}"]))')


def _notebook(cells: list[str]) -> dict[str, Any]:
    return {
        "cells": [{"cell_type": "code", "source": src, "metadata": {}, "outputs": [],
                   "execution_count": None} for src in cells],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }


# -- fixtures -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    """One lab server for the module; it must end with no kernel left running."""
    with lab_server() as server:
        yield server
        code, kernels = server.api("GET", "api/kernels")
        assert code == 200 and kernels == [], kernels


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def ctrs(lab: Lab) -> Iterator[Containers]:
    """Make this test's containers; they are removed when it ends (passed or failed)."""
    made = Containers(lab)
    yield made
    made.remove_all()


@pytest.fixture
def notebook(chromium: Browser, lab: Lab, ctrs: Containers, request: pytest.FixtureRequest
             ) -> Iterator[Callable[..., Page]]:
    """notebook(cells, ui="lab"|"notebook"): write a notebook of these cells through the
    contents API, open it in a fresh page (JupyterLab on a workspace of its own, or Notebook 7)
    and wait for its kernel. When the test ends: the pages closed, the kernels shut down (and
    checked gone), the notebooks deleted. (It asks for ``ctrs`` so that the kernels and their
    widgets are gone before the test's containers are removed.)"""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name)
    opened: list[tuple[Page, str]] = []

    def open_(cells: list[str], ui: str = "lab") -> Page:
        path = f"{slug}-{secrets.token_hex(3)}.ipynb"
        code, body = lab.api("PUT", f"api/contents/{path}", {
            "type": "notebook", "format": "json", "content": _notebook(cells)})
        assert code in (200, 201), body
        if ui == "lab":
            page = open_lab(chromium, lab, path.removesuffix(".ipynb"))
            opened.append((page, path))
            page.evaluate(f"() => window.jupyterapp.commands.execute('docmanager:open', "
                          f"{{path: {json.dumps(path)}}})")
        else:
            page = chromium.new_context(viewport={"width": 1400, "height": 900}).new_page()
            page.set_default_timeout(WAIT)
            opened.append((page, path))
            page.goto(f"{lab.url}notebooks/{path}?token={lab.token}")
            page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started",
                                   timeout=WAIT)
        wait_kernel_idle(page)
        return page

    yield open_
    kernels = []
    for page, _ in opened:
        with contextlib.suppress(Exception):  # a dead page must not keep its kernel alive
            page.context.close()
    code, sessions = lab.api("GET", "api/sessions")
    assert code == 200, sessions
    paths = {path for _, path in opened}
    for session in sessions:
        if session["path"] in paths:
            kernels.append(session["kernel"]["id"])
            code, body = lab.api("DELETE", f"api/sessions/{session['id']}")
            assert code == 204, body
    for path in paths:
        lab.api("DELETE", f"api/contents/{path}")
    code, running = lab.api("GET", "api/kernels")
    assert code == 200, running
    left = [k["id"] for k in running if k["id"] in kernels]
    assert not left, f"kernels still running: {left}"


# -- page helpers -------------------------------------------------------------------------
def wait_kernel_idle(page: Page) -> None:
    """Kernel readiness (docs: frontend): the toolbar says idle before a kernel exists."""
    page.wait_for_function(
        """() => {
            const w = window.jupyterapp.shell.currentWidget;
            const k = w && w.sessionContext && w.sessionContext.session
                && w.sessionContext.session.kernel;
            return !!k && k.connectionStatus === 'connected' && k.status === 'idle';
        }""", timeout=WAIT)


def wait_kernel_status(page: Page, status: str) -> None:
    page.wait_for_function(
        "(s) => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
        " === s", arg=status, timeout=WAIT)


def interrupt_kernel(page: Page) -> None:
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session"
                  ".kernel.interrupt()")
    wait_kernel_status(page, "idle")


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


def wait_for_line(page: Page, name: str, line: str) -> None:
    page.wait_for_function(f"""() => {{
        const t = window.jupyterCtr?.terminals && {TERM.format(name=name)};
        return !!t && t.text().split('\\n').some(l => l.trim() === {json.dumps(line)});
    }}""", timeout=WAIT)


def type_in_terminal(page: Page, index: int, text: str) -> None:
    cell_output(page, index).locator(".xterm-screen").click()
    page.keyboard.type(text)


def wait_kernel_value(page: Page, expr: str, value: str) -> None:
    """Ask the kernel (a silent request, once every 100 ms, for at most a minute) until the
    Python expression ``expr`` reads ``value`` (its repr)."""
    got = page.evaluate("""async ([expr, value]) => {
        const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
        let got = '';
        for (let i = 0; i < 600; i++) {
            const reply = await k.requestExecute({code: '', silent: true, store_history: false,
                                                  user_expressions: {v: expr}}).done;
            const v = reply.content.user_expressions.v;
            got = v.status === 'ok' ? v.data['text/plain'] : `${v.ename}: ${v.evalue}`;
            if (got === value) { break; }
            await new Promise(done => setTimeout(done, 100));
        }
        return got;
    }""", [expr, value])
    assert got == value, f"{expr} = {got}"


def show_terminal(page: Page, index: int, name: str) -> Locator:
    """Run the Terminal cell ``index`` (``t = Terminal(...)``); wait until its shell's prompt
    is there and the kernel mirrors the connection. (The view reports it to the kernel just
    after the prompt: a comm message the kernel handles on its widgets' subshell, whose idle
    status would make the page's kernel status read idle while a later cell still runs.)"""
    run_cell(page, index)
    out = cell_output(page, index)
    expect(out.locator(".jp-ctr-cell-terminal .xterm-screen")).to_be_visible(timeout=WAIT)
    page.wait_for_function(f"""() => {{
        const t = window.jupyterCtr?.terminals && {TERM.format(name=name)};
        return !!t && t.status() === '' && /[#$] ?$/m.test(t.text());
    }}""", timeout=WAIT)
    wait_kernel_value(page, "(t.status, bool(t.exec_id))", "('connected', True)")
    return out


def show_panel(page: Page, index: int) -> Locator:
    """Run the ContainerPanel cell ``index`` (``p = ContainerPanel(...)``); wait until its
    badge says running and the kernel counts its view (the view's report, like the
    Terminal's, is a comm message to the kernel)."""
    run_cell(page, index)
    panel = cell_output(page, index).locator(".jp-ctr-panel-widget")
    expect(panel.locator(".jp-ctr-badge")).to_have_attribute("data-state", "running",
                                                             timeout=WAIT)
    wait_kernel_value(page, "p._view_count", "1")
    return panel


# -- tests --------------------------------------------------------------------------------
def test_terminal_in_a_cell_echoes(notebook: Callable[..., Page], ctrs: Containers) -> None:
    name = ctrs.run("wb-echo", SLEEP)
    page = notebook([terminal_cell(name)])
    out = show_terminal(page, 0, name)  # connected: the shell's prompt is there
    type_in_terminal(page, 0, "echo hi\n")
    wait_for_line(page, name, "hi")
    # the terminal fills the output's width (resize follows the output area)
    size = page.evaluate(f"() => {TERM.format(name=name)}.size()")
    assert size["cols"] > 80, size
    shot(page, "terminal-echo", out)


def test_typing_works_while_the_kernel_is_busy(notebook: Callable[..., Page],
                                               ctrs: Containers) -> None:
    name = ctrs.run("wb-busy", SLEEP)
    page = notebook([terminal_cell(name), SLEEP_CELL])
    show_terminal(page, 0, name)
    run_cell(page, 1)  # time.sleep(30)
    wait_kernel_status(page, "busy")
    type_in_terminal(page, 0, "echo busy-$((6*7))\n")
    wait_for_line(page, name, "busy-42")
    assert kernel_status(page) == "busy"  # the answer came while the sleep still ran
    shot(page, "terminal-while-busy")
    interrupt_kernel(page)


def test_panel_pause_turns_the_badge_to_paused(notebook: Callable[..., Page], ctrs: Containers,
                                               lab: Lab) -> None:
    name = ctrs.run("wb-pause", SLEEP)
    page = notebook([panel_cell(name)])
    run_cell(page, 0)
    panel = cell_output(page, 0).locator(".jp-ctr-panel-widget")
    badge = panel.locator(".jp-ctr-badge")
    expect(badge).to_have_attribute("data-state", "running", timeout=WAIT)
    expect(panel.locator(".jp-ctr-widget-name")).to_have_text(name)
    expect(panel.locator('[data-action="start"]')).to_be_disabled()
    # displayed: the kernel samples its stats once a second
    expect(panel.locator(".jp-ctr-widget-stat-label").first).to_have_text(
        re.compile(r"CPU \d"), timeout=WAIT)
    panel.locator('[data-action="pause"]').click()
    expect(badge).to_have_attribute("data-state", "paused", timeout=WAIT)
    expect(badge).to_have_text("paused")
    expect(panel.locator('[data-action="unpause"]')).to_be_enabled()
    expect(panel.locator('[data-action="pause"]')).to_be_disabled()
    code, body = lab.api("GET", f"{LIBPOD}/containers/{name}/json")
    assert code == 200 and body["State"]["Status"] == "paused", body
    shot(page, "panel-paused", panel)
    panel.locator('[data-action="unpause"]').click()
    expect(badge).to_have_attribute("data-state", "running", timeout=WAIT)


def test_kernel_mirrors_the_terminal_and_panel(notebook: Callable[..., Page],
                                               ctrs: Containers) -> None:
    name = ctrs.run("wb-mirror", SLEEP)
    page = notebook([terminal_cell(name), panel_cell(name),
                     'print("terminal:", t.status, bool(t.exec_id), "panel:", p.state)'])
    show_terminal(page, 0, name)
    show_panel(page, 1)
    run_cell(page, 2)
    expect(cell_output(page, 2)).to_contain_text("terminal: connected True panel: running",
                                                 timeout=WAIT)


def test_list_and_plot_render(notebook: Callable[..., Page], ctrs: Containers) -> None:
    name = ctrs.run("wb-list", SLEEP)
    page = notebook([list_cell(name)])
    run_cell(page, 0)
    out = cell_output(page, 0)
    row = out.locator(f'.jp-ctr-list-widget tr[data-name="{name}"]')
    expect(row.locator(".jp-ctr-badge")).to_have_text("running", timeout=WAIT)
    expect(row.locator('[data-action="pause"]')).to_be_enabled()
    expect(out.locator(f'.jp-ctr-plot-widget polyline[data-name="{name}"]').first) \
        .to_be_attached(timeout=WAIT)
    shot(page, "list-and-plot", out)


def test_terminal_reconnects_with_replay(notebook: Callable[..., Page],
                                         ctrs: Containers) -> None:
    name = ctrs.run("wb-replay", SLEEP)
    page = notebook([terminal_cell(name)])
    show_terminal(page, 0, name)
    type_in_terminal(page, 0, "echo hi\n")
    wait_for_line(page, name, "hi")
    type_in_terminal(page, 0, "echo busy-$((6*7))\n")
    wait_for_line(page, name, "busy-42")
    page.evaluate(f"() => {TERM.format(name=name)}.drop()")
    # The socket closes asynchronously: first the terminal says it reconnects (for at least
    # the first backoff), then it is connected again; typing before that would be lost.
    page.wait_for_function(f"() => {TERM.format(name=name)}.status() !== ''", timeout=WAIT)
    # back, with the screen replayed (not doubled), and typing works again
    page.wait_for_function(f"""() => {{
        const t = {TERM.format(name=name)};
        return t.status() === '' && t.text().includes('busy-42');
    }}""", timeout=WAIT)
    type_in_terminal(page, 0, "echo again\n")
    wait_for_line(page, name, "again")
    text = term_text(page, name)
    assert text.count("busy-42") == 1 and text.count("echo hi") == 1, text  # not doubled


def test_attach_asks_first(notebook: Callable[..., Page], ctrs: Containers) -> None:
    name = ctrs.run("wb-attach", SLEEP)
    page = notebook([f'from jupyter_ctr.widgets import Terminal\na = Terminal("{name}")\na'])
    run_cell(page, 0)
    out = cell_output(page, 0)
    warning = out.locator(".jp-ctr-widget-warning")
    expect(warning).to_contain_text(f"Attach to the main process of {name}?", timeout=WAIT)
    expect(out.locator(".xterm")).to_have_count(0)
    shot(page, "attach-warning", out)
    warning.get_by_role("button", name="Attach").click()
    expect(warning).to_have_count(0)
    expect(out.locator(".xterm-screen")).to_be_visible(timeout=WAIT)
    page.wait_for_function(f"""() => [...window.jupyterCtr.terminals.values()]
        .some(t => t.container === '{name}' && t.mode === 'attach' && t.status() === '')""",
                           timeout=WAIT)


def test_engine_error_in_place(notebook: Callable[..., Page]) -> None:
    page = notebook(['from jupyter_ctr.widgets import ContainerPanel\n'
                     'ContainerPanel("no-such-ctr")'])
    run_cell(page, 0)
    panel = cell_output(page, 0).locator(".jp-ctr-panel-widget")
    expect(panel.locator(".jp-ctr-widget-error")).to_contain_text("no-such-ctr", timeout=WAIT)
    expect(panel.locator(".jp-ctr-badge")).to_have_text("removed")
    expect(panel.locator("button:enabled")).to_have_count(0)


def test_panel_follows_events_while_the_kernel_is_busy(notebook: Callable[..., Page],
                                                       ctrs: Containers, lab: Lab) -> None:
    """The kernel's event thread updates the views while a cell runs (only clicks wait)."""
    name = ctrs.run("wb-events", SLEEP)
    page = notebook([panel_cell(name), SLEEP_CELL])
    badge = show_panel(page, 0).locator(".jp-ctr-badge")
    run_cell(page, 1)  # time.sleep(30)
    wait_kernel_status(page, "busy")
    code, body = lab.api("POST", f"{LIBPOD}/containers/{name}/pause")
    assert code == 204, body
    expect(badge).to_have_attribute("data-state", "paused", timeout=WAIT)
    code, body = lab.api("POST", f"{LIBPOD}/containers/{name}/unpause")
    assert code == 204, body
    expect(badge).to_have_attribute("data-state", "running", timeout=WAIT)
    assert kernel_status(page) == "busy"
    interrupt_kernel(page)


def test_notebook7_shows_the_same_widgets(notebook: Callable[..., Page],
                                          ctrs: Containers) -> None:
    name = ctrs.run("wb-nb7", SLEEP)
    nb7 = notebook([f'from jupyter_ctr.widgets import ContainerPanel\nContainerPanel("{name}")'],
                   ui="notebook")
    run_cell(nb7, 0)
    panel = cell_output(nb7, 0).locator(".jp-ctr-panel-widget")
    expect(panel.locator(".jp-ctr-badge")).to_have_attribute("data-state", "running",
                                                             timeout=WAIT)
    shot(nb7, "notebook7-panel", panel)


def test_removed_container_says_so(notebook: Callable[..., Page], ctrs: Containers,
                                   lab: Lab) -> None:
    name = ctrs.run("wb-removed", SLEEP)
    page = notebook([panel_cell(name), list_cell(name)])
    show_panel(page, 0)
    run_cell(page, 1)
    expect(cell_output(page, 1).locator(
        f'.jp-ctr-list-widget tr[data-name="{name}"] .jp-ctr-badge')).to_have_text(
        "running", timeout=WAIT)
    code, body = lab.api("DELETE", f"{LIBPOD}/containers/{name}?force=true&t=0")
    assert code == 200, body
    panel = cell_output(page, 0).locator(".jp-ctr-panel-widget")
    expect(panel.locator(".jp-ctr-badge")).to_have_text("removed", timeout=WAIT)
    expect(panel.locator(".jp-ctr-widget-error")).to_have_text(f"container {name} was removed")
    expect(panel.locator("button:enabled")).to_have_count(0)
    row = cell_output(page, 1).locator(f'.jp-ctr-list-widget tr[data-name="{name}"]')
    expect(row).to_have_count(0)
    shot(page, "panel-removed", panel)


# -- the Player (issue 15) ------------------------------------------------------------------
PLAYER_CAST = "\n".join([
    json.dumps({"version": 2, "width": 60, "height": 8, "title": "lesson 2"}),
    '[0.2, "o", "$ "]', '[0.6, "o", "echo first-$((6*7))\\r\\nfirst-42\\r\\n$ "]',
    '[1.0, "r", "70x9"]', '[2.5, "o", "echo second\\r\\nsecond\\r\\n$ "]', ""])


def player_screen(out: Locator) -> str:
    return str(out.locator(".jp-ctr-player-widget").evaluate("e => e.jpCtrScreen()"))


def test_player_plays_seeks_and_downloads_a_recording(notebook: Callable[..., Page]) -> None:
    page = notebook([f"from jupyter_ctr.widgets import Player\n"
                     f"p = Player({PLAYER_CAST!r}, speed=2)\np"])
    run_cell(page, 0)
    out = cell_output(page, 0)
    player = out.locator(".jp-ctr-player-widget")
    expect(player.locator(".xterm-screen")).to_be_visible(timeout=WAIT)
    expect(player.locator(".jp-ctr-widget-name")).to_have_text("lesson 2")
    expect(player.locator(".jp-ctr-player-time")).to_have_text("0:00 / 0:02")
    expect(player.locator(".jp-ctr-player-speed")).to_have_value("2")
    assert player_screen(out) == ""
    # the screen has the header's size
    size = player.evaluate("e => [...e.querySelectorAll('.xterm-rows > div')].length")
    assert size == 8, size
    player.get_by_role("button", name="Play").click()
    expect(player).to_have_attribute("data-state", "ended", timeout=WAIT)
    text = player_screen(out)
    assert "first-42" in text and "second" in text, text
    # the "r" event resized the screen
    assert player.evaluate("e => [...e.querySelectorAll('.xterm-rows > div')].length") == 9
    shot(page, "player-ended", out)
    # seek back to before the second command: replayed from the start, no "second"
    player.locator(".jp-ctr-player-seek").fill("1.5")
    expect(player).to_have_attribute("data-position", "1.50")
    text = player_screen(out)
    assert "first-42" in text and "second" not in text, text
    assert text.count("first-42") == 1, text  # replayed once, not on top of the old screen
    player.locator(".jp-ctr-player-seek").fill("0.3")
    assert "first" not in player_screen(out)
    player.locator(".jp-ctr-player-seek").fill("2.5")
    assert "second" in player_screen(out)
    with page.expect_download() as dl:
        player.locator(".jp-ctr-player-download").click()
    assert dl.value.suggested_filename == "lesson_2.cast"
    assert Path(dl.value.path()).read_text() == PLAYER_CAST


def test_player_of_a_bad_cast_says_why(notebook: Callable[..., Page]) -> None:
    page = notebook(['from jupyter_ctr.widgets import Player\nPlayer(\'{"version": 1}\')'])
    run_cell(page, 0)
    expect(cell_output(page, 0)).to_contain_text("not an asciicast v2: the header's version is 1",
                                                 timeout=WAIT)


def _cell_term(name: str, shadow: bool) -> str:
    return (f"[...window.jupyterCtr.terminals.values()].find(t => t.container === {name!r}"
            f" && t.shadow === {str(shadow).lower()})")


def test_recorded_terminal_and_a_watching_one_in_cells(notebook: Callable[..., Page],
                                                       ctrs: Containers) -> None:
    name = ctrs.run("wb-rec", SLEEP)
    page = notebook([
        f'from jupyter_ctr.widgets import Terminal\nt = Terminal("{name}", "sh", record=True)\nt',
        "w = Terminal.watch(t.exec_id)\nw"])
    out = show_terminal(page, 0, name)
    expect(out.locator(".jp-ctr-rec-badge")).to_be_visible(timeout=WAIT)
    wait_kernel_value(page, "(t.recording, len(t.recording_id), t.role)", "(True, 32, 'owner')")
    run_cell(page, 1)
    watch = cell_output(page, 1)
    expect(watch.locator(".jp-ctr-terminal-takeover")).to_have_text("Take over", timeout=WAIT)
    page.wait_for_function(f"() => {{ const v = window.jupyterCtr && {_cell_term(name, True)};"
                           " return !!v && !!v.session() && v.session().role === 'watching'; }",
                           timeout=WAIT)
    wait_kernel_value(page, "w.role", "'watching'")
    type_in_terminal(page, 0, "echo cell-$((5+5))\n")
    page.wait_for_function(f"() => /^cell-10$/m.test({_cell_term(name, True)}.text())",
                           timeout=WAIT)
    expect(out.locator(".jp-ctr-terminal-banner")).to_contain_text("watching this terminal")
    # the watching view's keys go nowhere; after Take over they reach the shell
    type_in_terminal(page, 1, "echo nope\n")
    expect(watch.locator(".jp-ctr-terminal-banner")).to_contain_text('press "Take over"')
    watch.locator(".jp-ctr-terminal-takeover").click()
    wait_kernel_value(page, "w.role", "'typing'")
    type_in_terminal(page, 1, "echo took-$((6+6))\n")
    page.wait_for_function(f"() => /^took-12$/m.test({_cell_term(name, False)}.text())",
                           timeout=WAIT)
    assert "nope" not in str(page.evaluate(f"() => {_cell_term(name, False)}.text()"))
    shot(page, "terminal-watched-in-cell", watch)
