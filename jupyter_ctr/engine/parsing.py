"""The one parser of each kind of container input: command lines, environments, names, memory
sizes and restart policies (create and exec share them). Each turns what a user gives into the
canonical value of a ContainerConfig field (engine/records.py), or raises InvalidArgumentError
naming the problem."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from . import limits
from .errors import InvalidArgumentError
from .records import MIN_MEMORY, NAME_PATTERN, RESTART_POLICIES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

_MEMORY_UNITS = {"b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def parse_command(command: Sequence[str] | str | None, empty: str) -> list[str]:
    """A command as a list, or a string split as a shell would (``shlex``); ``empty`` is the
    message for a missing or empty one."""
    if command is None:
        args: list[str] = []
    elif isinstance(command, str):
        import shlex  # noqa: PLC0415 - lazy: only string commands need it (CLI start-up)

        try:
            args = shlex.split(command)
        except ValueError as exc:
            raise InvalidArgumentError(f"cannot parse command {command!r}: {exc}") from exc
    else:
        args = list(command)
    if not args or not args[0]:
        raise InvalidArgumentError(empty)
    for a in args:
        if not isinstance(a, str) or "\0" in a:
            raise InvalidArgumentError(f"command argument {a!r} is not a valid string")
    check_path_length("the command's executable", args[0])
    return args


def check_path_length(what: str, path: str) -> str:
    """``path`` unless it is longer than the kernel takes (limits.PATH_LENGTH_MAX bytes)."""
    size = len(path.encode(errors="surrogateescape"))
    if size > limits.PATH_LENGTH_MAX:
        raise InvalidArgumentError(f"{what} is {size} bytes long: a path may have at most "
                                   f"{limits.PATH_LENGTH_MAX}")
    return path


def parse_env(env: Mapping[str, str] | Sequence[str] | None) -> list[tuple[str, str]]:
    """``NAME=VALUE`` items or a mapping, validated; a bare ``NAME`` takes the caller's value,
    as podman's ``-e NAME`` does."""
    if env is None:
        return []
    items: list[tuple[str, str]]
    if isinstance(env, str):
        raise InvalidArgumentError("an environment must be a mapping or a list of NAME=VALUE, "
                                   f"not the string {env!r}")
    if isinstance(env, Mapping):
        items = [(str(k), str(v)) for k, v in env.items()]
    else:
        items = []
        for e in env:
            k, sep, v = str(e).partition("=")
            if not sep:
                v = os.environ.get(k, "")
            items.append((k, v))
    for k, v in items:
        if not k or "=" in k or "\0" in k or "\0" in v:
            raise InvalidArgumentError(f"invalid environment variable {k!r}: names must be "
                                       "non-empty without '=' or NUL")
    return items


def merge_env(*layers: Iterable[str] | Iterable[tuple[str, str]]) -> list[str]:
    """``NAME=VALUE`` strings with later layers overriding earlier ones (order of first
    appearance kept). A layer holds strings or (name, value) pairs."""
    merged: dict[str, str] = {}
    for layer in layers:
        for item in layer:
            if isinstance(item, str):
                k, _, v = item.partition("=")
            else:
                k, v = item
            merged[k] = v
    return [f"{k}={v}" for k, v in merged.items()]


def env_dict(items: Iterable[str]) -> dict[str, str]:
    """``NAME=VALUE`` strings as a mapping (the last of a name wins)."""
    out: dict[str, str] = {}
    for item in items:
        k, _, v = item.partition("=")
        out[k] = v
    return out


def check_name(name: object) -> str:
    """A container name as podman accepts it."""
    if not isinstance(name, str) or not re.match(NAME_PATTERN, name):
        raise InvalidArgumentError(f"invalid container name {name!r}: names must match "
                                   "[a-zA-Z0-9][a-zA-Z0-9_.-]*")
    return name


def parse_size(size: int | str, what: str = "size") -> int:
    """Bytes, or a number with b, k, m or g (binary units); ``what`` names it in errors."""
    if isinstance(size, int):
        return size
    m = re.fullmatch(r"\s*(\d+)\s*([bkmg]?)b?\s*", str(size).lower())
    if not m:
        raise InvalidArgumentError(f"invalid {what} {size!r}: use bytes or a number with b, "
                                   "k, m or g")
    return int(m.group(1)) * _MEMORY_UNITS[m.group(2) or "b"]


def parse_memory(memory: int | str | None) -> int | None:
    """Bytes, or a number with b, k, m or g (binary units, as podman's ``--memory``)."""
    if memory is None:
        return None
    value = parse_size(memory, "memory limit")
    if value < MIN_MEMORY:
        raise InvalidArgumentError(f"memory limit {memory!r} is below the minimum of 6m")
    return limits.check("memory limit", value, MIN_MEMORY, limits.MEMORY_MAX)


def parse_restart_policy(spec: str) -> tuple[str, int]:
    """``no``, ``always``, ``unless-stopped`` or ``on-failure[:N]`` -> (policy, retries)."""
    policy, _, count = (spec or "no").partition(":")
    if policy not in RESTART_POLICIES:
        raise InvalidArgumentError(f"invalid restart policy {spec!r}: use no, always, "
                                   "on-failure[:N] or unless-stopped")
    if count and policy != "on-failure":
        raise InvalidArgumentError(f"invalid restart policy {spec!r}: only on-failure takes "
                                   "a retry count")
    if count and (not count.isdigit() or int(count) < 0):
        raise InvalidArgumentError(f"invalid restart policy {spec!r}: the retry count must "
                                   "be a non-negative integer")
    return policy, limits.check("restart retry count", int(count or 0), 0, limits.RETRIES_MAX)
