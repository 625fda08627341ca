"""The Containers sidebar in real Chromium against a real ``jupyter lab``: see it, create and
start a container from the dialog, pause and unpause (the badge follows the events
websocket), checkpoint and restore (a counter continues), a failing action shows the server's
message, remove after confirming. Each test stands alone: a fresh page, and containers of its
own (made through the REST API unless making them is the point), removed when it ends."""

from __future__ import annotations

import io
import re
import secrets
import tarfile
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, expect

from .conftest import ARTIFACTS, DEMO, LIBPOD, Containers, Lab
from .helpers import dialog, log_lines, log_status, open_sidebar, row, sidebar, wait_log

SLEEP = ["sleep", "1000"]
# prints 1, 2, 3... five times a second: after a restore it goes on from where it was
COUNTER = ["sh", "-c", "i=0; while :; do i=$((i+1)); echo $i; sleep 0.2; done"]


def test_sidebar_opens_and_lists_images(lab_page: Page, lab: Lab, shot: Any) -> None:
    page = lab_page
    # (every test removes its containers: the list is empty unless one leaked)
    assert lab.api("GET", f"{LIBPOD}/containers/json?all=true") == (200, [])
    page.locator('.jp-SideBar [data-id="jupyter-ctr-sidebar"]').click()
    panel = sidebar(page)
    expect(panel).to_be_visible()
    expect(panel.locator(".jp-ctr-title").first).to_have_text("Containers")
    expect(panel.locator(".jp-ctr-empty").first).to_have_text("No containers.")
    expect(panel.locator(f'.jp-ctr-image-row[data-name="{DEMO}"]')).to_be_visible()
    expect(panel).to_have_attribute("data-events", "open")
    shot("sidebar")


def test_create_and_start_from_dialog(lab_page: Page, lab: Lab, ctrs: Containers,
                                      shot: Any) -> None:
    page = lab_page
    name = ctrs.name("lab-c1")  # made by the dialog; removed at the end like the others
    open_sidebar(page)
    sidebar(page).locator('.jp-ctr-header [data-action="create"]').click()
    form = dialog(page)
    expect(form.locator('select[name="image"]')).to_have_value(DEMO)
    form.locator('input[name="command"]').fill("sleep 1000")
    form.locator('input[name="name"]').fill(name)
    form.locator('input[name="memory"]').fill("64m")
    form.locator('input[name="pidsLimit"]').fill("50")
    form.locator('textarea[name="env"]').fill("GREETING=hi")
    shot("dialog")
    form.get_by_role("button", name="Create").click()
    expect(dialog(page)).to_have_count(0)

    r = row(page, name)
    expect(r.locator(".jp-ctr-badge")).to_have_text("running")
    expect(r.locator(".jp-ctr-image")).to_have_text(DEMO)
    # live figures: uptime ticks, and the stats sample fills CPU and memory
    expect(r.locator(".jp-ctr-uptime")).to_have_text(re.compile(r"\d+s"))
    expect(r.locator(".jp-ctr-mem")).to_have_text(re.compile(r"MEM \d"))
    expect(r.locator(".jp-ctr-cpu")).to_have_text(re.compile(r"CPU \d"))
    code, insp = lab.api("GET", f"{LIBPOD}/containers/{name}/json")
    assert code == 200
    assert insp["State"]["Status"] == "running"
    assert "GREETING=hi" in insp["Config"]["Env"]
    assert insp["HostConfig"]["Memory"] == 64 * 1024 * 1024
    assert insp["HostConfig"]["PidsLimit"] == 50
    shot("running")


def test_pause_and_unpause(lab_page: Page, lab: Lab, ctrs: Containers, shot: Any) -> None:
    page = lab_page
    name = ctrs.run("lab-pause", SLEEP)
    open_sidebar(page)
    r = row(page, name)
    expect(r.locator(".jp-ctr-badge")).to_have_text("running")
    r.locator('[data-action="pause"]').click()
    expect(r.locator(".jp-ctr-badge")).to_have_text("paused")
    assert lab.api("GET", f"{LIBPOD}/containers/{name}/json")[1]["State"]["Status"] == "paused"
    expect(r.locator('[data-action="unpause"]')).to_be_visible()
    expect(r.locator('[data-action="pause"]')).to_have_count(0)
    shot("paused")
    # unpause from the row's context menu, which offers only what the state allows
    r.locator(".jp-ctr-name").click(button="right")
    menu = page.locator(".lm-Menu").last
    expect(menu.get_by_text("Unpause", exact=True)).to_be_visible()
    expect(menu.get_by_text("Pause", exact=True)).to_be_hidden()
    shot("context-menu")
    menu.get_by_text("Unpause", exact=True).click()
    expect(r.locator(".jp-ctr-badge")).to_have_text("running")
    assert lab.api("GET", f"{LIBPOD}/containers/{name}/json")[1]["State"]["Status"] == "running"
    shot("unpaused")


def test_row_opens_a_terminal_and_the_logs(lab_page: Page, ctrs: Containers, shot: Any) -> None:
    """The running row's Terminal and Logs buttons open those tabs (the terminal and log view
    plugins' commands, through the sidebar's row actions): a connected shell, a log view."""
    page = lab_page
    name = ctrs.run("lab-row", SLEEP)
    open_sidebar(page)
    r = row(page, name)
    count = "kind => ((window.jupyterCtr || {})[kind] || new Map()).size"
    terminals, logs = page.evaluate(count, "terminals"), page.evaluate(count, "logs")
    r.locator('[data-action="terminal"]').click()
    page.wait_for_function(
        "n => { const ts = [...((window.jupyterCtr || {}).terminals || new Map()).values()];"
        " return ts.length > n && ts[ts.length - 1].status() === ''"
        " && ts[ts.length - 1].text().includes('BusyBox'); }", arg=terminals, timeout=20_000)
    shot("terminal-from-row")
    r.locator('[data-action="logs"]').click()
    page.wait_for_function(f"() => ({count})('logs') > {logs}", timeout=20_000)
    shot("logs-from-row")


def test_failed_action_shows_server_message(lab_page: Page, lab: Lab, ctrs: Containers,
                                            shot: Any) -> None:
    """Creating a second container with a taken name: the server refuses, and the dialog
    shows its message word for word."""
    page = lab_page
    taken = ctrs.run("lab-taken", SLEEP)
    code, body = lab.api("POST", f"{LIBPOD}/containers/create",
                         {"image": DEMO, "name": taken, "command": ["true"]})
    assert code == 409
    expected = body["message"]
    open_sidebar(page)
    sidebar(page).locator('.jp-ctr-header [data-action="create"]').click()
    dialog(page).locator('input[name="name"]').fill(taken)
    dialog(page).get_by_role("button", name="Create").click()
    error = dialog(page)
    expect(error.locator(".jp-Dialog-header")).to_contain_text("Cannot create the container")
    expect(error.locator(".jp-Dialog-body")).to_have_text(expected)
    shot("error")
    error.get_by_role("button", name="Close").click()
    expect(dialog(page)).to_have_count(0)


def test_failed_row_action_shows_server_message(lab_page: Page, lab: Lab, ctrs: Containers,
                                                shot: Any) -> None:
    """Start a container whose command does not exist: the error dialog carries the
    server's message (as a direct REST call gets it)."""
    page = lab_page
    bad = ctrs.create("lab-bad", ["/no/such/program"])
    open_sidebar(page)
    r = row(page, bad)
    expect(r.locator(".jp-ctr-badge")).to_have_text("created")
    r.locator('[data-action="start"]').click()
    error = dialog(page)
    expect(error.locator(".jp-Dialog-header")).to_contain_text(f"Cannot start {bad}")
    shot("error")
    shown = error.locator(".jp-Dialog-body").inner_text()
    error.get_by_role("button", name="Close").click()
    code, body = lab.api("POST", f"{LIBPOD}/containers/{bad}/start")
    assert code >= 400
    # the same message, up to runc's timestamp
    assert shown.split("time=")[0].strip() == body["message"].split("time=")[0].strip()
    assert "/no/such/program" in shown, shown
    assert lab.api("DELETE", f"{LIBPOD}/containers/{bad}?force=true&t=0")[0] == 200
    expect(r).to_have_count(0)


def test_one_stats_request_for_all_running(lab_page: Page, lab: Lab, ctrs: Containers) -> None:
    """Live CPU/memory come from one stats request naming every visible running container,
    never from a request per container."""
    page = lab_page
    seen: list[str] = []
    page.on("request", lambda req: seen.append(req.url) if "/stats" in req.url else None)
    first = ctrs.run("lab-c1", SLEEP)
    open_sidebar(page)
    expect(row(page, first).locator(".jp-ctr-badge")).to_have_text("running")
    second = ctrs.name("lab-c2")
    lab.run(second, SLEEP)
    expect(row(page, second).locator(".jp-ctr-badge")).to_have_text("running")
    ids = {n: lab.api("GET", f"{LIBPOD}/containers/{n}/json")[1]["Id"] for n in (first, second)}
    with page.expect_request(lambda req: "/containers/stats" in req.url
                             and all(i in req.url for i in ids.values())) as req:
        pass
    assert "stream=false" in req.value.url
    expect(row(page, second).locator(".jp-ctr-mem")).to_have_text(re.compile(r"MEM \d"))
    assert not [u for u in seen if re.search(r"/containers/[^/]+/stats", u)
                and "/containers/stats" not in u], seen
    assert lab.api("DELETE", f"{LIBPOD}/containers/{second}?force=true&t=0")[0] == 200
    expect(row(page, second)).to_have_count(0)
    expect(row(page, first)).to_have_count(1)


def test_filter(lab_page: Page, ctrs: Containers) -> None:
    page = lab_page
    name = ctrs.create("lab-filter", SLEEP)
    other = ctrs.create("other", SLEEP)
    open_sidebar(page)
    expect(row(page, name)).to_have_count(1)
    box = sidebar(page).locator(".jp-ctr-filter")
    box.fill("no-such-thing")
    expect(row(page, name)).to_have_count(0)
    expect(sidebar(page).locator(".jp-ctr-empty").first).to_have_text(
        "No container matches the filter.")
    box.fill("lab-")
    expect(row(page, name)).to_have_count(1)
    expect(row(page, other)).to_have_count(0)
    box.fill("")
    expect(row(page, other)).to_have_count(1)


def test_events_follow_changes_made_elsewhere(lab_page: Page, lab: Lab, ctrs: Containers,
                                             shot: Any) -> None:
    """A container created, started and removed through the REST API (as the CLI or a
    notebook would) appears, turns running and goes away without a reload; the others stay."""
    page = lab_page
    stays = ctrs.run("lab-stays", SLEEP)
    open_sidebar(page)
    expect(row(page, stays)).to_have_count(1)
    other = ctrs.name("lab-ext")
    code, _ = lab.api("POST", f"{LIBPOD}/containers/create",
                      {"image": DEMO, "name": other, "command": ["sleep", "1000"]})
    assert code == 201
    r = row(page, other)
    expect(r.locator(".jp-ctr-badge")).to_have_text("created")
    assert lab.api("POST", f"{LIBPOD}/containers/{other}/start")[0] == 204
    expect(r.locator(".jp-ctr-badge")).to_have_text("running")
    shot("running")

    assert lab.api("DELETE", f"{LIBPOD}/containers/{other}?force=true&t=0")[0] == 200
    expect(r).to_have_count(0)
    expect(row(page, stays)).to_have_count(1)


def test_checkpoint_and_restore_continue_a_counter(lab_page: Page, lab: Lab, ctrs: Containers,
                                                   shot: Any) -> None:
    """Checkpoint and restore from the sidebar: the badge goes to exited and back to running,
    and the container's counter goes on from where it was (its log view, reloaded, reads
    1, 2, 3... across the restore: no restart at 1, nothing counted twice)."""
    page = lab_page
    name = ctrs.run("lab-count", COUNTER)
    open_sidebar(page)
    r = row(page, name)
    expect(r.locator(".jp-ctr-badge")).to_have_text("running")
    r.locator('[data-action="logs"]').click()

    def counted() -> list[int]:
        return [int(line) for line in log_lines(page, name)]

    wait_log(page, name, "l.lines() >= 5")
    shot("counting")

    r.locator('[data-action="checkpoint"]').click()
    dialog(page).get_by_role("button", name="Checkpoint").click()
    expect(r.locator(".jp-ctr-badge")).to_have_text("exited")
    assert lab.api("GET", f"{LIBPOD}/containers/{name}/json")[1]["State"]["Status"] == "exited"
    # the log view's stream ends with the process: the counter stopped at `before`
    wait_log(page, name, "l.status().startsWith('end of log')")
    before = counted()[-1]
    assert counted() == list(range(1, before + 1))
    shot("checkpointed")

    r.locator('[data-action="restore"]').click()
    expect(r.locator(".jp-ctr-badge")).to_have_text("running")
    code, insp = lab.api("GET", f"{LIBPOD}/containers/{name}/json")
    assert insp["State"]["Status"] == "running"
    assert insp["State"]["Restored"] is True
    # the log, read again from the start, goes on counting after `before`
    page.locator(".jp-ctr-logs-reload").last.click()
    wait_log(page, name, f"l.status() === 'following' && l.lines() > {before + 2}")
    after = counted()
    assert after[-1] > before, (before, after[-5:], log_status(page, name))
    assert after == list(range(1, len(after) + 1)), (before, after[before - 3:before + 3])
    shot("restored")


def test_remove_after_confirming(lab_page: Page, lab: Lab, ctrs: Containers,
                                 shot: Any) -> None:
    page = lab_page
    name = ctrs.run("lab-rm", SLEEP)
    open_sidebar(page)
    r = row(page, name)
    expect(r.locator(".jp-ctr-badge")).to_have_text("running")
    r.locator('[data-action="remove"]').click()
    confirm = dialog(page)
    expect(confirm.locator(".jp-Dialog-body")).to_contain_text(f"Remove {name}?")
    shot("confirm")
    confirm.get_by_role("button", name="Cancel").click()
    expect(r).to_have_count(1)
    r.locator('[data-action="remove"]').click()
    dialog(page).get_by_role("button", name="Remove").click()
    expect(row(page, name)).to_have_count(0)
    assert lab.api("GET", f"{LIBPOD}/containers/{name}/exists")[0] == 404
    shot("removed")


def test_import_and_remove_an_image(lab_page: Page, lab: Lab, tmp_path: Path,
                                    shot: Any) -> None:
    page = lab_page
    archive = tmp_path / "rootfs.tar"
    with tarfile.open(archive, "w") as tar:
        data = b"hello from an imported image\n"
        info = tarfile.TarInfo("etc/motd")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    ref = f"localhost/lab-import-{secrets.token_hex(2)}:1"
    panel = open_sidebar(page)
    try:
        panel.locator('.jp-ctr-header [data-action="import"]').click()
        dialog(page).locator('input[name="archive"]').set_input_files(str(archive))
        dialog(page).locator('input[name="reference"]').fill(ref)
        dialog(page).get_by_role("button", name="Import").click()
        image = panel.locator(f'.jp-ctr-image-row[data-name="{ref}"]')
        expect(image).to_be_visible()
        shot("imported")
        image.locator('[data-action="remove-image"]').click()
        dialog(page).get_by_role("button", name="Remove").click()
        expect(image).to_have_count(0)
        expect(panel.locator(f'.jp-ctr-image-row[data-name="{DEMO}"]')).to_be_visible()
        assert lab.api("GET", f"{LIBPOD}/images/{ref}/exists")[0] == 404
    finally:  # a failed step must not leave the image to the next test
        lab.api("DELETE", f"{LIBPOD}/images/{ref}?force=true")


def test_notebook7_shows_the_sidebar(chromium: Browser, lab: Lab) -> None:
    """Notebook 7 (its file browser page) has the same sidebar, opened from our command."""
    context = chromium.new_context(viewport={"width": 1200, "height": 800})
    try:
        page = context.new_page()
        page.goto(f"{lab.url}tree?token={lab.token}")
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started")
        page.evaluate("() => window.jupyterapp.commands.execute('jupyter-ctr:open-containers')")
        panel = sidebar(page)
        expect(panel).to_be_visible()
        expect(panel.locator(f'.jp-ctr-image-row[data-name="{DEMO}"]')).to_be_visible()
        expect(panel).to_have_attribute("data-events", "open")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "test_notebook7_shows_the_sidebar.png"))
    finally:
        context.close()
