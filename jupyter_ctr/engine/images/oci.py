"""OCI image layouts (``oci-layout`` + ``index.json`` + ``blobs/``), as directories or as the
content of an OCI archive: choose the image, check its manifest and config blobs, and list its
layer blobs (which the image store applies itself, see ``layers``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..errors import InvalidArgumentError
from ..timeutil import parse_rfc3339_ns
from .archive import sha256_file
from .records import OCI_MANIFEST_TYPE
from .references import host_architecture

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_MAX_JSON_BYTES = 4 << 20
#: Layer blobs an import applies: tar, gzip or zstd, OCI's or Docker's media types.
LAYER_TYPES = (
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar",
)
_INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
_CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
_REF_NAME = "org.opencontainers.image.ref.name"
_DIGEST_PATTERN = r"sha256:([0-9a-f]{64})"


def is_oci_layout(path: Path) -> bool:
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
    if sha256_file(blob) != hex_digest:
        raise InvalidArgumentError(
            f"{origin} is not a valid OCI image layout: the {what} blob sha256:{hex_digest} "
            "does not match its digest"
        )
    return doc


def _parse_rfc3339(value: object) -> float | None:
    """Unix seconds of an OCI config's ``created``; None when absent or not a time."""
    if not isinstance(value, str):
        return None
    try:
        return parse_rfc3339_ns(value) / 1e9 or None
    except ValueError:
        return None
class OciSelection:
    """The image chosen in a layout: its manifest descriptor and digest, its config blob."""

    def __init__(self, descriptor: dict[str, Any], manifest_hex: str, config_hex: str,
                 config: dict[str, Any], manifest: dict[str, Any] | None = None) -> None:
        self.descriptor = descriptor
        self.manifest_hex = manifest_hex
        self.manifest = manifest or {}
        #: podman's image id is the config digest.
        self.config_hex = config_hex
        self.config = config

    def image_config(self) -> dict[str, Any]:
        """The image config (Env, Cmd, ...) as the config blob has it; empty if it has none."""
        raw = self.config.get("config")
        return raw if isinstance(raw, dict) else {}

    def diff_ids(self) -> list[str]:
        """The config's ``rootfs.diff_ids`` (bottom to top); empty if it has none."""
        rootfs = self.config.get("rootfs")
        ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
        return [str(x) for x in ids] if isinstance(ids, list) else []

    def layer_blobs(self, layout: Path, origin: str) -> list[tuple[Path, str]]:
        """The manifest's layer blobs, bottom to top, as (path, ``sha256:<hex>``); each must
        be present, of a layer media type, and match a diff_id of the config."""
        layers = self.manifest.get("layers")
        if not isinstance(layers, list) or not all(isinstance(d, dict) for d in layers):
            raise InvalidArgumentError(
                f"{origin}: manifest sha256:{self.manifest_hex} has no layers list")
        if len(layers) != len(self.diff_ids()):
            raise InvalidArgumentError(
                f"{origin}: manifest sha256:{self.manifest_hex} lists {len(layers)} layers "
                f"but its config has {len(self.diff_ids())} diff_ids")
        blobs = []
        for desc in layers:
            media_type = desc.get("mediaType")
            if media_type not in LAYER_TYPES:
                raise InvalidArgumentError(f"{origin}: unsupported layer media type "
                                           f"{media_type!r}")
            hex_digest = _descriptor_hex(desc, origin)
            blob = layout / "blobs" / "sha256" / hex_digest
            if blob.is_symlink() or not blob.is_file():
                raise InvalidArgumentError(
                    f"{origin} is not a valid OCI image layout: the layer blob "
                    f"sha256:{hex_digest} is missing")
            blobs.append((blob, f"sha256:{hex_digest}"))
        return blobs

    def record(self, created: float) -> dict[str, Any]:
        """The image's row in the StateStore, but for its config and size; ``created`` when
        the config blob has no valid time."""
        rootfs_diff = self.config.get("rootfs")
        layers = rootfs_diff.get("diff_ids") if isinstance(rootfs_diff, dict) else None
        return {
            "created": _parse_rfc3339(self.config.get("created")) or created,
            "architecture": str(self.config.get("architecture") or host_architecture()),
            "os": str(self.config.get("os") or "linux"),
            "digest": f"sha256:{self.manifest_hex}",
            "layers": [str(x) for x in layers] if isinstance(layers, list) else [],
            "source": "oci",
        }


def select_image(layout: Path, name: str, origin: str) -> OciSelection:
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
        if chosen.get("mediaType") not in _INDEX_TYPES:
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
    if media_type != OCI_MANIFEST_TYPE:
        raise InvalidArgumentError(
            f"{origin}: unsupported manifest media type {media_type!r}; expected "
            f"{OCI_MANIFEST_TYPE}"
        )
    manifest_hex = _descriptor_hex(chosen, origin)
    manifest = _read_blob(layout, manifest_hex, "manifest", origin)
    config_desc = manifest.get("config")
    if not isinstance(config_desc, dict) or config_desc.get("mediaType") != _CONFIG_TYPE:
        raise InvalidArgumentError(
            f"{origin}: manifest sha256:{manifest_hex} has no OCI image config")
    config_hex = _descriptor_hex(config_desc, origin)
    config = _read_blob(layout, config_hex, "config", origin)
    descriptor = {"mediaType": OCI_MANIFEST_TYPE, "digest": chosen["digest"],
                  "size": chosen.get("size", 0)}
    return OciSelection(descriptor, manifest_hex, config_hex, config, manifest)
