"""The policy rules (service/rules.py): each refused with a message naming it and allowed
just inside its limit; instructors exempt unless ``instructor_rules`` names the rule;
defaults applied to a student's create; the running limits and culling on a real engine."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from jupyter_ctr.engine import Runtime
from jupyter_ctr.engine.checkpoint import CheckpointOptions
from jupyter_ctr.engine.errors import InvalidArgumentError
from jupyter_ctr.server import specgen
from jupyter_ctr.server.socket_service import ServiceSettings, load_config
from jupyter_ctr.service.container_service import ContainerService
from jupyter_ctr.service.door import Door
from jupyter_ctr.service.policy import NotAuthorizedError
from jupyter_ctr.service.principal import INSTRUCTOR, Principal
from jupyter_ctr.service.rules import PolicyRules, RulesPolicy
from tests.conftest import DEMO

ANN = Principal(uid=4242, name="ann")
TEA = Principal(uid=4343, name="tea", roles=frozenset({INSTRUCTOR}))


def policy(**rules: Any) -> RulesPolicy:
    return RulesPolicy(PolicyRules(**rules))


def create(p: RulesPolicy, who: Principal = ANN, **args: Any) -> None:
    target = {"image": DEMO, "command": ["true"], "image_names": [DEMO], "host_options": {},
              **args}
    p.authorize(who, "create", target)


def refused(rule: str, p: RulesPolicy, **args: Any) -> str:
    with pytest.raises(NotAuthorizedError, match=f"^refused by policy rule {rule}: ") as info:
        create(p, **args)
    create(p, TEA, **args)  # instructors are exempt
    return str(info.value)


@pytest.mark.parametrize(("rule", "options", "words"), [
    ("privileged", {"privileged": True}, "privileged containers"),
    ("cap_add", {"cap_add": ["SYS_ADMIN"]}, "SYS_ADMIN"),
    ("host_namespaces", {"namespaces": ["pid", "user"]}, "pid, user"),
    ("devices", {"devices": ["/dev/kmsg"]}, "/dev/kmsg"),
    ("allowed_host_folders", {"mounts": ["/etc"]}, "/etc is outside the allowed folders"),
    ("security_opt", {"security_opt": ["seccomp=unconfined"]}, "seccomp=unconfined"),
])
def test_refused_create_options(rule: str, options: dict[str, Any], words: str) -> None:
    assert words in refused(rule, policy(), host_options=options)


def test_the_host_network_is_a_host_namespace() -> None:
    assert "network" in refused("host_namespaces", policy(), network="host")
    create(policy(), network="none")


def test_bind_mounts_inside_allowed_folders(tmp_path: Path) -> None:
    (tmp_path / "share" / "lab").mkdir(parents=True)
    (tmp_path / "escape").symlink_to("/etc")
    p = policy(allowed_host_folders=[str(tmp_path / "share")])
    create(p, host_options={"mounts": [str(tmp_path / "share"),
                                       str(tmp_path / "share" / "lab")]})
    for outside in (tmp_path / "share" / ".." / "x", tmp_path / "sharex",
                    tmp_path / "share" / "lab" / ".." / ".." / "escape"):
        refused("allowed_host_folders", p, host_options={"mounts": [str(outside)]})


def test_allowed_images() -> None:
    p = policy(allowed_images=["localhost/*", "quay.io/lab/*"])
    create(p)
    msg = refused("allowed_images", p, image="docker.io/evil", image_names=["docker.io/evil"])
    assert msg == ("refused by policy rule allowed_images: image docker.io/evil is not in "
                   "localhost/*, quay.io/lab/*")
    create(policy(), image_names=["docker.io/evil"])  # default: all
    # an image counts by the name it is given by; given by ID, by any of its names
    names = [DEMO, "docker.io/library/evil:latest"]
    refused("allowed_images", p, image="docker.io/library/evil", image_names=names)
    create(p, image="busybox", image_names=names)
    create(p, image="f00d" * 16, image_names=names)


def test_per_container_limits() -> None:
    p = policy(max_memory="64m", max_cpus=0.5, max_pids=100, max_log_size="1m")
    create(p, memory=64 << 20, cpus=0.5, pids_limit=100, log_size_max=1_000_000)
    assert "65m is over 64m" in refused("max_memory", p, memory=65 << 20)
    assert "0.6 CPUs is over 0.5" in refused("max_cpus", p, cpus=0.6)
    assert "101 is over 100" in refused("max_pids", p, pids_limit=101)
    assert "size 1000001 bytes is over 1000000 (1MB)" in refused("max_log_size", p,
                                                                log_size_max=1_000_001)


def test_defaults_fill_in_what_a_student_did_not_ask() -> None:
    p = policy(max_memory="64m", max_cpus=0.5, max_pids=100, max_log_size="1m")
    asked = {"command": ["true"], "memory": None, "pids_limit": None, "cpus": 0.25}
    assert p.create_arguments(ANN, dict(asked)) == {
        "command": ["true"], "memory": 64 << 20, "pids_limit": 100, "cpus": 0.25,
        "log_size_max": 1_000_000}
    assert p.create_arguments(TEA, dict(asked)) == asked


def test_denied_actions_per_role() -> None:
    p = policy(denied_actions={"student": ["attach", "export"], "instructor": ["pause"]})
    with pytest.raises(NotAuthorizedError,
                       match="^refused by policy rule denied_actions: the student role may "
                             "not use export$"):
        p.authorize(ANN, "export", None)
    p.authorize(TEA, "export", None)
    p.authorize(ANN, "pause", None)
    with pytest.raises(NotAuthorizedError, match="instructor role may not use pause"):
        p.authorize(TEA, "pause", None)


def test_instructor_rules_apply_a_rule_to_instructors() -> None:
    p = policy(allowed_images=["localhost/*"], instructor_rules=["allowed_images"])
    with pytest.raises(NotAuthorizedError, match="allowed_images"):
        create(p, TEA, image_names=["docker.io/evil"])
    create(p, TEA, host_options={"privileged": True})


@pytest.mark.parametrize(("setting", "words"), [
    ({"instructor_rules": ["nope"]}, "unknown rule 'nope'"),
    ({"denied_actions": {"guest": []}}, "unknown role 'guest'"),
    ({"denied_actions": {"student": ["fly"]}}, "unknown action 'fly'"),
    ({"allowed_host_folders": ["rel"]}, "not an absolute path"),
    ({"max_memory": "lots"}, "invalid memory limit"),
    ({"max_archive_size": "huge"}, "invalid max_archive_size 'huge'"),
    ({"max_recording_size": "big"}, "invalid max_recording_size 'big'"),
    ({"max_running": -1}, "invalid max_running"),
])
def test_bad_settings_are_refused_at_start(setting: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidArgumentError, match=words):
        policy(**setting)


def test_specgen_reports_host_options() -> None:
    spec = {"image": DEMO, "privileged": True, "cap_add": ["NET_ADMIN"],
            "pidns": {"nsmode": "host"}, "userns": {"nsmode": "host"},
            "devices": [{"path": "/dev/fuse"}],
            "mounts": [{"type": "bind", "source": "/etc", "destination": "/x"},
                       {"type": "tmpfs", "source": "tmpfs", "destination": "/t"}],
            "seccomp_profile_path": "unconfined"}
    kwargs, _ = specgen.from_libpod(spec, {})
    assert kwargs["host_options"] == {
        "privileged": True, "cap_add": ["NET_ADMIN"], "namespaces": ["pid", "user"],
        "devices": ["/dev/fuse"], "mounts": ["/etc"],
        "security_opt": ["seccomp_profile_path=unconfined"]}
    body = {"Image": DEMO, "HostConfig": {
        "Privileged": True, "IpcMode": "host", "UsernsMode": "host",
        "Binds": ["/srv:/srv:ro", "named:/data"], "Mounts": [{"Type": "bind", "Source": "/"}],
        "SecurityOpt": ["no-new-privileges:false", "label=disable", "no-new-privileges"],
        "Devices": [{"PathOnHost": "/dev/sda"}]}}
    kwargs, _ = specgen.from_docker(body, None, {})
    assert kwargs["host_options"] == {
        "privileged": True, "namespaces": ["ipc", "user"], "devices": ["/dev/sda"],
        "mounts": ["/srv", "/"], "security_opt": ["no-new-privileges:false", "label=disable"]}
    assert "host_options" not in specgen.from_libpod({"image": DEMO}, {})[0]


def test_running_limits_and_defaults_on_the_engine(rt: Runtime) -> None:
    p = policy(max_running=1, max_memory="32m", max_total_memory="47m", max_pids=50)
    p.bind(rt)
    door = Door(rt, ANN, p)
    first = door.create_container(DEMO, ["sleep", "60"])
    second = door.create_container(DEMO, ["sleep", "60"], memory="16m")
    try:
        assert (first.config.memory, first.config.pids_limit) == (32 << 20, 50)
        door.container(first.id, "start").start()
        with pytest.raises(NotAuthorizedError,
                           match="max_running: 1 containers are running, the most allowed is 1"):
            door.container(second.id, "start")
        p.rules.max_running = 2
        with pytest.raises(NotAuthorizedError, match="max_total_memory: running containers use "
                           "32m, this one needs 16m, the most allowed is 47m"):
            door.container(second.id, "start")
        p.max_total_memory = 48 << 20  # just inside
        door.container(second.id, "start").start()
        Door(rt, TEA, p).container(second.id, "restart")  # instructors: no limit
    finally:
        for ctr in (first, second):
            rt.remove_container(ctr, force=True, timeout=0)


def test_culling_by_run_time_and_idleness(rt: Runtime) -> None:
    p = policy(max_run_time=3600, idle_timeout=0.2, idle_cpu=0.5)
    ctr = Door(rt, ANN, p).create_container(DEMO, ["sleep", "60"])
    try:
        ctr.start()
        now = time.time()
        assert p.to_cull(rt, {ctr.id: now}, now) == []  # active just now
        later = now + 0.3
        assert [(c.id, why) for c, why in p.to_cull(rt, {ctr.id: now}, later)] == [
            (ctr.id, "idle_timeout: idle for 0.2 s")]
        p.rules.max_run_time = 0.1
        assert [why for _, why in p.to_cull(rt, {}, later)] == [
            "max_run_time: ran over 0.1 s"]
        root = Principal(uid=0, name="root", roles=frozenset({INSTRUCTOR}))
        tea = Door(rt, root, p).create_container(DEMO, ["sleep", "60"])
        try:
            tea.start()
            assert [c.id for c, _ in p.to_cull(rt, {}, time.time() + 5)] == [ctr.id]
        finally:
            rt.remove_container(tea, force=True, timeout=0)
    finally:
        rt.remove_container(ctr, force=True, timeout=0)


def test_an_imported_archive_obeys_the_create_rules(rt: Runtime, tmp_path: Path) -> None:
    """restore --import: the archive's config is checked as a create (here its host network)
    and gets the defaults (a pids limit) before anything runs; a refusal leaves nothing."""
    archive = tmp_path / "ckpt.tar.gz"
    src = rt.create_container(DEMO, ["sleep", "600"], network="host")
    try:
        src.start()
        src.checkpoint(target_file=archive)
    finally:
        rt.remove_container(src, force=True, timeout=0)
    before = {c.id for c in rt.list_containers(all=True)}
    p = policy(max_pids=50)
    with pytest.raises(NotAuthorizedError, match="host_namespaces: .*network"):
        Door(rt, ANN, p).import_checkpoint(archive, "polimp")
    assert {c.id for c in rt.list_containers(all=True)} == before
    # just inside: the instructor, exempt from host_namespaces, gets no default either
    ctr, _ = Door(rt, TEA, p).import_checkpoint(archive, "polimp")
    try:
        assert (ctr.config.network, ctr.config.pids_limit) == ("host", None)
    finally:
        rt.remove_container(ctr, force=True, timeout=0)
    config = ctr.config.replace(network="none")
    assert p.vet_import(ANN, config).pids_limit == 50
    assert p.vet_import(TEA, config) is config


def test_activity_is_noted_for_culling(rt: Runtime) -> None:
    """Opening an attach or exec and typing into it are activity (ContainerService.activity,
    which the culler reads)."""
    service = ContainerService(rt)
    ctr = rt.create_container(DEMO, ["sleep", "60"])
    try:
        ctr.start()

        async def use() -> None:
            session = await service.create_exec(ANN, ctr, ["cat"], stdin=True)
            opened = service.activity[ctr.id]
            source = await service.open_exec(ANN, session, start=True, stdin=True)
            service.activity[ctr.id] = 0.0
            await source.send(b"hi\n")
            assert service.activity[ctr.id] >= opened
            source.close()

        asyncio.run(use())
    finally:
        service.pools.close()
        rt.remove_container(ctr, force=True, timeout=0)


def test_checkpoints_per_student(rt: Runtime) -> None:
    p = policy(max_checkpoints=1)
    p.bind(rt)
    door = Door(rt, ANN, p)
    ctrs = [door.create_container(DEMO, ["sleep", "60"]) for _ in range(2)]
    try:
        for ctr in ctrs:
            ctr.start()
        door.container(ctrs[0].id, "checkpoint").checkpoint()  # just inside
        with pytest.raises(NotAuthorizedError, match="max_checkpoints: 1 containers hold a "
                                                     "checkpoint, the most allowed is 1"):
            door.container(ctrs[1].id, "checkpoint")
        Door(rt, TEA, p).container(ctrs[1].id, "checkpoint")  # instructors: no limit
        door.container(ctrs[0].id, "restore").restore()
        door.container(ctrs[1].id, "checkpoint")  # the restored one holds none any more
    finally:
        for ctr in ctrs:
            rt.remove_container(ctr, force=True, timeout=0)


def test_archive_size_per_checkpoint() -> None:
    """max_archive_size: an archive's size (an int target) for an export or an import; just
    inside is allowed; instructors are exempt; no setting, no limit."""
    p = policy(max_archive_size="1m")
    for action in ("checkpoint.export", "restore.import"):
        p.authorize(ANN, action, 1 << 20)  # just inside
        p.authorize(TEA, action, 1 << 30)
        policy().authorize(ANN, action, 1 << 40)
    with pytest.raises(NotAuthorizedError, match=r"^refused by policy rule max_archive_size: "
                       r"the checkpoint archive is 1048577 bytes, over 1m: it is not "
                       r"exported \(the container keeps its checkpoint"):
        p.authorize(ANN, "checkpoint.export", (1 << 20) + 1)
    with pytest.raises(NotAuthorizedError, match="^refused by policy rule max_archive_size: "
                       "the archive to import is 1048577 bytes, over 1m"):
        p.authorize(ANN, "restore.import", (1 << 20) + 1)
    assert policy(max_archive_size="1m", instructor_rules=["max_archive_size"]).permits(
        TEA, "restore.import", 1 << 20) is True
    assert policy(max_archive_size="1m", instructor_rules=["max_archive_size"]).permits(
        TEA, "restore.import", (1 << 20) + 1) is False


def test_an_export_over_the_archive_size_keeps_the_checkpoint(rt: Runtime,
                                                              tmp_path: Path) -> None:
    """Door.checkpoint asks the policy about the written archive: refused, the container
    keeps its checkpoint (restorable here); a denied checkpoint.export is refused before
    the dump, the container still running."""
    ctr = Door(rt, ANN, policy()).create_container(DEMO, ["sleep", "60"])
    try:
        ctr.start()
        with pytest.raises(NotAuthorizedError, match="denied_actions: the student role may "
                                                     "not use checkpoint.export"):
            Door(rt, ANN, policy(denied_actions={"student": ["checkpoint.export"]})).checkpoint(
                ctr.id, CheckpointOptions(target_file=tmp_path / "a.tar"))
        assert ctr.state.value == "running"
        door = Door(rt, ANN, policy(max_archive_size="4k"))
        with pytest.raises(NotAuthorizedError, match="max_archive_size: the checkpoint archive "
                                                     "is [0-9]+ bytes, over 4k"):
            door.checkpoint(ctr.id, CheckpointOptions(target_file=tmp_path / "b.tar"))
        assert ctr.observe().record.checkpointed
        door.container(ctr.id, "restore").restore()
        assert ctr.state.value == "running"
    finally:
        rt.remove_container(ctr, force=True, timeout=0)


def test_concurrent_starts_cannot_both_take_the_last_place(rt: Runtime) -> None:
    p = policy(max_running=1)
    p.bind(rt)
    service = ContainerService(rt, policy=p)
    door = Door(rt, ANN, p)
    ctrs = [door.create_container(DEMO, ["sleep", "60"]) for _ in range(4)]
    try:
        async def start_all() -> list[object]:
            return await asyncio.gather(*(service.act(ANN, c, "start") for c in ctrs),
                                        return_exceptions=True)

        results = asyncio.run(start_all())
        refusals = [r for r in results if isinstance(r, NotAuthorizedError)]
        assert (len(results) - len(refusals), len(refusals)) == (1, 3), results
        assert p.serialize(ANN, "start") is p.serialize(ANN, "restart")
        assert p.serialize(ANN, "stop") is not p.serialize(ANN, "start")
    finally:
        service.pools.close()
        for ctr in ctrs:
            rt.remove_container(ctr, force=True, timeout=0)


def test_the_example_config_file_loads_and_is_valid(tmp_path: Path) -> None:
    example = Path(__file__).parents[2] / "docs/examples/jupyter_ctr_service_config.py"
    config = load_config(example)
    p = RulesPolicy(PolicyRules(config=config))
    assert p.max_memory == 512 << 20 and p.rules.denied_actions["student"] == [
        "attach", "export"]
    assert ServiceSettings(config=config).is_multi_user
    bad = tmp_path / "bad.py"
    bad.write_text("c.PolicyRules.max_running = \n")
    with pytest.raises(InvalidArgumentError, match="invalid config file"):
        load_config(bad)
    with pytest.raises(InvalidArgumentError, match="no such config file"):
        load_config(tmp_path / "missing.py")


class Labelled:
    """A container as recording_rules reads it: its labels."""

    def __init__(self, labels: dict[str, str]) -> None:
        self.config = type("Config", (), {"labels": labels})()


def test_record_labs_and_max_recording_size() -> None:
    p = policy(record_labs=["exam-*", "intro"], max_recording_size="2m")
    lab = "jupyter-ctr.lab"
    for labels, required in (({lab: "exam-1"}, True), ({lab: "intro"}, True),
                             ({lab: "other"}, False), ({}, False)):
        assert p.recording_rules(Labelled(labels)) == (required, 2 << 20)  # type: ignore[arg-type]
    every = policy(record_labs=["*"])
    assert every.recording_rules(Labelled({lab: "x"})) == (True, 0)  # type: ignore[arg-type]
    assert every.recording_rules(Labelled({})) == (False, 0)  # type: ignore[arg-type]
    assert policy().recording_rules(Labelled({lab: "x"})) == (False, 0)  # type: ignore[arg-type]


def test_session_takeover_is_the_instructors() -> None:
    p = policy()
    with pytest.raises(NotAuthorizedError,
                       match="^refused by policy rule instructor_only: only the instructor"):
        p.authorize(ANN, "session.takeover", None)
    p.authorize(TEA, "session.takeover", None)
