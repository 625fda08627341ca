"""Checkpoint archives (engine/checkpoint/archive.py) without CRIU: written from a fake
container directory, read back, and every refusal of the reader, one by one."""

from __future__ import annotations

import io
import json
import os
import stat
import tarfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from jupyter_ctr.engine.checkpoint import archive as archive_mod
from jupyter_ctr.engine.checkpoint.archive import (
    CHECKPOINT_DIR,
    MANIFEST,
    WORK_DIR,
    CheckpointArchive,
    apply_rootfs_diff,
    export_target,
    install_checkpoint,
    read_archive,
    remove_in_rootfs,
    write_archive,
)
from jupyter_ctr.engine.errors import InvalidArgumentError
from jupyter_ctr.engine.images import ArchiveLimits

CTR_ID = "c0ffee" + "0" * 58
IMAGE_ID = "1" * 64


@pytest.fixture
def source(tmp_path: Path) -> dict[str, Any]:
    """What write_archive reads: a container directory with a checkpoint, a log, artifacts
    and CRIU's dump stats; an image; overlay layers with changes and a deletion."""
    ctr_dir = tmp_path / "ctr"
    (ctr_dir / CHECKPOINT_DIR).mkdir(parents=True)
    (ctr_dir / CHECKPOINT_DIR / "inventory.img").write_bytes(b"inventory")
    (ctr_dir / CHECKPOINT_DIR / "pages-1.img").write_bytes(os.urandom(8192))
    (ctr_dir / "artifacts").mkdir()
    (ctr_dir / "artifacts" / "notes").write_bytes(b"artifact")
    (ctr_dir / WORK_DIR).mkdir()
    (ctr_dir / WORK_DIR / "stats-dump").write_bytes(b"stats")
    log = ctr_dir / "ctr.log"
    log.write_text("2026-01-01T00:00:00.000000000Z stdout F hello\n")
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    for d in (lower / "etc", lower / "gone-dir", upper / "etc", upper / "new"):
        d.mkdir(parents=True)
    (lower / "etc" / "group").write_text("root:x:0:\n")
    (lower / "etc" / "hosts").write_text("old\n")
    (lower / "gone-dir" / "f").write_text("x")
    (upper / "etc" / "hosts").write_text("changed\n")
    (upper / "new" / "file").write_text("added\n")
    os.symlink("/bin/busybox", upper / "new" / "tool")  # absolute inside the container
    os.mknod(upper / "etc" / "group", stat.S_IFCHR | 0o600, 0)  # an overlay whiteout
    image_root = tmp_path / "image-rootfs"
    (image_root / "bin").mkdir(parents=True)
    (image_root / "bin" / "busybox").write_bytes(b"\x7fELF")
    image = SimpleNamespace(id=IMAGE_ID, names=["localhost/busybox:latest"], rootfs=image_root,
                            config={"Cmd": ["sh"], "Env": ["PATH=/bin"]})
    config = {"command": ["sleep", "1000"], "env": ["PATH=/bin"], "workdir": "/"}
    return {"ctr_id": CTR_ID, "name": "archived", "config": config, "checkpointed_at": 42,
            "image": image, "ctr_dir": ctr_dir, "log_path": log,
            "rootfs_layers": (upper, lower), "include_image": True, "compression": "gzip"}


def export(source: dict[str, Any], target: Path, **changes: Any) -> Path:
    write_archive(target, **{**source, **changes})
    return target


@pytest.fixture
def plain(source: dict[str, Any], tmp_path: Path) -> Path:
    """An uncompressed archive of ``source``, to rewrite member by member."""
    return export(source, tmp_path / "plain.tar", compression="none")


def members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tf:
        return {m.name: tf.extractfile(m).read() for m in tf.getmembers()  # type: ignore[union-attr]
                if m.isfile()}


def rewrite(src: Path, dest: Path, edit: dict[str, bytes | None],
            reseal: bool = True) -> Path:
    """``src`` with members replaced (None: dropped) or added; with ``reseal`` the manifest
    is recomputed, so only the edit itself is wrong (without: the manifest is the old one)."""
    import hashlib

    files = members(src)
    for name, data in edit.items():
        if data is None:
            files.pop(name, None)
        else:
            files[name] = data
    if reseal and MANIFEST in files and MANIFEST not in edit:
        doc = json.loads(files[MANIFEST])
        doc["files"] = {n: {"size": len(d), "sha256": hashlib.sha256(d).hexdigest()}
                        for n, d in files.items() if n != MANIFEST}
        files[MANIFEST] = json.dumps(doc).encode()
    with tarfile.open(dest, "w") as tf:
        for name, data in sorted(files.items(), key=lambda item: item[0] == MANIFEST):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o600
            tf.addfile(info, io.BytesIO(data))
    return dest


def read(path: Path, tmp_path: Path, limits: ArchiveLimits | None = None) -> CheckpointArchive:
    staging = tmp_path / f"staging-{os.urandom(3).hex()}"
    staging.mkdir()
    return read_archive(path, staging, str(path), limits)


def dump_with(plain: Path, **changes: Any) -> bytes:
    doc = json.loads(members(plain)["config.dump"])
    doc.update(changes)
    return json.dumps(doc).encode()


# -- a round trip ---------------------------------------------------------------------------
@pytest.mark.parametrize("compression", ["gzip", "none", "bzip2", "xz"])
def test_write_then_read(source: dict[str, Any], tmp_path: Path, compression: str) -> None:
    target = tmp_path / f"out.{compression}"
    size = write_archive(target, **{**source, "compression": compression})
    assert size == target.stat().st_size > 0
    assert not [p for p in target.parent.iterdir() if p.name.endswith(".partial")]
    assert not [p for p in source["ctr_dir"].iterdir() if p.name.startswith(".export-")]
    info = read(target, tmp_path)
    assert (info.id, info.name, info.hostname, info.checkpointed_at) == \
        (CTR_ID, "archived", CTR_ID[:12], 42)
    assert info.config == source["config"]
    assert info.image == {"id": IMAGE_ID, "names": ["localhost/busybox:latest"],
                          "config": {"Cmd": ["sh"], "Env": ["PATH=/bin"]}}
    assert info.has_rootfs_diff and info.image_tarball is not None
    assert set(info.files) >= {"config.dump", "checkpoint/inventory.img", "ctr.log",
                               "artifacts/notes", "stats-dump", "rootfs-diff.tar",
                               "deleted.files", "image/rootfs.tar"}


def test_archive_without_rootfs_or_image(source: dict[str, Any], tmp_path: Path) -> None:
    info = read(export(source, tmp_path / "bare.tar.gz", rootfs_layers=None,
                       include_image=False), tmp_path)
    assert not info.has_rootfs_diff and info.image_tarball is None
    assert "rootfs-diff.tar" not in info.files and "image/rootfs.tar" not in info.files


def test_install_and_apply_the_rootfs_diff(source: dict[str, Any], tmp_path: Path) -> None:
    info = read(export(source, tmp_path / "a.tar.gz"), tmp_path)
    ctr_dir = tmp_path / "new-ctr"
    ctr_dir.mkdir()
    install_checkpoint(info, ctr_dir, ctr_dir / "ctr.log")
    assert (ctr_dir / CHECKPOINT_DIR / "inventory.img").read_bytes() == b"inventory"
    assert (ctr_dir / "artifacts" / "notes").read_bytes() == b"artifact"
    assert (ctr_dir / WORK_DIR / "stats-dump").read_bytes() == b"stats"
    assert "hello" in (ctr_dir / "ctr.log").read_text()
    rootfs = tmp_path / "rootfs"  # what the new container's overlay shows: the image's files
    (rootfs / "etc").mkdir(parents=True)
    (rootfs / "etc" / "group").write_text("root:x:0:\n")
    (rootfs / "etc" / "hosts").write_text("old\n")
    apply_rootfs_diff(info, rootfs, ArchiveLimits())
    assert not (rootfs / "etc" / "group").exists()
    assert (rootfs / "etc" / "hosts").read_text() == "changed\n"
    assert (rootfs / "new" / "file").read_text() == "added\n"
    assert os.readlink(rootfs / "new" / "tool") == "/bin/busybox"


def test_export_target(tmp_path: Path) -> None:
    assert export_target(tmp_path / "x.tar") == tmp_path / "x.tar"
    with pytest.raises(InvalidArgumentError, match="it is a directory"):
        export_target(tmp_path)
    with pytest.raises(InvalidArgumentError, match="does not exist"):
        export_target(tmp_path / "missing" / "x.tar")


def test_failed_export_leaves_nothing(source: dict[str, Any], tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure while the tar is written (a disk full, a vanished file) leaves neither a
    partial archive beside the target nor the scratch directory."""
    real = archive_mod._add_file

    def add_file(tar: tarfile.TarFile, arcname: str, src: Path) -> dict[str, Any]:
        if arcname == "ctr.log":
            raise OSError(28, "No space left on device")
        return real(tar, arcname, src)

    monkeypatch.setattr(archive_mod, "_add_file", add_file)
    target = tmp_path / "out.tar"
    with pytest.raises(OSError, match="No space left"):
        write_archive(target, **source)
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.tar")] == []
    assert not [p for p in source["ctr_dir"].iterdir() if p.name.startswith(".export-")]


# -- the reader's refusals ------------------------------------------------------------------
def test_refuses_an_empty_archive(tmp_path: Path) -> None:
    empty = tmp_path / "empty.tar"
    tarfile.open(empty, "w").close()
    with pytest.raises(InvalidArgumentError, match="empty archive"):
        read(empty, tmp_path)


@pytest.mark.parametrize("edit,reseal,match", [
    ({MANIFEST: None}, True, "not a complete checkpoint archive.*truncated"),
    ({MANIFEST: b"[1, 2]"}, True, "manifest.json is not a JSON object"),
    ({MANIFEST: b"{not json"}, True, "manifest.json is not valid JSON"),
    ({MANIFEST: json.dumps({"format": "other", "version": 1}).encode()}, True,
     "is not a jupyter-ctr-checkpoint archive"),
    ({MANIFEST: json.dumps({"format": "jupyter-ctr-checkpoint", "version": 2}).encode()},
     True, "archive version 2; this engine reads version 1"),
    ({MANIFEST: json.dumps({"format": "jupyter-ctr-checkpoint", "version": 1,
                            "files": {"ctr.log": {"size": "1"}}}).encode()}, True,
     "has no valid file list"),
    ({"extra": b"smuggled"}, False, "'extra' is not listed"),
    ({"ctr.log": b"tampered"}, False, "is corrupt: 'ctr.log'"),
    ({"ctr.log": None}, False, "truncated or incomplete: 1 file"),
    ({"checkpoint/inventory.img": None}, True, "holds no complete checkpoint"),
    ({"config.dump": None}, True, "holds no complete checkpoint"),
], ids=["no-manifest", "manifest-list", "manifest-garbage", "format", "version", "file-list",
        "unlisted", "corrupt", "missing-file", "no-inventory", "no-config"])
def test_refuses_bad_manifests(plain: Path, tmp_path: Path, edit: dict[str, bytes | None],
                               reseal: bool, match: str) -> None:
    with pytest.raises(InvalidArgumentError, match=match):
        read(rewrite(plain, tmp_path / "bad.tar", edit, reseal), tmp_path)


@pytest.mark.parametrize("changes,match", [
    ({"format": "other"}, "config.dump is not a jupyter-ctr-checkpoint version 1 document"),
    ({"version": 2}, "config.dump is not a jupyter-ctr-checkpoint version 1 document"),
    ({"id": "not-hex"}, "invalid container id"),
    ({"id": "A" * 64}, "invalid container id"),
    ({"name": 5}, "invalid container name"),
    ({"hostname": ""}, "invalid hostname"),
    ({"hostname": "a" * 65}, "invalid hostname"),
    ({"hostname": "bad/host"}, "invalid hostname"),
    ({"checkpointed_at": -1}, "invalid checkpoint time"),
    ({"checkpointed_at": "now"}, "invalid checkpoint time"),
    ({"config": ["sleep"]}, "has no container config"),
    ({"image": {"id": "short"}}, "no valid image id"),
    ({"image": {"id": IMAGE_ID, "config": ["Cmd"]}}, "invalid image config"),
], ids=lambda v: str(v)[:30])
def test_refuses_bad_config_dumps(plain: Path, tmp_path: Path, changes: dict[str, Any],
                                  match: str) -> None:
    bad = rewrite(plain, tmp_path / "bad.tar", {"config.dump": dump_with(plain, **changes)})
    with pytest.raises(InvalidArgumentError, match=match):
        read(bad, tmp_path)


def test_config_dump_must_be_a_small_json_object(plain: Path, tmp_path: Path) -> None:
    for data, match in [(b"\x00garbage", "config.dump is not valid JSON"),
                        (b"[]", "config.dump is not a JSON object"),
                        (b" " * (4 << 20) + b"{}", "config.dump is too big")]:
        with pytest.raises(InvalidArgumentError, match=match):
            read(rewrite(plain, tmp_path / "bad.tar", {"config.dump": data}), tmp_path)


def test_image_names_are_normalized_or_dropped(plain: Path, tmp_path: Path) -> None:
    image = {"id": IMAGE_ID, "names": ["busybox", "Not A Name!", 7],
             "config": {"Cmd": ["sh"], "Secret": "dropped", "Env": None}}
    info = read(rewrite(plain, tmp_path / "n.tar",
                        {"config.dump": dump_with(plain, image=image)}), tmp_path)
    assert info.image == {"id": IMAGE_ID, "names": ["localhost/busybox:latest"],
                          "config": {"Cmd": ["sh"]}}


def test_refuses_members_that_are_not_files(plain: Path, tmp_path: Path) -> None:
    """A symlink that stays inside passes the member checks, but a checkpoint archive holds
    regular files only."""
    bad = tmp_path / "link.tar"
    with tarfile.open(plain) as tin, tarfile.open(bad, "w") as tout:
        for member in tin.getmembers():
            if member.name == MANIFEST:
                link = tarfile.TarInfo("checkpoint/alias.img")
                link.type, link.linkname = tarfile.SYMTYPE, "inventory.img"
                tout.addfile(link)
            tout.addfile(member, tin.extractfile(member))
    with pytest.raises(InvalidArgumentError, match="'checkpoint/alias.img' is not a regular"):
        read(bad, tmp_path)


def test_limits_apply_and_sparse_members_are_refused(plain: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="members"):
        read(plain, tmp_path, ArchiveLimits(max_members=2))
    from tests import archives

    sparse = archives.sparse(tmp_path / "sparse.tar", 1 << 20)
    with pytest.raises(InvalidArgumentError, match="is a sparse file"):
        read(sparse, tmp_path, ArchiveLimits(sparse=True))  # never allowed for checkpoints


# -- deleted.files ------------------------------------------------------------------------
@pytest.mark.parametrize("entry", ["etc/group", "/../etc/passwd", "/etc/\0x", "/", 5,
                                   "/a/../../b"])
def test_deleted_entries_must_be_paths_inside(tmp_path: Path, entry: object) -> None:
    with pytest.raises(InvalidArgumentError, match="not a path inside the container"):
        remove_in_rootfs(tmp_path, entry, "archive.tar")


def test_deleted_entries_never_follow_symlinks(tmp_path: Path) -> None:
    rootfs, outside = tmp_path / "rootfs", tmp_path / "outside"
    rootfs.mkdir()
    outside.mkdir()
    (outside / "precious").write_text("keep")
    (rootfs / "link").symlink_to(outside)
    with pytest.raises(InvalidArgumentError, match="goes through 'link', not a directory"):
        remove_in_rootfs(rootfs, "/link/precious", "archive.tar")
    assert (outside / "precious").exists()
    remove_in_rootfs(rootfs, "/link", "archive.tar")  # the link itself goes
    assert not (rootfs / "link").is_symlink() and (outside / "precious").exists()
    (rootfs / "dir" / "sub").mkdir(parents=True)
    remove_in_rootfs(rootfs, "/dir", "archive.tar")
    assert not (rootfs / "dir").exists()
    remove_in_rootfs(rootfs, "/missing/deeper", "archive.tar")  # gone already: fine


def test_deleted_files_must_be_a_list(plain: Path, tmp_path: Path) -> None:
    info = read(rewrite(plain, tmp_path / "d.tar", {"deleted.files": b'{"/etc": 1}'}),
                tmp_path)
    with pytest.raises(InvalidArgumentError, match="deleted.files is not a list"):
        apply_rootfs_diff(info, tmp_path / "rootfs")


def test_rootfs_diff_may_not_write_outside(plain: Path, tmp_path: Path) -> None:
    """Symlinks in the diff may point anywhere (they resolve inside the container), but
    nothing is written through one."""
    diff = io.BytesIO()
    with tarfile.open(fileobj=diff, mode="w") as tf:
        link = tarfile.TarInfo("escape")
        link.type, link.linkname = tarfile.SYMTYPE, str(tmp_path / "outside")
        tf.addfile(link)
        evil = tarfile.TarInfo("escape/owned")
        evil.size = 4
        tf.addfile(evil, io.BytesIO(b"evil"))
    (tmp_path / "outside").mkdir()
    info = read(rewrite(plain, tmp_path / "e.tar", {"rootfs-diff.tar": diff.getvalue()}),
                tmp_path)
    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    with pytest.raises(InvalidArgumentError, match="symlink"):
        apply_rootfs_diff(info, rootfs)
    assert os.listdir(tmp_path / "outside") == []
