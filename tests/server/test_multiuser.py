"""The multi-user socket service with real Unix users (issue 13): two students and an
instructor, created for the test and removed after it, each talking HTTP over the service's
unix socket from their own process (setpriv). The service knows them by SO_PEERCRED; a
student's every route to the other's container answers as for a missing one, lists and
events never show it; the instructor sees both, filters by owner and acts; events name who
acted."""

from __future__ import annotations

import grp
import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import DEMO, wait_until
from tests.multiuser import API, people, root_service  # noqa: F401 - people: a fixture


@pytest.fixture(scope="module")
def service(people: dict[str, Any],  # noqa: F811 - the imported fixture
            engine_roots: tuple[Path, Path]) -> Iterator[Path]:
    """A root service on a socket that the students' group may reach."""
    with root_service(people, engine_roots) as sock:
        yield sock


def test_the_socket_belongs_to_the_group(people: dict[str, Any],  # noqa: F811
                                         service: Path) -> None:
    st = service.stat()
    assert (st.st_mode & 0o777, st.st_uid) == (0o660, 0)
    assert grp.getgrgid(st.st_gid).gr_name == f"{people['tag']}s"
    assert people["a"].one(service, "GET", "/_ping")[0] == 200


def test_students_are_isolated_and_the_instructor_sees_all(
        people: dict[str, Any], service: Path) -> None:  # noqa: F811
    a, b, t = people["a"], people["b"], people["t"]
    # this test's events only: the engine's journal outlives other modules' users, whose
    # uids a new user may be given again
    since = f"since={time.time() - 1:.3f}"
    box = {"image": DEMO, "command": ["sleep", "1000"], "name": f"{a.name}-box"}
    created = a.call(service, ("POST", f"{API}/containers/create", box),
                     ("POST", f"{API}/containers/{a.name}-box/start", None),
                     ("POST", f"{API}/containers/{a.name}-box/exec",
                      {"Cmd": ["true"], "AttachStdout": True}))
    assert [s for s, _ in created] == [201, 204, 201], created
    ctr_id, exec_id = created[0][1]["Id"], created[2][1]["Id"]
    status, mine = b.one(service, "POST", f"{API}/containers/create",
                         {"image": DEMO, "command": ["sleep", "1000"], "name": f"{b.name}-box"})
    assert status == 201
    b_id = mine["Id"]

    # the owner's inspect says whose it is
    status, inspected = a.one(service, "GET", f"{API}/containers/{ctr_id}/json")
    assert inspected["Owner"] == {"Uid": a.uid, "Name": a.name}

    # every route with a's container, by name, id or short id, answers b as a missing one
    routes = [("GET", "{}/json"), ("POST", "{}/stop?timeout=0"), ("POST", "{}/kill"),
              ("POST", "{}/pause"), ("POST", "{}/restart"), ("GET", "{}/top"),
              ("GET", "{}/logs?stdout=true"), ("GET", "{}/stats?stream=false"),
              ("POST", "{}/attach?stream=true&stdout=true"), ("GET", "{}/export"),
              ("POST", "{}/checkpoint"), ("POST", "{}/wait?condition=exited"),
              ("POST", "{}/exec"), ("DELETE", "{}?force=true")]
    missing = "nosuch" + uuid.uuid4().hex[:8]
    refs = (f"{a.name}-box", ctr_id, ctr_id[:12])
    calls = [(m, f"{API}/containers/" + path.format(ref),
              {"Cmd": ["id"]} if path.endswith("/exec") else None)
             for ref in (*refs, missing) for m, path in routes]
    calls += [("GET", f"/api/containers/{ref}/attach/ws", None) for ref in (*refs, missing)]
    answers = b.call(service, *calls)
    by_ref = {ref: answers[i * len(routes):(i + 1) * len(routes)]
              for i, ref in enumerate((*refs, missing))}
    for ref in refs:
        for (method, path), (status, body), (_, expected) in zip(
                routes, by_ref[ref], by_ref[missing], strict=True):
            assert status == 404, (method, path, ref, body)
            assert body == json.loads(json.dumps(expected).replace(missing, ref)), (path, ref)
    ws = answers[len(routes) * 4:]
    assert [s for s, _ in ws] == [404] * 4, ws
    # b's lists, stats, exec lookups and events never show it
    no_exec = uuid.uuid4().hex * 2
    exec_routes = [("GET", API + "/exec/{}/json", None),
                   ("POST", API + "/exec/{}/start", {"Detach": True}),
                   ("POST", API + "/exec/{}/resize?h=10&w=10", None),
                   ("GET", "/api/exec/{}/ws", None)]
    listed = b.call(service, ("GET", f"{API}/containers/json?all=true", None),
                    ("GET", "/containers/json?all=1", None),
                    ("GET", f"{API}/containers/stats?stream=false", None),
                    ("GET", f"{API}/exec/{exec_id}/json", None),
                    ("GET", f"{API}/events?stream=false&{since}", None),
                    *[(m, url.format(ref), body) for ref in (exec_id, no_exec)
                      for m, url, body in exec_routes])
    assert [c["Id"] for c in listed[0][1]] == [b_id]
    assert [c["Id"] for c in listed[1][1]] == [b_id]
    assert ctr_id not in json.dumps(listed[2][1])
    assert listed[3][0] == 404 and listed[3][1]["cause"] == "no such exec session"
    assert ctr_id not in str(listed[4][1]) and b_id in str(listed[4][1])
    hidden, absent = listed[5:5 + len(exec_routes)], listed[5 + len(exec_routes):]
    for (status, body), (_, expected) in zip(hidden, absent, strict=True):
        assert (status, body["cause"]) == (404, "no such exec session"), body
        assert body == json.loads(json.dumps(expected).replace(no_exec, exec_id))
    # a still has it, untouched
    status, still = a.one(service, "GET", f"{API}/containers/{ctr_id}/json")
    assert still["State"]["Status"] == "running"

    # the instructor sees both, filters by owner and acts on a's container
    owner_a = quote(json.dumps({"owner": [a.name]}))
    seen = t.call(service, ("GET", f"{API}/containers/json?all=true", None),
                  ("GET", f"{API}/containers/json?all=true&filters={owner_a}", None),
                  ("POST", f"{API}/containers/{a.name}-box/stop?timeout=0", None))
    assert {ctr_id, b_id} <= {c["Id"] for c in seen[0][1]}
    assert [c["Id"] for c in seen[1][1]] == [ctr_id]
    assert seen[2][0] == 204
    # events say who acted
    by_t = quote(json.dumps({"user": [t.name]}))
    status, text = t.one(service, "GET", f"{API}/events?stream=false&{since}&filters={by_t}")
    events = [json.loads(line) for line in text.splitlines()] if isinstance(text, str) \
        else [text]
    assert events and {e["Actor"]["Attributes"]["user"] for e in events} == {t.name}
    stops = [e for e in events if e["Action"] == "stop" and e["id"] == ctr_id]
    assert stops and stops[0]["Actor"]["Attributes"]["uid"] == str(t.uid)
    assert stops[0]["Actor"]["Attributes"]["owner_uid"] == str(a.uid)
    status, text = a.one(service, "GET", f"{API}/events?stream=false&{since}")
    seen_by_a = [json.loads(line) for line in text.splitlines()]
    ids = {e["id"] for e in seen_by_a}
    assert ctr_id in ids and b_id not in ids  # b's never show
    # (a's other events, if any, are of earlier containers of a uid given to a again)
    assert all(e["Actor"]["Attributes"]["owner_uid"] == str(a.uid) for e in seen_by_a)
    assert {e["Actor"]["Attributes"]["user"] for e in seen_by_a if e["id"] == ctr_id} == \
        {a.name, t.name}


def test_another_name_in_use_is_refused_as_any_name_in_use(
        people: dict[str, Any], service: Path) -> None:  # noqa: F811
    a, b = people["a"], people["b"]
    name = f"{a.name}-same"
    assert a.one(service, "POST", f"{API}/containers/create",
                 {"image": DEMO, "command": ["true"], "name": name})[0] == 201
    theirs = b.one(service, "POST", f"{API}/containers/create",
                   {"image": DEMO, "command": ["true"], "name": name})
    own = a.one(service, "POST", f"{API}/containers/create",
                {"image": DEMO, "command": ["true"], "name": name})
    assert theirs == own and theirs[0] == 409


def test_exec_verbs_lists_demo_build_and_exits_by_user(
        people: dict[str, Any], service: Path) -> None:  # noqa: F811
    """The routes added for remote use obey ownership and policy: another's exec session
    answers stop, remove and attach as a missing one; build-demo is the instructor's; list
    items say whose a container is; a container's exit is conmon's doing (not root's) and
    its owner sees it."""
    a, b, t = people["a"], people["b"], people["t"]
    since = f"since={time.time() - 1:.3f}"
    made = a.call(service, ("POST", f"{API}/containers/create",
                            {"image": DEMO, "command": ["sleep", "1000"],
                             "name": f"{a.name}-ex"}),
                  ("POST", f"{API}/containers/{a.name}-ex/start", None),
                  ("POST", f"{API}/containers/{a.name}-ex/exec", {"Cmd": ["sleep", "100"]}))
    assert [s for s, _ in made] == [201, 204, 201], made
    ctr_id, exec_id = made[0][1]["Id"], made[2][1]["Id"]
    assert a.one(service, "POST", f"{API}/exec/{exec_id}/start", {"Detach": True})[0] == 200
    no_exec = uuid.uuid4().hex * 2
    routes = [("POST", API + "/exec/{}/stop?t=0"), ("DELETE", API + "/exec/{}?force=true"),
              ("POST", API + "/exec/{}/attach?stdin=false")]
    answers = b.call(service, *[(m, url.format(ref), None) for ref in (exec_id, no_exec)
                                for m, url in routes])
    for (status, body), (_, expected) in zip(answers[:3], answers[3:], strict=True):
        assert (status, body["cause"]) == (404, "no such exec session"), body
        assert body == json.loads(json.dumps(expected).replace(no_exec, exec_id))
    mine = a.call(service, ("POST", f"{API}/exec/{exec_id}/stop?t=0", None),
                  ("DELETE", f"{API}/exec/{exec_id}", None))
    assert mine == [(204, ""), (200, {"Id": exec_id, "ExitCode": 137})], mine

    # build-demo: students are refused by a named rule, the instructor builds (here: has)
    refused = b.one(service, "POST", f"{API}/images/build-demo")
    assert refused[0] == 403 and "policy rule instructor_only" in refused[1]["message"]
    status, built = t.one(service, "POST", f"{API}/images/build-demo")
    assert status == 200
    assert t.one(service, "GET", f"{API}/images/{quote(DEMO, safe='')}/json")[1]["Id"] == \
        built["Id"]
    # images are one store: a student may not import one under a name others run, nor
    # remove one (the request is refused before its body is looked at)
    for method, url in (("POST", f"{API}/images/import?reference={quote(DEMO, safe='')}"),
                        ("DELETE", f"{API}/images/{quote(DEMO, safe='')}"),
                        ("DELETE", f"/images/{quote(DEMO, safe='')}")):
        status, body = b.one(service, method, url)
        assert status == 403 and "policy rule instructor_only" in body["message"], (url, body)
    assert b.one(service, "GET", f"{API}/images/{quote(DEMO, safe='')}/json")[0] == 200

    # list items carry the owner; the instructor sees whose each one is
    status, listed = a.one(service, "GET", f"{API}/containers/json")
    assert [(c["Id"], c["Owner"]) for c in listed] == \
        [(ctr_id, {"Uid": a.uid, "Name": a.name})]
    status, everyone = t.one(service, "GET", f"{API}/containers/json")
    assert {"Uid": a.uid, "Name": a.name} in [c["Owner"] for c in everyone
                                              if c["Id"] == ctr_id]

    # the exit: killed behind the engine's back (nothing syncs it), so conmon's exit
    # command finds it and records it, as the engine's
    status, inspected = a.one(service, "GET", f"{API}/containers/{ctr_id}/json")
    os.kill(inspected["State"]["Pid"], signal.SIGKILL)
    died = quote(json.dumps({"event": ["died"], "container": [ctr_id]}))

    def events(user: Any, query: str = f"filters={died}") -> list[dict[str, Any]]:
        status, text = user.one(service, "GET", f"{API}/events?stream=false&{since}&{query}")
        assert status == 200, text
        if isinstance(text, dict):
            return [text]
        return [json.loads(line) for line in text.splitlines()]

    assert wait_until(lambda: events(a), 30)
    [exit_event] = events(a)
    attrs = exit_event["Actor"]["Attributes"]
    assert (attrs["user"], attrs["uid"], attrs["owner_uid"]) == ("conmon", "0", str(a.uid))
    assert events(b) == []
    by_a = quote(json.dumps({"user": [a.name], "container": [ctr_id]}))
    actions = {e["Action"] for e in events(a, f"filters={by_a}")}
    assert {"create", "start"} <= actions and "died" not in actions
    a.one(service, "DELETE", f"{API}/containers/{ctr_id}?force=true")
