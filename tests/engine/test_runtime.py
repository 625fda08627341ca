"""Runtime's own verbs: the one events API (``events`` reads, ``write_event`` records)."""

from __future__ import annotations

import threading
import time

import pytest

from jupyter_ctr.engine import Event, InvalidArgumentError, Runtime
from jupyter_ctr.engine.errors import ImageInUseError, ImageNamesConflictError
from tests.conftest import DEMO, wait_until


def test_container_events_carry_its_labels_as_podmans(rt: Runtime) -> None:
    since = time.time()
    ctr = rt.create_container(DEMO, ["sleep", "60"], name="evlab",
                              labels={"jupyter-ctr.lab": "l1", "team": "a",
                                      "name": "spoof", "owner_uid": "0",
                                      "jupyter-ctr.spec": "{...}"})
    rt.create_container(DEMO, ["true"], name="evother", labels={"team": "b"})
    ctr.start()
    ctr.stop(timeout=0)
    events = list(rt.events(since=since, filters={"label": ["jupyter-ctr.lab=l1"]}))
    assert {e.id for e in events} == {ctr.id}
    assert {"create", "start", "died"} <= {e.action for e in events}
    first = events[0].attributes
    assert first["team"] == "a" and first["jupyter-ctr.lab"] == "l1"
    # a label never passes for the engine's own attributes, and the spec's text stays out
    assert first["name"] == "evlab" and first["owner_uid"] == str(ctr.config.owner_uid)
    assert "jupyter-ctr.spec" not in first
    assert [e.id for e in rt.events(since=since, filters={"label": ["team"]})
            if e.action == "create"] == [ctr.id, rt.lookup_container("evother").id]


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


def test_remove_image_by_one_of_several_names_untags(rt: Runtime) -> None:
    """podman rmi: by one of several names only that name goes (image event ``untag``),
    even while a container uses the image; by ID with several names it is refused without
    force, and with force still while a container uses it."""
    demo = rt.get_image(DEMO)
    since = time.time()
    rt.tag_image(DEMO, "localhost/rmi/extra:1")
    ctr = rt.create_container("localhost/rmi/extra:1", ["true"], name="rmi-user")
    try:
        report = rt.remove_image("localhost/rmi/extra:1")
        assert (report.id, report.untagged, report.removed) == (
            demo.id, ["localhost/rmi/extra:1"], False)
        assert rt.get_image(demo.id).names == demo.names
        assert [(e.action, e.id, e.name) for e in rt.events(
            since=since, filters={"type": ["image"], "event": ["untag", "remove"]})] == [
            ("untag", demo.id, "localhost/rmi/extra:1")]
        rt.tag_image(DEMO, "localhost/rmi/extra:2")
        with pytest.raises(ImageNamesConflictError, match="please force removal"):
            rt.remove_image(demo.id)
        with pytest.raises(ImageInUseError, match="rmi-user"):
            rt.remove_image(demo.id[:12], force=True)
        assert rt.remove_image("localhost/rmi/extra:2").untagged == ["localhost/rmi/extra:2"]
        with pytest.raises(ImageInUseError, match="rmi-user"):
            rt.remove_image(DEMO)  # its last name: the image would go
        assert rt.get_image(demo.id).names == demo.names
    finally:
        rt.remove_container(ctr, force=True, timeout=0)
        for name in ("localhost/rmi/extra:1", "localhost/rmi/extra:2"):
            if name in rt.get_image(demo.id).names:
                rt.untag_image(demo.id, [name])
