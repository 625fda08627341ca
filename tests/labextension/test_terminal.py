"""Browser tests of the terminal tabs and the log view: a real ``jupyter lab`` on a free port
(fresh config dir, engine roots, this tree's extension build first on JUPYTER_PATH), driven by
Playwright in Debian's Chromium (docs: frontend). The page exposes ``window.jupyterCtr`` (the
test hook of src/terminal/hook.ts) to read xterm's buffer and the log view's buffer.

The fixtures are this module's own (named ``term_*``) so that this file stands alone next to
the sidebar's tests; screenshots go to test-artifacts/labextension/."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

import jupyter_ctr
from jupyter_ctr.engine import Runtime

from ..conftest import DEMO, _mounts_under, leftovers, wait_until

CHROMIUM = "/usr/lib/chromium/chromium"
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "labextension"
BUILT = Path(jupyter_ctr.__file__).parent / "labextension"
LIBPOD = "ctr/v4.0.0/libpod"
WAIT = 60_000  # ms: the machine is shared and loaded; nothing here measures time


class TermLab:
    def __init__(self, url: str, token: str, root: Path, run_root: Path, log: Path) -> None:
        self.url, self.token, self.root, self.run_root, self.log = url, token, root, run_root, log

    def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.url}{path}", data=data, method=method,
                                     headers={"Authorization": f"token {self.token}",
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                raw = resp.read()
                status = resp.status
        except urllib.error.HTTPError as err:
            raw, status = err.read(), err.code
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def run(self, name: str, cmd: list[str]) -> None:
        """Create and start a container of the demo image (no tty: logs keep stderr apart)."""
        code, body = self.api("POST", f"{LIBPOD}/containers/create",
                              {"name": name, "image": DEMO, "command": cmd})
        assert code == 201, body
        code, body = self.api("POST", f"{LIBPOD}/containers/{name}/start")
        assert code == 204, body


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def term_lab() -> Iterator[TermLab]:
    assert (BUILT / "package.json").is_file(), \
        f"the extension is not built at {BUILT}: run `make labext` or `pip install -e .`"
    base = Path(tempfile.mkdtemp(prefix="jlt", dir="/tmp"))
    root, run_root = base / "r", base / "x"
    rt = Runtime(root, run_root)
    rt.images.build_demo()
    rt.close()
    config_dir, data_dir, work = base / "config", base / "data", base / "work"
    for d in (config_dir, data_dir / "labextensions", work):
        d.mkdir(parents=True)
    (data_dir / "labextensions" / "jupyter-ctr").symlink_to(BUILT)
    (config_dir / "jupyter_server_config.json").write_text(json.dumps({
        "ServerApp": {"jpserver_extensions": {"jupyter_ctr": True}},
        "EngineConfig": {"root": str(root), "run_root": str(run_root)},
    }))
    # the news toast covers the bottom-right corner
    settings = config_dir / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config_dir),
           "JUPYTER_PATH": os.pathsep.join(filter(None, [str(data_dir),
                                                        os.environ.get("JUPYTER_PATH")])),
           "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
           "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    log = base / "lab.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--allow-root", "--no-browser",
             "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
             f"--IdentityProvider.token={token}", "--LabApp.expose_app_in_browser=True",
             f"--ServerApp.root_dir={work}"],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=work)
    lab = TermLab(f"http://127.0.0.1:{port}/", token, root, run_root, log)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, f"jupyter lab exited:\n{log.read_text()[-3000:]}"
            try:
                if lab.api("GET", f"{LIBPOD}/_ping")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"jupyter lab did not answer:\n{log.read_text()}"
            time.sleep(0.2)
        yield lab
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        rt = Runtime(root, run_root)
        ids = {c.id for c in rt.list_containers(all=True)}
        for ctr in rt.list_containers(all=True):
            rt.remove_container(ctr, force=True, timeout=0)
        clean = wait_until(lambda: not any(leftovers(rt, ids).values()), 10)
        left = leftovers(rt, ids)
        rt.close()
        for mnt in reversed(_mounts_under(base)):
            subprocess.run(["umount", "-l", mnt], check=False)
        shutil.rmtree(base, ignore_errors=True)
        assert clean, left


@pytest.fixture(scope="module")
def term_browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def term_page(term_browser: Browser, term_lab: TermLab, request: pytest.FixtureRequest
         ) -> Iterator[Page]:
    context = term_browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(WAIT)
    open_lab(pg, term_lab)
    yield pg
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}-end.png"))
    context.close()


def open_lab(pg: Page, lab: TermLab) -> None:
    pg.goto(f"{lab.url}lab?token={lab.token}")
    pg.wait_for_function("() => window.jupyterapp && window.jupyterapp.started"
                         " && window.jupyterapp.commands.hasCommand('jupyter-ctr:open-terminal')",
                         timeout=WAIT)
    pg.evaluate("() => window.jupyterapp.restored")


def shot(pg: Page, request: pytest.FixtureRequest, step: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{step}.png"))


# -- helpers on the test hook -------------------------------------------------------------
TERM = "[...window.jupyterCtr.terminals.values()].find(t => t.container === {name!r})"


def term_text(pg: Page, name: str) -> str:
    return str(pg.evaluate(
        f"() => {{ const t = {TERM.format(name=name)}; return t ? t.text() : ''; }}"))


def wait_text(pg: Page, name: str, pattern: str) -> re.Match[str]:
    """Wait until the terminal's buffer matches ``pattern`` (multiline), return the match."""
    try:
        pg.wait_for_function(
            f"""() => {{ const t = window.jupyterCtr && {TERM.format(name=name)};
                        return !!t && new RegExp({json.dumps(pattern)}, 'm').test(t.text()); }}""",
            timeout=WAIT)
    except PlaywrightError:
        state = pg.evaluate("() => [...((window.jupyterCtr || {}).terminals || new Map()).values()]"
                            ".map(t => ({id: t.id, container: t.container, status: t.status(),"
                            " text: t.text().slice(-300)}))")
        raise AssertionError(f"no {pattern!r} in terminal {name}: {state}") from None
    m = re.search(pattern, term_text(pg, name), re.M)
    assert m, term_text(pg, name)
    return m


def open_terminal(pg: Page, name: str) -> None:
    pg.evaluate(f"() => window.jupyterapp.commands.execute('jupyter-ctr:open-terminal', "
                f"{{name: {name!r}}})")
    wait_text(pg, name, r"[#$] $")  # the shell's prompt
    activate(pg, name)


def activate(pg: Page, name: str) -> None:
    """Bring the terminal's tab to the front and give it the keyboard."""
    panel = pg.evaluate(f"() => {TERM.format(name=name)}.id")
    pg.evaluate(f"() => window.jupyterapp.shell.activateById({panel!r})")
    pg.locator(f"#{panel} .xterm").click()


def term_size(pg: Page, name: str) -> tuple[int, int]:
    size = pg.evaluate(f"() => {TERM.format(name=name)}.size()")
    return int(size["rows"]), int(size["cols"])


# -- tests --------------------------------------------------------------------------------
def test_terminal_echo_resize_exit_restart(term_page: Page, term_lab: TermLab,
                                           request: pytest.FixtureRequest) -> None:
    page = term_page
    term_lab.run("tshell", ["sleep", "3600"])
    open_terminal(page, "tshell")
    shot(page, request, "opened")
    page.keyboard.type("echo hi\n")
    wait_text(page, "tshell", r"^hi$")
    shot(page, request, "echo")

    # the tty's size is the panel's: stty reports what xterm fitted
    page.keyboard.type('echo "A $(stty size)"\n')
    m = wait_text(page, "tshell", r"^A (\d+) (\d+)$")
    first = (int(m.group(1)), int(m.group(2)))
    assert first == term_size(page, "tshell")
    page.set_viewport_size({"width": 900, "height": 600})
    page.wait_for_function(f"() => {TERM.format(name='tshell')}.size().cols < {first[1]}")
    page.wait_for_timeout(300)  # the debounced resize (100 ms) reaches the server
    page.keyboard.type('echo "B $(stty size)"\n')
    m = wait_text(page, "tshell", r"^B (\d+) (\d+)$")
    second = (int(m.group(1)), int(m.group(2)))
    assert second != first
    assert second == term_size(page, "tshell")
    shot(page, request, "resized")

    # the exit status shows in the tab, with a "Restart shell" action that works
    page.keyboard.type("exit 3\n")
    bar = page.locator(".jp-ctr-terminal-bar.jp-mod-ended").last
    bar.wait_for()
    assert "exited with status 3" in bar.inner_text()
    shot(page, request, "exited")
    bar.get_by_role("button", name="Restart shell").click()
    wait_text(page, "tshell", r"^[^\n]*[#$] $")
    activate(page, "tshell")
    page.keyboard.type("echo again\n")
    wait_text(page, "tshell", r"^again$")


def test_terminal_reload_replays_scrollback(term_page: Page, term_lab: TermLab,
                                            request: pytest.FixtureRequest) -> None:
    page = term_page
    term_lab.run("treload", ["sleep", "3600"])
    open_terminal(page, "treload")
    page.keyboard.type("echo before-$((6*7))\n")
    wait_text(page, "treload", r"^before-42$")
    page.wait_for_timeout(1500)  # the workspace (the restorer's state) is saved after a change
    page.reload()
    open_lab(page, term_lab)
    # the restored tab reconnects to the same shell and the bridge replays its output
    wait_text(page, "treload", r"^before-42$")
    activate(page, "treload")
    shot(page, request, "restored")
    page.keyboard.type("echo after\n")
    wait_text(page, "treload", r"^after$")
    # one shell: the replay was not written twice
    assert term_text(page, "treload").count("before-42\n") == 1


def test_terminal_in_running_panel(term_page: Page, term_lab: TermLab) -> None:
    page = term_page
    term_lab.run("trun", ["sleep", "3600"])
    open_terminal(page, "trun")
    page.evaluate("() => window.jupyterapp.shell.activateById('jp-running-sessions')")
    page.locator("#jp-running-sessions").get_by_text("trun: shell").first.wait_for()


LOG = "[...window.jupyterCtr.logs.values()].find(l => l.container === {name!r})"


def test_log_view_of_100000_lines_stays_responsive(term_page: Page, term_lab: TermLab,
                                                   request: pytest.FixtureRequest) -> None:
    page = term_page
    term_lab.run("tlogs", ["sh", "-c", "seq 1 100000; sleep 1; echo oops >&2; sleep 3600"])
    # (conmon reads stdout and stderr from two pipes: the pause keeps the order certain)
    page.evaluate("() => window.jupyterapp.commands.execute('jupyter-ctr:open-logs', "
                  "{name: 'tlogs'})")
    page.wait_for_function(
        f"() => {{ const l = window.jupyterCtr.logs && {LOG.format(name='tlogs')};"
        " return !!l && l.lines() > 0 && l.line(l.lines() - 1) === 'oops'; }",
        timeout=WAIT)
    # the page answers at once: a script round trip within a deadline
    page.wait_for_function("() => true", timeout=2000)
    page.evaluate("() => new Promise(r => setTimeout(() => r(1), 0))")
    lines = page.evaluate(f"() => {LOG.format(name='tlogs')}.lines()")
    assert lines <= 50_000  # the default memory bound
    note = page.locator(".jp-ctr-logs-note").last
    assert "Download has the whole log" in note.inner_text()
    # only the visible rows are in the DOM; stderr is told apart
    rows = page.locator(".jp-ctr-logs-line").count()
    assert 0 < rows < 200
    assert page.locator(".jp-ctr-logs-line.jp-mod-stderr").last.inner_text() == "oops"
    shot(page, request, "logs")
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
    shot(page, request, "search")


def test_attach_to_main_process_warns_then_attaches(term_page: Page, term_lab: TermLab,
                                                    request: pytest.FixtureRequest) -> None:
    page = term_page
    code, body = term_lab.api("POST", f"{LIBPOD}/containers/create",
                              {"name": "tattach", "image": DEMO, "command": ["sh"],
                               "terminal": True, "stdin": True})
    assert code == 201, body
    assert term_lab.api("POST", f"{LIBPOD}/containers/tattach/start")[0] == 204
    page.evaluate("() => { window.jupyterapp.commands.execute('jupyter-ctr:attach-terminal', "
                  "{name: 'tattach'}); }")
    dialog = page.locator(".jp-Dialog")
    dialog.get_by_text("PID 1").wait_for()
    shot(page, request, "warning")
    dialog.get_by_role("button", name="Attach").click()
    page.wait_for_function(f"() => !!{TERM.format(name='tattach')}")
    activate(page, "tattach")
    page.keyboard.type("echo main-$$\n")
    wait_text(page, "tattach", r"^main-1$")  # the shell is the container's PID 1
    # the detach keys (ctrl-p,ctrl-q) leave it running
    page.keyboard.press("Control+p")
    page.keyboard.press("Control+q")
    page.locator(".jp-ctr-terminal-bar").get_by_role("button", name="Reattach").last.wait_for()
    assert term_lab.api("GET", f"{LIBPOD}/containers/tattach/json")[1]["State"]["Running"]


def test_terminal_reconnects_after_a_drop_and_reports_a_stop(term_page: Page, term_lab: TermLab,
                                                             request: pytest.FixtureRequest
                                                             ) -> None:
    page = term_page
    term_lab.run("tdrop", ["sleep", "3600"])
    open_terminal(page, "tdrop")
    page.keyboard.type("echo one-$((1+1))\n")
    wait_text(page, "tdrop", r"^one-2$")
    page.evaluate(f"() => {TERM.format(name='tdrop')}.drop()")
    # The socket closes asynchronously: first the tab says it reconnects (for at least the
    # first backoff, 250 ms), then it is connected again; typing before that would go to the
    # closing socket.
    page.wait_for_function(f"() => {TERM.format(name='tdrop')}.status() !== ''")
    # reconnected with the bridge's replay: the screen is rebuilt, not written twice
    page.wait_for_function(f"() => {TERM.format(name='tdrop')}.status() === ''")
    page.keyboard.type("echo two\n")
    wait_text(page, "tdrop", r"^two$")
    assert term_text(page, "tdrop").count("one-2\n") == 1
    # the container stops: the shell's exit shows in the tab
    code, body = term_lab.api("POST", f"{LIBPOD}/containers/tdrop/stop?timeout=0")
    assert code == 204, body
    bar = page.locator(".jp-ctr-terminal-bar.jp-mod-ended").last
    bar.get_by_role("button", name="Restart shell").wait_for()
    assert "exited" in bar.inner_text()
    shot(page, request, "stopped")
    # restarting in a stopped container says why it cannot
    bar.get_by_role("button", name="Restart shell").click()
    page.wait_for_function(f"() => /not running|state|stopped|exited/i.test("
                           f"{TERM.format(name='tdrop')}.status())")


def test_terminal_theme_follows_jupyterlab(term_page: Page, term_lab: TermLab,
                                           request: pytest.FixtureRequest) -> None:
    page = term_page
    term_lab.run("ttheme", ["sleep", "3600"])
    open_terminal(page, "ttheme")
    panel = page.evaluate(f"() => {TERM.format(name='ttheme')}.id")
    rows = page.locator(f"#{panel} .xterm-rows")

    def color() -> str:
        return str(rows.evaluate("e => getComputedStyle(e).color"))

    assert color() == "rgb(0, 0, 0)"  # the default theme is light
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', "
                  "{theme: 'JupyterLab Dark'})")
    page.wait_for_function(f"() => getComputedStyle(document.querySelector('#{panel} "
                           ".xterm-rows')).color === 'rgb(255, 255, 255)'")
    shot(page, request, "dark")
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', "
                  "{theme: 'JupyterLab Light'})")
    page.wait_for_function(f"() => getComputedStyle(document.querySelector('#{panel} "
                           ".xterm-rows')).color === 'rgb(0, 0, 0)'")
