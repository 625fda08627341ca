"""server/list_json.py: a list's JSON from each container's item encoded once. It must say
what encoding every item afresh says (libpod: the same text; Docker: the same values, with
the clock's fields made per request), and encode an item again as soon as its record or its
restorability changes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jupyter_ctr.engine import Runtime
from jupyter_ctr.engine.records import ContainerSnapshot
from jupyter_ctr.server import list_json, models
from jupyter_ctr.server.handlers.containers import DOCKER_LIST, LIBPOD_LIST
from jupyter_ctr.server.list_json import ListJSON

from ..conftest import DEMO


def snaps(rt: Runtime) -> list[ContainerSnapshot]:
    return [snap for _, snap in rt.list_views()]


def docker_now(snap: ContainerSnapshot, now: float) -> dict[str, Any]:
    return {**models.container_docker_list_item(snap),
            "Status": snap.status_text(now, docker=True)}


def test_the_text_is_that_of_encoding_every_item(rt: Runtime,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(list_json.time, "time", lambda: 1_900_000_000.0)
    running = rt.create_container(DEMO, ["sleep", "100"], name="lj-run",
                                  labels={"a": 'we"ird ü'})
    running.start()
    rt.create_container(DEMO, ["true"], name="lj-created")
    for _ in range(3):  # the first list, then the settled watch's, then cached items
        now = snaps(rt)
        assert LIBPOD_LIST.dumps(now) == json.dumps(
            [models.container_libpod_list_item(s) for s in now])
        assert json.loads(DOCKER_LIST.dumps(now)) == \
            [docker_now(s, 1_900_000_000.0) for s in now]
    assert ListJSON(models.container_libpod_list_item).dumps([]) == "[]"
    running.stop(timeout=0)


def test_an_item_is_encoded_again_when_its_record_changes(rt: Runtime) -> None:
    made: list[str] = []

    def render(snap: ContainerSnapshot) -> dict[str, Any]:
        made.append(snap.config.name)
        return models.container_libpod_list_item(snap)

    cache = ListJSON(render)
    ctr = rt.create_container(DEMO, ["sleep", "100"], name="lj-a")
    rt.create_container(DEMO, ["true"], name="lj-b")
    cache.dumps(snaps(rt))
    assert sorted(made) == ["lj-a", "lj-b"]
    made.clear()
    for _ in range(3):
        cache.dumps(snaps(rt))
    assert made == []  # the same records: the same text
    ctr.start()
    text = cache.dumps(snaps(rt))
    assert made == ["lj-a"]
    assert {i["Names"][0]: i["State"] for i in json.loads(text)} == \
        {"lj-a": "running", "lj-b": "created"}
    ctr.pause()
    assert {i["Names"][0]: i["State"] for i in json.loads(cache.dumps(snaps(rt)))}["lj-a"] \
        == "paused"
    ctr.unpause()
    ctr.stop(timeout=0)
    assert json.loads(cache.dumps(snaps(rt)))[0]["State"] == "exited"


def test_live_fields_are_made_per_request(rt: Runtime) -> None:
    rt.create_container(DEMO, ["true"], name="lj-live")
    clock = iter(range(100))
    cache = ListJSON(models.container_docker_list_item,
                     live={"Status": lambda snap, now: f"tick {next(clock)}",
                           "Extra\"key": lambda snap, now: [1, 2]})
    first = json.loads(cache.dumps(snaps(rt)))
    second = json.loads(cache.dumps(snaps(rt)))
    assert (first[0]["Status"], second[0]["Status"]) == ("tick 0", "tick 1")
    assert first[0]["Extra\"key"] == [1, 2]
    assert first[0]["Names"] == ["/lj-live"]
    empty = ListJSON(lambda snap: {"Status": "x"}, live={"Status": lambda snap, now: "y"})
    assert json.loads(empty.dumps(snaps(rt))) == [{"Status": "y"}]


def test_items_of_removed_containers_are_dropped(rt: Runtime,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(list_json, "SPARE_ITEMS", 2)
    cache = ListJSON(models.container_libpod_list_item)
    ctrs = [rt.create_container(DEMO, ["true"], name=f"lj-{i}") for i in range(5)]
    cache.dumps(snaps(rt))
    assert len(cache._items) == 5
    for ctr in ctrs[:4]:
        ctr.remove()
    cache.dumps(snaps(rt))
    assert list(cache._items) == [ctrs[4].id]
