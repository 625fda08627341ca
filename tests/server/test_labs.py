"""Bulk actions on a lab's containers over REST (``/ctr/api/labs``): in a real Jupyter
server, one result per container with a failing one among them; in the multi-user service,
an instructor acts on two students' containers of a lab and a student is refused (403,
rule instructor_only) with nothing touched."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import pytest

from jupyter_ctr.engine import ContainerState, Runtime
from jupyter_ctr.engine.container import Container
from jupyter_ctr.engine.records import LAB_LABEL
from tests.conftest import DEMO
from tests.multiuser import API, people, root_service  # noqa: F401 - people: a fixture

pytestmark = pytest.mark.timeout(240)
S = ContainerState
LABS = "ctr/api/labs"


def lab_container(rt: Runtime, name: str, lab: str, **kw: Any) -> Container:
    ctr = rt.create_container(DEMO, ["sleep", "1000"], name=name, labels={LAB_LABEL: lab},
                              **kw)
    ctr.start()
    return ctr


async def test_labs_and_bulk_stop_start_with_a_failing_container(api, rt: Runtime) -> None:
    dep = rt.create_container(DEMO, ["sleep", "1000"], name="dep")
    ctrs = [await asyncio.to_thread(lab_container, rt, f"l1-{i}", "l1") for i in range(2)]
    # the third needs dep running: its start fails, the others' must not
    broken = rt.create_container(DEMO, ["sleep", "1000"], name="l1-broken",
                                 labels={LAB_LABEL: "l1"}, depends_on=[dep])
    other = await asyncio.to_thread(lab_container, rt, "l2-0", "l2")

    r = await api.get(LABS)
    assert r.code == 200, r.body
    assert r.json() == [
        {"Name": "l1", "Containers": 3, "Running": 2, "Owners": ["root"]},
        {"Name": "l2", "Containers": 1, "Running": 1, "Owners": ["root"]}]

    r = await api.post(f"{LABS}/l1/stop", params={"timeout": "0"}, request_timeout=120)
    assert r.code == 200, r.body
    reply = r.json()
    assert reply["Lab"] == "l1" and reply["Action"] == "stop"
    results = {res["Name"]: res for res in reply["Results"]}
    assert set(results) == {"l1-0", "l1-1", "l1-broken"}
    assert all(res["Ok"] and res["Error"] == "" and res["Owner"] == "root"
               for res in results.values()), results
    assert {res["Id"] for res in reply["Results"]} == {*(c.id for c in ctrs), broken.id}
    assert all(c.state in (S.STOPPED, S.EXITED) for c in ctrs)
    assert other.state is S.RUNNING  # another lab is untouched

    r = await api.post(f"{LABS}/l1/start", request_timeout=120)
    assert r.code == 200, r.body
    results = {res["Name"]: res for res in r.json()["Results"]}
    assert results["l1-0"]["Ok"] and results["l1-1"]["Ok"]
    assert not results["l1-broken"]["Ok"]
    assert "dependencies are not running" in results["l1-broken"]["Error"]
    assert all(c.state is S.RUNNING for c in ctrs)
    assert broken.state is not S.RUNNING

    # an event per container, as its own verb records
    events = [e for e in rt.events(since=0, until=None, filters={"event": ["start"]})
              if e.id in {c.id for c in ctrs}]
    assert len(events) >= 4

    r = await api.post(f"{LABS}/l1/remove", params={"timeout": "0"}, request_timeout=120)
    assert r.code == 200 and all(res["Ok"] for res in r.json()["Results"]), r.body
    assert {c.name for c in rt.list_containers(all=True)} == {"dep", "l2-0"}


async def test_bad_requests(api, rt: Runtime) -> None:
    await asyncio.to_thread(lab_container, rt, "l3-0", "l3")
    r = await api.post(f"{LABS}/l3/explode")
    assert r.code == 400 and "unknown lab action" in r.json()["message"]
    r = await api.post(f"{LABS}/l3/reset")
    assert r.code == 400 and "step" in r.json()["message"]
    r = await api.post(f"{LABS}/nosuch/stop")
    assert r.code == 404 and "nosuch" in r.json()["message"]


def sh(ctr: Container, script: str) -> int:
    out = io.BytesIO()
    return int(ctr.exec(["sh", "-c", script]).start_and_attach(stdout=out, stderr=out))


async def test_bulk_reset_rewinds_each_container(api, rt: Runtime) -> None:
    ctrs = [await asyncio.to_thread(lab_container, rt, f"l4-{i}", "l4") for i in range(2)]
    for ctr in ctrs:
        await asyncio.to_thread(ctr.snapshot, "step-1")
        assert await asyncio.to_thread(sh, ctr, "touch /broken") == 0
    r = await api.post(f"{LABS}/l4/reset", params={"step": "step-1"}, request_timeout=180)
    assert r.code == 200, r.body
    assert all(res["Ok"] for res in r.json()["Results"]), r.body
    for ctr in ctrs:
        assert ctr.state is S.RUNNING
        assert await asyncio.to_thread(sh, ctr, "test -e /broken") != 0
    events = [e for e in rt.events(since=0, until=None, filters={"event": ["rewind"]})
              if e.id in {c.id for c in ctrs}]
    assert len(events) == 2
    # a step one container lacks: its error, the other rewound
    await asyncio.to_thread(ctrs[0].snapshot, "step-2")
    r = await api.post(f"{LABS}/l4/reset", params={"step": "step-2"}, request_timeout=180)
    results = {res["Name"]: res for res in r.json()["Results"]}
    assert results["l4-0"]["Ok"] and not results["l4-1"]["Ok"], results
    assert "step-2" in results["l4-1"]["Error"]


# -- multi-user ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def service(people: dict[str, Any],  # noqa: F811 - the imported fixture
            engine_roots: tuple[Path, Path]) -> Any:
    with root_service(people, engine_roots) as sock:
        yield sock


def test_instructor_bulk_acts_on_students_and_a_student_is_refused(
        people: dict[str, Any], service: Path) -> None:  # noqa: F811
    a, b, t = people["a"], people["b"], people["t"]
    lab, other = f"{people['tag']}-lab", f"{people['tag']}-other"

    def box(user: Any, name: str, in_lab: str) -> tuple[str, str, Any]:
        return ("POST", f"{API}/containers/create",
                {"image": DEMO, "command": ["sleep", "1000"], "name": f"{user.name}-{name}",
                 "labels": {LAB_LABEL: in_lab}})

    made = a.call(service, box(a, "lab", lab), box(a, "other", other),
                  ("POST", f"{API}/containers/{a.name}-lab/start", None),
                  ("POST", f"{API}/containers/{a.name}-other/start", None))
    assert [s for s, _ in made] == [201, 201, 204, 204], made
    made = b.call(service, box(b, "lab", lab),
                  ("POST", f"{API}/containers/{b.name}-lab/start", None))
    assert [s for s, _ in made] == [201, 204], made

    def state(name: str) -> str:
        status, body = t.one(service, "GET", f"{API}/containers/{name}/json")
        assert status == 200, body
        return str(body["State"]["Status"])

    # a student sees their own labs only, and may not act on a whole lab
    status, labs = a.one(service, "GET", "/api/labs")
    assert status == 200
    mine = {entry["Name"]: entry for entry in labs}
    assert mine[lab] == {"Name": lab, "Containers": 1, "Running": 1, "Owners": [a.name]}
    status, body = a.one(service, "POST", f"/api/labs/{lab}/stop?timeout=0")
    assert status == 403, body
    assert body["message"].startswith("refused by policy rule instructor_only: "), body
    assert "lab.bulk" in body["message"]
    assert [state(f"{u.name}-lab") for u in (a, b)] == ["running", "running"]

    # the instructor sees both students in the lab, and stops both of their containers
    status, labs = t.one(service, "GET", "/api/labs")
    everyone = {entry["Name"]: entry for entry in labs}
    assert everyone[lab]["Owners"] == sorted([a.name, b.name])
    status, body = t.one(service, "POST", f"/api/labs/{lab}/stop?timeout=0")
    assert status == 200, body
    results = body["Results"]
    assert sorted(r["Owner"] for r in results) == sorted([a.name, b.name]), results
    assert all(r["Ok"] for r in results), results
    assert [state(f"{u.name}-lab") for u in (a, b)] == ["exited", "exited"]
    assert state(f"{a.name}-other") == "running"  # another lab is untouched

    status, body = t.one(service, "POST", f"/api/labs/{lab}/remove?timeout=0")
    assert status == 200 and len(body["Results"]) == 2, body
    status, body = t.one(service, "GET", f"{API}/containers/{a.name}-lab/json")
    assert status == 404
