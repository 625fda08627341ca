"""The sidebar's Labs section in real Chromium: containers labelled ``jupyter-ctr.lab`` show
their lab with its bulk actions; "Stop all" (confirmed) stops every container of the lab and
none of another, and a reset to a step the containers lack lists each failure in a dialog."""

from __future__ import annotations

import secrets
from typing import Any

from playwright.sync_api import Page, expect

from .conftest import LIBPOD, Containers, Lab
from .helpers import dialog, open_sidebar, row, sidebar

SLEEP = ["sleep", "1000"]
LAB_LABEL = "jupyter-ctr.lab"


def test_stop_all_from_the_sidebar(lab_page: Page, lab: Lab, ctrs: Containers,
                                   shot: Any) -> None:
    page = lab_page
    name, other = f"lab-{secrets.token_hex(2)}", f"other-{secrets.token_hex(2)}"
    mine = [ctrs.run("stu", SLEEP, labels={LAB_LABEL: name}) for _ in range(3)]
    elsewhere = ctrs.run("stu", SLEEP, labels={LAB_LABEL: other})
    panel = open_sidebar(page)
    lab_row = panel.locator(f'.jp-ctr-lab[data-lab="{name}"]')
    expect(lab_row.locator(".jp-ctr-lab-count")).to_have_text("3/3 running")
    expect(panel.locator(f'.jp-ctr-lab[data-lab="{other}"]')).to_be_visible()
    shot("labs")

    lab_row.locator('[data-action="lab-stop"]').click()
    confirm = dialog(page)
    expect(confirm).to_contain_text(f"Stop all 3 containers of lab {name}?")
    confirm.get_by_role("button", name="Stop all").click()
    for ctr in mine:
        expect(row(page, ctr).locator(".jp-ctr-badge")).to_have_text("exited")
    expect(lab_row.locator(".jp-ctr-lab-count")).to_have_text("0/3 running")
    expect(sidebar(page).locator(".jp-ctr-status")).to_have_text(
        f"Stopped 3 containers of {name}")
    expect(row(page, elsewhere).locator(".jp-ctr-badge")).to_have_text("running")
    for ctr in mine:
        assert lab.api("GET", f"{LIBPOD}/containers/{ctr}/json")[1]["State"]["Status"] == \
            "exited"
    shot("stopped")

    # a reset to a step none of them has: each failure listed, the server's message
    lab_row.locator('[data-action="lab-reset"]').click()
    ask = dialog(page)
    ask.locator("input").fill("no-such-step")
    ask.get_by_role("button", name="Reset").click()
    report = dialog(page)
    expect(report).to_contain_text(f"Reset 0 of 3 containers of {name}; 3 failed")
    expect(report.locator(".jp-ctr-lab-failures li")).to_have_count(3)
    expect(report.locator(".jp-ctr-lab-failures li").first).to_contain_text("no-such-step")
    shot("reset-failures")
    report.get_by_role("button", name="Ok").click()
    expect(dialog(page)).to_have_count(0)
