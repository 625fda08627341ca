"""Where an archive's files are read from: the members of a tarball, or the files of a
directory, both behind one small interface (``lookup``, ``size``, ``read_json``, ``open``).

The tarball is indexed once, from its headers, with ArchiveLimits checked on each; a member's
bytes are read later, straight from its offset (a gzip, bzip2 or xz tarball is decompressed
once, into an anonymous temporary file). Names are archive-relative: one that is
absolute, climbs with ``..`` or resolves through a symlink to outside the archive is refused.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import json
import lzma
import os
import stat
import tarfile
import tempfile
import zlib
from pathlib import Path
from typing import IO, Any

from ...errors import InvalidArgumentError
from ..archive import name_parts
from ..records import ArchiveLimits
from .streams import GZIP_MAGIC, ZSTD_MAGIC, Section, size_text

#: A manifest, index or config: real ones are a few kB.
MAX_JSON_BYTES = 4 << 20
_MAX_LINK_HOPS = 16
_BLOCK = 512
_CHUNK = 1 << 20
_MAX_META_HEADER = 1 << 20
_META_TYPES = (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE,
               tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK)
_OUTER_COMPRESSION = ((GZIP_MAGIC, "gz"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "xz"))


def refuse(origin: str, problem: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"refusing to load {origin}: {problem}")


class _HeaderTooBig(Exception):
    pass


class _BoundedTarInfo(tarfile.TarInfo):
    """Refuses pax and GNU long-name headers bigger than 1 MiB before tarfile reads them
    into memory."""

    def _proc_member(self, tarfile: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type in _META_TYPES and self.size > _MAX_META_HEADER:
            raise _HeaderTooBig(f"it has a {size_text(self.size)} extended header")
        return super()._proc_member(tarfile)  # type: ignore[misc, no-any-return]


def _corrupt(exc: BaseException) -> bool:
    if isinstance(exc, (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError)):
        return True
    return isinstance(exc, OSError) and exc.errno is None  # gzip/bz2 bad data


def _join(base: list[str], target: str) -> list[str] | None:
    """``target`` (a symlink's) resolved lexically from the directory ``base``; None if it
    leaves the archive."""
    if target.startswith("/"):
        return None
    parts = list(base)
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(part)
    return parts


class Source:
    """The files of an archive, by archive-relative name."""

    def __init__(self, origin: str, limits: ArchiveLimits) -> None:
        self.origin = origin
        self.limits = limits

    def key(self, name: object, what: str) -> str:
        """The canonical name of the file ``name`` refers to; refused if it points outside
        the archive or is missing."""
        if not isinstance(name, str) or not name:
            raise refuse(self.origin, f"{what} has no valid file name ({name!r})")
        parts = name_parts(name)
        if parts is None or not parts:
            raise refuse(self.origin, f"{what} {name!r} points outside the archive")
        return self._resolve(parts, name, what)

    def has(self, name: str) -> bool:
        try:
            self.key(name, name)
        except InvalidArgumentError:
            return False
        return True

    def read_json(self, key: str, what: str) -> tuple[Any, bytes]:
        """The parsed JSON of a small file, and its bytes (to hash)."""
        size = self.size(key)
        if size > MAX_JSON_BYTES:
            raise refuse(self.origin, f"{what} is {size_text(size)}; at most "
                         f"{size_text(MAX_JSON_BYTES)} is allowed for JSON")
        with self.open(key) as fh:
            raw = fh.read()
        try:
            return json.loads(raw), raw
        except ValueError as exc:
            raise InvalidArgumentError(f"cannot load {self.origin}: {what} is not JSON: {exc}"
                                       ) from exc

    def sha256(self, key: str) -> str:
        digest = hashlib.sha256()
        with self.open(key) as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        return digest.hexdigest()

    def _resolve(self, parts: list[str], name: str, what: str) -> str:
        raise NotImplementedError

    def size(self, key: str) -> int:
        raise NotImplementedError

    def open(self, key: str) -> IO[bytes]:
        """A fresh stream of exactly the file's bytes."""
        raise NotImplementedError


class _Positional:
    """Reads ``fh`` from ``offset`` on with pread: many readers share one open file."""

    def __init__(self, fh: IO[bytes], offset: int) -> None:
        self.fh = fh  # kept alive while a reader needs it
        self.fd = fh.fileno()
        self.offset = offset

    def read(self, n: int = -1) -> bytes:
        data = os.pread(self.fd, n if n >= 0 else _CHUNK, self.offset)
        self.offset += len(data)
        return data

    def close(self) -> None:
        pass


class TarSource(Source):
    """The members of a tarball, indexed from their headers and read in place. A gzip,
    bzip2 or xz tarball is decompressed once into an anonymous file in ``tmpdir`` (seeking
    in a compressed stream means decompressing it again for every layer)."""

    def __init__(self, path: Path, origin: str, limits: ArchiveLimits,
                 tmpdir: Path | None = None) -> None:
        super().__init__(origin, limits)
        self.path = path
        self.fh: IO[bytes] = path.open("rb")
        magic = os.pread(self.fh.fileno(), 6, 0)
        if not magic:
            raise InvalidArgumentError(f"cannot load {origin}: the file is empty")
        if magic.startswith(ZSTD_MAGIC):
            raise InvalidArgumentError(
                f"cannot load {origin}: it is zstd-compressed as a whole, which this Python "
                "cannot read: decompress it first (zstd -d)")
        self.compression = next((kind for m, kind in _OUTER_COMPRESSION
                                 if magic.startswith(m)), "")
        if self.compression:
            self.fh = self._decompressed(tmpdir)
        self.files: dict[str, tarfile.TarInfo] = {}
        self.links: dict[str, str] = {}
        self._index()

    def _decompressed(self, tmpdir: Path | None) -> IO[bytes]:
        opener: Any = {"gz": gzip.open, "bz2": bz2.open, "xz": lzma.open}[self.compression]
        # Tar headers and padding come on top of the members' sizes.
        limit = self.limits.max_size + (self.limits.max_members + 1) * 2 * _BLOCK
        spool = tempfile.TemporaryFile(dir=tmpdir)
        try:
            with self.fh, opener(self.fh, "rb") as packed:
                total = 0
                while chunk := packed.read(_CHUNK):
                    total += len(chunk)
                    if total > limit:
                        raise refuse(self.origin, f"it decompresses to more than "
                                     f"{size_text(limit)} (the archive_max_size limit)")
                    spool.write(chunk)
            spool.flush()
        except InvalidArgumentError:
            spool.close()
            raise
        except Exception as exc:
            spool.close()
            if _corrupt(exc):
                raise InvalidArgumentError(
                    f"cannot load {self.origin}: its {self.compression} data is truncated or "
                    f"corrupt ({exc})") from exc
            raise
        return spool

    def _index(self) -> None:
        origin, lim = self.origin, self.limits
        file_size = os.fstat(self.fh.fileno()).st_size
        count = total = 0
        self.fh.seek(0)
        try:
            with tarfile.open(fileobj=self.fh, mode="r:", tarinfo=_BoundedTarInfo) as tar:
                for member in tar:
                    count += 1
                    if count > lim.max_members:
                        raise refuse(origin, f"it has more than {lim.max_members} members "
                                     "(the archive_max_members limit)")
                    parts = name_parts(member.name)
                    if parts is None:
                        raise refuse(origin, f"member {member.name!r} has a path outside the "
                                     "archive")
                    name = "/".join(parts)
                    if name in self.files or name in self.links:
                        raise refuse(origin, f"member {name!r} appears twice")
                    if member.isreg():
                        if member.sparse is not None:
                            raise refuse(origin, f"member {name!r} is a sparse file")
                        if member.size > lim.max_member_size:
                            raise refuse(origin, f"member {name!r} is {size_text(member.size)}"
                                         f", more than the {size_text(lim.max_member_size)} "
                                         "allowed (the archive_max_member_size limit)")
                        total += member.size
                        if total > lim.max_size:
                            raise refuse(origin, f"its members add up to more than "
                                         f"{size_text(lim.max_size)} (the archive_max_size "
                                         "limit)")
                        if member.offset_data + member.size > file_size:
                            raise InvalidArgumentError(
                                f"cannot load {origin}: it is truncated (member {name!r} "
                                "ends past the end of the file)")
                        self.files[name] = member
                    elif member.issym():
                        self.links[name] = "/".join(parts[:-1] + [member.linkname]) \
                            if not member.linkname.startswith("/") else member.linkname
                    elif member.islnk():
                        target = name_parts(member.linkname)
                        if target is None or "/".join(target) not in self.files:
                            raise refuse(origin, f"member {name!r} is a hardlink to "
                                         f"{member.linkname!r}, not to an earlier file")
                        self.files[name] = self.files["/".join(target)]
        except InvalidArgumentError:
            raise
        except _HeaderTooBig as exc:
            raise refuse(origin, str(exc)) from None
        except Exception as exc:
            if _corrupt(exc):
                raise InvalidArgumentError(
                    f"cannot load {origin}: it is not a valid tar archive, or it is truncated "
                    f"or corrupt ({exc})") from exc
            raise

    def _resolve(self, parts: list[str], name: str, what: str) -> str:
        for _ in range(_MAX_LINK_HOPS):
            key = "/".join(parts)
            if key in self.files:
                return key
            # A symlink on the way (a directory or the file itself) is followed inside the
            # archive, never out of it.
            for i in range(1, len(parts) + 1):
                prefix = "/".join(parts[:i])
                if prefix in self.links:
                    target = self.links[prefix]
                    resolved = _join([], target) if not target.startswith("/") else None
                    if resolved is None:
                        raise refuse(self.origin, f"{what} {name!r} leads through the symlink "
                                     f"{prefix!r} to outside the archive")
                    parts = resolved + parts[i:]
                    break
            else:
                raise refuse(self.origin, f"{what} {name!r} is missing from the archive")
        raise refuse(self.origin, f"{what} {name!r} goes through too many symlinks")

    def size(self, key: str) -> int:
        return self.files[key].size

    def open(self, key: str) -> IO[bytes]:
        member = self.files[key]
        return Section(_Positional(self.fh, member.offset_data),  # type: ignore[return-value]
                       member.size, f"{self.origin}: member {key!r}")


class DirSource(Source):
    """The files of a directory (an OCI layout); nothing in it may lead outside it."""

    def __init__(self, path: Path, origin: str, limits: ArchiveLimits) -> None:
        super().__init__(origin, limits)
        self.root = os.path.realpath(path)

    def _resolve(self, parts: list[str], name: str, what: str) -> str:
        full = os.path.realpath(os.path.join(self.root, *parts))
        if os.path.commonpath([full, self.root]) != self.root:
            raise refuse(self.origin, f"{what} {name!r} leads through a symlink to outside "
                         "the directory")
        try:
            st = os.stat(full)
        except FileNotFoundError:
            raise refuse(self.origin, f"{what} {name!r} is missing") from None
        if not stat.S_ISREG(st.st_mode):
            raise refuse(self.origin, f"{what} {name!r} is not a regular file")
        if st.st_size > self.limits.max_member_size:
            raise refuse(self.origin, f"{what} {name!r} is {size_text(st.st_size)}, more than "
                         f"the {size_text(self.limits.max_member_size)} allowed (the "
                         "archive_max_member_size limit)")
        return os.path.relpath(full, self.root)

    def size(self, key: str) -> int:
        return os.stat(os.path.join(self.root, key)).st_size

    def open(self, key: str) -> IO[bytes]:
        size = self.size(key)
        fh = open(os.path.join(self.root, key), "rb")  # noqa: SIM115 - the Section owns it
        return Section(fh, size, f"{self.origin}: {key!r}")  # type: ignore[return-value]
