"""The Containers sidebar in real Chromium against a real ``jupyter lab``: time from clicking
a row's Start button to its badge reading "running" (the REST call, the engine's start, the
events websocket and the repaint), next to the bare REST start of the same container, and the
page's longest main-thread task meanwhile (target: never blocked for more than 200 ms).

    .venv/bin/python bench/browser_sidebar.py [--iterations 20] [--rows 1000]

``--rows N`` creates N more containers (never started) first, so that the sidebar shows N + 1
rows while it is measured (issue 16: a lab of hundreds of containers on one machine).

Needs the extension built (`make labext`) and Debian's chromium. Prints a markdown table."""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.labextension.conftest import CHROMIUM, DEMO, LIBPOD, lab_server, open_lab  # noqa: E402

CLICK_TO_RUNNING = """async (name) => {
  const panel = document.querySelector('#jupyter-ctr-sidebar');
  const sel = `.jp-ctr-row[data-name="${name}"]`;
  const running = () => panel.querySelector(`${sel} .jp-ctr-badge`)?.textContent === 'running';
  const t0 = performance.now();
  const done = new Promise(resolve => {
    const obs = new MutationObserver(() => {
      if (running()) { obs.disconnect(); resolve(performance.now() - t0); }
    });
    obs.observe(panel, { subtree: true, childList: true, characterData: true });
  });
  panel.querySelector(`${sel} [data-action="start"]`).click();
  return await done;
}"""

LONGTASKS = """() => {
  window.__longtasks = [];
  new PerformanceObserver(list => {
    for (const e of list.getEntries()) window.__longtasks.push(e.duration);
  }).observe({ type: 'longtask', buffered: false });
}"""


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--rows", type=int, default=0, help="more containers in the sidebar")
    args = ap.parse_args()
    ui: list[float] = []
    rest: list[float] = []
    with lab_server() as lab, sync_playwright() as pw:
        for i in range(args.rows):
            code, _ = lab.api("POST", f"{LIBPOD}/containers/create",
                              {"image": DEMO, "name": f"row-{i:04d}", "command": ["true"]})
            assert code == 201, code
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = open_lab(browser, lab)
        page.locator('.jp-SideBar [data-id="jupyter-ctr-sidebar"]').click()
        page.locator("#jupyter-ctr-sidebar[data-events=open]").wait_for()
        page.evaluate(LONGTASKS)
        name = "bench-ui"
        code, _ = lab.api("POST", f"{LIBPOD}/containers/create",
                          {"image": DEMO, "name": name, "command": ["sleep", "1000"]})
        assert code == 201, code
        row = page.locator(f'#jupyter-ctr-sidebar .jp-ctr-row[data-name="{name}"]')
        for i in range(args.iterations + 1):
            row.locator('[data-action="start"]').wait_for()
            ms = page.evaluate(CLICK_TO_RUNNING, name)
            if i:  # the first one warms up
                ui.append(ms)
            assert lab.api("POST", f"{LIBPOD}/containers/{name}/stop?t=0")[0] == 204
            page.locator(f'#jupyter-ctr-sidebar .jp-ctr-row[data-name="{name}"]'
                         '[data-state="exited"]').wait_for()
            t0 = time.perf_counter()
            assert lab.api("POST", f"{LIBPOD}/containers/{name}/start")[0] == 204
            rest.append((time.perf_counter() - t0) * 1000)
            # let this start's event reach the page before the stop: a late one would make
            # the next click look instant
            page.locator(f'#jupyter-ctr-sidebar .jp-ctr-row[data-name="{name}"]'
                         '[data-state="running"]').wait_for()
            assert lab.api("POST", f"{LIBPOD}/containers/{name}/stop?t=0")[0] == 204
            page.locator(f'#jupyter-ctr-sidebar .jp-ctr-row[data-name="{name}"]'
                         '[data-state="exited"]').wait_for()
            print(f"iteration {i}: click->running {ms:.1f} ms", file=sys.stderr)
        longtasks: list[float] = page.evaluate("() => window.__longtasks")
        browser.close()
    print(f"Containers sidebar with {args.rows + 1} rows, {args.iterations} starts (ms)\n")
    print("| measure | median | p90 | max |")
    print("|---|---|---|---|")
    for label, values in (("click Start -> badge running (browser)", ui),
                          ("REST start alone (server)", rest)):
        print(f"| {label} | {statistics.median(values):.1f} | {pct(values, 90):.1f} "
              f"| {max(values):.1f} |")
    worst = max(longtasks, default=0.0)
    print(f"\nlong tasks (> 50 ms) on the page meanwhile: {len(longtasks)}, longest {worst:.0f} ms "
          f"(target: none over 200 ms) - {'OK' if worst <= 200 else 'MISSED'}")
    return 0 if worst <= 200 else 2


if __name__ == "__main__":
    sys.exit(main())
