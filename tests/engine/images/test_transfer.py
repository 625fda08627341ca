"""load and save between the layered ImageStore and archives: podman's archives load (ids
and names kept, the shared base layer stored once), a bad image in a multi-image archive
leaves nothing, and what save writes loads and runs in podman."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

pytest.importorskip("jupyter_ctr.engine.images.layers", reason="needs the layered store")

from jupyter_ctr.engine.errors import InvalidArgumentError  # noqa: E402
from jupyter_ctr.engine.images import ImageStore, transfer  # noqa: E402

from .formats.helpers import listing, read_members, write_members  # noqa: E402
from .podman_tools import Podman, Saved, fresh_podman, saved  # noqa: E402

__all__ = ["fresh_podman", "saved"]
HELLO = "hello from layer 2\n"


def test_load_podman_docker_archive_shares_the_base_layer(saved: Saved,
                                                          images: ImageStore) -> None:
    second, base = transfer.load(images, saved.docker_multi)
    assert (second.id, base.id) == (saved.second_id, saved.base_id)
    assert second.names == ["localhost/second:2"]
    assert base.names == ["localhost/base:1"]
    assert second.layers[0] == base.layers[0]
    second_dirs, base_dirs = images.layer_dirs(second), images.layer_dirs(base)
    assert second_dirs[0] == base_dirs[0]
    assert (second_dirs[1] / "etc/hello.txt").read_text() == HELLO
    assert second.config["Cmd"] == ["sh"]
    # Loading again only finds them.
    assert [i.id for i in transfer.load(images, saved.docker)] == [saved.second_id]
    assert len(images.list()) == 2


@pytest.mark.parametrize("which", ["oci", "layout", "oci_multi"])
def test_load_oci(saved: Saved, images: ImageStore, which: str) -> None:
    loaded = transfer.load(images, getattr(saved, which))
    assert loaded[0].id == saved.second_id
    assert (images.layer_dirs(loaded[0])[1] / "etc/hello.txt").read_text() == HELLO


def test_a_bad_second_image_leaves_nothing(saved: Saved, images: ImageStore,
                                           tmp_path: Path) -> None:
    files, links = read_members(saved.docker_multi)
    second, base = json.loads(files["manifest.json"])
    # base:1 loads first, then second:2's own layer fails its diff id.
    files["manifest.json"] = json.dumps([base, second]).encode()
    top = second["Layers"][1]
    files[top] = files[top].replace(b"hello from", b"HELLO from")
    forged = write_members(tmp_path / "forged.tar", files, links)
    with pytest.raises(InvalidArgumentError, match="diff_id sha256:[0-9a-f]+, not sha256:"):
        transfer.load(images, forged)
    assert images.list() == []
    # The store's lock file stays; no layer, image or staging directory does.
    # the store's own folders, empty (layers/l holds the layers' short links)
    assert [p for p in listing(images.root) if not p.endswith(".lock")] == \
        ["images", "layers", "layers/l"]


@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive"])
def test_save_loads_and_runs_in_podman(saved: Saved, images: ImageStore, tmp_path: Path,
                                       fresh_podman: Podman, fmt: str) -> None:
    transfer.load(images, saved.docker_multi)
    out = tmp_path / "saved.tar"
    refs = ["localhost/second:2"] if fmt == "oci-archive" else ["second:2", "base:1"]
    with out.open("wb") as fh:
        transfer.save(images, refs, fh, format=fmt, compress=True)
    loaded = fresh_podman("load", "-i", str(out))
    assert "localhost/second:2" in loaded
    assert fresh_podman.run("localhost/second:2", "cat", "/etc/hello.txt") == HELLO
    assert [p for p in listing(images.images_dir) if ".staging" in p] == []
    with out.open("wb") as fh:
        transfer.save(images, [saved.second_id[:12]], fh)
    with tarfile.open(out) as tar:
        f = tar.extractfile("manifest.json")
        assert f is not None
        assert json.load(f)[0]["RepoTags"] == []


def test_save_oci_dir_and_errors(saved: Saved, images: ImageStore, tmp_path: Path) -> None:
    transfer.load(images, saved.docker)
    transfer.save(images, ["localhost/second:2"], tmp_path / "layout", format="oci-dir")
    [again] = transfer.load(images, tmp_path / "layout")
    # The layers are tarred anew from their directories, so the diff ids, and with them
    # the id, may differ from podman's; the content does not.
    assert len(again.layers) == 2
    assert again.config["Cmd"] == ["sh"]
    assert (images.layer_dirs(again)[1] / "etc/hello.txt").read_text() == HELLO
    with pytest.raises(InvalidArgumentError, match="unknown save format"):
        transfer.save(images, ["localhost/second:2"], io.BytesIO(), format="tar")
    with pytest.raises(InvalidArgumentError, match="name at least one image"):
        transfer.save(images, [], io.BytesIO())


def test_a_blob_that_is_not_its_digest_is_refused(saved: Saved, images: ImageStore,
                                                  tmp_path: Path) -> None:
    """Same size, same content once decompressed (only the gzip header's mtime differs):
    only the blob digest can tell, and the store is given it to check."""
    files, _ = read_members(saved.oci)
    blob = next(k for k, v in files.items() if v.startswith(b"\x1f\x8b"))
    files[blob] = files[blob][:4] + b"\x01\x02\x03\x04" + files[blob][8:]
    forged = write_members(tmp_path / "forged.tar", files)
    with pytest.raises(InvalidArgumentError, match="digest"):
        transfer.load(images, forged)
    assert images.list() == []
