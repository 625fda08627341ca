"""ImageStore: the local images, their names and configs (rows in the StateStore).

An image is a directory ``<root>/images/<id>/rootfs`` plus a row with its config and names.
All work happens in ``<root>/images/.staging-<random>``; the finished image directory is
renamed into place in one step and the staging directory is always removed, so a failed
import leaves neither files nor rows behind. An image directory that exists is complete:
removal renames it away before deleting it, and is refused while a container uses the image.

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

from ..errors import ImageInUseError, InvalidArgumentError, NoSuchImageError
from ..staging import staging_dir, sweep_staging
from ..store import StateStore
from .records import ArchiveLimits, Image
from .references import DEFAULT_DOMAIN, host_architecture, normalize_reference

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

_CONFIG_KEYS = ("Env", "Cmd", "Entrypoint", "WorkingDir", "User", "Labels")
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


def _tarball_record(image_id: str, overrides: Mapping[str, Any] | None,
                    origin: str) -> dict[str, Any]:
    """The row of an image imported from a rootfs tarball, but for its size: the content's
    digest is its id and its one layer; the config is the overrides on a default PATH."""
    return {
        "config": _clean_config({"Env": [DEFAULT_PATH_ENV]}, overrides, origin),
        "created": time.time(),
        "architecture": host_architecture(), "os": "linux",
        "digest": f"sha256:{image_id}", "layers": [f"sha256:{image_id}"],
        "source": "tarball",
    }


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
        from . import archive, oci  # noqa: PLC0415 - lazy: tarfile, hashlib...: not for create

        name = normalize_reference(reference)
        source = Path(path)
        origin = str(path)
        _clean_config({}, config, origin)  # fail fast on bad overrides
        if not source.exists():
            raise InvalidArgumentError(f"cannot import {origin}: no such file or directory")
        is_dir = source.is_dir()
        if is_dir:
            if not oci.is_oci_layout(source):
                raise InvalidArgumentError(
                    f"cannot import {origin}: a directory must be an OCI image layout "
                    "(with oci-layout and index.json)"
                )
        elif not source.is_file():
            raise InvalidArgumentError(f"cannot import {origin}: not a regular file")
        else:
            image_id = archive.sha256_file(source)
            if self._known(image_id):
                return self._add_name(image_id, name)
        with self._staging() as staging:
            layout = source
            if not is_dir:
                tree = staging / "tree"
                tree.mkdir()
                tree.chmod(0o755)
                if archive.extract_tarball(source, tree, origin, limits=self.limits) == 0:
                    raise InvalidArgumentError(f"{origin} is an empty archive: nothing to import")
                if not oci.is_oci_layout(tree):
                    record = _tarball_record(image_id, config, origin)
                    record["size"] = archive.scan_rootfs(tree, origin)
                    return self._commit(staging, tree, image_id, name, record)
                layout = tree  # an OCI archive
            selection = oci.select_image(layout, name, origin)
            image_id = selection.config_hex  # podman's image id is the config digest
            if self._known(image_id):
                return self._add_name(image_id, name)
            image_config = _clean_config(selection.image_config(), config, origin)
            rootfs = staging / "rootfs"
            oci.unpack(layout, selection, staging / "view", rootfs, origin)
            record = {"config": image_config, **selection.record(time.time())}
            record["size"] = archive.scan_rootfs(rootfs, origin)
            return self._commit(staging, rootfs, image_id, name, record)

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

    def _commit(self, staging: Path, rootfs: Path, image_id: str, name: str,
                record: dict[str, Any]) -> Image:
        """Move a checked tree to ``images/<id>/rootfs`` in one rename, then record it."""
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

    def _staging(self) -> contextlib.AbstractContextManager[Path]:
        """A private directory under images/, named by this process, always removed after."""
        return staging_dir(self.images_dir, _STAGING_PREFIX)

    def _sweep_staging(self) -> None:
        """Remove staging directories whose owner process is gone: a killed import or remove
        leaves them."""
        sweep_staging(self.images_dir, _STAGING_PREFIX)
