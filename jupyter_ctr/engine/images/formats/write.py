"""Writing image archives podman loads: docker-archive, oci-archive and OCI layout directories.

Each layer comes from a writer (the store's ``layers.layer_dir_to_tar``) that writes its
uncompressed tarball into a file and returns its diff id; it is hashed (and gzipped, if
asked) on its way out, and the diff id it returns is checked against what it wrote.

A tar member's header holds its size and, here, its name (the layer's digest), both known
only once the layer is written. Into an output that can seek (a file), the layer is written
in place and its header filled in afterwards: one pass over the data, no copy. Into a pipe,
each layer is spooled to an anonymous temporary file first, which holds one layer at a time.
A layer shared by several images (the same diff id) is written once.

The diff ids in each config are the ones the writers return: a layer re-made from a
directory need not be byte for byte the tarball it was loaded from, so the image id (the
config's sha256) of a saved image may differ from the one it was loaded with.
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ...errors import InvalidArgumentError
from ..records import OCI_MANIFEST_TYPE
from .read import CONTAINERD_NAME, REF_NAME

#: Writes a layer's uncompressed tarball into the stream it is given (which only has
#: ``write``: tarfile's "w|" mode); returns its diff id.
LayerWriter = Callable[[BinaryIO], str]

_CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
_LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar"
_LAYER_GZIP_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
_INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_CHUNK = 1 << 20
_BLOCK = 512
_RECORD = 20 * _BLOCK


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


class _HashingWriter:
    """Passes writes on, hashing and counting them."""

    def __init__(self, out: Any) -> None:
        self.out = out
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        self.out.write(data)
        return len(data)

    def flush(self) -> None:
        pass


class _Layer:
    """A layer as written: its diff id (hex), and the blob's digest (hex) and size (the
    same as the tarball's unless gzipped)."""

    def __init__(self, diff_hex: str, blob_hex: str, size: int, compressed: bool) -> None:
        self.diff_hex = diff_hex
        self.blob_hex = blob_hex
        self.size = size
        self.compressed = compressed

    def descriptor(self) -> dict[str, Any]:
        return {"mediaType": _LAYER_GZIP_TYPE if self.compressed else _LAYER_TYPE,
                "digest": f"sha256:{self.blob_hex}", "size": self.size}


def _run_writer(writer: LayerWriter, target: Any, compress: bool, what: str) -> _Layer:
    """Run ``writer`` into ``target`` (through gzip if ``compress``), hashing both sides."""
    outer = _HashingWriter(target)
    gz = gzip.GzipFile(fileobj=outer, mode="wb", compresslevel=6, mtime=0) if compress else None
    inner = _HashingWriter(gz) if gz is not None else outer
    claimed = writer(inner)  # type: ignore[arg-type]
    if gz is not None:
        gz.close()
    diff_hex = inner.sha.hexdigest()
    if claimed != f"sha256:{diff_hex}":
        raise InvalidArgumentError(
            f"cannot save {what}: its layer writer returned the diff id {claimed!r}, but the "
            f"tarball it wrote hashes to sha256:{diff_hex}")
    return _Layer(diff_hex, outer.sha.hexdigest(), outer.size, compress)


def _final_config(image: ExportImage, diff_ids: list[str]) -> bytes:
    """The config with the diff ids of the layers as written."""
    config = copy.deepcopy(image.config)
    if not isinstance(config, dict):
        raise InvalidArgumentError("cannot save an image whose config is not a JSON object")
    rootfs = config.get("rootfs")
    rootfs = rootfs if isinstance(rootfs, dict) else {}
    config["rootfs"] = {**rootfs, "type": "layers", "diff_ids": diff_ids}
    return _json_bytes(config)


# -- where the files go -------------------------------------------------------------------

class _Sink:
    """Where the files of an archive go; each name once."""

    def __init__(self, tmpdir: Path | None) -> None:
        self.tmpdir = tmpdir
        self.names: set[str] = set()

    def add_bytes(self, name: str, data: bytes) -> None:
        raise NotImplementedError

    def add_layer(self, writer: LayerWriter, compress: bool, what: str, directory: str,
                  name_of: Callable[[_Layer], str]) -> _Layer:
        """Write a layer in ``directory`` ("" or ending in "/") under the name ``name_of``
        gives it once written (dropped if a file of that name is there already)."""
        raise NotImplementedError


class _TarSink(_Sink):
    """A tarball written by hand (tarfile only encodes the headers): a header can be filled
    in after its member's data."""

    def __init__(self, out: BinaryIO, tmpdir: Path | None) -> None:
        super().__init__(tmpdir)
        self.out = out
        try:
            self.seekable = bool(out.seekable()) and out.tell() >= 0
        except (AttributeError, OSError, ValueError):
            self.seekable = False
        self.written = 0

    def _write(self, data: bytes) -> None:
        self.out.write(data)
        self.written += len(data)

    @staticmethod
    def _header(name: str, size: int, directory: bool = False) -> bytes:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = size, 0o444, 0
        if directory:
            info.type, info.mode = tarfile.DIRTYPE, 0o755
        # GNU format: sizes past 8 GiB in base-256 within the one 512-byte block, so a header
        # written after the data takes exactly the place kept for it.
        header = info.tobuf(tarfile.GNU_FORMAT, "utf-8", "strict")
        assert len(header) == _BLOCK, name
        return header

    def _parents(self, name: str) -> None:
        """Directory members for the parents of ``name``, once each."""
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i]) + "/"
            if d not in self.names:
                self.names.add(d)
                self._write(self._header(d, 0, directory=True))

    def _pad(self, size: int) -> None:
        self._write(b"\0" * (-size % _BLOCK))

    def add_bytes(self, name: str, data: bytes) -> None:
        if name in self.names:
            return
        self._parents(name)
        self.names.add(name)
        self._write(self._header(name, len(data)))
        self._write(data)
        self._pad(len(data))

    def add_layer(self, writer: LayerWriter, compress: bool, what: str, directory: str,
                  name_of: Callable[[_Layer], str]) -> _Layer:
        self._parents(directory)
        if not self.seekable:
            with tempfile.TemporaryFile(dir=self.tmpdir) as spool:
                layer = _run_writer(writer, spool, compress, what)
                name = directory + name_of(layer)
                if name not in self.names:
                    self.names.add(name)
                    self._write(self._header(name, layer.size))
                    spool.seek(0)
                    shutil.copyfileobj(spool, self.out, _CHUNK)
                    self.written += layer.size
                    self._pad(layer.size)
            return layer
        start = self.out.tell()
        self.out.write(b"\0" * _BLOCK)  # the header's place
        layer = _run_writer(writer, self.out, compress, what)
        name = directory + name_of(layer)
        if name in self.names:
            self.out.seek(start)  # the same blob again: drop this copy
            self.out.truncate()
            return layer
        self.names.add(name)
        end = self.out.tell()
        self.out.seek(start)
        self.out.write(self._header(name, layer.size))
        self.out.seek(end)
        self.written += _BLOCK + layer.size
        self._pad(layer.size)
        return layer

    def close(self) -> None:
        self._write(b"\0" * (2 * _BLOCK))
        self._pad_record()
        self.out.flush()

    def _pad_record(self) -> None:
        self._write(b"\0" * (-self.written % _RECORD))


class _DirSink(_Sink):
    """An OCI layout directory: each layer written to a temporary name, then renamed."""

    def __init__(self, root: Path, tmpdir: Path | None) -> None:
        super().__init__(tmpdir)
        self.root = root

    def add_bytes(self, name: str, data: bytes) -> None:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.names.add(name)

    def add_layer(self, writer: LayerWriter, compress: bool, what: str, directory: str,
                  name_of: Callable[[_Layer], str]) -> _Layer:
        folder = self.root / directory
        folder.mkdir(parents=True, exist_ok=True)
        part = folder / f".partial-{os.urandom(6).hex()}"
        try:
            with part.open("wb") as fh:
                layer = _run_writer(writer, fh, compress, what)
            name = directory + name_of(layer)
            if name not in self.names:
                os.rename(part, self.root / name)
                self.names.add(name)
        finally:
            part.unlink(missing_ok=True)
        return layer


def _check(images: list[ExportImage]) -> None:
    if not images:
        raise InvalidArgumentError("cannot save: no images given")
    for image in images:
        for diff_id, _ in image.layers:
            if diff_id and not _DIGEST.fullmatch(diff_id):
                raise InvalidArgumentError(f"cannot save: malformed diff id {diff_id!r}")


def _what(image: ExportImage) -> str:
    return image.names[0] if image.names else "an untagged image"


# -- docker-archive -----------------------------------------------------------------------

def write_docker_archive(images: list[ExportImage], out: BinaryIO, *,
                         tmpdir: Path | None = None) -> None:
    """Write ``images`` to ``out`` as a docker-archive, the way ``podman save`` does:
    ``<diff id>.tar`` layers, ``<config digest>.json`` configs and ``manifest.json``.
    ``tmpdir`` is where a layer is spooled when ``out`` cannot seek."""
    _check(images)
    sink = _TarSink(out, tmpdir)
    written: dict[object, str] = {}
    manifest = []
    for image in images:
        diff_ids = []
        for diff_id, writer in image.layers:
            key: object = diff_id or writer
            if key not in written:
                layer = sink.add_layer(writer, False, _what(image), "",
                                       lambda layer: f"{layer.diff_hex}.tar")
                written[key] = layer.diff_hex
            diff_ids.append(f"sha256:{written[key]}")
        config = _final_config(image, diff_ids)
        config_hex = hashlib.sha256(config).hexdigest()
        sink.add_bytes(f"{config_hex}.json", config)
        manifest.append({"Config": f"{config_hex}.json", "RepoTags": list(image.names),
                         "Layers": [f"{d.removeprefix('sha256:')}.tar" for d in diff_ids]})
    sink.add_bytes("manifest.json", _json_bytes(manifest))
    sink.close()


# -- OCI ----------------------------------------------------------------------------------

def _write_oci(images: list[ExportImage], sink: _Sink, compress: bool) -> None:
    _check(images)
    if isinstance(sink, _TarSink):
        sink.add_bytes("oci-layout", _json_bytes({"imageLayoutVersion": "1.0.0"}))
    layers: dict[object, _Layer] = {}
    index = []
    for image in images:
        descs = []
        for diff_id, writer in image.layers:
            key: object = diff_id or writer
            if key not in layers:
                layers[key] = sink.add_layer(writer, compress, _what(image), "blobs/sha256/",
                                             lambda layer: layer.blob_hex)
            descs.append(layers[key])
        config = _final_config(image, [f"sha256:{layer.diff_hex}" for layer in descs])
        config_hex = _add_blob(sink, config)
        manifest = _json_bytes({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST_TYPE,
            "config": {"mediaType": _CONFIG_TYPE, "digest": f"sha256:{config_hex}",
                       "size": len(config)},
            "layers": [layer.descriptor() for layer in descs]})
        manifest_hex = _add_blob(sink, manifest)
        desc = {"mediaType": OCI_MANIFEST_TYPE, "digest": f"sha256:{manifest_hex}",
                "size": len(manifest)}
        for name in image.names or [""]:
            entry = dict(desc)
            if name:
                entry["annotations"] = {REF_NAME: name, CONTAINERD_NAME: name}
            index.append(entry)
    sink.add_bytes("index.json", _json_bytes(
        {"schemaVersion": 2, "mediaType": _INDEX_TYPE, "manifests": index}))
    if isinstance(sink, _DirSink):
        sink.add_bytes("oci-layout", _json_bytes({"imageLayoutVersion": "1.0.0"}))


def _add_blob(sink: _Sink, data: bytes) -> str:
    hex_digest = hashlib.sha256(data).hexdigest()
    sink.add_bytes(f"blobs/sha256/{hex_digest}", data)
    return hex_digest


def write_oci_archive(images: list[ExportImage], out: BinaryIO, *, tmpdir: Path | None = None,
                      compress: bool = False) -> None:
    """Write ``images`` to ``out`` as an oci-archive: an OCI layout in a tarball, one index
    entry per name (``org.opencontainers.image.ref.name`` is the full name, as podman
    writes it). Layers are plain tar unless ``compress`` (gzip). ``tmpdir`` is where a
    layer is spooled when ``out`` cannot seek."""
    sink = _TarSink(out, tmpdir)
    _write_oci(images, sink, compress)
    sink.close()


def write_oci_layout(images: list[ExportImage], dest: Path, *, compress: bool = False) -> None:
    """Write ``images`` as an OCI layout directory at ``dest`` (new, or empty); its
    ``oci-layout`` file comes last, so a layout that has one is complete. On failure,
    ``dest`` is as it was (gone, or empty)."""
    dest = Path(dest)
    existed = dest.exists()
    if existed and (not dest.is_dir() or any(dest.iterdir())):
        raise InvalidArgumentError(f"cannot save to {dest}: it exists and is not an empty "
                                   "directory")
    dest.mkdir(parents=True, exist_ok=True)
    try:
        _write_oci(images, _DirSink(dest, None), compress)
    except BaseException:
        if existed:
            for child in dest.iterdir():
                if child.is_dir():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        else:
            shutil.rmtree(dest)
        raise
