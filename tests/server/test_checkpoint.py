"""Checkpoint and restore over REST (real CRIU): export to the response body, import from
the request body, in-place restore."""

from __future__ import annotations

import asyncio
import io
import json
import tarfile

import pytest

from .conftest import LIBPOD
from .test_rest import demux, started

pytestmark = pytest.mark.timeout(180)

COUNTER = ("sh", "-c", "i=0; while true; do echo $i; i=$((i+1)); sleep 0.1; done")


async def restorable(api, cid: str) -> bool:
    """The list item's Restorable field (ours: a restore would find a checkpoint)."""
    r = await api.get(f"{LIBPOD}/containers/json", params={"all": "true"})
    return next(c["Restorable"] for c in r.json() if c["Id"] == cid)


async def test_checkpoint_in_place_and_restore(api):
    cid = await started(api, cmd=COUNTER)
    await asyncio.sleep(0.5)
    assert not await restorable(api, cid)
    r = await api.post(f"{LIBPOD}/containers/{cid}/checkpoint", params={"printStats": "1"},
                       request_timeout=120)
    assert r.code == 200, r.body
    assert r.json()["Id"] == cid and "RuntimeDuration" in r.json()
    st = (await api.get(f"{LIBPOD}/containers/{cid}/json")).json()["State"]
    assert st["Status"] == "exited"
    assert await restorable(api, cid)
    r = await api.post(f"{LIBPOD}/containers/{cid}/restore", request_timeout=120)
    assert r.code == 200, r.body
    assert (await api.get(f"{LIBPOD}/containers/{cid}/json")).json()["State"]["Status"] == \
        "running"
    assert not await restorable(api, cid)  # running, and the images were consumed
    r = await api.post(f"{LIBPOD}/containers/{cid}/restore")
    assert r.code == 409  # running: nothing to restore


async def test_restorable_follows_the_images_not_the_state(api):
    """A checkpoint that leaves the container running is restorable once it has stopped; a
    stopped container that was never checkpointed is not."""
    cid = await started(api, cmd=COUNTER)
    other = await started(api, cmd=COUNTER)
    r = await api.post(f"{LIBPOD}/containers/{cid}/checkpoint",
                       params={"leaveRunning": "true"}, request_timeout=120)
    assert r.code == 200, r.body
    assert not await restorable(api, cid)  # still running
    for c in (cid, other):
        assert (await api.post(f"{LIBPOD}/containers/{c}/stop", params={"t": "0"})).code == 204
    assert await restorable(api, cid)
    assert not await restorable(api, other)


async def test_checkpoint_export_then_import(api, rt):
    cid = await started(api, cmd=COUNTER, name="ck-src")
    await asyncio.sleep(0.5)
    r = await api.post(f"{LIBPOD}/containers/{cid}/checkpoint",
                       params={"export": "true", "leaveRunning": "true"}, request_timeout=120)
    assert r.code == 200, r.body
    assert r.headers["Content-Type"] == "application/x-tar"
    with tarfile.open(fileobj=io.BytesIO(r.body)) as tf:
        assert any(n.endswith("inventory.img") for n in tf.getnames())
    assert (await api.get(f"{LIBPOD}/containers/{cid}/json")).json()["State"]["Status"] == \
        "running"
    r = await api.post(f"{LIBPOD}/containers/import/restore",
                       params={"import": "true", "name": "ck-copy"}, body=r.body,
                       headers={"Content-Type": "application/x-tar"}, request_timeout=120)
    assert r.code == 200, r.body
    new_id = r.json()["Id"]
    assert new_id != cid
    insp = (await api.get(f"{LIBPOD}/containers/ck-copy/json")).json()
    assert insp["State"]["Status"] == "running"
    await asyncio.sleep(0.3)
    r = await api.get(f"{LIBPOD}/containers/ck-copy/logs", params={"stdout": "1"})
    numbers = [int(data) for _, data in demux(r.body)]
    assert numbers and numbers[-1] >= 3  # it went on counting from where it was
    # errors: garbage archive, nothing to import, unknown container
    r = await api.post(f"{LIBPOD}/containers/import/restore", params={"import": "1"},
                       body=b"garbage")
    assert r.code == 400 and json.loads(r.body)["response"] == 400
    r = await api.post(f"{LIBPOD}/containers/import/restore", params={"import": "1"})
    assert r.code == 400
    r = await api.post(f"{LIBPOD}/containers/nosuch/checkpoint")
    assert r.code == 404
    assert list((rt.run_root / "uploads").iterdir()) == []  # exports and imports spooled, gone
