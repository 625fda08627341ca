"""The checkpoint timeline over REST (real CRIU): in process, and as students through the
multi-user service (another's container is not there; max_snapshots and max_snapshot_size
refuse with a 403 naming the rule)."""

from __future__ import annotations

import asyncio
import gzip
import io
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_ctr.engine import Runtime
from tests.conftest import DEMO, wait_until
from tests.multiuser import API, User, people, root_service  # noqa: F401 - people: a fixture

from .conftest import LIBPOD
from .test_multiuser_policy import refused
from .test_rest import started, status

pytestmark = pytest.mark.timeout(240)

COUNTER = ("sh", "-c", "i=0; while true; do echo $i; i=$((i+1)); sleep 0.1; done")
T = "ctr/api"


async def test_snapshot_list_rewind_export_import_remove(api, rt: Runtime) -> None:
    cid = await started(api, cmd=COUNTER)
    await asyncio.sleep(0.3)
    r = await api.post(f"{T}/containers/{cid}/snapshots", params={"step": "one"},
                       request_timeout=120)
    assert r.code == 201, r.body
    snap = r.json()
    assert set(snap) == {"Name", "Kind", "Created", "Size", "Reason"}
    assert (snap["Name"], snap["Kind"], snap["Reason"]) == ("one", "checkpoint", "")
    assert snap["Size"] > 0 and snap["Created"].endswith("Z")
    assert await status(api, cid) == "running"
    r = await api.post(f"{T}/containers/{cid}/snapshots", params={"step": "one"})
    assert r.code == 400 and "exists already" in r.json()["message"]
    r = await api.post(f"{T}/containers/{cid}/snapshots", params={"step": "one",
                                                                  "replace": "1"})
    assert r.code == 201, r.body
    for bad in ("../x", ".x", "a b"):
        r = await api.post(f"{T}/containers/{cid}/snapshots", params={"step": bad})
        assert r.code == 400 and "invalid step name" in r.json()["message"], r.body
    r = await api.post(f"{T}/containers/{cid}/snapshots")
    assert r.code == 400 and "step" in r.json()["message"]
    r = await api.post(f"{T}/containers/nope/snapshots", params={"step": "x"})
    assert r.code == 404
    r = await api.get(f"{T}/containers/{cid}/snapshots")
    assert r.code == 200 and [s["Name"] for s in r.json()] == ["one"]

    r = await api.post(f"{T}/containers/{cid}/snapshots/one/rewind", request_timeout=120)
    assert r.code == 200 and r.json()["Name"] == "one", r.body
    assert await status(api, cid) == "running"
    r = await api.post(f"{T}/containers/{cid}/snapshots/two/rewind")
    assert r.code == 404 and r.json()["cause"] == "no such snapshot"

    r = await api.get(f"{T}/containers/{cid}/snapshots/one/export", request_timeout=120)
    assert r.code == 200 and r.headers["Content-Type"] == "application/x-tar"
    names = tarfile.open(fileobj=io.BytesIO(gzip.decompress(r.body))).getnames()
    assert "checkpoint/inventory.img" in names and names[-1] == "manifest.json"
    archive = r.body
    r = await api.get(f"{T}/containers/{cid}/snapshots/zzz/export")
    assert r.code == 404

    r = await api.post(f"{T}/snapshots/import", params={"name": "imported"}, body=archive,
                       request_timeout=120)
    assert r.code == 201, r.body
    assert r.json()["Name"] == "imported"
    assert await status(api, r.json()["Id"]) == "running"
    r = await api.post(f"{T}/snapshots/import", body=b"junk" * 100)
    assert r.code == 400, r.body

    r = await api.delete(f"{T}/containers/{cid}/snapshots/one")
    assert r.code == 204
    r = await api.delete(f"{T}/containers/{cid}/snapshots/one")
    assert r.code == 404
    assert (await api.get(f"{T}/containers/{cid}/snapshots")).json() == []
    events = [e for e in rt.events(filters={"container": [cid]})
              if e.action in ("snapshot", "rewind")]
    assert [(e.action, e.attributes["step"]) for e in events] == [
        ("snapshot", "one"), ("snapshot", "one"), ("rewind", "one")]


async def test_stopped_container_gets_a_filesystem_snapshot(api) -> None:
    cid = await started(api, cmd=("sh", "-c", "echo x > /f"))
    r = await api.post(f"{LIBPOD}/containers/{cid}/wait")
    assert r.code == 200
    r = await api.post(f"{T}/containers/{cid}/snapshots", params={"step": "s"})
    assert r.code == 201 and r.json()["Kind"] == "filesystem"
    assert r.json()["Reason"] == "the container was not running"


# -- the multi-user service ------------------------------------------------------------------
@pytest.fixture(scope="module")
def timeline_service(people: dict[str, Any],  # noqa: F811 - the imported fixture
                     engine_roots: tuple[Path, Path]) -> Iterator[Path]:
    tag = people["tag"]
    config = {
        "ServiceSettings": {"socket_group": f"{tag}s", "instructor_group": f"{tag}i"},
        "PolicyRules": {"max_snapshots": 2, "max_snapshot_size": "1m"}}
    with root_service(people, engine_roots, config=config) as sock:
        yield sock


def test_students_timeline_ownership_and_limits(people: dict[str, Any],  # noqa: F811
                                                timeline_service: Path) -> None:
    sock = timeline_service
    a: User = people["a"]
    b: User = people["b"]
    t: User = people["t"]
    tag = people["tag"]
    small, big = f"{tag}small", f"{tag}big"
    made = a.call(sock,
                  ("POST", f"{API}/containers/create",
                   {"image": DEMO, "name": small, "command": list(COUNTER)}),
                  ("POST", f"{API}/containers/{small}/start", None),
                  ("POST", f"{API}/containers/create",
                   {"image": DEMO, "name": big, "command": [
                       "sh", "-c", "head -c 2000000 /dev/urandom > /big; sleep 600"]}),
                  ("POST", f"{API}/containers/{big}/start", None))
    assert [s for s, _ in made] == [201, 204, 201, 204], made
    snaps = f"/api/containers/{small}/snapshots"
    answers = a.call(sock, ("POST", f"{snaps}?step=s1", None),
                     ("POST", f"{snaps}?step=s2", None),
                     ("POST", f"{snaps}?step=s3", None),
                     ("POST", f"{snaps}?step=s2&replace=true", None),
                     ("GET", snaps, None))
    assert [s for s, _ in answers[:2]] == [201, 201], answers
    assert "has 2 snapshots, the most allowed is 2" in refused(*answers[2], "max_snapshots")
    assert answers[3][0] == 201, answers[3]  # replacing one is not one more
    assert [s["Name"] for s in answers[4][1]] == ["s1", "s2"]
    # Another student: the container is not there for them, whatever the verb.
    others = b.call(sock, ("GET", snaps, None), ("POST", f"{snaps}?step=x", None),
                    ("POST", f"{snaps}/s1/rewind", None), ("DELETE", f"{snaps}/s1", None),
                    ("GET", f"{snaps}/s1/export", None))
    assert [s for s, _ in others] == [404] * 5, others
    # The rewind is the owner's.
    status_, body = a.one(sock, "POST", f"{snaps}/s1/rewind")
    assert status_ == 200 and body["Name"] == "s1", body
    # One snapshot over max_snapshot_size (1m: the container wrote 2 MB) is not kept.
    wait_until(lambda: a.one(sock, "GET", f"{API}/containers/{big}/top")[0] == 200, 5)
    bigsnaps = f"/api/containers/{big}/snapshots"
    (s1, b1), (s2, listed) = a.call(sock, ("POST", f"{bigsnaps}?step=huge", None),
                                    ("GET", bigsnaps, None))
    assert "over 1m: it was not kept" in refused(s1, b1, "max_snapshot_size")
    assert listed == []
    # The instructor is exempt.
    assert t.one(sock, "POST", f"{bigsnaps}?step=huge")[0] == 201
    assert t.one(sock, "POST", f"{snaps}?step=s3")[0] == 201

