"""Page helpers shared by the browser tests: the sidebar's parts, and the terminal tabs and log
views read through the page's test hook ``window.jupyterCtr`` (src/terminal/hook.ts) instead
of scraping the DOM."""

from __future__ import annotations

import json
import re

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page, expect

# -- the Containers sidebar ---------------------------------------------------------------
SIDEBAR = "#jupyter-ctr-sidebar"


def sidebar(page: Page) -> Locator:
    return page.locator(SIDEBAR)


def row(page: Page, name: str) -> Locator:
    return sidebar(page).locator(f'.jp-ctr-row[data-name="{name}"]')


def row_menu(page: Page, name: str) -> Locator:
    """Open the row's "..." menu (its rare actions); the menu."""
    row(page, name).locator('.jp-ctr-actions [data-action="more"]').click()
    menu = page.locator(".lm-Menu.jp-ctr-row-menu")
    expect(menu).to_be_visible()
    return menu


def row_action(page: Page, name: str, action: str) -> None:
    """Run a row's action: its button, or the entry of its "..." menu (``action`` is the
    button's ``data-action``, e.g. ``pause``, ``timeline``, ``edit-cell``)."""
    button = row(page, name).locator(f'.jp-ctr-actions > [data-action="{action}"]')
    if button.count():
        button.click()
        return
    row_menu(page, name).locator(
        f'.lm-Menu-item[data-command="jupyter-ctr:row-{action}"],'
        f' .lm-Menu-item[data-command="jupyter-ctr:container-{action}"]').click()


def dialog(page: Page) -> Locator:
    return page.locator(".jp-Dialog")


def open_sidebar(page: Page) -> Locator:
    """Open the Containers panel from its icon in the left bar; wait until its events
    websocket is open (so a change made next through the API reaches it)."""
    page.locator('.jp-SideBar [data-id="jupyter-ctr-sidebar"]').click()
    panel = sidebar(page)
    expect(panel).to_be_visible()
    expect(panel).to_have_attribute("data-events", "open")
    return panel


# -- terminal tabs ------------------------------------------------------------------------
TERM = "[...window.jupyterCtr.terminals.values()].find(t => t.container === {name!r})"


def term_text(page: Page, name: str) -> str:
    return str(page.evaluate(
        f"() => {{ const t = {TERM.format(name=name)}; return t ? t.text() : ''; }}"))


def wait_text(page: Page, name: str, pattern: str) -> re.Match[str]:
    """Wait until the terminal's buffer matches ``pattern`` (multiline), return the match."""
    try:
        page.wait_for_function(
            f"""() => {{ const t = window.jupyterCtr && {TERM.format(name=name)};
                        return !!t && new RegExp({json.dumps(pattern)}, 'm').test(t.text()); }}""")
    except PlaywrightError:
        state = page.evaluate(
            "() => [...((window.jupyterCtr || {}).terminals || new Map()).values()]"
            ".map(t => ({id: t.id, container: t.container, status: t.status(),"
            " text: t.text().slice(-300)}))")
        raise AssertionError(f"no {pattern!r} in terminal {name}: {state}") from None
    m = re.search(pattern, term_text(page, name), re.M)
    assert m, term_text(page, name)
    return m


def open_terminal(page: Page, name: str) -> None:
    """Open a shell tab on the container (the command), wait for its prompt, focus it."""
    page.evaluate(f"() => window.jupyterapp.commands.execute('jupyter-ctr:open-terminal', "
                  f"{{name: {name!r}}})")
    wait_text(page, name, r"[#$] $")  # the shell's prompt
    activate(page, name)


def activate(page: Page, name: str) -> None:
    """Bring the terminal's tab to the front and give it the keyboard."""
    panel = page.evaluate(f"() => {TERM.format(name=name)}.id")
    page.evaluate(f"() => window.jupyterapp.shell.activateById({panel!r})")
    page.locator(f"#{panel} .xterm").click()


def term_size(page: Page, name: str) -> tuple[int, int]:
    """(rows, cols) as xterm fitted them to the panel."""
    size = page.evaluate(f"() => {TERM.format(name=name)}.size()")
    return int(size["rows"]), int(size["cols"])


def stty_size(page: Page, name: str, tag: str) -> tuple[int, int]:
    """(rows, cols) as the shell's tty has them: ``stty size`` typed in the (focused) tab, its
    answer read back from the buffer after ``tag``."""
    page.keyboard.type(f'echo "{tag} $(stty size)"\n')
    m = wait_text(page, name, rf"^{tag} (\d+) (\d+)$")
    return int(m.group(1)), int(m.group(2))


# -- log views ----------------------------------------------------------------------------
LOG = "[...window.jupyterCtr.logs.values()].find(l => l.container === {name!r})"


def log_lines(page: Page, name: str) -> list[str]:
    """Every line the container's log view keeps (the newest last)."""
    return list(page.evaluate(
        f"() => {{ const l = {LOG.format(name=name)};"
        " return Array.from({length: l.lines()}, (_, i) => l.line(i)); }"))


def log_status(page: Page, name: str) -> str:
    return str(page.evaluate(f"() => {LOG.format(name=name)}.status()"))


def wait_log(page: Page, name: str, condition: str) -> None:
    """Wait until the container's log view exists and ``condition`` (a script expression on
    its hook ``l``) holds."""
    page.wait_for_function(
        f"() => {{ const l = ((window.jupyterCtr || {{}}).logs || new Map()).size"
        f" && {LOG.format(name=name)}; return !!l && !!({condition}); }}")
