"""Rootfs tarballs through ImageStore.import_image: extraction of every member kind, the
compressions, and refusal of unsafe or broken archives without leaving anything behind."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import lzma
import os
import re
import stat
import tarfile
from pathlib import Path

import pytest

from jupyter_ctr.engine.errors import InvalidArgumentError
from jupyter_ctr.engine.images import ImageStore
from jupyter_ctr.engine.store import StateStore

from .conftest import Entry, assert_nothing_left, basic_entries, make_tar

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (ownership, mknod)")


@needs_root
def test_import_rootfs_tarball_and_inspect(tmp_path: Path, images: ImageStore) -> None:
    archive = tmp_path / "rootfs.tar"
    with tarfile.open(archive, "w") as tar:
        def add(name: str, type_: bytes, mode: int, data: bytes = b"", link: str = "",
                uid: int = 0) -> None:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime, info.linkname = type_, mode, 1_234_567, link
            info.uid = info.gid = uid
            info.size = len(data) if type_ == tarfile.REGTYPE else 0
            tar.addfile(info, io.BytesIO(data) if data else None)
        add(".", tarfile.DIRTYPE, 0o755)
        add("bin", tarfile.DIRTYPE, 0o755)
        add("bin/hello", tarfile.REGTYPE, 0o755, b"hello world\n", uid=1000)
        add("bin/su", tarfile.REGTYPE, 0o4755, b"setuid\n")
        add("bin/hi", tarfile.SYMTYPE, 0o777, link="hello")
        add("bin/hello2", tarfile.LNKTYPE, 0o755, link="bin/hello", uid=1000)
        add("tmp", tarfile.DIRTYPE, 0o1777)
        add("run/fifo", tarfile.FIFOTYPE, 0o600)
        add("usr/lib/données ☃/naïve file.txt", tarfile.REGTYPE, 0o644, b"unicode\n")
        add("etc/alt", tarfile.SYMTYPE, 0o777, link="../usr/lib/données ☃/naïve file.txt")

    image = images.import_image(archive, "myimg")
    assert image.id == hashlib.sha256(archive.read_bytes()).hexdigest()
    assert image.names == ["localhost/myimg:latest"]
    # One layer, content-addressed by its diff_id (the uncompressed tar's sha256).
    diff_hex = hashlib.sha256(archive.read_bytes()).hexdigest()  # a plain tar: the same
    assert image.layers == [f"sha256:{diff_hex}"]
    assert image.rootfs == tmp_path / "root" / "layers" / diff_hex / "diff"
    assert images.layer_dirs(image) == [image.rootfs]
    rootfs = image.rootfs
    assert (rootfs / "bin/hello").read_bytes() == b"hello world\n"
    st = (rootfs / "bin/hello").stat()
    assert (st.st_uid, st.st_gid, st.st_mtime, stat.S_IMODE(st.st_mode)) == (
        1000, 1000, 1_234_567, 0o755)
    assert stat.S_IMODE((rootfs / "bin/su").stat().st_mode) == 0o4755
    assert stat.S_IMODE((rootfs / "tmp").stat().st_mode) == 0o1777
    assert os.readlink(rootfs / "bin/hi") == "hello"
    assert (rootfs / "bin/hello2").stat().st_ino == st.st_ino
    assert stat.S_ISFIFO((rootfs / "run/fifo").lstat().st_mode)
    assert (rootfs / "usr/lib/données ☃/naïve file.txt").read_bytes() == b"unicode\n"
    assert (rootfs / "etc/alt").read_bytes() == b"unicode\n"
    assert image.size == len(b"hello world\n") + len(b"setuid\n") + len(b"unicode\n") + len(
        "hello") + len("../usr/lib/données ☃/naïve file.txt".encode())
    assert image.config == {
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        "Cmd": None, "Entrypoint": None, "WorkingDir": "/", "User": "", "Labels": {}}

    info = image.inspect()
    assert info["Id"] == image.id
    assert info["RepoTags"] == ["localhost/myimg:latest"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", info["Created"])
    assert info["Size"] == image.size
    assert info["Config"]["Env"] == image.config["Env"]
    assert "Cmd" not in info["Config"]  # omitted when empty, as podman does
    assert info["RootFS"] == {"Type": "layers", "Layers": [f"sha256:{diff_hex}"]}
    assert info["Os"] == "linux" and info["Architecture"]
    json.dumps(info)
    # Only the finished layer is left; the images and layers dirs are private to root.
    assert [p.name for p in (tmp_path / "root/images").iterdir()] == []
    assert sorted(p.name for p in (tmp_path / "root/layers").iterdir()) == [".lock", diff_hex,
                                                                            "l"]
    assert os.readlink(tmp_path / "root/layers/l" / diff_hex[:20]) == f"../{diff_hex}/diff"
    assert stat.S_IMODE((tmp_path / "root/images").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "root/layers").stat().st_mode) == 0o700


@pytest.mark.parametrize("compression", ["gz", "bz2", "xz"])
def test_import_compressed(tmp_path: Path, images: ImageStore, compression: str) -> None:
    archive = make_tar(tmp_path / f"rootfs.tar.{compression}", basic_entries(),
                       f"w:{compression}")
    image = images.import_image(archive, "compressed:" + compression)
    assert (image.rootfs / "etc/hostname").read_text() == "box\n"
    assert image.names == [f"localhost/compressed:{compression}"]


# -- refusals: nothing may be left behind -------------------------------------------------

UNSAFE: list[tuple[str, list[Entry], str]] = [
    ("dotdot", [("bin", "dir", None), ("../escaped", "file", b"x")], "'../escaped'.*'\\.\\.'"),
    ("dotdot-inner", [("a/../../escaped", "file", b"x")], "a/../../escaped"),
    ("absolute", [("/escaped", "file", b"x")], "'/escaped' has an absolute path"),
    ("write-through-symlink", [("sub", "dir", None), ("lnk", "sym", "sub"),
                               ("lnk/file", "file", b"x")],
     "'lnk/file' would be written through the symlink 'lnk'"),
    ("hardlink-escape", [("etc", "dir", None), ("etc/pw", "hard", "../../escaped")],
     "'etc/pw' is a hardlink to '../../escaped'"),
    ("hardlink-absolute", [("pw", "hard", "/etc/passwd")], "'pw' is a hardlink to '/etc/passwd'"),
    ("hardlink-forward", [("a", "hard", "b"), ("b", "file", b"x")],
     "'a' is a hardlink to 'b', which is not a regular file extracted earlier"),
    ("hardlink-through-symlink", [("d", "dir", None), ("d/f", "file", b"x"), ("l", "sym", "d"),
                                  ("h", "hard", "l/f")], "'h' is a hardlink reaching through"),
    ("dir-replaced", [("d", "dir", None), ("d", "sym", "x")],
     "'d' would replace a directory"),
    ("file-parent", [("f", "file", b"x"), ("f/g", "file", b"y")], "'f/g' would be written below"),
]


@pytest.mark.parametrize(("label", "entries", "message"), UNSAFE, ids=[u[0] for u in UNSAFE])
def test_unsafe_archive_refused(tmp_path: Path, images: ImageStore, state: StateStore,
                                label: str, entries: list[Entry], message: str) -> None:
    archive = make_tar(tmp_path / f"{label}.tar", entries)
    with pytest.raises(InvalidArgumentError, match=message):
        images.import_image(archive, "evil")
    assert_nothing_left(tmp_path / "root", state)
    assert not (tmp_path / "escaped").exists()
    assert not (tmp_path / "root" / "escaped").exists()


def test_symlinks_kept_exactly_and_devices_skipped(tmp_path: Path, images: ImageStore) -> None:
    """Links that would point out of the tree on the host are kept as they are: they only
    resolve inside the container (they were refused before images had layers). Device nodes
    are skipped, never created."""
    entries: list[Entry] = [
        ("bin", "dir", None), ("bin/sh", "sym", "/bin/busybox"),
        ("etc", "dir", None), ("etc/x", "sym", "../../escaped"), ("up", "sym", ".."),
        ("sub", "dir", None), ("sub/up", "sym", ".."), ("x", "sym", "sub/up/../.."),
        ("dev", "dir", None), ("dev/null", "chr", None)]
    image = images.import_image(make_tar(tmp_path / "links.tar", entries), "links")
    rootfs = image.rootfs
    assert os.readlink(rootfs / "bin/sh") == "/bin/busybox"
    assert os.readlink(rootfs / "etc/x") == "../../escaped"
    assert os.readlink(rootfs / "up") == ".."
    assert os.readlink(rootfs / "x") == "sub/up/../.."
    assert not (rootfs / "dev/null").exists() and (rootfs / "dev").is_dir()
    assert "dev/null: character device 1:3 skipped" in " ".join(
        images.layer_info(image.layers[0])["notes"])


def test_later_member_replaces_symlink_without_following_it(
        tmp_path: Path, images: ImageStore) -> None:
    (tmp_path / "victim").write_text("keep")
    entries: list[Entry] = [("etc", "dir", None), ("etc/conf", "sym", "../data"),
                            ("data", "file", b"old"), ("etc/conf", "file", b"new")]
    image = images.import_image(make_tar(tmp_path / "r.tar", entries), "replace")
    assert (image.rootfs / "etc/conf").read_bytes() == b"new"
    assert not (image.rootfs / "etc/conf").is_symlink()
    assert (image.rootfs / "data").read_bytes() == b"old"


@pytest.mark.parametrize("label", ["garbage", "truncated-tar", "truncated-gz", "bad-gz",
                                   "bad-gz-stream",
                                   "empty-file", "html", "truncated-xz"])
def test_corrupt_archive_refused(tmp_path: Path, images: ImageStore, state: StateStore,
                                 label: str) -> None:
    good = make_tar(tmp_path / "good.tar", [("big", "file", os.urandom(64 * 1024))])
    data = good.read_bytes()
    path = tmp_path / f"{label}.bin"
    if label == "garbage":
        path.write_bytes(os.urandom(10_000))
    elif label == "truncated-tar":
        path.write_bytes(data[: 512 + 20_000])
    elif label == "truncated-gz":
        path.write_bytes(gzip.compress(data)[:30_000])
    elif label == "bad-gz":  # damaged file data: only the gzip CRC can tell
        blob = bytearray(gzip.compress(data))
        blob[5000:5100] = b"\0" * 100
        path.write_bytes(bytes(blob))
    elif label == "bad-gz-stream":
        blob = bytearray(gzip.compress(b"a" * 100_000))
        blob[12:40] = b"\xff" * 28
        path.write_bytes(bytes(blob))
    elif label == "empty-file":
        path.write_bytes(b"")
    elif label == "html":
        path.write_text("<html>404 not found</html>\n")
    elif label == "truncated-xz":
        path.write_bytes(lzma.compress(data)[:20_000])
    with pytest.raises(InvalidArgumentError, match="is not a valid tar archive"):
        images.import_image(path, "broken")
    assert_nothing_left(tmp_path / "root", state)


def test_bz2_garbage_refused(tmp_path: Path, images: ImageStore, state: StateStore) -> None:
    path = tmp_path / "x.tar.bz2"
    path.write_bytes(bz2.compress(b"definitely not a tar archive" * 100))
    with pytest.raises(InvalidArgumentError, match="not a valid tar archive"):
        images.import_image(path, "broken")
    assert_nothing_left(tmp_path / "root", state)


def test_zstd_gets_clear_error(tmp_path: Path, images: ImageStore, state: StateStore) -> None:
    path = tmp_path / "x.tar.zst"
    path.write_bytes(b"\x28\xb5\x2f\xfd" + os.urandom(100))
    with pytest.raises(InvalidArgumentError, match="zstd"):
        images.import_image(path, "zst")
    assert_nothing_left(tmp_path / "root", state)


def test_empty_archive_refused(tmp_path: Path, images: ImageStore, state: StateStore) -> None:
    path = make_tar(tmp_path / "empty.tar", [])
    with pytest.raises(InvalidArgumentError, match="empty archive"):
        images.import_image(path, "empty")
    only_root = make_tar(tmp_path / "dot.tar", [(".", "dir", None)])
    with pytest.raises(InvalidArgumentError, match="empty archive"):
        images.import_image(only_root, "empty")
    assert_nothing_left(tmp_path / "root", state)
