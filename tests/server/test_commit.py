"""REST commit, image history and image prune (server/handlers/images.py), in libpod's and
Docker's shapes and codes."""

from __future__ import annotations

from jupyter_ctr.engine import Runtime

from ..conftest import DEMO
from .conftest import DOCKER, LIBPOD


async def test_commit_history_prune_libpod_and_docker(api, rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sh", "-c", "echo rest > /rest"])
    ctr.start()
    ctr.wait()
    r = await api.post(f"{LIBPOD}/commit", params=[  # changes repeated, as podman's clients
        ("container", ctr.name), ("repo", "localhost/rest/one"), ("tag", "v1"),
        ("comment", "via rest"), ("author", "Bob"), ("changes", "ENV FROM_REST=1"),
        ("changes", "LABEL a=b"), ("pause", "true")])
    assert r.code == 200, r.body
    one = r.json()["Id"]
    assert len(one) == 64
    img = rt.images.get("localhost/rest/one:v1")
    assert img.id == one and "FROM_REST=1" in img.config["Env"]
    assert img.config["Labels"] == {"a": "b"}
    r = await api.post(f"{DOCKER}/commit", params=[
        ("container", ctr.id), ("repo", "localhost/rest/two"), ("comment", "docker"),
        ("changes", "CMD cat /rest"), ("changes", "WORKDIR /tmp")])
    assert r.code == 201, r.body
    two = r.json()["Id"]
    assert two.startswith("sha256:")
    assert rt.images.get("localhost/rest/two").config["Cmd"] == ["/bin/sh", "-c", "cat /rest"]
    r = await api.get(f"{LIBPOD}/images/localhost/rest/one:v1/history")
    assert r.code == 200
    rows = r.json()
    assert [sorted(x) for x in rows] == [["Comment", "Created", "CreatedBy", "Id", "Size",
                                          "Tags"]] * 2
    assert rows[0]["Id"] == one and rows[0]["Comment"] == "via rest"
    assert rows[0]["Tags"] == ["localhost/rest/one:v1"] and rows[1]["Id"] == "<missing>"
    assert rows[0]["Size"] > 0 and rows[1]["Tags"] is None
    r = await api.get(f"{DOCKER}/images/localhost/rest/two/history")
    assert r.json()[0]["Id"] == two and r.json()[0]["Comment"] == "docker"
    assert (await api.get(f"{LIBPOD}/images/localhost/nope/history")).code == 404
    r = await api.get(f"{LIBPOD}/images/localhost/rest/one:v1/json")
    insp = r.json()
    assert insp["Comment"] == "via rest" and insp["Author"] == "Bob"
    assert len(insp["History"]) == 2 and len(insp["RootFS"]["Layers"]) == 2
    # errors: no container, a bad change, a tag without a repo
    r = await api.post(f"{LIBPOD}/commit", params={"container": "nope"})
    assert r.code == 404
    r = await api.post(f"{LIBPOD}/commit", params={"container": ctr.id, "changes": "RUN x"})
    assert r.code == 400 and "invalid change" in r.json()["message"]
    assert (await api.post(f"{DOCKER}/commit", params={"container": ctr.id,
                                                       "tag": "x"})).code == 400
    # prune: the untagged commits only (libpod), then Docker's shape
    r = await api.post(f"{LIBPOD}/commit", params={"container": ctr.id,
                                                   "changes": "LABEL n=1"})
    dangling1 = r.json()["Id"]
    r = await api.post(f"{LIBPOD}/images/prune")
    assert r.code == 200, r.body
    assert [x["Id"] for x in r.json()] == [dangling1] and r.json()[0]["Size"] > 0
    r = await api.post(f"{LIBPOD}/commit", params={"container": ctr.id,
                                                   "changes": "LABEL n=2"})
    dangling2 = r.json()["Id"]
    r = await api.post(f"{DOCKER}/images/prune", params={"filters": '{"dangling":["true"]}'})
    assert r.code == 200
    assert r.json()["ImagesDeleted"] == [{"Deleted": f"sha256:{dangling2}"}]
    assert r.json()["SpaceReclaimed"] > 0
    r = await api.post(f"{DOCKER}/images/prune")
    assert r.json() == {"ImagesDeleted": None, "SpaceReclaimed": 0}
    r = await api.post(f"{LIBPOD}/images/prune", params={"filters": '{"until":["1h"]}'})
    assert r.code == 400
    rt.remove_container(ctr)
    for ref in ("localhost/rest/one:v1", "localhost/rest/two"):
        rt.remove_image(ref)


async def test_tag_untag_libpod_and_docker(api, rt: Runtime) -> None:
    """POST .../images/{name}/tag and libpod's .../untag: 201 and no body (as podman); libpod's
    untag without repo removes every name."""
    image_id = rt.images.get(DEMO).id
    r = await api.post(f"{LIBPOD}/images/{DEMO}/tag", params={"repo": "localhost/rt/a",
                                                               "tag": "v1"})
    assert (r.code, r.body) == (201, b"")
    r = await api.post(f"{DOCKER}/images/{image_id}/tag", params={"repo": "localhost/rt/b"})
    assert (r.code, r.body) == (201, b"")
    r = await api.post(f"{DOCKER}/images/{DEMO}/tag", params={"repo": "localhost/rt/c",
                                                              "tag": "x"})
    assert r.code == 201
    assert {"localhost/rt/a:v1", "localhost/rt/b:latest", "localhost/rt/c:x"} <= set(
        rt.images.get(DEMO).names)
    assert rt.images.get("localhost/rt/b").id == image_id
    r = await api.post(f"{LIBPOD}/images/{DEMO}/untag", params={"repo": "localhost/rt/a",
                                                                 "tag": "v1"})
    assert (r.code, r.body) == (201, b"")
    assert "localhost/rt/a:v1" not in rt.images.get(DEMO).names
    # errors: an unknown image, no repo, a bad name, a name the image lacks
    assert (await api.post(f"{LIBPOD}/images/localhost/nope/tag",
                           params={"repo": "x"})).code == 404
    assert (await api.post(f"{DOCKER}/images/{DEMO}/tag")).code == 400
    r = await api.post(f"{LIBPOD}/images/{DEMO}/tag", params={"repo": "Bad Name"})
    assert r.code == 400 and "invalid image reference" in r.json()["message"]
    r = await api.post(f"{LIBPOD}/images/{DEMO}/untag", params={"repo": "localhost/rt/a"})
    assert r.code == 404 and "tag not known" in r.json()["message"]
    # no repo: every name goes, the image stays
    ctr = rt.create_container(DEMO, ["true"])
    img = rt.commit_container(ctr, "localhost/rt/d")
    rt.tag_image(img.id, "localhost/rt/e")
    r = await api.post(f"{LIBPOD}/images/localhost/rt/d/untag")
    assert r.code == 201
    assert rt.images.get(img.id).names == []
    rt.remove_container(ctr.id)
    rt.remove_image(img.id)
    for name in ("localhost/rt/b:latest", "localhost/rt/c:x"):
        rt.untag_image(DEMO, [name])
