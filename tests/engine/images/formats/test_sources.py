"""Hostile archives, refused when read_archive indexes them: names leading out of the archive
(in the manifest, in the tar, through a symlink), missing blobs and configs, digests and sizes
that do not match, truncation, oversized members and too many of them. Each is refused with a
message naming the problem, and nothing is left on disk or running."""

from __future__ import annotations

import gzip
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from jupyter_ctr.engine.errors import InvalidArgumentError
from jupyter_ctr.engine.images import ArchiveLimits
from jupyter_ctr.engine.images.formats import (
    read_archive,
    write_docker_archive,
    write_oci_archive,
)

from .helpers import (
    Members,
    child_pids,
    dumps,
    listing,
    read_members,
    small_image,
    write_members,
)


@pytest.fixture
def docker(tmp_path: Path) -> Members:
    path = tmp_path / "good-docker.tar"
    with path.open("wb") as fh:
        write_docker_archive([small_image()], fh)
    files, _ = read_members(path)
    path.unlink()
    return files


@pytest.fixture
def oci(tmp_path: Path) -> Members:
    path = tmp_path / "good-oci.tar"
    with path.open("wb") as fh:
        write_oci_archive([small_image()], fh)
    files, _ = read_members(path)
    path.unlink()
    return files


def refused(tmp_path: Path, files: Members, match: str, *,
            links: dict[str, str] | None = None, limits: ArchiveLimits | None = None,
            raw: Callable[[Path], None] | None = None) -> None:
    """Write the forged archive, check read_archive refuses it with ``match``, and that it
    left nothing behind."""
    path = write_members(tmp_path / "forged.tar", files, links)
    if raw is not None:
        raw(path)
    before = listing(tmp_path)
    with pytest.raises(InvalidArgumentError, match=match):
        read_archive(path, origin="forged.tar", limits=limits or ArchiveLimits())
    assert listing(tmp_path) == before
    assert child_pids() == []


def docker_entry(files: Members) -> dict[str, object]:
    [entry] = json.loads(files["manifest.json"])
    return dict(entry)


def set_entry(files: Members, **changes: object) -> None:
    files["manifest.json"] = dumps([{**docker_entry(files), **changes}])


def test_the_unforged_archives_read(tmp_path: Path, docker: Members, oci: Members) -> None:
    for name, files in (("d.tar", docker), ("o.tar", oci)):
        [image] = read_archive(write_members(tmp_path / name, files), origin=name,
                               limits=ArchiveLimits())
        assert image.names == ["localhost/small:1"]
        assert len(image.layers) == 2


@pytest.mark.parametrize("where", ["../../etc/passwd", "/etc/passwd", "a/../../b.tar"])
def test_manifest_path_escape(tmp_path: Path, docker: Members, where: str) -> None:
    set_entry(docker, Layers=[where, docker_entry(docker)["Layers"][1]])  # type: ignore[index]
    refused(tmp_path, docker, "layer 1 of image 1 of manifest.json .* points outside the "
            "archive")


def test_config_path_escape(tmp_path: Path, docker: Members) -> None:
    set_entry(docker, Config="../config.json")
    refused(tmp_path, docker, "the config of image 1 .* points outside the archive")


def test_symlink_out_of_the_archive(tmp_path: Path, docker: Members) -> None:
    layers = docker_entry(docker)["Layers"]
    set_entry(docker, Layers=["evil/layer.tar", layers[1]])  # type: ignore[index]
    refused(tmp_path, docker, "leads through the symlink 'evil' to outside the archive",
            links={"evil": "../../../etc"})
    refused(tmp_path, docker, "leads through the symlink 'evil' to outside the archive",
            links={"evil": "/etc"})


def test_member_names_outside_or_twice(tmp_path: Path, docker: Members) -> None:
    refused(tmp_path, {**docker, "../up": b"x"}, "member '../up' has a path outside")

    def dup_manifest(path: Path) -> None:
        (tmp_path / "manifest.json").write_bytes(b"[]")
        subprocess.run(["tar", "-C", str(tmp_path), "-rf", str(path), "manifest.json"],
                       check=True)
        (tmp_path / "manifest.json").unlink()

    refused(tmp_path, docker, "member 'manifest.json' appears twice", raw=dup_manifest)


def test_missing_layer_and_config(tmp_path: Path, docker: Members, oci: Members) -> None:
    entry = docker_entry(docker)
    without_layer = {k: v for k, v in docker.items() if k != entry["Layers"][1]}  # type: ignore[index]
    refused(tmp_path, without_layer, "layer 2 of image 1 .* is missing from the archive")
    without_config = {k: v for k, v in docker.items() if k != entry["Config"]}
    refused(tmp_path, without_config, "the config of image 1 .* is missing")
    blob = next(k for k, v in oci.items() if k.startswith("blobs/") and v.startswith(b"b"))
    refused(tmp_path, {k: v for k, v in oci.items() if k != blob},
            "the layer 2 of manifest .* blob .* is missing")


def test_digest_mismatch_of_config_and_manifest(tmp_path: Path, docker: Members,
                                                oci: Members) -> None:
    config = docker_entry(docker)["Config"]
    docker[config] = docker[config].replace(b'"sh"', b'"ls"')  # type: ignore[index]
    refused(tmp_path, docker, "the config '[0-9a-f]+.json' does not match its digest")
    index = json.loads(oci["index.json"])
    key = f"blobs/sha256/{index['manifests'][0]['digest'][7:]}"
    oci[key] = oci[key].replace(b'"schemaVersion":2', b'"schemaVersion":3')
    refused(tmp_path, oci, "the manifest blob sha256:[0-9a-f]+ does not match its digest")


def test_descriptor_size_and_layer_count(tmp_path: Path, docker: Members,
                                         oci: Members) -> None:
    index = json.loads(oci["index.json"])
    index["manifests"][0]["size"] += 1
    forged = {**oci, "index.json": dumps(index)}
    refused(tmp_path, forged, "the manifest blob sha256:[0-9a-f]+ is [0-9]+ bytes, but its "
            "descriptor says")
    set_entry(docker, Layers=docker_entry(docker)["Layers"][:1])  # type: ignore[index]
    refused(tmp_path, docker, "lists 2 diff ids for 1 layers")


def test_truncated(tmp_path: Path, docker: Members) -> None:
    def cut(path: Path) -> None:
        data = path.read_bytes()
        path.write_bytes(data[:len(data) // 2])

    refused(tmp_path, docker, "truncated", raw=cut)
    refused(tmp_path, docker, "the file is empty", raw=lambda p: p.write_bytes(b""))


def test_oversized_and_too_many(tmp_path: Path, docker: Members) -> None:
    refused(tmp_path, docker, "is [0-9.]+ KiB, more than the 1 KiB allowed .*"
            "archive_max_member_size", limits=ArchiveLimits(max_member_size=1024))
    refused(tmp_path, docker, "more than 2 members .*archive_max_members",
            limits=ArchiveLimits(max_members=2))
    refused(tmp_path, docker, "add up to more than 2 KiB .*archive_max_size",
            limits=ArchiveLimits(max_size=2048))
    big = {**docker, "manifest.json": b" " * (5 << 20) + docker["manifest.json"]}
    refused(tmp_path, big, "manifest.json is 5 MiB; at most 4 MiB is allowed for JSON")


def test_whole_archive_zstd(tmp_path: Path, docker: Members) -> None:
    def zstd(path: Path) -> None:
        subprocess.run(["zstd", "-q", "--rm", str(path), "-o", f"{path}.zst"], check=True)
        Path(f"{path}.zst").rename(path)

    refused(tmp_path, docker, "zstd-compressed as a whole", raw=zstd)


def test_symlinks_inside_the_archive_are_followed(tmp_path: Path, docker: Members) -> None:
    """Legacy docker archives name ``<id>/layer.tar``, podman's are symlinks; links to files
    and directories inside the archive are followed."""
    layers = docker_entry(docker)["Layers"]
    set_entry(docker, Layers=["l1/layer.tar", "l2/other"])
    path = write_members(tmp_path / "links.tar", docker, {
        "l1/layer.tar": f"../{layers[0]}", "l1/other": f"../{layers[1]}",  # type: ignore[index]
        "l2": "l1"})
    [image] = read_archive(path, origin="links", limits=ArchiveLimits())
    for diff_id, opener in image.layers:
        with opener() as fh:
            assert fh.verify() == diff_id  # type: ignore[attr-defined]
    set_entry(docker, Layers=["loop/layer.tar", "l2/other"])
    refused(tmp_path, docker, "goes through too many symlinks", links={"loop": "loop"})


def test_compressed_archive_is_decompressed_once_to_an_anonymous_file(
        tmp_path: Path, docker: Members) -> None:
    packed = tmp_path / "d.tar.gz"
    packed.write_bytes(gzip.compress(write_members(tmp_path / "d.tar", docker).read_bytes()))
    spool = tmp_path / "spool"
    spool.mkdir()
    [image] = read_archive(packed, origin="d.tar.gz", limits=ArchiveLimits(), tmpdir=spool)
    for diff_id, opener in image.layers:
        with opener() as fh:
            assert fh.verify() == diff_id  # type: ignore[attr-defined]
    assert listing(spool) == []

    def cut(path: Path) -> None:
        data = gzip.compress(path.read_bytes())
        path.write_bytes(data[:len(data) // 2])

    refused(tmp_path, docker, "its gz data is truncated or corrupt", raw=cut)

    def bomb(path: Path) -> None:
        data = path.read_bytes() + b"\0" * (4 << 20)
        path.write_bytes(gzip.compress(data))

    refused(tmp_path, docker, "decompresses to more than .*archive_max_size", raw=bomb,
            limits=ArchiveLimits(max_size=1 << 20, max_members=10))


def test_absurd_counts(tmp_path: Path, docker: Members, oci: Members) -> None:
    entry = docker_entry(docker)
    refused(tmp_path, {**docker, "manifest.json": dumps([entry] * 1001)},
            "it lists 1001 images; at most 1000 are allowed")
    set_entry(docker, Layers=entry["Layers"] * 251)  # type: ignore[operator]
    refused(tmp_path, docker, "image 1 of manifest.json has 502 layers; at most 500")
    index = json.loads(oci["index.json"])
    index["manifests"] *= 1001
    refused(tmp_path, {**oci, "index.json": dumps(index)},
            "index.json lists 1001 manifests; at most 1000")
