"""The log size (--log-opt max-size) through the libpod and Docker create bodies to inspect,
bad log configurations refused with 400, and logs read after conmon rotated the file."""

from __future__ import annotations

import pytest

from ..conftest import DEMO
from .conftest import DOCKER, LIBPOD

pytestmark = pytest.mark.timeout(120)


async def test_libpod_log_configuration_to_inspect(api):
    r = await api.post(f"{LIBPOD}/containers/create", body={
        "image": DEMO, "command": ["true"], "name": "lsz1",
        "log_configuration": {"driver": "k8s-file", "size": 20_000, "options": {}}})
    assert r.code == 201, r.body
    insp = (await api.get(f"{LIBPOD}/containers/lsz1/json")).json()
    log = insp["HostConfig"]["LogConfig"]
    assert log["Type"] == "k8s-file" and log["Size"] == "20kB"
    assert log["Path"] == insp["LogPath"]
    docker = (await api.get(f"{DOCKER}/containers/lsz1/json")).json()
    # json-file: docker-py reads a container's logs only for json-file or journald
    assert docker["HostConfig"]["LogConfig"] == {"Type": "json-file",
                                                 "Config": {"max-size": "20kB"}}
    # no size: no limit, as podman shows it
    r = await api.post(f"{LIBPOD}/containers/create", body={
        "image": DEMO, "command": ["true"], "name": "lsz0", "log_configuration": {"size": 0}})
    assert r.code == 201, r.body
    insp = (await api.get(f"{LIBPOD}/containers/lsz0/json")).json()
    assert insp["HostConfig"]["LogConfig"]["Size"] == "0B"
    assert (await api.get(f"{DOCKER}/containers/lsz0/json")).json()[
        "HostConfig"]["LogConfig"]["Config"] == {}


async def test_docker_log_config_to_inspect(api):
    r = await api.post(f"{DOCKER}/containers/create", params={"name": "lsz2"}, body={
        "Image": DEMO, "Cmd": ["true"],
        "HostConfig": {"LogConfig": {"Type": "json-file", "Config": {"max-size": "1m"}}}})
    assert r.code == 201, r.body
    insp = (await api.get(f"{LIBPOD}/containers/lsz2/json")).json()
    assert insp["HostConfig"]["LogConfig"]["Size"] == "1MB"
    r = await api.post(f"{DOCKER}/containers/create", params={"name": "lsz3"}, body={
        "Image": DEMO, "Cmd": ["true"], "HostConfig": {"LogConfig": {"Type": "", "Config": {}}}})
    assert r.code == 201, r.body


@pytest.mark.parametrize("log_cfg, words", [
    ({"size": -1}, "cannot be negative"),
    ({"size": 100}, "at least 8192"),
    ({"size": "10m"}, "want a number of bytes"),
    ({"size": True}, "want a number of bytes"),
    ({"driver": "journald"}, "only k8s-file"),
    ({"options": {"max-file": "3"}}, "only max-size"),
    ({"options": {"max-size": "lots"}}, "invalid log size"),
    ({"path": "/tmp/elsewhere.log"}, "log_configuration path"),
    ("k8s-file", "want an object"),
])
async def test_libpod_bad_log_configuration(api, log_cfg, words):
    r = await api.post(f"{LIBPOD}/containers/create", body={
        "image": DEMO, "command": ["true"], "log_configuration": log_cfg})
    assert r.code == 400, r.body
    assert words in r.json()["message"] and "log_configuration" in r.json()["message"]


@pytest.mark.parametrize("log_cfg, words", [
    ({"Config": {"max-size": "-5m"}}, "cannot be negative"),
    ({"Config": {"max-size": "x"}}, "invalid log size"),
    ({"Config": {"max-size": "1m", "mode": "non-blocking"}}, "only max-size"),
    ({"Type": "syslog"}, "only k8s-file"),
    ({"Config": ["max-size=1m"]}, "want an object"),
])
async def test_docker_bad_log_config(api, log_cfg, words):
    r = await api.post(f"{DOCKER}/containers/create", body={
        "Image": DEMO, "Cmd": ["true"], "HostConfig": {"LogConfig": log_cfg}})
    assert r.code == 400, r.body
    assert words in r.json()["message"] and "HostConfig.LogConfig" in r.json()["message"]


async def test_docker_max_file_is_accepted_with_a_warning(api):
    # docker-compose files often set max-file next to max-size: accepted, reported ignored.
    r = await api.post(f"{DOCKER}/containers/create", params={"name": "lmf"}, body={
        "Image": DEMO, "Cmd": ["true"],
        "HostConfig": {"LogConfig": {"Type": "json-file",
                                     "Config": {"max-size": "1m", "max-file": "3"}}}})
    assert r.code == 201, r.body
    assert any("max-file is ignored" in w for w in r.json()["Warnings"]), r.json()
    insp = (await api.get(f"{LIBPOD}/containers/lmf/json")).json()
    assert insp["HostConfig"]["LogConfig"]["Size"] == "1MB"


async def test_logs_tail_after_rotation(api):
    script = ("i=0; while [ $i -lt 300 ]; do echo line-$i-..............................; "
              "i=$((i+1)); done")
    r = await api.post(f"{LIBPOD}/containers/create", body={
        "image": DEMO, "command": ["sh", "-c", script], "name": "lrot",
        "log_configuration": {"size": 8192}})
    assert r.code == 201, r.body
    assert (await api.post(f"{LIBPOD}/containers/lrot/start")).code == 204
    assert (await api.post(f"{LIBPOD}/containers/lrot/wait")).code == 200
    r = await api.get(f"{DOCKER}/containers/lrot/logs",
                      params={"stdout": "1", "tail": "3"})
    assert r.code == 200
    body, lines = r.body, []
    while body:  # 8-byte frames
        size = int.from_bytes(body[4:8], "big")
        lines.append(body[8:8 + size])
        body = body[8 + size:]
    assert lines == [f"line-{i}-{'.' * 30}\n".encode() for i in (297, 298, 299)]
