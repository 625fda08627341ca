"""The Timeline widget in a real notebook, in real headless Chromium against a real ``jupyter
lab`` (tests/widgets/test_browser.py's server, fixtures and helpers): a cell shows a counter
container's three steps (one taken with the widget's Snapshot box, one by the cell's
``tl.snapshot``, one through the REST API as the CLI would); clicking Rewind to on step 2 and
confirming rewinds it (the engine reads step 2's file back, the counter goes on); a
filesystem-only snapshot shows its label and CRIU's reason; Export downloads the archive.
Screenshots go to test-artifacts/widgets/."""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Locator, Page, expect

from jupyter_ctr.engine import Runtime

from ..conftest import wait_until
from ..engine.test_container_checkpoint import values
from ..engine.test_container_timeline import TCP_COUNTER, runs_from
from ..labextension.conftest import Containers, Lab
from .test_browser import (  # noqa: F401 - fixtures
    LIBPOD,
    cell_output,
    chromium,
    ctrs,
    lab,
    notebook,
    run_cell,
    shot,
    wait_kernel_value,
)

COUNTER = ["sh", "-c", "i=0; while :; do i=$((i+1)); echo $i; sleep 0.2; done"]
API = "ctr/api/containers"


def timeline_cell(name: str) -> str:
    return f'from jupyter_ctr.widgets import Timeline\ntl = Timeline("{name}")\ntl'


@pytest.fixture
def engine(lab: Lab) -> Iterator[Runtime]:  # noqa: F811 - the imported fixture
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


def show_timeline(page: Page, index: int) -> Locator:
    run_cell(page, index)
    widget = cell_output(page, index).locator(".jp-ctr-timeline-widget")
    expect(widget.locator(".jp-ctr-badge")).to_have_attribute("data-state", "running",
                                                              timeout=60_000)
    wait_kernel_value(page, "tl._view_count", "1")
    return widget


def step_row(widget: Locator, step: str) -> Locator:
    return widget.locator(f'.jp-ctr-timeline-row[data-step="{step}"]')


def test_three_steps_and_rewind_to_step_2(notebook: Callable[..., Page],  # noqa: F811
                                          ctrs: Containers, lab: Lab,  # noqa: F811
                                          engine: Runtime) -> None:
    name = ctrs.run("wtl-count", COUNTER)
    page = notebook([timeline_cell(name), 'tl.snapshot("step-2").result().kind'])
    widget = show_timeline(page, 0)
    expect(widget.locator(".jp-ctr-timeline-empty")).to_be_visible()

    # step 1: the widget's box and button
    sh(engine, name, "echo one > /step.txt")
    box = widget.locator("input.jp-ctr-timeline-step")
    expect(box).to_have_value("step-1")
    widget.locator('[data-action="snapshot"]').click()
    expect(step_row(widget, "step-1")).to_have_attribute("data-current", "true", timeout=60_000)
    expect(widget.locator(".jp-ctr-timeline-note")).to_have_text(
        "step-1: checkpoint snapshot taken")

    # step 2: the Python method in the next cell
    sh(engine, name, "echo two > /step.txt")
    run_cell(page, 1)
    expect(cell_output(page, 1)).to_contain_text("'checkpoint'", timeout=60_000)
    expect(step_row(widget, "step-2")).to_have_attribute("data-current", "true")

    # step 3: elsewhere (the REST API, as the CLI would): the widget follows
    sh(engine, name, "echo three > /step.txt")
    code, body = lab.api("POST", f"{API}/{name}/snapshots?step=step-3")
    assert code == 201, body
    expect(step_row(widget, "step-3")).to_have_attribute("data-current", "true",
                                                         timeout=60_000)
    rows = widget.locator(".jp-ctr-timeline-row")
    expect(rows).to_have_count(3)
    for step in ("step-1", "step-2", "step-3"):
        expect(step_row(widget, step).locator(".jp-ctr-timeline-kind")).to_have_text(
            "checkpoint")
        expect(step_row(widget, step).locator(".jp-ctr-timeline-time")).to_have_text(
            re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$"))
    shot(page, "timeline-three-steps", widget)

    # Rewind to step 2, after confirming: the engine reads step 2's file back
    step_row(widget, "step-2").locator('[data-action="rewind"]').click()
    page.locator(".jp-Dialog").get_by_role("button", name="Rewind").click()
    expect(widget.locator(".jp-ctr-timeline-note")).to_have_text("rewound to step-2",
                                                                 timeout=60_000)
    expect(step_row(widget, "step-2")).to_have_attribute("data-current", "true")
    assert sh(engine, name, "cat /step.txt") == "two\n"
    ctr = engine.lookup_container(name)
    assert ctr.inspect()["State"]["Status"] == "running"
    # the counter goes on from step 2's count (a checkpoint: the process was restored)
    assert wait_until(lambda: len(runs_from(values(ctr))) == 2 and
                      len(runs_from(values(ctr))[1]) > 2, 30), values(ctr)
    first, second = runs_from(values(ctr))
    assert 1 < second[0] < first[-1], (second[0], first[-1])  # went back, not to the start
    code, body = lab.api("GET", f"{LIBPOD}/containers/{name}/json")
    assert code == 200 and body["State"]["Status"] == "running"
    wait_kernel_value(page, "tl.current", "'step-2'")
    shot(page, "timeline-rewound", widget)

    # Export: a browser download of the REST route
    with page.expect_download() as info:
        step_row(widget, "step-1").locator('[data-action="export"]').click()
    download = info.value
    assert download.suggested_filename == f"{name}-step-1.tar.gz"
    assert tarfile.is_tarfile(download.path())
    expect(widget.locator(".jp-ctr-timeline-note")).to_have_text(
        f"step-1 downloaded as {name}-step-1.tar.gz")


def test_filesystem_only_snapshot_shows_its_reason(notebook: Callable[..., Page],  # noqa: F811
                                                   ctrs: Containers,  # noqa: F811
                                                   engine: Runtime) -> None:
    name = ctrs.run("wtl-tcp", TCP_COUNTER)
    assert wait_until(lambda: " 01 " in sh(engine, name, "cat /proc/net/tcp"), 10)
    page = notebook([timeline_cell(name)])
    widget = show_timeline(page, 0)
    box = widget.locator("input.jp-ctr-timeline-step")
    box.fill("tcp")
    box.press("Enter")
    step = step_row(widget, "tcp")
    expect(step).to_have_attribute("data-kind", "filesystem", timeout=60_000)
    kind = step.locator(".jp-ctr-timeline-kind")
    expect(kind).to_have_text("filesystem only")
    expect(kind).to_have_attribute("title", re.compile("Connected TCP socket"))
    expect(step.locator(".jp-ctr-timeline-reason")).to_contain_text(
        "filesystem only: Error (criu/sk-inet.c")
    expect(widget.locator(".jp-ctr-timeline-note")).to_have_text(
        "tcp: filesystem only snapshot taken")
    # a refusal (a taken name) is shown in place, no traceback
    box.fill("tcp")
    box.press("Enter")
    expect(widget.locator(".jp-ctr-timeline-error")).to_contain_text(
        "snapshot tcp: a snapshot named 'tcp' exists already")
    expect(cell_output(page, 0).locator(".jp-RenderedText[data-mime-type="
                                        "'application/vnd.jupyter.stderr']")).to_have_count(0)
    shot(page, "timeline-filesystem-only", widget)
