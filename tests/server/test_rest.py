"""Every REST route of the extension and its error codes, libpod and Docker flavors, through
a real Jupyter server (pytest-jupyter) on the real engine."""

from __future__ import annotations

import asyncio
import io
import json
import os
import tarfile

import pytest

from ..conftest import DEMO
from .conftest import DOCKER, LIBPOD

pytestmark = pytest.mark.timeout(120)


async def create(api, cmd=("sleep", "100"), **spec):
    r = await api.post(f"{LIBPOD}/containers/create",
                       body={"image": DEMO, "command": list(cmd), **spec})
    assert r.code == 201, r.body
    return r.json()["Id"]


async def started(api, cmd=("sleep", "100"), **spec):
    cid = await create(api, cmd, **spec)
    r = await api.post(f"{LIBPOD}/containers/{cid}/start")
    assert r.code == 204, r.body
    return cid


async def status(api, cid):
    r = await api.get(f"{LIBPOD}/containers/{cid}/json")
    assert r.code == 200, r.body
    return r.json()["State"]["Status"]


# -- create -----------------------------------------------------------------------------------
async def test_libpod_create_specgen_fields(api):
    r = await api.post(f"{LIBPOD}/containers/create", body={
        "image": DEMO, "command": ["sleep", "100"], "name": "spec1",
        "env": {"FOO": "bar"}, "work_dir": "/tmp", "user": "0", "terminal": True,
        "stdin": True, "labels": {"a": "b"}, "stop_signal": 9, "stop_timeout": 3,
        "resource_limits": {"memory": {"limit": 64 << 20}, "pids": {"limit": 32},
                            "cpu": {"quota": 50000, "period": 100000}},
        "netns": {"nsmode": "none"}, "restart_policy": "on-failure", "restart_tries": 2,
        "unknown_field": 1,
    })
    assert r.code == 201, r.body
    body = r.json()
    assert set(body) == {"Id", "Warnings"} and body["Warnings"] == []
    insp = (await api.get(f"{LIBPOD}/containers/spec1/json")).json()
    assert insp["Id"] == body["Id"]
    assert "FOO=bar" in insp["Config"]["Env"]
    assert insp["Config"]["WorkingDir"] == "/tmp"
    assert insp["Config"]["Tty"] is True and insp["Config"]["OpenStdin"] is True
    assert insp["Config"]["Labels"] == {"a": "b"}
    assert insp["Config"]["StopSignal"] == 9 and insp["Config"]["StopTimeout"] == 3
    assert insp["HostConfig"]["Memory"] == 64 << 20
    assert insp["HostConfig"]["PidsLimit"] == 32
    assert insp["HostConfig"]["NanoCpus"] == 500_000_000
    assert insp["HostConfig"]["RestartPolicy"] == {"Name": "on-failure",
                                                   "MaximumRetryCount": 2}
    assert insp["State"]["Status"] == "created"


async def test_libpod_create_dependencies_and_host_network(api):
    dep = await started(api, name="dep1")
    r = await api.post(f"{LIBPOD}/containers/create", body={
        "image": DEMO, "command": ["true"], "netns": {"nsmode": "host"},
        "dependencyContainers": ["dep1"]})
    assert r.code == 201, r.body
    insp = (await api.get(f"{LIBPOD}/containers/{r.json()['Id']}/json")).json()
    assert insp["Dependencies"] == [dep]
    assert insp["HostConfig"]["NetworkMode"] == "host"


@pytest.mark.parametrize("body,code,cause", [
    ({"command": ["true"]}, 400, "invalid argument"),
    ({"image": "localhost/nope", "command": ["true"]}, 404, "no such image"),
    ({"image": DEMO, "command": ["true"], "name": "bad/name"}, 400, "invalid argument"),
    ({"image": DEMO, "command": ["true"], "netns": {"nsmode": "container:x"}}, 400,
     "invalid argument"),
    ({"image": DEMO, "command": ["true"], "resource_limits": {"memory": {"limit": 1024}}},
     400, "invalid argument"),
    ({"image": DEMO, "command": ["true"], "restart_policy": "sometimes"}, 400,
     "invalid argument"),
])
async def test_libpod_create_errors(api, body, code, cause):
    r = await api.post(f"{LIBPOD}/containers/create", body=body)
    assert r.code == code, r.body
    err = r.json()
    assert err["cause"] == cause and err["response"] == code and err["message"]


async def test_create_bad_json_and_duplicate_name(api):
    r = await api.post(f"{LIBPOD}/containers/create", body="{not json")
    assert r.code == 400 and r.json()["cause"] == "invalid argument"
    await create(api, name="dup")
    r = await api.post(f"{LIBPOD}/containers/create",
                       body={"image": DEMO, "command": ["true"], "name": "dup"})
    assert r.code == 409 and r.json()["cause"] == "container already exists"


async def test_docker_create_body(api):
    r = await api.post(f"{DOCKER}/containers/create", params={"name": "dk1"}, body={
        "Image": DEMO, "Cmd": ["sleep", "100"], "Env": ["A=1"], "Tty": False,
        "OpenStdin": True, "AttachStdin": True, "Labels": {"x": "y"},
        "HostConfig": {"Memory": 32 << 20, "PidsLimit": 16, "NanoCpus": 250_000_000,
                       "NetworkMode": "bridge", "AutoRemove": False,
                       "RestartPolicy": {"Name": "always"}}})
    assert r.code == 201, r.body
    assert r.json()["Warnings"]  # bridge is served as none, and says so
    insp = (await api.get(f"{DOCKER}/containers/dk1/json")).json()
    assert insp["Name"] == "/dk1"
    assert insp["Config"]["Cmd"] == ["sleep", "100"] and "A=1" in insp["Config"]["Env"]
    assert insp["Config"]["OpenStdin"] is True
    assert insp["HostConfig"]["Memory"] == 32 << 20
    assert insp["HostConfig"]["PidsLimit"] == 16
    assert insp["HostConfig"]["NanoCpus"] == 250_000_000
    assert insp["HostConfig"]["NetworkMode"] == "none"
    assert insp["HostConfig"]["RestartPolicy"]["Name"] == "always"
    assert insp["State"]["Status"] == "created" and insp["Image"].startswith("sha256:")
    r = await api.post("ctr/containers/create", body={"Cmd": ["true"]})  # no version prefix
    assert r.code == 400


# -- list, inspect, exists --------------------------------------------------------------------
async def test_list_filters_and_shapes(api):
    running = await started(api, name="ls-run", labels={"team": "a"})
    created = await create(api, name="ls-created")
    r = await api.get(f"{LIBPOD}/containers/json")
    assert [c["Id"] for c in r.json()] == [running]
    item = r.json()[0]
    assert item["Names"] == ["ls-run"] and item["State"] == "running"
    assert item["Labels"] == {"team": "a"} and item["Command"] == ["sleep", "100"]
    # ours, beside podman's fields: who created it, as inspect says
    inspected = (await api.get(f"{LIBPOD}/containers/{running}/json")).json()
    assert item["Owner"] == inspected["Owner"] and item["Owner"]["Uid"] == os.getuid()
    r = await api.get(f"{LIBPOD}/containers/json", params={"all": "true"})
    assert {c["Id"] for c in r.json()} >= {running, created}
    r = await api.get(f"{LIBPOD}/containers/json",
                      params={"all": "true", "filters": json.dumps({"status": ["created"]})})
    assert [c["Id"] for c in r.json()] == [created]
    r = await api.get(f"{LIBPOD}/containers/json",
                      params={"all": "1", "filters": json.dumps({"label": ["team=a"]})})
    assert [c["Id"] for c in r.json()] == [running]
    r = await api.get(f"{DOCKER}/containers/json",
                      params={"all": "1", "filters": json.dumps({"name": {"ls-created": True}})})
    d = r.json()
    assert [c["Id"] for c in d] == [created]
    assert d[0]["Names"] == ["/ls-created"] and d[0]["State"] == "created"
    assert d[0]["Status"] == "Created" and isinstance(d[0]["Created"], int)
    r = await api.get(f"{LIBPOD}/containers/json", params={"filters": "[1]"})
    assert r.code == 400
    r = await api.get(f"{LIBPOD}/containers/json",
                      params={"filters": json.dumps({"bogus": ["x"]})})
    assert r.code == 400


async def test_inspect_exists_and_unknown(api):
    cid = await create(api, name="insp")
    r = await api.get(f"{LIBPOD}/containers/insp/json")
    assert r.json()["Id"] == cid and r.json()["HostConfig"]["LogConfig"]["Type"] == "k8s-file"
    assert (await api.get(f"{LIBPOD}/containers/{cid[:12]}/exists")).code == 204
    for path in ("json", "exists", "start", "stop", "kill", "pause", "unpause", "restart",
                 "init", "wait", "logs", "top", "mount", "unmount", "export", "resize"):
        method = "GET" if path in ("json", "exists", "logs", "top", "export") else "POST"
        r = await api.call(method, f"{LIBPOD}/containers/nosuch/{path}",
                           params={"h": "1", "w": "1", "stdout": "1"})
        assert r.code == 404, (path, r.body)
        assert r.json() == {"cause": "no such container", "response": 404,
                            "message": r.json()["message"]}
    r = await api.delete(f"{DOCKER}/containers/nosuch")
    assert r.code == 404
    r = await api.get("ctr/v4.0.0/libpod/nothing/here")
    assert r.code == 404 and r.json()["response"] == 404


# -- lifecycle verbs and their codes ------------------------------------------------------------
async def test_lifecycle_codes_libpod(api):
    cid = await create(api)
    assert (await api.post(f"{LIBPOD}/containers/{cid}/init")).code == 204
    assert await status(api, cid) == "initialized"
    assert (await api.post(f"{LIBPOD}/containers/{cid}/init")).code == 304
    assert (await api.post(f"{LIBPOD}/containers/{cid}/start")).code == 204
    assert (await api.post(f"{LIBPOD}/containers/{cid}/start")).code == 304
    assert (await api.post(f"{LIBPOD}/containers/{cid}/init")).code == 304
    assert (await api.post(f"{LIBPOD}/containers/{cid}/pause")).code == 204
    assert await status(api, cid) == "paused"
    r = await api.post(f"{LIBPOD}/containers/{cid}/pause")
    assert r.code == 409 and r.json()["cause"] == "container state improper"
    assert (await api.post(f"{LIBPOD}/containers/{cid}/unpause")).code == 204
    assert (await api.post(f"{LIBPOD}/containers/{cid}/unpause")).code == 409
    r = await api.post(f"{LIBPOD}/containers/{cid}/restart", params={"t": "0"})
    assert r.code == 204 and await status(api, cid) == "running"
    r = await api.post(f"{LIBPOD}/containers/{cid}/stop", params={"timeout": "0"})
    assert r.code == 204 and await status(api, cid) == "exited"
    assert (await api.post(f"{LIBPOD}/containers/{cid}/stop")).code == 304
    r = await api.post(f"{LIBPOD}/containers/{cid}/kill")
    assert r.code == 409 and "can only kill running containers" in r.json()["message"]
    r = await api.post(f"{LIBPOD}/containers/{cid}/stop", params={"timeout": "x"})
    assert r.code == 400
    r = await api.delete(f"{LIBPOD}/containers/{cid}")
    assert r.code == 200 and r.json() == [{"Id": cid, "Err": None}]
    r = await api.delete(f"{LIBPOD}/containers/{cid}", params={"ignore": "true"})
    assert r.code == 200 and r.json() == []


async def test_kill_signal_and_delete_force(api):
    cid = await started(api, cmd=("sh", "-c", "trap 'exit 7' USR1; while true; do sleep 0.05; "
                                  "done"))
    await asyncio.sleep(0.2)
    assert (await api.post(f"{LIBPOD}/containers/{cid}/kill",
                           params={"signal": "SIGUSR1"})).code == 204
    r = await api.post(f"{LIBPOD}/containers/{cid}/wait")
    assert r.code == 200 and r.text == "7\n"
    cid2 = await started(api)
    r = await api.delete(f"{LIBPOD}/containers/{cid2}")
    assert r.code == 409
    r = await api.post(f"{LIBPOD}/containers/{cid2}/kill", params={"signal": "NOPE"})
    assert r.code == 400
    r = await api.delete(f"{LIBPOD}/containers/{cid2}", params={"force": "true", "t": "0"})
    assert r.code == 200


async def test_dependency_delete_conflict(api):
    await started(api, name="base1")
    await create(api, cmd=("true",), name="child1", dependencyContainers=["base1"])
    r = await api.delete(f"{LIBPOD}/containers/base1", params={"force": "false"})
    assert r.code == 409 and r.json()["cause"] == "dependency exists"


async def test_docker_verbs(api):
    r = await api.post(f"{DOCKER}/containers/create", body={"Image": DEMO,
                                                             "Cmd": ["sleep", "100"]})
    cid = r.json()["Id"]
    for verb, code in (("start", 204), ("start", 304), ("pause", 204), ("unpause", 204),
                       ("restart", 204), ("stop", 204), ("stop", 304), ("kill", 409)):
        params = {"t": "0"} if verb in ("stop", "restart") else None
        r = await api.post(f"{DOCKER}/containers/{cid}/{verb}", params=params)
        assert r.code == code, (verb, r.body)
    r = await api.post(f"{DOCKER}/containers/{cid}/wait")
    assert r.code == 200 and r.json() == {"StatusCode": 137, "Error": None}
    r = await api.delete(f"{DOCKER}/containers/{cid}")
    assert r.code == 204 and r.body == b""
    r = await api.post("ctr/containers/nosuch/start")
    assert r.code == 404 and r.json()["message"]


# -- wait ---------------------------------------------------------------------------------------
async def test_wait_conditions(api):
    cid = await create(api, cmd=("sh", "-c", "sleep 0.3; exit 3"))
    waiter = asyncio.ensure_future(api.post(f"{LIBPOD}/containers/{cid}/wait",
                                            params=[("condition", "running"),
                                                    ("condition", "paused")]))
    await asyncio.sleep(0.1)
    assert not waiter.done()
    await api.post(f"{LIBPOD}/containers/{cid}/start")
    r = await waiter
    assert r.code == 200 and r.text == "-1\n"
    r = await api.post(f"{LIBPOD}/containers/{cid}/wait")
    assert r.text == "3\n" and r.headers["Content-Type"].startswith("text/plain")
    r = await api.post(f"{LIBPOD}/containers/{cid}/wait", params={"condition": "bogus"})
    assert r.code == 400
    r = await api.post(f"{DOCKER}/containers/{cid}/wait", params={"condition": "bogus"})
    assert r.code == 400


async def test_docker_wait_next_exit_and_removed(api):
    r = await api.post(f"{DOCKER}/containers/create", body={
        "Image": DEMO, "Cmd": ["sh", "-c", "exit 5"], "HostConfig": {"AutoRemove": True}})
    cid = r.json()["Id"]
    nxt = asyncio.ensure_future(api.post(f"{DOCKER}/containers/{cid}/wait",
                                         params={"condition": "next-exit"}))
    rem = asyncio.ensure_future(api.post(f"{DOCKER}/containers/{cid}/wait",
                                         params={"condition": "removed"}))
    await asyncio.sleep(0.3)
    assert not nxt.done() and not rem.done()
    assert (await api.post(f"{DOCKER}/containers/{cid}/start")).code == 204
    assert (await nxt).json()["StatusCode"] == 5
    assert (await rem).json()["StatusCode"] == 5
    assert (await api.get(f"{DOCKER}/containers/{cid}/json")).code == 404


# -- logs ---------------------------------------------------------------------------------------
def demux(body: bytes) -> list[tuple[int, bytes]]:
    out, pos = [], 0
    while pos < len(body):
        stream, length = body[pos], int.from_bytes(body[pos + 4:pos + 8], "big")
        out.append((stream, body[pos + 8:pos + 8 + length]))
        pos += 8 + length
    return out


async def test_logs_framing_and_options(api):
    cid = await started(api, cmd=("sh", "-c", "echo one; echo two >&2; sleep 0.2; echo three"))
    await api.post(f"{LIBPOD}/containers/{cid}/wait")
    r = await api.get(f"{LIBPOD}/containers/{cid}/logs", params={"stdout": "1", "stderr": "1"})
    assert r.code == 200
    frames = demux(r.body)  # stdout and stderr are two pipes: no order between them
    assert [f for f in frames if f[0] == 1] == [(1, b"one\n"), (1, b"three\n")]
    assert [f for f in frames if f[0] == 2] == [(2, b"two\n")]
    r = await api.get(f"{LIBPOD}/containers/{cid}/logs", params={"stdout": "1", "tail": "1"})
    assert demux(r.body) == [(1, b"three\n")]
    r = await api.get(f"{DOCKER}/containers/{cid}/logs", params={"stderr": "1",
                                                                 "timestamps": "1"})
    frames = demux(r.body)
    assert len(frames) == 1 and frames[0][1].endswith(b"Z two\n")
    r = await api.get(f"{LIBPOD}/containers/{cid}/logs", params={"stdout": "1",
                                                                 "until": "1"})
    assert r.body == b""
    r = await api.get(f"{LIBPOD}/containers/{cid}/logs", params={"stdout": "1",
                                                                 "since": "5m"})
    assert len(demux(r.body)) == 2
    r = await api.get(f"{LIBPOD}/containers/{cid}/logs")
    assert r.code == 400
    r = await api.get(f"{LIBPOD}/containers/{cid}/logs", params={"stdout": "1",
                                                                 "since": "yesterday"})
    assert r.code == 400


async def test_logs_follow_and_tty_raw(api):
    cid = await started(api, cmd=("sh", "-c", "echo a; sleep 0.5; echo b"))
    r = await api.get(f"{LIBPOD}/containers/{cid}/logs",
                      params={"stdout": "1", "follow": "1"})
    assert demux(r.body) == [(1, b"a\n"), (1, b"b\n")]
    tty = await started(api, cmd=("echo", "tty-out"), terminal=True)
    await api.post(f"{LIBPOD}/containers/{tty}/wait")
    r = await api.get(f"{DOCKER}/containers/{tty}/logs", params={"stdout": "1"})
    assert r.headers["Content-Type"] == "application/vnd.docker.raw-stream"
    assert r.body.replace(b"\r", b"") == b"tty-out\n"


# -- top, stats, mount, export, resize -------------------------------------------------------
async def test_top_stats_mount_export_resize(api):
    cid = await started(api, resource_limits={"memory": {"limit": 64 << 20}})
    for _ in range(50):  # right after start the process may still be runc's init
        r = await api.get(f"{LIBPOD}/containers/{cid}/top")
        assert r.code == 200 and r.json()["Titles"][1] == "PID"
        if any("sleep" in " ".join(p) for p in r.json()["Processes"]):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError(r.json())
    r = await api.get(f"{DOCKER}/containers/{cid}/stats", params={"stream": "false"})
    s = r.json()
    assert s["id"] == cid and s["memory_stats"]["limit"] == 64 << 20
    assert s["pids_stats"]["current"] >= 1 and s["precpu_stats"]["system_cpu_usage"] > 0
    r = await api.get(f"{LIBPOD}/containers/stats",
                      params={"containers": cid, "stream": "false"})
    assert r.json()["Stats"][0]["ContainerID"] == cid
    r = await api.get(f"{LIBPOD}/containers/{cid}/stats", params={"stream": "false"})
    assert r.json()["id"] == cid
    r = await api.post(f"{LIBPOD}/containers/{cid}/resize", params={"h": "10", "w": "20"})
    assert r.code == 200
    r = await api.post(f"{LIBPOD}/containers/{cid}/resize", params={"h": "0", "w": "20"})
    assert r.code == 400
    r = await api.post(f"{LIBPOD}/containers/{cid}/mount")
    assert r.code == 200 and r.text.strip().endswith("/merged")
    assert (await api.post(f"{LIBPOD}/containers/{cid}/unmount")).code == 204
    r = await api.get(f"{LIBPOD}/containers/{cid}/export")
    assert r.code == 200 and r.headers["Content-Type"] == "application/x-tar"
    with tarfile.open(fileobj=io.BytesIO(r.body)) as tf:
        assert "./bin/busybox" in tf.getnames()
    await api.post(f"{LIBPOD}/containers/{cid}/stop", params={"timeout": "0"})
    r = await api.get(f"{LIBPOD}/containers/{cid}/top")
    assert r.code == 409
    r = await api.get(f"{DOCKER}/containers/{cid}/stats", params={"stream": "0"})
    assert r.code == 409
    r = await api.post(f"{LIBPOD}/containers/{cid}/resize", params={"h": "10", "w": "20"})
    assert r.code == 409


# -- images and system ---------------------------------------------------------------------------
async def test_images(api, rt):
    r = await api.get(f"{LIBPOD}/images/json")
    assert any(DEMO in i["RepoTags"] for i in r.json())
    r = await api.get(f"{DOCKER}/images/json")
    assert any(i["Id"].startswith("sha256:") and DEMO in i["RepoTags"] for i in r.json())
    r = await api.get(f"{LIBPOD}/images/{DEMO}/json")
    assert r.code == 200 and DEMO in r.json()["RepoTags"]
    assert (await api.get(f"{DOCKER}/images/{DEMO}/json")).json()["Os"] == "linux"
    assert (await api.get(f"{LIBPOD}/images/{DEMO}/exists")).code == 204
    r = await api.get(f"{LIBPOD}/images/localhost/nope/json")
    assert r.code == 404 and r.json()["cause"] == "no such image"
    # import a tiny rootfs from the request body, then remove it
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        data = b"hello\n"
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    r = await api.post(f"{LIBPOD}/images/import", params={"reference": "localhost/tiny:1"},
                       body=buf.getvalue(), headers={"Content-Type": "application/x-tar"})
    assert r.code == 200, r.body
    image_id = r.json()["Id"]
    r = await api.get(f"{LIBPOD}/images/localhost/tiny:1/json")
    assert r.json()["Id"] == image_id
    r = await api.post(f"{LIBPOD}/images/import", params={"reference": "localhost/x"},
                       body=b"not a tarball at all")
    assert r.code == 400
    r = await api.post(f"{LIBPOD}/images/import", body=buf.getvalue())
    assert r.code == 400
    r = await api.post(f"{LIBPOD}/images/pull", params={"reference": DEMO})
    assert r.code == 200 and json.loads(r.body.splitlines()[-1])["id"]
    r = await api.post(f"{DOCKER}/images/create", params={"fromImage": "localhost/nope"})
    assert r.code == 404
    r = await api.delete(f"{LIBPOD}/images/localhost/tiny:1")
    assert r.code == 200 and r.json()["Deleted"] == [image_id]
    assert (await api.get(f"{LIBPOD}/images/{image_id}/json")).code == 404
    assert (await api.delete(f"{DOCKER}/images/localhost/tiny:1")).code == 404
    # uploads were spooled in the engine's run root, under names the server chose, and are gone
    assert list((rt.run_root / "uploads").iterdir()) == []


async def test_image_in_use(api):
    await create(api)
    r = await api.delete(f"{LIBPOD}/images/{DEMO}")
    assert r.code == 409 and r.json()["cause"] == "image is in use by a container"


async def test_image_remove_by_one_of_several_names(api, rt):
    """podman's and Docker's rmi: one of several names is only untagged (libpod: Untagged,
    no Deleted; Docker: [{"Untagged"}]), even while a container uses the image; by ID with
    several names 409 unless forced; the last name goes with the image ([{"Untagged"},
    {"Deleted"}]), 409 while a container uses it."""
    src = rt.create_container(DEMO, ["true"], name="rest-rm-src")
    image_id = rt.commit_container(src, "localhost/rest/rm:1").id
    for name in ("localhost/rest/rm:2", "quay.io/rest/rm:3", "localhost/rest/rm:4"):
        rt.tag_image(image_id, name)
    r = await api.delete(f"{LIBPOD}/images/localhost/rest/rm:2")
    assert r.code == 200 and r.json() == {"Deleted": [], "Untagged": ["localhost/rest/rm:2"],
                                          "Errors": [], "ExitCode": 0}
    r = await api.delete(f"{DOCKER}/images/quay.io/rest/rm:3")
    assert r.code == 200 and r.json() == [{"Untagged": "quay.io/rest/rm:3"}]
    assert rt.images.get(image_id).names == ["localhost/rest/rm:1", "localhost/rest/rm:4"]
    for base in (LIBPOD, DOCKER):
        r = await api.delete(f"{base}/images/{image_id[:12]}")
        assert r.code == 409, r.body
        assert r.json()["message"].startswith(f'unable to delete image "{image_id}" by ID '
                                              "with more than one tag")
    user = rt.create_container("localhost/rest/rm:1", ["true"], name="rest-rm-user")
    r = await api.delete(f"{DOCKER}/images/localhost/rest/rm:4")
    assert r.code == 200 and r.json() == [{"Untagged": "localhost/rest/rm:4"}]
    r = await api.delete(f"{LIBPOD}/images/localhost/rest/rm:1")
    assert r.code == 409 and r.json()["cause"] == "image is in use by a container"
    rt.remove_container(user)
    r = await api.delete(f"{DOCKER}/images/localhost/rest/rm:1")
    assert r.code == 200 and r.json() == [{"Untagged": "localhost/rest/rm:1"},
                                          {"Deleted": f"sha256:{image_id}"}]
    assert (await api.get(f"{LIBPOD}/images/{image_id}/json")).code == 404

    forced = rt.commit_container(src, "localhost/rest/rm:5").id
    rt.tag_image(forced, "localhost/rest/rm:6")
    r = await api.delete(f"{LIBPOD}/images/{forced}", params={"force": "true"})
    assert r.code == 200 and r.json() == {
        "Deleted": [forced], "Untagged": ["localhost/rest/rm:5", "localhost/rest/rm:6"],
        "Errors": [], "ExitCode": 0}


async def test_system_routes(api):
    for base in (LIBPOD, DOCKER, "ctr"):
        r = await api.get(f"{base}/_ping")
        assert r.code == 200 and r.text == "OK"
        assert r.headers["Api-Version"] == "1.41" and r.headers["Libpod-Api-Version"]
        r = await api.call("HEAD", f"{base}/_ping")
        assert r.code == 200
        v = (await api.get(f"{base}/version")).json()
        assert v["ApiVersion"] == "1.41" and v["Components"][0]["Name"] == "Podman Engine"
    info = (await api.get(f"{LIBPOD}/info")).json()
    assert info["store"]["imageStore"]["number"] >= 1 and info["host"]["os"] == "linux"
    info = (await api.get(f"{DOCKER}/info")).json()
    assert info["OSType"] == "linux" and info["Images"] >= 1
