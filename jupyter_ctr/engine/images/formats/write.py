"""Writing image archives podman loads: docker-archive, oci-archive and OCI layout directories.

Each layer comes from a writer (the store's ``layers.layer_dir_to_tar``) that writes its
uncompressed tarball into a file and returns its diff id. A tar header needs the size first,
so each layer is spooled to one anonymous temporary file, copied into the output, and
dropped before the next one: the output may be a pipe, and the spool never holds more than
one layer. A layer shared by several images (the same diff id) is written once.

The diff ids in each config are the ones the writers return: a layer re-made from a
directory need not be byte for byte the tarball it was loaded from, so the image id (the
config's sha256) of a saved image may differ from the one it was loaded with.
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

from ...errors import InvalidArgumentError
from ..records import OCI_MANIFEST_TYPE
from .read import CONTAINERD_NAME, REF_NAME

#: Writes a layer's uncompressed tarball into the file it is given; returns its diff id.
LayerWriter = Callable[[BinaryIO], str]

_CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
_LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar"
_LAYER_GZIP_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
_INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_CHUNK = 1 << 20


@dataclass
class ExportImage:
    """One image to write: its names, its config JSON and its layers bottom to top."""

    names: list[str]
    config: dict[str, Any]
    #: (diff id or "" when unknown, writer); the diff id only lets shared layers be
    #: written once.
    layers: list[tuple[str, LayerWriter]]


def _json_bytes(doc: object) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def _sha256_of(fh: IO[bytes]) -> str:
    fh.seek(0)
    digest = hashlib.sha256()
    while chunk := fh.read(_CHUNK):
        digest.update(chunk)
    fh.seek(0)
    return digest.hexdigest()


class _Blob:
    """A spooled blob: its file (at offset 0), size and sha256 hex."""

    def __init__(self, fh: IO[bytes], hex_digest: str) -> None:
        self.fh = fh
        self.hex = hex_digest
        fh.seek(0, os.SEEK_END)
        self.size = fh.tell()
        fh.seek(0)


@contextmanager
def _spool_layer(writer: LayerWriter, tmpdir: Path | None, what: str) -> Iterator[_Blob]:
    """Run ``writer`` into an anonymous temporary file; check the diff id it returns."""
    with tempfile.TemporaryFile(dir=tmpdir) as fh:
        claimed = writer(fh)
        fh.flush()
        actual = _sha256_of(fh)
        if claimed != f"sha256:{actual}":
            raise InvalidArgumentError(
                f"cannot save {what}: its layer writer returned the diff id {claimed!r}, but "
                f"the tarball it wrote hashes to sha256:{actual}")
        yield _Blob(fh, actual)


@contextmanager
def _gzipped(blob: _Blob, tmpdir: Path | None) -> Iterator[_Blob]:
    with tempfile.TemporaryFile(dir=tmpdir) as fh:
        with gzip.GzipFile(fileobj=fh, mode="wb", compresslevel=6, mtime=0) as gz:
            shutil.copyfileobj(blob.fh, gz, _CHUNK)
        yield _Blob(fh, _sha256_of(fh))


def _final_config(image: ExportImage, diff_ids: list[str]) -> bytes:
    """The config with the diff ids of the layers as written."""
    config = copy.deepcopy(image.config)
    if not isinstance(config, dict):
        raise InvalidArgumentError("cannot save an image whose config is not a JSON object")
    rootfs = config.get("rootfs")
    rootfs = rootfs if isinstance(rootfs, dict) else {}
    config["rootfs"] = {**rootfs, "type": "layers", "diff_ids": diff_ids}
    return _json_bytes(config)


class _Sink:
    """Where the files of an archive go."""

    def add(self, name: str, fh: IO[bytes], size: int) -> None:
        raise NotImplementedError

    def add_bytes(self, name: str, data: bytes) -> None:
        self.add(name, io.BytesIO(data), len(data))


class _TarSink(_Sink):
    def __init__(self, out: BinaryIO) -> None:
        # Stream mode: the output need not seek (a pipe, an HTTP response).
        self.tar = tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT)
        self.dirs: set[str] = set()

    def add(self, name: str, fh: IO[bytes], size: int) -> None:
        parent = name.rpartition("/")[0]
        parts = parent.split("/") if parent else []
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in self.dirs:
                self.dirs.add(d)
                info = tarfile.TarInfo(d)
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                self.tar.addfile(info)
        info = tarfile.TarInfo(name)
        info.size, info.mode = size, 0o444
        self.tar.addfile(info, fh)

    def close(self) -> None:
        self.tar.close()


class _DirSink(_Sink):
    def __init__(self, root: Path) -> None:
        self.root = root

    def add(self, name: str, fh: IO[bytes], size: int) -> None:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            shutil.copyfileobj(fh, out, _CHUNK)


def _check(images: list[ExportImage]) -> None:
    if not images:
        raise InvalidArgumentError("cannot save: no images given")
    for image in images:
        for diff_id, _ in image.layers:
            if diff_id and not _DIGEST.fullmatch(diff_id):
                raise InvalidArgumentError(f"cannot save: malformed diff id {diff_id!r}")


# -- docker-archive -----------------------------------------------------------------------

def write_docker_archive(images: list[ExportImage], out: BinaryIO, *,
                         tmpdir: Path | None = None) -> None:
    """Write ``images`` to ``out`` as a docker-archive, the way ``podman save`` does:
    ``<diff id>.tar`` layers, ``<config digest>.json`` configs and ``manifest.json``."""
    _check(images)
    sink = _TarSink(out)
    written: dict[object, str] = {}
    blobs: set[str] = set()
    manifest = []
    for image in images:
        diff_ids, files = [], []
        for diff_id, writer in image.layers:
            key: object = diff_id or writer
            if key not in written:
                with _spool_layer(writer, tmpdir, _what(image)) as blob:
                    if blob.hex not in blobs:
                        sink.add(f"{blob.hex}.tar", blob.fh, blob.size)
                        blobs.add(blob.hex)
                    written[key] = f"sha256:{blob.hex}"
            diff_ids.append(written[key])
            files.append(f"{written[key].removeprefix('sha256:')}.tar")
        config = _final_config(image, diff_ids)
        config_hex = hashlib.sha256(config).hexdigest()
        sink.add_bytes(f"{config_hex}.json", config)
        manifest.append({"Config": f"{config_hex}.json", "RepoTags": list(image.names),
                         "Layers": files})
    sink.add_bytes("manifest.json", _json_bytes(manifest))
    sink.close()


def _what(image: ExportImage) -> str:
    return image.names[0] if image.names else "an untagged image"


# -- OCI ----------------------------------------------------------------------------------

def _write_oci(images: list[ExportImage], sink: _Sink, tmpdir: Path | None,
               compress: bool) -> None:
    _check(images)
    layer_descs: dict[object, tuple[str, dict[str, Any]]] = {}
    blobs: set[str] = set()
    index = []
    for image in images:
        diff_ids, descs = [], []
        for diff_id, writer in image.layers:
            key: object = diff_id or writer
            if key not in layer_descs:
                with _spool_layer(writer, tmpdir, _what(image)) as blob:
                    if compress:
                        with _gzipped(blob, tmpdir) as packed:
                            desc = {"mediaType": _LAYER_GZIP_TYPE,
                                    "digest": f"sha256:{packed.hex}", "size": packed.size}
                            if packed.hex not in blobs:
                                sink.add(f"blobs/sha256/{packed.hex}", packed.fh, packed.size)
                                blobs.add(packed.hex)
                    else:
                        desc = {"mediaType": _LAYER_TYPE, "digest": f"sha256:{blob.hex}",
                                "size": blob.size}
                        if blob.hex not in blobs:
                            sink.add(f"blobs/sha256/{blob.hex}", blob.fh, blob.size)
                            blobs.add(blob.hex)
                    layer_descs[key] = (f"sha256:{blob.hex}", desc)
            diff_ids.append(layer_descs[key][0])
            descs.append(layer_descs[key][1])
        config = _final_config(image, diff_ids)
        config_hex = _add_blob(sink, blobs, config)
        manifest = _json_bytes({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST_TYPE,
            "config": {"mediaType": _CONFIG_TYPE, "digest": f"sha256:{config_hex}",
                       "size": len(config)},
            "layers": descs})
        manifest_hex = _add_blob(sink, blobs, manifest)
        desc = {"mediaType": OCI_MANIFEST_TYPE, "digest": f"sha256:{manifest_hex}",
                "size": len(manifest)}
        for name in image.names or [""]:
            entry = dict(desc)
            if name:
                entry["annotations"] = {REF_NAME: name, CONTAINERD_NAME: name}
            index.append(entry)
    sink.add_bytes("index.json", _json_bytes(
        {"schemaVersion": 2, "mediaType": _INDEX_TYPE, "manifests": index}))
    sink.add_bytes("oci-layout", _json_bytes({"imageLayoutVersion": "1.0.0"}))


def _add_blob(sink: _Sink, blobs: set[str], data: bytes) -> str:
    hex_digest = hashlib.sha256(data).hexdigest()
    if hex_digest not in blobs:
        sink.add_bytes(f"blobs/sha256/{hex_digest}", data)
        blobs.add(hex_digest)
    return hex_digest


def write_oci_archive(images: list[ExportImage], out: BinaryIO, *, tmpdir: Path | None = None,
                      compress: bool = False) -> None:
    """Write ``images`` to ``out`` as an oci-archive: an OCI layout in a tarball, one index
    entry per name (``org.opencontainers.image.ref.name`` is the full name, as podman
    writes it). Layers are plain tar unless ``compress`` (gzip)."""
    sink = _TarSink(out)
    _write_oci(images, sink, tmpdir, compress)
    sink.close()


def write_oci_layout(images: list[ExportImage], dest: Path, *, tmpdir: Path | None = None,
                     compress: bool = False) -> None:
    """Write ``images`` as an OCI layout directory at ``dest`` (new, or empty)."""
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise InvalidArgumentError(f"cannot save to {dest}: it exists and is not an empty "
                                   "directory")
    dest.mkdir(parents=True, exist_ok=True)
    _write_oci(images, _DirSink(dest), tmpdir, compress)
