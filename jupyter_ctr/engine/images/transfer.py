"""``load``, ``save``, ``pull`` and ``push``: images between the layered ImageStore and
archive files or registries, like ``podman load``, ``save``, ``pull`` and ``push``
(docker-archive, oci-archive, oci-dir; registries through skopeo, ``registry.py``).

Load reads an archive with ``formats.read_archive`` (nothing extracted but the layers, each
applied by the store straight from the archive) and adds each image with
``ImageStore.add_image``, keeping the source's image id (its config digest) as podman does.
Save writes each image's layer directories (``ImageStore.layer_dirs``) as tarballs with
``layers.layer_dir_to_tar`` and its config (``ImageStore.oci_config``) with the
``formats`` writers. Pull copies the remote image into an OCI layout in staging with
``registry.pull_to_layout`` and loads that; push saves the image as an OCI layout in staging
and hands it to ``registry.push_from_layout``.

Only the ImageStore's load, save, pull and push import this module (lazily: its imports are
not for creating containers).
"""

from __future__ import annotations

import functools
import json
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
from .registry import (
    normalize_remote_reference,
    pull_to_layout,
    push_from_layout,
    registry_of,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    # The store is only used, never made, here: the ImageStore's own methods call in.
    from .store import ImageStore

    Progress = Callable[[str], None]

#: podman save's --format values we write.
SAVE_FORMATS = ("docker-archive", "oci-archive", "oci-dir")


def load(store: ImageStore, path: str | Path, *, limits: ArchiveLimits | None = None,
         origin: str | None = None) -> list[Image]:
    """Add every image of the docker-archive, oci-archive or OCI layout at ``path``.

    All or nothing: if one image fails, those this call added are removed again. Raises
    InvalidArgumentError naming the problem for a malformed, unsafe or inconsistent archive.
    ``origin`` is what messages call the source (default: ``path``).
    """
    origin = origin or str(path)
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


def pull(store: ImageStore, reference: str, staging: Path, *, tls_verify: bool = True,
         auth_file: str | None = None, progress: Progress | None = None) -> Image:
    """Pull the registry image ``reference`` into ``store`` through an OCI layout in the
    (empty, caller-removed) directory ``staging``; the image, named by the normalized
    reference (``busybox`` -> ``docker.io/library/busybox:latest``). An image already here
    only gains the name; one pulled by digest (``name@sha256:...``) gets no name, as podman
    keeps it. Progress lines are podman's ("Trying to pull ...", "Copying blob ...",
    "Writing manifest to image destination", "Storing signatures"). Errors: see
    ``registry.pull_to_layout``; a malformed image: InvalidArgumentError.
    """
    ref = normalize_remote_reference(reference)
    if progress is not None:
        progress(f"Trying to pull {ref}...")
    layout = staging / "layout"
    ref_name = pull_to_layout(ref, layout, tls_verify=tls_verify, auth_file=auth_file,
                              progress=_podman_lines(progress))
    if "@" in ref_name:
        _drop_ref_names(layout)
    images = load(store, layout, origin=ref)
    if len(images) != 1:
        raise InvalidArgumentError(f"pull {ref}: the registry sent {len(images)} images")
    if progress is not None:
        progress("Storing signatures")
    return images[0]


def push(store: ImageStore, ref: str, staging: Path, destination: str | None = None, *,
         tls_verify: bool = True, auth_file: str | None = None,
         progress: Progress | None = None) -> str:
    """Push the local image ``ref`` to the registry image ``destination`` (default: the
    name ``ref`` gives it, as ``podman push SRC``) through an OCI layout written in the
    (empty, caller-removed) directory ``staging``; return the manifest digest the registry
    holds. Errors: NoSuchImageError for ``ref``, else as ``registry.push_from_layout``."""
    image = store.get(ref)
    dest = destination or _name_of(ref, image)
    if not dest:
        if image.id.startswith(ref.removeprefix("sha256:")):
            raise InvalidArgumentError(
                f"cannot push {ref}: an image id names no registry: give a destination")
        dest = ref
    target = normalize_remote_reference(dest)
    if "@" in target:
        raise InvalidArgumentError(
            f"cannot push to {dest!r}: a digest names content, push to a tag instead")
    exported = ExportImage([target], _config(store, image), _layers(store, image))
    layout = staging / "layout"
    # Plain layers: skopeo compresses them once on the way to the registry (gzip, as podman
    # pushes them).
    write_oci_layout([exported], layout)
    digest = push_from_layout(layout, target, target, tls_verify=tls_verify,
                              auth_file=auth_file, progress=_podman_lines(progress))
    if progress is not None:
        progress("Storing signatures")
    return digest


def remote_name(ref: str) -> str:
    """The registry the reference ``ref`` names a host of (``quay.io/x`` -> ``quay.io``), or
    "" for a local-only name (``busybox``, ``localhost/x``): the REST pull answers those from
    the store, as it always has."""
    first, slash, _ = ref.partition("/")
    if not slash or first == "localhost" or not ("." in first or ":" in first):
        return ""
    return registry_of(normalize_remote_reference(ref))


def _podman_lines(progress: Progress | None) -> Progress | None:
    """skopeo's progress lines as podman prints them (the same lines, without skopeo's
    trailing "done" column)."""
    if progress is None:
        return None

    def line(text: str) -> None:
        if text.startswith("Storing signatures"):
            return  # said once, after the image is stored
        progress(text.removesuffix(" done").rstrip())

    return line


def _drop_ref_names(layout: Path) -> None:
    """Remove the ref names of the layout's index (a digest reference is not a name)."""
    index_path = layout / "index.json"
    index = json.loads(index_path.read_text())
    for desc in index.get("manifests") or []:
        if isinstance(desc, dict):
            desc.pop("annotations", None)
    index_path.write_text(json.dumps(index))
