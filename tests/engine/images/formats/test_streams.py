"""Layer streams: gzip and zstd layers decoded, and the checks made as a layer is read: a
changed layer fails its diff id or blob digest, even in bytes a tar reader never asks for;
a decompression bomb stops at the size limit; corrupt compressed data is named; no zstd is
left running."""

from __future__ import annotations

import gzip
import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from jupyter_ctr.engine.errors import InvalidArgumentError
from jupyter_ctr.engine.images import ArchiveLimits
from jupyter_ctr.engine.images.formats import (
    ArchiveImage,
    read_archive,
    write_docker_archive,
    write_oci_archive,
)

from .helpers import (
    Members,
    child_pids,
    dumps,
    layer_files,
    listing,
    read_members,
    sha,
    small_image,
    write_members,
)


def archive_members(tmp_path: Path, kind: str) -> Members:
    path = tmp_path / f"good-{kind}.tar"
    with path.open("wb") as fh:
        (write_oci_archive if kind == "oci" else write_docker_archive)([small_image()], fh)
    files, _ = read_members(path)
    path.unlink()
    return files


def recompress(files: Members, layer: int, pack: str) -> Members:
    """The OCI archive with one layer blob compressed by ``pack`` (gzip or zstd)."""
    index = json.loads(files["index.json"])
    manifest_key = f"blobs/sha256/{index['manifests'][0]['digest'][7:]}"
    manifest = json.loads(files[manifest_key])
    desc = manifest["layers"][layer]
    plain = files[f"blobs/sha256/{desc['digest'][7:]}"]
    if pack == "gzip":
        packed = gzip.compress(plain)
    else:
        packed = subprocess.run(["zstd", "-q", "-c"], input=plain, capture_output=True,
                                check=True).stdout
    files = dict(files)
    files[f"blobs/sha256/{sha(packed)}"] = packed
    desc.update(digest=f"sha256:{sha(packed)}", size=len(packed),
                mediaType=f"application/vnd.oci.image.layer.v1.tar+{pack}")
    new_manifest = dumps(manifest)
    del files[manifest_key]
    files[f"blobs/sha256/{sha(new_manifest)}"] = new_manifest
    index["manifests"][0].update(digest=f"sha256:{sha(new_manifest)}", size=len(new_manifest))
    files["index.json"] = dumps(index)
    return files


def load(tmp_path: Path, files: Members, limits: ArchiveLimits | None = None
         ) -> ArchiveImage:
    [image] = read_archive(write_members(tmp_path / "x.tar", files), origin="x.tar",
                           limits=limits or ArchiveLimits())
    return image


def read_fails(tmp_path: Path, image: ArchiveImage, layer: int, match: str) -> None:
    before = listing(tmp_path)
    with pytest.raises(InvalidArgumentError, match=match):
        layer_files(image.layers[layer][1])
    assert listing(tmp_path) == before
    assert child_pids() == []


@pytest.mark.parametrize("pack", ["gzip", "zstd"])
def test_compressed_layers(tmp_path: Path, pack: str) -> None:
    files = recompress(archive_members(tmp_path, "oci"), 1, pack)
    image = load(tmp_path, files)
    assert layer_files(image.layers[1][1]) == {"b": b"second\n" * 100}
    with image.layers[1][1]() as fh:
        assert fh.compression == pack  # type: ignore[attr-defined]
        assert fh.verify() == image.layers[1][0]  # type: ignore[attr-defined]
    assert child_pids() == []


def test_changed_layer_fails_its_diff_id(tmp_path: Path) -> None:
    files = archive_members(tmp_path, "docker")
    [entry] = json.loads(files["manifest.json"])
    key = entry["Layers"][1]
    files[key] = files[key].replace(b"second", b"SECOND")
    read_fails(tmp_path, load(tmp_path, files), 1,
               r"layer 2 .* does not match the image config's diff id sha256:")


def test_change_after_the_end_of_the_tar_is_caught(tmp_path: Path) -> None:
    """tarfile stops at the end-of-archive blocks; closing the ``with`` reads the rest."""
    files = archive_members(tmp_path, "docker")
    [entry] = json.loads(files["manifest.json"])
    key = entry["Layers"][1]
    files[key] = files[key][:-1] + b"\x01"
    image = load(tmp_path, files)
    with pytest.raises(InvalidArgumentError, match="does not match the image config's diff id"):
        with image.layers[1][1]() as fh, tarfile.open(fileobj=fh, mode="r|") as tar:
            assert [m.name for m in tar] == ["b"]


def test_changed_blob_fails_its_digest(tmp_path: Path) -> None:
    files = recompress(archive_members(tmp_path, "oci"), 1, "gzip")
    blob = next(k for k, v in files.items() if v.startswith(b"\x1f\x8b"))
    # Same size, so the descriptor's size still fits: only the digest tells.
    files[blob] = files[blob][:-9] + bytes([files[blob][-9] ^ 1]) + files[blob][-8:]
    image = load(tmp_path, files)
    read_fails(tmp_path, image, 1, r"does not match its digest sha256:|not valid gzip")


def test_decompression_bomb_stops_at_the_limit(tmp_path: Path) -> None:
    """8 MiB of zeros in 8 kB of gzip, with archive_max_size at 4 MiB: the archive's members
    are small, the layer stream stops at the limit."""
    files = archive_members(tmp_path, "oci")
    packed = gzip.compress(b"\0" * (8 << 20))
    assert len(packed) < 10 << 10
    image = _with_layer(tmp_path, files, 1, packed, "gzip")
    read_fails(tmp_path, image, 1, r"unpacks to more than 4 MiB .*archive_max_size")


def _with_layer(tmp_path: Path, files: Members, layer: int, blob: bytes,
                pack: str) -> ArchiveImage:
    index = json.loads(files["index.json"])
    manifest_key = f"blobs/sha256/{index['manifests'][0]['digest'][7:]}"
    manifest = json.loads(files.pop(manifest_key))
    config_key = f"blobs/sha256/{manifest['config']['digest'][7:]}"
    config = files.pop(config_key)
    files[f"blobs/sha256/{sha(config)}"] = config
    manifest["config"].update(digest=f"sha256:{sha(config)}", size=len(config))
    files[f"blobs/sha256/{sha(blob)}"] = blob
    manifest["layers"][layer].update(digest=f"sha256:{sha(blob)}", size=len(blob),
                                     mediaType=f"application/vnd.oci.image.layer.v1.tar+{pack}")
    data = dumps(manifest)
    files[f"blobs/sha256/{sha(data)}"] = data
    index["manifests"][0].update(digest=f"sha256:{sha(data)}", size=len(data))
    files["index.json"] = dumps(index)
    return load(tmp_path, files, ArchiveLimits(max_size=4 << 20))


@pytest.mark.parametrize("pack", ["gzip", "zstd"])
def test_corrupt_compressed_layer(tmp_path: Path, pack: str) -> None:
    files = archive_members(tmp_path, "oci")
    magic = b"\x1f\x8b\x08\x00" if pack == "gzip" else b"\x28\xb5\x2f\xfd"
    image = _with_layer(tmp_path, files, 1, magic + b"garbage" * 50, pack)
    read_fails(tmp_path, image, 1, f"is not valid {pack} data")


def test_zstd_stopped_early_leaves_no_process(tmp_path: Path) -> None:
    files = recompress(archive_members(tmp_path, "oci"), 1, "zstd")
    image = load(tmp_path, files)
    fh = image.layers[1][1]()
    assert fh.read(10)
    fh.close()
    assert child_pids() == []
