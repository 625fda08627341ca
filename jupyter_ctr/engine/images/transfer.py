"""``load`` and ``save``: images between the layered ImageStore and archive files, like
``podman load`` and ``podman save`` (docker-archive, oci-archive, oci-dir).

Load reads an archive with ``formats.read_archive`` (nothing extracted but the layers, each
applied by the store straight from the archive) and adds each image with
``ImageStore.add_image``, keeping the source's image id (its config digest) as podman does.
Save writes each image's layer directories (``ImageStore.layer_dirs``) as tarballs with
``layers.layer_dir_to_tar`` and its config (``ImageStore.oci_config``) with the
``formats`` writers.

Only load and save import this module.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import InvalidArgumentError, NoSuchImageError
from .formats import (
    ArchiveImage,
    ExportImage,
    LayerOpener,
    read_archive,
    write_docker_archive,
    write_oci_archive,
    write_oci_layout,
)
from .formats.streams import ZSTD_MAGIC
from .layers import layer_dir_to_tar
from .records import ArchiveLimits, Image
from .references import normalize_reference
from .store import ImageStore

#: podman save's --format values we write.
SAVE_FORMATS = ("docker-archive", "oci-archive", "oci-dir")


def load(store: ImageStore, path: str | Path, *, limits: ArchiveLimits | None = None
         ) -> list[Image]:
    """Add every image of the docker-archive, oci-archive or OCI layout at ``path``.

    All or nothing: if one image fails, those this call added are removed again. Raises
    InvalidArgumentError naming the problem for a malformed, unsafe or inconsistent archive.
    """
    origin = str(path)
    images = read_archive(Path(path), origin=origin, limits=limits or store.limits,
                          tmpdir=store.images_dir)
    before = {image.id for image in store.list()}
    added: list[Image] = []
    try:
        for image in images:
            layers, digests = _store_layers(image)
            added.append(store.add_image(
                image.config, layers, image.names, origin=origin,
                history=image.history or None, image_id=image.id, digest=image.digest,
                layer_digests=digests))
    except BaseException:
        for done in added:
            if done.id not in before:
                try:
                    store.remove(done.id, lambda _id: [])
                except NoSuchImageError:
                    pass
        raise
    return added


def _store_layers(image: ArchiveImage) -> tuple[list[tuple[str, LayerOpener]], list[str]]:
    """The layers for ``add_image``, and their blob digests to check.

    The store decompresses and checks plain and gzip blobs itself (digest and diff id): it
    gets them as stored, which is one pass over the data instead of two (a third faster).
    A zstd blob comes through our checked stream, decompressed by the zstd tool.
    """
    layers: list[tuple[str, LayerOpener]] = []
    digests: list[str] = []
    for (diff_id, checked), (digest, raw) in zip(image.layers, image.blobs, strict=True):
        with raw() as fh:
            zstd = fh.read(len(ZSTD_MAGIC)) == ZSTD_MAGIC
        layers.append((diff_id, checked if zstd else raw))
        digests.append("" if zstd else digest)
    return layers, digests


def export_images(store: ImageStore, refs: list[str]) -> list[ExportImage]:
    """The images ``refs`` name, ready for a writer; one image named twice is written
    once, with both names. A ref that is an image id (or its prefix) adds no name."""
    if not refs:
        raise InvalidArgumentError("cannot save: name at least one image")
    by_id: dict[str, ExportImage] = {}
    for ref in refs:
        image = store.get(ref)
        name = _name_of(ref, image)
        known = by_id.get(image.id)
        if known is not None:
            if name and name not in known.names:
                known.names.append(name)
            continue
        by_id[image.id] = ExportImage([name] if name else [], _config(store, image),
                                      _layers(store, image))
    return list(by_id.values())


def save(store: ImageStore, refs: list[str], dest: BinaryIO | str | Path, *,
         format: str = "docker-archive", compress: bool = False) -> None:
    """Write the images ``refs`` name to ``dest`` in ``format`` (see SAVE_FORMATS): a binary
    file for the archives, a new or empty directory for ``oci-dir``. ``compress`` gzips the
    layers of the OCI formats (docker-archive layers are plain, as podman writes them)."""
    if format not in SAVE_FORMATS:
        raise InvalidArgumentError(
            f"unknown save format {format!r}: expected one of {', '.join(SAVE_FORMATS)}")
    images = export_images(store, refs)
    # Layers are spooled next to the store (an anonymous file: nothing is left behind), not
    # in a /tmp that may be memory.
    tmpdir = store.images_dir
    if format == "oci-dir":
        if not isinstance(dest, (str, Path)):
            raise InvalidArgumentError("cannot save as oci-dir to a stream: give a directory")
        write_oci_layout(images, Path(dest), compress=compress)
        return
    if isinstance(dest, (str, Path)):
        raise InvalidArgumentError(f"cannot save as {format} to a path: give a binary file")
    if format == "docker-archive":
        write_docker_archive(images, dest, tmpdir=tmpdir)
    else:
        write_oci_archive(images, dest, tmpdir=tmpdir, compress=compress)


def _name_of(ref: str, image: Image) -> str:
    """The reference to save ``image`` under when asked for as ``ref``: the name it has that
    ``ref`` means (``busybox`` -> ``localhost/busybox:latest``), none for an id."""
    try:
        name = normalize_reference(ref)
    except InvalidArgumentError:
        return ""
    if name in image.names:
        return name
    short = [n for n in image.names if n.endswith("/" + name.removeprefix("localhost/"))]
    return short[0] if len(short) == 1 else ""


def _config(store: ImageStore, image: Image) -> dict[str, Any]:
    config = store.oci_config(image)
    if len(store.layer_dirs(image)) != len(image.layers):
        # An image imported before layers existed is one flattened directory: its history
        # no longer matches its one layer.
        config.pop("history", None)
    return config


def _layers(store: ImageStore, image: Image) -> list[tuple[str, Any]]:
    dirs = store.layer_dirs(image)
    ids = image.layers if len(dirs) == len(image.layers) else [""] * len(dirs)
    return [(diff_id, functools.partial(layer_dir_to_tar, d)) for diff_id, d in zip(
        ids, dirs, strict=True)]
