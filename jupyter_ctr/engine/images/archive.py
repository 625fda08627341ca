"""Safe extraction of untrusted tar archives: image tarballs, OCI archives, checkpoint archives.

Every member is checked just before it is written: no absolute or ``..`` paths, no writing
through symlinks, symlinks only relative and inside the tree, hardlinks only to regular files
extracted earlier, no device nodes. A finished rootfs is scanned again with the same symlink
rules (``scan_rootfs``; this also covers what umoci unpacked), so code that resolves paths
inside a rootfs on the host can never be led outside it.

Limits (``ArchiveLimits``, from EngineConfig ``archive_max_member_size``, ``archive_max_size``
and ``archive_max_members``) are checked from each member's header before any of its bytes is
written: its size (a sparse member counts at its full size), the running total, the count, and
the free space of the engine's file system. pax and GNU long-name headers, which tarfile reads
into memory, are bounded too, and so is the data after the end of the archive (a gzip stream
can go on inflating zeros after it).

Only imports and restores load this module (with tarfile and the decompressors).
"""

from __future__ import annotations

import hashlib
import lzma
import os
import stat
import tarfile
import zlib
from pathlib import Path

from ..errors import InvalidArgumentError
from .records import ArchiveLimits

#: Bytes after the end-of-archive blocks (tar pads to its record size: 10 kB by default).
MAX_TRAILING = 16 << 20
#: pax and GNU long-name/long-link headers: read into memory by tarfile.
_META_TYPES = (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE,
               tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK)
_MAX_META_HEADER = 1 << 20
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
COMPRESSION_MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"))


# -- path safety --------------------------------------------------------------------------

def name_parts(name: str) -> list[str] | None:
    """Components of a relative archive path, or None if it is absolute or has ``..``."""
    if name.startswith("/"):
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        return None
    return parts


def symlink_problem(link_parts: list[str], target: str) -> str | None:
    """Why a symlink at ``link_parts`` pointing at ``target`` is unsafe, or None.

    A target must be relative, and normalised: zero or more leading ``..`` (no more than the
    link's depth), then names only. A ``..`` after a name could climb out of the image through
    another symlink (``sub/uplink/../..``) even when it looks harmless lexically.
    """
    if not target:
        return "is a symlink with an empty target"
    if target.startswith("/"):
        return f"is a symlink to the absolute path {target!r}"
    ups, seen_name = 0, False
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if seen_name:
                return (f"is a symlink whose target {target!r} climbs with '..' after a name, "
                        "which could lead out of the image")
            ups += 1
        else:
            seen_name = True
    if ups > len(link_parts) - 1:
        return f"is a symlink that points outside the image ({target!r})"
    return None


def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def size_text(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.3g} {unit}"
    return f"{n} bytes"


class MemberGuard:
    """tarfile ``filter``: validates each member just before tarfile writes it.

    Called in archive order, so the staging tree holds exactly the earlier members; checks
    against it catch writes through symlinks and hardlinks to paths not extracted yet. The
    limits (size from the header, sparse maps included, running total, count, free space)
    are checked first, so a refused member costs nothing but its header.
    """

    def __init__(self, origin: str, limits: ArchiveLimits | None = None) -> None:
        self.origin = origin
        self.limits = limits or ArchiveLimits()
        self.count = 0
        self.members = 0
        self.total = 0
        self.free: int | None = None

    def refuse(self, name: str, reason: str) -> InvalidArgumentError:
        return InvalidArgumentError(f"refusing to import {self.origin}: member {name!r} {reason}")

    def check_limits(self, member: tarfile.TarInfo, dest: str) -> None:
        lim = self.limits
        self.members += 1
        if self.members > lim.max_members:
            raise InvalidArgumentError(
                f"refusing to import {self.origin}: it has more than {lim.max_members} members "
                "(the archive_max_members limit)")
        if member.sparse is not None and not lim.sparse:
            raise self.refuse(member.name, "is a sparse file; these archives hold none")
        size = member.size if member.isreg() else 0
        if size > lim.max_member_size:
            raise self.refuse(member.name, f"is {size_text(size)}, more than the "
                              f"{size_text(lim.max_member_size)} allowed for one member "
                              "(the archive_max_member_size limit)")
        self.total += size
        if self.total > lim.max_size:
            raise InvalidArgumentError(
                f"refusing to import {self.origin}: its members add up to more than "
                f"{size_text(lim.max_size)} (the archive_max_size limit)")
        if self.free is None:
            st = os.statvfs(dest)
            self.free = st.f_bavail * st.f_frsize
        if self.total > self.free:
            raise InvalidArgumentError(
                f"cannot import {self.origin}: its members need more than the "
                f"{size_text(self.free)} free on the engine's file system")

    def _check_parents(self, name: str, parts: list[str], dest: str, what: str) -> None:
        for i in range(1, len(parts)):
            prefix = "/".join(parts[:i])
            st = _lstat(os.path.join(dest, prefix))
            if st is None:
                return
            if stat.S_ISLNK(st.st_mode):
                raise self.refuse(name, f"{what} through the symlink {prefix!r}")
            if not stat.S_ISDIR(st.st_mode):
                raise self.refuse(name, f"{what} below {prefix!r}, which is not a directory")

    def __call__(self, member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo:
        self.check_limits(member, dest)
        name = member.name
        parts = name_parts(name)
        if parts is None:
            why = "has an absolute path" if name.startswith("/") else "has a '..' component"
            raise self.refuse(name, why)
        if member.ischr() or member.isblk():
            kind = "character" if member.ischr() else "block"
            raise self.refuse(name, f"is a {kind} device node; images may not contain devices")
        if not (member.isreg() or member.isdir() or member.issym() or member.islnk()
                or member.isfifo()):
            raise self.refuse(name, f"has the unsupported tar type {member.type!r}")
        if not parts:
            if not member.isdir():
                raise self.refuse(name, "would replace the image root with a non-directory")
            return member
        self._check_parents(name, parts, dest, "would be written")
        if member.issym():
            problem = symlink_problem(parts, member.linkname)
            if problem:
                raise self.refuse(name, problem)
        elif member.islnk():
            link_parts = name_parts(member.linkname)
            if link_parts is None or not link_parts:
                raise self.refuse(
                    name, f"is a hardlink to {member.linkname!r}, which is outside the image")
            self._check_parents(name, link_parts, dest, "is a hardlink reaching")
            st = _lstat(os.path.join(dest, *link_parts))
            if link_parts == parts or st is None or not stat.S_ISREG(st.st_mode):
                raise self.refuse(
                    name, f"is a hardlink to {member.linkname!r}, which is not a regular file "
                    "extracted earlier from the archive")
        target = os.path.join(dest, *parts)
        existing = _lstat(target)
        if existing is not None:
            if stat.S_ISDIR(existing.st_mode):
                if not member.isdir():
                    raise self.refuse(name, "would replace a directory with a non-directory")
            else:
                # A later member replaces an earlier one, as with tar; unlinking first means
                # tarfile never writes through an old symlink at this path.
                os.unlink(target)
        self.count += 1
        return member


# -- extraction ---------------------------------------------------------------------------

class HugeHeaderError(Exception):
    pass


class BoundedTarInfo(tarfile.TarInfo):
    """A TarInfo that refuses huge pax or GNU long-name headers before tarfile reads their
    data into memory whole (real ones are a few kB)."""

    def _proc_member(self, tarfile: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type in _META_TYPES and self.size > _MAX_META_HEADER:
            raise HugeHeaderError(
                f"it has a {size_text(self.size)} extended header (pax or long name;"
                f" at most {size_text(_MAX_META_HEADER)})")
        return super()._proc_member(tarfile)  # type: ignore[misc, no-any-return]


def is_corrupt_archive_error(exc: BaseException) -> bool:
    if isinstance(exc, (tarfile.ReadError, tarfile.CompressionError, tarfile.HeaderError,
                        EOFError, zlib.error, lzma.LZMAError)):
        return True
    # bz2 and gzip report bad data as OSError without an errno (gzip.BadGzipFile is one: no
    # need to import gzip for it, tarfile does when it opens a gzip stream); real I/O errors
    # carry one.
    return isinstance(exc, OSError) and exc.errno is None


def extract_tarball(archive: Path, dest: Path, origin: str,
                    guard: MemberGuard | None = None,
                    limits: ArchiveLimits | None = None) -> int:
    """Extract ``archive`` into ``dest`` with every member checked (by ``guard``, default
    ``MemberGuard(origin, limits)``); return the member count."""
    with archive.open("rb") as fh:
        magic = fh.read(6)
    if magic.startswith(ZSTD_MAGIC):
        raise InvalidArgumentError(
            f"{origin} is zstd-compressed, which this Python cannot read: decompress it first "
            "(zstd -d)"
        )
    guard = guard or MemberGuard(origin, limits)
    try:
        tar = tarfile.open(archive, "r:*", tarinfo=BoundedTarInfo)
    except HugeHeaderError as exc:
        raise InvalidArgumentError(f"refusing to import {origin}: {exc}") from None
    except Exception as exc:
        if is_corrupt_archive_error(exc):
            kind = next((k for m, k in COMPRESSION_MAGIC if magic.startswith(m)), "")
            detail = ("it is empty" if not magic else
                      f"{kind} data that is truncated or corrupt" if kind else "unknown format")
            raise InvalidArgumentError(
                f"{origin} is not a valid tar archive (plain, gzip, bzip2 or xz): {detail}"
            ) from exc
        raise
    try:
        with tar:
            tar.errorlevel = 2
            tar.extractall(dest, numeric_owner=True, filter=guard)
            # Read to the end so the decompressor checks its CRC: tar has none for file data.
            # What follows the end of the archive is padding: a little, never gigabytes of
            # compressed zeros to inflate.
            trailing = 0
            while tar.fileobj is not None and (chunk := tar.fileobj.read(1 << 20)):
                trailing += len(chunk)
                if trailing > MAX_TRAILING:
                    raise InvalidArgumentError(
                        f"refusing to import {origin}: more than {size_text(MAX_TRAILING)} "
                        "of data follow the end of the tar archive")
    except InvalidArgumentError:
        raise
    except HugeHeaderError as exc:
        raise InvalidArgumentError(f"refusing to import {origin}: {exc}") from None
    except tarfile.ExtractError as exc:
        raise InvalidArgumentError(f"cannot extract {origin}: {exc}") from exc
    except Exception as exc:
        if is_corrupt_archive_error(exc):
            raise InvalidArgumentError(
                f"{origin} is not a valid tar archive: it is truncated or corrupt ({exc})"
            ) from exc
        raise
    return guard.count


def scan_rootfs(rootfs: Path, origin: str) -> int:
    """Re-check the finished tree (symlinks, devices) and return its size in bytes."""
    size = 0
    seen: set[tuple[int, int]] = set()

    def fail(exc: OSError) -> None:
        raise exc

    for dirpath, dirnames, filenames in os.walk(rootfs, onerror=fail):
        rel_dir = os.path.relpath(dirpath, rootfs)
        base = [] if rel_dir == "." else rel_dir.split(os.sep)
        for entry in dirnames + filenames:
            full = os.path.join(dirpath, entry)
            st = os.lstat(full)
            rel = "/".join([*base, entry])
            mode = st.st_mode
            if stat.S_ISLNK(mode):
                problem = symlink_problem([*base, entry], os.readlink(full))
                if problem:
                    raise InvalidArgumentError(f"refusing to import {origin}: {rel!r} {problem}")
                size += st.st_size
            elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                raise InvalidArgumentError(
                    f"refusing to import {origin}: {rel!r} is a device node; images may not "
                    "contain devices"
                )
            elif stat.S_ISREG(mode) and (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                size += st.st_size
    return size


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file's content (an image tarball's id, a blob's digest)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
