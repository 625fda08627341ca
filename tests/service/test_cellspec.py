"""service/cellspec.py: a container's spec as a cell, parsed, validated, rendered, read back
from a container's config and compared (pure: no engine)."""

from __future__ import annotations

import json
import tomllib

import pytest
import yaml

from jupyter_ctr.engine.records import ContainerConfig
from jupyter_ctr.service import cellspec
from jupyter_ctr.service.cellspec import SPEC_LABEL, SpecError

TOML = """
# a web server for lab 1
image = "localhost/busybox:latest"
command = "sh -c 'echo hi; sleep 100'"
memory = "256m"
cpus = 0.5
pids_limit = 64
restart = "on-failure:3"
stop_signal = "INT"
stop_timeout = 3
workdir = "/tmp"
user = "nobody"
tty = true
interactive = true
log_size_max = "10m"

[env]
GREETING = "hello world"
N = 1

[labels]
"jupyter-ctr.lab" = "lab1"
"""

YAML = """
image: localhost/busybox:latest
command: [sh, -c, "echo hi; sleep 100"]
memory: 256m
cpus: 0.5
pids_limit: 64
restart: on-failure:3
stop_signal: SIGINT
stop_timeout: 3
workdir: /tmp
user: nobody
tty: yes
stdin: true
log_size_max: 10m
env:
  GREETING: hello world
  N: "1"
labels:
  jupyter-ctr.lab: lab1
"""

EXPECTED = {
    "image": "localhost/busybox:latest",
    "command": ["sh", "-c", "echo hi; sleep 100"],
    "workdir": "/tmp", "user": "nobody", "tty": True, "interactive": True,
    "memory": 256 << 20, "cpus": 0.5, "pids_limit": 64, "restart": "on-failure:3",
    "stop_signal": "SIGINT", "stop_timeout": 3, "log_size_max": 10_000_000,
    "env": {"GREETING": "hello world", "N": "1"},
    "labels": {"jupyter-ctr.lab": "lab1"},
}


def test_toml_and_yaml_give_the_same_canonical_spec() -> None:
    assert cellspec.detect_format(TOML) == "toml"
    assert cellspec.detect_format(YAML) == "yaml"
    spec, options = cellspec.load(TOML)
    assert spec == EXPECTED and list(spec) == list(EXPECTED)
    assert options == {"start": True}
    assert cellspec.load(YAML)[0] == EXPECTED
    assert cellspec.load(YAML, "yaml") == cellspec.load(TOML, "toml")


@pytest.mark.parametrize("fmt", ["toml", "yaml"])
def test_render_round_trips(fmt: str) -> None:
    spec, _ = cellspec.load(TOML)
    text = cellspec.render(spec, fmt)
    assert cellspec.detect_format(text) == fmt
    assert cellspec.load(text) == (spec, {"start": True})
    # people's units, not bytes
    assert ('memory = "256m"' in text) if fmt == "toml" else ("memory: 256m" in text)
    assert "10m" in text
    # the cell's own option is written only when not the default
    assert "\nstart" not in text
    text = cellspec.render(spec, fmt, {"start": False})
    assert cellspec.load(text)[1] == {"start": False}


def test_toml_writer_quotes_what_it_must() -> None:
    spec = {"image": "x", "command": ["printf", 'a "b" \\ \t\n\x7f\x01 é'],
            "labels": {"a.b c": "v", "plain_key-1": "w"}, "env": {"K": "="}}
    text = cellspec.render(spec)
    assert tomllib.loads(text)["command"][1] == 'a "b" \\ \t\n\x7f\x01 é'
    assert '"a.b c" = "v"' in text and "plain_key-1 = " in text
    assert cellspec.load(text)[0] == cellspec.validate(spec)[0]
    assert yaml.safe_load(cellspec.render(spec, "yaml"))["command"][1] == spec["command"][1]


def test_defaults_are_left_out() -> None:
    spec, options = cellspec.load('image = "x"\nstop_timeout = 10\nrestart = "no"\n'
                                  'network = "none"\ntty = false\nstart = false\n[env]\n')
    assert spec == {"image": "x"} and options == {"start": False}
    assert cellspec.render(spec) == 'image = "x"\n'
    # YAML 1.1 reads a bare "no" as false: still the restart policy no
    assert cellspec.load("image: x\nrestart: no\nmemory:\n")[0] == {"image": "x"}


@pytest.mark.parametrize(("text", "message"), [
    ('image = 1', "spec field 'image' must be an image reference"),
    ('imag = "x"', "unknown spec field 'imag' (did you mean 'image'?)"),
    ('image = "x"\nmemory = "5q"', "spec field 'memory': invalid memory limit '5q'"),
    ('image = "x"\nmemory = "1k"', "spec field 'memory': memory limit '1k' is below"),
    ('image = "x"\nmemory = true', "spec field 'memory' must be bytes"),
    ('image = "x"\nentrypoint = ["sh"]', "spec field 'entrypoint' is not supported"),
    ('image = "x"\nmounts = []', "spec field 'mounts' is not supported: the engine has no"),
    ('image = "x"\nname = "y"', "the name is given on the magic's line"),
    ('command = ["a"]', "the spec needs an image"),
    ('image = "x"\ncommand = []', "spec field 'command': the command must not be empty"),
    ('image = "x"\ncommand = ["sleep", 5]', "must be a list of strings: quote numbers"),
    ('image = "x"\ntty = "yes"', "spec field 'tty' must be true or false, not 'yes'"),
    ('image = "x"\ncpus = 0', "spec field 'cpus' must be a number of CPUs"),
    ('image = "x"\npids_limit = 0', "spec field 'pids_limit' must be a positive integer"),
    ('image = "x"\nstop_timeout = -1', "spec field 'stop_timeout' must be seconds"),
    ('image = "x"\nrestart = "sometimes"', "spec field 'restart': invalid restart policy"),
    ('image = "x"\nstop_signal = "SIGNOPE"', "spec field 'stop_signal': invalid signal"),
    ('image = "x"\nnetwork = "bridge"', "spec field 'network' must be one of none, host"),
    ('image = "x"\nworkdir = "tmp"', "spec field 'workdir' must be an absolute path"),
    ('image = "x"\nenv = "A=1"', "spec field 'env' must be a table"),
    ('image = "x"\nenv = ["A"]', "spec field 'env': list items must be NAME=VALUE"),
    ('image = "x"\n[labels]\n"jupyter-ctr.spec" = "{}"', "is the applied spec's own label"),
    ('image = "x"\nstart = 1', "spec field 'start' must be true or false"),
    ('image = "x"\nstdin = true\ninteractive = false', "'interactive' is given twice"),
    ('image = "x', "the spec is not valid TOML"),
    ("image: [x", "the spec is not valid YAML"),
    ("- image: x", "the spec must be a table of fields"),
])
def test_errors_name_the_field_and_the_problem(text: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        cellspec.load(text)
    assert message in str(info.value)


def test_yaml_booleans_in_env_must_be_quoted() -> None:
    with pytest.raises(SpecError, match=r"spec field 'env': the value of 'DEBUG' must be a "
                                        r"string \(quote it\)"):
        cellspec.load("image: x\nenv:\n  DEBUG: yes\n")


def test_create_arguments_carry_the_applied_spec() -> None:
    spec, _ = cellspec.load(TOML)
    kwargs = cellspec.create_arguments("web", spec)
    assert kwargs["image"] == "localhost/busybox:latest" and kwargs["name"] == "web"
    assert kwargs["command"] == ["sh", "-c", "echo hi; sleep 100"]
    assert (kwargs["memory"], kwargs["stdin"], kwargs["restart_policy"]) == (
        256 << 20, True, "on-failure:3")
    assert kwargs["env"] == {"GREETING": "hello world", "N": "1"}
    labels = kwargs["labels"]
    assert labels["jupyter-ctr.lab"] == "lab1"
    assert json.loads(labels[SPEC_LABEL]) == spec
    assert cellspec.applied(labels) == spec
    # a minimal spec: the create defaults
    kwargs = cellspec.create_arguments("m", {"image": "x"})
    assert (kwargs["command"], kwargs["env"], kwargs["stop_timeout"], kwargs["network"]) == (
        None, None, 10, "none")
    # a label that is not a spec: none applied (the container is read back instead)
    assert cellspec.applied({SPEC_LABEL: "not json"}) is None
    assert cellspec.applied({SPEC_LABEL: '{"image": 5}'}) is None
    assert cellspec.applied({}) is None


def _config(**fields: object) -> ContainerConfig:
    base: dict[str, object] = dict(
        id="0" * 64, name="web", image="localhost/app:1", image_id="f" * 64,
        image_rootfs="/x", command=["/entry", "serve"],
        env=[cellspec.DEFAULT_PATH, "LANG=C.UTF-8", "container=oci"], workdir="/srv",
        user="", uid=0, gid=0, tty=False, stdin=False, labels={}, stop_signal=15,
        stop_timeout=10, memory=None, pids_limit=None, cpus=None, network="none",
        auto_remove=False, created=1, restart_policy="no", restart_retries=0,
        dependencies=[], log_size_max=None, owner_uid=0, owner_name="root")
    base.update(fields)
    return ContainerConfig(**base)


IMAGE_CONFIG = {"Entrypoint": ["/entry"], "Cmd": ["serve"], "Env": ["LANG=C.UTF-8"],
                "WorkingDir": "/srv", "StopSignal": "SIGTERM"}


def test_read_back_keeps_only_what_differs_from_the_image_and_defaults() -> None:
    assert cellspec.from_config(_config(), IMAGE_CONFIG) == {"image": "localhost/app:1"}
    config = _config(command=["/entry", "serve", "--debug"],
                     env=[cellspec.DEFAULT_PATH, "LANG=C.UTF-8", "TERM=xterm",
                          "container=oci", "A=1"],
                     workdir="/", user="1000:1000", tty=True, stdin=True, stop_signal=2,
                     stop_timeout=3, memory=64 << 20, pids_limit=10, cpus=1.5,
                     network="host", restart_policy="on-failure", restart_retries=2,
                     log_size_max=10_000,
                     labels={"jupyter-ctr.lab": "l", SPEC_LABEL: '{"image":"other"}'})
    spec = cellspec.from_config(config, IMAGE_CONFIG)
    assert spec == {
        "image": "localhost/app:1", "command": ["serve", "--debug"], "workdir": "/",
        "user": "1000:1000", "tty": True, "interactive": True, "memory": 64 << 20,
        "cpus": 1.5, "pids_limit": 10, "restart": "on-failure:2", "stop_signal": "SIGINT",
        "stop_timeout": 3, "network": "host", "log_size_max": 10_000, "env": {"A": "1"},
        "labels": {"jupyter-ctr.lab": "l"}}
    # what the sidebar writes: the applied spec when there is one, else the read-back
    assert cellspec.spec_of(config, IMAGE_CONFIG) == {"image": "other"}
    assert cellspec.spec_of(_config(), IMAGE_CONFIG) == {"image": "localhost/app:1"}
    # the read-back, rendered and loaded again, is the same spec
    assert cellspec.load(cellspec.render(spec))[0] == spec
    assert cellspec.load(cellspec.render(spec, "yaml"))[0] == spec
    # an image that is gone: nothing is implied by it
    gone = cellspec.from_config(_config(), {})
    assert gone["command"] == ["/entry", "serve"] and gone["env"] == {"LANG": "C.UTF-8"}


def test_diff_field_by_field() -> None:
    old, _ = cellspec.load(TOML)
    assert cellspec.diff(old, old) == []
    new = dict(old, memory=512 << 20, env={"GREETING": "hi", "NEW": "x"}, tty=False)
    del new["cpus"]
    assert cellspec.diff(old, new) == [
        ("tty", True, False), ("memory", "256m", "512m"), ("cpus", 0.5, None),
        ("env.GREETING", "hello world", "hi"), ("env.N", "1", None), ("env.NEW", None, "x")]
    assert cellspec.diff({}, {"image": "x"}) == [("image", None, "x")]
    text = cellspec.unified_diff(old, new, name="web")
    assert text.startswith("--- web (applied)\n+++ web (cell)\n")
    assert '-memory = "256m"\n' in text and '+memory = "512m"\n' in text
