"""Typed engine records: a container's configuration (libpod's ContainerConfig).

The configuration is fixed at create and frozen. ``ContainerConfig.validate()`` is the one
check of a complete configuration: create builds one from parsed input (engine/parsing.py)
and validates it; a checkpoint archive's configuration is untrusted input and goes through
the same ``validate()``. Plain classes with ``__slots__``, not dataclasses: this module is
loaded by every CLI command and by conmon's exit command, and ``dataclasses`` costs ~10 ms.
"""

from __future__ import annotations

import os
import re
import signal

from . import limits
from .errors import InvalidArgumentError
from .state import ContainerState
from .timeutil import parse_rfc3339_ns, rfc3339_ns

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

#: What a container name must match.
NAME_PATTERN = r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$"
#: Network modes a container may use.
NETWORK_MODES = ("none", "host")
#: Restart policies (podman's names).
RESTART_POLICIES = ("no", "always", "on-failure", "unless-stopped")
#: Below this memory limit a container cannot even start (as podman).
MIN_MEMORY = 6 << 20
#: Largest uid/gid (0xFFFFFFFF is "no id").
ID_MAX = 0xFFFFFFFE
_ID_RE = re.compile(r"[0-9a-f]{64}")
_SHA256_RE = re.compile(r"(sha256:)?[0-9a-f]{64}")

#: The fields, in the order they are stored.
CONFIG_FIELDS = (
    "id", "name", "image", "image_id", "image_rootfs", "command", "env", "workdir", "user",
    "uid", "gid", "tty", "stdin", "labels", "stop_signal", "stop_timeout", "memory",
    "pids_limit", "cpus", "network", "auto_remove", "created", "restart_policy",
    "restart_retries", "dependencies", "log_size_max", "owner_uid", "owner_name",
)
#: Defaults of the optional fields (a record stored by an older engine, or an archive).
_DEFAULTS: dict[str, object] = {
    "user": "", "tty": False, "stdin": False, "labels": {}, "memory": None,
    "pids_limit": None, "cpus": None, "auto_remove": False, "restart_policy": "no",
    "restart_retries": 0, "dependencies": (), "log_size_max": None,
    # Before owners were recorded only root could use the engine: its containers are root's.
    "owner_uid": 0, "owner_name": "root",
}


#: The label that puts a container in a lab (bulk actions, policy rule record_labs).
LAB_LABEL = "jupyter-ctr.lab"
#: The label that holds the spec a %%ctr spec cell applied (canonical JSON: service/cellspec.py).
SPEC_LABEL = "jupyter-ctr.spec"


def event_attributes(config: ContainerConfig, **extra: str) -> dict[str, str]:
    """A container event's attributes, as podman's: the container's labels (so that
    ``events --filter label=K=V`` finds them; not the applied spec's text, which can be
    long), then image, name and owner_uid, which no label can override, then ``extra``."""
    out = {k: v for k, v in config.labels.items() if k != SPEC_LABEL}
    out.update(image=config.image, name=config.name, owner_uid=str(config.owner_uid))
    out.update(extra)
    return out


class ContainerConfig:
    """What a container is: set at create, never changed (``replace`` makes a new one)."""

    __slots__ = CONFIG_FIELDS

    id: str
    name: str
    image: str                      # the name it was created from (or the image id)
    image_id: str
    image_rootfs: str
    command: tuple[str, ...]        # entrypoint and command, resolved
    env: tuple[str, ...]            # NAME=VALUE, image's merged with the user's
    workdir: str
    user: str                       # as given (``user[:group]``), "" for the image's
    uid: int
    gid: int
    tty: bool
    stdin: bool
    labels: Mapping[str, str]
    stop_signal: int
    stop_timeout: int
    memory: int | None              # bytes
    pids_limit: int | None
    cpus: float | None
    network: str
    auto_remove: bool
    created: int                    # ns since the epoch
    restart_policy: str
    restart_retries: int
    dependencies: tuple[str, ...]   # container ids
    log_size_max: int | None        # bytes; conmon rotates the log past it
    owner_uid: int                  # the Unix user who created it (Runtime.actor at create)
    owner_name: str                 # that user's login name, for display

    def __init__(self, **fields: Any) -> None:
        unknown = set(fields) - set(CONFIG_FIELDS)
        if unknown:
            raise TypeError(f"unknown container config fields: {', '.join(sorted(unknown))}")
        for key in CONFIG_FIELDS:
            if key in fields:
                value = fields[key]
            elif key in _DEFAULTS:
                value = _DEFAULTS[key]
            else:
                raise TypeError(f"container config field {key!r} is required")
            if key in ("command", "env", "dependencies") and isinstance(value, list):
                value = tuple(value)
            elif key == "labels" and isinstance(value, dict):
                value = dict(value)
            object.__setattr__(self, key, value)

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError(f"ContainerConfig is frozen: cannot set {key!r} (use replace())")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ContainerConfig):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # labels are a dict

    def __repr__(self) -> str:
        return f"<ContainerConfig {self.id[:12]} {self.name}>"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ContainerConfig:
        """From the stored form (trusted: the engine wrote it). Unknown keys are dropped."""
        return cls(**{k: data[k] for k in CONFIG_FIELDS if k in data})

    @classmethod
    def from_untrusted(cls, data: Mapping[str, Any], context: str) -> ContainerConfig:
        """From input the engine did not write (a checkpoint archive): unknown keys are
        dropped, a missing required field is named. Call ``validate(context)`` next."""
        missing = [k for k in CONFIG_FIELDS if k not in data and k not in _DEFAULTS]
        if missing:
            raise InvalidArgumentError(f"{context} has an invalid {missing[0]}: it is missing")
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        """The stored (JSON) form."""
        out: dict[str, Any] = {k: getattr(self, k) for k in CONFIG_FIELDS}
        out["command"] = list(self.command)
        out["env"] = list(self.env)
        out["dependencies"] = list(self.dependencies)
        out["labels"] = dict(self.labels)
        return out

    def replace(self, **changes: Any) -> ContainerConfig:
        """A copy with ``changes``."""
        return ContainerConfig(**{**{k: getattr(self, k) for k in CONFIG_FIELDS}, **changes})

    def validate(self, context: str = "") -> ContainerConfig:
        """Check every field (types, ranges, forms); return self. ``context`` names where an
        untrusted configuration came from (``"x.tar: config.dump"``) for the message."""

        def bad(key: str, why: str) -> InvalidArgumentError:
            where = f"{context} has an invalid" if context else "invalid"
            return InvalidArgumentError(f"{where} {key}: {why}")

        def text(key: str, value: object) -> str:
            if not isinstance(value, str) or "\0" in value:
                raise bad(key, "expected a string without NUL")
            return value

        def strings(key: str, values: object) -> tuple[str, ...]:
            if not isinstance(values, tuple) or not all(
                    isinstance(v, str) and "\0" not in v for v in values):
                raise bad(key, "expected a list of strings")
            return values

        def integer(key: str, value: object, low: int, high: int,
                    optional: bool = False) -> None:
            if value is None and optional:
                return
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise bad(key, f"expected an integer from {low} to {high}")

        def flag(key: str, value: object) -> None:
            if not isinstance(value, bool):
                raise bad(key, "expected true or false")

        if not isinstance(self.id, str) or not _ID_RE.fullmatch(self.id):
            raise bad("container id", "expected 64 hexadecimal digits")
        if not isinstance(self.name, str) or not re.match(NAME_PATTERN, self.name):
            raise bad("container name", f"{self.name!r}: names must match "
                      "[a-zA-Z0-9][a-zA-Z0-9_.-]*")
        text("image", self.image)
        if not isinstance(self.image_id, str) or not _SHA256_RE.fullmatch(self.image_id):
            raise bad("image id", "expected a sha256 digest")
        if not text("image rootfs", self.image_rootfs).startswith("/"):
            raise bad("image rootfs", "expected an absolute path")
        command = strings("command", self.command)
        if not command or not command[0]:
            raise bad("command", "it is empty")
        for item in strings("env", self.env):
            k, sep, _ = item.partition("=")
            if not k or not sep:
                raise bad("env", f"{item!r} is not NAME=VALUE")
        if not text("workdir", self.workdir).startswith("/"):
            raise bad("workdir", "expected an absolute path")
        text("user", self.user)
        integer("uid", self.uid, 0, ID_MAX)
        integer("gid", self.gid, 0, ID_MAX)
        flag("tty", self.tty)
        flag("stdin", self.stdin)
        if not isinstance(self.labels, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in self.labels.items()):
            raise bad("labels", "expected a map of strings")
        integer("stop_signal", self.stop_signal, 1, int(signal.SIGRTMAX))
        integer("stop_timeout", self.stop_timeout, 0, limits.TIMEOUT_MAX)
        integer("memory", self.memory, MIN_MEMORY, limits.MEMORY_MAX, optional=True)
        integer("pids_limit", self.pids_limit, 1, limits.PIDS_MAX, optional=True)
        cpus = self.cpus
        if cpus is not None and (isinstance(cpus, bool) or not isinstance(cpus, (int, float))
                                 or not 0 < cpus <= (os.cpu_count() or 1)):
            raise bad("cpus", f"expected a number of cpus up to this host's {os.cpu_count()}")
        if self.network not in NETWORK_MODES:
            raise bad("network", f"expected one of {', '.join(NETWORK_MODES)}")
        flag("auto_remove", self.auto_remove)
        integer("created", self.created, 0, 1 << 63)
        if self.restart_policy not in RESTART_POLICIES:
            raise bad("restart_policy", f"expected one of {', '.join(RESTART_POLICIES)}")
        integer("restart_retries", self.restart_retries, 0, limits.RETRIES_MAX)
        if self.restart_retries and self.restart_policy != "on-failure":
            raise bad("restart_policy", "only on-failure takes a retry count")
        if self.restart_policy != "no" and self.auto_remove:
            raise bad("restart_policy", "a restart policy cannot be combined with auto-remove")
        for dep in strings("dependencies", self.dependencies):
            if not _ID_RE.fullmatch(dep):
                raise bad("dependencies", f"{dep!r} is not a container id")
        integer("log_size_max", self.log_size_max, 1, limits.INT64_MAX, optional=True)
        integer("owner_uid", self.owner_uid, 0, ID_MAX)
        text("owner_name", self.owner_name)
        return self


#: What checkpoint/restore record; a plain init forgets it, as libpod's.
CHECKPOINT_FIELDS: dict[str, object] = {
    "checkpointed": False, "checkpointed_at": 0, "checkpoint_path": "", "checkpoint_log": "",
    "checkpoint_conmon_pid": 0, "restored": False, "restored_at": 0, "restore_log": "",
}
#: Every field of a container's state record with its value for a new container.
STATE_DEFAULTS: dict[str, object] = {
    "state": "configured", "pid": 0, "conmon_pid": 0, "exit_code": None, "started_at": 0,
    "finished_at": 0, "oom_killed": False, "mounted": False, "mount_count": 0,
    "stopped_by_user": False, "pending": None, "error": "", "restart_count": 0,
    "run_token": "", "stopper": "", **CHECKPOINT_FIELDS,
}


class ContainerRecord:
    """What a container is doing (libpod's ContainerState struct): changed by the verbs under
    the container's lock and saved with every step. ``state`` is a ContainerState."""

    __slots__ = tuple(STATE_DEFAULTS)

    state: ContainerState
    pid: int                        # the init process, 0 when none
    conmon_pid: int
    exit_code: int | None
    started_at: int                 # ns since the epoch, 0 when never
    finished_at: int
    oom_killed: bool
    mounted: bool
    mount_count: int                # mounts the user holds (``mount`` verbs)
    stopped_by_user: bool
    pending: str | None             # the verb in flight (crash marker), see container_internal
    error: str
    restart_count: int
    run_token: str                  # names one init: a late exit command of another is ignored
    stopper: str                    # owner tag of the process stopping it ("PID START")
    checkpointed: bool
    checkpointed_at: int
    checkpoint_path: str
    checkpoint_log: str
    checkpoint_conmon_pid: int      # the monitor left by a checkpoint that kept it running
    restored: bool
    restored_at: int
    restore_log: str

    def __init__(self, **fields: Any) -> None:
        # Made for every container a list shows: one pass, no per-field branches.
        if not fields.keys() <= STATE_DEFAULTS.keys():
            unknown = fields.keys() - STATE_DEFAULTS.keys()
            raise TypeError(f"unknown container state fields: {', '.join(sorted(unknown))}")
        get = fields.get
        for key, default in STATE_DEFAULTS.items():
            object.__setattr__(self, key, get(key, default))
        self.state = ContainerState(self.state)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ContainerRecord:
        """From the stored form; fields an older engine did not store get their defaults,
        values it stored as null get theirs too."""
        return cls(**{k: (STATE_DEFAULTS[k] if data[k] is None and k != "exit_code"
                          and k != "pending" else data[k])
                      for k in STATE_DEFAULTS if k in data})

    def to_dict(self) -> dict[str, Any]:
        """The stored (JSON) form."""
        out: dict[str, Any] = {k: getattr(self, k) for k in STATE_DEFAULTS}
        out["state"] = self.state.value
        return out

    def update(self, **changes: Any) -> None:
        """Set several fields at once (unknown names are an error)."""
        for key, value in changes.items():
            if key not in STATE_DEFAULTS:
                raise AttributeError(f"container state has no field {key!r}")
            setattr(self, key, ContainerState(value) if key == "state" else value)

    def forget_checkpoint(self) -> None:
        """What a plain init does: the container is no longer the checkpointed or restored
        one."""
        self.update(**CHECKPOINT_FIELDS)

    def copy(self) -> ContainerRecord:
        return ContainerRecord(**self.to_dict())

    def __repr__(self) -> str:
        return f"<ContainerRecord {self.state.value} pid={self.pid} pending={self.pending}>"


class ContainerSnapshot:
    """One consistent reading of a container, taken under its lock: what inspect, ps and the
    server's lists show, typed (no parsing values back out of inspect's JSON)."""

    __slots__ = ("config", "record", "exec_ids", "oci_runtime", "log_path", "bundle",
                 "storage_dirs", "has_checkpoint")

    def __init__(self, config: ContainerConfig, record: ContainerRecord, *,
                 exec_ids: list[str], oci_runtime: str, log_path: str, bundle: str,
                 storage_dirs: dict[str, str], has_checkpoint: bool = False) -> None:
        self.config = config
        self.record = record
        self.exec_ids = exec_ids
        self.oci_runtime = oci_runtime
        self.log_path = log_path
        self.bundle = bundle
        #: overlay directories: LowerDir, UpperDir, WorkDir (and MergedDir while mounted)
        self.storage_dirs = storage_dirs
        #: complete CRIU images are on disk (a checkpoint not yet consumed by a restore)
        self.has_checkpoint = has_checkpoint

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def state(self) -> ContainerState:
        return self.record.state

    @property
    def status(self) -> str:
        """The status name podman's API and ``podman ps`` show."""
        return self.record.state.api_status

    @property
    def exited(self) -> bool:
        return self.record.state in (ContainerState.STOPPED, ContainerState.EXITED)

    @property
    def restorable(self) -> bool:
        """``restore`` would find a checkpoint and accept the state (created or exited)."""
        return self.has_checkpoint and self.record.state in (ContainerState.CONFIGURED,
                                                             ContainerState.EXITED)

    @property
    def exit_code(self) -> int:
        code = self.record.exit_code
        return int(code) if code is not None else 0

    def status_text(self, now: float, docker: bool = False) -> str:
        """The human STATUS column: ``Up 5 minutes``, ``Exited (0) 2 seconds ago``. Podman's
        wording by default; Docker's (``Up 1 second (Paused)``, ``Created``) with ``docker``."""
        from .timeutil import human_duration  # noqa: PLC0415 - lazy: only listings need it

        state, rec = self.record.state, self.record
        if state is ContainerState.RUNNING or (docker and state in (
                ContainerState.PAUSED, ContainerState.STOPPING)):
            text = f"Up {human_duration(now - rec.started_at / 1e9)}" if rec.started_at \
                else "Up"
            return text + " (Paused)" if state is ContainerState.PAUSED else text
        if self.exited:
            ago = f" {human_duration(now - rec.finished_at / 1e9)} ago" \
                if rec.finished_at else ""
            return f"Exited ({self.exit_code}){ago}"
        if not docker:
            return self.status.capitalize()
        if state is ContainerState.REMOVING:
            return "Removal In Progress"
        return "Dead" if state is ContainerState.UNKNOWN else "Created"


#: Snapshot kinds: CRIU's images and the root filesystem's changes, or the changes alone.
SNAPSHOT_KINDS = ("checkpoint", "filesystem")


class Snapshot:
    """One named step of a container's checkpoint timeline (Container.snapshot): ``kind``
    "checkpoint" (CRIU's images and the root filesystem's changes: rewinding continues the
    processes) or "filesystem" (the changes alone: rewinding starts afresh); ``reason`` says
    why it is filesystem-only (CRIU's complaint, or that the container was not running)."""

    __slots__ = ("name", "kind", "created", "size", "reason")

    def __init__(self, name: str, kind: str, created: int, size: int = 0,
                 reason: str = "") -> None:
        self.name = name
        self.kind = kind
        #: nanoseconds since the epoch
        self.created = created
        #: bytes on disk (CRIU's images and the diff)
        self.size = size
        self.reason = reason

    @classmethod
    def from_record(cls, data: Mapping[str, Any], origin: str) -> Snapshot:
        """From a record file's JSON (our own, checked anyway: InvalidArgumentError)."""
        name, kind, created = data.get("name"), data.get("kind"), data.get("created")
        size, reason = data.get("size", 0), data.get("reason", "")
        if not isinstance(name, str) or not re.match(NAME_PATTERN, name) or \
                kind not in SNAPSHOT_KINDS or not isinstance(created, int) or \
                not isinstance(size, int) or not isinstance(reason, str):
            raise InvalidArgumentError(f"{origin} is not a valid snapshot record")
        return cls(name, str(kind), created, size, reason)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Snapshot:
        """From the REST API's JSON object (``to_dict``: the remote client's)."""
        return cls(str(data.get("Name") or ""), str(data.get("Kind") or ""),
                   parse_rfc3339_ns(str(data.get("Created") or "")),
                   int(data.get("Size") or 0), str(data.get("Reason") or ""))

    def to_record(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "created": self.created,
                "size": self.size, "reason": self.reason}

    def to_dict(self) -> dict[str, Any]:
        """The REST API's JSON object."""
        return {"Name": self.name, "Kind": self.kind, "Created": rfc3339_ns(self.created),
                "Size": self.size, "Reason": self.reason}

    def __repr__(self) -> str:
        return f"<Snapshot {self.name} {self.kind} {self.size}B>"
