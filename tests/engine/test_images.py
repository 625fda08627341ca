"""ImageStore: imports of rootfs tarballs and OCI layouts, lookups, removal, and refusal of
unsafe or broken archives without leaving anything behind."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import lzma
import os
import re
import shutil
import stat
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_ctr.engine.errors import ImageInUseError, InvalidArgumentError, NoSuchImageError
from jupyter_ctr.engine.images import ImageStore, host_architecture, normalize_reference
from jupyter_ctr.engine.store import StateStore

UMOCI = shutil.which("umoci")
BUSYBOX = shutil.which("busybox") or "/bin/busybox"
needs_umoci = pytest.mark.skipif(UMOCI is None, reason="umoci is not installed")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (ownership, mknod)")


@pytest.fixture
def state(tmp_path: Path) -> Iterator[StateStore]:
    store = StateStore(tmp_path / "state.db")
    yield store
    store.close()


@pytest.fixture
def images(tmp_path: Path, state: StateStore) -> ImageStore:
    return ImageStore(tmp_path / "root", state)


# -- tarball builders ---------------------------------------------------------------------

Entry = tuple[str, str, Any]  # (name, kind, payload): kind in dir/file/sym/hard/fifo/chr


def make_tar(path: Path, entries: list[Entry], mode: str = "w") -> Path:
    with tarfile.open(path, mode) as tar:  # type: ignore[call-overload]
        for name, kind, payload in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 1_600_000_000
            info.mode = 0o755 if kind == "dir" else 0o644
            if kind == "dir":
                info.type = tarfile.DIRTYPE
            elif kind == "sym":
                info.type, info.linkname = tarfile.SYMTYPE, payload
            elif kind == "hard":
                info.type, info.linkname = tarfile.LNKTYPE, payload
            elif kind == "fifo":
                info.type = tarfile.FIFOTYPE
            elif kind == "chr":
                info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
            if kind == "file":
                data = payload if isinstance(payload, bytes) else str(payload).encode()
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return path


def basic_entries() -> list[Entry]:
    return [("bin", "dir", None), ("bin/hello", "file", b"#!/bin/sh\necho hi\n"),
            ("etc", "dir", None), ("etc/hostname", "file", b"box\n")]


def assert_nothing_left(root: Path, state: StateStore) -> None:
    images_dir = root / "images"
    leftovers = sorted(p.name for p in images_dir.iterdir()) if images_dir.exists() else []
    assert leftovers == [], f"left behind in images/: {leftovers}"
    assert state.image_ids() == []


# -- references ---------------------------------------------------------------------------

@pytest.mark.parametrize(("ref", "expected"), [
    ("busybox", "localhost/busybox:latest"),
    ("busybox:1.36", "localhost/busybox:1.36"),
    ("localhost/busybox", "localhost/busybox:latest"),
    ("quay.io/a/b:1", "quay.io/a/b:1"),
    ("a/b", "localhost/a/b:latest"),
    ("localhost:5000/x/y", "localhost:5000/x/y:latest"),
    ("reg.example.com:443/team/app_1.web:v2-rc_1", "reg.example.com:443/team/app_1.web:v2-rc_1"),
    ("foo__bar/a-b--c", "localhost/foo__bar/a-b--c:latest"),
])
def test_normalize_reference(ref: str, expected: str) -> None:
    assert normalize_reference(ref) == expected


@pytest.mark.parametrize(("ref", "message"), [
    ("", "empty"),
    ("BusyBox", "must be lowercase"),
    ("busybox:", "tag"),
    ("busybox:-x", "tag"),
    ("busybox:" + "a" * 129, "tag"),
    ("bad_/x", "path component"),
    ("a//b", "path component"),
    ("busybox@sha256:" + "0" * 64, "digest"),
    ("-x.io/a", "registry host"),
    (" busybox", "whitespace"),
    ("a/" + "b" * 300, "longer than"),
])
def test_normalize_reference_rejects(ref: str, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        normalize_reference(ref)


# -- rootfs tarballs ----------------------------------------------------------------------

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
    assert image.rootfs == tmp_path / "root" / "images" / image.id / "rootfs"
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
    assert info["RootFS"]["Type"] == "layers"
    assert info["Os"] == "linux" and info["Architecture"]
    json.dumps(info)
    # Only the finished image directory is left; the images dir is private to root.
    assert [p.name for p in (tmp_path / "root/images").iterdir()] == [image.id]
    assert stat.S_IMODE((tmp_path / "root/images").stat().st_mode) == 0o700


@pytest.mark.parametrize("compression", ["gz", "bz2", "xz"])
def test_import_compressed(tmp_path: Path, images: ImageStore, compression: str) -> None:
    archive = make_tar(tmp_path / f"rootfs.tar.{compression}", basic_entries(),
                       f"w:{compression}")
    image = images.import_image(archive, "compressed:" + compression)
    assert (image.rootfs / "etc/hostname").read_text() == "box\n"
    assert image.names == [f"localhost/compressed:{compression}"]


def test_import_config_overrides(tmp_path: Path, images: ImageStore) -> None:
    archive = make_tar(tmp_path / "r.tar", basic_entries())
    image = images.import_image(archive, "cfg", config={
        "Cmd": ["/bin/hello"], "Labels": {"a": "b"}, "User": "1000"})
    assert image.config["Cmd"] == ["/bin/hello"]
    assert image.config["Labels"] == {"a": "b"}
    assert image.config["User"] == "1000"
    with pytest.raises(InvalidArgumentError, match="unknown image config key"):
        images.import_image(archive, "cfg2", config={"Bogus": 1})
    with pytest.raises(InvalidArgumentError, match="Cmd must be a list of strings"):
        images.import_image(archive, "cfg3", config={"Cmd": "sh"})


def test_list_get_and_names(tmp_path: Path, images: ImageStore, state: StateStore) -> None:
    a = images.import_image(make_tar(tmp_path / "a.tar", basic_entries()), "busybox")
    b_entries = [*basic_entries(), ("b", "file", b"b")]
    b = images.import_image(make_tar(tmp_path / "b.tar", b_entries), "quay.io/team/other:1")
    assert [i.id for i in images.list()] == [a.id, b.id]

    assert images.get("busybox").id == a.id
    assert images.get("busybox:latest").id == a.id
    assert images.get("localhost/busybox:latest").id == a.id
    assert images.get(a.id).id == a.id
    assert images.get("sha256:" + a.id).id == a.id
    assert images.get(a.id[:12]).id == a.id
    assert images.get(b.id[:3]).id == b.id
    assert images.get("quay.io/team/other:1").id == b.id
    assert images.get("other:1").id == b.id  # short name, like podman's local lookup
    for missing in ("nosuch", "nosuch:tag", "ab", "Upper", "0" * 64, ""):
        with pytest.raises(NoSuchImageError, match=re.escape(f"{missing}: image not known")):
            images.get(missing)

    # Same content under another name: same image, one more name.
    again = images.import_image(tmp_path / "a.tar", "second:v1")
    assert again.id == a.id
    assert again.names == ["localhost/busybox:latest", "localhost/second:v1"]
    assert len(images.list()) == 2

    # A name held by another image moves to the newly imported one.
    moved = images.import_image(tmp_path / "b.tar", "busybox")
    assert moved.id == b.id
    assert images.get("busybox").id == b.id
    assert images.get(a.id).names == ["localhost/second:v1"]

    images.tag(a.id[:8], "third")
    assert images.get("third").id == a.id
    assert images.untag("third") == a.id
    with pytest.raises(NoSuchImageError):
        images.get("third")


def test_ambiguous_prefix(images: ImageStore, state: StateStore) -> None:
    record = {"config": {}, "created": 0.0}
    state.add_image("abc1" + "0" * 60, ["localhost/one:latest"], record)
    state.add_image("abc2" + "0" * 60, ["localhost/two:latest"], record)
    with pytest.raises(NoSuchImageError, match="ambiguous"):
        images.get("abc")
    assert images.get("abc2").names == ["localhost/two:latest"]
    with pytest.raises(NoSuchImageError):
        images.get("ab")  # shorter than 3 characters: never a prefix lookup


def test_remove(tmp_path: Path, images: ImageStore, state: StateStore) -> None:
    image = images.import_image(make_tar(tmp_path / "a.tar", basic_entries()), "gone")
    asked: list[str] = []

    def users(image_id: str) -> list[str]:
        asked.append(image_id)
        return []

    assert images.remove("gone", users) == image.id
    assert asked == [image.id]
    assert not image.rootfs.exists()
    assert_nothing_left(tmp_path / "root", state)
    with pytest.raises(NoSuchImageError, match="gone: image not known"):
        images.get("gone")
    with pytest.raises(NoSuchImageError, match="gone: image not known"):
        images.remove("gone", users)


def test_remove_in_use_is_refused(tmp_path: Path, images: ImageStore) -> None:
    image = images.import_image(make_tar(tmp_path / "a.tar", basic_entries()), "busy")
    with pytest.raises(ImageInUseError, match="web, db"):
        images.remove("busy", lambda _id: ["web", "db"])
    assert images.get("busy").id == image.id
    assert (image.rootfs / "bin/hello").exists()


def test_reimport_after_remove(tmp_path: Path, images: ImageStore) -> None:
    archive = make_tar(tmp_path / "a.tar", basic_entries())
    first = images.import_image(archive, "x")
    images.remove(first.id, lambda _id: [])
    second = images.import_image(archive, "x")
    assert second.id == first.id and (second.rootfs / "bin/hello").exists()


# -- refusals: nothing may be left behind -------------------------------------------------

UNSAFE: list[tuple[str, list[Entry], str]] = [
    ("dotdot", [("bin", "dir", None), ("../escaped", "file", b"x")], "'../escaped'.*'\\.\\.'"),
    ("dotdot-inner", [("a/../../escaped", "file", b"x")], "a/../../escaped"),
    ("absolute", [("/escaped", "file", b"x")], "'/escaped' has an absolute path"),
    ("abs-symlink", [("bin", "dir", None), ("bin/sh", "sym", "/bin/busybox")],
     "'bin/sh' is a symlink to the absolute path '/bin/busybox'"),
    ("escape-symlink", [("etc", "dir", None), ("etc/x", "sym", "../../escaped")],
     "'etc/x' is a symlink that points outside the image"),
    ("escape-symlink-top", [("up", "sym", "..")], "'up' is a symlink that points outside"),
    ("climb-after-name", [("sub", "dir", None), ("sub/up", "sym", ".."),
                          ("x", "sym", "sub/up/../..")], "'x' is a symlink whose target"),
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
    ("device", [("dev", "dir", None), ("dev/null", "chr", None)],
     "'dev/null' is a character device node"),
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


def test_bad_paths_refused(tmp_path: Path, images: ImageStore, state: StateStore) -> None:
    with pytest.raises(InvalidArgumentError, match="no such file or directory"):
        images.import_image(tmp_path / "nope.tar", "x")
    (tmp_path / "plain-dir").mkdir()
    with pytest.raises(InvalidArgumentError, match="must be an OCI image layout"):
        images.import_image(tmp_path / "plain-dir", "x")
    with pytest.raises(InvalidArgumentError, match="must be lowercase"):
        images.import_image(make_tar(tmp_path / "ok.tar", basic_entries()), "Bad")
    assert_nothing_left(tmp_path / "root", state)


def test_failed_db_write_leaves_nothing(tmp_path: Path, images: ImageStore, state: StateStore,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(state, "add_image", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        images.import_image(make_tar(tmp_path / "a.tar", basic_entries()), "x")
    monkeypatch.undo()
    assert_nothing_left(tmp_path / "root", state)


def test_stale_staging_is_swept(tmp_path: Path, state: StateStore) -> None:
    import fcntl

    images_dir = tmp_path / "root" / "images"
    dead = images_dir / ".staging-dead"
    (dead / "tree").mkdir(parents=True)
    (dead / ".lock").touch()
    alive = images_dir / ".staging-alive"
    alive.mkdir()
    fd = os.open(alive / ".lock", os.O_CREAT | os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        ImageStore(tmp_path / "root", state)
        assert not dead.exists()
        assert alive.exists()
    finally:
        os.close(fd)


# -- OCI layouts (built with the real umoci) ----------------------------------------------

def umoci(*args: str) -> None:
    assert UMOCI is not None
    subprocess.run([UMOCI, *args], check=True, capture_output=True)


def build_oci_layout(tmp_path: Path, tags: tuple[str, ...] = ("t",),
                     extra: dict[str, str] | None = None) -> Path:
    layout = tmp_path / "layout"
    umoci("init", "--layout", str(layout))
    for tag in tags:
        umoci("new", "--image", f"{layout}:{tag}")
        bundle = tmp_path / f"bundle-{tag}"
        umoci("unpack", "--image", f"{layout}:{tag}", str(bundle))
        rootfs = bundle / "rootfs"
        (rootfs / "etc").mkdir()
        (rootfs / "etc/message").write_text(f"hello from {tag}\n")
        (rootfs / "bin").mkdir()
        os.symlink("../etc/message", rootfs / "bin/msg")
        for rel, target in (extra or {}).items():
            os.symlink(target, rootfs / rel)
        umoci("repack", "--image", f"{layout}:{tag}", str(bundle))
        umoci("config", "--image", f"{layout}:{tag}", "--config.cmd", "cat",
              "--config.cmd", "/etc/message", "--config.env", "FOO=bar",
              "--config.label", f"which={tag}", "--config.workingdir", "/etc",
              "--config.user", "nobody")
        umoci("gc", "--layout", str(layout))
    return layout


def oci_config_digest(layout: Path, tag: str) -> str:
    index = json.loads((layout / "index.json").read_text())
    desc = next(m for m in index["manifests"]
                if m["annotations"]["org.opencontainers.image.ref.name"] == tag)
    manifest = json.loads(
        (layout / "blobs/sha256" / desc["digest"].split(":")[1]).read_text())
    return str(manifest["config"]["digest"].split(":")[1])


@needs_umoci
def test_import_oci_layout_dir(tmp_path: Path, images: ImageStore) -> None:
    layout = build_oci_layout(tmp_path)
    before = {p: p.read_bytes() for p in layout.rglob("*") if p.is_file()}
    image = images.import_image(layout, "quay.io/demo/oci:1")
    assert image.id == oci_config_digest(layout, "t")
    assert (image.rootfs / "etc/message").read_text() == "hello from t\n"
    assert os.readlink(image.rootfs / "bin/msg") == "../etc/message"
    assert image.config["Cmd"] == ["cat", "/etc/message"]
    assert "FOO=bar" in image.config["Env"]
    assert image.config["Labels"] == {"which": "t"}
    assert image.config["WorkingDir"] == "/etc"
    # "nobody" is not in the image's /etc/passwd: a runtime matter, no reason to refuse.
    assert image.config["User"] == "nobody"
    assert image.config["Entrypoint"] is None
    info = image.inspect()
    assert info["Digest"].startswith("sha256:") and info["Digest"][7:] != image.id
    assert len(info["RootFS"]["Layers"]) == 1
    assert info["Architecture"] == host_architecture()  # umoci new records the host's
    # The source layout is untouched and nothing is left in staging.
    assert {p: p.read_bytes() for p in layout.rglob("*") if p.is_file()} == before
    assert [p.name for p in (tmp_path / "root/images").iterdir()] == [image.id]
    # Importing again only adds a name.
    assert images.import_image(layout, "again").id == image.id
    assert images.get(image.id).names == ["localhost/again:latest", "quay.io/demo/oci:1"]


@needs_umoci
def test_import_oci_archive(tmp_path: Path, images: ImageStore) -> None:
    layout = build_oci_layout(tmp_path)
    archive = tmp_path / "image.oci.tar"
    with tarfile.open(archive, "w") as tar:
        for child in sorted(layout.iterdir()):
            tar.add(child, arcname=child.name)
    image = images.import_image(archive, "from-archive")
    assert image.id == oci_config_digest(layout, "t")
    assert (image.rootfs / "etc/message").read_text() == "hello from t\n"
    assert image.config["Cmd"] == ["cat", "/etc/message"]
    assert [p.name for p in (tmp_path / "root/images").iterdir()] == [image.id]


@needs_umoci
def test_import_oci_picks_tag_among_several(tmp_path: Path, images: ImageStore,
                                            state: StateStore) -> None:
    layout = build_oci_layout(tmp_path, tags=("one", "two"))
    with pytest.raises(InvalidArgumentError, match=r"holds 2 images \(one, two\)"):
        images.import_image(layout, "pick")
    assert_nothing_left(tmp_path / "root", state)
    image = images.import_image(layout, "pick:two")
    assert (image.rootfs / "etc/message").read_text() == "hello from two\n"
    assert image.config["Labels"] == {"which": "two"}


@needs_umoci
def test_import_oci_without_ref_name(tmp_path: Path, images: ImageStore) -> None:
    layout = build_oci_layout(tmp_path)
    index = json.loads((layout / "index.json").read_text())
    del index["manifests"][0]["annotations"]
    (layout / "index.json").write_text(json.dumps(index))
    image = images.import_image(layout, "untagged")
    assert (image.rootfs / "etc/message").read_text() == "hello from t\n"


@needs_umoci
def test_import_oci_with_absolute_symlink_refused(tmp_path: Path, images: ImageStore,
                                                  state: StateStore) -> None:
    layout = build_oci_layout(tmp_path, extra={"bin/sh": "/bin/busybox"})
    with pytest.raises(InvalidArgumentError,
                       match="'bin/sh' is a symlink to the absolute path '/bin/busybox'"):
        images.import_image(layout, "abs")
    assert_nothing_left(tmp_path / "root", state)


@needs_umoci
def test_import_oci_broken_layout(tmp_path: Path, images: ImageStore, state: StateStore) -> None:
    layout = build_oci_layout(tmp_path)
    index = json.loads((layout / "index.json").read_text())
    blob = layout / "blobs/sha256" / index["manifests"][0]["digest"].split(":")[1]
    blob.write_text(blob.read_text().replace("schemaVersion", "schemaversion"))
    with pytest.raises(InvalidArgumentError, match="does not match its digest"):
        images.import_image(layout, "tampered")
    index["manifests"][0]["digest"] = "sha256:../../../etc/passwd"
    (layout / "index.json").write_text(json.dumps(index))
    with pytest.raises(InvalidArgumentError, match="malformed digest"):
        images.import_image(layout, "traversal")
    (layout / "index.json").write_text("{not json")
    with pytest.raises(InvalidArgumentError, match="not a valid OCI image layout"):
        images.import_image(layout, "garbage")
    assert_nothing_left(tmp_path / "root", state)


# -- demo image ---------------------------------------------------------------------------

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
    assert [p.name for p in (tmp_path / "root/images").iterdir()] == [first.id]

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
