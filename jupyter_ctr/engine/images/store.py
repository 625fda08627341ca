"""ImageStore: the local images, their layers, names and configs (rows in the StateStore).

An image is a list of layers (bottom to top) plus a row with its config and names. Layers are
content-addressed and shared: ``<root>/layers/<diff_id hex>/diff`` (overlayfs lower-layer
format, see ``layers``) and ``layer.json`` (sizes, compressed digest), each extracted once
whatever the number of images listing it, and removed with the last image that lists it. A
container's overlay mounts an image's layer directories as its lower directories.

All work happens in ``<root>/images/.staging-<random>``; each finished layer directory is
renamed into place in one step and the staging directory is always removed, so a failed
import leaves neither files nor rows behind. A layer directory that exists is complete.
Placing layers and writing an image's row happen under the layer lock (``layers/.lock``), as
does the removal of layers no image lists any more, so an import never gets a layer that a
concurrent removal is deleting. Removing an image is refused while a container uses it.

Images imported before layers existed keep their flattened ``<root>/images/<id>/rootfs``,
which serves as their one layer.

Creating a container only looks an image up, and that loads this module: the archive, OCI
and demo modules (tarfile, hashlib, the decompressors, datetime) are imported by the methods
that use them. Staging directories are engine/staging.py's (named by their owner process).
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from ..errors import (
    ImageInUseError,
    ImageNamesConflictError,
    InvalidArgumentError,
    NoSuchImageError,
)
from ..locks import ContainerLock
from ..staging import staging_dir, sweep_staging
from ..storage import LAYER_LINKS, layer_link_name, remove_tree
from ..store import StateStore
from ..timeutil import parse_rfc3339_ns
from .records import ArchiveLimits, Image, ImageRemoveReport, rfc3339
from .references import DEFAULT_DOMAIN, host_architecture, normalize_reference

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, BinaryIO

    from .layers import LayerReport

    LayerOpener = Callable[[], BinaryIO]
    """Opens a layer tarball (plain or compressed) for reading; the caller closes it."""
    # ImageStore.list shadows the builtin in the class body: these spell its types there.
    _Strings = list[str]
    _Layers = list[tuple[str, LayerOpener]]
    _Sources = list["_LayerSource | None"]
    _Staged = list["_StagedLayer | None"]
    _History = list[Any]
    _Paths = list[Path]
    _Images = list[Image]
    Progress = Callable[[str], None]

DEFAULT_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

_CONFIG_KEYS = ("Env", "Cmd", "Entrypoint", "WorkingDir", "User", "Labels", "StopSignal",
                "ExposedPorts", "Volumes")
#: The image's layer directory under ``<root>/layers/<hex>``, and its metadata file.
_LAYER_DIFF = "diff"
_LAYER_META = "layer.json"
_STAGING_PREFIX = ".staging-"
_HEX_DIGITS = "0123456789abcdef"

ImageUsers = Callable[[str], list[str]]
"""Given an image id, the names of the containers made from it."""


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
    stop_signal, ports = merged.get("StopSignal"), merged.get("ExposedPorts")
    if stop_signal is not None and not isinstance(stop_signal, str):
        raise InvalidArgumentError(f"{origin}: image config StopSignal must be a string")
    if ports is not None and not (isinstance(ports, dict) and all(
            isinstance(k, str) for k in ports)):
        raise InvalidArgumentError(f"{origin}: image config ExposedPorts must be an object "
                                   "keyed by port/protocol")
    if workdir is not None and not isinstance(workdir, str):
        raise InvalidArgumentError(f"{origin}: image config WorkingDir must be a string")
    if user is not None and not isinstance(user, str):
        raise InvalidArgumentError(f"{origin}: image config User must be a string")
    if labels is not None and not (isinstance(labels, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in labels.items())):
        raise InvalidArgumentError(f"{origin}: image config Labels must map strings to strings")
    cleaned = {
        "Env": _string_list(env, "Env", origin) if env is not None else [],
        "Cmd": _string_list(cmd, "Cmd", origin) if cmd is not None else None,
        "Entrypoint": (_string_list(entrypoint, "Entrypoint", origin)
                       if entrypoint is not None else None),
        "WorkingDir": workdir or "/",
        "User": user or "",
        "Labels": dict(labels or {}),
    }
    if stop_signal:
        cleaned["StopSignal"] = stop_signal
    if ports:
        cleaned["ExposedPorts"] = {k: {} for k in ports}
    volumes = merged.get("Volumes")
    if volumes:
        if not (isinstance(volumes, dict) and all(isinstance(k, str) for k in volumes)):
            raise InvalidArgumentError(f"{origin}: image config Volumes must be an object "
                                       "keyed by path")
        cleaned["Volumes"] = {k: {} for k in volumes}
    return cleaned


def _parse_created(value: object) -> float | None:
    """Unix seconds of an OCI config's ``created``; None when absent or not a time."""
    if not isinstance(value, str):
        return None
    try:
        return parse_rfc3339_ns(value) / 1e9 or None
    except ValueError:
        return None


class _LayerSource:
    """One layer to add: its diff_id ("" if unknown), an opener of its tarball, and the
    digest of the tarball as stored ("" if unknown), checked when given."""

    def __init__(self, diff_id: str, opener: LayerOpener, digest: str = "") -> None:
        self.diff_id = diff_id
        self.opener = opener
        self.digest = digest


class _StagedLayer:
    """A layer applied in staging: ``path`` holds ``diff/`` and ``layer.json``."""

    def __init__(self, path: Path, meta: dict[str, Any], report: LayerReport) -> None:
        self.path = path
        self.meta = meta
        self.report = report

    @property
    def diff_id(self) -> str:
        return str(self.meta["diff_id"])


def _layer_hex(diff_id: str, origin: str) -> str:
    hex_digest = diff_id.removeprefix("sha256:")
    if not diff_id.startswith("sha256:") or len(hex_digest) != 64 or hex_digest.strip(
            _HEX_DIGITS):
        raise InvalidArgumentError(f"{origin}: invalid layer diff_id {diff_id!r} (only sha256 "
                                   "is supported)")
    return hex_digest


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
        self.layers_dir = self.root / "layers"
        self.layers_dir.mkdir(mode=0o700, exist_ok=True)
        self._sweep_staging()

    # -- public API ----------------------------------------------------------------------
    def import_image(self, path: str | Path, reference: str, *,
                     config: Mapping[str, Any] | None = None) -> Image:
        """Import a rootfs tarball, OCI layout directory or OCI archive as ``reference``.

        ``config`` overrides keys of the image config (like ``podman import --change``).
        The same content imported again only gains the name; a name held by another image
        moves to this one. Raises InvalidArgumentError for missing, corrupt or unsafe input.
        """
        from . import archive, oci  # noqa: PLC0415 - lazy: tarfile, hashlib...: not for create

        name = normalize_reference(reference)
        source = Path(path)
        origin = str(path)
        _clean_config({}, config, origin)  # fail fast on bad overrides
        if not source.exists():
            raise InvalidArgumentError(f"cannot import {origin}: no such file or directory")
        if source.is_dir():
            if not oci.is_oci_layout(source):
                raise InvalidArgumentError(
                    f"cannot import {origin}: a directory must be an OCI image layout "
                    "(with oci-layout and index.json)"
                )
            return self._import_oci(source, name, config, origin)
        if not source.is_file():
            raise InvalidArgumentError(f"cannot import {origin}: not a regular file")
        image_id = archive.sha256_file(source)
        if self._known(image_id):
            return self._add_name(image_id, name)
        with self._staging() as staging:
            # A rootfs tarball is one layer; an OCI archive is a layout in a tarball, applied
            # the same way, then checked strictly: its blobs are read here, on the host.
            layer = self._stage_layer(staging, 0, _LayerSource("", lambda: source.open("rb")),
                                      origin)
            tree = layer.path / _LAYER_DIFF
            if oci.is_oci_layout(tree):
                archive.scan_rootfs(tree, origin)
                return self._import_oci(tree, name, config, origin)
            if layer.report.members == 0:
                raise InvalidArgumentError(f"{origin} is an empty archive: nothing to import")
            now = time.time()
            oci_config = {
                "created": rfc3339(now), "architecture": host_architecture(), "os": "linux",
                "config": _clean_config({"Env": [DEFAULT_PATH_ENV]}, config, origin),
                "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]},
                "history": [{"created": rfc3339(now), "created_by": f"import {source.name}"}],
            }
            return self._commit_image(staging, image_id, [name], oci_config, [None],
                                      [layer], origin, digest=f"sha256:{image_id}",
                                      source="tarball")

    def add_image(self, config: dict[str, Any], layers: _Layers, names: _Strings, *,
                  origin: str, history: _History | None = None, image_id: str = "",
                  digest: str = "", layer_digests: _Strings | None = None) -> Image:
        """Add an image from its OCI image ``config`` (the config blob as a dict) and its
        ``layers``, bottom to top: (diff_id or "" if unknown, opener of the layer tarball).

        Layers already here (by diff_id) are reused without opening them; the others are
        applied in staging (``layers.apply_layer``), checked against the diff_ids given and
        against ``config['rootfs']['diff_ids']``, and shared from then on. ``image_id``
        (hex) defaults to the sha256 of the config as canonical JSON (pass the config blob's
        digest to keep the source's id); ``digest`` is the manifest's; ``layer_digests`` the
        layer blobs' (checked against what is read). An id already here only gains the
        names. Raises InvalidArgumentError for an unsafe, corrupt or inconsistent image.
        """
        import hashlib  # noqa: PLC0415 - lazy: not for create
        import json  # noqa: PLC0415 - lazy: as above

        checked = [normalize_reference(n) for n in names]
        if not layers:
            raise InvalidArgumentError(f"cannot add {origin}: the image has no layers")
        if layer_digests is not None and len(layer_digests) != len(layers):
            raise InvalidArgumentError(f"cannot add {origin}: {len(layers)} layers but "
                                       f"{len(layer_digests)} layer digests")
        image_id = image_id.removeprefix("sha256:") or hashlib.sha256(
            json.dumps(config, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
        _layer_hex(f"sha256:{image_id}", origin)
        if self._known(image_id):
            return self._add_names(image_id, checked)
        sources: _Sources = [
            _LayerSource(diff_id, opener, (layer_digests or [""] * len(layers))[i])
            for i, (diff_id, opener) in enumerate(layers)]
        config = dict(config)
        if history is not None:
            config["history"] = list(history)
        with self._staging() as staging:
            staged: _Staged = []
            used = 0  # archive_max_size bounds the layers applied together
            for i, src in enumerate(sources):
                assert src is not None
                if src.diff_id and self._layer_ready(_layer_hex(src.diff_id, origin)):
                    staged.append(None)
                else:
                    layer = self._stage_layer(staging, i, src, origin,
                                              max_size=self.limits.max_size - used)
                    used += layer.report.size
                    staged.append(layer)
            return self._commit_image(staging, image_id, checked, config, sources, staged,
                                      origin, digest=digest, source="layers")

    def layer_dirs(self, image: Image) -> _Paths:
        """The image's layer directories, bottom to top (an image imported before layers
        existed: its one flattened rootfs)."""
        legacy = self.images_dir / image.id / "rootfs"
        if legacy.is_dir():
            return [legacy]
        return [self.layers_dir / d.removeprefix("sha256:") / _LAYER_DIFF for d in image.layers]

    def oci_config(self, image: Image) -> dict[str, Any]:
        """The image's OCI image config (what save and push write as its config blob)."""
        import copy  # noqa: PLC0415 - lazy: not for create

        record, _ = self.store.image(image.id)
        config = record.get("oci_config")
        if isinstance(config, dict):
            return copy.deepcopy(config)
        return {"created": rfc3339(image.created), "architecture": image.architecture,
                "os": image.os, "config": copy.deepcopy(image.config),
                "rootfs": {"type": "layers", "diff_ids": list(image.layers)}}

    def layer_info(self, diff_id: str) -> dict[str, Any]:
        """A stored layer's metadata: diff_id, size (of its tar stream), files_size,
        compressed_digest (of the blob it came from), compression. NoSuchImageError if the
        layer is not here."""
        import json  # noqa: PLC0415 - lazy: not for create

        path = self.layers_dir / _layer_hex(diff_id, diff_id) / _LAYER_META
        try:
            meta = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise NoSuchImageError(f"layer {diff_id} is not in the store") from exc
        return dict(meta)

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

    def remove_reference(self, ref_or_id: str, users: ImageUsers, *,
                         force: bool = False) -> ImageRemoveReport:
        """``podman rmi REF`` (libimage's removal by one reference): by one of several names,
        only untag that name (the image stays, containers may use it); by its last name, or
        by id with at most one name, delete the image (``remove``: ImageInUseError while a
        container uses it). By id with several names: ImageNamesConflictError unless
        ``force`` (then the image goes with all its names). Unlike ``podman rmi -f``,
        ``force`` removes no container."""
        image_id, name = self._resolve_named(ref_or_id)
        if name is not None and self.store.untag_image_unless_last(name, image_id):
            return ImageRemoveReport(image_id, [name], removed=False)
        _, names = self.store.image(image_id)
        if name is not None and name not in names:  # untagged or moved meanwhile
            raise NoSuchImageError(f"{ref_or_id}: image not known")
        if name is None and len(names) > 1 and not force:
            raise ImageNamesConflictError(
                f'unable to delete image "{image_id}" by ID with more than one tag '
                f"({', '.join(names)}): please force removal")
        self.remove(image_id, users)
        return ImageRemoveReport(image_id, names, removed=True)

    def remove(self, ref_or_id: str, users: ImageUsers) -> str:
        """Delete an image, all its names and its files; return its id (``remove_reference``
        is ``podman rmi``'s, which may only untag).

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
            self._remove_unused_layers(staging)
        return image_id

    # -- commit, history, prune (podman commit, image history, image prune) ----------------
    def scratch(self) -> contextlib.AbstractContextManager[Path]:
        """A private directory on the store's file system, always removed after (commit
        writes its layer tarball there)."""
        return self._staging()

    def is_flattened(self, image: Image) -> bool:
        """True for an image imported before layers existed: one flattened rootfs, no
        layer records (``layer_dirs`` gives that rootfs)."""
        return not image.layers or (self.images_dir / image.id / "rootfs").is_dir()

    def history(self, image: Image) -> _History:
        """``podman image history``: the image's history entries, newest first, each with
        ``id`` (the image's for the newest, "<missing>" below it, as podman), ``created``
        (unix seconds), ``created_by``, ``comment``, ``author``, ``empty_layer``, ``tags``
        (the image's names on the newest) and ``size`` (bytes of the entry's layer; 0 for
        an empty_layer entry). Layers without an entry (images made without history) get
        one with no command."""
        entries = [h for h in image.history if isinstance(h, dict)]
        flattened = self.is_flattened(image)
        layers = [] if flattened else list(image.layers)
        layer_count = 1 if flattened else len(layers)
        filled = sum(1 for h in entries if not h.get("empty_layer"))
        # Layers below the first history entry (a config without history): entries of their
        # own, at the bottom, dated as the image.
        missing = [{"created_by": ""} for _ in range(max(layer_count - filled, 0))]
        rows = []
        index = 0
        for entry in missing + entries:
            empty = bool(entry.get("empty_layer"))
            size = 0
            if not empty:
                if flattened:
                    size = image.size if index == 0 else 0
                elif index < len(layers):
                    size = self._layer_files_size(layers[index])
                index += 1
            rows.append({
                "id": "<missing>", "created": _parse_created(entry.get("created"))
                or image.created, "created_by": str(entry.get("created_by") or ""),
                "comment": str(entry.get("comment") or ""),
                "author": str(entry.get("author") or ""), "empty_layer": empty,
                "size": size, "tags": [],
            })
        rows.reverse()
        if rows:
            rows[0]["id"] = image.id
            rows[0]["tags"] = list(image.names)
        return rows

    def prune(self, all: bool = False, users: ImageUsers | None = None) -> _Strings:  # noqa: A002 - podman's flag
        """``podman image prune``: remove the dangling images (no name, no image built on
        them) that no container uses, or with ``all`` every image no container uses, again
        until none is left to remove (removing one may leave its parent dangling); the
        layers no image lists any more go with them. Returns the ids removed."""
        def no_users(image_id: str) -> list[str]:
            return []

        in_use = users or no_users
        removed: list[str] = []
        while True:
            images = self.list()
            doomed = [img.id for img in images
                      if (all or (not img.names and not self._has_children(img, images)))
                      and not in_use(img.id)]
            progress = False
            for image_id in doomed:
                try:
                    self.remove(image_id, in_use)
                except (NoSuchImageError, ImageInUseError):
                    continue  # removed meanwhile, or a container was made from it meanwhile
                removed.append(image_id)
                progress = True
            if not progress:
                return removed

    def _has_children(self, image: Image, images: _Images) -> bool:
        """An image whose layers start another's (a commit's base): podman's intermediate
        image, which a plain prune keeps."""
        n = len(image.layers)
        return n > 0 and any(len(other.layers) > n and other.layers[:n] == image.layers
                             for other in images if other.id != image.id)

    def _layer_files_size(self, diff_id: str) -> int:
        try:
            return int(self.layer_info(diff_id).get("files_size") or 0)
        except (NoSuchImageError, InvalidArgumentError):
            return 0

    def build_demo(self, reference: str = "localhost/busybox:latest", *,
                   busybox: str | Path | None = None) -> Image:
        """Build (once) a tiny image from the host's static busybox, every applet in /bin.

        The tarball is reproducible, so the id is the same on every run with the same busybox.
        """
        from . import archive, demo  # noqa: PLC0415 - lazy: tarfile, hashlib: not for create

        name = normalize_reference(reference)
        binary = demo.find_static_busybox(busybox)
        with self._staging() as staging:
            tarball = staging / "busybox-rootfs.tar"
            demo.write_tarball(binary, tarball)
            image_id = archive.sha256_file(tarball)
            if self._known(image_id):
                _, names = self.store.image(image_id)
                if name in names:
                    return self._load(image_id)
            return self.import_image(tarball, name, config={
                "Cmd": ["sh"], "Env": [DEFAULT_PATH_ENV], "WorkingDir": "/"})

    # -- transfer: pull, push, load, save (transfer.py does the work) ---------------------
    def pull(self, reference: str, *, tls_verify: bool = True, auth_file: str | None = None,
             progress: Progress | None = None) -> Image:
        """Pull the registry image ``reference`` (``podman pull``): named by the normalized
        reference (``busybox`` -> ``docker.io/library/busybox:latest``); the same image
        pulled again only gains the name. ``tls_verify`` and ``auth_file`` are podman's
        ``--tls-verify`` and ``--authfile``; ``progress`` gets podman's lines ("Copying blob
        sha256:...", "Writing manifest to image destination", "Storing signatures").
        Raises NoSuchImageError (the registry does not know it), RegistryAuthError,
        RegistryError. Nothing is left in staging, whatever happens."""
        from . import transfer  # noqa: PLC0415 - lazy: formats, tarfile: not for create

        with self._staging() as staging:
            return transfer.pull(self, reference, staging, tls_verify=tls_verify,
                                 auth_file=auth_file, progress=progress)

    def push(self, ref: str, destination: str | None = None, *, tls_verify: bool = True,
             auth_file: str | None = None, progress: Progress | None = None) -> str:
        """Push the image ``ref`` to the registry image ``destination`` (default: its name)
        like ``podman push``; the digest of the manifest the registry now holds. Options,
        progress and errors as ``pull``."""
        from . import transfer  # noqa: PLC0415 - lazy: as above

        with self._staging() as staging:
            return transfer.push(self, ref, staging, destination, tls_verify=tls_verify,
                                 auth_file=auth_file, progress=progress)

    def load(self, path: str | Path) -> _Images:
        """Add every image of a docker-archive, oci-archive or OCI layout (``podman load``);
        all or nothing."""
        from . import transfer  # noqa: PLC0415 - lazy: as above

        return transfer.load(self, path)

    def save(self, refs: _Strings, dest: BinaryIO | str | Path, *,
             format: str = "docker-archive", compress: bool = False) -> None:  # noqa: A002
        """Write the images ``refs`` name to ``dest`` (``podman save``): see transfer.save."""
        from . import transfer  # noqa: PLC0415 - lazy: as above

        transfer.save(self, refs, dest, format=format, compress=compress)

    # -- internals -----------------------------------------------------------------------
    def _known(self, image_id: str) -> bool:
        try:
            self.store.image(image_id)
        except NoSuchImageError:
            return False
        return True

    def _load(self, image_id: str) -> Image:
        record, names = self.store.image(image_id)
        layers = [str(layer) for layer in record.get("layers") or []]
        rootfs = self.images_dir / image_id / "rootfs"
        lowerdir = str(rootfs)
        if record.get("storage") == "layers" and layers:
            dirs = [self.layers_dir / d.removeprefix("sha256:") / _LAYER_DIFF for d in layers]
            rootfs = dirs[-1]
            lowerdir = ":".join(str(d) for d in reversed(dirs))
        oci_config = record.get("oci_config")
        history = record.get("history")
        if not isinstance(history, list) and isinstance(oci_config, dict):
            history = oci_config.get("history")
        return Image(
            id=image_id,
            names=names,
            rootfs=rootfs,
            config=record["config"],
            created=float(record["created"]),
            size=int(record.get("size", 0)),
            architecture=str(record.get("architecture") or host_architecture()),
            os=str(record.get("os") or "linux"),
            digest=str(record.get("digest") or ""),
            layers=layers,
            lowerdir=lowerdir,
            history=[h for h in history if isinstance(h, dict)] if isinstance(
                history, list) else [],
            author=str(oci_config.get("author") or "") if isinstance(oci_config, dict) else "",
        )

    def _add_name(self, image_id: str, name: str) -> Image:
        self.store.tag_image(name, image_id)
        return self._load(image_id)

    def _add_names(self, image_id: str, names: _Strings) -> Image:
        for name in names:
            self.store.tag_image(name, image_id)
        return self._load(image_id)

    def _resolve(self, ref_or_id: str) -> str:
        """The id of the image ``ref_or_id`` names; NoSuchImageError if none or ambiguous."""
        return self._resolve_named(ref_or_id)[0]

    def _resolve_named(self, ref_or_id: str) -> tuple[str, str | None]:
        """The id of the image ``ref_or_id`` names and the name it matched (None when it
        matched by id or id prefix); NoSuchImageError if none or ambiguous."""
        not_known = NoSuchImageError(f"{ref_or_id}: image not known")
        ref = ref_or_id.strip() if isinstance(ref_or_id, str) else ""
        if not ref:
            raise not_known
        ids = self.store.image_ids()
        candidate = ref.removeprefix("sha256:")
        is_hex = bool(candidate) and not candidate.strip(_HEX_DIGITS)
        if is_hex and candidate in ids:
            return candidate, None
        if not ref.startswith("sha256:"):
            try:
                name = normalize_reference(ref)
            except InvalidArgumentError:
                name = ""
            found = self.store.image_id_for_name(name) if name else None
            if found is not None:
                return found, name
        if is_hex and len(candidate) >= 3:
            matches = [i for i in ids if i.startswith(candidate)]
            if len(matches) > 1:
                raise NoSuchImageError(
                    f"{ref_or_id}: image not known: the id prefix is ambiguous "
                    f"({len(matches)} images match); give more characters"
                )
            if matches:
                return matches[0], None
        found_named = self._resolve_short_name(ref)
        if found_named is not None:
            return found_named
        raise not_known

    def _resolve_short_name(self, ref: str) -> tuple[str, str] | None:
        """``busybox`` or ``x/busybox:1`` against names in any registry, as podman does: the
        image's id and the name matched."""
        try:
            wanted = normalize_reference(ref)
        except InvalidArgumentError:
            return None
        if not wanted.startswith(f"{DEFAULT_DOMAIN}/") or ref.startswith(f"{DEFAULT_DOMAIN}/"):
            return None
        suffix = "/" + wanted.removeprefix(f"{DEFAULT_DOMAIN}/")
        matches: dict[str, str] = {}
        for image_id in self.store.image_ids():
            try:
                _, names = self.store.image(image_id)
            except NoSuchImageError:
                continue
            matched = [n for n in names if n.endswith(suffix)]
            if matched:
                matches[image_id] = matched[0]
        if len(matches) > 1:
            raise NoSuchImageError(
                f"{ref}: image not known: the short name matches {len(matches)} images; "
                "use the full name"
            )
        return matches.popitem() if matches else None

    def _import_oci(self, layout: Path, name: str, config: Mapping[str, Any] | None,
                    origin: str) -> Image:
        """Import the image of an OCI layout (a directory, or an OCI archive's content) by
        applying its layer blobs."""
        from . import oci  # noqa: PLC0415 - lazy: see import_image

        selection = oci.select_image(layout, name, origin)
        image_id = selection.config_hex  # podman's image id is the config digest
        if self._known(image_id):
            return self._add_name(image_id, name)
        oci_config = dict(selection.config)
        oci_config["config"] = {**selection.image_config(), **(config or {})}
        _clean_config(oci_config["config"], None, origin)  # fail before any layer is applied
        blobs = selection.layer_blobs(layout, origin)

        def opener(blob: Path) -> LayerOpener:
            return lambda: blob.open("rb")

        diff_ids = selection.diff_ids()
        return self.add_image(
            oci_config, [(diff_id, opener(blob)) for diff_id, (blob, _) in zip(
                diff_ids, blobs, strict=True)],
            [name], origin=origin, image_id=image_id,
            digest=f"sha256:{selection.manifest_hex}",
            layer_digests=[digest for _, digest in blobs])

    def _layer_ready(self, hex_digest: str) -> bool:
        return (self.layers_dir / hex_digest / _LAYER_META).is_file()

    def _stage_layer(self, staging: Path, index: int, src: _LayerSource, origin: str, *,
                     max_size: int | None = None) -> _StagedLayer:
        """Apply one layer into ``staging/layer-<index>/diff``, check its digests, and write
        its ``layer.json``."""
        import json  # noqa: PLC0415 - lazy: not for create

        from .layers import apply_layer  # noqa: PLC0415 - lazy: tarfile, not for create

        path = staging / f"layer-{index}"
        os.mkdir(path, 0o700)
        diff = path / _LAYER_DIFF
        os.mkdir(diff)
        os.chmod(diff, 0o755)
        where = origin if src.diff_id == "" and index == 0 else f"{origin} (layer {index + 1})"
        try:
            fh = src.opener()
        except OSError as exc:
            raise InvalidArgumentError(f"cannot read {where}: {exc.strerror}") from exc
        try:
            limits = self.limits if max_size is None else self.limits.replace(
                max_size=max(max_size, 0))
            report = apply_layer(fh, diff, origin=where, limits=limits)
        finally:
            fh.close()
        if src.diff_id and report.diff_id != src.diff_id:
            raise InvalidArgumentError(
                f"{where}: the layer's content has diff_id {report.diff_id}, not "
                f"{src.diff_id} as the image says")
        if src.digest and report.compressed_digest != src.digest:
            raise InvalidArgumentError(
                f"{where}: the layer blob's digest is {report.compressed_digest}, not "
                f"{src.digest} as the manifest says")
        meta = {"diff_id": report.diff_id, "size": report.tar_size,
                "files_size": report.size, "compressed_digest": report.compressed_digest,
                "compression": report.compression, "notes": report.notes[:100]}
        (path / _LAYER_META).write_text(json.dumps(meta))
        return _StagedLayer(path, meta, report)

    def _commit_image(self, staging: Path, image_id: str, names: _Strings,
                      oci_config: dict[str, Any], sources: _Sources, staged: _Staged,
                      origin: str, *, digest: str,
                      source: str) -> Image:
        """Place the staged layers (reusing those already here) and record the image, under
        the layer lock; a layer found gone meanwhile (a removal) is applied again."""
        with self._layer_lock():
            for i, layer in enumerate(staged):
                src = sources[i]
                if layer is None and src is not None and not self._layer_ready(
                        _layer_hex(src.diff_id, origin)):
                    staged[i] = self._stage_layer(staging, i, src, origin)
            diff_ids = []
            for layer, src in zip(staged, sources, strict=True):
                if layer is not None:
                    diff_ids.append(layer.diff_id)
                elif src is not None:
                    diff_ids.append(src.diff_id)
            rootfs = oci_config.get("rootfs")
            wanted = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
            if wanted is not None and wanted != diff_ids:
                raise InvalidArgumentError(
                    f"{origin}: the layers' diff_ids ({', '.join(diff_ids)}) are not those "
                    "of the image config's rootfs")
            oci_config = {**oci_config, "rootfs": {"type": "layers", "diff_ids": diff_ids}}
            sizes = 0
            try:
                for layer in staged:
                    if layer is not None:
                        self._place(layer)
                for diff_id in dict.fromkeys(diff_ids):  # a layer listed twice takes no more
                    sizes += int(self.layer_info(diff_id).get("files_size") or 0)
                if self._known(image_id):
                    return self._add_names(image_id, names)
                inner = oci_config.get("config")
                history = oci_config.get("history")
                record = {
                    "config": _clean_config(inner if isinstance(inner, dict) else {}, None,
                                            origin),
                    "created": _parse_created(oci_config.get("created")) or time.time(),
                    "architecture": str(oci_config.get("architecture")
                                        or host_architecture()),
                    "os": str(oci_config.get("os") or "linux"),
                    "digest": digest or f"sha256:{image_id}",
                    "layers": diff_ids, "storage": "layers", "size": sizes,
                    "source": source, "oci_config": oci_config,
                    "history": history if isinstance(history, list) else [],
                }
                self.store.add_image(image_id, names, record)
            except BaseException:
                self._remove_unused_layers(staging, locked=True)
                raise
        return self._load(image_id)

    def _place(self, layer: _StagedLayer) -> None:
        """Move a staged layer to ``layers/<hex>`` in one rename (kept if one is there)."""
        hex_digest = layer.diff_id.removeprefix("sha256:")
        final = self.layers_dir / hex_digest
        try:
            os.rename(layer.path, final)
        except OSError as exc:
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY) or not final.is_dir():
                raise
        # A short name for mounts of images with many layers (storage.py).
        links = self.layers_dir / LAYER_LINKS
        links.mkdir(mode=0o700, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.symlink(f"../{hex_digest}/{_LAYER_DIFF}", links / layer_link_name(hex_digest))

    def _layer_lock(self) -> ContainerLock:
        return ContainerLock(self.layers_dir / ".lock")

    def _remove_unused_layers(self, staging: Path, *, locked: bool = False) -> _Strings:
        """Delete the layers no image lists (each renamed into ``staging`` first, so a layer
        directory that exists is always complete); their diff_ids."""
        if not locked:
            with self._layer_lock():
                return self._remove_unused_layers(staging, locked=True)
        wanted: set[str] = set()
        for image_id in self.store.image_ids():
            try:
                record, _ = self.store.image(image_id)
            except NoSuchImageError:
                continue
            if record.get("storage") == "layers":
                wanted.update(str(d).removeprefix("sha256:") for d in record.get("layers") or [])
        removed = []
        for entry in os.listdir(self.layers_dir):
            if len(entry) != 64 or entry in wanted:
                continue  # ".lock", "l" (the short links)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.layers_dir / LAYER_LINKS / layer_link_name(entry))
            doomed = staging / f"unused-{entry}"
            os.rename(self.layers_dir / entry, doomed)
            remove_tree(doomed, ignore_errors=True)
            removed.append(f"sha256:{entry}")
        return removed

    def _staging(self) -> contextlib.AbstractContextManager[Path]:
        """A private directory under images/, named by this process, always removed after."""
        return staging_dir(self.images_dir, _STAGING_PREFIX)

    def _sweep_staging(self) -> None:
        """Remove staging directories whose owner process is gone: a killed import or remove
        leaves them."""
        sweep_staging(self.images_dir, _STAGING_PREFIX)
