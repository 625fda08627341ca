"""Shadowing in real Chromium: the echo latency from a student's keystroke in their terminal
tab to the instructor's read-only watch tab of the same shell (issue 15), beside the student's
own echo. Two pages (two browser contexts: two users' pages) on one ``jupyter lab``; the
student types one key at a time (a random pause of up to --max-pause ms before each, as
bench/browser.py does), the watch tab gets the echo as another client of the same bridge
session.

    .venv/bin/python bench/shadow.py [--keys 300] [--remote]

Times are taken in each page as ``performance.timeOrigin + performance.now()`` (the same
machine's clock, comparable across pages to well under a millisecond): t0 is the student's
trusted keydown, "in buffer" is when the watch tab's xterm has parsed the echo (its test
hook's ``onParsed``), "on screen" the first mutation of its ``.xterm-rows`` after that.
Needs the extension built and Debian's chromium. Prints a markdown table."""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright  # noqa: E402

from bench.browser import KEY, pct, run  # noqa: E402
from tests.labextension.conftest import CHROMIUM, Lab, lab_server, open_lab  # noqa: E402

NAME = "bench-shadow"
FIND = ("[...window.jupyterCtr.terminals.values()].find(t => t.container === {name!r}"
        " && t.shadow === {shadow})")

# In a page: resolves with [in buffer, on screen] (epoch ms) for the next echo of `key`.
ARM_ECHO = """([name, key, shadow]) => {
  const now = () => performance.timeOrigin + performance.now();
  const t = [...window.jupyterCtr.terminals.values()]
    .find(t => t.container === name && t.shadow === shadow);
  const rows = document.querySelector(`#${t.id} .xterm-rows`);
  const count = () => t.text().split(key).length - 1;
  const before = count();
  window.__echo = new Promise(resolve => {
    let inBuffer = 0;
    const obs = new MutationObserver(() => {
      if (inBuffer) { obs.disconnect(); resolve([inBuffer, now()]); }
    });
    const off = t.onParsed(() => {
      if (inBuffer || count() <= before) return;
      inBuffer = now();
      off();
      obs.observe(rows, { subtree: true, childList: true, characterData: true });
    });
  });
}"""

ARM_KEY = """() => {
  window.__t0 = new Promise(resolve => window.addEventListener('keydown',
    () => resolve(performance.timeOrigin + performance.now()), { capture: true, once: true }));
}"""


def row(label: str, values: list[float]) -> str:
    return (f"| {label}, p50 / p99 / max (ms) | {pct(values, 50):.1f} / "
            f"{pct(values, 99):.1f} / {max(values):.1f} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keys", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--max-pause", type=float, default=60.0)
    ap.add_argument("--remote", action="store_true",
                    help="the lab relays to a root `jupyter-ctr service` (the multi-user path)")
    args = ap.parse_args()
    pause = random.Random(15)
    own_buf: list[float] = []
    own_screen: list[float] = []
    watch_buf: list[float] = []
    watch_screen: list[float] = []
    lab: Lab
    with lab_server(remote=args.remote) as lab, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        student = open_lab(browser, lab, "student")
        run(lab, NAME, ["sleep", "3600"])
        student.evaluate("() => window.jupyterapp.commands.execute('jupyter-ctr:open-terminal',"
                         f" {{name: {NAME!r}}})")
        me = FIND.format(name=NAME, shadow="false")
        student.wait_for_function(f"() => {{ const t = window.jupyterCtr && {me};"
                                  " return !!t && /[#$] $/m.test(t.text()) && !!t.execId(); }")
        exec_id = student.evaluate(f"() => {me}.execId()")
        teacher = open_lab(browser, lab, "teacher")
        teacher.evaluate("() => window.jupyterapp.commands.execute('jupyter-ctr:watch-terminal',"
                         f" {{execId: {exec_id!r}, name: {NAME!r}}})")
        them = FIND.format(name=NAME, shadow="true")
        teacher.wait_for_function(f"() => {{ const t = window.jupyterCtr && {them};"
                                  " return !!t && !!t.session() && /[#$] $/m.test(t.text()); }")
        panel = student.evaluate(f"() => {me}.id")
        student.locator(f"#{panel} .xterm").click()
        for i in range(args.warmup + args.keys):
            if i and i % 60 == 0:
                student.keyboard.press("Control+u")
                student.wait_for_timeout(50)
            student.wait_for_timeout(pause.uniform(0, args.max_pause))
            student.evaluate(ARM_ECHO, [NAME, KEY, False])
            teacher.evaluate(ARM_ECHO, [NAME, KEY, True])
            student.evaluate(ARM_KEY)
            student.keyboard.press(KEY)
            t0 = student.evaluate("() => window.__t0")
            mine = student.evaluate("() => window.__echo")
            theirs = teacher.evaluate("() => window.__echo")
            if i >= args.warmup:
                own_buf.append(mine[0] - t0)
                own_screen.append(mine[1] - t0)
                watch_buf.append(theirs[0] - t0)
                watch_screen.append(theirs[1] - t0)
        browser.close()
        lab.api("DELETE", f"ctr/v4.0.0/libpod/containers/{NAME}?force=true&t=0")
    mode = "relayed to a root service" if args.remote else "single-user lab"
    print(f"Shadow echo in Chromium ({args.keys} keys, {mode})\n")
    print("| measure | value |")
    print("|---|---|")
    print(row("student key -> echo in the student's xterm buffer", own_buf))
    print(row("student key -> echo on the student's screen", own_screen))
    print(row("student key -> echo in the instructor's watch tab buffer", watch_buf))
    print(row("student key -> echo on the instructor's screen", watch_screen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
