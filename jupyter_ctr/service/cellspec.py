"""A container's spec as a notebook cell holds it (``%%ctr spec NAME``): TOML or YAML with the
common create options, validated into a canonical dict, turned into ``Door.create_container``
arguments, read back from an existing container, rendered again and compared field by field.

One implementation for the magic (magics/verbs.py), the server (GET
/ctr/api/containers/{name}/spec) and the sidebar's "Edit as cell" / "Clone as cell". Pure: no
engine state, no asyncio.

The canonical spec holds only the fields that differ from their defaults, each normalized
(memory and log size in bytes, the command as a list, the stop signal by name), so two specs
are equal when they would create the same container. The spec a container was created from is
stored on it as the label ``jupyter-ctr.spec`` (canonical JSON): a cell run again compares
against what was applied, not against a read-back that loses what the image supplied.
"""

from __future__ import annotations

import difflib
import json
import re
import signal
import tomllib

import yaml

from ..engine.errors import InvalidArgumentError
from ..engine.logs import parse_log_size
from ..engine.oci import parse_signal
from ..engine.parsing import parse_command, parse_env, parse_memory, parse_restart_policy
from ..engine.records import NETWORK_MODES, SPEC_LABEL

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from ..engine.records import ContainerConfig

#: The formats a spec is written in.
FORMATS = ("toml", "yaml")
#: Every field, in the order it is rendered, with its default (a canonical spec leaves out
#: the fields equal to it) and what it takes (for the error messages).
FIELDS: dict[str, tuple[Any, str]] = {
    "image": (None, "an image reference (required)"),
    "command": (None, "a list of strings, or one string split as a shell would"),
    "workdir": (None, "an absolute path"),
    "user": (None, "a user[:group] name or id"),
    "tty": (False, "true or false"),
    "interactive": (False, "true or false (keep stdin open)"),
    "memory": (None, "bytes, or a size like 256m or 1g"),
    "cpus": (None, "a number of CPUs, like 0.5"),
    "pids_limit": (None, "a positive integer"),
    "restart": ("no", "no, always, unless-stopped or on-failure[:N]"),
    "stop_signal": (None, "a signal name or number, like SIGINT"),
    "stop_timeout": (10, "seconds, a non-negative integer"),
    "network": ("none", f"one of {', '.join(NETWORK_MODES)}"),
    "auto_remove": (False, "true or false"),
    "log_size_max": (None, "bytes, or a size like 10m (decimal units)"),
    "env": ({}, "a table of NAME = value, or a list of NAME=VALUE"),
    "labels": ({}, "a table of name = value"),
}
#: Fields of the cell that are not the container's: compared and stored without them.
CELL_FIELDS: dict[str, tuple[Any, str]] = {
    "start": (True, "true or false (false: create only)"),
}
#: Options the engine does not have, with why (a clear error rather than "unknown key").
UNSUPPORTED = {
    "entrypoint": "the engine runs the image's entrypoint before the command: set command",
    "mounts": "the engine has no bind mounts or volumes",
    "volumes": "the engine has no bind mounts or volumes",
    "ports": "containers have no network of their own (network = none or host)",
    "name": "the name is given on the magic's line: %%ctr spec NAME",
}
ALIASES = {"stdin": "interactive", "restart_policy": "restart", "working_dir": "workdir",
           "pids-limit": "pids_limit", "stop-timeout": "stop_timeout",
           "stop-signal": "stop_signal", "auto-remove": "auto_remove", "rm": "auto_remove",
           "environment": "env", "cmd": "command"}
_MiB = 1 << 20
_TOML_LINE = re.compile(r"^\s*(\[|[A-Za-z0-9_\"'.-]+\s*=)")
_YAML_LINE = re.compile(r"^\s*(---|[A-Za-z0-9_\"'.-]+\s*:(\s|$)|- )")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


class SpecError(InvalidArgumentError):
    """A spec that cannot be read or is not valid: the message names the field."""


# -- reading ----------------------------------------------------------------------------------
def detect_format(text: str) -> str:
    """"toml" or "yaml", from the first line that says (``key = v`` or ``[table]`` is TOML,
    ``key: v`` YAML); TOML when nothing does."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if _TOML_LINE.match(line):
            return "toml"
        if _YAML_LINE.match(line):
            return "yaml"
        break
    return "toml"


def parse(text: str, fmt: str | None = None) -> dict[str, Any]:
    """The cell's text as a mapping (``fmt`` "toml" or "yaml"; detected when None)."""
    fmt = fmt or detect_format(text)
    if fmt == "toml":
        try:
            data: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SpecError(f"the spec is not valid TOML: {exc}") from None
    elif fmt == "yaml":
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise SpecError(f"the spec is not valid YAML: {_one_line(str(exc))}") from None
        if data is None:
            data = {}
    else:
        raise SpecError(f"unknown spec format {fmt!r}: use toml or yaml")
    if not isinstance(data, dict):
        raise SpecError(f"the spec must be a table of fields (image = ...), not a "
                        f"{type(data).__name__}")
    return data


def load(text: str, fmt: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Parse and validate a cell: (the canonical container spec, the cell's own options
    such as ``start``)."""
    return validate(parse(text, fmt))


def validate(raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check every field of a parsed spec; (canonical spec, cell options). Raises SpecError
    naming the first field that is wrong and what it takes."""
    spec: dict[str, Any] = {}
    options = {key: default for key, (default, _) in CELL_FIELDS.items()}
    for key, value in raw.items():
        if not isinstance(key, str):
            raise SpecError(f"spec keys must be strings, not {key!r}")
        field = ALIASES.get(key, key)
        if field in UNSUPPORTED:
            raise SpecError(f"spec field {key!r} is not supported: {UNSUPPORTED[field]}")
        if field in CELL_FIELDS:
            options[field] = _bool(field, value)
            continue
        if field not in FIELDS:
            close = difflib.get_close_matches(key, [*FIELDS, *CELL_FIELDS], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SpecError(f"unknown spec field {key!r}{hint}; the fields are "
                            f"{', '.join([*FIELDS, *CELL_FIELDS])}")
        if field in spec:
            raise SpecError(f"spec field {field!r} is given twice (as {key!r})")
        if value is None:
            continue  # YAML's "key:" with nothing: the default
        try:
            spec[field] = _normalize(field, value)
        except InvalidArgumentError as exc:
            message = str(exc)
            if isinstance(exc, SpecError) and message.startswith("spec field"):
                raise
            raise SpecError(f"spec field {field!r}: {message}") from None
    if "image" not in spec:
        raise SpecError("the spec needs an image: image = \"REFERENCE\"")
    return canonical(spec), options


def _normalize(field: str, value: Any) -> Any:
    """One field's canonical value, or InvalidArgumentError saying what is wrong."""
    want = FIELDS[field][1]
    if field in ("image", "workdir", "user", "network"):
        if not isinstance(value, str) or not value:
            raise SpecError(f"spec field {field!r} must be {want}, not {value!r}")
        if field == "workdir" and not value.startswith("/"):
            raise SpecError(f"spec field 'workdir' must be an absolute path, not {value!r}")
        if field == "network" and value not in NETWORK_MODES:
            raise SpecError(f"spec field 'network' must be {want}, not {value!r}")
        return value
    if field in ("tty", "interactive", "auto_remove"):
        return _bool(field, value)
    if field == "command":
        if not isinstance(value, (str, list)):
            raise SpecError(f"spec field 'command' must be {want}, not {value!r}")
        if isinstance(value, list) and not all(isinstance(a, str) for a in value):
            raise SpecError("spec field 'command' must be a list of strings: quote numbers")
        return parse_command(value, "the command must not be empty")
    if field == "memory":
        return parse_memory(_size(field, value))
    if field == "log_size_max":
        return parse_log_size(_size(field, value))
    if field == "cpus":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise SpecError(f"spec field 'cpus' must be {want}, not {value!r}")
        return float(value)
    if field in ("pids_limit", "stop_timeout"):
        if isinstance(value, bool) or not isinstance(value, int) or value < (
                1 if field == "pids_limit" else 0):
            raise SpecError(f"spec field {field!r} must be {want}, not {value!r}")
        return value
    if field == "restart":
        if value is False:  # YAML 1.1 reads a bare no as false
            value = "no"
        if not isinstance(value, str):
            raise SpecError(f"spec field 'restart' must be {want}, not {value!r}")
        policy, retries = parse_restart_policy(value)
        return f"{policy}:{retries}" if retries else policy
    if field == "stop_signal":
        return signal_name(parse_signal(value))
    if field == "env":
        return _string_table(field, value, allow_list=True)
    return _string_table(field, value, allow_list=False)  # labels


def _bool(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise SpecError(f"spec field {field!r} must be true or false, not {value!r}")
    return value


def _size(field: str, value: Any) -> int | str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise SpecError(f"spec field {field!r} must be {FIELDS[field][1]}, not {value!r}")
    return value


def _string_table(field: str, value: Any, *, allow_list: bool) -> dict[str, str]:
    items: dict[str, str] = {}
    if isinstance(value, list) and allow_list:
        for item in value:
            if not isinstance(item, str) or "=" not in item:
                raise SpecError(f"spec field {field!r}: list items must be NAME=VALUE "
                                f"strings, not {item!r}")
        pairs = parse_env(value)
    elif isinstance(value, dict):
        pairs = []
        for key, item in value.items():
            if isinstance(item, bool) or not isinstance(item, (str, int, float)):
                raise SpecError(f"spec field {field!r}: the value of {key!r} must be a "
                                f"string (quote it), not {item!r}")
            pairs.append((str(key), str(item)))
        if field == "env":
            pairs = parse_env(dict(pairs))
    else:
        raise SpecError(f"spec field {field!r} must be {FIELDS[field][1]}, not {value!r}")
    for key, item in pairs:
        if field == "labels" and (not key or "\0" in key or "\0" in item):
            raise SpecError(f"spec field 'labels': invalid label {key!r}")
        if field == "labels" and key == SPEC_LABEL:
            raise SpecError(f"spec field 'labels': {SPEC_LABEL} is the applied spec's own "
                            "label")
        items[key] = item
    return items


def signal_name(number: int) -> str:
    """SIGTERM for 15 (the number as text for a signal Python has no name for)."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def canonical(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The fields that differ from their defaults, in FIELDS order (env and labels sorted)."""
    out: dict[str, Any] = {}
    for field, (default, _) in FIELDS.items():
        value = spec.get(field, default)
        if value == default or value is None:
            continue
        out[field] = dict(sorted(value.items())) if isinstance(value, dict) else value
    return out


def full(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Every field, the defaults filled in."""
    return {field: spec.get(field, default) for field, (default, _) in FIELDS.items()}


# -- to and from containers ---------------------------------------------------------------
def to_json(spec: Mapping[str, Any]) -> str:
    """Canonical JSON: what the label holds (equal specs, equal text)."""
    return json.dumps(canonical(spec), sort_keys=True, separators=(",", ":"))


def create_arguments(name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """``Door.create_container`` keyword arguments (with ``image`` and ``command``) for the
    container ``name``; its labels carry the applied spec (SPEC_LABEL)."""
    s = full(spec)
    return {
        "image": s["image"], "command": s["command"], "name": name,
        "env": s["env"] or None, "workdir": s["workdir"], "user": s["user"],
        "tty": s["tty"], "stdin": s["interactive"],
        "labels": {**s["labels"], SPEC_LABEL: to_json(spec)},
        "stop_signal": s["stop_signal"], "stop_timeout": s["stop_timeout"],
        "memory": s["memory"], "pids_limit": s["pids_limit"], "cpus": s["cpus"],
        "network": s["network"], "auto_remove": s["auto_remove"],
        "restart_policy": s["restart"], "log_size_max": s["log_size_max"],
    }


def applied(labels: Mapping[str, str]) -> dict[str, Any] | None:
    """The spec a container was created from (its SPEC_LABEL), or None (none, or not a
    valid spec: then the container is read back)."""
    text = labels.get(SPEC_LABEL)
    if not text:
        return None
    try:
        raw = json.loads(text)
        return validate(raw)[0] if isinstance(raw, dict) else None
    except (ValueError, InvalidArgumentError):
        return None


def from_config(config: ContainerConfig, image_config: Mapping[str, Any]) -> dict[str, Any]:
    """The spec that would create this container again, read from its config: only what
    differs from the image's defaults (``image_config``, the OCI image config: Entrypoint,
    Cmd, Env, WorkingDir, User, StopSignal) and the create defaults."""
    entrypoint = list(image_config.get("Entrypoint") or [])
    args = list(config.command)
    command: list[str] | None = args
    if args == [*entrypoint, *(image_config.get("Cmd") or [])]:
        command = None
    elif entrypoint and args[:len(entrypoint)] == entrypoint:
        command = args[len(entrypoint):] or None  # create puts the entrypoint back
    implied = {DEFAULT_PATH, "container=oci", *(image_config.get("Env") or [])}
    if config.tty:
        implied.add("TERM=xterm")
    env = {}
    for item in config.env:
        if item not in implied:
            key, _, value = item.partition("=")
            env[key] = value
    workdir = config.workdir if config.workdir != (image_config.get("WorkingDir")
                                                   or "/") else None
    image_signal = image_config.get("StopSignal") or "SIGTERM"
    try:
        default_signal = parse_signal(image_signal)
    except InvalidArgumentError:
        default_signal = signal.SIGTERM
    restart = config.restart_policy or "no"
    if restart == "on-failure" and config.restart_retries:
        restart = f"on-failure:{config.restart_retries}"
    return canonical({
        "image": config.image, "command": command, "workdir": workdir,
        "user": config.user or None, "tty": config.tty, "interactive": config.stdin,
        "memory": config.memory, "cpus": config.cpus, "pids_limit": config.pids_limit,
        "restart": restart,
        "stop_signal": (signal_name(config.stop_signal)
                        if config.stop_signal != default_signal else None),
        "stop_timeout": config.stop_timeout, "network": config.network,
        "auto_remove": config.auto_remove, "log_size_max": config.log_size_max,
        "env": env,
        "labels": {k: v for k, v in config.labels.items() if k != SPEC_LABEL},
    })


def spec_of(config: ContainerConfig, image_config: Mapping[str, Any]) -> dict[str, Any]:
    """What "Edit as cell" writes: the applied spec if the container has one, else the
    read-back."""
    return applied(config.labels) or from_config(config, image_config)


#: The PATH every container gets (engine/runtime.py's DEFAULT_PATH; not imported: the
#: runtime module is not this pure module's business).
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


# -- writing ------------------------------------------------------------------------------
def display_value(field: str, value: Any) -> Any:
    """A canonical value as a person writes it (memory 256m, log size 10m)."""
    if field == "memory" and isinstance(value, int):
        for unit, size in (("g", 1 << 30), ("m", _MiB), ("k", 1 << 10)):
            if value % size == 0:
                return f"{value // size}{unit}"
    if field == "log_size_max" and isinstance(value, int):
        for unit, size in (("g", 10**9), ("m", 10**6), ("k", 10**3)):
            if value % size == 0:
                return f"{value // size}{unit}"
    return value


def render(spec: Mapping[str, Any], fmt: str = "toml",
           options: Mapping[str, Any] | None = None) -> str:
    """The spec as a cell body in ``fmt`` (toml or yaml); ``options`` (``start``) are
    written when they differ from their defaults."""
    fields = {k: display_value(k, v) for k, v in canonical(spec).items()}
    for key, value in (options or {}).items():
        if value != CELL_FIELDS[key][0]:
            fields[key] = value
    if fmt == "yaml":
        return str(yaml.safe_dump(fields, sort_keys=False, default_flow_style=False,
                                  allow_unicode=True, width=100))
    if fmt != "toml":
        raise SpecError(f"unknown spec format {fmt!r}: use toml or yaml")
    lines, tables = [], []
    for key, value in fields.items():
        if isinstance(value, dict):
            tables.append((key, value))
        else:
            lines.append(f"{toml_key(key)} = {toml_value(value)}")
    for key, table in tables:
        lines.append("")
        lines.append(f"[{toml_key(key)}]")
        lines.extend(f"{toml_key(k)} = {toml_value(v)}" for k, v in table.items())
    return "\n".join(lines) + "\n"


def toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else toml_value(key)


def toml_value(value: Any) -> str:
    """A TOML scalar or array (the types a spec holds)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        # JSON's escapes are TOML's, except that TOML wants DEL escaped too
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise SpecError(f"cannot write {value!r} as TOML")


# -- comparing ----------------------------------------------------------------------------
def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """Field by field, (field, old, new) for each that differs; env and labels entry by
    entry (``env.NAME``). A missing value (the default) is None."""
    rows: list[tuple[str, Any, Any]] = []
    a, b = full(old), full(new)
    for field in FIELDS:
        if a[field] == b[field]:
            continue
        if isinstance(a[field], dict):
            for key in sorted(set(a[field]) | set(b[field])):
                if a[field].get(key) != b[field].get(key):
                    rows.append((f"{field}.{key}", a[field].get(key), b[field].get(key)))
        else:
            rows.append((field, display_value(field, old.get(field)),
                         display_value(field, new.get(field))))
    return rows


def unified_diff(old: Mapping[str, Any], new: Mapping[str, Any], fmt: str = "toml",
                 name: str = "spec") -> str:
    """The two specs rendered and compared as a unified diff (what a terminal shows)."""
    return "".join(difflib.unified_diff(
        render(old, fmt).splitlines(keepends=True), render(new, fmt).splitlines(keepends=True),
        f"{name} (applied)", f"{name} (cell)"))


def _one_line(text: str) -> str:
    return " ".join(text.split())
