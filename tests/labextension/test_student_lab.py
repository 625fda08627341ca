"""A student's ``jupyter lab`` in remote mode, in real Chromium (issue 13): the lab runs as a
real Unix user (not root) with no engine of its own and relays its ``ctr/`` routes to one root
``jupyter-ctr service`` (server/relay.py). Its sidebar lists the student's containers and not
another student's; a terminal tab on the student's container works through the relay; a
row's action acts through it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.multiuser import API, root_service, unix_users

from .conftest import ARTIFACTS, DEMO, LIBPOD, Lab, lab_server, open_lab
from .helpers import open_sidebar, open_terminal, row, wait_text


@pytest.fixture(scope="module")
def people() -> Iterator[dict[str, Any]]:
    with unix_users() as made:
        yield made


@pytest.fixture(scope="module")
def service(people: dict[str, Any], engine_roots: tuple[Path, Path]) -> Iterator[Path]:
    with root_service(people, engine_roots) as sock:
        yield sock


@pytest.fixture(scope="module")
def student_lab(people: dict[str, Any], service: Path,
                engine_roots: tuple[Path, Path]) -> Iterator[Lab]:
    with lab_server(people["a"], service, engine_roots) as lab:
        yield lab


@pytest.fixture
def page(chromium: Browser, student_lab: Lab) -> Iterator[Page]:
    page = open_lab(chromium, student_lab, "student")
    try:
        yield page
    finally:
        with contextlib.suppress(Exception):
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "student-lab-end.png"))
        page.context.close()


def test_a_students_lab_shows_and_acts_on_their_containers_only(
        people: dict[str, Any], service: Path, student_lab: Lab, page: Page) -> None:
    a, b = people["a"], people["b"]
    # b's container, made by b on the service directly
    status, _ = b.one(service, "POST", f"{API}/containers/create",
                      {"image": DEMO, "command": ["sleep", "1000"], "name": f"{b.name}-x"})
    assert status == 201
    # a's, through a's lab (the relay): owned by a
    mine = f"{a.name}-box"
    student_lab.run(mine, ["sleep", "3600"])
    status, info = student_lab.api("GET", f"{LIBPOD}/containers/{mine}/json")
    assert status == 200 and info["Owner"] == {"Uid": a.uid, "Name": a.name}
    assert student_lab.api("GET", f"{LIBPOD}/containers/{b.name}-x/json")[0] == 404

    open_sidebar(page)
    expect(row(page, mine).locator(".jp-ctr-badge")).to_have_text("running")
    assert row(page, f"{b.name}-x").count() == 0
    page.screenshot(path=str(ARTIFACTS / "student-lab-sidebar.png"))

    # a terminal tab: websocket through the relay to the service's bridge
    open_terminal(page, mine)
    page.keyboard.type("echo student-$((40+2)); id -u\n")
    wait_text(page, mine, r"^student-42$")
    page.screenshot(path=str(ARTIFACTS / "student-lab-terminal.png"))

    # a row action through the relay; the sidebar follows the service's events
    row(page, mine).locator('[data-action="pause"]').click()
    expect(row(page, mine).locator(".jp-ctr-badge")).to_have_text("paused")
    status, info = student_lab.api("GET", f"{LIBPOD}/containers/{mine}/json")
    assert info["State"]["Status"] == "paused"
