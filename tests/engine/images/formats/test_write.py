"""The writers: archives made here from layer writers load in podman (``podman load`` for
docker-archive and one-image oci-archive; ``podman pull oci-archive:FILE:NAME`` for a
multi-image oci-archive, which podman 4 cannot ``load``) and run there; shared layers are
written once; a writer that lies about its diff id is caught."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import BinaryIO

import pytest

from jupyter_ctr.engine.errors import InvalidArgumentError
from jupyter_ctr.engine.images import ArchiveLimits
from jupyter_ctr.engine.images.formats import (
    ExportImage,
    read_archive,
    write_docker_archive,
    write_oci_archive,
    write_oci_layout,
)

from ..podman_tools import Podman, Saved
from .helpers import (
    bytes_writer,
    copy_writer,
    layer_files,
    listing,
    small_image,
    tar_bytes,
)

LIMITS = ArchiveLimits()
HELLO = "hello from layer 2\n"


def exports(saved: Saved, prefix: str = "") -> list[ExportImage]:
    """second:2 and base:1 read from podman's archive, renamed ``<prefix>second`` ..."""
    images = read_archive(saved.docker_multi, origin="multi", limits=LIMITS)
    return [ExportImage([n.replace("localhost/", f"localhost/{prefix}") for n in im.names],
                        im.config, [(d, copy_writer(op)) for d, op in im.layers])
            for im in images]


def test_docker_archive_two_images_load_and_run_in_podman(
        saved: Saved, tmp_path: Path, fresh_podman: Podman) -> None:
    out = tmp_path / "ours.tar"
    with out.open("wb") as fh:
        write_docker_archive(exports(saved), fh)
    with tarfile.open(out) as tar:
        names = sorted(tar.getnames())
    # The busybox layer both images share is in the archive once.
    assert sum(n.endswith(".tar") for n in names) == 2
    loaded = fresh_podman("load", "-i", str(out))
    assert "localhost/second:2" in loaded and "localhost/base:1" in loaded
    # The configs went out byte for byte, so podman's ids are the source's.
    assert fresh_podman("image", "inspect", "--format", "{{.Id}}", "localhost/second:2"
                        ).strip() == saved.second_id
    assert fresh_podman("image", "inspect", "--format", "{{.Id}}", "localhost/base:1"
                        ).strip() == saved.base_id
    assert fresh_podman.run("localhost/second:2", "cat", "/etc/hello.txt") == HELLO
    # ... and reads back here the same.
    second, base = read_archive(out, origin="ours", limits=LIMITS)
    assert (second.id, base.id) == (saved.second_id, saved.base_id)
    assert layer_files(second.layers[1][1])["etc/hello.txt"] == HELLO.encode()


def test_oci_archive_loads_and_runs_in_podman(saved: Saved, tmp_path: Path,
                                              fresh_podman: Podman) -> None:
    single = tmp_path / "single.tar"
    with single.open("wb") as fh:
        write_oci_archive(exports(saved, "gz")[:1], fh, compress=True)
    assert "localhost/gzsecond:2" in fresh_podman("load", "-i", str(single))
    assert fresh_podman.run("localhost/gzsecond:2", "cat", "/etc/hello.txt") == HELLO

    multi = tmp_path / "multi.tar"
    with multi.open("wb") as fh:
        write_oci_archive(exports(saved), fh)
    # podman 4 loads one image per oci-archive; pull takes the image by its ref.name.
    fresh_podman("pull", "-q", f"oci-archive:{multi}:localhost/base:1")
    fresh_podman("pull", "-q", f"oci-archive:{multi}:localhost/second:2")
    assert fresh_podman.run("localhost/second:2", "cat", "/etc/hello.txt") == HELLO
    assert fresh_podman("image", "inspect", "--format", "{{.Id}}", "localhost/base:1"
                        ).strip() == saved.base_id
    second, base = read_archive(multi, origin="multi", limits=LIMITS)
    assert (second.names, base.names) == (["localhost/second:2"], ["localhost/base:1"])


def test_oci_layout_directory(saved: Saved, tmp_path: Path, fresh_podman: Podman) -> None:
    layout = tmp_path / "layout"
    write_oci_layout(exports(saved), layout, compress=True)
    assert (layout / "oci-layout").is_file()
    # podman names an image pulled from an oci: directory after the directory: use its id.
    image_id = fresh_podman("pull", "-q", f"oci:{layout}:localhost/second:2").strip()
    assert image_id == saved.second_id
    assert fresh_podman.run(image_id, "cat", "/etc/hello.txt") == HELLO
    with pytest.raises(InvalidArgumentError, match="not an empty directory"):
        write_oci_layout(exports(saved), layout)


def test_several_names_and_no_name(saved: Saved, tmp_path: Path) -> None:
    second, base = exports(saved)
    second.names = ["localhost/a:1", "quay.io/b/c:2"]
    base.names = []
    out = tmp_path / "names.tar"
    with out.open("wb") as fh:
        write_oci_archive([second, base], fh)
    with tarfile.open(out) as tar:
        f = tar.extractfile("index.json")
        assert f is not None
        index = json.load(f)
    assert [m.get("annotations", {}).get("org.opencontainers.image.ref.name")
            for m in index["manifests"]] == ["localhost/a:1", "quay.io/b/c:2", None]
    got_second, got_base = read_archive(out, origin="names", limits=LIMITS)
    assert got_second.names == ["localhost/a:1", "quay.io/b/c:2"]
    assert got_base.names == []
    docker = tmp_path / "names-docker.tar"
    with docker.open("wb") as fh:
        write_docker_archive([second, base], fh)
    assert [im.names for im in read_archive(docker, origin="d", limits=LIMITS)] == [
        ["localhost/a:1", "quay.io/b/c:2"], []]


def test_diff_ids_are_the_ones_written(saved: Saved, tmp_path: Path) -> None:
    """A layer re-made from a directory may differ from the tarball it was loaded from: the
    config gets the diff ids the writers return."""
    second, _ = exports(saved)
    original = second.config["rootfs"]["diff_ids"]

    second.layers[1] = ("", bytes_writer(tar_bytes({"etc/other.txt": b""})))
    out = tmp_path / "changed.tar"
    with out.open("wb") as fh:
        write_docker_archive([second], fh)
    [image] = read_archive(out, origin="changed", limits=LIMITS)
    assert image.config["rootfs"]["diff_ids"][0] == original[0]
    assert image.config["rootfs"]["diff_ids"][1] != original[1]
    assert "etc/other.txt" in layer_files(image.layers[1][1])


def test_a_writer_with_a_wrong_diff_id_is_caught(saved: Saved, tmp_path: Path) -> None:
    second, _ = exports(saved)

    def liar(out: BinaryIO) -> str:
        out.write(b"\0" * 1024)
        return "sha256:" + "0" * 64

    second.layers[1] = ("", liar)
    before = listing(tmp_path)
    with (tmp_path / "x.tar").open("wb") as fh, pytest.raises(
            InvalidArgumentError, match="returned the diff id"):
        write_oci_archive([second], fh)
    assert listing(tmp_path) == sorted([*before, "x.tar"])
    layout = tmp_path / "layout"
    with pytest.raises(InvalidArgumentError, match="returned the diff id"):
        write_oci_layout([small_image(), second], layout)
    assert not layout.exists()
    layout.mkdir()
    with pytest.raises(InvalidArgumentError, match="returned the diff id"):
        write_oci_layout([small_image(), second], layout, compress=True)
    assert listing(layout) == []
    with pytest.raises(InvalidArgumentError, match="no images"):
        write_docker_archive([], (tmp_path / "y.tar").open("wb"))


class Pipe:
    """An output that can only be written, like a pipe or an HTTP response."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass


@pytest.mark.parametrize("fmt", ["docker", "oci", "oci-gzip"])
def test_to_a_pipe_and_to_a_file_alike(tmp_path: Path, fmt: str) -> None:
    """Into a pipe the layers are spooled (anonymous files in tmpdir, gone after); into a
    file they are written in place. The archives are the same; a layer twice is there once."""
    image = small_image()
    again = small_image("localhost/again:1")
    # The same content under no diff id: only its digest can tell it is there already.
    again.layers = [("", writer) for _, writer in again.layers]
    again.config["config"]["Cmd"] = ["ls"]
    write = write_docker_archive if fmt == "docker" else write_oci_archive
    kwargs = {"compress": True} if fmt == "oci-gzip" else {}
    spool = tmp_path / "spool"
    spool.mkdir()
    pipe = Pipe()
    write([image, again], pipe, tmpdir=spool, **kwargs)  # type: ignore[operator, arg-type]
    assert listing(spool) == []
    path = tmp_path / "file.tar"
    with path.open("wb") as fh:
        write([image, again], fh, **kwargs)  # type: ignore[operator]
    assert b"".join(pipe.chunks) == path.read_bytes()
    assert path.stat().st_size % 10240 == 0
    with tarfile.open(path) as tar:
        members = tar.getnames()
    assert len(members) == len(set(members))
    blobs = [m for m in members if m.endswith(".tar") or m.startswith("blobs/sha256/")]
    assert len(blobs) == (2 if fmt == "docker" else 2 + 2 + 2)  # + configs, manifests
    first, second = read_archive(path, origin="f", limits=LIMITS)
    assert [d for d, _ in first.layers] == [d for d, _ in second.layers]
    assert layer_files(second.layers[1][1]) == {"b": b"second\n" * 100}
