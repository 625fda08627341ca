"""A student's ``jupyter lab`` in remote mode, in real Chromium (issue 13): the lab runs as a
real Unix user (not root) with no engine of its own and relays its ``ctr/`` routes to one root
``jupyter-ctr service`` (server/relay.py). Its sidebar lists the student's containers and not
another student's; a terminal tab on the student's container works through the relay; a
row's action acts through it. Shadowing (issue 15): the instructor's own lab (the same service)
watches the student's shell from the sidebar, read-only until "Take over"; the student's tab
says the instructor watches, then types; a student may not take over."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.multiuser import API, root_service, unix_users

from .conftest import ARTIFACTS, DEMO, LIBPOD, Lab, lab_server, open_lab
from .helpers import (
    TERM,
    activate,
    open_sidebar,
    open_terminal,
    row,
    row_action,
    term_text,
    wait_text,
)


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


@pytest.fixture(scope="module")
def instructor_lab(people: dict[str, Any], service: Path,
                   engine_roots: tuple[Path, Path]) -> Iterator[Lab]:
    with lab_server(people["t"], service, engine_roots) as lab:
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


def _hook(name: str, what: str) -> str:
    return f"() => {{ const t = {TERM.format(name=name)}; return t ? t.{what} : null; }}"


def test_instructor_watches_a_students_terminal_and_takes_over(
        people: dict[str, Any], student_lab: Lab, instructor_lab: Lab, page: Page,
        chromium: Browser) -> None:
    a, t = people["a"], people["t"]
    box = f"{a.name}-shadow"
    student_lab.run(box, ["sleep", "3600"])
    open_terminal(page, box)
    page.keyboard.type("echo start-$((1+1))\n")
    wait_text(page, box, r"^start-2$")

    teacher = open_lab(chromium, instructor_lab, "instructor")
    try:
        # the sidebar's "Watch terminal" on the student's row: one live session, opened
        open_sidebar(teacher)
        expect(row(teacher, box).locator(".jp-ctr-badge")).to_have_text("running")
        row_action(teacher, box, "watch")  # in the row's "..." menu
        wait_text(teacher, box, r"^start-2$")  # the replay
        teacher.wait_for_function(_hook(box, "session() && t.session().role === 'watching'"))
        mine = teacher.locator(f"#{teacher.evaluate(_hook(box, 'id'))}")
        theirs = page.locator(f"#{page.evaluate(_hook(box, 'id'))}")
        expect(theirs.locator(".jp-ctr-terminal-banner")).to_have_text(
            f"{t.name} is watching this terminal")
        # the student types: the instructor sees it
        activate(page, box)
        page.keyboard.type("echo typed-by-student\n")
        wait_text(teacher, box, r"^typed-by-student$")
        # the instructor's keys go nowhere until "Take over"
        mine.locator(".xterm").click()
        teacher.keyboard.type("echo nope-$((3+3))\n")
        expect(mine.locator(".jp-ctr-terminal-banner")).to_contain_text('press "Take over"')
        teacher.screenshot(path=str(ARTIFACTS / "instructor-watching.png"))
        mine.locator(".jp-ctr-terminal-takeover").click()
        teacher.wait_for_function(_hook(box, "session() && t.session().role === 'typing'"))
        expect(theirs.locator(".jp-ctr-terminal-banner")).to_have_text(
            f"{t.name} is typing in this terminal")
        mine.locator(".xterm").click()
        teacher.keyboard.type("echo help-from-$((40+2))\n")
        wait_text(page, box, r"^help-from-42$")
        assert "nope" not in term_text(page, box)  # in order: it would show before
        page.screenshot(path=str(ARTIFACTS / "student-taken-over.png"))
        mine.locator(".jp-ctr-terminal-takeover").click()  # Release
        teacher.wait_for_function(_hook(box, "session() && t.session().role === 'watching'"))
    finally:
        teacher.context.close()

    # a student watching their own shell (a second page) may not take over: refused, said so
    again = open_lab(chromium, student_lab, "student-2")
    try:
        exec_id = page.evaluate(_hook(box, "execId()"))
        again.evaluate("() => window.jupyterapp.commands.execute('jupyter-ctr:watch-terminal', "
                       f"{{execId: {exec_id!r}, name: {box!r}}})")
        again.wait_for_function(_hook(box, "session() && t.session().role === 'watching'"))
        view = again.locator(f"#{again.evaluate(_hook(box, 'id'))}")
        view.locator(".jp-ctr-terminal-takeover").click()
        expect(view.locator(".jp-ctr-terminal-banner")).to_contain_text("Take over refused")
        assert again.evaluate(_hook(box, "session().role")) == "watching"
    finally:
        again.context.close()
