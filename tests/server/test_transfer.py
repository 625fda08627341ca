"""REST pull, push, load and save (libpod and Docker routes) against the real registry
fixture: streamed progress in podman's and Docker's shapes, errors after the 200, the
X-Registry-Auth header, archives as request bodies and streamed answers."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import tarfile
from typing import Any

from jupyter_ctr.engine import Runtime
from jupyter_ctr.engine.errors import NoSuchImageError

from ..engine.images.registry import PASSWORD, TEST_LAYERS, TEST_REPO, TEST_TAG, USER
from .conftest import DOCKER, LIBPOD

DEMO = "localhost/busybox:latest"


def lines(body: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def drop(rt: Runtime, *refs: str) -> None:
    for ref in refs:
        with contextlib.suppress(NoSuchImageError):
            rt.remove_image(ref)


def auth_header(user: str, password: str, server: str = "") -> str:
    doc = {"username": user, "password": password, "serveraddress": server}
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode()


async def test_libpod_pull_push(api, rt, registry):
    ref = f"{registry.host}/{TEST_REPO}:{TEST_TAG}"
    drop(rt, ref)
    r = await api.post(f"{LIBPOD}/images/pull", params={"reference": ref, "tlsVerify": "false"})
    assert r.code == 200 and r.headers["Content-Type"] == "application/json"
    objs = lines(r.body)
    streamed = [o["stream"] for o in objs if "stream" in o]
    assert streamed[0] == f"Trying to pull {ref}...\n"
    assert sum(s.startswith("Copying blob sha256:") for s in streamed) == TEST_LAYERS
    assert "Writing manifest to image destination\n" in streamed
    image_id = objs[-1]["id"] and objs[-1]["images"] == [objs[-1]["id"]] and objs[-1]["id"]
    r = await api.get(f"{LIBPOD}/images/{ref}/json")
    assert r.json()["Id"] == image_id
    # quiet: the result only
    r = await api.post(f"{LIBPOD}/images/pull",
                       params={"reference": ref, "tlsVerify": "false", "quiet": "true"})
    assert lines(r.body) == [{"images": [image_id], "id": image_id}]
    # push under another name
    dest = f"{registry.host}/test/rest-pushed:1"
    r = await api.post(f"{LIBPOD}/images/{ref}/push",
                       params={"destination": dest, "tlsVerify": "false"})
    assert r.code == 200, r.body
    objs = lines(r.body)
    assert objs[-1]["manifestdigest"].startswith("sha256:")
    assert any(o.get("stream", "").startswith("Copying blob") for o in objs)
    assert registry.tags("test/rest-pushed") == ["1"]
    # a push of an image that is not here: 404 before any stream
    r = await api.post(f"{LIBPOD}/images/localhost/nope:1/push", params={"destination": dest})
    assert r.code == 404
    drop(rt, ref)


async def test_pull_failures(api, rt, registry):
    # unknown to the registry: 200, then the error as the last object (as podman does)
    r = await api.post(f"{LIBPOD}/images/pull",
                       params={"reference": f"{registry.host}/test/missing:1",
                               "tlsVerify": "false"})
    assert r.code == 200
    last = lines(r.body)[-1]
    assert set(last) == {"error"} and "not known to registry" in last["error"]
    r = await api.post(f"{DOCKER}/images/create",
                       params={"fromImage": f"{registry.host}/test/missing", "tag": "1"})
    last = lines(r.body)[-1]
    assert r.code == 200 and last["errorDetail"]["message"] == last["error"]
    # a bad reference, and a bad auth header: refused before the stream starts
    r = await api.post(f"{LIBPOD}/images/pull", params={"reference": f"{registry.host}/A:b"})
    assert r.code == 400
    r = await api.post(f"{LIBPOD}/images/pull",
                       params={"reference": f"{registry.host}/{TEST_REPO}:{TEST_TAG}"},
                       headers={"X-Registry-Auth": "!!not base64!!"})
    assert r.code == 400
    # local-only names are answered from the store, as before
    r = await api.post(f"{DOCKER}/images/create", params={"fromImage": "localhost/nope"})
    assert r.code == 404
    r = await api.post(f"{LIBPOD}/images/pull", params={"reference": DEMO})
    assert r.code == 200 and lines(r.body)[-1]["id"]
    assert list((rt.run_root / "uploads").iterdir()) == []


async def test_docker_pull_and_auth(api, rt, auth_registry):
    ref = f"{auth_registry.host}/{TEST_REPO}:{TEST_TAG}"
    drop(rt, ref)
    # no credentials: refused by the registry, said in the stream
    r = await api.post(f"{DOCKER}/images/create",
                       params={"fromImage": f"{auth_registry.host}/{TEST_REPO}",
                               "tag": TEST_TAG})
    assert r.code == 200 and "refused access" in lines(r.body)[-1]["error"]
    # X-Registry-Auth: Docker's progress objects; loopback registries are plain http
    r = await api.post(f"{DOCKER}/images/create",
                       params={"fromImage": f"{auth_registry.host}/{TEST_REPO}",
                               "tag": TEST_TAG},
                       headers={"X-Registry-Auth": auth_header(USER, PASSWORD)})
    objs = lines(r.body)
    assert "error" not in objs[-1], objs[-1]
    assert sum(o.get("status") == "Pull complete" for o in objs) == TEST_LAYERS
    assert objs[-1]["status"] == f"Status: Downloaded newer image for {ref}"
    assert objs[-2]["status"].startswith("Digest: sha256:")
    # Docker push to the image's own name, with credentials for the named server
    rt.images.tag(ref, f"{auth_registry.host}/test/docker-pushed:2")
    r = await api.post(f"{DOCKER}/images/{auth_registry.host}/test/docker-pushed/push",
                       params={"tag": "2"},
                       headers={"X-Registry-Auth": auth_header(
                           USER, PASSWORD, f"https://{auth_registry.host}/v1/")})
    objs = lines(r.body)
    assert objs[0]["status"].startswith("The push refers to repository")
    assert objs[-1]["aux"]["Digest"].startswith("sha256:") and objs[-1]["aux"]["Tag"] == "2"
    assert auth_registry.tags("test/docker-pushed") == ["2"]
    # the temporary auth files are gone
    assert list((rt.run_root / "uploads").iterdir()) == []
    drop(rt, ref, f"{auth_registry.host}/test/docker-pushed:2")


def _names(archive: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return tar.getnames()


async def test_save_and_load(api, rt):
    copy = "localhost/saved-copy:1"
    drop(rt, copy)
    rt.images.tag(DEMO, copy)
    # libpod: one image, both formats; then the export of several
    r = await api.get(f"{LIBPOD}/images/{copy}/get", params={"format": "oci-archive"})
    assert r.code == 200 and r.headers["Content-Type"] == "application/x-tar"
    assert "index.json" in _names(r.body)
    oci = r.body
    r = await api.get(f"{LIBPOD}/images/{copy}/get")
    assert "manifest.json" in _names(r.body)
    r = await api.get(f"{LIBPOD}/images/export",
                      params=[("references", DEMO), ("references", copy)])
    manifest = json.loads(tarfile.open(fileobj=io.BytesIO(r.body)).extractfile(
        "manifest.json").read())
    assert sorted(manifest[0]["RepoTags"]) == [DEMO, copy]
    # refused before any byte: unknown image, a directory format
    assert (await api.get(f"{LIBPOD}/images/localhost/nope/get")).code == 404
    r = await api.get(f"{LIBPOD}/images/{copy}/get", params={"format": "oci-dir"})
    assert r.code == 400
    # Docker: get by names, load back (the stream says what was loaded)
    r = await api.get(f"{DOCKER}/images/get", params={"names": copy})
    docker_archive = r.body
    rt.images.untag(copy)
    r = await api.post(f"{DOCKER}/images/load", body=docker_archive)
    assert r.code == 200
    assert lines(r.body) == [{"stream": f"Loaded image: {copy}\n"}]
    loaded = rt.get_image(copy)
    assert loaded.config["Cmd"] == rt.get_image(DEMO).config["Cmd"]
    # libpod load of the OCI archive: {"Names"}; the same image again
    r = await api.post(f"{LIBPOD}/images/load", body=oci)
    assert r.code == 200 and r.json() == {"Names": [copy]}
    r = await api.post(f"{LIBPOD}/images/load", body=b"not an archive")
    assert r.code == 400
    demo_id = rt.get_image(DEMO).id
    assert demo_id not in (loaded.id, rt.get_image(copy).id)
    drop(rt, rt.get_image(copy).id, loaded.id)
    assert list((rt.run_root / "uploads").iterdir()) == []
