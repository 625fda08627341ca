"""Test tools: a private podman (its own root, run root and tmp dir under a temporary directory, vfs
storage, no events, no network) and the archives it writes, to read here and to load ours.

The images are made without a registry: ``podman import`` of the demo busybox rootfs, then
a second layer by ``podman create`` + ``podman cp`` + ``podman commit``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_ctr.engine.images import demo

PODMAN = shutil.which("podman")
needs_podman = pytest.mark.skipif(PODMAN is None or os.geteuid() != 0,
                                  reason="needs podman, as root")
#: This machine's crun refuses hybrid cgroups and podman's default rlimits exceed its hard
#: limits: runc with modest rlimits runs everywhere.
RUN_FLAGS = ["--pull", "never", "--runtime", "runc", "--network", "none",
             "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]


class Podman:
    """podman on a private store under ``base``; leaves the machine's podman state alone."""

    def __init__(self, base: Path) -> None:
        self.base = base
        # podman wants a run root of at most 50 characters: pytest's tmp paths are longer.
        self.short = Path(tempfile.mkdtemp(prefix="ctr-podman-"))
        self.argv = [str(PODMAN), "--root", str(base / "root"), "--runroot",
                     str(self.short / "run"), "--tmpdir", str(self.short / "tmp"),
                     "--storage-driver", "vfs", "--events-backend", "none",
                     "--cgroup-manager", "cgroupfs"]

    def __call__(self, *args: str) -> str:
        proc = subprocess.run([*self.argv, *args], capture_output=True, text=True,
                              timeout=300, check=False)
        assert proc.returncode == 0, f"podman {' '.join(args)}: {proc.stderr}"
        return proc.stdout

    def fails(self, *args: str) -> str:
        proc = subprocess.run([*self.argv, *args], capture_output=True, text=True,
                              timeout=300, check=False)
        assert proc.returncode != 0, f"podman {' '.join(args)} succeeded"
        return proc.stderr

    def run(self, image: str, *cmd: str) -> str:
        return self("run", "--rm", *RUN_FLAGS, image, *cmd)

    def cleanup(self) -> None:
        subprocess.run([*self.argv, "rm", "-af"], capture_output=True, check=False)
        subprocess.run([*self.argv, "system", "reset", "-f"], capture_output=True, check=False)
        shutil.rmtree(self.base, ignore_errors=True)
        shutil.rmtree(self.short, ignore_errors=True)
        with open("/proc/self/mounts") as fh:
            mounts = fh.read()
        assert str(self.base) not in mounts and str(self.short) not in mounts, (
            "podman left a mount behind")


class Saved:
    """What the source podman wrote: two images (base:1, and second:2 = base + one layer)
    in every format."""

    def __init__(self, work: Path, podman: Podman) -> None:
        self.work = work
        rootfs = work / "busybox-rootfs.tar"
        demo.write_tarball(demo.find_static_busybox(None), rootfs)
        podman("import", "--change", "CMD=sh", "--change", "LABEL=made.by=test",
               str(rootfs), "localhost/base:1")
        (work / "hello.txt").write_text("hello from layer 2\n")
        podman("create", "--name", "c1", "localhost/base:1", "sh")
        podman("cp", str(work / "hello.txt"), "c1:/etc/hello.txt")
        podman("commit", "-q", "c1", "localhost/second:2")
        podman("rm", "c1")
        self.base_id = podman("image", "inspect", "--format", "{{.Id}}", "localhost/base:1"
                              ).strip()
        self.second_id = podman("image", "inspect", "--format", "{{.Id}}",
                                "localhost/second:2").strip()
        self.docker = work / "second-docker.tar"
        podman("save", "-q", "--format", "docker-archive", "-o", str(self.docker),
               "localhost/second:2")
        self.docker_multi = work / "multi-docker.tar"
        podman("save", "-q", "-m", "--format", "docker-archive", "-o", str(self.docker_multi),
               "localhost/second:2", "localhost/base:1")
        self.oci = work / "second-oci.tar"
        podman("save", "-q", "--format", "oci-archive", "-o", str(self.oci),
               "localhost/second:2")
        # podman 4 saves one image per oci-archive: a layout with both (second's layers in
        # zstd, base's in gzip) comes from push, and a tarball of it is a multi-image archive.
        self.layout = work / "layout"
        podman("push", "-q", "--compression-format", "zstd", "localhost/second:2",
               f"oci:{self.layout}:localhost/second:2")
        podman("push", "-q", "localhost/base:1", f"oci:{self.layout}:localhost/base:1")
        self.oci_multi = work / "multi-oci.tar"
        subprocess.run(["tar", "-C", str(self.layout), "-cf", str(self.oci_multi), "."],
                       check=True)


@pytest.fixture(scope="session")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Saved]:
    if PODMAN is None or os.geteuid() != 0:
        pytest.skip("needs podman, as root")
    work = tmp_path_factory.mktemp("podman-saved")
    podman = Podman(work / "podman")
    try:
        saved = Saved(work, podman)
    finally:
        podman.cleanup()
    yield saved


@pytest.fixture
def fresh_podman(tmp_path: Path) -> Iterator[Podman]:
    """An empty private podman to load archives into."""
    if PODMAN is None or os.geteuid() != 0:
        pytest.skip("needs podman, as root")
    podman = Podman(tmp_path / "podman")
    try:
        yield podman
    finally:
        podman.cleanup()
