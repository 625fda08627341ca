"""Reading image archives: docker-archive and oci-archive files, and OCI layout directories.

* docker-archive: ``manifest.json`` lists each image's config file, layer files and
  ``RepoTags``; what ``podman save`` and ``docker save`` write (docker 25+ and podman 5 put the
  files under ``blobs/sha256/`` beside an OCI ``index.json``: ``manifest.json`` is still read,
  it carries the names).
* oci-archive / OCI layout: ``oci-layout`` + ``index.json`` + ``blobs/sha256``; one image per
  manifest (several index entries naming one manifest are one image with several names; a
  nested index resolves to the host's linux platform).

Everything is untrusted input: every file named must be in the archive (no path leads out),
every blob's sha256 is checked against the digest naming it, and each layer's uncompressed
sha256 against the config's ``rootfs.diff_ids`` as the layer is read.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ...errors import InvalidArgumentError
from ..records import OCI_MANIFEST_TYPE, ArchiveLimits
from ..references import host_architecture, normalize_reference
from .sources import DirSource, Source, TarSource, refuse
from .streams import LayerReader

#: Opens one layer as its uncompressed tarball, checked as it is read (see LayerReader).
LayerOpener = Callable[[], BinaryIO]

MAX_IMAGES = 1000
#: overlayfs takes about 500 lower directories; no real image comes near.
MAX_LAYERS = 500
_MAX_INDEX_DEPTH = 4
_DIGEST = re.compile(r"sha256:([0-9a-f]{64})")
_NAMED_BLOB = re.compile(r"(?:.*/)?(?:blobs/sha256/)?([0-9a-f]{64})(?:\.json|\.tar)?")
_DOCKER_MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
_MANIFEST_TYPES = (OCI_MANIFEST_TYPE, _DOCKER_MANIFEST_TYPE)
_INDEX_TYPES = ("application/vnd.oci.image.index.v1+json",
                "application/vnd.docker.distribution.manifest.list.v2+json")
_CONFIG_TYPES = ("application/vnd.oci.image.config.v1+json",
                 "application/vnd.docker.container.image.v1+json")
_LAYER_TYPES = (
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
)
REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"


@dataclass
class ArchiveImage:
    """One image found in an archive, its layers not read yet."""

    #: Its references, normalized (``localhost/x:1``); may be empty.
    names: list[str]
    #: The image config JSON (architecture, os, config, rootfs, history...).
    config: dict[str, Any]
    #: (diff id, opener) bottom to top; each opener gives the uncompressed layer tarball.
    layers: list[tuple[str, LayerOpener]]
    history: list[dict[str, Any]] = field(default_factory=list)
    #: The same layers as stored in the archive, maybe compressed, and not checked: (the
    #: blob's digest, or "" when the archive names none, opener), for a reader that
    #: decompresses and checks digests itself (ImageStore.add_image does).
    blobs: list[tuple[str, LayerOpener]] = field(default_factory=list)
    #: The sha256 of the config (podman's image id), hex.
    id: str = ""
    #: The manifest's digest (``sha256:...``) when the archive has one.
    digest: str = ""


def read_archive(path: Path, *, origin: str, limits: ArchiveLimits,
                 tmpdir: Path | None = None) -> list[ArchiveImage]:
    """The images in a docker-archive, an oci-archive or an OCI layout directory at ``path``.

    Nothing is extracted: layers are read from the archive when their openers are called
    (a compressed archive is decompressed once, into an anonymous file in ``tmpdir``).
    Raises InvalidArgumentError naming the problem for anything missing, malformed,
    oversized or pointing outside the archive.
    """
    path = Path(path)
    src: Source
    if path.is_dir():
        src = DirSource(path, origin, limits)
    elif path.is_file():
        src = TarSource(path, origin, limits, tmpdir)
    elif path.exists():
        raise InvalidArgumentError(f"cannot load {origin}: not a regular file or directory")
    else:
        raise InvalidArgumentError(f"cannot load {origin}: no such file or directory")
    if src.has("manifest.json"):
        images = _read_docker(src)
    elif src.has("oci-layout") and src.has("index.json"):
        images = _read_oci(src)
    else:
        raise InvalidArgumentError(
            f"cannot load {origin}: it is neither a docker-archive (no manifest.json) nor an "
            "OCI archive or layout (no oci-layout and index.json)")
    if not images:
        raise InvalidArgumentError(f"cannot load {origin}: it holds no images")
    return images


# -- shared -------------------------------------------------------------------------------

def _names(src: Source, refs: object, what: str) -> list[str]:
    if refs is None:
        return []
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        raise InvalidArgumentError(f"cannot load {src.origin}: {what} must be a list of names")
    names: list[str] = []
    for ref in refs:
        try:
            name = normalize_reference(ref)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"cannot load {src.origin}: {what}: {exc}") from None
        if name not in names:
            names.append(name)
    return names


def _diff_ids(src: Source, config: object, count: int, what: str) -> list[str]:
    """The config's rootfs.diff_ids (hex), checked against the number of layers."""
    if not isinstance(config, dict):
        raise InvalidArgumentError(f"cannot load {src.origin}: {what} is not a JSON object")
    rootfs = config.get("rootfs")
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(diff_ids, list) or rootfs.get("type") != "layers":  # type: ignore[union-attr]
        raise InvalidArgumentError(
            f"cannot load {src.origin}: {what} has no rootfs of type layers with diff_ids")
    hexes = []
    for diff_id in diff_ids:
        match = _DIGEST.fullmatch(diff_id) if isinstance(diff_id, str) else None
        if match is None:
            raise InvalidArgumentError(
                f"cannot load {src.origin}: {what} has the malformed diff id {diff_id!r} "
                "(only sha256 is supported)")
        hexes.append(match.group(1))
    if len(hexes) != count:
        raise InvalidArgumentError(
            f"cannot load {src.origin}: {what} lists {len(hexes)} diff ids for {count} layers")
    return hexes


def _history(config: dict[str, Any]) -> list[dict[str, Any]]:
    history = config.get("history")
    return [h for h in history if isinstance(h, dict)] if isinstance(history, list) else []


def _opener(src: Source, key: str, what: str, blob_hex: str | None,
            diff_hex: str) -> LayerOpener:
    def open_layer() -> BinaryIO:
        return LayerReader(src.open(key), what=f"{src.origin}: {what}",  # type: ignore[return-value]
                           blob_hex=blob_hex, diff_hex=diff_hex, max_size=src.limits.max_size)
    return open_layer


def _raw_opener(src: Source, key: str) -> LayerOpener:
    def open_blob() -> BinaryIO:
        return src.open(key)  # type: ignore[return-value]
    return open_blob


def _check_layer_count(src: Source, count: int, what: str) -> None:
    if count > MAX_LAYERS:
        raise refuse(src.origin, f"{what} has {count} layers; at most {MAX_LAYERS} are allowed")


# -- docker-archive -----------------------------------------------------------------------

def _read_docker(src: Source) -> list[ArchiveImage]:
    origin = src.origin
    manifest, _ = src.read_json(src.key("manifest.json", "manifest.json"), "manifest.json")
    if not isinstance(manifest, list) or not all(isinstance(e, dict) for e in manifest):
        raise InvalidArgumentError(
            f"cannot load {origin}: manifest.json is not a list of image entries")
    if len(manifest) > MAX_IMAGES:
        raise refuse(origin, f"it lists {len(manifest)} images; at most {MAX_IMAGES} are "
                     "allowed")
    images = []
    for n, entry in enumerate(manifest, 1):
        what = f"image {n} of manifest.json"
        config_name = entry.get("Config")
        config_key = src.key(config_name, f"the config of {what}")
        config, raw = src.read_json(config_key, f"the config {config_name!r}")
        config_hex = hashlib.sha256(raw).hexdigest()
        named = _NAMED_BLOB.fullmatch(str(config_name))
        if named and named.group(1) != config_hex:
            raise refuse(origin, f"the config {config_name!r} does not match its digest "
                         f"(its content hashes to sha256:{config_hex})")
        layer_names = entry.get("Layers")
        if not isinstance(layer_names, list):
            raise InvalidArgumentError(f"cannot load {origin}: {what} has no Layers list")
        _check_layer_count(src, len(layer_names), what)
        diff_hexes = _diff_ids(src, config, len(layer_names), f"the config {config_name!r}")
        layers: list[tuple[str, LayerOpener]] = []
        blobs: list[tuple[str, LayerOpener]] = []
        for i, (layer_name, diff_hex) in enumerate(zip(layer_names, diff_hexes, strict=True), 1):
            key = src.key(layer_name, f"layer {i} of {what}")
            # docker 25+ names a layer by its blob digest; the older layout by an id
            # (podman: the diff id), which the diff id check covers.
            blob = re.fullmatch(r"blobs/sha256/([0-9a-f]{64})", key)
            layers.append((f"sha256:{diff_hex}",
                           _opener(src, key, f"layer {i} ({layer_name})",
                                   blob.group(1) if blob else None, diff_hex)))
            blobs.append((f"sha256:{blob.group(1)}" if blob else "", _raw_opener(src, key)))
        images.append(ArchiveImage(
            names=_names(src, entry.get("RepoTags"), f"the RepoTags of {what}"),
            config=config, layers=layers, history=_history(config), blobs=blobs,
            id=config_hex))
    return images


# -- OCI ----------------------------------------------------------------------------------

def _descriptor(src: Source, desc: object, what: str) -> tuple[str, dict[str, Any]]:
    """The hex digest of a descriptor, and the descriptor, checked."""
    if not isinstance(desc, dict):
        raise InvalidArgumentError(f"cannot load {src.origin}: {what} is not a descriptor")
    digest = desc.get("digest")
    match = _DIGEST.fullmatch(digest) if isinstance(digest, str) else None
    if match is None:
        raise InvalidArgumentError(
            f"cannot load {src.origin}: {what} has the malformed or unsupported digest "
            f"{digest!r} (only sha256 is supported)")
    size = desc.get("size")
    if size is not None and (not isinstance(size, int) or size < 0):
        raise InvalidArgumentError(f"cannot load {src.origin}: {what} has a bad size {size!r}")
    return match.group(1), desc


def _blob_key(src: Source, hex_digest: str, desc: dict[str, Any], what: str) -> str:
    key = src.key(f"blobs/sha256/{hex_digest}", f"the {what} blob")
    size = desc.get("size")
    if size is not None and src.size(key) != size:
        raise refuse(src.origin, f"the {what} blob sha256:{hex_digest} is {src.size(key)} "
                     f"bytes, but its descriptor says {size}")
    return key


def _blob_json(src: Source, desc: object, what: str) -> tuple[Any, str]:
    hex_digest, checked = _descriptor(src, desc, what)
    key = _blob_key(src, hex_digest, checked, what)
    doc, raw = src.read_json(key, f"the {what} blob sha256:{hex_digest}")
    if hashlib.sha256(raw).hexdigest() != hex_digest:
        raise refuse(src.origin, f"the {what} blob sha256:{hex_digest} does not match its "
                     "digest")
    if not isinstance(doc, dict):
        raise InvalidArgumentError(
            f"cannot load {src.origin}: the {what} blob sha256:{hex_digest} is not a JSON "
            "object")
    return doc, hex_digest


def _oci_names(src: Source, desc: dict[str, Any]) -> list[str]:
    """The name an index entry gives: containerd's full name, else ref.name normalized as
    podman does (a bare ``latest`` is ``localhost/latest:latest``)."""
    annotations = desc.get("annotations")
    if not isinstance(annotations, dict):
        return []
    for key in (CONTAINERD_NAME, REF_NAME):
        value = annotations.get(key)
        if isinstance(value, str) and value:
            return _names(src, [value], f"the {key} annotation")
    return []


def _platform_manifest(src: Source, desc: dict[str, Any]) -> dict[str, Any]:
    """Follow nested indexes to the manifest for linux on this host's architecture."""
    for _ in range(_MAX_INDEX_DEPTH):
        if desc.get("mediaType") not in _INDEX_TYPES:
            return desc
        index, _ = _blob_json(src, desc, "index")
        entries = [m for m in index.get("manifests") or [] if isinstance(m, dict)]
        arch = host_architecture()
        fitting = [m for m in entries if isinstance(m.get("platform"), dict)
                   and m["platform"].get("os") == "linux"
                   and m["platform"].get("architecture") == arch]
        if not fitting and len(entries) == 1:
            fitting = entries
        if not fitting:
            raise InvalidArgumentError(f"cannot load {src.origin}: no image for linux/{arch}")
        desc = fitting[0]
    raise refuse(src.origin, f"its indexes nest more than {_MAX_INDEX_DEPTH} deep")


def _read_oci(src: Source) -> list[ArchiveImage]:
    origin = src.origin
    layout, _ = src.read_json(src.key("oci-layout", "oci-layout"), "oci-layout")
    if not isinstance(layout, dict) or not isinstance(layout.get("imageLayoutVersion"), str):
        raise InvalidArgumentError(f"cannot load {origin}: oci-layout has no imageLayoutVersion")
    index, _ = src.read_json(src.key("index.json", "index.json"), "index.json")
    entries = index.get("manifests") if isinstance(index, dict) else None
    if not isinstance(entries, list):
        raise InvalidArgumentError(f"cannot load {origin}: index.json has no manifests list")
    if len(entries) > MAX_IMAGES:
        raise refuse(origin, f"index.json lists {len(entries)} manifests; at most {MAX_IMAGES}"
                     " are allowed")
    by_digest: dict[str, ArchiveImage] = {}
    for n, entry in enumerate(entries, 1):
        _descriptor(src, entry, f"manifest {n} of index.json")
        names = _oci_names(src, entry)
        desc = _platform_manifest(src, entry)
        media_type = desc.get("mediaType")
        # The media type is required by the spec, but some tools leave it out of index.json;
        # the manifest's own content is checked below.
        if media_type is not None and media_type not in _MANIFEST_TYPES:
            raise InvalidArgumentError(
                f"cannot load {origin}: unsupported manifest media type {media_type!r}")
        manifest, manifest_hex = _blob_json(src, desc, "manifest")
        known = by_digest.get(manifest_hex)
        if known is not None:
            known.names.extend(n for n in names if n not in known.names)
            continue
        what = f"manifest sha256:{manifest_hex[:12]}"
        config_desc = manifest.get("config")
        if not isinstance(config_desc, dict) or config_desc.get("mediaType") not in _CONFIG_TYPES:
            raise InvalidArgumentError(f"cannot load {origin}: {what} has no image config")
        config, config_hex = _blob_json(src, config_desc, "config")
        layer_descs = manifest.get("layers")
        if not isinstance(layer_descs, list):
            raise InvalidArgumentError(f"cannot load {origin}: {what} has no layers list")
        _check_layer_count(src, len(layer_descs), what)
        diff_hexes = _diff_ids(src, config, len(layer_descs), f"the config of {what}")
        layers: list[tuple[str, LayerOpener]] = []
        blobs: list[tuple[str, LayerOpener]] = []
        for i, (layer_desc, diff_hex) in enumerate(zip(layer_descs, diff_hexes, strict=True), 1):
            layer_what = f"layer {i} of {what}"
            blob_hex, checked = _descriptor(src, layer_desc, layer_what)
            if checked.get("mediaType") not in _LAYER_TYPES:
                raise InvalidArgumentError(
                    f"cannot load {origin}: {layer_what} has the unsupported media type "
                    f"{checked.get('mediaType')!r}")
            key = _blob_key(src, blob_hex, checked, layer_what)
            layers.append((f"sha256:{diff_hex}",
                           _opener(src, key, f"{layer_what} (blob sha256:{blob_hex[:12]})",
                                   blob_hex, diff_hex)))
            blobs.append((f"sha256:{blob_hex}", _raw_opener(src, key)))
        by_digest[manifest_hex] = ArchiveImage(
            names=list(names), config=config, layers=layers, history=_history(config),
            blobs=blobs, id=config_hex, digest=f"sha256:{manifest_hex}")
    return list(by_digest.values())
