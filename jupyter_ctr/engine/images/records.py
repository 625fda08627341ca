"""The image package's records: ``Image`` (one local image), ``ImageRemoveReport`` (what a
removal did) and ``ArchiveLimits`` (what an archive to import may hold).

They are plain classes, not dataclasses (which, with inspect, cost ~4 ms to import): creating
a container looks an image up, and that path loads this module.
"""

from __future__ import annotations

import time

from .. import settings
from .references import host_architecture

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

#: The only image manifest type an import takes, and what inspect reports.
OCI_MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"


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


def rfc3339(ts: float) -> str:
    """``2026-11-29T01:02:03.123456789Z`` for a float timestamp (time, not datetime: this
    module is loaded by every create)."""
    whole = int(ts)
    nanos = int(round((ts - whole) * 1e9))
    if nanos >= 1_000_000_000:
        whole, nanos = whole + 1, nanos - 1_000_000_000
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
    return f"{base}.{nanos:09d}Z"


class Image(_Record):
    """One local image: its names, OCI config subset and layers (diff ids, bottom to top).

    ``rootfs`` is its top layer directory (the whole root filesystem of a one-layer image;
    ImageStore.layer_dirs gives them all), ``lowerdir`` all of them as overlayfs takes them
    (top first, colon-separated)."""

    _fields = ("id", "names", "rootfs", "config", "created", "size", "architecture", "os",
               "digest", "layers", "lowerdir", "history", "author")
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
    lowerdir: str
    #: The OCI config's history entries (created, created_by, comment, author, empty_layer).
    history: list[dict[str, Any]]
    author: str

    def __init__(self, id: str, names: list[str], rootfs: Path,
                 config: dict[str, Any], created: float, size: int,
                 architecture: str | None = None, os: str = "linux", digest: str = "",
                 layers: list[str] | None = None, lowerdir: str = "",
                 history: list[dict[str, Any]] | None = None, author: str = "") -> None:
        self._init(id=id, names=names, rootfs=rootfs, config=config, created=created,
                   size=size,
                   architecture=host_architecture() if architecture is None else architecture,
                   os=os, digest=digest, layers=[] if layers is None else layers,
                   lowerdir=lowerdir or str(rootfs),
                   history=[] if history is None else history, author=author)

    def inspect(self) -> dict[str, Any]:
        """A dict shaped like one element of ``podman image inspect``."""
        import copy  # noqa: PLC0415 - lazy: create loads this module and never inspects

        digest = self.digest or f"sha256:{self.id}"
        config = {k: copy.deepcopy(v) for k, v in self.config.items() if v is not None}
        # podman's Comment: the message of the commit that made the image (its last entry).
        comment = str(self.history[-1].get("comment") or "") if self.history else ""
        return {
            "Id": self.id,
            "Digest": digest,
            "RepoTags": list(self.names),
            "RepoDigests": [f"{n.rsplit(':', 1)[0]}@{digest}" for n in self.names],
            "Parent": "",
            "Comment": comment,
            "Created": rfc3339(self.created),
            "Config": config,
            "Version": "",
            "Author": self.author,
            "Architecture": self.architecture,
            "Os": self.os,
            "Size": self.size,
            "VirtualSize": self.size,
            "GraphDriver": {"Name": "overlay", "Data": {"LowerDir": self.lowerdir}},
            "RootFS": {"Type": "layers", "Layers": list(self.layers)},
            "Labels": copy.deepcopy(self.config.get("Labels") or {}),
            "Annotations": {},
            "ManifestType": OCI_MANIFEST_TYPE,
            "User": self.config.get("User") or "",
            "History": copy.deepcopy(self.history),
            "NamesHistory": [],
        }


class ImageRemoveReport(_Record):
    """What removing an image by one reference did (libimage's RemoveImageReport): the names
    ``untagged`` (the one named, or all the image's when it went) and whether the image
    itself was ``removed`` (podman's "Deleted")."""

    _fields = ("id", "untagged", "removed")
    id: str
    untagged: list[str]
    removed: bool

    def __init__(self, id: str, untagged: list[str], removed: bool) -> None:
        self._init(id=id, untagged=untagged, removed=removed)


class ArchiveLimits(_Record):
    """What an archive to import may hold (EngineConfig.archive_max_*), checked from each
    member's header before any of its bytes is written or hashed (see ``archive``).

    Kept here rather than in ``archive`` so that the store, which every create loads to look
    an image up, gets it without tarfile."""

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
