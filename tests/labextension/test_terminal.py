"""Browser tests of the terminal tabs and the log view in real Chromium against a real
``jupyter lab`` (conftest.py's server, browser and a fresh page per test). The page's test hook
``window.jupyterCtr`` (src/terminal/hook.ts) reads xterm's buffer and the log view's buffer.
Each test makes its own containers (``ctrs``: removed when it ends); screenshots go to
test-artifacts/labextension/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page

from .conftest import DEMO, LIBPOD, Containers, Lab, wait_lab_ready
from .helpers import LOG, TERM, activate, open_terminal, stty_size, term_size, term_text, wait_text

SLEEP = ["sleep", "3600"]


# -- tests --------------------------------------------------------------------------------
def test_terminal_echo_resize_exit_restart(lab_page: Page, ctrs: Containers, shot: Any) -> None:
    page = lab_page
    tshell = ctrs.run("tshell", SLEEP)
    open_terminal(page, tshell)
    shot("opened")
    page.keyboard.type("echo hi\n")
    wait_text(page, tshell, r"^hi$")
    shot("echo")

    # the tty's size is the panel's: stty reports what xterm fitted
    first = stty_size(page, tshell, "A")
    assert first == term_size(page, tshell)
    page.set_viewport_size({"width": 900, "height": 600})
    page.wait_for_function(f"() => {TERM.format(name=tshell)}.size().cols < {first[1]}")
    # the debounced resize (100 ms) reaches the server: ask until the tty has the new size
    # (a bounded number of times; no clock in the assertion)
    second = stty_size(page, tshell, "B0")
    for i in range(1, 40):
        if second != first:
            break
        page.wait_for_timeout(250)
        second = stty_size(page, tshell, f"B{i}")
    assert second != first
    assert second == term_size(page, tshell)
    shot("resized")

    # the exit status shows in the tab, with a "Restart shell" action that works
    page.keyboard.type("exit 3\n")
    bar = page.locator(".jp-ctr-terminal-bar.jp-mod-ended").last
    bar.wait_for()
    assert "exited with status 3" in bar.inner_text()
    shot("exited")
    bar.get_by_role("button", name="Restart shell").click()
    wait_text(page, tshell, r"^[^\n]*[#$] $")
    activate(page, tshell)
    page.keyboard.type("echo again\n")
    wait_text(page, tshell, r"^again$")


def test_terminal_reload_replays_scrollback(lab_page: Page, ctrs: Containers, shot: Any) -> None:
    page = lab_page
    treload = ctrs.run("treload", SLEEP)
    open_terminal(page, treload)
    page.keyboard.type("echo before-$((6*7))\n")
    wait_text(page, treload, r"^before-42$")
    page.wait_for_timeout(1500)  # the workspace (the restorer's state) is saved after a change
    page.reload()
    wait_lab_ready(page)
    # the restored tab reconnects to the same shell and the bridge replays its output
    wait_text(page, treload, r"^before-42$")
    activate(page, treload)
    shot("restored")
    page.keyboard.type("echo after\n")
    wait_text(page, treload, r"^after$")
    # one shell: the replay was not written twice
    assert term_text(page, treload).count("before-42\n") == 1


def test_terminal_in_running_panel(lab_page: Page, ctrs: Containers) -> None:
    page = lab_page
    trun = ctrs.run("trun", SLEEP)
    open_terminal(page, trun)
    page.evaluate("() => window.jupyterapp.shell.activateById('jp-running-sessions')")
    page.locator("#jp-running-sessions").get_by_text(f"{trun}: shell").first.wait_for()


def test_log_view_of_100000_lines_stays_responsive(lab_page: Page, ctrs: Containers,
                                                   shot: Any) -> None:
    page = lab_page
    tlogs = ctrs.run("tlogs", ["sh", "-c", "seq 1 100000; sleep 1; echo oops >&2; sleep 3600"])
    # (conmon reads stdout and stderr from two pipes: the pause keeps the order certain)
    page.evaluate("() => window.jupyterapp.commands.execute('jupyter-ctr:open-logs', "
                  f"{{name: {tlogs!r}}})")
    page.wait_for_function(
        f"() => {{ const l = window.jupyterCtr.logs && {LOG.format(name=tlogs)};"
        " return !!l && l.lines() > 0 && l.line(l.lines() - 1) === 'oops'; }")
    # the page answers at once: a script round trip within a deadline
    page.wait_for_function("() => true", timeout=2000)
    page.evaluate("() => new Promise(r => setTimeout(() => r(1), 0))")
    lines = page.evaluate(f"() => {LOG.format(name=tlogs)}.lines()")
    assert lines <= 50_000  # the default memory bound
    note = page.locator(".jp-ctr-logs-note").last
    assert "Download has the whole log" in note.inner_text()
    # only the visible rows are in the DOM; stderr is told apart
    rows = page.locator(".jp-ctr-logs-line").count()
    assert 0 < rows < 200
    assert page.locator(".jp-ctr-logs-line.jp-mod-stderr").last.inner_text() == "oops"
    shot("logs")
    # search jumps to a line far up
    page.locator(".jp-ctr-logs-find").last.fill("99999")
    page.locator(".jp-ctr-logs-find").last.press("Enter")
    page.locator(".jp-ctr-logs-line.jp-mod-current").get_by_text("99999").wait_for()
    # the download has every line, fetched from the server
    with page.expect_download() as dl:
        page.locator(".jp-ctr-logs-download").last.click()
    path = dl.value.path()
    text = Path(path).read_text()
    assert text.startswith("1\n2\n")
    assert text.count("\n") == 100_001
    shot("search")


def test_attach_to_main_process_warns_then_attaches(lab_page: Page, lab: Lab, ctrs: Containers,
                                                    shot: Any) -> None:
    page = lab_page
    tattach = ctrs.name("tattach")
    code, body = lab.api("POST", f"{LIBPOD}/containers/create",
                         {"name": tattach, "image": DEMO, "command": ["sh"],
                          "terminal": True, "stdin": True})
    assert code == 201, body
    assert lab.api("POST", f"{LIBPOD}/containers/{tattach}/start")[0] == 204
    page.evaluate("() => { window.jupyterapp.commands.execute('jupyter-ctr:attach-terminal', "
                  f"{{name: {tattach!r}}}); }}")
    dialog = page.locator(".jp-Dialog")
    dialog.get_by_text("PID 1").wait_for()
    shot("warning")
    dialog.get_by_role("button", name="Attach").click()
    page.wait_for_function(f"() => !!{TERM.format(name=tattach)}")
    activate(page, tattach)
    page.keyboard.type("echo main-$$\n")
    wait_text(page, tattach, r"^main-1$")  # the shell is the container's PID 1
    # the detach keys (ctrl-p,ctrl-q) leave it running
    page.keyboard.press("Control+p")
    page.keyboard.press("Control+q")
    page.locator(".jp-ctr-terminal-bar").get_by_role("button", name="Reattach").last.wait_for()
    assert lab.api("GET", f"{LIBPOD}/containers/{tattach}/json")[1]["State"]["Running"]


def test_terminal_reconnects_after_a_drop_and_reports_a_stop(lab_page: Page, lab: Lab,
                                                             ctrs: Containers, shot: Any
                                                             ) -> None:
    page = lab_page
    tdrop = ctrs.run("tdrop", SLEEP)
    open_terminal(page, tdrop)
    page.keyboard.type("echo one-$((1+1))\n")
    wait_text(page, tdrop, r"^one-2$")
    page.evaluate(f"() => {TERM.format(name=tdrop)}.drop()")
    # The socket closes asynchronously: first the tab says it reconnects (for at least the
    # first backoff, 250 ms), then it is connected again; typing before that would go to the
    # closing socket.
    page.wait_for_function(f"() => {TERM.format(name=tdrop)}.status() !== ''")
    # reconnected with the bridge's replay: the screen is rebuilt, not written twice
    page.wait_for_function(f"() => {TERM.format(name=tdrop)}.status() === ''")
    page.keyboard.type("echo two\n")
    wait_text(page, tdrop, r"^two$")
    assert term_text(page, tdrop).count("one-2\n") == 1
    # the container stops: the shell's exit shows in the tab
    code, body = lab.api("POST", f"{LIBPOD}/containers/{tdrop}/stop?timeout=0")
    assert code == 204, body
    bar = page.locator(".jp-ctr-terminal-bar.jp-mod-ended").last
    bar.get_by_role("button", name="Restart shell").wait_for()
    assert "exited" in bar.inner_text()
    shot("stopped")
    # restarting in a stopped container says why it cannot
    bar.get_by_role("button", name="Restart shell").click()
    page.wait_for_function(f"() => /not running|state|stopped|exited/i.test("
                           f"{TERM.format(name=tdrop)}.status())")


def test_terminal_theme_follows_jupyterlab(lab_page: Page, ctrs: Containers, shot: Any) -> None:
    page = lab_page
    ttheme = ctrs.run("ttheme", SLEEP)
    open_terminal(page, ttheme)
    panel = page.evaluate(f"() => {TERM.format(name=ttheme)}.id")
    rows = page.locator(f"#{panel} .xterm-rows")

    def color() -> str:
        return str(rows.evaluate("e => getComputedStyle(e).color"))

    assert color() == "rgb(0, 0, 0)"  # the default theme is light
    # (the theme is a user setting kept by the server for every page: put back even on failure)
    try:
        page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', "
                      "{theme: 'JupyterLab Dark'})")
        page.wait_for_function(f"() => getComputedStyle(document.querySelector('#{panel} "
                               ".xterm-rows')).color === 'rgb(255, 255, 255)'")
        shot("dark")
    finally:
        page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', "
                      "{theme: 'JupyterLab Light'})")
    page.wait_for_function(f"() => getComputedStyle(document.querySelector('#{panel} "
                           ".xterm-rows')).color === 'rgb(0, 0, 0)'")
