"""JSON shapes of the REST API, one function each: libpod's (Podman v4) and Docker's.

Handlers never build response dicts themselves; they call these with engine objects or with
the engine's ``inspect()`` dicts, so a shape is defined (and fixed) in one place.
"""

from __future__ import annotations

import os
import platform
import shlex
import signal as signal_mod
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import jupyter_ctr

from ..engine import procinfo
from ..engine.timeutil import rfc3339_ns
from ..service.filters import docker_state

if TYPE_CHECKING:
    from ..engine import Event
    from ..engine.images import Image
    from ..engine.images.records import ImageRemoveReport
    from ..engine.records import ContainerSnapshot

#: The API versions we speak: libpod v4 paths, Docker Engine API 1.41 (as Podman 4 does).
LIBPOD_API_VERSION = "4.9.4"
DOCKER_API_VERSION = "1.41"
DOCKER_MIN_API_VERSION = "1.24"
LOG_DRIVER = "k8s-file"
#: Go's zero time in Unix seconds (what podman shows for "never").
GO_ZERO_UNIX = -62135596800


# -- small helpers ----------------------------------------------------------------------------
# -- containers -------------------------------------------------------------------------------
def container_libpod_inspect(insp: dict[str, Any]) -> dict[str, Any]:
    """``podman inspect`` (the engine's dict, plus what clients expect to find)."""
    out = dict(insp)
    config = dict(out["Config"])
    # libpod's InspectContainerConfig.StopSignal is a number (uint), not a name
    config["StopSignal"] = _signal_number(config.get("StopSignal"))
    out["Config"] = config
    host = dict(out.get("HostConfig") or {})
    host.setdefault("LogConfig", {"Type": LOG_DRIVER, "Config": None, "Path": insp["LogPath"],
                                  "Tag": "", "Size": "0B"})
    out["HostConfig"] = host
    out.setdefault("IsInfra", False)
    out.setdefault("IsService", False)
    out.setdefault("StaticDir", "")
    out.setdefault("ExitCommand", [])
    out.setdefault("Namespace", "")
    return out


def _signal_number(value: Any) -> int:
    if isinstance(value, int):
        return value
    try:
        return int(signal_mod.Signals[str(value)])
    except KeyError:
        try:
            return int(str(value))
        except ValueError:
            return 15


def container_libpod_list_item(snap: ContainerSnapshot) -> dict[str, Any]:
    """One element of ``GET /libpod/containers/json`` (entities.ListContainer), plus ours
    (not podman's; clients that do not know them ignore them): ``Restorable`` (a restore
    would find a checkpoint and accept the state) and ``Owner`` (who created it, as
    inspect's: ``{"Uid", "Name"}``)."""
    cfg, rec = snap.config, snap.record
    return {
        "AutoRemove": cfg.auto_remove,
        "Command": list(cfg.command),
        "Created": rfc3339_ns(cfg.created),
        "CreatedAt": "",
        "Exited": snap.exited,
        "ExitedAt": rec.finished_at // 1_000_000_000 if rec.finished_at else GO_ZERO_UNIX,
        "ExitCode": snap.exit_code,
        "Id": cfg.id,
        "Image": cfg.image,
        "ImageID": cfg.image_id,
        "IsInfra": False,
        "Labels": dict(cfg.labels),
        "Mounts": [],
        "Names": [cfg.name],
        "Namespaces": {},
        "Networks": [],
        "Owner": {"Uid": int(cfg.owner_uid), "Name": cfg.owner_name},
        "Pid": rec.pid,
        "Pod": "",
        "PodName": "",
        "Ports": None,
        "Restarts": rec.restart_count,
        "Restorable": snap.restorable,
        "Size": None,
        "StartedAt": rec.started_at // 1_000_000_000 if rec.started_at else GO_ZERO_UNIX,
        "State": snap.status,
        "Status": "",  # the health-check status in libpod; ps builds "Up 5 seconds" itself
    }


def container_docker_list_item(snap: ContainerSnapshot) -> dict[str, Any]:
    """One element of Docker's ``GET /containers/json``."""
    cfg = snap.config
    return {
        "Id": cfg.id,
        "Names": ["/" + cfg.name],
        "Image": cfg.image,
        "ImageID": "sha256:" + cfg.image_id,
        "Command": shlex.join(cfg.command),
        "Created": cfg.created // 1_000_000_000,
        "Ports": [],
        "Labels": dict(cfg.labels),
        "State": docker_state(snap.status),
        "Status": snap.status_text(time.time(), docker=True),
        "HostConfig": {"NetworkMode": cfg.network},
        "NetworkSettings": {"Networks": {}},
        "Mounts": [],
    }


def _docker_log_config(host: dict[str, Any]) -> dict[str, Any]:
    """Docker's LogConfig from libpod's (max-size as inspect shows it, e.g. 10MB). The type
    stays json-file: docker-py's ``containers.run`` reads logs only for json-file/journald."""
    size = (host.get("LogConfig") or {}).get("Size") or "0B"
    return {"Type": "json-file", "Config": {} if size == "0B" else {"max-size": size}}


def container_docker_inspect(insp: dict[str, Any]) -> dict[str, Any]:
    """Docker's ``GET /containers/{id}/json``."""
    st = insp["State"]
    status = docker_state(st["Status"])
    host = insp["HostConfig"]
    cfg = insp["Config"]
    return {
        "Id": insp["Id"],
        "Created": insp["Created"],
        "Path": insp["Path"],
        "Args": list(insp["Args"]),
        "State": {
            "Status": status,
            "Running": status == "running",
            "Paused": status == "paused",
            "Restarting": False,
            "OOMKilled": bool(st["OOMKilled"]),
            "Dead": status == "dead",
            "Pid": int(st["Pid"]),
            "ExitCode": int(st["ExitCode"]),
            "Error": st["Error"],
            "StartedAt": st["StartedAt"],
            "FinishedAt": st["FinishedAt"],
        },
        "Image": "sha256:" + insp["Image"],
        "ResolvConfPath": "",
        "HostnamePath": "",
        "HostsPath": "",
        "LogPath": insp["LogPath"],
        "Name": "/" + insp["Name"],
        "RestartCount": int(insp.get("RestartCount") or 0),
        "Driver": "overlay",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": list(insp.get("ExecIDs") or []) or None,
        "HostConfig": {
            "Binds": None,
            "NetworkMode": host["NetworkMode"],
            "RestartPolicy": host["RestartPolicy"],
            "AutoRemove": bool(host["AutoRemove"]),
            "LogConfig": _docker_log_config(host),
            "Privileged": False,
            "Memory": int(host["Memory"]),
            "MemorySwap": int(host["MemorySwap"]),
            "NanoCpus": int(host["NanoCpus"]),
            "CpuPeriod": int(host["CpuPeriod"]),
            "CpuQuota": int(host["CpuQuota"]),
            "PidsLimit": int(host["PidsLimit"]) or None,
            "CapAdd": None,
            "CapDrop": None,
        },
        "GraphDriver": insp["GraphDriver"],
        "Mounts": [],
        "Config": {
            "Hostname": cfg["Hostname"],
            "Domainname": "",
            "User": cfg["User"],
            "AttachStdin": False,
            "AttachStdout": False,
            "AttachStderr": False,
            "Tty": bool(cfg["Tty"]),
            "OpenStdin": bool(cfg["OpenStdin"]),
            "StdinOnce": False,
            "Env": list(cfg["Env"]),
            "Cmd": list(cfg["Cmd"]),
            "Image": cfg["Image"],
            "Volumes": None,
            "WorkingDir": cfg["WorkingDir"],
            "Entrypoint": None,
            "OnBuild": None,
            "Labels": dict(cfg["Labels"] or {}),
            "StopSignal": cfg["StopSignal"],
            "StopTimeout": cfg["StopTimeout"],
        },
        "NetworkSettings": {"Bridge": "", "SandboxID": "", "Ports": {}, "Networks": {}},
    }


def create_response(ctr_id: str, warnings: list[str] | None = None) -> dict[str, Any]:
    return {"Id": ctr_id, "Warnings": list(warnings or [])}


def docker_wait_body(code: int, error: str | None = None) -> dict[str, Any]:
    return {"StatusCode": code, "Error": {"Message": error} if error else None}


def remove_report(ctr_id: str) -> list[dict[str, Any]]:
    """libpod's DELETE answer: one report per removed container."""
    return [{"Id": ctr_id, "Err": None}]


# -- exec -------------------------------------------------------------------------------------
def exec_create_response(exec_id: str) -> dict[str, Any]:
    return {"Id": exec_id}


def exec_inspect(insp: dict[str, Any]) -> dict[str, Any]:
    """Docker's and libpod's ``GET /exec/{id}/json`` (the engine's dict is that shape)."""
    return dict(insp)


def exec_remove_report(exec_id: str, exit_code: int | None) -> dict[str, Any]:
    """``DELETE /libpod/exec/{id}`` (ours): the session and its exit code (None: never ran)."""
    return {"Id": exec_id, "ExitCode": exit_code}


# -- stats ------------------------------------------------------------------------------------
def host_memory() -> int:
    """The host's memory (the limit shown for a container without one), read once: every
    stats element of every client would read /proc/meminfo again."""
    global _HOST_MEMORY  # noqa: PLW0603 - a process-wide constant, read late
    if not _HOST_MEMORY:
        _HOST_MEMORY = procinfo.host_memory()
    return _HOST_MEMORY


_HOST_MEMORY = 0


def container_docker_stats(cur: dict[str, Any], prev: dict[str, Any] | None) -> dict[str, Any]:
    """Docker's stats JSON (``GET /containers/{id}/stats``) from two samples."""
    ncpu = os.cpu_count() or 1
    limit = int(cur.get("memory_limit") or 0) or host_memory()

    def cpu(sample: dict[str, Any] | None) -> dict[str, Any]:
        if sample is None:
            return {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0,
                                  "usage_in_usermode": 0},
                    "system_cpu_usage": 0, "online_cpus": ncpu, "throttling_data": {}}
        return {"cpu_usage": {"total_usage": int(sample["cpu_ns"]), "usage_in_kernelmode": 0,
                              "usage_in_usermode": 0},
                "system_cpu_usage": int(sample["system_ns"]), "online_cpus": ncpu,
                "throttling_data": {}}

    def stamp(sample: dict[str, Any] | None) -> str:
        return rfc3339_ns(sample["time_ns"] if sample else 0)

    return {
        "id": cur["id"], "name": "/" + cur["name"],
        "read": stamp(cur), "preread": stamp(prev),
        "pids_stats": {"current": int(cur["pids"])},
        "blkio_stats": {}, "num_procs": 0, "storage_stats": {},
        "cpu_stats": cpu(cur), "precpu_stats": cpu(prev),
        "memory_stats": {"usage": int(cur["memory_bytes"]), "limit": limit, "stats": {}},
        "networks": {},
    }


def container_libpod_stats(cur: dict[str, Any], prev: dict[str, Any] | None) -> dict[str, Any]:
    """One element of ``GET /libpod/containers/stats`` (define.ContainerStats)."""
    limit = int(cur.get("memory_limit") or 0) or host_memory()
    mem = int(cur["memory_bytes"])
    cpu_pct = 0.0
    if prev is not None:
        d_cpu = int(cur["cpu_ns"]) - int(prev["cpu_ns"])
        d_sys = int(cur["system_ns"]) - int(prev["system_ns"])
        if d_sys > 0 and d_cpu >= 0:
            cpu_pct = d_cpu / d_sys * (os.cpu_count() or 1) * 100
    return {
        "ContainerID": cur["id"], "Name": cur["name"], "PerCPU": None,
        "CPU": cpu_pct, "CPUNano": int(cur["cpu_ns"]), "CPUSystemNano": 0,
        "SystemNano": int(cur["time_ns"]), "AvgCPU": cpu_pct,
        "MemUsage": mem, "MemLimit": limit,
        "MemPerc": (mem / limit * 100) if limit else 0.0,
        "NetInput": 0, "NetOutput": 0, "BlockInput": 0, "BlockOutput": 0,
        "PIDs": int(cur["pids"]), "UpTime": 0, "Duration": 0,
    }


# -- images -----------------------------------------------------------------------------------
def image_libpod_summary(img: Image, containers: int = 0) -> dict[str, Any]:
    """One element of ``GET /libpod/images/json``."""
    digest = img.digest or f"sha256:{img.id}"
    return {
        "Id": img.id, "ParentId": "", "RepoTags": list(img.names),
        "RepoDigests": [f"{n.rsplit(':', 1)[0]}@{digest}" for n in img.names],
        "Created": int(img.created), "Size": int(img.size), "SharedSize": 0,
        "VirtualSize": int(img.size), "Labels": dict(img.config.get("Labels") or {}),
        "Containers": containers, "Names": list(img.names), "Digest": digest,
        "History": list(img.names), "ReadOnly": False, "Dangling": not img.names,
        "Arch": img.architecture, "Os": img.os,
    }


def image_docker_summary(img: Image, containers: int = 0) -> dict[str, Any]:
    """One element of Docker's ``GET /images/json``."""
    digest = img.digest or f"sha256:{img.id}"
    return {
        "Id": f"sha256:{img.id}", "ParentId": "", "RepoTags": list(img.names) or None,
        "RepoDigests": [f"{n.rsplit(':', 1)[0]}@{digest}" for n in img.names],
        "Created": int(img.created), "Size": int(img.size), "SharedSize": -1,
        "VirtualSize": int(img.size), "Labels": dict(img.config.get("Labels") or {}),
        "Containers": containers,
    }


def image_libpod_inspect(img: Image) -> dict[str, Any]:
    return img.inspect()


def image_docker_inspect(img: Image) -> dict[str, Any]:
    insp = img.inspect()
    cfg = insp["Config"]
    return {
        "Id": f"sha256:{img.id}", "RepoTags": insp["RepoTags"],
        "RepoDigests": insp["RepoDigests"], "Parent": "", "Comment": insp["Comment"],
        "Created": insp["Created"], "Container": "", "DockerVersion": "",
        "Author": insp["Author"], "Config": {
            "Env": cfg.get("Env") or [], "Cmd": cfg.get("Cmd"),
            "Entrypoint": cfg.get("Entrypoint"), "WorkingDir": cfg.get("WorkingDir") or "",
            "User": cfg.get("User") or "", "Labels": cfg.get("Labels") or None,
            "ExposedPorts": cfg.get("ExposedPorts") or None,
            "Volumes": cfg.get("Volumes") or None, "StopSignal": cfg.get("StopSignal") or "",
        },
        "Architecture": insp["Architecture"], "Os": insp["Os"], "Size": insp["Size"],
        "VirtualSize": insp["VirtualSize"], "GraphDriver": insp["GraphDriver"],
        "RootFS": insp["RootFS"], "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"},
    }


def image_import_report(image_id: str) -> dict[str, Any]:
    return {"Id": image_id}


def image_libpod_remove_report(report: ImageRemoveReport) -> dict[str, Any]:
    """libpod's ``DELETE /libpod/images/{name}``: the names untagged, the image deleted
    (none when only a name went)."""
    return {"Deleted": [report.id] if report.removed else [],
            "Untagged": list(report.untagged), "Errors": [], "ExitCode": 0}


def image_docker_remove_report(report: ImageRemoveReport) -> list[dict[str, str]]:
    """Docker's ``DELETE /images/{name}``: one item per name untagged, then the deleted
    image's (only when it went)."""
    deleted = [{"Deleted": f"sha256:{report.id}"}] if report.removed else []
    return [*({"Untagged": n} for n in report.untagged), *deleted]


def image_commit_report(image_id: str, docker: bool) -> dict[str, Any]:
    """The answer of a commit: ``{"Id": ...}`` (Docker's with ``sha256:``)."""
    return {"Id": f"sha256:{image_id}" if docker else image_id}


def image_history_items(rows: list[dict[str, Any]], docker: bool) -> list[dict[str, Any]]:
    """``GET /images/{name}/history``: Docker's HistoryResponseItem list, newest first."""
    out = []
    for row in rows:
        ident = str(row["id"])
        if docker and ident != "<missing>":
            ident = f"sha256:{ident}"
        out.append({"Id": ident, "Created": int(row["created"]),
                    "CreatedBy": row["created_by"], "Tags": list(row["tags"]) or None,
                    "Size": int(row["size"]), "Comment": row["comment"]})
    return out


def image_libpod_prune_report(removed: list[Image]) -> list[dict[str, Any]]:
    """libpod's ``POST /images/prune``: one PruneReport per image removed."""
    return [{"Id": img.id, "Size": int(img.size)} for img in removed]


def image_docker_prune_report(removed: list[Image]) -> dict[str, Any]:
    """Docker's ``POST /images/prune``: ImagesDeleted and SpaceReclaimed."""
    deleted: list[dict[str, str]] = []
    for img in removed:
        deleted += [{"Untagged": n} for n in img.names]
        deleted.append({"Deleted": f"sha256:{img.id}"})
    return {"ImagesDeleted": deleted or None,
            "SpaceReclaimed": sum(int(img.size) for img in removed)}


# -- pull, push, load (streamed JSON objects, podman's and Docker's shapes) ------------------
def _blob_id(line: str) -> str:
    """The short layer id of a "Copying blob sha256:..." line ("" for other lines)."""
    if not line.startswith("Copying blob "):
        return ""
    return line.split()[2].removeprefix("sha256:")[:12]


def pull_libpod_line(line: str) -> dict[str, Any]:
    """One progress line of libpod's pull: ``{"stream": "Copying blob ...\n"}``."""
    return {"stream": line + "\n"}


def pull_libpod_done(img: Image) -> dict[str, Any]:
    """libpod's last pull object: the images pulled and the id."""
    return {"images": [img.id], "id": img.id}


def pull_docker_line(line: str) -> dict[str, Any]:
    """One progress object of Docker's pull (``images/create``)."""
    blob = _blob_id(line)
    if blob:
        return {"status": "Pull complete", "progressDetail": {}, "id": blob}
    return {"status": line}


def pull_docker_done(img: Image, reference: str) -> list[dict[str, Any]]:
    """Docker's last pull objects: the digest and the status line."""
    return [{"status": f"Digest: {img.digest or 'sha256:' + img.id}"},
            {"status": f"Status: Downloaded newer image for {reference}"}]


def push_libpod_line(line: str) -> dict[str, Any]:
    return {"stream": line + "\n"}


def push_libpod_done(digest: str) -> dict[str, Any]:
    """libpod's last push object (ImagePushStream): the manifest's digest."""
    return {"manifestdigest": digest}


def push_docker_line(line: str) -> dict[str, Any]:
    blob = _blob_id(line)
    if blob:
        return {"status": "Pushed", "progressDetail": {}, "id": blob}
    return {"status": line}


def push_docker_done(reference: str, digest: str) -> list[dict[str, Any]]:
    """Docker's last push objects: "TAG: digest: D size: N" and the aux record."""
    tag = reference.rsplit(":", 1)[-1] if ":" in reference.rsplit("/", 1)[-1] else "latest"
    return [{"status": f"{tag}: digest: {digest} size: 0"},
            {"progressDetail": {}, "aux": {"Tag": tag, "Digest": digest, "Size": 0}}]


def stream_error_libpod(message: str) -> dict[str, Any]:
    """The object a libpod stream (pull, push) ends with when it fails after the 200."""
    return {"error": message}


def stream_error_docker(message: str) -> dict[str, Any]:
    return {"errorDetail": {"message": message}, "error": message}


def image_libpod_load_report(images: list[Image]) -> dict[str, Any]:
    """libpod's load report: the names (an unnamed image by its id)."""
    return {"Names": [n for img in images for n in (img.names or [f"sha256:{img.id}"])]}


def image_docker_load_lines(images: list[Image]) -> list[dict[str, Any]]:
    """Docker's load stream: "Loaded image: NAME" (or "Loaded image ID: sha256:...")."""
    lines = []
    for img in images:
        for name in img.names:
            lines.append({"stream": f"Loaded image: {name}\n"})
        if not img.names:
            lines.append({"stream": f"Loaded image ID: sha256:{img.id}\n"})
    return lines


# -- events -----------------------------------------------------------------------------------
def event_message(ev: Event) -> dict[str, Any]:
    """Docker's events.Message, which Podman's /events and /libpod/events both send."""
    attrs = dict(ev.attributes)
    attrs.setdefault("name", ev.name)
    if ev.image:
        attrs.setdefault("image", ev.image)
    return {
        "status": ev.action, "id": ev.id, "from": ev.image, "Type": ev.type,
        "Action": ev.action, "Actor": {"ID": ev.id, "Attributes": attrs}, "scope": "local",
        "time": ev.time_ns // 1_000_000_000, "timeNano": ev.time_ns,
    }


# -- system -----------------------------------------------------------------------------------
def _kernel() -> str:
    return platform.release()


def _arch() -> str:
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def version_report() -> dict[str, Any]:
    """``GET /version`` and ``/libpod/version`` (Docker's shape with a Podman component)."""
    now = datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    engine = {
        "Name": "Podman Engine", "Version": LIBPOD_API_VERSION,
        "Details": {
            "APIVersion": LIBPOD_API_VERSION, "Arch": _arch(), "BuildTime": now,
            "Experimental": "false", "GitCommit": "", "GoVersion": "python" +
            platform.python_version(), "KernelVersion": _kernel(),
            "MinAPIVersion": DOCKER_MIN_API_VERSION, "Os": "linux",
            "Implementation": f"jupyter_ctr {jupyter_ctr.__version__}",
        },
    }
    return {
        "Platform": {"Name": f"linux/{_arch()}/jupyter_ctr"},
        "Components": [engine],
        "Version": LIBPOD_API_VERSION, "ApiVersion": DOCKER_API_VERSION,
        "MinAPIVersion": DOCKER_MIN_API_VERSION, "GitCommit": "",
        "GoVersion": "python" + platform.python_version(), "Os": "linux", "Arch": _arch(),
        "KernelVersion": _kernel(), "BuildTime": now,
    }


def docker_info(counts: dict[str, int], root: str, runtime: str) -> dict[str, Any]:
    """Docker's ``GET /info``."""
    return {
        "ID": "jupyter_ctr", "Containers": counts["total"],
        "ContainersRunning": counts["running"], "ContainersPaused": counts["paused"],
        "ContainersStopped": counts["stopped"], "Images": counts["images"],
        "Driver": "overlay", "DriverStatus": [], "MemoryLimit": True, "SwapLimit": False,
        "CpuCfsPeriod": True, "CpuCfsQuota": True, "PidsLimit": True,
        "KernelVersion": _kernel(), "OperatingSystem": "linux", "OSType": "linux",
        "Architecture": platform.machine(), "NCPU": os.cpu_count() or 1,
        "MemTotal": procinfo.host_memory(), "DockerRootDir": root, "Name": platform.node(),
        "ServerVersion": LIBPOD_API_VERSION, "DefaultRuntime": runtime,
        "Runtimes": {runtime: {"path": runtime}}, "CgroupDriver": "cgroupfs",
        "LoggingDriver": LOG_DRIVER, "Labels": [], "Warnings": [], "SecurityOptions": [],
        "Plugins": {"Volume": [], "Network": [], "Log": [LOG_DRIVER]},
        "RegistryConfig": {}, "Swarm": {"LocalNodeState": "inactive"},
    }


def libpod_info(counts: dict[str, int], root: str, run_root: str,
                runtime: str) -> dict[str, Any]:
    """``GET /libpod/info`` (the parts of define.Info that clients read)."""
    return {
        "host": {
            "arch": _arch(), "os": "linux", "kernel": _kernel(), "hostname": platform.node(),
            "cpus": os.cpu_count() or 1, "memTotal": procinfo.host_memory(), "memFree": 0,
            "cgroupManager": "cgroupfs", "cgroupVersion": "v1",
            "ociRuntime": {"name": runtime, "package": "", "path": runtime, "version": ""},
            "conmon": {"package": "", "path": "conmon", "version": ""},
            "eventLogger": "sqlite", "logDriver": LOG_DRIVER, "security": {"rootless": False},
            "remoteSocket": {"exists": False}, "distribution": {"distribution": "debian"},
        },
        "store": {
            "graphDriverName": "overlay", "graphRoot": root, "runRoot": run_root,
            "containerStore": {"number": counts["total"], "running": counts["running"],
                               "paused": counts["paused"], "stopped": counts["stopped"]},
            "imageStore": {"number": counts["images"]},
        },
        "registries": {},
        "plugins": {"volume": [], "network": [], "log": [LOG_DRIVER]},
        "version": {
            "APIVersion": LIBPOD_API_VERSION, "Version": LIBPOD_API_VERSION,
            "GoVersion": "python" + platform.python_version(), "GitCommit": "",
            "BuiltTime": "", "Built": 0, "OsArch": f"linux/{_arch()}", "Os": "linux",
        },
    }
