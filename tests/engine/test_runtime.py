"""Runtime's own verbs: the one events API (``events`` reads, ``write_event`` records)."""

from __future__ import annotations

import threading
import time

import pytest

from jupyter_ctr.engine import Event, InvalidArgumentError, Runtime
from tests.conftest import DEMO, wait_until


def test_one_events_api(rt: Runtime) -> None:
    since = time.time()
    rt.write_event("image", "tag", "abc", "ref:1", "ref:1", {"k": "v"})
    ctr = rt.create_container(DEMO, ["true"], name="evapi")
    got = [(e.type, e.action, e.id, e.attributes.get("k"))
           for e in rt.events(since=since)]
    assert got == [("image", "tag", "abc", "v"), ("container", "create", ctr.id, None)]
    assert [e.action for e in rt.events(since=since, filters={"container": ["evapi"]})] == [
        "create"]
    assert list(rt.events(since=since, until=since - 1)) == []
    with pytest.raises(InvalidArgumentError, match="bogus"):
        list(rt.events(filters={"bogus": ["x"]}))
    # Following: new events as they come, until the stop Event (or callable) says so.
    seen: list[Event] = []
    done = threading.Event()
    start = time.time()

    def follow() -> None:
        for ev in rt.events(since=start, follow=True, filters={"type": ["image"]}, stop=done):
            seen.append(ev)

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    rt.write_event("image", "untag", "abc", "ref:1", "ref:1")
    assert wait_until(lambda: [e.action for e in seen] == ["untag"], 5)
    done.set()
    thread.join(5)
    assert not thread.is_alive()
    assert list(rt.events(since=since, follow=True, stop=lambda: True,
                          filters={"event": ["untag"]}))[0].action == "untag"
    assert not hasattr(rt, "events_stream")
    rt.remove_container(ctr)
