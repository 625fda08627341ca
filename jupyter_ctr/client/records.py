"""The service's JSON back into the engine's typed records: ContainerSnapshot (config and
state record) from libpod's inspect or list item, Image, Event, LogLine, CheckpointStats,
and the engine's inspect dict from libpod's.

A snapshot from inspect carries everything the front ends read; one from a list item
carries what the list shows (name, image, command, created, labels, state, pid, exit code,
start and finish to the second), the rest defaulted, as ``ps`` needs no more. Fields the
service never sends are the defaults: uid/gid 0, image_rootfs "".
"""

from __future__ import annotations

import re
import signal as signal_mod
from pathlib import Path

from ..engine.records import ContainerConfig, ContainerRecord, ContainerSnapshot
from ..engine.state import ContainerState
from ..engine.timeutil import parse_rfc3339_ns

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..engine.checkpoint.options import CheckpointStats
    from ..engine.events import Event
    from ..engine.images.records import Image, ImageRemoveReport
    from ..engine.logs import LogLine

# The converters below import their engine records when called (not for a plain ``ps``):
# dataclasses, the image store's records and the log reader cost a CLI command ~10 ms.

#: Keys the libpod inspect route adds to the engine's dict (server/models.py).
_LIBPOD_EXTRAS = ("IsInfra", "IsService", "StaticDir", "ExitCommand", "Namespace")
#: Go's zero time in Unix seconds, as the list shows "never".
_GO_ZERO_UNIX = -62135596800


def container_state(api_status: str) -> ContainerState:
    """The engine's state of an API status (``created`` is Configured, ``initialized``
    Created: ContainerState.api_status the other way)."""
    if api_status == "created":
        return ContainerState.CONFIGURED
    if api_status == "initialized":
        return ContainerState.CREATED
    try:
        return ContainerState(api_status)
    except ValueError:
        return ContainerState.UNKNOWN


def _signal_number(value: Any) -> int:
    if isinstance(value, int):
        return value
    try:
        return int(signal_mod.Signals[str(value)])
    except KeyError:
        return int(signal_mod.SIGTERM)


def _signal_name(value: Any) -> str:
    try:
        return signal_mod.Signals(int(value)).name
    except (TypeError, ValueError):
        return str(value)


def engine_inspect(libpod: dict[str, Any]) -> dict[str, Any]:
    """The engine's ``Container.inspect()`` dict from libpod's (StopSignal a name again,
    the keys libpod's route adds taken off)."""
    out = {k: v for k, v in libpod.items() if k not in _LIBPOD_EXTRAS}
    config = dict(out.get("Config") or {})
    if "StopSignal" in config:
        config["StopSignal"] = _signal_name(config["StopSignal"])
    out["Config"] = config
    return out


def _owner(item: dict[str, Any]) -> dict[str, Any]:
    """owner_uid/owner_name from our ``Owner`` field (inspect and list items); none from a
    service that does not send it (the config's defaults then)."""
    owner = item.get("Owner")
    if not isinstance(owner, dict):
        return {}
    return {"owner_uid": int(owner.get("Uid") or 0), "owner_name": str(owner.get("Name") or "")}


def snapshot_from_inspect(insp: dict[str, Any]) -> ContainerSnapshot:
    """A ContainerSnapshot from (libpod's or the engine's) inspect dict."""
    from ..engine.logs import parse_log_size  # noqa: PLC0415 - lazy: see above

    cfg, host, st = insp["Config"], insp["HostConfig"], insp["State"]
    policy = host.get("RestartPolicy") or {}
    nano = int(host.get("NanoCpus") or 0)
    config = ContainerConfig(
        id=insp["Id"], name=insp["Name"], image=insp.get("ImageName") or cfg.get("Image", ""),
        image_id=insp["Image"], image_rootfs="", command=list(cfg.get("Cmd") or []),
        env=list(cfg.get("Env") or []), workdir=cfg.get("WorkingDir") or "/",
        user=cfg.get("User") or "", uid=0, gid=0, tty=bool(cfg.get("Tty")),
        stdin=bool(cfg.get("OpenStdin")), labels=dict(cfg.get("Labels") or {}),
        stop_signal=_signal_number(cfg.get("StopSignal")),
        stop_timeout=int(cfg.get("StopTimeout") or 0),
        memory=int(host.get("Memory") or 0) or None,
        pids_limit=int(host.get("PidsLimit") or 0) or None,
        cpus=nano / 1e9 if nano else None, network=host.get("NetworkMode") or "none",
        auto_remove=bool(host.get("AutoRemove")), created=parse_rfc3339_ns(insp["Created"]),
        restart_policy=policy.get("Name") or "no",
        restart_retries=int(policy.get("MaximumRetryCount") or 0),
        dependencies=list(insp.get("Dependencies") or []),
        log_size_max=parse_log_size(_log_size((host.get("LogConfig") or {}).get("Size"))),
        **_owner(insp))
    record = ContainerRecord(
        state=container_state(st["Status"]), pid=int(st.get("Pid") or 0),
        conmon_pid=int(st.get("ConmonPid") or 0), exit_code=int(st.get("ExitCode") or 0),
        started_at=parse_rfc3339_ns(st.get("StartedAt") or ""),
        finished_at=parse_rfc3339_ns(st.get("FinishedAt") or ""),
        oom_killed=bool(st.get("OOMKilled")), error=st.get("Error") or "",
        restart_count=int(insp.get("RestartCount") or 0),
        checkpointed=bool(st.get("Checkpointed")),
        checkpointed_at=parse_rfc3339_ns(st.get("CheckpointedAt") or ""),
        checkpoint_path=st.get("CheckpointPath") or "",
        checkpoint_log=st.get("CheckpointLog") or "", restored=bool(st.get("Restored")),
        restored_at=parse_rfc3339_ns(st.get("RestoredAt") or ""),
        restore_log=st.get("RestoreLog") or "")
    dirs = dict((insp.get("GraphDriver") or {}).get("Data") or {})
    record.update(mounted="MergedDir" in dirs)
    pidfile = str(insp.get("ConmonPidFile") or "")
    return ContainerSnapshot(
        config, record, exec_ids=list(insp.get("ExecIDs") or []),
        oci_runtime=insp.get("OCIRuntime") or "", log_path=insp.get("LogPath") or "",
        bundle=pidfile.rsplit("/", 1)[0] if "/" in pidfile else "", storage_dirs=dirs,
        has_checkpoint=bool(st.get("Checkpointed")) and not st.get("Restored"))


def _log_size(shown: Any) -> str | None:
    """``LogConfig.Size`` as inspect shows it (``10MB``, ``0B``) -> what parse_log_size takes."""
    m = re.fullmatch(r"([0-9.]+)([kMGTP]?)B", str(shown or ""))
    if not m or float(m.group(1)) == 0:
        return None
    factor = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15}
    return str(round(float(m.group(1)) * factor[m.group(2)]))


def _seconds_ns(value: Any) -> int:
    value = int(value or 0)
    return 0 if value <= 0 or value == _GO_ZERO_UNIX else value * 1_000_000_000


def snapshot_from_list_item(item: dict[str, Any]) -> ContainerSnapshot:
    """A ContainerSnapshot from one element of libpod's container list."""
    names = item.get("Names") or [""]
    config = ContainerConfig(
        id=item["Id"], name=names[0], image=item.get("Image") or "",
        image_id=item.get("ImageID") or "", image_rootfs="",
        command=list(item.get("Command") or []), env=[], workdir="/", uid=0, gid=0,
        labels=dict(item.get("Labels") or {}), stop_signal=int(signal_mod.SIGTERM),
        stop_timeout=10, network="none", auto_remove=bool(item.get("AutoRemove")),
        created=parse_rfc3339_ns(item.get("Created") or ""), **_owner(item))
    state = container_state(item.get("State") or "unknown")
    record = ContainerRecord(
        state=state, pid=int(item.get("Pid") or 0),
        exit_code=int(item.get("ExitCode") or 0),
        started_at=_seconds_ns(item.get("StartedAt")),
        finished_at=_seconds_ns(item.get("ExitedAt")),
        restart_count=int(item.get("Restarts") or 0))
    return ContainerSnapshot(config, record, exec_ids=[], oci_runtime="", log_path="",
                             bundle="", storage_dirs={},
                             has_checkpoint=bool(item.get("Restorable")))


def image_from_inspect(insp: dict[str, Any]) -> Image:
    """An Image from libpod's image inspect."""
    from ..engine.images.records import Image  # noqa: PLC0415 - lazy: see above

    lower = ((insp.get("GraphDriver") or {}).get("Data") or {}).get("LowerDir") or ""
    return Image(insp["Id"], list(insp.get("RepoTags") or []), Path(lower),
                 dict(insp.get("Config") or {}),
                 parse_rfc3339_ns(insp.get("Created") or "") / 1e9, int(insp.get("Size") or 0),
                 insp.get("Architecture") or None, insp.get("Os") or "linux",
                 insp.get("Digest") or "", list((insp.get("RootFS") or {}).get("Layers") or []),
                 history=list(insp.get("History") or []), author=insp.get("Author") or "")


def image_from_summary(item: dict[str, Any]) -> Image:
    """An Image from one element of libpod's image list (config: its labels only)."""
    from ..engine.images.records import Image  # noqa: PLC0415 - lazy: see above

    return Image(item["Id"], list(item.get("Names") or item.get("RepoTags") or []), Path(""),
                 {"Labels": dict(item.get("Labels") or {})}, float(item.get("Created") or 0),
                 int(item.get("Size") or 0), item.get("Arch") or None, item.get("Os") or "linux",
                 item.get("Digest") or "")


def image_remove_report(image_id: str, report: dict[str, Any]) -> ImageRemoveReport:
    """What libpod's ``DELETE /libpod/images/{name}`` answer says was done to the image
    ``image_id`` (its Deleted list is empty when a name was only untagged)."""
    from ..engine.images.records import ImageRemoveReport  # noqa: PLC0415 - lazy: see above

    deleted = [str(d).removeprefix("sha256:") for d in report.get("Deleted") or [] if d]
    return ImageRemoveReport(deleted[0] if deleted else image_id,
                             [str(n) for n in report.get("Untagged") or []], bool(deleted))


def image_from_prune_report(report: dict[str, Any]) -> Image:
    """An Image from one of libpod's image prune reports (its id and size only)."""
    from ..engine.images.records import Image  # noqa: PLC0415 - lazy: see above

    return Image(report["Id"], [], Path(""), {}, 0.0, int(report.get("Size") or 0))


def event_from_message(msg: dict[str, Any]) -> Event:
    """An Event from Docker's events.Message (what the events route sends); ``seq`` is 0
    (the journal's order stays the service's)."""
    from ..engine.events import Event  # noqa: PLC0415 - lazy: see above

    actor = msg.get("Actor") or {}
    attrs = dict(actor.get("Attributes") or {})
    name = str(attrs.get("name", ""))
    image = str(msg.get("from") or "")
    if attrs.get("name") == name:
        attrs.pop("name", None)
    if image and attrs.get("image") == image:
        attrs.pop("image", None)
    return Event(0, int(msg.get("timeNano") or 0), str(msg.get("Type") or ""),
                 str(msg.get("Action") or msg.get("status") or ""),
                 str(actor.get("ID") or msg.get("id") or ""), name, image, attrs)


def log_line(stream: int, data: bytes) -> LogLine:
    """One log frame (``<RFC 3339> <text>\\n``, no newline when partial) as a LogLine."""
    from ..engine.logs import LogLine  # noqa: PLC0415 - lazy: see above

    text = data.decode(errors="replace")
    partial = not text.endswith("\n")
    stamp, _, rest = text.partition(" ")
    try:
        ns = parse_rfc3339_ns(stamp)
    except ValueError:
        ns, rest = 0, text
    return LogLine(ns, "stderr" if stream == 2 else "stdout",
                   rest if partial else rest[:-1], partial)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def checkpoint_stats(report: dict[str, Any]) -> CheckpointStats:
    """CheckpointStats from its ``to_dict()`` (podman's report shape)."""
    from ..engine.checkpoint.options import CheckpointStats  # noqa: PLC0415 - lazy: see above

    return CheckpointStats(
        id=str(report.get("Id") or ""), name=str(report.get("Name") or ""),
        runtime_duration=int(report.get("RuntimeDuration") or 0),
        total_duration=int(report.get("TotalDuration") or 0),
        image_size=int(report.get("ImageSize") or 0),
        archive_size=int(report.get("ArchiveSize") or 0),
        criu={_snake(k): v for k, v in (report.get("CRIUStatistics") or {}).items()})
