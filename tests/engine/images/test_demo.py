"""The busybox demo image: reproducible, idempotent, and only from a static busybox."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from jupyter_ctr.engine.errors import InvalidArgumentError
from jupyter_ctr.engine.images import ImageStore
from jupyter_ctr.engine.store import StateStore

from .conftest import stored_layers

BUSYBOX = shutil.which("busybox") or "/bin/busybox"


@pytest.mark.skipif(not os.path.exists(BUSYBOX), reason="busybox-static is not installed")
def test_build_demo_is_stable_and_idempotent(tmp_path: Path, images: ImageStore,
                                             state: StateStore) -> None:
    first = images.build_demo()
    second = images.build_demo()
    assert first.id == second.id
    assert first.names == ["localhost/busybox:latest"]
    rootfs = first.rootfs
    assert os.readlink(rootfs / "bin/sh") == "busybox"
    assert os.access(rootfs / "bin/busybox", os.X_OK)
    assert stat.S_IMODE((rootfs / "tmp").stat().st_mode) == 0o1777
    assert "root:x:0:0:root:/root:/bin/sh" in (rootfs / "etc/passwd").read_text()
    for d in ("sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "root", "var", "run", "home"):
        assert (rootfs / d).is_dir(), d
    assert first.config["Cmd"] == ["sh"]
    assert first.config["Env"] == [
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    assert [p.name for p in (tmp_path / "root/images").iterdir()] == []
    assert stored_layers(tmp_path / "root") == [d.removeprefix("sha256:") for d in first.layers]

    # A fresh engine root yields the same id: the tarball is reproducible.
    other_state = StateStore(tmp_path / "other.db")
    try:
        other = ImageStore(tmp_path / "other-root", other_state).build_demo("demo:v1")
        assert other.id == first.id
        assert other.names == ["localhost/demo:v1"]
    finally:
        other_state.close()

    # The shell really runs from the rootfs (chroot, as root).
    if os.geteuid() == 0:
        out = subprocess.run(["chroot", str(rootfs), "/bin/sh", "-c", "echo ok; ls /bin | wc -l"],
                             capture_output=True, check=True, text=True).stdout.split()
        assert out[0] == "ok" and int(out[1]) > 100


def test_build_demo_rejects_dynamic_busybox(tmp_path: Path, images: ImageStore) -> None:
    with pytest.raises(InvalidArgumentError, match="not a statically linked busybox"):
        images.build_demo(busybox="/bin/ls")
