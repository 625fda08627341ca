"""Terminal recording and shadowing in real Chromium against one real single-user ``jupyter
lab`` (the multi-user case, a student's lab and an instructor's lab on one root service, is
in test_student_lab.py): the REC badge with ``?record=1`` and the Record button; a second page
(the "instructor") watching a shell read-only, its keys going nowhere until "Take over", and
the owner's tab saying who watches and who types. The bridge's side is
tests/service/test_bridge.py."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Browser, Page, expect

from .conftest import ARTIFACTS, Containers, Lab, open_lab
from .helpers import (
    TERM,
    activate,
    dialog,
    open_sidebar,
    open_terminal,
    row_action,
    term_text,
    wait_text,
)

SLEEP = ["sleep", "3600"]


def hook(name: str, what: str) -> str:
    """A script reading ``what`` of the terminal hook of container ``name``."""
    return f"() => {{ const t = {TERM.format(name=name)}; return t ? t.{what} : null; }}"


def session(page: Page, name: str) -> Any:
    return page.evaluate(hook(name, "session()"))


def panel(page: Page, name: str) -> Any:
    return page.locator(f"#{page.evaluate(hook(name, 'id'))}")


def test_record_badge_with_record_query_and_button(lab_page: Page, lab: Lab, ctrs: Containers,
                                                   shot: Any) -> None:
    page = lab_page
    name = ctrs.run("trec", SLEEP)
    page.evaluate("() => window.jupyterapp.commands.execute('jupyter-ctr:open-terminal', "
                  f"{{name: {name!r}, record: true}})")
    wait_text(page, name, r"[#$] $")
    tab = panel(page, name)
    badge = tab.locator(".jp-ctr-rec-badge")
    expect(badge).to_be_visible()
    expect(badge).to_have_text("REC")
    expect(badge).to_have_attribute("title", re.compile(r"being recorded"))
    rec_id = session(page, name)["recordingId"]
    assert rec_id
    # the tab's title carries the red dot too
    expect(page.locator(".lm-TabBar-tab.jp-ctr-recording")).to_have_count(1)
    activate(page, name)
    page.keyboard.type("echo rec-$((20+3))\n")
    wait_text(page, name, r"^rec-23$")
    shot("recording")
    button = tab.locator(".jp-ctr-terminal-record")
    expect(button).to_have_text("Stop recording")
    button.click()
    expect(badge).to_be_hidden()
    expect(button).to_have_text("Record")
    cast = (lab.root / "recordings" / f"{rec_id}.cast").read_text()
    assert "rec-23" in cast and cast.startswith('{"version": 2')
    # the Record button starts a new recording
    button.click()
    expect(badge).to_be_visible()
    assert session(page, name)["recordingId"] not in (None, rec_id)


def test_watch_read_only_then_take_over(lab_page: Page, chromium: Browser, lab: Lab,
                                        ctrs: Containers, shot: Any) -> None:
    student = lab_page
    name = ctrs.run("twatch", SLEEP)
    open_terminal(student, name)
    exec_id = student.evaluate(hook(name, "execId()"))
    assert exec_id
    student.keyboard.type("echo before-$((1+1))\n")
    wait_text(student, name, r"^before-2$")

    teacher = open_lab(chromium, lab, f"teacher-{name}")
    try:
        teacher.evaluate("() => window.jupyterapp.commands.execute("
                         f"'jupyter-ctr:watch-terminal', {{execId: {exec_id!r}, name: {name!r}}})")
        # the replay shows the screen so far; the viewer is told it watches
        wait_text(teacher, name, r"^before-2$")
        teacher.wait_for_function(hook(name, "session() && t.session().role === 'watching'"))
        assert teacher.evaluate(hook(name, "shadow")) is True
        watch = panel(teacher, name)
        expect(watch.locator(".jp-ctr-terminal-banner")).to_contain_text("read-only")
        # the student's tab says someone watches
        expect(panel(student, name).locator(".jp-ctr-terminal-banner")).to_contain_text(
            "is watching this terminal")
        # what the student types shows in the watch tab
        activate(student, name)
        student.keyboard.type("echo live-$((2+2))\n")
        wait_text(teacher, name, r"^live-4$")
        # the watcher's keys go nowhere: a hint, nothing sent
        watch.locator(".xterm").click()
        teacher.keyboard.type("echo nope-$((3+3))\n")
        expect(watch.locator(".jp-ctr-terminal-banner")).to_contain_text('press "Take over"')
        shot("student-watched")
        teacher.screenshot(path=str(ARTIFACTS / "sessions-teacher-watching.png"))
        # take over: the role becomes typing, and the keys reach the shell
        take = watch.locator(".jp-ctr-terminal-takeover")
        expect(take).to_have_text("Take over")
        take.click()
        teacher.wait_for_function(hook(name, "session() && t.session().role === 'typing'"))
        expect(take).to_have_text("Release")
        expect(panel(student, name).locator(".jp-ctr-terminal-banner")).to_contain_text(
            "is typing in this terminal")
        watch.locator(".xterm").click()
        teacher.keyboard.type("echo teacher-$((2+3))\n")
        wait_text(teacher, name, r"^teacher-5$")
        wait_text(student, name, r"^teacher-5$")
        # the keys typed before the take over never reached the shell (the output is in
        # order: they would show before teacher-5)
        assert "nope" not in term_text(student, name)
        assert "nope" not in term_text(teacher, name)
        # the owner still types
        activate(student, name)
        student.keyboard.type("echo mine-$((3+4))\n")
        wait_text(teacher, name, r"^mine-7$")
        shot("student-taken-over")
        # release: watching again
        take.click()
        teacher.wait_for_function(hook(name, "session() && t.session().role === 'watching'"))
        expect(panel(student, name).locator(".jp-ctr-terminal-banner")).to_contain_text(
            "is watching this terminal")
    finally:
        teacher.context.close()
    # the watcher left: the banner goes
    expect(panel(student, name).locator(".jp-ctr-terminal-banner")).to_be_hidden()


def test_sidebar_watch_says_none_and_asks_which(lab_page: Page, ctrs: Containers,
                                                shot: Any) -> None:
    page = lab_page
    name = ctrs.run("tpick", SLEEP)
    open_sidebar(page)

    def watch() -> None:  # in the row's "..." menu
        row_action(page, name, "watch")

    watch()
    expect(dialog(page)).to_contain_text(f"No terminal session is open in {name}.")
    dialog(page).get_by_role("button", name="Ok").click()
    # two shells: the dialog asks which one
    open_terminal(page, name)
    first = page.evaluate(hook(name, "execId()"))
    page.evaluate("() => window.jupyterapp.commands.execute('jupyter-ctr:open-terminal', "
                  f"{{name: {name!r}}})")
    page.wait_for_function(f"() => [...window.jupyterCtr.terminals.values()]"
                           f".filter(t => t.container === {name!r} && t.execId()).length === 2")
    watch()
    choice = dialog(page).locator("select")
    expect(choice.locator("option")).to_have_count(2)
    shot("pick")
    choice.select_option(label=next(o for o in choice.locator("option").all_inner_texts()
                                    if first[:12] in o))
    dialog(page).get_by_role("button", name="Watch").click()
    page.wait_for_function(f"() => [...window.jupyterCtr.terminals.values()].some("
                           f"t => t.shadow && t.execId() === {first!r} && t.session()"
                           " && t.session().role === 'watching')")
