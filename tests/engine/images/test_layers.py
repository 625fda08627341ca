"""apply_layer and layer_dir_to_tar: OCI layers in overlayfs lower-layer format (whiteouts,
opaque directories, links, owners, modes, xattrs and file capabilities), compressions, and
hostile layers that must be refused with nothing left; the layer store: shared layers, their
removal with the last image, config checks."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import stat
import subprocess
import tarfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from jupyter_ctr.engine.errors import InvalidArgumentError
from jupyter_ctr.engine.images import ArchiveLimits, ImageStore
from jupyter_ctr.engine.images.layers import apply_layer, layer_dir_to_tar
from jupyter_ctr.engine.store import StateStore

from .conftest import assert_nothing_left, stored_layers

Member = dict[str, Any]


def layer_tar(members: list[Member]) -> bytes:
    """A PAX tar of ``members``: name, type (file, dir, sym, hard, fifo, chr), data, link,
    mode, uid, gid, xattrs."""
    buf = io.BytesIO()
    types = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE,
             "hard": tarfile.LNKTYPE, "fifo": tarfile.FIFOTYPE, "chr": tarfile.CHRTYPE}
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for m in members:
            info = tarfile.TarInfo(m["name"])
            kind = m.get("type", "file")
            info.type = types[kind]
            info.mode = m.get("mode", 0o755 if kind == "dir" else 0o644)
            info.uid, info.gid = m.get("uid", 0), m.get("gid", 0)
            info.mtime = m.get("mtime", 1_600_000_000)
            info.linkname = m.get("link", "")
            if kind == "chr":
                info.devmajor, info.devminor = 1, 3
            if m.get("xattrs"):
                info.pax_headers = {f"SCHILY.xattr.{k}": v.decode("utf-8", "surrogateescape")
                                    for k, v in m["xattrs"].items()}
            data = m.get("data", b"")
            info.size = len(data) if kind == "file" else 0
            tar.addfile(info, io.BytesIO(data) if kind == "file" else None)
    return buf.getvalue()


def capability_bytes(tmp_path: Path, caps: str = "cap_net_raw+ep") -> bytes:
    """The security.capability value setcap writes for ``caps``."""
    probe = tmp_path / "cap-probe"
    probe.write_bytes(b"x")
    subprocess.run(["setcap", caps, str(probe)], check=True)
    value = os.getxattr(probe, "security.capability")
    probe.unlink()
    return value


needs_setcap = pytest.mark.skipif(shutil.which("setcap") is None or shutil.which("getcap") is None,
                                  reason="setcap/getcap (libcap2-bin) are not installed")


def apply_bytes(data: bytes, dest: Path, **kw: Any) -> Any:
    dest.mkdir()
    return apply_layer(io.BytesIO(data), dest, origin="test-layer", **kw)


# -- the overlay format -----------------------------------------------------------------------

@needs_setcap
def test_layer_format(tmp_path: Path) -> None:
    cap = capability_bytes(tmp_path)
    data = layer_tar([
        {"name": "bin", "type": "dir"},
        {"name": "bin/busybox", "data": b"#!busybox", "mode": 0o755},
        {"name": "bin/sh", "type": "sym", "link": "/bin/busybox"},
        {"name": "bin/up", "type": "sym", "link": "../../../etc/shadow"},
        {"name": "bin/ash", "type": "hard", "link": "bin/busybox"},
        {"name": "bin/su", "data": b"su", "mode": 0o4755},
        {"name": "bin/sg", "data": b"sg", "mode": 0o2755, "gid": 42},
        {"name": "bin/ping", "data": b"ping", "mode": 0o755, "xattrs": {
            "security.capability": cap, "user.note": b"\xff\x00binary"}},
        {"name": "tmp", "type": "dir", "mode": 0o1777},
        {"name": "home/user/file", "data": b"mine", "uid": 1000, "gid": 1000, "mode": 0o600},
        {"name": "etc/.wh.removed"},
        {"name": "opt/app", "type": "dir"},
        {"name": "opt/app/.wh..wh..opq"},
        {"name": "opt/app/new", "data": b"new"},
        {"name": "run/fifo", "type": "fifo", "mode": 0o620},
        {"name": "dev/null", "type": "chr"},
        {"name": "evil", "data": b"x", "xattrs": {"trusted.overlay.redirect": b"/etc"}},
    ])
    d = tmp_path / "diff"
    report = apply_bytes(gzip.compress(data), d)
    assert report.diff_id == "sha256:" + hashlib.sha256(data).hexdigest()
    assert report.compressed_digest == "sha256:" + hashlib.sha256(gzip.compress(data)).hexdigest()
    assert report.compression == "gzip" and report.tar_size == len(data)
    assert report.whiteouts == 1
    # links exactly as written
    assert os.readlink(d / "bin/sh") == "/bin/busybox"
    assert os.readlink(d / "bin/up") == "../../../etc/shadow"
    assert (d / "bin/ash").stat().st_ino == (d / "bin/busybox").stat().st_ino
    # modes and owners
    assert stat.S_IMODE((d / "bin/su").stat().st_mode) == 0o4755
    sg = (d / "bin/sg").stat()
    assert (stat.S_IMODE(sg.st_mode), sg.st_gid) == (0o2755, 42)
    assert stat.S_IMODE((d / "tmp").stat().st_mode) == 0o1777
    user_file = (d / "home/user/file").stat()
    assert (user_file.st_uid, user_file.st_gid, stat.S_IMODE(user_file.st_mode)) == (
        1000, 1000, 0o600)
    assert user_file.st_mtime == 1_600_000_000
    assert (d / "tmp").stat().st_mtime == 1_600_000_000  # directories' times set last
    # xattrs and capabilities
    assert os.getxattr(d / "bin/ping", "security.capability") == cap
    assert os.getxattr(d / "bin/ping", "user.note") == b"\xff\x00binary"
    getcap = subprocess.run(["getcap", str(d / "bin/ping")], capture_output=True, text=True)
    assert "cap_net_raw=ep" in getcap.stdout
    assert "trusted.overlay.redirect" not in os.listxattr(d / "evil")
    # whiteouts, opaque directories, fifos; devices skipped
    wh = (d / "etc/removed").lstat()
    assert stat.S_ISCHR(wh.st_mode) and wh.st_rdev == 0
    assert not (d / "etc/.wh.removed").exists()
    assert os.getxattr(d / "opt/app", "trusted.overlay.opaque") == b"y"
    assert sorted(os.listdir(d / "opt/app")) == ["new"]
    assert stat.S_ISFIFO((d / "run/fifo").lstat().st_mode)
    assert stat.S_IMODE((d / "run/fifo").lstat().st_mode) == 0o620
    assert not (d / "dev/null").exists()
    assert any("dev/null" in n and "skipped" in n for n in report.notes)
    assert any("trusted.overlay.redirect" in n for n in report.notes)


@needs_setcap
def test_layer_dir_to_tar_round_trip(tmp_path: Path) -> None:
    cap = capability_bytes(tmp_path)
    data = layer_tar([
        {"name": "a", "type": "dir"}, {"name": "a/f", "data": b"f", "mode": 0o4750, "uid": 7},
        {"name": "a/h", "type": "hard", "link": "a/f"},
        {"name": "a/cap", "data": b"c", "xattrs": {"security.capability": cap}},
        {"name": "a/.wh.gone"}, {"name": "o", "type": "dir"}, {"name": "o/.wh..wh..opq"},
        {"name": "s", "type": "sym", "link": "/a/f"}])
    first = tmp_path / "first"
    apply_bytes(data, first)
    out = io.BytesIO()
    diff_id = layer_dir_to_tar(first, out)
    assert diff_id == "sha256:" + hashlib.sha256(out.getvalue()).hexdigest()
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        names = {m.name: m for m in tar.getmembers()}
    assert names["a/.wh.gone"].isreg() and names["o/.wh..wh..opq"].isreg()
    assert names["a/h"].islnk() and names["s"].linkname == "/a/f"
    second = tmp_path / "second"
    report = apply_bytes(out.getvalue(), second)
    assert report.diff_id == diff_id
    assert os.getxattr(second / "a/cap", "security.capability") == cap
    assert os.getxattr(second / "o", "trusted.overlay.opaque") == b"y"
    assert stat.S_ISCHR((second / "a/gone").lstat().st_mode)
    assert stat.S_IMODE((second / "a/f").stat().st_mode) == 0o4750
    assert (second / "a/f").stat().st_uid == 7
    again = io.BytesIO()
    assert layer_dir_to_tar(second, again) == diff_id  # reproducible


@pytest.mark.parametrize("compression", ["plain", "gzip", "bzip2", "xz", "zstd"])
def test_compressions(tmp_path: Path, compression: str) -> None:
    data = layer_tar([{"name": "f", "data": os.urandom(5000)}])
    if compression == "zstd":
        if shutil.which("zstd") is None:
            pytest.skip("zstd is not installed")
        blob = subprocess.run(["zstd", "-q", "-c"], input=data, capture_output=True,
                              check=True).stdout
    else:
        import bz2  # noqa: PLC0415 - only here
        import lzma  # noqa: PLC0415 - only here

        blob = {"plain": lambda b: b, "gzip": gzip.compress, "bzip2": bz2.compress,
                "xz": lzma.compress}[compression](data)
    report = apply_bytes(blob, tmp_path / "d")
    assert report.compression == compression
    assert report.diff_id == "sha256:" + hashlib.sha256(data).hexdigest()
    assert (tmp_path / "d/f").stat().st_size == 5000


def test_truncated_zstd_refused(tmp_path: Path) -> None:
    if shutil.which("zstd") is None:
        pytest.skip("zstd is not installed")
    data = layer_tar([{"name": "f", "data": os.urandom(50_000)}])
    blob = subprocess.run(["zstd", "-q", "-c"], input=data, capture_output=True,
                          check=True).stdout
    with pytest.raises(InvalidArgumentError, match="not a valid tar archive"):
        apply_bytes(blob[:30_000], tmp_path / "d")
    assert os.listdir(tmp_path / "d") == []


@pytest.mark.parametrize("fault", ["hostile-member", "truncated", "corrupt"])
def test_gzip_layer_refused_midway_stops_its_read_ahead(tmp_path: Path, fault: str) -> None:
    """A gzip layer is decompressed by a read-ahead thread: a refusal half way through (a
    hostile member after 6 MiB), a truncated or a corrupt stream each end that thread, with
    the usual error and nothing left."""
    first = {"name": "big", "data": os.urandom(6 << 20)}
    blob = gzip.compress(layer_tar([first, {"name": "../escaped"}]), compresslevel=1)
    if fault == "truncated":
        blob = blob[:len(blob) // 2]
    elif fault == "corrupt":
        blob = blob[:len(blob) // 2] + bytes(b ^ 0xFF for b in blob[len(blob) // 2:][:4096])
    message = {"hostile-member": "'..'", "truncated": "truncated",
               "corrupt": "not a valid tar archive"}[fault]
    with pytest.raises(InvalidArgumentError, match=message):
        apply_bytes(blob, tmp_path / "d")
    assert os.listdir(tmp_path / "d") == []
    assert not [t for t in threading.enumerate() if t.name == "layer-read-ahead"]


def test_dest_must_be_empty(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d/x").write_text("x")
    with pytest.raises(InvalidArgumentError, match="not empty"):
        apply_layer(io.BytesIO(layer_tar([])), tmp_path / "d", origin="t")


# -- hostile layers -----------------------------------------------------------------------

HOSTILE: list[tuple[str, list[Member], str]] = [
    ("dotdot", [{"name": "../escaped"}], "'..'"),
    ("dotdot-inner", [{"name": "a/../../escaped"}], "'..'"),
    ("absolute", [{"name": "/escaped"}], "absolute path"),
    ("write-through-symlink", [{"name": "lnk", "type": "sym", "link": "/tmp"},
                               {"name": "lnk/escaped"}],
     "'lnk/escaped' would be written through the symlink 'lnk'"),
    ("write-through-relative-symlink", [{"name": "d", "type": "dir"},
                                        {"name": "d/up", "type": "sym", "link": "../.."},
                                        {"name": "d/up/escaped"}],
     "through the symlink 'd/up'"),
    ("whiteout-through-symlink", [{"name": "lnk", "type": "sym", "link": "/etc"},
                                  {"name": "lnk/.wh.passwd"}], "through the symlink 'lnk'"),
    ("opaque-through-symlink", [{"name": "lnk", "type": "sym", "link": "/etc"},
                                {"name": "lnk/.wh..wh..opq"}], "through the symlink 'lnk'"),
    ("hardlink-outside", [{"name": "pw", "type": "hard", "link": "../../etc/passwd"}],
     "hardlink to '../../etc/passwd'"),
    ("hardlink-absolute", [{"name": "pw", "type": "hard", "link": "/etc/passwd"}],
     "hardlink to '/etc/passwd'"),
    ("hardlink-missing", [{"name": "a", "type": "hard", "link": "b"}],
     "not a regular file extracted earlier"),
    ("hardlink-to-symlink-target", [{"name": "s", "type": "sym", "link": "/etc/passwd"},
                                    {"name": "h", "type": "hard", "link": "s"}],
     "not a regular file extracted earlier"),
    ("hardlink-through-symlink", [{"name": "d", "type": "sym", "link": "/etc"},
                                  {"name": "h", "type": "hard", "link": "d/passwd"}],
     "hardlink reaching through the symlink 'd'"),
    ("file-parent", [{"name": "f"}, {"name": "f/g"}], "below 'f', which is not a directory"),
    ("dir-replaced", [{"name": "d", "type": "dir"}, {"name": "d", "type": "sym", "link": "/"}],
     "would replace a directory"),
    ("root-replaced", [{"name": ".", "type": "sym", "link": "/"}], "layer root"),
    ("name-too-long", [{"name": "x" * 300}], "cannot be written: File name too long"),
]


@pytest.mark.parametrize(("label", "members", "message"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_layer_refused(tmp_path: Path, label: str, members: list[Member],
                               message: str) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(InvalidArgumentError, match=message) as info:
        apply_bytes(layer_tar([{"name": "first", "data": b"1"}, *members]), tmp_path / "d")
    assert "test-layer" in str(info.value)
    assert os.listdir(tmp_path / "d") == []
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*before, "d"])
    assert (tmp_path / "etc/passwd").read_text() == "root:x:0:0::/root:/bin/sh\n"
    assert not (Path("/tmp") / "escaped").exists()


@pytest.mark.parametrize("cut", ["header", "data", "end-blocks"])
def test_truncated_layer_refused(tmp_path: Path, cut: str) -> None:
    data = layer_tar([{"name": "a", "data": os.urandom(3000)},
                      {"name": "b", "data": os.urandom(3000)}])
    size = {"header": 3584 + 200, "data": 3584 + 512 + 1000, "end-blocks": 3584 + 3584}[cut]
    with pytest.raises(InvalidArgumentError, match="not a valid tar archive.*truncated"):
        apply_bytes(data[:size], tmp_path / "d")
    assert os.listdir(tmp_path / "d") == []


def test_garbage_between_members_refused(tmp_path: Path) -> None:
    data = bytearray(layer_tar([{"name": "a", "data": b"x" * 512}, {"name": "b"}]))
    data[1024:1536] = b"\xab" * 512  # b's header
    with pytest.raises(InvalidArgumentError, match="corrupt"):
        apply_bytes(bytes(data), tmp_path / "d")


@pytest.mark.parametrize("limit", ["member", "total", "count"])
def test_oversized_layer_refused(tmp_path: Path, limit: str) -> None:
    data = layer_tar([{"name": f"f{i}", "data": b"x" * 1000} for i in range(5)])
    limits = {"member": ArchiveLimits(max_member_size=999),
              "total": ArchiveLimits(max_size=4000),
              "count": ArchiveLimits(max_members=4)}[limit]
    with pytest.raises(InvalidArgumentError, match="archive_max"):
        apply_bytes(data, tmp_path / "d", limits=limits)
    assert os.listdir(tmp_path / "d") == []


# -- the layer store ----------------------------------------------------------------------

def opener(data: bytes) -> Callable[[], BinaryIO]:
    return lambda: io.BytesIO(data)


def diff_id(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def oci_config(*layers: bytes, **config: Any) -> dict[str, Any]:
    return {"architecture": "amd64", "os": "linux", "config": config,
            "rootfs": {"type": "layers", "diff_ids": [diff_id(x) for x in layers]}}


def du(path: Path) -> int:
    """Bytes on disk below ``path``, each inode once (what du counts)."""
    seen, total = set(), 0
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            st = os.lstat(os.path.join(dirpath, name))
            if st.st_ino not in seen:
                seen.add(st.st_ino)
                total += st.st_blocks * 512
    return total


def test_shared_base_layer_stored_once(tmp_path: Path, images: ImageStore,
                                       state: StateStore) -> None:
    base = layer_tar([{"name": "big", "data": os.urandom(2 << 20)}])
    top1 = layer_tar([{"name": "one", "data": b"1"}])
    top2 = layer_tar([{"name": "two", "data": b"2"}, {"name": ".wh.big"}])
    opened: list[str] = []

    def counting(data: bytes, label: str) -> Callable[[], BinaryIO]:
        def open_it() -> BinaryIO:
            opened.append(label)
            return io.BytesIO(data)
        return open_it

    first = images.add_image(oci_config(base, top1, Cmd=["sh"]),
                             [(diff_id(base), counting(base, "base")),
                              (diff_id(top1), counting(top1, "top1"))],
                             ["one"], origin="one")
    second = images.add_image(oci_config(base, top2),
                              [(diff_id(base), counting(base, "base")),
                               ("", counting(top2, "top2"))],  # diff_id unknown: computed
                              ["two"], origin="two")
    assert opened == ["base", "top1", "top2"]  # the base layer was applied once
    assert first.layers == [diff_id(base), diff_id(top1)]
    assert second.layers == [diff_id(base), diff_id(top2)]
    assert images.layer_dirs(first)[0] == images.layer_dirs(second)[0]
    assert stored_layers(tmp_path / "root") == sorted(
        d.removeprefix("sha256:") for d in {*first.layers, *second.layers})
    used = du(tmp_path / "root/layers")
    assert 2 << 20 < used < (2 << 20) + (1 << 20)  # the 2 MiB base once, not twice
    assert first.size == (2 << 20) + 1 and first.config["Cmd"] == ["sh"]
    assert first.inspect()["RootFS"]["Layers"] == first.layers
    # A layer goes with the last image that lists it.
    images.remove("one", lambda _: [])
    assert stored_layers(tmp_path / "root") == sorted(
        d.removeprefix("sha256:") for d in second.layers)
    images.remove("two", lambda _: [])
    assert_nothing_left(tmp_path / "root", state)
    assert os.listdir(tmp_path / "root/layers/l") == []


def test_add_image_checks_diff_ids_and_leaves_nothing(tmp_path: Path, images: ImageStore,
                                                     state: StateStore) -> None:
    good = layer_tar([{"name": "f", "data": b"f"}])
    other = layer_tar([{"name": "g", "data": b"g"}])
    with pytest.raises(InvalidArgumentError, match="not .* as the image says"):
        images.add_image(oci_config(good), [(diff_id(other), opener(good))], ["x"], origin="x")
    with pytest.raises(InvalidArgumentError, match="rootfs"):
        images.add_image(oci_config(other), [("", opener(good))], ["x"], origin="x")
    with pytest.raises(InvalidArgumentError, match="blob's digest"):
        images.add_image(oci_config(good), [("", opener(good))], ["x"], origin="x",
                         layer_digests=["sha256:" + "0" * 64])
    with pytest.raises(InvalidArgumentError, match="no layers"):
        images.add_image(oci_config(), [], ["x"], origin="x")
    bad = layer_tar([{"name": "ok", "data": b"ok"}, {"name": "../x"}])
    with pytest.raises(InvalidArgumentError, match="'..'"):
        images.add_image(oci_config(good, bad), [("", opener(good)), ("", opener(bad))],
                         ["x"], origin="x")
    assert_nothing_left(tmp_path / "root", state)


def test_same_config_again_only_gains_a_name(images: ImageStore) -> None:
    layer = layer_tar([{"name": "f", "data": b"f"}])
    first = images.add_image(oci_config(layer), [("", opener(layer))], ["a"], origin="a")

    def never() -> BinaryIO:
        raise AssertionError("an image already here must not be read again")

    again = images.add_image(oci_config(layer), [("", never)], ["b"], origin="b")
    assert again.id == first.id and again.names == ["localhost/a:latest", "localhost/b:latest"]


def test_image_config_kept(images: ImageStore) -> None:
    layer = layer_tar([{"name": "f", "data": b"f"}])
    image = images.add_image(
        {**oci_config(layer, Env=["A=1"], Entrypoint=["/bin/sh", "-c"], Cmd=["echo hi"],
                      WorkingDir="/srv", User="1000:1000", Labels={"k": "v"},
                      StopSignal="SIGINT", ExposedPorts={"8080/tcp": {}},
                      Volumes={"/data": {}}),
         "created": "2024-01-02T03:04:05Z", "history": [{"created_by": "RUN x"}]},
        [("", opener(layer))], ["cfg"], origin="cfg", digest="sha256:" + "a" * 64)
    assert image.config["StopSignal"] == "SIGINT"
    assert image.config["ExposedPorts"] == {"8080/tcp": {}}
    assert image.config["Entrypoint"] == ["/bin/sh", "-c"]
    assert image.created == 1704164645.0 and image.digest == "sha256:" + "a" * 64
    info = image.inspect()
    assert info["Config"]["ExposedPorts"] == {"8080/tcp": {}}
    assert info["Labels"] == {"k": "v"} and info["User"] == "1000:1000"
    full = images.oci_config(image)
    assert full["config"]["Volumes"] == {"/data": {}}  # kept for save and push
    assert full["history"] == [{"created_by": "RUN x"}]
    assert full["rootfs"]["diff_ids"] == image.layers
    assert images.layer_info(image.layers[0])["size"] == len(layer)


def test_archive_max_size_bounds_all_layers_together(tmp_path: Path, state: StateStore) -> None:
    images = ImageStore(tmp_path / "root", state, ArchiveLimits(max_size=5000))
    layers = [layer_tar([{"name": f"f{i}", "data": b"x" * 2000}]) for i in range(3)]
    with pytest.raises(InvalidArgumentError, match="archive_max_size"):
        images.add_image(oci_config(*layers), [("", opener(x)) for x in layers], ["big"],
                         origin="big")
    assert_nothing_left(tmp_path / "root", state)


def test_concurrent_imports_share_one_layer(tmp_path: Path, state: StateStore) -> None:
    """Two stores on one root (as two processes) adding images with the same base at once:
    both succeed, the base is stored once, and removing one image keeps it for the other."""
    import threading  # noqa: PLC0415 - only here

    base = layer_tar([{"name": f"f{i}", "data": os.urandom(4096)} for i in range(200)])
    tops = [layer_tar([{"name": f"top{i}", "data": b"t"}]) for i in range(2)]
    results: list[Any] = [None, None]

    def add(i: int) -> None:
        store = ImageStore(tmp_path / "root", StateStore(tmp_path / "state.db"))
        try:
            results[i] = store.add_image(oci_config(base, tops[i]),
                                         [(diff_id(base), opener(base)),
                                          (diff_id(tops[i]), opener(tops[i]))],
                                         [f"img{i}"], origin=f"img{i}")
        except Exception as exc:  # noqa: BLE001 - reported below
            results[i] = exc

    threads = [threading.Thread(target=add, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(not isinstance(r, Exception) for r in results), results
    images = ImageStore(tmp_path / "root", state)
    assert stored_layers(tmp_path / "root") == sorted(
        diff_id(x).removeprefix("sha256:") for x in [base, *tops])
    images.remove("img0", lambda _: [])
    assert (images.layer_dirs(images.get("img1"))[0] / "f199").stat().st_size == 4096
    images.remove("img1", lambda _: [])
    assert_nothing_left(tmp_path / "root", state)
