"""read_archive on what podman writes: docker-archive and oci-archive, one image and several,
OCI layout directories with gzip and zstd layers, docker 25's blobs/ layout, a gzipped
archive; names, configs and layers (checked against their diff ids as they are read)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from jupyter_ctr.engine.errors import InvalidArgumentError
from jupyter_ctr.engine.images import ArchiveLimits
from jupyter_ctr.engine.images.formats import ArchiveImage, read_archive

from ..podman_tools import Saved
from .helpers import dumps, layer_files, read_members, sha, write_members

LIMITS = ArchiveLimits()
HELLO = b"hello from layer 2\n"


def read(path: Path) -> list[ArchiveImage]:
    return read_archive(path, origin=str(path), limits=LIMITS)


def check_second(image: ArchiveImage, saved: Saved) -> None:
    """localhost/second:2 as podman built it: busybox, then one layer with /etc/hello.txt."""
    assert image.id == saved.second_id
    assert image.config["config"]["Cmd"] == ["sh"]
    assert image.config["config"]["Labels"] == {"made.by": "test"}
    assert image.config["os"] == "linux"
    assert [d for d, _ in image.layers] == image.config["rootfs"]["diff_ids"]
    assert len(image.layers) == 2
    assert len(image.history) == 2
    bottom = layer_files(image.layers[0][1])
    assert bottom["bin/busybox"]
    assert "bin/sh" in bottom
    top = layer_files(image.layers[1][1])
    assert top["etc/hello.txt"] == HELLO
    for diff_id, opener in image.layers:
        with opener() as fh:
            assert fh.verify() == diff_id  # type: ignore[attr-defined]


def test_podman_docker_archive(saved: Saved) -> None:
    [image] = read(saved.docker)
    assert image.names == ["localhost/second:2"]
    assert image.digest == ""
    check_second(image, saved)
    # podman's docker-archive names no blob digests: the diff ids are the check.
    assert [d for d, _ in image.blobs] == ["", ""]
    with image.blobs[1][1]() as raw:
        assert f"sha256:{sha(raw.read())}" == image.layers[1][0]


def test_podman_docker_archive_with_two_images(saved: Saved) -> None:
    second, base = read(saved.docker_multi)
    assert (second.names, base.names) == (["localhost/second:2"], ["localhost/base:1"])
    check_second(second, saved)
    assert base.id == saved.base_id
    assert [d for d, _ in base.layers] == [second.layers[0][0]]


def test_podman_oci_archive(saved: Saved) -> None:
    [image] = read(saved.oci)
    assert image.names == ["localhost/second:2"]
    assert image.digest.startswith("sha256:")
    check_second(image, saved)
    with image.layers[0][1]() as fh:
        assert fh.compression == "gzip"  # type: ignore[attr-defined]
    # The blobs as stored, for a reader that checks them itself.
    for digest, opener in image.blobs:
        with opener() as raw:
            data = raw.read()
        assert data[:2] == b"\x1f\x8b"
        assert digest == f"sha256:{sha(data)}"


@pytest.mark.parametrize("kind", ["directory", "archive"])
def test_oci_layout_with_two_images_zstd_and_gzip(saved: Saved, kind: str) -> None:
    second, base = read(saved.layout if kind == "directory" else saved.oci_multi)
    assert (second.names, base.names) == (["localhost/second:2"], ["localhost/base:1"])
    check_second(second, saved)
    with second.layers[0][1]() as fh:
        assert fh.compression == "zstd"  # type: ignore[attr-defined]
    with base.layers[0][1]() as fh:
        assert fh.compression == "gzip"  # type: ignore[attr-defined]
    assert base.layers[0][0] == second.layers[0][0]


def test_docker25_archive_with_blobs_and_an_index(saved: Saved, tmp_path: Path) -> None:
    """docker 25+ (and podman 5) write manifest.json naming blobs/sha256/<digest> files,
    beside an OCI index; manifest.json is the one read (it has the names)."""
    files, _ = read_members(saved.docker)
    [entry] = json.loads(files["manifest.json"])
    out: dict[str, bytes] = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}',
                             "index.json": b'{"schemaVersion":2,"manifests":[]}'}
    config = files[entry["Config"]]
    out[f"blobs/sha256/{sha(config)}"] = config
    layers = []
    for name in entry["Layers"]:
        out[f"blobs/sha256/{sha(files[name])}"] = files[name]
        layers.append(f"blobs/sha256/{sha(files[name])}")
    out["manifest.json"] = dumps([{"Config": f"blobs/sha256/{sha(config)}",
                                   "RepoTags": ["quay.io/x/second:2"], "Layers": layers}])
    [image] = read(write_members(tmp_path / "d25.tar", out))
    assert image.names == ["quay.io/x/second:2"]
    check_second(image, saved)


def test_gzipped_archive_and_legacy_layer_symlinks(saved: Saved, tmp_path: Path) -> None:
    """``docker save | gzip`` loads; a manifest naming the legacy ``<id>/layer.tar`` (a
    symlink to the layer file in podman's archives) is followed inside the archive."""
    files, links = read_members(saved.docker)
    entry = json.loads(files["manifest.json"])[0]
    by_target = {target.removeprefix("../"): name for name, target in links.items()}
    entry["Layers"] = [by_target[name] for name in entry["Layers"]]
    files["manifest.json"] = dumps([entry])
    plain = write_members(tmp_path / "legacy.tar", files, links)
    packed = tmp_path / "legacy.tar.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    [image] = read(packed)
    assert all(name.endswith("/layer.tar") for name in entry["Layers"])
    check_second(image, saved)


def test_ref_names_as_podman_reads_them(saved: Saved, tmp_path: Path) -> None:
    """skopeo's ``oci:dir:latest`` writes a bare tag as ref.name: podman 4 loads it as
    ``localhost/latest:latest``, and so do we; containerd's full name comes first."""
    files, _ = read_members(saved.oci)
    index = json.loads(files["index.json"])
    index["manifests"][0]["annotations"] = {"org.opencontainers.image.ref.name": "latest"}
    del index["manifests"][0]["mediaType"]
    files["index.json"] = dumps(index)
    [image] = read(write_members(tmp_path / "bare.tar", files))
    assert image.names == ["localhost/latest:latest"]
    index["manifests"][0]["annotations"]["io.containerd.image.name"] = "docker.io/x/y:3"
    files["index.json"] = dumps(index)
    [image] = read(write_members(tmp_path / "named.tar", files))
    assert image.names == ["docker.io/x/y:3"]
    index["manifests"][0]["annotations"] = {"org.opencontainers.image.ref.name": "Bad:x"}
    files["index.json"] = dumps(index)
    with pytest.raises(InvalidArgumentError, match="ref.name annotation: invalid image "
                       "reference 'Bad:x': repository name must be lowercase"):
        read(write_members(tmp_path / "bad.tar", files))


def test_not_an_image_archive(tmp_path: Path) -> None:
    path = write_members(tmp_path / "rootfs.tar", {"etc/hostname": b"box\n"})
    with pytest.raises(InvalidArgumentError, match="neither a docker-archive"):
        read(path)
    with pytest.raises(InvalidArgumentError, match="no such file"):
        read(tmp_path / "absent.tar")
