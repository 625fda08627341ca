from __future__ import annotations

from .conftest import DOCKER, LIBPOD


async def test_ping(api):
    r = await api.get(f"{LIBPOD}/_ping")
    assert r.code == 200, r.body
    assert r.text == "OK"


async def test_create_start_stop_delete(api):
    r = await api.post(f"{LIBPOD}/containers/create",
                       body={"image": "localhost/busybox", "command": ["sleep", "100"]})
    assert r.code == 201, r.body
    cid = r.json()["Id"]
    r = await api.post(f"{LIBPOD}/containers/{cid}/start")
    assert r.code == 204, r.body
    r = await api.get(f"{DOCKER}/containers/{cid}/json")
    assert r.json()["State"]["Status"] == "running"
    r = await api.post(f"{LIBPOD}/containers/{cid}/stop", params={"timeout": "0"})
    assert r.code == 204, r.body
    r = await api.delete(f"{LIBPOD}/containers/{cid}")
    assert r.code == 200, r.body
    r = await api.get(f"{LIBPOD}/containers/{cid}/json")
    assert r.code == 404
    assert r.json()["cause"] == "no such container", r.json()
