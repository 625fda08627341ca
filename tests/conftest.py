"""Shared fixtures: a real engine on short temporary roots (unix socket paths are limited to
108 bytes), the demo busybox image, and checks that a test leaves nothing behind."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_ctr.engine import ContainerRemovedError, NoSuchContainerError, Runtime

DEMO = "localhost/busybox:latest"

# The `registry` and `auth_registry` fixtures: a real registry process holding a test image.
pytest_plugins = ["tests.engine.images.registry"]


def _mounts_under(path: Path) -> list[str]:
    with open("/proc/self/mountinfo") as fh:
        return [line.split()[4] for line in fh if line.split()[4].startswith(str(path))]


def _is_zombie(pid: str) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return True


def _conmons_for(path: Path) -> list[str]:
    """Live conmon processes serving containers under ``path`` (reaped-late zombies aside)."""
    out = subprocess.run(["pgrep", "-a", "conmon"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines()
            if str(path) in line and not _is_zombie(line.split()[0])]


def _cgroups(ids: set[str]) -> list[str]:
    found = []
    for ctrl in Path("/sys/fs/cgroup").iterdir():
        parent = ctrl / "jupyter-ctr"
        if parent.is_dir():
            found += [str(p) for p in parent.iterdir() if p.is_dir() and p.name in ids]
    return found


def leftovers(rt: Runtime, ids: set[str] | None = None) -> dict[str, list[str]]:
    """What an engine root still holds in the outside world: mounts, conmons, cgroups."""
    ids = ids if ids is not None else {c.id for c in rt.list_containers(all=True)}
    return {
        "mounts": _mounts_under(rt.root) + _mounts_under(rt.run_root),
        "conmon": _conmons_for(rt.run_root),
        "cgroups": _cgroups(ids) if ids else [],
    }


def wait_until(pred, timeout: float = 10.0, interval: float = 0.02) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return bool(pred())


@pytest.fixture(scope="session")
def engine_roots() -> Iterator[tuple[Path, Path]]:
    base = Path(tempfile.mkdtemp(prefix="jct", dir="/tmp"))
    root, run_root = base / "r", base / "x"
    rt = Runtime(root, run_root)
    rt.images.build_demo()
    rt.close()
    yield root, run_root
    rt = Runtime(root, run_root)
    for ctr in rt.list_containers(all=True):
        try:
            rt.remove_container(ctr, force=True, timeout=0)
        except Exception:  # noqa: BLE001 - best effort at the very end
            pass
    rt.close()
    time.sleep(0.2)
    for mnt in reversed(_mounts_under(base)):
        subprocess.run(["umount", "-l", mnt], check=False)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def rt(engine_roots: tuple[Path, Path]) -> Iterator[Runtime]:
    """A Runtime whose containers are all removed (and checked gone) after the test."""
    runtime = Runtime(*engine_roots)
    yield runtime
    ids = {c.id for c in runtime.list_containers(all=True)}
    for ctr in runtime.list_containers(all=True):
        try:
            runtime.remove_container(ctr, force=True, timeout=0)
        except (NoSuchContainerError, ContainerRemovedError):
            pass  # removed with a container it depended on
    assert wait_until(lambda: not any(leftovers(runtime, ids).values()), 10), \
        leftovers(runtime, ids)
    runtime.close()


@pytest.fixture
def demo_image() -> str:
    return DEMO


def pytest_configure(config: pytest.Config) -> None:
    if os.geteuid() != 0:
        raise pytest.UsageError("the tests drive real runc, conmon and CRIU: run them as root")


def fake_conmon(tmp_path: Path) -> tuple[Path, socket.socket]:
    """A SEQPACKET listener at ``<bundle>/attach``, with a bundle path over 108 bytes."""
    bundle = tmp_path / ("b" * 60) / ("c" * 60)
    bundle.mkdir(parents=True)
    assert len(str(bundle / "attach")) > 108
    dir_fd = os.open(bundle, os.O_PATH)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(f"/proc/self/fd/{dir_fd}/attach")
    listener.listen(1)
    os.close(dir_fd)
    return bundle, listener


@contextlib.contextmanager
def socket_service(path: str | Path, runtime: Runtime, limits: Any = None) -> Iterator[object]:
    """`jupyter-ctr service` on ``path`` in a thread of this process (its own event loop),
    with the websocket bridges' ``limits`` (a BridgeLimits), stopped at the end; yields the
    SocketService."""
    from jupyter_ctr.server.socket_service import SocketService  # noqa: PLC0415 - tornado only here

    loop = asyncio.new_event_loop()
    svc = SocketService(path, runtime, limits=limits)
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(lambda: (svc.start(), started.set()))
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        yield svc
    finally:
        asyncio.run_coroutine_threadsafe(svc.stop(), loop).result(15)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
