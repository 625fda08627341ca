"""The widgets' state logic without a kernel or a browser: the actions a state allows (the
same table as the sidebar's model.ts), events applied to a row, CPU shares."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from jupyter_ctr.engine.events import Event
from jupyter_ctr.widgets import base
from jupyter_ctr.widgets.state import (
    ACTIONS,
    BY_STATE,
    REMOVED,
    STATE_AFTER,
    allowed_actions,
    apply_event,
    cpu_percent,
    removed_row,
)

REPO = Path(__file__).resolve().parents[2]


def ev(action: str, ctr_id: str = "a" * 64, type_: str = "container", **attrs: str) -> Event:
    return Event(1, 2_000_000_000, type_, action, ctr_id, "web", "img", attrs)


def row(state: str, restorable: bool = False) -> dict[str, object]:
    return {"id": "a" * 64, "name": "web", "image": "img", "state": state,
            "restorable": restorable, "exit_code": 0, "started_at": 0,
            "actions": allowed_actions(state, restorable)}


@pytest.mark.parametrize(("state", "restorable", "expected"), [
    ("created", False, ["start", "remove"]),
    ("initialized", False, ["start", "remove"]),
    ("running", False, ["stop", "pause", "checkpoint", "remove"]),
    ("paused", False, ["stop", "unpause", "remove"]),
    ("stopping", False, []),
    ("exited", False, ["start", "remove"]),
    ("exited", True, ["start", "restore", "remove"]),
    ("stopped", True, ["start", "restore", "remove"]),
    ("running", True, ["stop", "pause", "checkpoint", "remove"]),
    ("removing", False, []),
    ("no-such-state", False, ["remove"]),
    (REMOVED, False, []),
])
def test_allowed_actions(state: str, restorable: bool, expected: list[str]) -> None:
    assert allowed_actions(state, restorable) == expected


def _ts_table(name: str) -> dict[str, list[str]]:
    """A `const NAME: Record<string, ...> = {...};` table of labextension/src/model.ts."""
    src = (REPO / "labextension" / "src" / "model.ts").read_text()
    body = re.search(rf"const {name}: Record<string, [^>]+> = \{{(.*?)\n\}};", src, re.S)
    assert body, name
    out = {}
    for key, value in re.findall(r"(\w+): (\[[^\]]*\]|'\w+')", body.group(1)):
        out[key] = json.loads(value.replace("'", '"'))
    return out


def test_tables_match_the_sidebar() -> None:
    assert {k: list(v) for k, v in BY_STATE.items()} == _ts_table("BY_STATE")
    assert dict(STATE_AFTER) == _ts_table("STATE_AFTER")
    assert set(ACTIONS) <= {a for acts in BY_STATE.values() for a in acts}


def test_event_changes_state_and_actions() -> None:
    r = row("running")
    effect = apply_event(r, ev("pause"))
    assert effect.changed and not effect.reread
    assert r["state"] == "paused" and r["actions"] == ["stop", "unpause", "remove"]
    apply_event(r, ev("unpause"))
    assert r["state"] == "running"
    apply_event(r, ev("died", exitCode="3"))
    assert (r["state"], r["exit_code"], r["actions"]) == ("exited", 3, ["start", "remove"])


def test_checkpoint_and_restore_ask_for_a_fresh_reading() -> None:
    r = row("running")
    assert apply_event(r, ev("checkpoint")).reread
    assert r["state"] == "running"  # a leave-running checkpoint: only a reading can tell
    r = row("exited", restorable=True)
    effect = apply_event(r, ev("restore"))
    assert effect.changed and effect.reread
    assert r["state"] == "running" and r["restorable"] is False


def test_remove_and_unknown_events() -> None:
    r = row("running")
    effect = apply_event(r, ev("remove"))
    assert effect.removed and r["state"] == REMOVED and r["actions"] == []
    assert apply_event(None, ev("create")).unknown
    assert not apply_event(None, ev("remove")).unknown
    assert not apply_event(row("running"), ev("pull", type_="image")).changed
    assert removed_row("x", "web")["actions"] == []


def test_cpu_percent() -> None:
    a = {"cpu_ns": 0, "time_ns": 0}
    b = {"cpu_ns": 500_000_000, "time_ns": 1_000_000_000}
    assert cpu_percent(None, b) == 0.0
    assert cpu_percent(a, b) == pytest.approx(50.0)
    assert cpu_percent(b, a) == 0.0


def test_module_version_is_the_extensions() -> None:
    pkg = json.loads((REPO / "labextension" / "package.json").read_text())
    assert base.MODULE_NAME == pkg["name"]
    assert base.MODULE_VERSION == pkg["version"]
