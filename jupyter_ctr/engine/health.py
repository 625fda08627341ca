"""What the engine stands on, and whether it works: ``jupyter-ctr info`` and health checks."""

from __future__ import annotations

import os
import platform
import shutil
from typing import TYPE_CHECKING, Any

from . import procs
from .checkpoint.criu import find_criu
from .errors import CtrError

if TYPE_CHECKING:
    from .runtime import Runtime


def _version(argv: list[str]) -> str:
    try:
        proc = procs.run(argv, check=False, timeout=10)
    except CtrError:
        return ""
    out = (proc.stdout or proc.stderr).decode(errors="replace").strip().splitlines()
    return out[0] if out else ""


def _tool(name: str, path: str | None, version_arg: str = "--version") -> dict[str, Any]:
    if path is None:
        return {"path": "", "version": "", "ok": False, "error": f"{name} not found"}
    return {"path": path, "version": _version([path, version_arg]), "ok": True}


def criu_check(criu: str) -> dict[str, Any]:
    """``criu check``: CRIU's own verdict on this kernel ("Looks good." when usable)."""
    proc = procs.run([criu, "check"], check=False, timeout=60)
    text = (proc.stdout + proc.stderr).decode(errors="replace").strip()
    lines = text.splitlines()
    verdict = next((line for line in reversed(lines) if "Looks good" in line), "")
    ok = proc.returncode == 0 and bool(verdict)
    # The verdict line; warnings around it (CRIU prints some on a loaded machine) aside.
    return {"ok": ok, "output": verdict or (lines[-1] if lines else "")}


def host_info(rt: Runtime) -> dict[str, Any]:
    """Runtime, conmon and CRIU (with ``criu check``), cgroups, kernel, roots and counts."""

    def which(name: str) -> str | None:
        try:
            return procs.find_binary(name)
        except CtrError:
            return None

    runtime = _tool(rt.config.runtime, which(rt.config.runtime))
    conmon = _tool("conmon", which(rt.config.conmon))
    try:
        criu_path: str | None = find_criu(rt.config.criu)
    except CtrError:
        criu_path = None
    criu = _tool("criu", criu_path, "--version")
    if criu_path:
        criu["check"] = criu_check(criu_path)
        criu["ok"] = bool(criu["check"]["ok"])
    cgroup_v2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
    states: dict[str, int] = {}
    for ctr in rt.list_containers(all=True):
        key = ctr.state.api_status
        states[key] = states.get(key, 0) + 1
    return {
        "host": {"kernel": platform.release(), "arch": platform.machine(),
                 "cpus": os.cpu_count() or 1,
                 "cgroups": "v2" if cgroup_v2 else "v1 (hybrid)" if os.path.isdir(
                     "/sys/fs/cgroup/unified") else "v1",
                 "overlay": _filesystem_supported("overlay")},
        "runtime": runtime, "conmon": conmon, "criu": criu,
        "busybox": {"path": shutil.which("busybox") or "", "ok": bool(shutil.which("busybox"))},
        "store": {"root": str(rt.root), "run_root": str(rt.run_root),
                  "containers": states, "images": len(rt.list_images())},
        "ok": bool(runtime["ok"] and conmon["ok"] and criu["ok"]),
    }


def _filesystem_supported(name: str) -> bool:
    try:
        with open("/proc/filesystems") as fh:
            return any(line.split()[-1] == name for line in fh if line.strip())
    except OSError:
        return False
