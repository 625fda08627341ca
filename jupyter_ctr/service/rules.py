"""Policy rules of the multi-user service (``jupyter-ctr service --config FILE``): a traitlets
``PolicyRules`` (docs/examples/jupyter_ctr_service_config.py explains every rule) and the
``RulesPolicy`` that enforces them on top of ownership (service/policy.py).

Rules apply to students (every user without the instructor role); an instructor is exempt
unless the rule's name is in ``instructor_rules`` (``denied_actions`` has its own
"instructor" entry). A refusal raises NotAuthorizedError (HTTP 403) whose message starts
``refused by policy rule NAME:``.

Only the socket service loads this module (traitlets): the CLI and kernels never do.
"""

from __future__ import annotations

import asyncio
import fnmatch
import os
import pwd
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from traitlets import Dict, Float, Int, List, Unicode
from traitlets.config import Configurable

from ..engine.container import Container
from ..engine.errors import CtrError, InvalidArgumentError
from ..engine.images.references import normalize_reference
from ..engine.logs import human_size, parse_log_size
from ..engine.parsing import parse_memory, parse_size
from ..engine.records import LAB_LABEL, ContainerConfig
from ..engine.state import ContainerState
from .policy import ACTIONS, UNLOCKED, NotAuthorizedError, OwnershipPolicy
from .principal import INSTRUCTOR

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from ..engine import Runtime
    from .container_service import ContainerService
    from .principal import Principal

S = ContainerState
STUDENT = "student"
#: States in which a container holds its resources (counted against running limits).
RUNNING = (S.RUNNING, S.PAUSED, S.STOPPING)
#: Actions that make a container run (checked against the running limits).
STARTS = frozenset({"start", "restart", "restore", "rewind"})
#: Every rule's name (for ``instructor_rules``).
RULES = ("privileged", "cap_add", "host_namespaces", "devices", "allowed_host_folders",
         "security_opt", "allowed_images", "max_running", "max_memory", "max_total_memory",
         "max_cpus", "max_pids", "max_log_size", "max_checkpoints", "max_archive_size",
         "max_run_time", "idle_timeout", "max_snapshots", "max_snapshot_size")


def refuse(rule: str, why: str) -> NotAuthorizedError:
    """The refusal of ``rule`` (its message names the rule)."""
    return NotAuthorizedError(f"refused by policy rule {rule}: {why}")


class PolicyRules(Configurable):
    """What students may do through the multi-user service (0 or empty: no limit)."""

    instructor_rules = List(Unicode(), help="Names of rules that apply to instructors too "
                            "(default: instructors are exempt from every rule)."
                            ).tag(config=True)
    allowed_host_folders = List(Unicode(), help="Host folders a student's bind mount may "
                                "come from (the folder or below, after resolving symlinks); "
                                "default none.").tag(config=True)
    allowed_images = List(Unicode(), ["*"], help="fnmatch patterns: a student may create "
                          "containers from images with a name that matches one.").tag(config=True)
    max_running = Int(0, help="Running (or paused) containers per student.").tag(config=True)
    max_memory = Unicode("", help="Memory limit per container (bytes or 512m, 2g); also the "
                         "limit of a container created without one.").tag(config=True)
    max_total_memory = Unicode("", help="Sum of the memory limits of a student's running "
                               "containers.").tag(config=True)
    max_cpus = Float(0, help="CPUs per container; also the limit of a container created "
                     "without one.").tag(config=True)
    max_pids = Int(0, help="Pids limit per container; also the limit of a container created "
                   "without one (never unlimited).").tag(config=True)
    max_log_size = Unicode("", help="Log size per container (conmon rotates it): a create "
                           "asking for more is refused, one asking for none gets this."
                           ).tag(config=True)
    max_checkpoints = Int(0, help="A student's containers holding a checkpoint (stopped by "
                          "one, not yet restored): one more checkpoint is refused."
                          ).tag(config=True)
    max_archive_size = Unicode("", help="Size of one checkpoint archive (bytes or 512m, 2g): "
                               "an export whose archive is larger is refused once written "
                               "(the container keeps its checkpoint), an import (upload) "
                               "larger is refused before it is received.").tag(config=True)
    max_snapshots = Int(0, help="Snapshots of one container (its checkpoint timeline): one "
                        "more is refused (replacing one by its step name is not)."
                        ).tag(config=True)
    max_snapshot_size = Unicode("", help="Size of one snapshot (bytes or 512m, 2g): a larger "
                                "one is removed again and refused.").tag(config=True)
    denied_actions = Dict(value_trait=List(Unicode()), help="Actions (policy.ACTIONS) each "
                          "role may not use: {'student': ['attach', 'export']}; roles are "
                          "'student' and 'instructor'.").tag(config=True)
    max_run_time = Float(0, help="Seconds a student's container may run before the service "
                         "stops it.").tag(config=True)
    idle_timeout = Float(0, help="Seconds without activity (attach, exec, logs) and with CPU "
                         "below idle_cpu after which the service stops a student's container."
                         ).tag(config=True)
    idle_cpu = Float(0.01, help="CPU use (fraction of one CPU) under which a container "
                     "counts as idle.").tag(config=True)
    cull_interval = Float(60, help="Seconds between two checks of run time and idleness."
                          ).tag(config=True)
    record_labs = List(Unicode(), help="Labs (fnmatch patterns of the label "
                       "jupyter-ctr.lab; '*' for every lab) whose terminal sessions are "
                       "always recorded: a session on such a container records from its "
                       "start, and stopping the recording is refused.").tag(config=True)
    max_recording_size = Unicode("", help="Size of one terminal recording (bytes or 512m, "
                                 "2g): past it the recording ends with a marker saying why."
                                 ).tag(config=True)

    def check(self) -> None:
        """Raise InvalidArgumentError for a setting that makes no sense (at start-up)."""
        for rule in self.instructor_rules:
            if rule not in RULES:
                raise InvalidArgumentError(f"invalid instructor_rules: unknown rule {rule!r}")
        for role, actions in self.denied_actions.items():
            if role not in (STUDENT, INSTRUCTOR):
                raise InvalidArgumentError(f"invalid denied_actions: unknown role {role!r}: "
                                           "use student or instructor")
            for action in actions:
                if action not in ACTIONS:
                    raise InvalidArgumentError(
                        f"invalid denied_actions: unknown action {action!r}")
        for folder in self.allowed_host_folders:
            if not folder.startswith("/"):
                raise InvalidArgumentError(
                    f"invalid allowed_host_folders: {folder!r} is not an absolute path")
        for key in ("max_memory", "max_total_memory"):
            parse_memory(getattr(self, key) or None)
        parse_log_size(self.max_log_size or None)
        parse_size(self.max_archive_size or 0, "max_archive_size")
        parse_size(self.max_snapshot_size or 0, "max_snapshot_size")
        parse_size(self.max_recording_size or 0, "max_recording_size")
        for key in ("max_running", "max_checkpoints", "max_snapshots", "max_cpus", "max_pids",
                    "max_run_time", "idle_timeout", "idle_cpu", "cull_interval"):
            if getattr(self, key) < 0:
                raise InvalidArgumentError(f"invalid {key}: must not be negative")

    @property
    def culls(self) -> bool:
        """Whether a background task must watch run times or idleness."""
        return bool(self.max_run_time or self.idle_timeout)


def _inside(path: str, folders: list[str]) -> bool:
    real = os.path.realpath(path)
    for folder in folders:
        base = os.path.realpath(folder)
        if real == base or real.startswith(base.rstrip("/") + "/"):
            return True
    return False


def image_names(ref: str, names: list[str]) -> list[str]:
    """The names an image given as ``ref`` counts by for ``allowed_images``: the name given
    (normalized: busybox is localhost/busybox:latest), or all of its ``names`` when it was
    given by ID (or they are unknown)."""
    try:
        given = normalize_reference(ref)
    except InvalidArgumentError:
        given = ""
    if given in names:
        return [given]
    return names or [ref]


#: The create arguments that are limits (what ``create_arguments`` may fill in).
LIMITS = ("memory", "cpus", "pids_limit", "log_size_max")


def import_arguments(config: ContainerConfig) -> dict[str, Any]:
    """An archived container's config as create arguments (what the create rules check)."""
    return {"image": config.image, "image_names": [config.image], "command": config.command,
            "network": config.network, "host_options": {},
            **{key: getattr(config, key) for key in LIMITS}}


def _size(value: int) -> str:
    for unit, size in (("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10)):
        if value >= size and value % size == 0:
            return f"{value // size}{unit}"
    return str(value)


class RulesPolicy(OwnershipPolicy):
    """Ownership plus the rules. ``bind(runtime)`` before use: the running limits count the
    student's containers there."""

    def __init__(self, rules: PolicyRules | None = None,
                 instructor_gids: frozenset[int] = frozenset()) -> None:
        self.rules = rules or PolicyRules()
        self.rules.check()
        self.instructor_gids = instructor_gids
        self.runtime: Runtime | None = None
        self.max_memory = parse_memory(self.rules.max_memory or None)
        self.max_total_memory = parse_memory(self.rules.max_total_memory or None)
        self.max_log_size = parse_log_size(self.rules.max_log_size or None)
        self.max_archive_size = parse_size(self.rules.max_archive_size or 0, "max_archive_size")
        self.max_snapshot_size = parse_size(self.rules.max_snapshot_size or 0,
                                            "max_snapshot_size")
        self.max_recording_size = parse_size(self.rules.max_recording_size or 0,
                                             "max_recording_size")
        #: Per-uid locks of ``serialize``.
        self.locks: dict[int, threading.Lock] = {}
        #: Idle watch: container id -> (cpu ns, when read, idle since).
        self.samples: dict[str, tuple[int, float, float]] = {}

    def serialize(self, principal: Principal, action: str) -> AbstractContextManager[None]:
        """A student's starts take turns while running limits are set: the count and the
        start are one step (two at once cannot both pass the last free place)."""
        if (action in STARTS or action == "restore.import") and \
                (self.rules.max_running or self.max_total_memory):
            return self.locks.setdefault(principal.uid, threading.Lock())  # type: ignore[return-value]
        return UNLOCKED

    def bind(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def applies(self, principal: Principal, rule: str) -> bool:
        return not principal.has_role(INSTRUCTOR) or rule in self.rules.instructor_rules

    # -- authorize ----------------------------------------------------------------------------
    def authorize(self, principal: Principal, action: str, target: object) -> None:
        super().authorize(principal, action, target)
        role = INSTRUCTOR if principal.has_role(INSTRUCTOR) else STUDENT
        if action in self.rules.denied_actions.get(role, ()):
            raise refuse("denied_actions", f"the {role} role may not use {action}")
        if action == "session.takeover" and role != INSTRUCTOR:
            raise refuse("instructor_only", "only the instructor role may take over a "
                         "terminal session")
        if action == "create" and isinstance(target, Mapping):
            self.check_create(principal, target)
        elif action in STARTS and isinstance(target, Container):
            self.check_running(principal, target)
        elif action == "checkpoint" and isinstance(target, Container):
            self.check_checkpoints(principal, target)
        elif action == "snapshot" and isinstance(target, Container):
            self.check_snapshots(principal, target)
        elif action == "snapshot" and isinstance(target, int):
            self.check_snapshot_size(principal, target)
        elif action in ("checkpoint.export", "restore.import") and isinstance(target, int):
            self.check_archive_size(principal, action, target)
        elif action == "restore.import" and isinstance(target, ContainerConfig):
            self.check_create(principal, import_arguments(target))
        elif action == "restore.import":
            self.check_running(principal, None)

    def recording_rules(self, target: Container) -> tuple[bool, int]:
        """Rule record_labs (the container's lab label matches one) and
        max_recording_size."""
        lab = dict(target.config.labels).get(LAB_LABEL)
        required = bool(lab) and any(fnmatch.fnmatchcase(str(lab), pattern)
                                     for pattern in self.rules.record_labs)
        return required, self.max_recording_size

    def check_create(self, principal: Principal, args: Mapping[str, Any]) -> None:
        """Refused create options, allowed images, per-container limits."""
        opts: Mapping[str, Any] = args.get("host_options") or {}

        def rule(name: str, broken: bool, why: str) -> None:
            if broken and self.applies(principal, name):
                raise refuse(name, why)

        rule("privileged", bool(opts.get("privileged")), "privileged containers are not allowed")
        rule("cap_add", bool(opts.get("cap_add")),
             f"added capabilities are not allowed: {', '.join(opts.get('cap_add') or [])}")
        hosts = [*(["network"] if args.get("network") == "host" else []),
                 *(opts.get("namespaces") or [])]
        rule("host_namespaces", bool(hosts),
             f"the host's namespaces are not allowed: {', '.join(hosts)}")
        rule("devices", bool(opts.get("devices")),
             f"devices are not allowed: {', '.join(opts.get('devices') or [])}")
        folders = list(self.rules.allowed_host_folders)
        outside = [m for m in opts.get("mounts") or [] if not _inside(m, folders)]
        rule("allowed_host_folders", bool(outside),
             f"bind mount of {', '.join(outside)} is outside the allowed folders"
             f" ({', '.join(folders) or 'none'})")
        rule("security_opt", bool(opts.get("security_opt")),
             "security options that weaken confinement are not allowed: "
             f"{', '.join(opts.get('security_opt') or [])}")
        names = image_names(str(args.get("image")), list(args.get("image_names") or []))
        patterns = list(self.rules.allowed_images)
        rule("allowed_images",
             not any(fnmatch.fnmatchcase(str(n), p) for n in names for p in patterns),
             f"image {names[0]} is not in {', '.join(patterns) or 'no pattern'}")
        memory = args.get("memory")
        if self.max_memory and memory is not None:
            rule("max_memory", (parse_memory(memory) or 0) > self.max_memory,
                 f"memory {_size(parse_memory(memory) or 0)} is over "
                 f"{_size(self.max_memory)} per container")
        cpus = args.get("cpus")
        rule("max_cpus", bool(self.rules.max_cpus and cpus and cpus > self.rules.max_cpus),
             f"{cpus} CPUs is over {self.rules.max_cpus:g} per container")
        pids = args.get("pids_limit")
        rule("max_pids", bool(self.rules.max_pids and pids and pids > self.rules.max_pids),
             f"pids limit {pids} is over {self.rules.max_pids} per container")
        log = args.get("log_size_max")
        if self.max_log_size and log is not None:
            size = parse_log_size(log) or 0
            rule("max_log_size", size > self.max_log_size,
                 f"log size {size} bytes is over {self.max_log_size} "
                 f"({human_size(self.max_log_size)}) per container")

    def create_arguments(self, principal: Principal,
                         arguments: dict[str, Any]) -> dict[str, Any]:
        """A student's container gets the limits it did not ask for: never unlimited where
        the rules set a maximum."""
        out = dict(arguments)
        for rule, key, value in (("max_memory", "memory", self.max_memory),
                                 ("max_cpus", "cpus", self.rules.max_cpus or None),
                                 ("max_pids", "pids_limit", self.rules.max_pids or None),
                                 ("max_log_size", "log_size_max", self.max_log_size)):
            if value and out.get(key) is None and self.applies(principal, rule):
                out[key] = value
        return out

    def vet_import(self, principal: Principal, config: ContainerConfig) -> ContainerConfig:
        """An imported container gets the limits its archive did not set."""
        args = import_arguments(config)
        done = self.create_arguments(principal, args)
        changes = {key: done[key] for key in LIMITS if done.get(key) != args.get(key)}
        return config.replace(**changes) if changes else config

    def check_running(self, principal: Principal, target: Container | None) -> None:
        """The running limits, before ``target`` (None: an imported one) runs."""
        limit, total = self.rules.max_running, self.max_total_memory
        if self.runtime is None or not (limit or total):
            return
        mine = [c for c in self.runtime.list_containers(all=True)
                if c.config.owner_uid == principal.uid
                and (target is None or c.id != target.id) and c.state in RUNNING]
        if limit and len(mine) >= limit and self.applies(principal, "max_running"):
            raise refuse("max_running", f"{len(mine)} containers are running, the most "
                         f"allowed is {limit}")
        if total and target is not None and self.applies(principal, "max_total_memory"):
            used = sum(c.config.memory or 0 for c in mine)
            want = target.config.memory or 0
            if used + want > total:
                raise refuse("max_total_memory",
                             f"running containers use {_size(used)}, this one needs "
                             f"{_size(want)}, the most allowed is {_size(total)}")

    def check_checkpoints(self, principal: Principal, target: Container) -> None:
        limit = self.rules.max_checkpoints
        if self.runtime is None or not limit or not self.applies(principal, "max_checkpoints"):
            return
        held = [c for c in self.runtime.list_containers(all=True)
                if c.config.owner_uid == principal.uid and c.id != target.id
                and c.observe().record.checkpointed]
        if len(held) >= limit:
            raise refuse("max_checkpoints", f"{len(held)} containers hold a checkpoint, the "
                         f"most allowed is {limit}: restore or remove one")

    def check_snapshots(self, principal: Principal, target: Container) -> None:
        """One more snapshot of ``target`` (its timeline's length)."""
        limit = self.rules.max_snapshots
        if not limit or not self.applies(principal, "max_snapshots"):
            return
        held = len(target.snapshots())
        if held >= limit:
            raise refuse("max_snapshots", f"container {target.name} has {held} snapshots, the "
                         f"most allowed is {limit}: remove one, or replace one by its name")

    def check_snapshot_size(self, principal: Principal, size: int) -> None:
        """One snapshot of ``size`` bytes (taken: the Door removes it on refusal)."""
        limit = self.max_snapshot_size
        if not limit or size <= limit or not self.applies(principal, "max_snapshot_size"):
            return
        raise refuse("max_snapshot_size", f"the snapshot is {size} bytes, over "
                     f"{_size(limit)}: it was not kept")

    def check_archive_size(self, principal: Principal, action: str, size: int) -> None:
        """One checkpoint archive of ``size`` bytes: exported, or uploaded to import."""
        limit = self.max_archive_size
        if not limit or size <= limit or not self.applies(principal, "max_archive_size"):
            return
        if action == "checkpoint.export":
            raise refuse("max_archive_size", f"the checkpoint archive is {size} bytes, over "
                         f"{_size(limit)}: it is not exported (the container keeps its "
                         "checkpoint: restore it here)")
        raise refuse("max_archive_size", f"the archive to import is {size} bytes, over "
                     f"{_size(limit)}")

    # -- culling ------------------------------------------------------------------------------
    def owner_is_instructor(self, uid: int) -> bool:
        if uid == 0:
            return True
        try:
            entry = pwd.getpwuid(uid)
        except KeyError:
            return False
        return bool(self.instructor_gids & set(os.getgrouplist(entry.pw_name, entry.pw_gid)))

    def to_cull(self, runtime: Runtime, activity: Mapping[str, float],
                now: float | None = None) -> list[tuple[Container, str]]:
        """The containers to stop now, each with why: run past ``max_run_time``, or idle
        (no activity in ``activity``, container id -> time of the last attach, exec or
        logs, and CPU under ``idle_cpu``) for ``idle_timeout``. Called every
        ``cull_interval`` by the service; keeps the CPU readings between calls."""
        now = time.time() if now is None else now
        out: list[tuple[Container, str]] = []
        seen = set()
        rules = self.rules
        for ctr in runtime.list_containers(all=True):
            if ctr.state not in (S.RUNNING, S.PAUSED):
                continue
            instructor = self.owner_is_instructor(ctr.config.owner_uid)
            started = ctr.observe().record.started_at / 1e9
            if rules.max_run_time and started and now - started > rules.max_run_time and \
                    (not instructor or "max_run_time" in rules.instructor_rules):
                out.append((ctr, f"max_run_time: ran over {rules.max_run_time:g} s"))
                continue
            if not rules.idle_timeout or \
                    (instructor and "idle_timeout" not in rules.instructor_rules):
                continue
            seen.add(ctr.id)
            try:
                cpu = int(ctr.stats()["cpu_ns"])
            except Exception:  # noqa: BLE001 - stopped meanwhile: nothing to cull
                continue
            last = max(started, activity.get(ctr.id, 0.0))
            prev = self.samples.get(ctr.id)
            if prev is None:
                since = last
            else:
                busy = (cpu - prev[0]) / 1e9 > rules.idle_cpu * max(now - prev[1], 1e-9)
                since = now if busy else max(prev[2], last)
            self.samples[ctr.id] = (cpu, now, since)
            if now - since >= rules.idle_timeout:
                out.append((ctr, f"idle_timeout: idle for {rules.idle_timeout:g} s"))
        for gone in set(self.samples) - seen:
            del self.samples[gone]
        return out


async def cull_forever(service: ContainerService, policy: RulesPolicy) -> None:
    """Every ``cull_interval`` seconds, stop the containers ``policy.to_cull`` names (the
    service's background task). The stop is recorded as done by ``jupyter-ctr-policy``."""
    view = service.runtime.acting_as(0, "jupyter-ctr-policy")

    def cull() -> None:
        for ctr, why in policy.to_cull(view, service.activity):
            service.log.info("policy stops container %s (%s): %s", ctr.name,
                             ctr.config.owner_name, why)
            try:
                ctr.stop(timeout=2)
            except CtrError as exc:  # stopped or removed meanwhile
                service.log.info("policy could not stop %s: %s", ctr.name, exc)

    while True:
        await asyncio.sleep(policy.rules.cull_interval)
        try:
            await service.pools.run_long(cull)
        except Exception:
            service.log.exception("policy culling failed")
