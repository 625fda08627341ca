"""The policy rules end to end (issue 13): a root service started with ``--config FILE``, the
students and the instructor of test_multiuser as real Unix users over its socket. Each rule
is refused with a 403 naming it and allowed just inside its limit; the instructor is not
limited; idle culling stops an idle student container."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_ctr.engine import Runtime
from tests.conftest import DEMO, wait_until
from tests.multiuser import API, User, people, root_service  # noqa: F401 - people: a fixture

from .hostile_client import Hostile

EVIL = "docker.io/library/evil:latest"


@pytest.fixture(scope="module")
def policy_service(people: dict[str, Any],  # noqa: F811 - the imported fixture
                   engine_roots: tuple[Path, Path]) -> Iterator[tuple[Path, Path]]:
    """A root service whose config file sets rules; (socket, the allowed host folder)."""
    tag = people["tag"]
    share = Path(tempfile.mkdtemp(prefix="jctshare", dir="/tmp"))
    config = {
        "ServiceSettings": {"socket_group": f"{tag}s", "instructor_group": f"{tag}i"},
        "PolicyRules": {
            "allowed_images": ["localhost/*"], "allowed_host_folders": [str(share)],
            "max_running": 1, "max_memory": "64m", "max_pids": 64,
            "denied_actions": {"student": ["export", "attach"]}, "max_archive_size": "256k",
            "idle_timeout": 5, "idle_cpu": 0.5, "cull_interval": 0.5}}
    rt = Runtime(*engine_roots)
    rt.images.tag(DEMO, EVIL)
    try:
        with root_service(people, engine_roots, config=config) as sock:
            yield sock, share
    finally:
        rt.images.untag(EVIL)
        rt.close()
        share.rmdir()


def spec(**extra: Any) -> dict[str, Any]:
    return {"image": DEMO, "command": ["sleep", "600"], **extra}


def refused(status: int, body: Any, rule: str) -> str:
    assert status == 403, body
    assert body["message"].startswith(f"refused by policy rule {rule}: "), body
    return str(body["message"])


@pytest.mark.parametrize(("rule", "libpod", "docker"), [
    ("privileged", {"privileged": True}, {"Privileged": True}),
    ("cap_add", {"cap_add": ["SYS_ADMIN"]}, {"CapAdd": ["SYS_ADMIN"]}),
    ("host_namespaces", {"pidns": {"nsmode": "host"}}, {"NetworkMode": "host"}),
    ("devices", {"devices": [{"path": "/dev/kmsg"}]}, {"Devices": [{"PathOnHost": "/dev/kmsg"}]}),
    ("allowed_host_folders", {"mounts": [{"type": "bind", "source": "/etc",
                                          "destination": "/x"}]}, {"Binds": ["/etc:/x"]}),
    ("security_opt", {"seccomp_profile_path": "unconfined"},
     {"SecurityOpt": ["seccomp:unconfined"]}),
])
def test_a_students_refused_create_options(people: dict[str, Any],  # noqa: F811
                                           policy_service: tuple[Path, Path], rule: str,
                                           libpod: dict[str, Any],
                                           docker: dict[str, Any]) -> None:
    sock, _ = policy_service
    a: User = people["a"]
    body = {"Image": DEMO, "Cmd": ["true"], "HostConfig": docker}
    (s1, b1), (s2, b2) = a.call(sock, ("POST", f"{API}/containers/create", spec(**libpod)),
                                ("POST", "/containers/create", body))
    refused(s1, b1, rule)
    refused(s2, b2, rule)


def test_images_mounts_and_limits(people: dict[str, Any],  # noqa: F811
                                  policy_service: tuple[Path, Path]) -> None:
    sock, share = policy_service
    a: User = people["a"]
    t: User = people["t"]
    out = a.call(
        sock,
        ("POST", f"{API}/containers/create", spec(image=EVIL)),
        ("POST", f"{API}/containers/create",
         spec(resource_limits={"memory": {"limit": 65 << 20}})),
        ("POST", f"{API}/containers/create",
         spec(resource_limits={"pids": {"limit": 65}})),
        ("POST", f"{API}/containers/create",   # just inside every limit
         spec(name=f"{people['tag']}in", resource_limits={"memory": {"limit": 64 << 20},
                                                          "pids": {"limit": 64}},
              mounts=[{"type": "bind", "source": str(share), "destination": "/s"}])),
        ("POST", f"{API}/containers/create", spec(name=f"{people['tag']}dflt")))
    assert refused(*out[0], "allowed_images") == (  # podman's form: cause after the message
        f"refused by policy rule allowed_images: image {EVIL} is not in localhost/*: "
        "not authorized")
    assert "65m is over 64m" in refused(*out[1], "max_memory")
    assert "65 is over 64" in refused(*out[2], "max_pids")
    assert out[3][0] == 201 and out[4][0] == 201, out
    inside, dflt = out[3][1]["Id"], out[4][1]["Id"]
    (s1, info), (s2, _), (s3, b3), (s4, b4), *attach = a.call(
        sock, ("GET", f"{API}/containers/{dflt}/json", None),
        ("POST", f"{API}/containers/{inside}/start", None),
        ("POST", f"{API}/containers/{dflt}/start", None),
        ("GET", f"{API}/containers/{inside}/export", None),
        ("POST", f"{API}/containers/{inside}/attach?stream=true&stdout=true", None),
        ("GET", f"/api/containers/{inside}/attach/ws", None),
        ("POST", f"{API}/containers/{inside}/exec", {"Cmd": ["true"]}))
    assert s1 == 200 and info["HostConfig"]["PidsLimit"] == 64, info["HostConfig"]
    assert info["HostConfig"]["Memory"] == 64 << 20
    assert s2 == 204
    assert "the most allowed is 1" in refused(s3, b3, "max_running")
    assert refused(s4, b4, "denied_actions") == (
        "refused by policy rule denied_actions: the student role may not use export: "
        "not authorized")
    for status, body in attach[:2]:  # attaching to PID 1: REST and websocket
        assert "the student role may not use attach" in refused(status, body, "denied_actions")
    assert attach[2][0] == 201, attach[2]  # an exec session is not PID 1
    # the instructor is not limited: a privileged, host-network create from any image, an
    # export, and starting the student's second container
    body = {"Image": EVIL, "Cmd": ["true"],
            "HostConfig": {"Privileged": True, "NetworkMode": "host"}}
    (s5, b5), (s6, _), (s7, _) = t.call(
        sock, ("POST", "/containers/create", body),
        ("GET", f"{API}/containers/{inside}/export", None),
        ("POST", f"{API}/containers/{dflt}/start", None))
    assert (s5, s6, s7) == (201, 200, 204), b5
    t.one(sock, "DELETE", f"{API}/containers/{b5['Id']}?force=true")


def test_one_archive_size(people: dict[str, Any],  # noqa: F811
                          policy_service: tuple[Path, Path],
                          engine_roots: tuple[Path, Path]) -> None:
    """max_archive_size (256k here): a student's checkpoint export over it is refused once
    written (the container, left running, keeps going; no archive is left), an upload over
    it is refused before it is received, and a chunked one once spooled; just inside, an
    upload reaches the archive checks. The instructor is exempt."""
    sock, _ = policy_service
    a: User = people["a"]
    t: User = people["t"]
    _, mine = a.one(sock, "GET", f"{API}/containers/json?all=true")
    for ctr in mine:  # max_running is 1: a's earlier containers out of the way
        a.one(sock, "DELETE", f"{API}/containers/{ctr['Id']}?force=true")
    (s1, made), (s2, _) = a.call(
        sock, ("POST", f"{API}/containers/create", spec(name=f"{people['tag']}arc")),
        ("POST", f"{API}/containers/{people['tag']}arc/start", None))
    assert (s1, s2) == (201, 204), made
    export = f"{API}/containers/{made['Id']}/checkpoint?export=true&leaveRunning=true"
    (s3, b3), (s4, info) = a.call(sock, ("POST", export, None),
                                  ("GET", f"{API}/containers/{made['Id']}/json", None))
    assert "it is not exported (the container keeps its checkpoint" in \
        refused(s3, b3, "max_archive_size")
    assert info["State"]["Status"] == "running"
    assert t.one(sock, "POST", export)[0] == 200  # the instructor: no limit
    # out of the way of max_running (an import runs a container)
    assert a.one(sock, "DELETE", f"{API}/containers/{made['Id']}?force=true")[0] == 200
    uploads = Hostile(a, sock).http(
        {"method": "POST", "path": f"{API}/containers/x/restore?import=true",
         "body": {"fill": ["", "\0", 300 << 10, ""]}},
        {"method": "POST", "path": f"{API}/containers/x/restore?import=true",
         "headers": {"Transfer-Encoding": "chunked"},
         "body": {"fill": [f"{300 << 10:x}\r\n", "\0", 300 << 10, "\r\n0\r\n\r\n"]}},
        {"method": "POST", "path": f"{API}/containers/x/restore?import=true",
         "body": {"fill": ["", "\0", 256 << 10, ""]}})
    for answer in uploads[:2]:
        assert answer["status"] == 403, answer
        assert json.loads(answer["body"])["message"] == (
            "refused by policy rule max_archive_size: the archive to import is 307200 bytes, "
            "over 256k: not authorized")
    assert uploads[2]["status"] == 400, uploads[2]  # just inside: the archive is checked
    assert "the uploaded archive is" in json.loads(uploads[2]["body"])["message"]
    assert list((engine_roots[1] / "uploads").iterdir()) == []


def test_idle_culling_stops_an_idle_container(people: dict[str, Any],  # noqa: F811
                                               policy_service: tuple[Path, Path],
                                               engine_roots: tuple[Path, Path]) -> None:
    sock, _ = policy_service
    b: User = people["b"]
    status, body = b.one(sock, "POST", f"{API}/containers/create", spec())
    assert status == 201, body
    assert b.one(sock, "POST", f"{API}/containers/{body['Id']}/start")[0] == 204
    rt = Runtime(*engine_roots)
    try:
        ctr = rt.lookup_container(body["Id"])
        assert wait_until(lambda: ctr.state.value == "exited", 60)
        events = list(rt.events(filters={"container": [ctr.id], "event": ["stop"]}))
        assert [e.attributes.get("user") for e in events] == ["jupyter-ctr-policy"]
    finally:
        rt.close()
