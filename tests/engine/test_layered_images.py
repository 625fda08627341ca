"""Layered images in real containers (runc, conmon, CRIU): the merged view of whiteouts and
opaque directories, absolute symlinks, hardlinks, setuid files and file capabilities;
restart, checkpoint/restore and export; an image with more layers than fit in one page of
mount options; the image config honoured by create; images from before layers."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from jupyter_ctr.engine import ContainerState, Runtime
from jupyter_ctr.engine.images import Image
from tests.conftest import DEMO, wait_until

S = ContainerState


def layer_tar(members: list[dict[str, Any]]) -> bytes:
    buf = io.BytesIO()
    types = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE,
             "hard": tarfile.LNKTYPE}
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for m in members:
            info = tarfile.TarInfo(m["name"])
            kind = m.get("type", "file")
            info.type, info.mode = types[kind], m.get("mode", 0o755 if kind == "dir" else 0o644)
            info.mtime, info.linkname = 1_600_000_000, m.get("link", "")
            if m.get("xattrs"):
                info.pax_headers = {f"SCHILY.xattr.{k}": v.decode("utf-8", "surrogateescape")
                                    for k, v in m["xattrs"].items()}
            data = m.get("data", b"")
            info.size = len(data) if kind == "file" else 0
            tar.addfile(info, io.BytesIO(data) if kind == "file" else None)
    return buf.getvalue()


def diff_id(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def opener(data: bytes) -> Callable[[], BinaryIO]:
    return lambda: io.BytesIO(data)


def busybox_layer(rt: Runtime) -> bytes:
    """The demo image's root filesystem as a layer tarball."""
    demo = rt.images.get(DEMO)
    out = io.BytesIO()
    from jupyter_ctr.engine.images.layers import layer_dir_to_tar  # noqa: PLC0415 - tests

    dirs = rt.images.layer_dirs(demo)
    assert len(dirs) == 1
    layer_dir_to_tar(dirs[0], out)
    return out.getvalue()


def add_image(rt: Runtime, name: str, layers: list[bytes], **config: Any) -> Image:
    oci = {"architecture": "amd64", "os": "linux",
           "config": {"Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], **config},
           "rootfs": {"type": "layers", "diff_ids": [diff_id(x) for x in layers]}}
    return rt.images.add_image(oci, [(diff_id(x), opener(x)) for x in layers], [name],
                               origin=name)


def du(path: Path) -> int:
    """Bytes on disk below ``path``, each inode once."""
    seen, total = set(), 0
    for dirpath, dirnames, filenames in os.walk(path):
        for name in [".", *dirnames, *filenames]:
            st = os.lstat(os.path.join(dirpath, name))
            if st.st_ino not in seen:
                seen.add(st.st_ino)
                total += st.st_blocks * 512
    return total


def run(rt: Runtime, image: str, script: str, **kw: Any) -> tuple[int, str]:
    ctr = rt.create_container(image, ["sh", "-c", script], **kw)
    ctr.start()
    code = ctr.wait()
    return code, "\n".join(line.text for line in ctr.logs())


@pytest.fixture(scope="module")
def capability() -> bytes:
    if shutil.which("setcap") is None:
        pytest.skip("setcap (libcap2-bin) is not installed")
    probe = Path(f"/tmp/cap-probe-{os.getpid()}")
    probe.write_bytes(b"x")
    try:
        subprocess.run(["setcap", "cap_net_raw+ep", str(probe)], check=True)
        return os.getxattr(probe, "security.capability")
    finally:
        probe.unlink()


@pytest.fixture
def layered(rt: Runtime, capability: bytes) -> Iterator[Image]:
    """busybox, a middle layer, and a top layer with whiteouts, an opaque directory, an
    absolute /bin/sh, a hardlink, a setuid file and a file with a capability."""
    middle = layer_tar([
        {"name": "data", "type": "dir"}, {"name": "data/keep", "data": b"keep\n"},
        {"name": "data/gone", "data": b"gone\n"}, {"name": "opq", "type": "dir"},
        {"name": "opq/old1", "data": b"1"}, {"name": "opq/old2", "data": b"2"},
        {"name": "etc", "type": "dir"}, {"name": "etc/removed", "data": b"x"},
        {"name": "etc/passwd", "data": b"root:x:0:0:root:/root:/bin/sh\n"
                                       b"app:x:1000:1000:app:/home/app:/bin/sh\n"},
        {"name": "etc/group", "data": b"root:x:0:\napp:x:1000:\n"}])
    top = layer_tar([
        {"name": "data/.wh.gone"}, {"name": "etc/.wh.removed"},
        {"name": "opq", "type": "dir"}, {"name": "opq/.wh..wh..opq"},
        {"name": "opq/new", "data": b"new\n"},
        {"name": "bin/sh", "type": "sym", "link": "/bin/busybox"},
        {"name": "hl", "type": "dir"}, {"name": "hl/a", "data": b"linked\n"},
        {"name": "hl/b", "type": "hard", "link": "hl/a"},
        {"name": "usr/bin/suid", "data": b"s", "mode": 0o4755},
        {"name": "usr/bin/pinger", "data": b"p", "mode": 0o755,
         "xattrs": {"security.capability": capability}}])
    image = add_image(rt, "layered-test", [busybox_layer(rt), middle, top],
                      Cmd=["sh", "-c", "echo default; pwd; id -u; echo $GREETING"],
                      WorkingDir="/data", User="app", StopSignal="SIGINT",
                      Env=["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "GREETING=hello"],
                      Labels={"layered": "yes"}, ExposedPorts={"80/tcp": {}})
    yield image
    for ctr in rt.list_containers(all=True):
        if ctr.config.image_id == image.id:
            rt.remove_container(ctr, force=True, timeout=0)
    rt.remove_image(image.id)


def test_merged_view_in_a_running_container(rt: Runtime, layered: Image) -> None:
    assert len(layered.layers) == 3
    dirs = rt.images.layer_dirs(layered)
    code, out = run(rt, "layered-test", (
        "ls /data; echo --; ls /opq; echo --; ls /etc/removed 2>&1 || echo no-removed; "
        "echo --; ls -l /bin/sh; readlink /bin/sh; echo --; "
        "stat -c %i /hl/a /hl/b; stat -c %a /usr/bin/suid; cat /hl/b"), user="root")
    assert code == 0, out
    data, opq, removed, sh, rest = out.split("\n--\n")
    assert data.split() == ["keep"]
    assert opq.split() == ["new"]
    assert "no-removed" in removed
    assert sh.endswith("/bin/sh -> /bin/busybox\n/bin/busybox")
    inode_a, inode_b, mode, content = rest.split("\n")
    assert inode_a == inode_b and mode == "4755" and content == "linked"
    # The capability survived into the layer (getcap on the extracted file).
    getcap = subprocess.run(["getcap", str(dirs[2] / "usr/bin/pinger")], capture_output=True,
                            text=True, check=True)
    assert "cap_net_raw=ep" in getcap.stdout
    info = rt.images.get("layered-test").inspect()
    assert info["RootFS"]["Layers"] == layered.layers
    assert info["Config"]["ExposedPorts"] == {"80/tcp": {}}
    assert info["Size"] == layered.size > 0
    assert info["GraphDriver"]["Data"]["LowerDir"] == ":".join(map(str, dirs[::-1]))


def test_capability_visible_through_the_overlay(rt: Runtime, layered: Image) -> None:
    ctr = rt.create_container("layered-test", ["sleep", "30"], user="root")
    ctr.start()
    merged = rt.container_dir(ctr.id) / "merged"
    getcap = subprocess.run(["getcap", str(merged / "usr/bin/pinger")], capture_output=True,
                            text=True, check=True)
    assert "cap_net_raw=ep" in getcap.stdout
    mounts = Path("/proc/self/mountinfo").read_text()
    line = next(x for x in mounts.splitlines() if f" {merged} " in x)
    dirs = rt.images.layer_dirs(layered)
    assert f"lowerdir={dirs[2]}:{dirs[1]}:{dirs[0]}" in line  # top first, no copy
    ctr.stop(timeout=0)


def test_image_config_honoured(rt: Runtime, layered: Image) -> None:
    ctr = rt.create_container("layered-test")
    assert ctr.config.stop_signal == 2  # SIGINT from the image
    assert (ctr.config.uid, ctr.config.gid) == (1000, 1000)  # User, from the layers' passwd
    ctr.start()
    assert ctr.wait() == 0
    lines = [line.text for line in ctr.logs()]
    assert lines == ["default", "/data", "1000", "hello"]
    explicit = rt.create_container("layered-test", ["true"], stop_signal="SIGTERM")
    assert explicit.config.stop_signal == 15
    entry = add_image(rt, "entry-test", [busybox_layer(rt)], Entrypoint=["echo", "via"],
                      Cmd=["default"])
    try:
        assert run(rt, "entry-test", "x")[1] == "via sh -c x"  # a command replaces Cmd only
        assert run_default(rt, "entry-test") == "via default"
        # An explicit entrypoint replaces the image's and drops its Cmd (Docker's rule).
        ctr = rt.create_container("entry-test", ["x"], entrypoint=["echo", "own"])
        assert list(ctr.config.command) == ["echo", "own", "x"]
        ctr = rt.create_container("entry-test", entrypoint=["echo", "alone"])
        assert list(ctr.config.command) == ["echo", "alone"]
        ctr = rt.create_container("entry-test", ["echo", "plain"], entrypoint=[])
        assert list(ctr.config.command) == ["echo", "plain"]
    finally:
        for ctr in rt.list_containers(all=True):
            if ctr.config.image_id == entry.id:
                rt.remove_container(ctr, force=True, timeout=0)
        rt.remove_image(entry.id)


def run_default(rt: Runtime, image: str) -> str:
    ctr = rt.create_container(image)
    ctr.start()
    ctr.wait()
    return "\n".join(line.text for line in ctr.logs())


def logged(ctr: Any) -> list[str]:
    return [line.text for line in ctr.logs()]


def exported(ctr: Any, tmp_path: Path, label: str) -> dict[str, tarfile.TarInfo]:
    out = tmp_path / f"{label}.tar"
    ctr.export(out)
    with tarfile.open(out) as tar:
        return {m.name.removeprefix("./"): m for m in tar.getmembers()}


def test_restart_checkpoint_restore_and_export(rt: Runtime, layered: Image,
                                               tmp_path: Path) -> None:
    counter = "i=0; while :; do echo $i; i=$((i+1)); sleep 0.1; done"
    ctr = rt.create_container("layered-test",
                              ["sh", "-c", f"echo changed > /opq/added; {counter}"], user="root")
    ctr.start()
    assert wait_until(lambda: len(logged(ctr)) >= 3, 10)
    ctr.stop(timeout=1)
    ctr.start()  # a restart mounts the same layers again
    assert wait_until(lambda: len(logged(ctr)) >= 8, 10)
    ctr.checkpoint()
    assert ctr.state is not S.RUNNING
    ctr.restore()
    assert ctr.state is S.RUNNING
    archive = tmp_path / "layered.tar"
    ctr.checkpoint(target_file=archive, compression="none", keep_running=True)
    # The archive carries the merged image (three layers as one root filesystem).
    with tarfile.open(archive) as outer:
        member = outer.extractfile("image/rootfs.tar")
        assert member is not None
        with tarfile.open(fileobj=io.BytesIO(member.read())) as image_tar:
            names = {m.name: m for m in image_tar.getmembers()}
    assert "data/keep" in names and "data/gone" not in names and "etc/removed" not in names
    assert sorted(n for n in names if n.startswith("opq/")) == ["opq/new"]
    assert names["bin/sh"].linkname == "/bin/busybox"
    copy = rt.restore_container(archive, name="layered-copy")
    try:
        assert copy.state is S.RUNNING
        files = exported(copy, tmp_path, "copy")
        assert sorted(n for n in files if n.startswith("opq/")) == ["opq/added", "opq/new"]
        assert "data/gone" not in files and files["bin/sh"].linkname == "/bin/busybox"
    finally:
        rt.remove_container(copy, force=True, timeout=0)
    files = exported(ctr, tmp_path, "ctr")
    assert "opq/added" in files and "opq/old1" not in files and "data/gone" not in files
    ctr.stop(timeout=0)


def test_many_layers_mount(rt: Runtime) -> None:
    """More layers than fit in one page of absolute mount options: mounted with the store's
    short relative links."""
    layers = [busybox_layer(rt)] + [
        layer_tar([{"name": f"layer{i}", "data": f"{i}\n".encode()}]) for i in range(70)]
    image = add_image(rt, "many-layers", layers)
    try:
        dirs = rt.images.layer_dirs(image)
        assert len(":".join(map(str, dirs))) > 4096
        code, out = run(rt, "many-layers", "cat /layer0 /layer69; ls / | grep -c layer")
        assert (code, out.split()) == (0, ["0", "69", "70"])
    finally:
        for ctr in rt.list_containers(all=True):
            if ctr.config.image_id == image.id:
                rt.remove_container(ctr, force=True, timeout=0)
        rt.remove_image(image.id)


def test_image_from_before_layers_still_runs(rt: Runtime, tmp_path: Path) -> None:
    """An image stored as one flattened rootfs (images/<id>/rootfs, no "storage" in its row)
    is its own single layer."""
    image_id = hashlib.sha256(b"legacy-image").hexdigest()
    rootfs = rt.root / "images" / image_id / "rootfs"
    rootfs.parent.mkdir(mode=0o700)
    shutil.copytree(rt.images.layer_dirs(rt.images.get(DEMO))[0], rootfs, symlinks=True)
    rt.store.add_image(image_id, ["localhost/legacy:latest"], {
        "config": {"Env": [], "Cmd": ["sh"], "Entrypoint": None, "WorkingDir": "/",
                   "User": "", "Labels": {}}, "created": 1.0, "size": 1,
        "layers": [f"sha256:{image_id}"], "source": "tarball"})
    try:
        image = rt.images.get("legacy")
        assert rt.images.layer_dirs(image) == [rootfs]
        code, out = run(rt, "legacy", "echo old")
        assert (code, out) == (0, "old")
    finally:
        for ctr in rt.list_containers(all=True):
            if ctr.config.image_id == image_id:
                rt.remove_container(ctr, force=True, timeout=0)
        rt.remove_image(image_id)
    assert not rootfs.parent.exists()


def test_two_images_share_the_base_on_disk(rt: Runtime) -> None:
    base = busybox_layer(rt)
    before = set(os.listdir(rt.root / "layers"))
    one = add_image(rt, "share-one", [base, layer_tar([{"name": "one", "data": b"1"}])])
    two = add_image(rt, "share-two", [base, layer_tar([{"name": "two", "data": b"2\n"}])])
    try:
        added = set(os.listdir(rt.root / "layers")) - before
        assert len(added) == 3  # the base once, and each image's own top layer
        assert rt.images.layer_dirs(one)[0] == rt.images.layer_dirs(two)[0]
        base_bytes = du(rt.images.layer_dirs(one)[0])
        used = sum(du(rt.root / "layers" / name) for name in added)
        assert base_bytes > 500_000  # busybox
        assert used < base_bytes + 100_000, (used, base_bytes)  # not twice the base
        assert json.loads((rt.images.layer_dirs(one)[0].parent / "layer.json").read_text())[
            "diff_id"] == diff_id(base)
        assert run(rt, "share-two", "cat /two; ls /one 2>/dev/null || echo none")[1] == "2\nnone"
    finally:
        for image in (one, two):
            for ctr in rt.list_containers(all=True):
                if ctr.config.image_id == image.id:
                    rt.remove_container(ctr, force=True, timeout=0)
            rt.remove_image(image.id)
    assert set(os.listdir(rt.root / "layers")) == before


@pytest.mark.skipif(shutil.which("podman") is None, reason="podman is not installed")
def test_oci_archive_saved_by_podman(rt: Runtime, tmp_path: Path) -> None:
    """A two-layer image built and saved by podman (its own storage under tmp_path) loads
    layer by layer: a whiteout, an absolute symlink, its config; its base layer (the demo
    tarball, imported by podman) is the demo image's own layer, stored once."""
    from jupyter_ctr.engine.images import demo  # noqa: PLC0415 - tests

    storage = Path(tempfile.mkdtemp(prefix="jlp", dir="/tmp"))  # podman wants short paths
    podman = ["podman", "--root", str(storage / "r"), "--runroot", str(storage / "x"),
              "--storage-driver", "vfs"]
    tarball = tmp_path / "busybox.tar"
    demo.write_tarball(demo.find_static_busybox(None), tarball)
    subprocess.run([*podman, "import", "--change", 'CMD ["sh"]', "--change", "ENV FOO=bar",
                    str(tarball), "localhost/pbase:1"], check=True, capture_output=True)
    (tmp_path / "Containerfile").write_text(
        "FROM localhost/pbase:1\n"
        "RUN mkdir /data && echo hi > /data/x && rm /bin/vi && ln -s /bin/busybox /bin/sh2\n"
        "STOPSIGNAL SIGUSR1\nEXPOSE 8080\n")
    subprocess.run([*podman, "build", "--isolation", "chroot", "-q", "-t", "localhost/pimg:2",
                    "-f", str(tmp_path / "Containerfile"), str(tmp_path)], check=True,
                   capture_output=True)
    archive = tmp_path / "pimg.oci.tar"
    subprocess.run([*podman, "save", "--format", "oci-archive", "-o", str(archive),
                    "localhost/pimg:2"], check=True, capture_output=True)
    before = set(os.listdir(rt.root / "layers"))
    image = rt.import_image(archive, "localhost/pimg:2")
    try:
        assert len(image.layers) == 2
        assert image.layers[0] == rt.images.get(DEMO).layers[0]  # the same content
        assert set(os.listdir(rt.root / "layers")) - before == {image.layers[1][7:]}
        assert image.config["StopSignal"] == "SIGUSR1"
        assert image.config["ExposedPorts"] == {"8080/tcp": {}}
        code, out = run(rt, "localhost/pimg:2",
                        "readlink /bin/sh2; ls /bin/vi 2>/dev/null || echo no-vi; cat /data/x; "
                        "echo $FOO")
        assert (code, out.split()) == (0, ["/bin/busybox", "no-vi", "hi", "bar"])
    finally:
        for ctr in rt.list_containers(all=True):
            if ctr.config.image_id == image.id:
                rt.remove_container(ctr, force=True, timeout=0)
        rt.remove_image(image.id)
        subprocess.run([*podman, "system", "reset", "-f"], capture_output=True, check=False)
        shutil.rmtree(storage, ignore_errors=True)
    assert set(os.listdir(rt.root / "layers")) == before
