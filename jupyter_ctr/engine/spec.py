"""OCI runtime spec (config.json) for a container: safe defaults, like podman's.

Defaults: no privileges (no-new-privileges, podman's default capability set), own PID, IPC,
UTS, mount and network namespaces (network "none" = only ``lo``), masked /proc paths,
NOFILE 1024 (the host's hard limit is 20000 and root cannot raise it), resource limits
through cgroups.
"""

from __future__ import annotations

from pathlib import Path

from .errors import InvalidArgumentError
from .storage import find_in_lowers

# typing is for type checkers only: importing it costs every CLI command ~2 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

DEFAULT_CAPABILITIES = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID",
    "CAP_SYS_CHROOT",
]

MASKED_PATHS = [
    "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/fs/selinux",
    "/sys/dev/block",
]
READONLY_PATHS = [
    "/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
]

_CPU_PERIOD = 100_000


def resolve_user(rootfs: Path | Sequence[Path],
                 user: str | None) -> tuple[int, int, list[int]]:
    """Turn ``user[:group]`` (names or numbers) into uid, gid and extra gids via the image
    (its rootfs, or its layer directories top first)."""
    if not user:
        return 0, 0, []
    name, _, group = user.partition(":")
    passwd = _read_db(rootfs, "etc/passwd")
    groups = _read_db(rootfs, "etc/group")
    if name.isdigit():
        uid = int(name)
        entry = next((e for e in passwd if len(e) > 3 and e[2] == name), None)
        gid = int(entry[3]) if entry and entry[3].isdigit() else 0
    else:
        entry = next((e for e in passwd if e and e[0] == name), None)
        if entry is None or len(entry) < 4 or not entry[2].isdigit():
            raise InvalidArgumentError(f"unable to find user {name!r}: no matching entries in "
                                       "the image's /etc/passwd")
        uid, gid = int(entry[2]), int(entry[3])
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            gentry = next((e for e in groups if e and e[0] == group), None)
            if gentry is None or len(gentry) < 3 or not gentry[2].isdigit():
                raise InvalidArgumentError(f"unable to find group {group!r}: no matching "
                                           "entries in the image's /etc/group")
            gid = int(gentry[2])
    if uid > 0xFFFFFFFE or gid > 0xFFFFFFFE:
        raise InvalidArgumentError(f"user {user!r} is out of range")
    return uid, gid, []


def home_dir(rootfs: Path | Sequence[Path], uid: int) -> str:
    """The home of ``uid`` in the image's /etc/passwd (as libpod sets HOME), else "/"."""
    for entry in _read_db(rootfs, "etc/passwd"):
        if len(entry) > 5 and entry[2] == str(uid) and entry[5].startswith("/"):
            return entry[5]
    return "/"


def _read_db(rootfs: Path | Sequence[Path], rel: str) -> list[list[str]]:
    """The entries of the image's /etc/passwd or /etc/group. A symlink is not followed (it
    would resolve on the host, not in the rootfs): such an image's database reads as empty."""
    path = rootfs / rel if isinstance(rootfs, Path) else find_in_lowers(rootfs, rel)
    try:
        if path is None or path.is_symlink():
            return []
        return [line.split(":") for line in path.read_text(errors="replace").splitlines()]
    except OSError:
        return []


def build_spec(*, ctr_id: str, rootfs: str, args: list[str], env: list[str], cwd: str,
               uid: int, gid: int, tty: bool, hostname: str, network: str,
               cgroups_path: str, memory: int | None, pids_limit: int | None,
               cpus: float | None, labels: dict[str, str]) -> dict[str, Any]:
    """Return the OCI spec dict for one container."""
    caps = list(DEFAULT_CAPABILITIES)
    if uid != 0:
        caps_effective: list[str] = []
    else:
        caps_effective = caps
    namespaces = [{"type": t} for t in ("pid", "ipc", "uts", "mount")]
    if network == "none":
        namespaces.append({"type": "network"})
    resources: dict[str, Any] = {"devices": [{"allow": False, "access": "rwm"}]}
    if memory is not None:
        resources["memory"] = {"limit": memory, "swap": memory}
    if pids_limit is not None:
        resources["pids"] = {"limit": pids_limit}
    if cpus is not None:
        resources["cpu"] = {"quota": int(cpus * _CPU_PERIOD), "period": _CPU_PERIOD}
    mounts: list[dict[str, Any]] = [
        {"destination": "/proc", "type": "proc", "source": "proc",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
    ]
    if network == "host":
        for f in ("/etc/resolv.conf", "/etc/hosts"):
            if Path(f).exists():
                mounts.append({"destination": f, "type": "bind", "source": f,
                               "options": ["rbind", "ro", "nosuid", "nodev", "noexec"]})
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": tty,
            "user": {"uid": uid, "gid": gid},
            "args": args,
            "env": env,
            "cwd": cwd,
            "capabilities": {
                "bounding": caps, "effective": caps_effective, "permitted": caps_effective,
                "inheritable": [], "ambient": [],
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": rootfs, "readonly": False},
        "hostname": hostname,
        "mounts": mounts,
        "annotations": {f"label.{k}": v for k, v in labels.items()},
        "linux": {
            "resources": resources,
            "cgroupsPath": cgroups_path,
            "namespaces": namespaces,
            "maskedPaths": MASKED_PATHS,
            "readonlyPaths": READONLY_PATHS,
        },
    }
