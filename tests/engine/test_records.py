"""ContainerConfig: frozen, round-trips through its stored form, one validate() for every
source (create, checkpoint archives)."""

from __future__ import annotations

import json

import pytest

from jupyter_ctr.engine.errors import InvalidArgumentError
from jupyter_ctr.engine.records import CONFIG_FIELDS, ContainerConfig


def _config(**changes: object) -> ContainerConfig:
    fields: dict[str, object] = {
        "id": "a" * 64, "name": "web", "image": "localhost/busybox:latest", "image_id": "b" * 64,
        "image_rootfs": "/var/lib/jupyter-ctr/images/b/rootfs", "command": ["sleep", "1"],
        "env": ["PATH=/bin", "container=oci"], "workdir": "/", "uid": 0, "gid": 0,
        "stop_signal": 15, "stop_timeout": 10, "network": "none", "created": 1,
    }
    fields.update(changes)
    return ContainerConfig(**fields)


def test_defaults_and_stored_form_round_trip() -> None:
    cfg = _config()
    assert cfg.user == "" and cfg.tty is False and cfg.memory is None
    assert cfg.restart_policy == "no" and cfg.dependencies == () and cfg.labels == {}
    stored = json.loads(json.dumps(cfg.to_dict()))
    assert list(stored) == list(CONFIG_FIELDS)
    assert stored["command"] == ["sleep", "1"]
    again = ContainerConfig.from_dict(stored)
    assert again == cfg and again.command == ("sleep", "1")


def test_from_dict_drops_unknown_keys_and_constructor_refuses_them() -> None:
    stored = _config().to_dict()
    assert ContainerConfig.from_dict({**stored, "surprise": 1}) == _config()
    with pytest.raises(TypeError, match="surprise"):
        ContainerConfig(**stored, surprise=1)
    del stored["workdir"]
    with pytest.raises(TypeError, match="workdir"):
        ContainerConfig.from_dict(stored)


def test_frozen_and_replace() -> None:
    cfg = _config()
    with pytest.raises(AttributeError, match="frozen"):
        cfg.tty = True  # type: ignore[misc]
    other = cfg.replace(stdin=True)
    assert other.stdin is True and cfg.stdin is False and other.name == cfg.name


def test_validate_accepts_a_good_config() -> None:
    cfg = _config(memory=64 << 20, cpus=0.5, pids_limit=100, labels={"a": "b"},
                  restart_policy="on-failure", restart_retries=3, log_size_max=10_000)
    assert cfg.validate() is cfg


@pytest.mark.parametrize(("changes", "named"), [
    ({"id": "xyz"}, "container id"),
    ({"name": "-bad"}, "container name"),
    ({"name": 7}, "container name"),
    ({"image_id": "nope"}, "image id"),
    ({"image_rootfs": "relative"}, "image rootfs"),
    ({"command": []}, "command"),
    ({"command": [""]}, "command"),
    ({"command": ["a\0b"]}, "command"),
    ({"env": ["NOVALUE"]}, "env"),
    ({"env": "PATH=/bin"}, "env"),
    ({"workdir": "tmp"}, "workdir"),
    ({"user": 5}, "user"),
    ({"uid": -1}, "uid"),
    ({"gid": 1 << 32}, "gid"),
    ({"tty": "yes"}, "tty"),
    ({"labels": {"a": 1}}, "labels"),
    ({"stop_signal": 0}, "stop_signal"),
    ({"stop_signal": True}, "stop_signal"),
    ({"stop_timeout": -1}, "stop_timeout"),
    ({"memory": 1024}, "memory"),
    ({"pids_limit": 0}, "pids_limit"),
    ({"cpus": 0}, "cpus"),
    ({"cpus": 10_000}, "cpus"),
    ({"network": "bridge"}, "network"),
    ({"auto_remove": 1}, "auto_remove"),
    ({"restart_policy": "sometimes"}, "restart_policy"),
    ({"restart_policy": "always", "restart_retries": 2}, "restart_policy"),
    ({"restart_policy": "always", "auto_remove": True}, "restart_policy"),
    ({"dependencies": ["nope"]}, "dependencies"),
    ({"log_size_max": 0}, "log_size_max"),
])
def test_validate_names_the_bad_field(changes: dict[str, object], named: str) -> None:
    with pytest.raises(InvalidArgumentError, match=f"invalid {named}"):
        _config(**changes).validate()


def test_validate_names_where_untrusted_input_came_from() -> None:
    with pytest.raises(InvalidArgumentError,
                       match=r"^x\.tar: config\.dump has an invalid workdir: expected an abs"):
        _config(workdir="tmp").validate("x.tar: config.dump")


def test_state_record_defaults_round_trip_and_update() -> None:
    from jupyter_ctr.engine.records import STATE_DEFAULTS, ContainerRecord
    from jupyter_ctr.engine.state import ContainerState

    rec = ContainerRecord()
    assert rec.state is ContainerState.CONFIGURED and rec.exit_code is None
    assert rec.pending is None and rec.run_token == "" and rec.checkpointed is False
    stored = json.loads(json.dumps(rec.to_dict()))
    assert list(stored) == list(STATE_DEFAULTS) and stored["state"] == "configured"
    rec.update(state="running", pid=42, checkpointed=True, restored_at=5)
    assert rec.state is ContainerState.RUNNING and rec.pid == 42
    again = ContainerRecord.from_dict(rec.to_dict())
    assert again.to_dict() == rec.to_dict()
    again.forget_checkpoint()
    assert again.checkpointed is False and again.restored_at == 0 and again.pid == 42
    with pytest.raises(AttributeError, match="no field 'bogus'"):
        rec.update(bogus=1)
    with pytest.raises(AttributeError):
        rec.bogus = 1  # type: ignore[attr-defined]


def test_state_record_reads_what_older_engines_stored() -> None:
    """Records written before run_token/stopper existed, or with nulls, load with defaults."""
    from jupyter_ctr.engine.records import ContainerRecord

    rec = ContainerRecord.from_dict({"state": "exited", "pid": None, "exit_code": 3,
                                     "pending": None, "extra_old_field": 1})
    assert rec.pid == 0 and rec.exit_code == 3 and rec.run_token == "" and rec.stopper == ""


@pytest.mark.parametrize(("state", "podman", "docker"), [
    ("running", "Up 2 minutes", "Up 2 minutes"),
    ("paused", "Paused", "Up 2 minutes (Paused)"),
    ("stopping", "Stopping", "Up 2 minutes"),
    ("exited", "Exited (3) 5 seconds ago", "Exited (3) 5 seconds ago"),
    ("stopped", "Exited (3) 5 seconds ago", "Exited (3) 5 seconds ago"),
    ("configured", "Created", "Created"),
    ("created", "Initialized", "Created"),
    ("removing", "Removing", "Removal In Progress"),
])
def test_snapshot_status_text(state: str, podman: str, docker: str) -> None:
    from jupyter_ctr.engine.records import ContainerRecord, ContainerSnapshot

    now = 1_000_000.0
    rec = ContainerRecord(state=state, started_at=int((now - 125) * 1e9),
                          finished_at=int((now - 5) * 1e9), exit_code=3)
    snap = ContainerSnapshot(_config(), rec, exec_ids=[], oci_runtime="runc", log_path="/l",
                             bundle="/b", storage_dirs={})
    assert snap.status_text(now) == podman
    assert snap.status_text(now, docker=True) == docker
