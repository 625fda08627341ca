"""The sidebar's Timeline tab in real Chromium against a real ``jupyter lab``: opened from the
row's "..." menu, it lists the container's steps (live: one taken through the REST API, as
the CLI or a notebook would, shows at once), takes a snapshot from its box, rewinds after
confirming (the container's file is the step's again, checked through the engine), shows a
filesystem-only step's label and reason, and downloads a step's hand-in archive. The rows
keep to one line of buttons, the rare actions in the "..." and context menus."""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from jupyter_ctr.engine import Runtime

from ..conftest import wait_until
from ..engine.test_container_timeline import TCP_COUNTER
from .conftest import ARTIFACTS, LIBPOD, Containers, Lab, lab_server, open_lab
from .helpers import dialog, open_sidebar, row, row_action, row_menu

COUNTER = ["sh", "-c", "i=0; while :; do i=$((i+1)); echo $i; sleep 0.2; done"]
API = "ctr/api/containers"


@pytest.fixture
def engine(lab: Lab) -> Iterator[Runtime]:
    """The lab's engine, in the test's process (to write and read a container's files)."""
    rt = Runtime(lab.root, lab.run_root)
    yield rt
    rt.close()


def sh(rt: Runtime, name: str, script: str) -> str:
    out = io.BytesIO()
    code = rt.lookup_container(name).exec(["sh", "-c", script]).start_and_attach(
        stdout=out, stderr=out)
    assert code == 0, out.getvalue()
    return out.getvalue().decode()


def open_timeline(page: Page, name: str) -> Locator:
    """The row's "..." menu -> Timeline; the tab's timeline, once its events follow."""
    row_action(page, name, "timeline")
    tab = page.locator(f'.jp-ctr-timeline-panel:has(.jp-ctr-timeline[data-container="{name}"])')
    expect(tab).to_be_visible()
    expect(tab).to_have_attribute("data-events", "open")
    return tab


def step_row(tab: Locator, step: str) -> Locator:
    return tab.locator(f'.jp-ctr-timeline-row[data-step="{step}"]')


def test_row_keeps_to_one_line(lab_page: Page, ctrs: Containers, shot: Any) -> None:
    """A running row has every action: its buttons fit one line (restart, kill, Edit and
    Clone as cell and Timeline are in the "..." menu), and each row has the same height."""
    page = lab_page
    running = ctrs.run("tl-row", ["sleep", "1000"])
    made = ctrs.create("tl-made", ["true"])
    open_sidebar(page)
    layout = {}
    for name in (running, made):
        expect(row(page, name).locator(".jp-ctr-actions > button").last).to_have_attribute(
            "data-action", "more")
        # measured in one go: the list repaints its rows on every event
        layout[name] = page.evaluate("""(name) => {
            const row = document.querySelector(
                `#jupyter-ctr-sidebar .jp-ctr-row[data-name="${name}"]`);
            const bar = row.querySelector('.jp-ctr-actions');
            const buttons = [...bar.querySelectorAll(':scope > button')];
            return {tops: buttons.map(b => Math.round(b.getBoundingClientRect().top)),
                    actions: buttons.map(b => b.dataset.action),
                    bar: bar.getBoundingClientRect().height,
                    row: Math.round(row.getBoundingClientRect().height)};
        }""", name)
        assert len(set(layout[name]["tops"])) == 1, f"{name}: the buttons wrap: {layout}"
        assert layout[name]["bar"] <= 30, layout
    assert layout[running]["actions"] == ["stop", "pause", "checkpoint", "remove", "terminal",
                                          "logs", "more"], layout
    assert layout[running]["row"] == layout[made]["row"], layout  # the same height
    menu = row_menu(page, running)
    for label in ("Restart…", "Kill…", "Edit as cell", "Clone as cell", "Timeline",
                  "Watch terminal"):
        expect(menu.get_by_text(label, exact=True)).to_be_visible()
    shot("row-menu")
    page.keyboard.press("Escape")
    # the context menu has them too
    row(page, running).locator(".jp-ctr-name").click(button="right")
    context = page.locator(".lm-Menu").last
    expect(context.get_by_text("Timeline", exact=True)).to_be_visible()
    page.keyboard.press("Escape")


def test_timeline_tab_snapshots_and_rewinds(lab_page: Page, lab: Lab, ctrs: Containers,
                                            engine: Runtime, shot: Any) -> None:
    page = lab_page
    name = ctrs.run("tl-tab", COUNTER)
    open_sidebar(page)
    tab = open_timeline(page, name)
    expect(tab.locator(".jp-ctr-timeline-empty")).to_be_visible()
    box = tab.locator("input.jp-ctr-timeline-step")
    expect(box).to_have_value("step-1")

    # step 1 from the box
    sh(engine, name, "echo one > /step.txt")
    box.fill("step-1")
    tab.locator('[data-action="snapshot"]').click()
    first = step_row(tab, "step-1")
    expect(first).to_have_attribute("data-current", "true")
    expect(first.locator(".jp-ctr-timeline-kind")).to_have_text("checkpoint")
    expect(tab.locator(".jp-ctr-timeline-note")).to_have_text("step-1: checkpoint snapshot taken")
    expect(box).to_have_value("step-2")

    # step 2 made elsewhere (the REST API, as the CLI or a notebook would): shows at once
    sh(engine, name, "echo two > /step.txt")
    code, body = lab.api("POST", f"{API}/{name}/snapshots?step=step-2")
    assert code == 201, body
    expect(step_row(tab, "step-2")).to_have_attribute("data-current", "true")
    expect(first).to_have_attribute("data-current", "false")
    sh(engine, name, "echo three > /step.txt")
    box.press("Enter")  # the suggestion: step-3
    expect(step_row(tab, "step-3")).to_have_attribute("data-current", "true")
    expect(tab.locator(".jp-ctr-timeline-row")).to_have_count(3)
    expect(step_row(tab, "step-2").locator(".jp-ctr-timeline-size")).to_have_text(
        re.compile(r"^\d[\d.]* (B|KiB|MiB)$"))
    shot("three-steps")

    # rewind to step 2, after confirming: the file is step 2's again, the counter runs
    step_row(tab, "step-2").locator('[data-action="rewind"]').click()
    expect(dialog(page)).to_contain_text(f"Rewind {name} to step-2?")
    dialog(page).get_by_role("button", name="Rewind").click()
    expect(step_row(tab, "step-2")).to_have_attribute("data-current", "true")
    expect(tab.locator(".jp-ctr-timeline-note")).to_have_text("rewound to step-2")
    assert sh(engine, name, "cat /step.txt") == "two\n"
    code, insp = lab.api("GET", f"{LIBPOD}/containers/{name}/json")
    assert code == 200 and insp["State"]["Status"] == "running", insp["State"]
    expect(tab.locator(".jp-ctr-badge")).to_have_text("running")
    shot("rewound")

    # export: the browser downloads the hand-in archive
    with page.expect_download() as info:
        step_row(tab, "step-1").locator('[data-action="export"]').click()
    download = info.value
    assert download.suggested_filename == f"{name}-step-1.tar.gz"
    path = download.path()
    assert tarfile.is_tarfile(path)

    # remove step 3, after confirming
    step_row(tab, "step-3").locator('[data-action="remove"]').click()
    dialog(page).get_by_role("button", name="Remove").click()
    expect(step_row(tab, "step-3")).to_have_count(0)
    code, steps = lab.api("GET", f"{API}/{name}/snapshots")
    assert code == 200 and [s["Name"] for s in steps] == ["step-1", "step-2"], steps

    # a refusal shows the server's message in the tab
    box.fill("step-1")
    tab.locator('[data-action="snapshot"]').click()
    expect(tab.locator(".jp-ctr-timeline-error")).to_contain_text("exists already")


def test_filesystem_only_step_shows_its_reason(lab_page: Page, lab: Lab, ctrs: Containers,
                                               engine: Runtime, shot: Any) -> None:
    page = lab_page
    name = ctrs.run("tl-tcp", TCP_COUNTER)
    assert wait_until(lambda: " 01 " in sh(engine, name, "cat /proc/net/tcp"), 10)
    open_sidebar(page)
    tab = open_timeline(page, name)
    tab.locator("input.jp-ctr-timeline-step").fill("tcp")
    tab.locator('[data-action="snapshot"]').click()
    step = step_row(tab, "tcp")
    expect(step).to_have_attribute("data-kind", "filesystem")
    kind = step.locator(".jp-ctr-timeline-kind")
    expect(kind).to_have_text("filesystem only")
    expect(kind).to_have_attribute("title", re.compile("Connected TCP socket"))
    assert "Connected TCP socket" in (kind.get_attribute("title") or "")
    reason = step.locator(".jp-ctr-timeline-reason")
    expect(reason).to_contain_text("filesystem only: Error (criu/sk-inet.c")
    shot("filesystem-only")


@pytest.fixture(scope="module")
def remote_lab() -> Iterator[Lab]:
    """Root's lab in remote mode: a service of its own on fresh roots, the lab relaying."""
    with lab_server(remote=True) as server:
        yield server


def test_timeline_tab_in_remote_mode(chromium: Browser, remote_lab: Lab) -> None:
    """The same tab through the relay (server/relay.py) to the service: list, snapshot,
    export download, rewind."""
    lab = remote_lab
    made = Containers(lab)
    page = open_lab(chromium, lab, "remote-timeline")
    try:
        name = made.run("tl-remote", COUNTER)
        open_sidebar(page)
        tab = open_timeline(page, name)
        tab.locator('[data-action="snapshot"]').click()  # the suggestion: step-1
        expect(step_row(tab, "step-1")).to_have_attribute("data-current", "true")
        code, body = lab.api("POST", f"{API}/{name}/snapshots?step=step-2")
        assert code == 201, body
        expect(step_row(tab, "step-2")).to_have_attribute("data-current", "true")
        with page.expect_download() as info:
            step_row(tab, "step-1").locator('[data-action="export"]').click()
        assert tarfile.is_tarfile(info.value.path())
        step_row(tab, "step-1").locator('[data-action="rewind"]').click()
        dialog(page).get_by_role("button", name="Rewind").click()
        expect(tab.locator(".jp-ctr-timeline-note")).to_have_text("rewound to step-1")
        expect(step_row(tab, "step-1")).to_have_attribute("data-current", "true")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "timeline-remote.png"))
    finally:
        page.context.close()
        made.remove_all()
