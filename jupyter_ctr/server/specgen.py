"""Create bodies -> ``Runtime.create_container`` arguments: libpod's SpecGenerator JSON and
Docker's container config. Unknown fields are ignored (clients send many defaults); fields
we cannot honour either fail with 400 or, where ignoring is harmless, add a warning."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..engine import limits
from ..engine.errors import InvalidArgumentError
from ..engine.logs import parse_log_size
from .errors import bad_request

#: Network modes clients send by default that we serve as "none" (a warning says so).
_NO_NETWORK = {"", "default", "bridge", "private", "slirp4netns", "pasta", "none", "noNetwork"}


def _no_nul(values: Iterable[str], field: str) -> None:
    # execve, environment blocks and runc's JSON strings cannot carry NUL
    if any("\0" in v for v in values):
        raise bad_request(f"invalid {field}: strings may not contain NUL characters")


def _str_list(value: Any, field: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        _no_nul(value, field)
        return list(value)
    raise bad_request(f"invalid {field}: want a list of strings")


def _str_map(value: Any, field: str) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise bad_request(f"invalid {field}: want an object of strings")
    out = {str(k): str(v) for k, v in value.items()}
    _no_nul([*out, *out.values()], field)
    return out


def opt_str(value: Any, field: str) -> str | None:
    """An optional string field ("" counts as not given)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise bad_request(f"invalid {field}: want a string")
    _no_nul([value], field)
    return value


def _signal(value: Any, field: str) -> str | int | None:
    if value is None or value == "" or value == 0:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise bad_request(f"invalid {field}: want a signal name or number")
    return value


def number(value: Any, field: str, low: int, high: int) -> int:
    """A JSON number in [low, high] (what runc and the kernel take), or 400 naming it."""
    try:
        return limits.check(field, value, low, high)
    except InvalidArgumentError as exc:
        raise bad_request(str(exc)) from None


def _num(value: Any, field: str, low: int = -1, high: int = limits.INT64_MAX) -> int | None:
    return None if value is None else number(value, field, low, high)


def _cpus(quota: int | None, period: int | None, field: str) -> float | None:
    """CFS quota/period (microseconds) -> cpus; unset or -1 quota means no limit."""
    if period is not None and period != 0 and period < limits.CPU_PERIOD_MIN:
        raise bad_request(f"invalid {field}.period {period}: must be from "
                          f"{limits.CPU_PERIOD_MIN} to {limits.CPU_PERIOD_MAX} (or 0)")
    if quota is None or quota <= 0:
        return None
    if quota < limits.CPU_QUOTA_MIN:
        raise bad_request(f"invalid {field}.quota {quota}: must be at least "
                          f"{limits.CPU_QUOTA_MIN} microseconds (or -1 for no limit)")
    return quota / (period or 100_000)


def _obj(parent: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise bad_request(f"invalid {where}.{key}: want an object")
    return value




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


def _log_size(driver: Any, size: Any, options: Any, field: str,
              warnings: list[str] | None = None) -> int | None:
    """A log configuration -> conmon's --log-size-max bytes (None: no limit). With
    ``warnings`` (Docker's create), json-file's ``max-file`` is accepted and reported as
    ignored, so that compose files that set it still work."""
    if driver is not None and driver not in _LOG_DRIVERS:
        raise bad_request(f"invalid {field} driver {driver!r}: only k8s-file is supported")
    opts = _str_map(options, f"{field} options") or {}
    for key in opts:
        if key == "max-file" and warnings is not None:
            warnings.append(f"{field} option max-file is ignored: the container log is one "
                            "file that conmon rotates in place (as podman's k8s-file)")
        elif key != "max-size":
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


#: Namespaces a create may ask to share with the host (libpod's ``*ns.nsmode``, Docker's
#: ``HostConfig.*Mode``); the network is the engine's own ``network`` argument.
_NAMESPACES = ("pid", "ipc", "uts", "user", "cgroup")
_DOCKER_MODES = {"pid": "PidMode", "ipc": "IpcMode", "uts": "UTSMode", "user": "UsernsMode",
                 "cgroup": "CgroupnsMode"}
#: Security options that weaken the container's confinement (Docker's ``SecurityOpt``,
#: ``=`` or ``:`` as separator).
_WEAKENING = ("seccomp=unconfined", "apparmor=unconfined", "label=disable",
              "label=type:spc_t", "no-new-privileges=false", "systempaths=unconfined")


def _weakening(opts: Iterable[str]) -> list[str]:
    out = []
    for opt in opts:
        norm = opt.replace(":", "=", 1) if "=" not in opt else opt
        if norm.lower() in _WEAKENING:
            out.append(opt)
    return out


def _host_options(privileged: Any, caps: Any, namespaces: dict[str, Any], devices: list[str],
                  mounts: list[str], security: list[str]) -> dict[str, Any]:
    """The host access a create asks for, beyond the engine's own arguments: what a policy
    may refuse (service/rules.py). The engine runs none of it (it has no privileged mode,
    capabilities beyond its default set, shared namespaces other than the network, devices
    or bind mounts): only keys with a request are kept."""
    # paths go to the policy's realpath(): NUL is a 400 here, not a ValueError there
    _no_nul([*devices, *mounts], "mount or device path")
    out: dict[str, Any] = {}
    if privileged is True:
        out["privileged"] = True
    cap_list = [c for c in (caps or []) if isinstance(c, str) and c] \
        if isinstance(caps, list) else []
    if cap_list:
        out["cap_add"] = cap_list
    hosts = sorted(k for k, v in namespaces.items() if v == "host")
    if hosts:
        out["namespaces"] = hosts
    for key, values in (("devices", devices), ("mounts", mounts), ("security_opt", security)):
        if values:
            out[key] = values
    return out


def _paths(items: Any, *keys: str) -> list[str]:
    """The host paths of a list of objects (the first of ``keys`` each has)."""
    out = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, Mapping):
            for key in keys:
                if isinstance(item.get(key), str) and item[key]:
                    out.append(item[key])
                    break
    return out


def _bind_sources(items: Any, type_key: str, source_key: str) -> list[str]:
    """The host sources of bind mounts (named volumes, tmpfs etc. are not host paths)."""
    out = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, Mapping) and str(item.get(type_key) or "bind").lower() == "bind":
            source = item.get(source_key)
            if isinstance(source, str) and source:
                out.append(source)
    return out


def host_options_libpod(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A SpecGenerator's host access requests (``_host_options``)."""
    namespaces = {name: (spec.get(f"{name}ns") or {}).get("nsmode")
                  for name in _NAMESPACES if isinstance(spec.get(f"{name}ns"), Mapping)}
    security = []
    for key in ("seccomp_profile_path", "apparmor_profile"):
        if spec.get(key) == "unconfined":
            security.append(f"{key}=unconfined")
    labels = spec.get("selinux_opts")
    if isinstance(labels, list) and "disable" in labels:
        security.append("label=disable")
    return _host_options(
        spec.get("privileged"), spec.get("cap_add"), namespaces,
        _paths(spec.get("devices"), "path"),
        [*_bind_sources(spec.get("mounts"), "type", "source"),
         *_paths(spec.get("overlay_volumes"), "source")], security)


def host_options_docker(body: Mapping[str, Any]) -> dict[str, Any]:
    """A Docker create body's host access requests (``_host_options``)."""
    host = body.get("HostConfig") or {}
    if not isinstance(host, Mapping):
        return {}
    namespaces = {name: host.get(key) for name, key in _DOCKER_MODES.items()}
    binds = []
    for bind in host.get("Binds") or [] if isinstance(host.get("Binds"), list) else []:
        source = bind.split(":", 1)[0] if isinstance(bind, str) else ""
        if source.startswith("/"):  # else a named volume
            binds.append(source)
    security = host.get("SecurityOpt")
    return _host_options(
        host.get("Privileged"), host.get("CapAdd"), namespaces,
        _paths(host.get("Devices"), "PathOnHost"),
        [*binds, *_bind_sources(host.get("Mounts"), "Type", "Source")],
        _weakening(s for s in security if isinstance(s, str))
        if isinstance(security, list) else [])


def from_libpod(spec: Mapping[str, Any],
                image_config: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A SpecGenerator (``POST /libpod/containers/create``) -> (create kwargs, warnings)."""
    warnings: list[str] = []
    image = spec.get("image")
    if not isinstance(image, str) or not image:
        raise bad_request("image is required: give the image to create the container from")
    res = spec.get("resource_limits") or {}
    if not isinstance(res, Mapping):
        raise bad_request("invalid resource_limits: want an object")
    memory = _num(_obj(res, "memory", "resource_limits").get("limit"),
                  "resource_limits.memory.limit", high=limits.MEMORY_MAX)
    pids = _num(_obj(res, "pids", "resource_limits").get("limit"),
                "resource_limits.pids.limit", high=limits.PIDS_MAX)
    cpu = _obj(res, "cpu", "resource_limits")
    quota = _num(cpu.get("quota"), "resource_limits.cpu.quota")
    period = _num(cpu.get("period"), "resource_limits.cpu.period", 0, limits.CPU_PERIOD_MAX)
    _num(cpu.get("shares"), "resource_limits.cpu.shares", 0, limits.CPU_SHARES_MAX)
    cpus = _cpus(quota, period, "resource_limits.cpu")
    netns = spec.get("netns") or {}
    if not isinstance(netns, Mapping):
        raise bad_request("invalid netns: want an object with nsmode")
    stop_signal = _signal(spec.get("stop_signal"), "stop_signal")
    stop_timeout = _num(spec.get("stop_timeout"), "stop_timeout", 0, limits.TIMEOUT_MAX)
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
        # Runtime.create_container applies Docker's rule: an explicit entrypoint replaces
        # the image's and drops its Cmd; a command alone keeps the image's Entrypoint.
        "entrypoint": _str_list(spec.get("entrypoint"), "entrypoint"),
        "command": _str_list(spec.get("command"), "command"),
        "name": opt_str(spec.get("name"), "name"),
        "env": _str_map(spec.get("env"), "env"),
        "workdir": opt_str(spec.get("work_dir"), "work_dir"),
        "user": opt_str(spec.get("user"), "user"),
        "tty": bool(spec.get("terminal")),
        "stdin": bool(spec.get("stdin")),
        "labels": _str_map(spec.get("labels"), "labels"),
        "memory": memory if memory and memory > 0 else None,
        "pids_limit": pids if pids and pids > 0 else None,
        "cpus": cpus,
        "network": _network(str(netns.get("nsmode") or ""), warnings),
        "auto_remove": bool(spec.get("remove")),
        "restart_policy": _restart(opt_str(spec.get("restart_policy"), "restart_policy"),
                                   _num(spec.get("restart_tries"), "restart_tries", 0,
                                        limits.RETRIES_MAX)),
        "depends_on": deps,
        "log_size_max": log_size,
    }
    if stop_signal:
        kwargs["stop_signal"] = stop_signal
    if stop_timeout is not None:
        kwargs["stop_timeout"] = stop_timeout
    host_options = host_options_libpod(spec)
    if host_options:
        kwargs["host_options"] = host_options
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
    memory = _num(host.get("Memory"), "HostConfig.Memory", high=limits.MEMORY_MAX)
    pids = _num(host.get("PidsLimit"), "HostConfig.PidsLimit", high=limits.PIDS_MAX)
    nano = _num(host.get("NanoCpus"), "HostConfig.NanoCpus", 0)
    quota = _num(host.get("CpuQuota"), "HostConfig.CpuQuota")
    period = _num(host.get("CpuPeriod"), "HostConfig.CpuPeriod", 0, limits.CPU_PERIOD_MAX)
    _num(host.get("CpuShares"), "HostConfig.CpuShares", 0, limits.CPU_SHARES_MAX)
    cpus = nano / 1e9 if nano else _cpus(quota, period, "HostConfig.Cpu")
    policy = _obj(host, "RestartPolicy", "HostConfig")
    log_cfg = _obj(host, "LogConfig", "HostConfig")
    log_size = _log_size(log_cfg.get("Type") or None, None, log_cfg.get("Config"),
                         "HostConfig.LogConfig", warnings)
    env = _str_list(body.get("Env"), "Env")
    entrypoint = _str_list(body.get("Entrypoint"), "Entrypoint")
    if entrypoint == [""]:
        entrypoint = []
    kwargs: dict[str, Any] = {
        "image": image,
        "entrypoint": entrypoint,
        "command": _str_list(body.get("Cmd"), "Cmd"),
        "name": name or None,
        "env": env,
        "workdir": opt_str(body.get("WorkingDir"), "WorkingDir"),
        "user": opt_str(body.get("User"), "User"),
        "tty": bool(body.get("Tty")),
        "stdin": bool(body.get("OpenStdin")),
        "labels": _str_map(body.get("Labels"), "Labels"),
        "memory": memory if memory and memory > 0 else None,
        "pids_limit": pids if pids and pids > 0 else None,
        "cpus": cpus,
        "network": _network(str(host.get("NetworkMode") or ""), warnings),
        "auto_remove": bool(host.get("AutoRemove")),
        "restart_policy": _restart(opt_str(policy.get("Name"), "HostConfig.RestartPolicy.Name"),
                                   _num(policy.get("MaximumRetryCount"),
                                        "HostConfig.RestartPolicy.MaximumRetryCount", 0,
                                        limits.RETRIES_MAX)),
        "log_size_max": log_size,
    }
    stop_signal = _signal(body.get("StopSignal"), "StopSignal")
    if stop_signal:
        kwargs["stop_signal"] = stop_signal
    stop_timeout = _num(body.get("StopTimeout"), "StopTimeout", 0, limits.TIMEOUT_MAX)
    if stop_timeout is not None:
        kwargs["stop_timeout"] = stop_timeout
    host_options = host_options_docker(body)
    if host_options:
        kwargs["host_options"] = host_options
    return kwargs, warnings
