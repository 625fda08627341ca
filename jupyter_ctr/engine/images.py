"""ImageStore: local images as read-only root filesystems, like ``podman import`` and ``load``.

An image is a directory ``<root>/images/<id>/rootfs`` (the overlayfs lower layer of every
container made from it) plus a row in the StateStore with its config and names. Sources:

* a rootfs tarball (plain, gzip, bzip2 or xz), extracted here with :mod:`tarfile`;
* an OCI image layout directory (``oci-layout`` + ``index.json``), unpacked by ``umoci``;
* an OCI archive: a tarball holding such a layout at its top level.

Archives are untrusted input. Every member is checked just before it is written: no absolute
or ``..`` paths, no writing through symlinks, symlinks only relative and inside the image,
hardlinks only to regular files extracted earlier, no device nodes. The finished tree is
scanned again with the same symlink rules (this also covers what umoci unpacked), so code
that resolves paths inside a rootfs on the host can never be led outside it.

Limits (``ArchiveLimits``, from EngineConfig ``archive_max_member_size``, ``archive_max_size``
and ``archive_max_members``) are checked from each member's header before any of its bytes is
written: its size (a sparse member counts at its full size), the running total, the count, and
the free space of the engine's file system. pax and GNU long-name headers, which tarfile reads
into memory, are bounded too, and so is the data after the end of the archive (a gzip stream
can go on inflating zeros after it).

All work happens in ``<root>/images/.staging-<random>``; the finished image directory is
renamed into place in one step and the staging directory is always removed, so a failed
import leaves neither files nor rows behind. An image directory that exists is complete:
removal renames it away before deleting it.
"""

from __future__ import annotations

import errno
import fcntl
import io
import json
import os
import re
import stat
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from . import procs, settings
from .errors import (
    ImageInUseError,
    InvalidArgumentError,
    NoSuchImageError,
    OCIRuntimeError,
    RuntimeMissingError,
)
from .store import StateStore

# Creating a container only looks an image up, so what else this module needs is imported
# where it is used: the archive modules (tarfile, gzip, lzma, zlib, hashlib, tempfile), shutil
# (with bz2, lzma, zlib), copy and datetime. Its records are plain classes (dataclasses, with
# inspect, costs ~4 ms to import), its patterns compiled on first use, and typing is for type
# checkers only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import tarfile
    from typing import Any, Literal

DEFAULT_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_DOMAIN = "localhost"
DEFAULT_TAG = "latest"

_CONFIG_KEYS = ("Env", "Cmd", "Entrypoint", "WorkingDir", "User", "Labels")
_STAGING_PREFIX = ".staging-"
_STAGING_LOCK = ".lock"
# A staging directory without its lock file is either being created or was left by a crash.
_STAGING_GRACE_SECONDS = 60.0
_MAX_JSON_BYTES = 4 << 20
#: Bytes after the end-of-archive blocks (tar pads to its record size: 10 kB by default).
_MAX_TRAILING = 16 << 20
#: pax and GNU long-name/long-link headers: read into memory by tarfile.
#: (tarfile's XHDTYPE, XGLTYPE, SOLARIS_XHDTYPE, GNUTYPE_LONGNAME, GNUTYPE_LONGLINK, spelled
#: out so that this module does not import tarfile.)
_META_TYPES = (b"x", b"g", b"X", b"L", b"K")
_MAX_META_HEADER = 1 << 20
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_COMPRESSION_MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"))
_DEMO_MTIME = 946684800  # 2000-01-01: fixed so the demo tarball, and so its id, is reproducible
_OCI_TAG = "import"

_OCI_INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
_OCI_MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
_OCI_CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
_REF_NAME = "org.opencontainers.image.ref.name"

# Reference grammar of github.com/distribution/reference, which podman uses.
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_PATTERN = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?"
_PATH_COMPONENT_PATTERN = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_TAG_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST_PATTERN = r"sha256:([0-9a-f]{64})"
_HEX_DIGITS = "0123456789abcdef"
_MAX_NAME_LENGTH = 255

ImageUsers = Callable[[str], list[str]]
"""Given an image id, the names of the containers made from it."""

_HOST_ARCH = {
    "x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
    "armv7l": "arm", "armv6l": "arm", "i386": "386", "i686": "386",
    "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64",
}


def host_architecture() -> str:
    """The host's architecture in OCI (GOARCH) spelling."""
    machine = os.uname().machine  # what platform.machine() reads, without its import
    return _HOST_ARCH.get(machine, machine)


def normalize_reference(ref: str) -> str:
    """Return the fully qualified ``domain/path:tag`` form of an image reference.

    ``busybox`` -> ``localhost/busybox:latest``; a first component with a dot, a port or named
    ``localhost`` is a registry domain and is kept. Raises InvalidArgumentError for anything
    that is not a valid reference (upper case repository, bad tag, digests).
    """
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidArgumentError("invalid image reference: the name is empty")
    if ref != ref.strip():
        raise InvalidArgumentError(f"invalid image reference {ref!r}: surrounding whitespace")
    if "@" in ref:
        raise InvalidArgumentError(
            f"invalid image reference {ref!r}: digest references are not supported here; "
            "use a name with a tag or an image id"
        )
    remainder, tag = ref, DEFAULT_TAG
    slash, colon = ref.rfind("/"), ref.rfind(":")
    if colon > slash:
        remainder, tag = ref[:colon], ref[colon + 1:]
        if not re.fullmatch(_TAG_PATTERN, tag):
            raise InvalidArgumentError(
                f"invalid image reference {ref!r}: the tag {tag!r} must match "
                "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
            )
    parts = remainder.split("/")
    first = parts[0]
    if len(parts) > 1 and ("." in first or ":" in first or first == "localhost"):
        domain, path = first, parts[1:]
        if not re.fullmatch(_DOMAIN_PATTERN, domain):
            raise InvalidArgumentError(
                f"invalid image reference {ref!r}: {domain!r} is not a valid registry host"
            )
    else:
        domain, path = DEFAULT_DOMAIN, parts
    for component in path:
        if re.fullmatch(_PATH_COMPONENT_PATTERN, component):
            continue
        if component and re.fullmatch(_PATH_COMPONENT_PATTERN, component.lower()):
            raise InvalidArgumentError(
                f"invalid image reference {ref!r}: repository name must be lowercase"
            )
        raise InvalidArgumentError(
            f"invalid image reference {ref!r}: repository path component {component!r} must "
            "be lowercase letters and digits, separated by '.', '_', '__' or '-'"
        )
    name = f"{domain}/{'/'.join(path)}"
    if len(name) > _MAX_NAME_LENGTH:
        raise InvalidArgumentError(
            f"invalid image reference {ref!r}: the repository name is longer than "
            f"{_MAX_NAME_LENGTH} characters"
        )
    return f"{name}:{tag}"


def _rfc3339(ts: float) -> str:
    from datetime import UTC, datetime

    whole = int(ts)
    nanos = int(round((ts - whole) * 1e9))
    if nanos >= 1_000_000_000:
        whole, nanos = whole + 1, nanos - 1_000_000_000
    base = datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{nanos:09d}Z"


def _parse_rfc3339(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    from datetime import UTC, datetime

    # fromisoformat takes at most six fraction digits; OCI configs often carry nine.
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip())
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


class _Record:
    """What ``@dataclass(frozen=True)`` gave the records here (fields set once in __init__;
    equality, hash and repr over them) without importing dataclasses."""

    _fields: tuple[str, ...] = ()

    def _init(self, **values: object) -> None:
        self.__dict__.update(values)

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Record) or other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({fields})"

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")


class Image(_Record):
    """One local image: its rootfs directory, names and OCI config subset."""

    _fields = ("id", "names", "rootfs", "config", "created", "size", "architecture", "os",
               "digest", "layers")
    id: str
    names: list[str]
    rootfs: Path
    config: dict[str, Any]
    created: float
    size: int
    architecture: str
    os: str
    digest: str
    layers: list[str]

    def __init__(self, id: str, names: list[str], rootfs: Path,
                 config: dict[str, Any], created: float, size: int,
                 architecture: str | None = None, os: str = "linux", digest: str = "",
                 layers: list[str] | None = None) -> None:
        self._init(id=id, names=names, rootfs=rootfs, config=config, created=created,
                   size=size,
                   architecture=host_architecture() if architecture is None else architecture,
                   os=os, digest=digest, layers=[] if layers is None else layers)

    def inspect(self) -> dict[str, Any]:
        """A dict shaped like one element of ``podman image inspect``."""
        import copy

        digest = self.digest or f"sha256:{self.id}"
        config = {k: copy.deepcopy(v) for k, v in self.config.items() if v is not None}
        return {
            "Id": self.id,
            "Digest": digest,
            "RepoTags": list(self.names),
            "RepoDigests": [f"{n.rsplit(':', 1)[0]}@{digest}" for n in self.names],
            "Parent": "",
            "Comment": "",
            "Created": _rfc3339(self.created),
            "Config": config,
            "Version": "",
            "Author": "",
            "Architecture": self.architecture,
            "Os": self.os,
            "Size": self.size,
            "VirtualSize": self.size,
            "GraphDriver": {"Name": "overlay", "Data": {"LowerDir": str(self.rootfs)}},
            "RootFS": {"Type": "layers", "Layers": list(self.layers)},
            "Labels": copy.deepcopy(self.config.get("Labels") or {}),
            "Annotations": {},
            "ManifestType": _OCI_MANIFEST_TYPE,
            "User": self.config.get("User") or "",
            "History": [],
            "NamesHistory": [],
        }


# -- config -------------------------------------------------------------------------------

def _string_list(value: object, key: str, origin: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidArgumentError(f"{origin}: image config {key} must be a list of strings")
    return list(value)


def _clean_config(base: Mapping[str, Any], overrides: Mapping[str, Any] | None,
                  origin: str) -> dict[str, Any]:
    """Validate and complete the config subset we keep (see ``_CONFIG_KEYS``)."""
    merged = dict(base)
    for key, value in (overrides or {}).items():
        if key not in _CONFIG_KEYS:
            raise InvalidArgumentError(
                f"unknown image config key {key!r}: expected one of {', '.join(_CONFIG_KEYS)}"
            )
        merged[key] = value
    env = merged.get("Env")
    cmd, entrypoint = merged.get("Cmd"), merged.get("Entrypoint")
    workdir, user, labels = merged.get("WorkingDir"), merged.get("User"), merged.get("Labels")
    if workdir is not None and not isinstance(workdir, str):
        raise InvalidArgumentError(f"{origin}: image config WorkingDir must be a string")
    if user is not None and not isinstance(user, str):
        raise InvalidArgumentError(f"{origin}: image config User must be a string")
    if labels is not None and not (isinstance(labels, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in labels.items())):
        raise InvalidArgumentError(f"{origin}: image config Labels must map strings to strings")
    return {
        "Env": _string_list(env, "Env", origin) if env is not None else [],
        "Cmd": _string_list(cmd, "Cmd", origin) if cmd is not None else None,
        "Entrypoint": (_string_list(entrypoint, "Entrypoint", origin)
                       if entrypoint is not None else None),
        "WorkingDir": workdir or "/",
        "User": user or "",
        "Labels": dict(labels or {}),
    }


# -- path safety --------------------------------------------------------------------------

def _name_parts(name: str) -> list[str] | None:
    """Components of a relative archive path, or None if it is absolute or has ``..``."""
    if name.startswith("/"):
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        return None
    return parts


def _symlink_problem(link_parts: list[str], target: str) -> str | None:
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


class ArchiveLimits(_Record):
    """What an archive to import may hold (EngineConfig.archive_max_*), checked from each
    member's header before any of its bytes is written or hashed."""

    _fields = ("max_member_size", "max_size", "max_members", "sparse")
    max_member_size: int
    max_size: int
    max_members: int
    #: Sparse members (GNU/PAX sparse maps): legal in a rootfs tarball; a checkpoint archive
    #: (written by tarfile, which never makes them) holds none.
    sparse: bool

    def __init__(self, max_member_size: int = settings.ARCHIVE_MAX_MEMBER_SIZE,
                 max_size: int = settings.ARCHIVE_MAX_SIZE,
                 max_members: int = settings.ARCHIVE_MAX_MEMBERS, sparse: bool = True) -> None:
        self._init(max_member_size=max_member_size, max_size=max_size,
                   max_members=max_members, sparse=sparse)

    def replace(self, **changes: Any) -> ArchiveLimits:
        """A copy with ``changes`` (what dataclasses.replace did)."""
        return ArchiveLimits(**{**{name: getattr(self, name) for name in self._fields},
                                **changes})

    @classmethod
    def from_settings(cls, cfg: object) -> ArchiveLimits:
        return cls(
            max_member_size=int(getattr(cfg, "archive_max_member_size",
                                        settings.ARCHIVE_MAX_MEMBER_SIZE)),
            max_size=int(getattr(cfg, "archive_max_size", settings.ARCHIVE_MAX_SIZE)),
            max_members=int(getattr(cfg, "archive_max_members", settings.ARCHIVE_MAX_MEMBERS)))


def _size_text(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.3g} {unit}"
    return f"{n} bytes"


class _MemberGuard:
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

    def _check_limits(self, member: tarfile.TarInfo, dest: str) -> None:
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
            raise self.refuse(member.name, f"is {_size_text(size)}, more than the "
                              f"{_size_text(lim.max_member_size)} allowed for one member "
                              "(the archive_max_member_size limit)")
        self.total += size
        if self.total > lim.max_size:
            raise InvalidArgumentError(
                f"refusing to import {self.origin}: its members add up to more than "
                f"{_size_text(lim.max_size)} (the archive_max_size limit)")
        if self.free is None:
            st = os.statvfs(dest)
            self.free = st.f_bavail * st.f_frsize
        if self.total > self.free:
            raise InvalidArgumentError(
                f"cannot import {self.origin}: its members need more than the "
                f"{_size_text(self.free)} free on the engine's file system")

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
        self._check_limits(member, dest)
        name = member.name
        parts = _name_parts(name)
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
            problem = _symlink_problem(parts, member.linkname)
            if problem:
                raise self.refuse(name, problem)
        elif member.islnk():
            link_parts = _name_parts(member.linkname)
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


_BOUNDED_TARINFO: type[tarfile.TarInfo] | None = None


def _bounded_tarinfo() -> type[tarfile.TarInfo]:
    """A TarInfo that refuses huge pax or GNU long-name headers before tarfile reads their
    data into memory whole (real ones are a few kB). Made on first use: importing tarfile is
    for imports, not for every create."""
    global _BOUNDED_TARINFO
    if _BOUNDED_TARINFO is None:
        import tarfile

        class BoundedTarInfo(tarfile.TarInfo):
            def _proc_member(self, tarfile: tarfile.TarFile) -> tarfile.TarInfo:
                if self.type in _META_TYPES and self.size > _MAX_META_HEADER:
                    raise _HugeHeaderError(
                        f"it has a {_size_text(self.size)} extended header (pax or long name;"
                        f" at most {_size_text(_MAX_META_HEADER)})")
                return super()._proc_member(tarfile)  # type: ignore[misc, no-any-return]

        _BOUNDED_TARINFO = BoundedTarInfo
    return _BOUNDED_TARINFO


class _HugeHeaderError(Exception):
    pass


def _is_corrupt_archive_error(exc: BaseException) -> bool:
    import gzip
    import lzma
    import tarfile
    import zlib

    if isinstance(exc, (tarfile.ReadError, tarfile.CompressionError, tarfile.HeaderError,
                        EOFError, zlib.error, lzma.LZMAError, gzip.BadGzipFile)):
        return True
    # bz2/gzip report bad data as OSError without an errno; real I/O errors carry one.
    return isinstance(exc, OSError) and exc.errno is None


def _extract_tarball(archive: Path, dest: Path, origin: str,
                     guard: _MemberGuard | None = None,
                     limits: ArchiveLimits | None = None) -> int:
    """Extract ``archive`` into ``dest`` with every member checked (by ``guard``, default
    ``_MemberGuard(origin, limits)``); return the member count."""
    with archive.open("rb") as fh:
        magic = fh.read(6)
    if magic.startswith(_ZSTD_MAGIC):
        raise InvalidArgumentError(
            f"{origin} is zstd-compressed, which this Python cannot read: decompress it first "
            "(zstd -d)"
        )
    import tarfile

    guard = guard or _MemberGuard(origin, limits)
    try:
        tar = tarfile.open(archive, "r:*", tarinfo=_bounded_tarinfo())
    except _HugeHeaderError as exc:
        raise InvalidArgumentError(f"refusing to import {origin}: {exc}") from None
    except Exception as exc:
        if _is_corrupt_archive_error(exc):
            kind = next((k for m, k in _COMPRESSION_MAGIC if magic.startswith(m)), "")
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
                if trailing > _MAX_TRAILING:
                    raise InvalidArgumentError(
                        f"refusing to import {origin}: more than {_size_text(_MAX_TRAILING)} "
                        "of data follow the end of the tar archive")
    except InvalidArgumentError:
        raise
    except _HugeHeaderError as exc:
        raise InvalidArgumentError(f"refusing to import {origin}: {exc}") from None
    except tarfile.ExtractError as exc:
        raise InvalidArgumentError(f"cannot extract {origin}: {exc}") from exc
    except Exception as exc:
        if _is_corrupt_archive_error(exc):
            raise InvalidArgumentError(
                f"{origin} is not a valid tar archive: it is truncated or corrupt ({exc})"
            ) from exc
        raise
    return guard.count


def _scan_rootfs(rootfs: Path, origin: str) -> int:
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
                problem = _symlink_problem([*base, entry], os.readlink(full))
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


def _sha256_file(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# -- OCI layouts --------------------------------------------------------------------------

def _is_oci_layout(path: Path) -> bool:
    return (path / "oci-layout").is_file() and (path / "index.json").is_file()


def _read_json_file(path: Path, what: str, origin: str) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = fh.read(_MAX_JSON_BYTES + 1)
    except OSError as exc:
        raise InvalidArgumentError(
            f"{origin} is not a valid OCI image layout: cannot read {what}: {exc.strerror}"
        ) from exc
    if len(data) > _MAX_JSON_BYTES:
        raise InvalidArgumentError(f"{origin} is not a valid OCI image layout: {what} is too big")
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise InvalidArgumentError(
            f"{origin} is not a valid OCI image layout: {what} is not JSON: {exc}"
        ) from exc
    if not isinstance(doc, dict):
        raise InvalidArgumentError(
            f"{origin} is not a valid OCI image layout: {what} is not a JSON object")
    return doc


def _descriptor_hex(desc: object, origin: str) -> str:
    digest = desc.get("digest") if isinstance(desc, dict) else None
    match = re.fullmatch(_DIGEST_PATTERN, digest) if isinstance(digest, str) else None
    if match is None:
        raise InvalidArgumentError(
            f"{origin} is not a valid OCI image layout: unsupported or malformed digest "
            f"{digest!r} (only sha256 is supported)"
        )
    return match.group(1)


def _read_blob(layout: Path, hex_digest: str, what: str, origin: str) -> dict[str, Any]:
    blob = layout / "blobs" / "sha256" / hex_digest
    if not blob.is_file():
        raise InvalidArgumentError(
            f"{origin} is not a valid OCI image layout: the {what} blob sha256:{hex_digest} "
            "is missing"
        )
    doc = _read_json_file(blob, f"the {what} blob", origin)
    if _sha256_file(blob) != hex_digest:
        raise InvalidArgumentError(
            f"{origin} is not a valid OCI image layout: the {what} blob sha256:{hex_digest} "
            "does not match its digest"
        )
    return doc


class _OciSelection:
    def __init__(self, descriptor: dict[str, Any], manifest_hex: str, config_hex: str,
                 config: dict[str, Any]) -> None:
        self.descriptor = descriptor
        self.manifest_hex = manifest_hex
        self.config_hex = config_hex
        self.config = config


def _select_oci_image(layout: Path, name: str, origin: str) -> _OciSelection:
    """Pick the manifest to import from ``index.json`` and read its config blob.

    One manifest: that one. Several: the one whose ref.name annotation equals the tag (or the
    whole name) being imported. Nested indexes resolve to the host's linux platform.
    """
    _read_json_file(layout / "oci-layout", "oci-layout", origin)
    index = _read_json_file(layout / "index.json", "index.json", origin)
    manifests = index.get("manifests")
    if not isinstance(manifests, list) or not all(isinstance(m, dict) for m in manifests):
        raise InvalidArgumentError(
            f"{origin} is not a valid OCI image layout: index.json has no manifests list")
    if not manifests:
        raise InvalidArgumentError(f"{origin} holds no images: index.json lists no manifests")
    tag = name.rsplit(":", 1)[1]
    chosen: dict[str, Any]
    if len(manifests) == 1:
        chosen = manifests[0]
    else:
        def ref_name(m: dict[str, Any]) -> str:
            annotations = m.get("annotations")
            return str(annotations.get(_REF_NAME, "")) if isinstance(annotations, dict) else ""

        matches = [m for m in manifests if ref_name(m) in (tag, name)]
        if len(matches) != 1:
            refs = ", ".join(sorted(ref_name(m) or "<untagged>" for m in manifests))
            raise InvalidArgumentError(
                f"{origin} holds {len(manifests)} images ({refs}): import one of them under a "
                "name whose tag equals its ref.name"
            )
        chosen = matches[0]
    for _ in range(4):
        if chosen.get("mediaType") not in _OCI_INDEX_TYPES:
            break
        nested = _read_blob(layout, _descriptor_hex(chosen, origin), "index", origin)
        entries = [m for m in nested.get("manifests") or [] if isinstance(m, dict)]
        arch = host_architecture()
        fitting = [m for m in entries if isinstance(m.get("platform"), dict)
                   and m["platform"].get("os") == "linux"
                   and m["platform"].get("architecture") == arch]
        if not fitting and len(entries) == 1:
            fitting = entries
        if not fitting:
            raise InvalidArgumentError(f"{origin} has no image for linux/{arch}")
        chosen = fitting[0]
    media_type = chosen.get("mediaType")
    if media_type != _OCI_MANIFEST_TYPE:
        raise InvalidArgumentError(
            f"{origin}: unsupported manifest media type {media_type!r}; expected "
            f"{_OCI_MANIFEST_TYPE}"
        )
    manifest_hex = _descriptor_hex(chosen, origin)
    manifest = _read_blob(layout, manifest_hex, "manifest", origin)
    config_desc = manifest.get("config")
    if not isinstance(config_desc, dict) or config_desc.get("mediaType") != _OCI_CONFIG_TYPE:
        raise InvalidArgumentError(
            f"{origin}: manifest sha256:{manifest_hex} has no OCI image config")
    config_hex = _descriptor_hex(config_desc, origin)
    config = _read_blob(layout, config_hex, "config", origin)
    descriptor = {"mediaType": _OCI_MANIFEST_TYPE, "digest": chosen["digest"],
                  "size": chosen.get("size", 0)}
    return _OciSelection(descriptor, manifest_hex, config_hex, config)


# -- demo image ---------------------------------------------------------------------------

def _is_static_elf(path: Path) -> bool:
    """True if ``path`` is an ELF executable without a PT_INTERP (dynamic loader) header."""
    with path.open("rb") as fh:
        head = fh.read(64)
        if len(head) < 52 or head[:4] != b"\x7fELF":
            return False
        order: Literal["little", "big"] = "little" if head[5] == 1 else "big"
        if head[4] == 2:
            phoff = int.from_bytes(head[0x20:0x28], order)
            phentsize = int.from_bytes(head[0x36:0x38], order)
            phnum = int.from_bytes(head[0x38:0x3A], order)
        else:
            phoff = int.from_bytes(head[0x1C:0x20], order)
            phentsize = int.from_bytes(head[0x2A:0x2C], order)
            phnum = int.from_bytes(head[0x2C:0x2E], order)
        fh.seek(phoff)
        table = fh.read(phentsize * phnum)
    pt_interp = 3
    return all(int.from_bytes(table[i:i + 4], order) != pt_interp
               for i in range(0, len(table), phentsize))


def _find_static_busybox(configured: str | Path | None) -> Path:
    import shutil

    candidates = [str(configured)] if configured else [
        shutil.which("busybox") or "", "/bin/busybox", "/usr/bin/busybox"]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate):
            path = Path(candidate)
            if _is_static_elf(path):
                return path
            if configured:
                raise InvalidArgumentError(
                    f"{candidate} is not a statically linked busybox: install busybox-static")
    raise RuntimeMissingError(
        "no statically linked busybox found for the demo image: install busybox-static "
        "(it provides /bin/busybox)"
    )


def _write_demo_tarball(busybox: Path, out: Path) -> None:
    """A reproducible busybox rootfs tarball: sorted entries, fixed owner and mtime."""
    import tarfile

    listing = procs.run([str(busybox), "--list"]).stdout.decode()
    applets = sorted({a for a in listing.split() if re.fullmatch(r"[A-Za-z0-9_.\[\]-]+", a)
                      and a not in ("busybox", ".", "..")})
    entries: dict[str, tuple[str, int, bytes | str]] = {}
    for d in ("bin", "dev", "etc", "home", "proc", "run", "sbin", "sys", "usr", "usr/bin",
              "usr/sbin", "var"):
        entries[d] = ("dir", 0o755, b"")
    entries["root"] = ("dir", 0o700, b"")
    entries["tmp"] = ("dir", 0o1777, b"")
    entries["etc/passwd"] = ("file", 0o644, (
        b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"))
    entries["etc/group"] = ("file", 0o644, b"root:x:0:\nnogroup:x:65534:\n")
    entries["bin/busybox"] = ("file", 0o755, busybox.read_bytes())
    for applet in applets:
        entries[f"bin/{applet}"] = ("link", 0o777, "busybox")
    with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as tar:
        for name in sorted(entries):
            kind, mode, payload = entries[name]
            info = tarfile.TarInfo(name)
            info.mode, info.mtime, info.uid, info.gid = mode, _DEMO_MTIME, 0, 0
            info.uname = info.gname = "root"
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind == "link":
                info.type, info.linkname = tarfile.SYMTYPE, str(payload)
                tar.addfile(info)
            else:
                data = payload if isinstance(payload, bytes) else payload.encode()
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))


# -- the store ----------------------------------------------------------------------------

class ImageStore:
    """Images under ``<root>/images``, their names and configs in the StateStore."""

    def __init__(self, root: Path, store: StateStore,
                 limits: ArchiveLimits | None = None) -> None:
        self.root = Path(root)
        self.store = store
        self.limits = limits or ArchiveLimits()
        self.images_dir = self.root / "images"
        # 0700: rootfs trees hold setuid binaries that host users must not reach.
        self.images_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._sweep_staging()

    # -- public API ----------------------------------------------------------------------
    def import_image(self, path: str | Path, reference: str, *,
                     config: Mapping[str, Any] | None = None) -> Image:
        """Import a rootfs tarball, OCI layout directory or OCI archive as ``reference``.

        ``config`` overrides keys of the image config (like ``podman import --change``).
        The same content imported again only gains the name; a name held by another image
        moves to this one. Raises InvalidArgumentError for missing, corrupt or unsafe input.
        """
        name = normalize_reference(reference)
        source = Path(path)
        origin = str(path)
        _clean_config({}, config, origin)  # fail fast on bad overrides
        if not source.exists():
            raise InvalidArgumentError(f"cannot import {origin}: no such file or directory")
        if source.is_dir():
            if not _is_oci_layout(source):
                raise InvalidArgumentError(
                    f"cannot import {origin}: a directory must be an OCI image layout "
                    "(with oci-layout and index.json)"
                )
            with self._staging() as staging:
                return self._import_oci(source, staging, name, origin, config)
        if not source.is_file():
            raise InvalidArgumentError(f"cannot import {origin}: not a regular file")
        image_id = _sha256_file(source)
        if self._known(image_id):
            return self._add_name(image_id, name)
        with self._staging() as staging:
            tree = staging / "tree"
            tree.mkdir()
            tree.chmod(0o755)
            if _extract_tarball(source, tree, origin, limits=self.limits) == 0:
                raise InvalidArgumentError(f"{origin} is an empty archive: nothing to import")
            if _is_oci_layout(tree):
                return self._import_oci(tree, staging, name, origin, config)
            image_config = _clean_config({"Env": [DEFAULT_PATH_ENV]}, config, origin)
            record: dict[str, Any] = {
                "config": image_config, "created": time.time(),
                "architecture": host_architecture(), "os": "linux",
                "digest": f"sha256:{image_id}", "layers": [f"sha256:{image_id}"],
                "source": "tarball",
            }
            return self._commit(staging, tree, image_id, name, record, origin)

    def list(self) -> list[Image]:
        """All images, oldest import first."""
        images = []
        for image_id in self.store.image_ids():
            try:
                images.append(self._load(image_id))
            except NoSuchImageError:
                continue  # removed concurrently
        return images

    def get(self, ref_or_id: str) -> Image:
        """Look up by full id (``sha256:`` optional), name, unique id prefix (3+ characters)
        or short name (``busybox`` finds ``quay.io/x/busybox:latest`` if unique)."""
        return self._load(self._resolve(ref_or_id))

    def tag(self, ref_or_id: str, reference: str) -> Image:
        """Add a name to an image (``podman tag``); the name moves if another image has it."""
        image_id = self._resolve(ref_or_id)
        return self._add_name(image_id, normalize_reference(reference))

    def untag(self, reference: str) -> str:
        """Remove one name (``podman untag``); the image stays. Returns the image id."""
        try:
            name = normalize_reference(reference)
        except InvalidArgumentError as exc:
            raise NoSuchImageError(f"{reference}: image not known") from exc
        image_id = self.store.image_id_for_name(name)
        if image_id is None:
            raise NoSuchImageError(f"{reference}: image not known")
        self.store.untag_image(name)
        return image_id

    def remove(self, ref_or_id: str, users: ImageUsers) -> str:
        """Delete an image, all its names and its files; return its id.

        ``users(image_id)`` names the containers made from it; if any, ImageInUseError.
        """
        image_id = self._resolve(ref_or_id)
        in_use = users(image_id)
        if in_use:
            raise ImageInUseError(
                f"image {image_id[:12]} is in use by container(s) {', '.join(in_use)}: "
                "remove them first"
            )
        final = self.images_dir / image_id
        with self._staging() as staging:
            doomed = staging / "image"
            try:
                os.rename(final, doomed)
            except FileNotFoundError:
                pass
            try:
                self.store.remove_image(image_id)
            except BaseException:
                if doomed.exists():
                    os.rename(doomed, final)
                raise
        return image_id

    def build_demo(self, reference: str = "localhost/busybox:latest", *,
                   busybox: str | Path | None = None) -> Image:
        """Build (once) a tiny image from the host's static busybox, every applet in /bin.

        The tarball is reproducible, so the id is the same on every run with the same busybox.
        """
        name = normalize_reference(reference)
        binary = _find_static_busybox(busybox)
        with self._staging() as staging:
            tarball = staging / "busybox-rootfs.tar"
            _write_demo_tarball(binary, tarball)
            image_id = _sha256_file(tarball)
            if self._known(image_id):
                _, names = self.store.image(image_id)
                if name in names:
                    return self._load(image_id)
            return self.import_image(tarball, name, config={
                "Cmd": ["sh"], "Env": [DEFAULT_PATH_ENV], "WorkingDir": "/"})

    # -- internals -----------------------------------------------------------------------
    def _known(self, image_id: str) -> bool:
        try:
            self.store.image(image_id)
        except NoSuchImageError:
            return False
        return True

    def _load(self, image_id: str) -> Image:
        record, names = self.store.image(image_id)
        return Image(
            id=image_id,
            names=names,
            rootfs=self.images_dir / image_id / "rootfs",
            config=record["config"],
            created=float(record["created"]),
            size=int(record.get("size", 0)),
            architecture=str(record.get("architecture") or host_architecture()),
            os=str(record.get("os") or "linux"),
            digest=str(record.get("digest") or ""),
            layers=[str(layer) for layer in record.get("layers") or []],
        )

    def _add_name(self, image_id: str, name: str) -> Image:
        self.store.tag_image(name, image_id)
        return self._load(image_id)

    def _resolve(self, ref_or_id: str) -> str:
        """The id of the image ``ref_or_id`` names; NoSuchImageError if none or ambiguous."""
        not_known = NoSuchImageError(f"{ref_or_id}: image not known")
        ref = ref_or_id.strip() if isinstance(ref_or_id, str) else ""
        if not ref:
            raise not_known
        ids = self.store.image_ids()
        candidate = ref.removeprefix("sha256:")
        is_hex = bool(candidate) and not candidate.strip(_HEX_DIGITS)
        if is_hex and candidate in ids:
            return candidate
        if not ref.startswith("sha256:"):
            try:
                name = normalize_reference(ref)
            except InvalidArgumentError:
                name = ""
            found = self.store.image_id_for_name(name) if name else None
            if found is not None:
                return found
        if is_hex and len(candidate) >= 3:
            matches = [i for i in ids if i.startswith(candidate)]
            if len(matches) > 1:
                raise NoSuchImageError(
                    f"{ref_or_id}: image not known: the id prefix is ambiguous "
                    f"({len(matches)} images match); give more characters"
                )
            if matches:
                return matches[0]
        found = self._resolve_short_name(ref)
        if found is not None:
            return found
        raise not_known

    def _resolve_short_name(self, ref: str) -> str | None:
        """``busybox`` or ``x/busybox:1`` against names in any registry, as podman does."""
        try:
            wanted = normalize_reference(ref)
        except InvalidArgumentError:
            return None
        if not wanted.startswith(f"{DEFAULT_DOMAIN}/") or ref.startswith(f"{DEFAULT_DOMAIN}/"):
            return None
        suffix = "/" + wanted.removeprefix(f"{DEFAULT_DOMAIN}/")
        matches = set()
        for image_id in self.store.image_ids():
            try:
                _, names = self.store.image(image_id)
            except NoSuchImageError:
                continue
            if any(n.endswith(suffix) for n in names):
                matches.add(image_id)
        if len(matches) > 1:
            raise NoSuchImageError(
                f"{ref}: image not known: the short name matches {len(matches)} images; "
                "use the full name"
            )
        return matches.pop() if matches else None

    def _import_oci(self, layout: Path, staging: Path, name: str, origin: str,
                    overrides: Mapping[str, Any] | None) -> Image:
        selection = _select_oci_image(layout, name, origin)
        image_id = selection.config_hex  # podman's image id is the config digest
        if self._known(image_id):
            return self._add_name(image_id, name)
        raw = selection.config.get("config")
        image_config = _clean_config(raw if isinstance(raw, dict) else {}, overrides, origin)
        # umoci only takes a tag, and must not touch the source: give it a private view of the
        # layout whose index names just the chosen manifest.
        view = staging / "view"
        view.mkdir()
        (view / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
        descriptor = dict(selection.descriptor, annotations={_REF_NAME: _OCI_TAG})
        (view / "index.json").write_text(json.dumps({"schemaVersion": 2,
                                                     "manifests": [descriptor]}))
        (view / "blobs").symlink_to((layout / "blobs").resolve())
        rootfs = staging / "rootfs"
        umoci = procs.find_binary("umoci")
        try:
            # "raw unpack" gives just the rootfs; plain "unpack" also writes a runtime config
            # and fails when the image's User is not in its own /etc/passwd.
            procs.run([umoci, "raw", "unpack", "--image", f"{view}:{_OCI_TAG}", str(rootfs)],
                      timeout=600)
        except OCIRuntimeError as exc:
            raise InvalidArgumentError(f"cannot unpack the OCI image in {origin}: {exc}") from exc
        rootfs_diff = selection.config.get("rootfs")
        layers = rootfs_diff.get("diff_ids") if isinstance(rootfs_diff, dict) else None
        record: dict[str, Any] = {
            "config": image_config,
            "created": _parse_rfc3339(selection.config.get("created")) or time.time(),
            "architecture": str(selection.config.get("architecture") or host_architecture()),
            "os": str(selection.config.get("os") or "linux"),
            "digest": f"sha256:{selection.manifest_hex}",
            "layers": [str(x) for x in layers] if isinstance(layers, list) else [],
            "source": "oci",
        }
        return self._commit(staging, rootfs, image_id, name, record, origin)

    def _commit(self, staging: Path, rootfs: Path, image_id: str, name: str,
                record: dict[str, Any], origin: str) -> Image:
        """Check the tree, move it to ``images/<id>/rootfs`` in one rename, then record it."""
        record["size"] = _scan_rootfs(rootfs, origin)
        image_dir = staging / "image"
        image_dir.mkdir(mode=0o700)
        os.rename(rootfs, image_dir / "rootfs")
        final = self.images_dir / image_id
        created_here = True
        try:
            os.rename(image_dir, final)
        except OSError as exc:
            # Another import of the same content won the race (or a crash left a complete
            # tree without its row); its tree is as good as ours.
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY) or not final.is_dir():
                raise
            created_here = False
        try:
            if self._known(image_id):
                return self._add_name(image_id, name)
            self.store.add_image(image_id, [name], record)
        except BaseException:
            if created_here:
                os.rename(final, image_dir)  # the staging cleanup removes it
            raise
        return self._load(image_id)

    @contextmanager
    def _staging(self) -> Iterator[Path]:
        """A private directory under images/, locked while in use, always removed after."""
        import shutil
        import tempfile

        path = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=self.images_dir))
        fd = os.open(path / _STAGING_LOCK, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)
            os.close(fd)

    def _sweep_staging(self) -> None:
        """Remove staging directories whose owner died (their lock is free). shutil is
        imported only when there is one: a killed import or remove leaves them."""
        for entry in self.images_dir.iterdir():
            if not entry.name.startswith(_STAGING_PREFIX):
                continue
            try:
                fd = os.open(entry / _STAGING_LOCK, os.O_RDWR | os.O_CLOEXEC)
            except FileNotFoundError:
                try:
                    age = time.time() - entry.lstat().st_mtime
                except FileNotFoundError:
                    continue
                if age > _STAGING_GRACE_SECONDS:
                    import shutil

                    shutil.rmtree(entry, ignore_errors=True)
                continue
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            else:
                import shutil

                shutil.rmtree(entry, ignore_errors=True)
            finally:
                os.close(fd)
