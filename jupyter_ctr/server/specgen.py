"""Create bodies -> ``Runtime.create_container`` arguments: libpod's SpecGenerator JSON and
Docker's container config. Unknown fields are ignored (clients send many defaults); fields
we cannot honour either fail with 400 or, where ignoring is harmless, add a warning."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .errors import bad_request

#: Network modes clients send by default that we serve as "none" (a warning says so).
_NO_NETWORK = {"", "default", "bridge", "private", "slirp4netns", "pasta", "none", "noNetwork"}


def _str_list(value: Any, field: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return list(value)
    raise bad_request(f"invalid {field}: want a list of strings")


def _str_map(value: Any, field: str) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise bad_request(f"invalid {field}: want an object of strings")
    return {str(k): str(v) for k, v in value.items()}


def _num(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise bad_request(f"invalid {field}: want a number")
    return int(value)


def _command(entrypoint: list[str] | None, command: list[str] | None,
             image_config: Mapping[str, Any]) -> list[str] | None:
    """Docker's rule: an explicit entrypoint drops the image's Cmd; a command alone keeps the
    image's Entrypoint in front. None means 'the image's own'."""
    if entrypoint is not None:
        return [*entrypoint, *(command or [])] or None
    if command is not None:
        return [*(image_config.get("Entrypoint") or []), *command] or None
    return None


def _network(mode: str, warnings: list[str]) -> str:
    if mode == "host":
        return "host"
    if mode in _NO_NETWORK:
        if mode not in ("none", "noNetwork", "", "default"):
            warnings.append(f"network mode {mode!r} is not supported: the container has no "
                            "network (none)")
        return "none"
    raise bad_request(f"invalid network mode {mode!r}: use none or host")


_LOG_DRIVERS = ("", "k8s-file", "json-file")  # json-file: Docker clients' name for it


def _log_size(driver: Any, size: Any, options: Any, field: str) -> int | None:
    """A log configuration -> conmon's --log-size-max bytes (None: no limit)."""
    from ..engine.errors import InvalidArgumentError
    from ..engine.logs import parse_log_size

    if driver is not None and driver not in _LOG_DRIVERS:
        raise bad_request(f"invalid {field} driver {driver!r}: only k8s-file is supported")
    opts = _str_map(options, f"{field} options") or {}
    for key in opts:
        if key != "max-size":
            raise bad_request(f"invalid {field} option {key!r}: only max-size is supported")
    if isinstance(size, bool) or not isinstance(size, (int, type(None))):
        raise bad_request(f"invalid {field} size: want a number of bytes")
    try:
        return parse_log_size(size or opts.get("max-size"))
    except InvalidArgumentError as exc:
        raise bad_request(f"{field}: {exc}") from None


def _restart(name: str | None, retries: int | None) -> str:
    policy = name or "no"
    if policy == "on-failure" and retries:
        return f"on-failure:{retries}"
    return policy


def from_libpod(spec: Mapping[str, Any],
                image_config: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A SpecGenerator (``POST /libpod/containers/create``) -> (create kwargs, warnings)."""
    warnings: list[str] = []
    image = spec.get("image")
    if not isinstance(image, str) or not image:
        raise bad_request("image is required: give the image to create the container from")
    limits = spec.get("resource_limits") or {}
    if not isinstance(limits, Mapping):
        raise bad_request("invalid resource_limits: want an object")
    memory = _num((limits.get("memory") or {}).get("limit"), "resource_limits.memory.limit")
    pids = _num((limits.get("pids") or {}).get("limit"), "resource_limits.pids.limit")
    cpu = limits.get("cpu") or {}
    quota = _num(cpu.get("quota"), "resource_limits.cpu.quota")
    period = _num(cpu.get("period"), "resource_limits.cpu.period") or 100_000
    netns = spec.get("netns") or {}
    if not isinstance(netns, Mapping):
        raise bad_request("invalid netns: want an object with nsmode")
    stop_signal = spec.get("stop_signal")
    stop_timeout = _num(spec.get("stop_timeout"), "stop_timeout")
    deps = _str_list(spec.get("dependencyContainers"), "dependencyContainers") or []
    log_cfg = spec.get("log_configuration") or {}
    if not isinstance(log_cfg, Mapping):
        raise bad_request("invalid log_configuration: want an object")
    if log_cfg.get("path"):
        raise bad_request("invalid log_configuration path: the log lives with the container")
    log_size = _log_size(log_cfg.get("driver") or None, log_cfg.get("size"),
                         log_cfg.get("options"), "log_configuration")
    kwargs: dict[str, Any] = {
        "image": image,
        "command": _command(_str_list(spec.get("entrypoint"), "entrypoint"),
                            _str_list(spec.get("command"), "command"), image_config),
        "name": spec.get("name") or None,
        "env": _str_map(spec.get("env"), "env"),
        "workdir": spec.get("work_dir") or None,
        "user": spec.get("user") or None,
        "tty": bool(spec.get("terminal")),
        "stdin": bool(spec.get("stdin")),
        "labels": _str_map(spec.get("labels"), "labels"),
        "memory": memory if memory and memory > 0 else None,
        "pids_limit": pids if pids and pids > 0 else None,
        "cpus": quota / period if quota and quota > 0 else None,
        "network": _network(str(netns.get("nsmode") or ""), warnings),
        "auto_remove": bool(spec.get("remove")),
        "restart_policy": _restart(spec.get("restart_policy"),
                                   _num(spec.get("restart_tries"), "restart_tries")),
        "depends_on": deps,
        "log_size_max": log_size,
    }
    if stop_signal:
        kwargs["stop_signal"] = stop_signal
    if stop_timeout is not None:
        kwargs["stop_timeout"] = stop_timeout
    return kwargs, warnings


def from_docker(body: Mapping[str, Any], name: str | None,
                image_config: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Docker's create body (``POST /containers/create?name=``) -> (create kwargs, warnings)."""
    warnings: list[str] = []
    image = body.get("Image")
    if not isinstance(image, str) or not image:
        raise bad_request("Image is required: give the image to create the container from")
    host = body.get("HostConfig") or {}
    if not isinstance(host, Mapping):
        raise bad_request("invalid HostConfig: want an object")
    memory = _num(host.get("Memory"), "HostConfig.Memory")
    pids = _num(host.get("PidsLimit"), "HostConfig.PidsLimit")
    nano = _num(host.get("NanoCpus"), "HostConfig.NanoCpus")
    quota = _num(host.get("CpuQuota"), "HostConfig.CpuQuota")
    period = _num(host.get("CpuPeriod"), "HostConfig.CpuPeriod") or 100_000
    cpus = nano / 1e9 if nano else (quota / period if quota and quota > 0 else None)
    policy = host.get("RestartPolicy") or {}
    log_cfg = host.get("LogConfig") or {}
    if not isinstance(log_cfg, Mapping):
        raise bad_request("invalid HostConfig.LogConfig: want an object")
    log_size = _log_size(log_cfg.get("Type") or None, None, log_cfg.get("Config"),
                         "HostConfig.LogConfig")
    env = _str_list(body.get("Env"), "Env")
    entrypoint = _str_list(body.get("Entrypoint"), "Entrypoint")
    if entrypoint == [""]:
        entrypoint = []
    kwargs: dict[str, Any] = {
        "image": image,
        "command": _command(entrypoint, _str_list(body.get("Cmd"), "Cmd"), image_config),
        "name": name or None,
        "env": env,
        "workdir": body.get("WorkingDir") or None,
        "user": body.get("User") or None,
        "tty": bool(body.get("Tty")),
        "stdin": bool(body.get("OpenStdin")),
        "labels": _str_map(body.get("Labels"), "Labels"),
        "memory": memory if memory and memory > 0 else None,
        "pids_limit": pids if pids and pids > 0 else None,
        "cpus": cpus,
        "network": _network(str(host.get("NetworkMode") or ""), warnings),
        "auto_remove": bool(host.get("AutoRemove")),
        "restart_policy": _restart(policy.get("Name") or None,
                                   _num(policy.get("MaximumRetryCount"), "MaximumRetryCount")),
        "log_size_max": log_size,
    }
    if body.get("StopSignal"):
        kwargs["stop_signal"] = body["StopSignal"]
    stop_timeout = _num(body.get("StopTimeout"), "StopTimeout")
    if stop_timeout is not None:
        kwargs["stop_timeout"] = stop_timeout
    return kwargs, warnings
