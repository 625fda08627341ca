"""Create bodies -> create_container arguments (server/specgen.py): libpod's SpecGenerator
and Docker's container config, with the image's Entrypoint/Cmd rules, limits, network,
restart policy, log options, and 400s that name the field."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_ctr.server import specgen
from jupyter_ctr.server.errors import RouteError

IMAGE = {"Entrypoint": ["/entry"], "Cmd": ["default"]}


def refused(fn, *args: Any) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(RouteError) as info:
        fn(*args)
    assert info.value.status_code == 400
    return info.value.message


def test_libpod_minimal_and_full() -> None:
    kwargs, warnings = specgen.from_libpod({"image": "busybox"}, IMAGE)
    assert warnings == []
    assert kwargs == {
        "image": "busybox", "entrypoint": None, "command": None, "name": None, "env": None,
        "workdir": None,
        "user": None, "tty": False, "stdin": False, "labels": None, "memory": None,
        "pids_limit": None, "cpus": None, "network": "none", "auto_remove": False,
        "restart_policy": "no", "depends_on": [], "log_size_max": None}
    kwargs, warnings = specgen.from_libpod({
        "image": "busybox", "name": "web", "command": ["sh", "-c", "echo hi"],
        "env": {"A": "1"}, "work_dir": "/tmp", "user": "nobody", "terminal": True,
        "stdin": True, "labels": {"team": "a"}, "remove": True,
        "resource_limits": {"memory": {"limit": 64 << 20}, "pids": {"limit": 32},
                            "cpu": {"quota": 50000, "period": 100000}},
        "netns": {"nsmode": "host"}, "restart_policy": "on-failure", "restart_tries": 3,
        "stop_signal": "SIGINT", "stop_timeout": 3, "dependencyContainers": ["db"],
        "log_configuration": {"driver": "k8s-file", "size": 100000}}, IMAGE)
    assert warnings == []
    assert kwargs == {
        "image": "busybox", "entrypoint": None, "command": ["sh", "-c", "echo hi"],
        "name": "web",
        "env": {"A": "1"}, "workdir": "/tmp", "user": "nobody", "tty": True, "stdin": True,
        "labels": {"team": "a"}, "memory": 64 << 20, "pids_limit": 32, "cpus": 0.5,
        "network": "host", "auto_remove": True, "restart_policy": "on-failure:3",
        "depends_on": ["db"], "log_size_max": 100000, "stop_signal": "SIGINT",
        "stop_timeout": 3}


def test_entrypoint_and_command_pass_through() -> None:
    """specgen keeps the entrypoint and the command apart: Runtime.create_container applies
    Docker's rule once (tests/engine/test_layered_images.py), so the image's Entrypoint is
    never put in front twice."""
    def args(body: dict[str, Any]) -> tuple[Any, Any]:
        kwargs = specgen.from_libpod({"image": "i", **body}, IMAGE)[0]
        return kwargs["entrypoint"], kwargs["command"]

    assert args({}) == (None, None)  # the image's own
    assert args({"command": ["x"]}) == (None, ["x"])
    assert args({"entrypoint": ["/bin/sh"]}) == (["/bin/sh"], None)
    assert args({"entrypoint": ["/bin/sh"], "command": ["-c", "y"]}) == \
        (["/bin/sh"], ["-c", "y"])
    docker = specgen.from_docker({"Image": "i", "Entrypoint": [""], "Cmd": ["ls"]}, None,
                                 IMAGE)[0]
    assert (docker["entrypoint"], docker["command"]) == ([], ["ls"])
    assert specgen.from_docker({"Image": "i", "Cmd": "ls"}, None, {})[0]["command"] == ["ls"]


def test_network_modes_warn_or_refuse() -> None:
    _, warnings = specgen.from_libpod({"image": "i", "netns": {"nsmode": "bridge"}}, {})
    assert warnings == ["network mode 'bridge' is not supported: the container has no "
                        "network (none)"]
    assert specgen.from_libpod({"image": "i", "netns": {"nsmode": "none"}}, {})[1] == []
    assert "use none or host" in refused(specgen.from_libpod,
                                         {"image": "i", "netns": {"nsmode": "container:x"}},
                                         {})


def test_docker_body() -> None:
    kwargs, warnings = specgen.from_docker({
        "Image": "busybox", "Cmd": ["top"], "Env": ["A=1"], "Tty": True, "OpenStdin": True,
        "Labels": {"x": "y"}, "WorkingDir": "/w", "User": "1:1", "StopSignal": "SIGUSR1",
        "StopTimeout": 4,
        "HostConfig": {"Memory": 1 << 30, "PidsLimit": -1, "NanoCpus": 1_500_000_000,
                       "NetworkMode": "default", "AutoRemove": True,
                       "RestartPolicy": {"Name": "always", "MaximumRetryCount": 0},
                       "LogConfig": {"Type": "json-file",
                                     "Config": {"max-size": "10k", "max-file": "3"}}}},
        "web", IMAGE)
    assert warnings == ["HostConfig.LogConfig option max-file is ignored: the container log "
                        "is one file that conmon rotates in place (as podman's k8s-file)"]
    assert kwargs == {
        "image": "busybox", "entrypoint": None, "command": ["top"], "name": "web", "env": ["A=1"],
        "workdir": "/w", "user": "1:1", "tty": True, "stdin": True, "labels": {"x": "y"},
        "memory": 1 << 30, "pids_limit": None, "cpus": 1.5, "network": "none",
        "auto_remove": True, "restart_policy": "always", "log_size_max": 10000,
        "stop_signal": "SIGUSR1", "stop_timeout": 4}
    kwargs, _ = specgen.from_docker({"Image": "i", "HostConfig": {"CpuQuota": 25000,
                                                                  "CpuPeriod": 50000}}, "", {})
    assert kwargs["cpus"] == 0.5 and kwargs["name"] is None


@pytest.mark.parametrize("body,words", [
    ({}, ["image is required"]),
    ({"image": "i", "command": [1]}, ["invalid command", "list of strings"]),
    ({"image": "i", "env": {"A": "x\0y"}}, ["invalid env", "NUL"]),
    ({"image": "i", "labels": ["a"]}, ["invalid labels", "object"]),
    ({"image": "i", "resource_limits": [1]}, ["invalid resource_limits"]),
    ({"image": "i", "resource_limits": {"memory": {"limit": "lots"}}},
     ["resource_limits.memory.limit"]),
    ({"image": "i", "resource_limits": {"cpu": {"quota": 10}}}, ["quota 10", "at least"]),
    ({"image": "i", "resource_limits": {"cpu": {"period": 10}}}, ["period 10"]),
    ({"image": "i", "stop_timeout": -1}, ["stop_timeout"]),
    ({"image": "i", "stop_signal": True}, ["invalid stop_signal"]),
    ({"image": "i", "name": 5}, ["invalid name", "want a string"]),
    ({"image": "i", "restart_tries": 10**12}, ["restart_tries"]),
    ({"image": "i", "log_configuration": {"path": "/x"}}, ["log_configuration path"]),
    ({"image": "i", "log_configuration": {"driver": "journald"}}, ["only k8s-file"]),
    ({"image": "i", "log_configuration": {"options": {"max-file": "2"}}},
     ["option 'max-file'", "only max-size"]),
    ({"image": "i", "log_configuration": {"size": 10}}, ["log_configuration"]),
])
def test_libpod_refusals_name_the_field(body: dict[str, Any], words: list[str]) -> None:
    message = refused(specgen.from_libpod, body, {})
    for word in words:
        assert word in message, (word, message)


@pytest.mark.parametrize("body,words", [
    ({"Cmd": ["x"]}, ["Image is required"]),
    ({"Image": "i", "HostConfig": [1]}, ["invalid HostConfig"]),
    ({"Image": "i", "HostConfig": {"Memory": "lots"}}, ["HostConfig.Memory"]),
    ({"Image": "i", "HostConfig": {"RestartPolicy": "no"}}, ["HostConfig.RestartPolicy"]),
    ({"Image": "i", "HostConfig": {"LogConfig": {"Type": "syslog"}}}, ["only k8s-file"]),
    ({"Image": "i", "StopTimeout": -5}, ["StopTimeout"]),
])
def test_docker_refusals_name_the_field(body: dict[str, Any], words: list[str]) -> None:
    message = refused(specgen.from_docker, body, None, {})
    for word in words:
        assert word in message, (word, message)


def test_small_parsers() -> None:
    assert specgen.opt_str("", "User") is None and specgen.opt_str("u", "User") == "u"
    assert specgen.number(5, "h", 0, 10) == 5
    assert "h" in refused(specgen.number, 11, "h", 0, 10)
