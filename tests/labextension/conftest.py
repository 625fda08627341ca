"""Browser tests of the JupyterLab extension: a real ``jupyter lab`` (one for the package) on a
free port with a token, fresh config dir and engine roots, driven by Playwright in Debian's
Chromium (never Playwright's own browser download, which cannot work here). The extension is
loaded from this tree's build (``jupyter_ctr/labextension``, made by ``pip install -e .`` or
``make labext``), put first on JUPYTER_PATH so a stale copy in the venv does not win.

Each test stands alone: it gets a fresh page on a workspace of its own (no tab, panel or
layout carried over from another test) and makes its containers through ``ctrs``, which
removes them when the test ends, passed or not. The server and the browser are shared."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

import jupyter_ctr
from jupyter_ctr.engine import Runtime

from ..conftest import DEMO, _mounts_under, leftovers, wait_until

CHROMIUM = "/usr/lib/chromium/chromium"
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "labextension"
BUILT = Path(jupyter_ctr.__file__).parent / "labextension"
#: This environment's packages, for a student's Debian python3 (lab_server's ``user``).
SITE = sysconfig.get_paths()["purelib"]
LIBPOD = "ctr/v4.0.0/libpod"
# The machine is shared and loaded: give the page time (expectations still pass at once when
# the page is quick; nothing here measures time).
expect.set_options(timeout=30_000)
WAIT = 60_000  # ms: a page's default wait (a script's answer, a locator's action)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    run_root: Path
    log: Path

    def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """A REST call to the lab's own server (for setup and for expected messages)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.url}{path}", data=data, method=method,
                                     headers={"Authorization": f"token {self.token}",
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, _decode(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, _decode(err.read())

    def run(self, name: str, cmd: list[str], **extra: Any) -> None:
        """Create and start a container of the demo image (no tty unless asked: logs keep
        stderr apart)."""
        code, body = self.api("POST", f"{LIBPOD}/containers/create",
                              {"name": name, "image": DEMO, "command": cmd, **extra})
        assert code == 201, body
        code, body = self.api("POST", f"{LIBPOD}/containers/{name}/start")
        assert code == 204, body


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode()


def _write_config(config_dir: Path, roots: tuple[Path, Path] | None,
                  url: str | None = None) -> None:
    """The server's config: the extension, on ``roots`` (None: remote mode, no engine; at
    ``url`` if given, else as $JUPYTER_CTR_HOST says)."""
    config: dict[str, Any] = {"ServerApp": {"jpserver_extensions": {"jupyter_ctr": True}}}
    if roots is not None:
        config["EngineConfig"] = {"root": str(roots[0]), "run_root": str(roots[1])}
    if url is not None:
        config["ContainersApp"] = {"url": url}
    (config_dir / "jupyter_server_config.json").write_text(json.dumps(config))
    # The news/update toast would cover the bottom-right corner.
    settings = config_dir / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))


@contextlib.contextmanager
def lab_server(user: Any = None, service: Path | None = None,
               engine: tuple[Path, Path] | None = None, remote: bool = False) -> Iterator[Lab]:
    """A real ``jupyter lab`` on fresh engine roots (demo image built), a free port, a token
    and a fresh config dir; stopped, and its containers removed (checked gone), at the end.
    Also used by bench/browser_sidebar.py.

    With ``user`` (tests/multiuser.User) and ``service`` (the socket of a root service on the
    roots ``engine``): the lab of a student, in remote mode. It runs as that user with
    Debian's python3 and this environment's packages on PYTHONPATH (the venv's interpreter
    may be in root's home, closed to students), finds the service by $JUPYTER_CTR_HOST, and
    leaves the containers to the service's owner to remove. With ``remote`` (root's lab): a
    root service of its own on the fresh roots, and the lab relaying to it (bench/browser.py
    --remote measures the relay)."""
    assert (BUILT / "package.json").is_file(), \
        f"the extension is not built at {BUILT}: run `make labext` or `pip install -e .`"
    base = Path(tempfile.mkdtemp(prefix="jlb", dir="/tmp"))
    if engine is None:
        root, run_root = base / "r", base / "x"
        rt = Runtime(root, run_root)
        rt.images.build_demo()
        rt.close()
    else:
        root, run_root = engine
    config_dir, data_dir = base / "config", base / "data"
    config_dir.mkdir()
    (data_dir / "labextensions").mkdir(parents=True)
    (data_dir / "labextensions" / "jupyter-ctr").symlink_to(BUILT)
    own_service = None
    if remote:
        service = base / "s.sock"
        own_service = subprocess.Popen(
            [sys.executable, "-m", "jupyter_ctr.cli", "--root", str(root), "--runroot",
             str(run_root), "service", "--socket", str(service)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_until(service.exists, 30), "the service did not start"
    _write_config(config_dir, None if user or remote else (root, run_root),
                  f"unix://{service}" if remote else None)
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config_dir),
           "JUPYTER_PATH": os.pathsep.join(filter(None, [str(data_dir),
                                                        os.environ.get("JUPYTER_PATH")])),
           "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
           "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
           "JUPYTER_CTR_ROOT": str(root), "JUPYTER_CTR_RUNROOT": str(run_root),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    argv = [sys.executable, "-m", "jupyterlab", "--allow-root"]
    if user is not None:
        assert service is not None
        base.chmod(0o755)
        subprocess.run(["chown", "-R", f"{user.uid}:{user.gid}", str(base)], check=True)
        env = {"HOME": str(base), "USER": user.name, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
               "PYTHONPATH": f"{REPO}:{SITE}", "JUPYTER_CTR_HOST": f"unix://{service}",
               "JUPYTER_CONFIG_DIR": str(config_dir),
               "JUPYTER_CONFIG_PATH": f"{sys.prefix}/etc/jupyter",
               "JUPYTER_PATH": f"{data_dir}:{sys.prefix}/share/jupyter",
               "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
               "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces")}
        argv = user.argv("/usr/bin/python3", "-m", "jupyterlab",
                         f"--LabApp.app_dir={sys.prefix}/share/jupyter/lab")
    log = base / "lab.log"
    work = base / "work"
    work.mkdir()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*argv, "--no-browser",
             "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
             f"--IdentityProvider.token={token}", "--LabApp.expose_app_in_browser=True",
             "--JupyterNotebookApp.expose_app_in_browser=True",
             f"--ServerApp.root_dir={work}"],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=work)
    url = f"http://127.0.0.1:{port}/"
    server = Lab(url=url, token=token, root=root, run_root=run_root, log=log)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, f"jupyter lab exited:\n{log.read_text()[-3000:]}"
            try:
                if server.api("GET", f"{LIBPOD}/_ping")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"jupyter lab did not answer:\n{log.read_text()}"
            time.sleep(0.2)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if own_service is not None:
            own_service.terminate()
            own_service.wait(30)
        if user is None:
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
        if user is None:
            assert clean, left


def open_lab(browser: Browser, lab: Lab, workspace: str | None = None) -> Page:
    """A page on JupyterLab, started (a new context: fresh storage). ``workspace``: a named
    workspace (a new name starts from the default layout; the server keeps it for a reload)
    instead of the default one, which every page shares."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(WAIT)
    where = f"lab/workspaces/{workspace}" if workspace else "lab"
    page.goto(f"{lab.url}{where}?token={lab.token}")
    wait_lab_ready(page)
    return page


def wait_lab_ready(page: Page) -> None:
    """Wait until JupyterLab has started, our plugins are in and the layout is restored (a tab
    added while the restorer works would be dropped). Also after ``page.reload()``."""
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started"
                           " && window.jupyterapp.commands.hasCommand('jupyter-ctr:open-terminal')",
                           timeout=WAIT)
    page.evaluate("() => window.jupyterapp.restored")


@pytest.fixture(scope="package")
def lab() -> Iterator[Lab]:
    with lab_server() as server:
        yield server


@pytest.fixture(scope="package")
def playwright_() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="package")
def chromium(playwright_: Playwright) -> Iterator[Browser]:
    browser = playwright_.chromium.launch(executable_path=CHROMIUM, headless=True)
    yield browser
    browser.close()


class Containers:
    """The containers of one test: unique names, created through the REST API (or through the
    UI, then ``track``-ed), all removed when the test ends."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.names: list[str] = []

    def name(self, stem: str) -> str:
        """A fresh name (``stem-xxxx``), removed at the end if the test makes it."""
        return self.track(f"{stem}-{secrets.token_hex(2)}")

    def track(self, name: str) -> str:
        self.names.append(name)
        return name

    def create(self, stem: str, cmd: list[str], **extra: Any) -> str:
        """Create (not start) a container of the demo image; its name."""
        name = self.name(stem)
        code, body = self.lab.api("POST", f"{LIBPOD}/containers/create",
                                  {"name": name, "image": DEMO, "command": cmd, **extra})
        assert code == 201, body
        return name

    def run(self, stem: str, cmd: list[str], **extra: Any) -> str:
        """Create and start a container of the demo image; its name."""
        name = self.name(stem)
        self.lab.run(name, cmd, **extra)
        return name

    def remove_all(self) -> None:
        failed = {}
        for name in reversed(self.names):
            code, body = self.lab.api("DELETE", f"{LIBPOD}/containers/{name}?force=true&t=0")
            if code not in (200, 404):
                failed[name] = (code, body)
        assert not failed, f"could not remove: {failed}"
        left = [n for n in self.names
                if self.lab.api("GET", f"{LIBPOD}/containers/{n}/exists")[0] != 404]
        assert not left, f"still there: {left}"


@pytest.fixture
def ctrs(lab: Lab) -> Iterator[Containers]:
    """Make this test's containers; they are removed when it ends (passed or failed)."""
    made = Containers(lab)
    yield made
    made.remove_all()


def _slug(request: pytest.FixtureRequest) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name)


@pytest.fixture
def lab_page(chromium: Browser, lab: Lab, ctrs: Containers, request: pytest.FixtureRequest
             ) -> Iterator[Page]:
    """A fresh page for one test, on a workspace of its own; its last state is saved as
    test-artifacts/labextension/<test>-end.png. (It asks for ``ctrs`` so that the page, its
    terminals and log streams are closed before the test's containers are removed.)"""
    page = open_lab(chromium, lab, f"{_slug(request)}-{secrets.token_hex(3)}")
    try:
        yield page
    finally:
        with contextlib.suppress(Exception):  # the evidence must not hide the test's outcome
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"{_slug(request)}-end.png"))
        page.context.close()


@pytest.fixture
def shot(lab_page: Page, request: pytest.FixtureRequest) -> Any:
    """shot(step): save a screenshot test-artifacts/labextension/<test>-<step>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(step: str) -> Path:
        path = ARTIFACTS / f"{_slug(request)}-{step}.png"
        lab_page.screenshot(path=str(path))
        return path

    return take


__all__ = ["DEMO", "Lab"]
