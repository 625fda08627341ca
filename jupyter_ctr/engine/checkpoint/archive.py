"""Checkpoint archives (podman's ``checkpoint --export`` / ``restore --import``): writing one
from a checkpointed container's files, and reading one that nobody vouches for.

The archive is a tar (gzip by default) of::

    config.dump          format, id, name, hostname, checkpoint time, the container's config
                         and its image's id, names and config
    checkpoint/...       CRIU's images
    ctr.log, artifacts/  the container's log and artifacts
    stats-dump           CRIU's dump statistics (when kept)
    rootfs-diff.tar      files the container added or changed (unless ``ignore_rootfs``)
    deleted.files        JSON list of paths the container deleted (overlay whiteouts)
    image/rootfs.tar     the image's root filesystem (unless ``include_image=False``)
    manifest.json        written last: size and sha256 of every other member

Reading never trusts the archive: it is extracted into a staging directory with the image
store's member checks (no absolute or ``..`` paths, no links leading out, no devices) within
the engine's archive limits; the manifest must be present (a truncated archive has none) and
match every file; config.dump's own fields are checked here (the container config in it is
validated by the Runtime, as for a create).

Limits: the root filesystem diff is written with :mod:`tarfile`, which keeps owners, modes and
times but not extended attributes (file capabilities).

Every function here takes paths and plain values: the verbs (container_checkpoint.py) and
Runtime.import_checkpoint decide what goes where.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import stat
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from ..errors import InvalidArgumentError
from ..images import ArchiveLimits, normalize_reference
from ..images.archive import MemberGuard, extract_tarball, name_parts, sha256_file
from ..staging import staging_dir
from ..storage import find_in_lowers, lower_view, remove_tree

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..images import Image

#: A container's CRIU images: ``<container dir>/checkpoint`` (runc --image-path).
CHECKPOINT_DIR = "checkpoint"
#: dump.log, restore.log, stats-dump, stats-restore: ``<container dir>/criu-work``.
WORK_DIR = "criu-work"
ARCHIVE_FORMAT = "jupyter-ctr-checkpoint"
ARCHIVE_VERSION = 1
MANIFEST = "manifest.json"
#: The image config keys an archive carries (what a restore on another root needs).
IMAGE_CONFIG_KEYS = ("Env", "Cmd", "Entrypoint", "WorkingDir", "User", "Labels")
#: Scratch directories of an export, in the container's directory.
EXPORT_STAGING_PREFIX = ".export-"

_MAX_JSON_BYTES = 4 << 20
_SHA256_HEX = frozenset("0123456789abcdef")


# -- writing ----------------------------------------------------------------------------------
def export_target(target_file: str | os.PathLike[str]) -> Path:
    """The absolute path an archive may be written to; InvalidArgumentError if it cannot."""
    target = Path(os.fspath(target_file)).absolute()
    if target.is_dir():
        raise InvalidArgumentError(f"cannot export the checkpoint to {target}: it is a "
                                   "directory")
    if not target.parent.is_dir():
        raise InvalidArgumentError(f"cannot export the checkpoint to {target}: the directory "
                                   f"{target.parent} does not exist")
    return target


def write_archive(target: Path, *, ctr_id: str, name: str, config: dict[str, Any],
                  checkpointed_at: int, image: Image, ctr_dir: Path, log_path: Path,
                  rootfs_layers: tuple[Path, Sequence[Path]] | None, include_image: bool,
                  compression: str, image_lowers: Sequence[Path] = (),
                  extra_members: Sequence[tuple[str, Path]] = (),
                  extra_dump: dict[str, Any] | None = None) -> int:
    """Write the archive of the checkpoint in ``ctr_dir`` to ``target`` (whole or not at all:
    it is written beside it and renamed); returns its size. ``rootfs_layers`` is the overlay's
    (upper, lower directories top first) for the root filesystem diff, None to leave it out;
    ``image_lowers`` the image's layer directories, top first (default: its rootfs);
    ``extra_members`` more (member name, file) pairs (a timeline snapshot's own diff) and
    ``extra_dump`` more config.dump keys."""
    partial = target.with_name(f".{target.name}.{os.urandom(4).hex()}.partial")
    with staging_dir(ctr_dir, EXPORT_STAGING_PREFIX) as scratch:
        try:
            members: list[tuple[str, Path]] = []
            members += _files_in(ctr_dir / CHECKPOINT_DIR, CHECKPOINT_DIR)
            if log_path.is_file():
                members.append(("ctr.log", log_path))
            members += _files_in(ctr_dir / "artifacts", "artifacts")
            stats_dump = ctr_dir / WORK_DIR / "stats-dump"
            if stats_dump.is_file():
                members.append(("stats-dump", stats_dump))
            if rootfs_layers is not None:
                members += write_rootfs_diff(*rootfs_layers, scratch)
            members += extra_members
            if include_image:
                image_tar = scratch / "image-rootfs.tar"
                with lower_view(image_lowers or [image.rootfs], scratch / "image") as tree:
                    write_tree_tar(tree, image_tar)
                members.append(("image/rootfs.tar", image_tar))
            dump = {
                "format": ARCHIVE_FORMAT, "version": ARCHIVE_VERSION, "id": ctr_id,
                "name": name, "hostname": ctr_id[:12], "checkpointed_at": checkpointed_at,
                "config": config,
                "image": {"id": image.id, "names": list(image.names),
                          "config": {k: image.config.get(k) for k in IMAGE_CONFIG_KEYS}},
                **(extra_dump or {}),
            }
            (scratch / "config.dump").write_text(json.dumps(dump, indent=1))
            members.insert(0, ("config.dump", scratch / "config.dump"))
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            with os.fdopen(fd, "wb") as raw, _tar_writer(raw, compression) as tar:
                files = {arcname: _add_file(tar, arcname, src) for arcname, src in members}
                manifest = json.dumps({"format": ARCHIVE_FORMAT, "version": ARCHIVE_VERSION,
                                       "files": files}).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode, info.mtime = len(manifest), 0o600, int(time.time())
                tar.addfile(info, io.BytesIO(manifest))
            os.replace(partial, target)
            return target.stat().st_size
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
            raise


def _files_in(directory: Path, prefix: str) -> list[tuple[str, Path]]:
    """The regular files directly in ``directory`` (sorted), named ``prefix/NAME``."""
    if not directory.is_dir():
        return []
    return [(f"{prefix}/{p.name}", p) for p in sorted(directory.iterdir())
            if p.is_file() and not p.is_symlink()]


def _tar_writer(fileobj: BinaryIO, compression: str) -> tarfile.TarFile:
    fmt = tarfile.PAX_FORMAT
    compression = compression.lower()
    if compression == "gzip":  # level 1: memory pages are large and compress well anyway
        return tarfile.open(fileobj=fileobj, mode="w:gz", format=fmt, compresslevel=1)
    if compression == "bzip2":
        return tarfile.open(fileobj=fileobj, mode="w:bz2", format=fmt, compresslevel=1)
    if compression == "xz":
        return tarfile.open(fileobj=fileobj, mode="w:xz", format=fmt, preset=1)
    return tarfile.open(fileobj=fileobj, mode="w", format=fmt)


class _HashingReader:
    """A file wrapper that hashes what tarfile reads through it."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.sha = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.sha.update(data)
        return data


def _add_file(tar: tarfile.TarFile, arcname: str, src: Path) -> dict[str, Any]:
    with src.open("rb") as fh:
        st = os.fstat(fh.fileno())
        info = tarfile.TarInfo(arcname)
        info.size, info.mode, info.mtime = st.st_size, 0o600, int(st.st_mtime)
        reader = _HashingReader(fh)
        tar.addfile(info, reader)  # tarfile only calls read()
    return {"size": st.st_size, "sha256": reader.sha.hexdigest()}


def write_rootfs_diff(upper: Path, lowers: Sequence[Path] | Path,
                      scratch: Path) -> list[tuple[str, Path]]:
    """rootfs-diff.tar (what the container added or changed) and deleted.files (overlay
    whiteouts, opaque directories, and lower directories replaced by a non-directory), as
    (member name, file) pairs."""
    entries: list[tuple[str, str]] = []
    deleted: list[str] = []
    for dirpath, dirnames, filenames in os.walk(upper):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, upper)
        for name in sorted(dirnames + filenames):
            full = os.path.join(dirpath, name)
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            st = os.lstat(full)
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                deleted.append("/" + rel)  # a whiteout
                continue
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) or stat.S_ISSOCK(st.st_mode):
                continue  # containers get no devices; sockets are not files to restore
            if stat.S_ISDIR(st.st_mode):
                if _is_opaque(full):
                    deleted.append("/" + rel)
            elif _lower_is_dir(lowers, rel):
                deleted.append("/" + rel)
            entries.append((full, rel))
    out: list[tuple[str, Path]] = []
    if entries:
        with tarfile.open(scratch / "rootfs-diff.tar", "w", format=tarfile.PAX_FORMAT) as tar:
            for full, rel in entries:
                tar.add(full, arcname=rel, recursive=False)
        out.append(("rootfs-diff.tar", scratch / "rootfs-diff.tar"))
    if deleted:
        (scratch / "deleted.files").write_text(json.dumps(deleted))
        out.append(("deleted.files", scratch / "deleted.files"))
    return out


def _lower_is_dir(lowers: Sequence[Path] | Path, rel: str) -> bool:
    """Whether the image shows a directory at ``rel`` (never following a link on the host)."""
    found = find_in_lowers([lowers] if isinstance(lowers, Path) else lowers, rel)
    return found is not None and stat.S_ISDIR(os.lstat(found).st_mode)


def _is_opaque(path: str) -> bool:
    try:
        return os.getxattr(path, "trusted.overlay.opaque", follow_symlinks=False) == b"y"
    except OSError:
        return False


def write_tree_tar(root: Path, out: Path) -> None:
    """A reproducible tar of a directory tree (sorted, GNU format)."""
    with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, root)
            for name in sorted(dirnames + filenames):
                rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                tar.add(os.path.join(dirpath, name), arcname=rel, recursive=False)


def tree_size(root: Path) -> int:
    """The bytes of the files under ``root`` (CRIU's image directory: CheckpointStats)."""
    total = 0
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


# -- reading ----------------------------------------------------------------------------------
@dataclass
class CheckpointArchive:
    """An archive extracted into a staging directory and checked (``read_archive``)."""

    #: What error messages call it (the archive's path).
    origin: str
    #: The staging directory holding its members.
    root: Path
    id: str
    name: str
    #: The container's hostname when it was checkpointed (CRIU restores the UTS namespace).
    hostname: str
    checkpointed_at: int
    #: The archived container config as found: the Runtime validates it, as for a create.
    config: dict[str, Any]
    #: The archived image: id, names (normalized references) and config.
    image: dict[str, Any]
    #: The manifest: member name -> size and sha256.
    files: dict[str, dict[str, Any]]
    #: A timeline snapshot's record (Container.export_snapshot), unchecked; None otherwise.
    snapshot: dict[str, Any] | None = None

    @property
    def has_checkpoint(self) -> bool:
        """Whether it holds CRIU's images (not so a filesystem snapshot's)."""
        return f"{CHECKPOINT_DIR}/inventory.img" in self.files

    @property
    def image_tarball(self) -> Path | None:
        """The archived image root filesystem (``image/rootfs.tar``), if it was included."""
        return self.root / "image" / "rootfs.tar" if "image/rootfs.tar" in self.files else None

    @property
    def image_tarball_id(self) -> str:
        """The id an import of ``image_tarball`` gets: the sha256 of the tarball."""
        return str(self.files["image/rootfs.tar"]["sha256"])

    @property
    def has_rootfs_diff(self) -> bool:
        """Whether the archive holds root filesystem changes (rootfs-diff.tar, deleted.files)."""
        return (self.root / "rootfs-diff.tar").is_file() or (
            self.root / "deleted.files").is_file()


class RootfsDiffGuard(MemberGuard):
    """The image store's member checks, except that symlinks may point anywhere: in a
    container's own root filesystem ``/usr/bin/x -> /bin/busybox`` is normal, and is only ever
    resolved inside the container. Nothing is ever written through a symlink (the parent
    checks)."""

    def __call__(self, member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo:
        if member.issym():
            super().__call__(member.replace(linkname=".", deep=False), dest)
            return member
        return super().__call__(member, dest)


def read_archive(path: Path, staging: Path, origin: str,
                 limits: ArchiveLimits | None = None,
                 require_checkpoint: bool = True) -> CheckpointArchive:
    """Extract ``path`` into ``staging`` safely within ``limits`` (no sparse members: our
    archives have none, and hashing gigabytes of holes is slow), check the manifest against
    every file, and check config.dump's own fields. InvalidArgumentError says what is wrong.
    Without ``require_checkpoint`` it may hold no CRIU images (a filesystem snapshot's,
    Container.export_snapshot)."""
    limits = (limits or ArchiveLimits()).replace(sparse=False)
    if extract_tarball(path, staging, origin, limits=limits) == 0:
        raise InvalidArgumentError(f"{origin} is an empty archive, not a checkpoint")
    manifest_path = staging / MANIFEST
    if manifest_path.is_symlink() or not manifest_path.is_file():
        raise InvalidArgumentError(
            f"{origin} is not a complete checkpoint archive: {MANIFEST}, its last member, is "
            "missing (the archive is truncated, or was not written by checkpoint(target_file))")
    manifest = _read_json(manifest_path, MANIFEST, origin)
    if manifest.get("format") != ARCHIVE_FORMAT:
        raise InvalidArgumentError(f"{origin} is not a {ARCHIVE_FORMAT} archive")
    if manifest.get("version") != ARCHIVE_VERSION:
        raise InvalidArgumentError(f"{origin} has checkpoint archive version "
                                   f"{manifest.get('version')!r}; this engine reads version "
                                   f"{ARCHIVE_VERSION}")
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(
            isinstance(k, str) and isinstance(v, dict) and isinstance(v.get("size"), int)
            and isinstance(v.get("sha256"), str) for k, v in files.items()):
        raise InvalidArgumentError(f"{origin}: {MANIFEST} has no valid file list")
    _verify_files(staging, files, origin)
    if "config.dump" not in files or (require_checkpoint and
                                      f"{CHECKPOINT_DIR}/inventory.img" not in files):
        raise InvalidArgumentError(f"{origin} holds no complete checkpoint: config.dump or "
                                   f"{CHECKPOINT_DIR}/inventory.img is missing")
    doc = _read_json(staging / "config.dump", "config.dump", origin)
    if doc.get("format") != ARCHIVE_FORMAT or doc.get("version") != ARCHIVE_VERSION:
        raise InvalidArgumentError(f"{origin}: config.dump is not a {ARCHIVE_FORMAT} "
                                   f"version {ARCHIVE_VERSION} document")
    ctr_id, name, hostname = doc.get("id"), doc.get("name"), doc.get("hostname")
    if not isinstance(ctr_id, str) or not is_sha256_hex(ctr_id):
        raise InvalidArgumentError(f"{origin}: config.dump has an invalid container id")
    if not isinstance(name, str):
        raise InvalidArgumentError(f"{origin}: config.dump has an invalid container name")
    if not isinstance(hostname, str) or not 0 < len(hostname) <= 64 or not all(
            c.isalnum() or c in "-." for c in hostname):
        raise InvalidArgumentError(f"{origin}: config.dump has an invalid hostname")
    checkpointed_at = doc.get("checkpointed_at")
    if not isinstance(checkpointed_at, int) or checkpointed_at < 0:
        raise InvalidArgumentError(f"{origin}: config.dump has an invalid checkpoint time")
    config = doc.get("config")
    if not isinstance(config, dict):
        raise InvalidArgumentError(f"{origin}: config.dump has no container config")
    return CheckpointArchive(origin=origin, root=staging, id=ctr_id, name=name,
                             hostname=hostname, checkpointed_at=checkpointed_at, config=config,
                             image=_validated_image(doc.get("image"), origin), files=files,
                             snapshot=doc["snapshot"] if isinstance(doc.get("snapshot"), dict)
                             else None)


def _verify_files(root: Path, files: dict[str, dict[str, Any]], origin: str) -> None:
    """Every extracted file is in the manifest with its size and sha256, and vice versa."""
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            st = os.lstat(full)
            if stat.S_ISDIR(st.st_mode):
                continue
            if rel == MANIFEST:
                continue
            if not stat.S_ISREG(st.st_mode):
                raise InvalidArgumentError(f"refusing to import {origin}: member {rel!r} is "
                                           "not a regular file; checkpoint archives hold none")
            want = files.get(rel)
            if want is None:
                raise InvalidArgumentError(f"refusing to import {origin}: member {rel!r} is "
                                           f"not listed in its {MANIFEST}")
            if st.st_size != want["size"] or sha256_file(Path(full)) != want["sha256"]:
                raise InvalidArgumentError(f"{origin} is corrupt: {rel!r} does not match the "
                                           f"size and checksum in its {MANIFEST}")
            seen.add(rel)
    missing = sorted(set(files) - seen)
    if missing:
        raise InvalidArgumentError(f"{origin} is truncated or incomplete: {len(missing)} "
                                   f"file(s) of its {MANIFEST} are missing, e.g. {missing[0]!r}")


def _validated_image(raw: object, origin: str) -> dict[str, Any]:
    if not isinstance(raw, dict) or not is_sha256_hex(raw.get("id")):
        raise InvalidArgumentError(f"{origin}: config.dump has no valid image id")
    names = []
    for name in raw.get("names") or []:
        with contextlib.suppress(InvalidArgumentError):
            names.append(normalize_reference(name) if isinstance(name, str) else "")
    config = raw.get("config") or {}
    if not isinstance(config, dict):
        raise InvalidArgumentError(f"{origin}: config.dump has an invalid image config")
    return {"id": raw["id"], "names": [n for n in names if n],
            "config": {k: config[k] for k in IMAGE_CONFIG_KEYS if config.get(k) is not None}}


def _read_json(path: Path, what: str, origin: str) -> dict[str, Any]:
    with path.open("rb") as fh:
        data = fh.read(_MAX_JSON_BYTES + 1)
    if len(data) > _MAX_JSON_BYTES:
        raise InvalidArgumentError(f"{origin}: {what} is too big")
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise InvalidArgumentError(f"{origin}: {what} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidArgumentError(f"{origin}: {what} is not a JSON object")
    return doc


def is_sha256_hex(value: object) -> bool:
    """Whether ``value`` is 64 lowercase hex digits (a container or image id)."""
    return isinstance(value, str) and len(value) == 64 and set(value) <= _SHA256_HEX


# -- installing into a container ------------------------------------------------------------
def install_checkpoint(archive: CheckpointArchive, ctr_dir: Path, log_path: Path) -> None:
    """Move the archive's checkpoint, log, artifacts and dump statistics into the container
    directory ``ctr_dir`` (from the staging directory: same filesystem, renames only)."""
    root = archive.root
    os.rename(root / CHECKPOINT_DIR, ctr_dir / CHECKPOINT_DIR)
    if (root / "ctr.log").is_file():
        os.rename(root / "ctr.log", log_path)
    if (root / "artifacts").is_dir():
        os.rename(root / "artifacts", ctr_dir / "artifacts")
    if (root / "stats-dump").is_file():
        (ctr_dir / WORK_DIR).mkdir(mode=0o700, exist_ok=True)
        os.rename(root / "stats-dump", ctr_dir / WORK_DIR / "stats-dump")


def apply_rootfs_diff(archive: CheckpointArchive, rootfs: Path,
                      limits: ArchiveLimits | None = None) -> None:
    """Delete what the container had deleted, then extract its changed files into the
    mounted root filesystem ``rootfs`` (every member checked, within ``limits``)."""
    diff, deleted = archive.root / "rootfs-diff.tar", archive.root / "deleted.files"
    if deleted.is_file():
        entries = json.loads(deleted.read_text())
        if not isinstance(entries, list):
            raise InvalidArgumentError(f"{archive.origin}: deleted.files is not a list of "
                                       "paths")
        for entry in entries:
            remove_in_rootfs(rootfs, entry, archive.origin)
    if diff.is_file():
        what = f"{archive.origin} (rootfs-diff.tar)"
        extract_tarball(diff, rootfs, what, guard=RootfsDiffGuard(what, limits))


def remove_in_rootfs(rootfs: Path, entry: object, origin: str) -> None:
    """Delete ``entry`` (a path inside the container) without following any symlink."""
    parts = (name_parts(entry.lstrip("/")) if isinstance(entry, str)
             and entry.startswith("/") and "\0" not in entry else None)
    if not parts:
        raise InvalidArgumentError(f"refusing to import {origin}: deleted.files lists "
                                   f"{entry!r}, which is not a path inside the container")
    current = rootfs
    for part in parts[:-1]:
        current = current / part
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            return
        if not stat.S_ISDIR(st.st_mode):
            raise InvalidArgumentError(f"refusing to import {origin}: deleted.files entry "
                                       f"{entry!r} goes through {part!r}, not a directory")
    target = current / parts[-1]
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        remove_tree(target)
    else:
        target.unlink()
