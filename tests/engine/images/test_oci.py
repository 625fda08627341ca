"""OCI image layouts and OCI archives, built with the real umoci: import, tag selection,
refusal of unsafe or tampered layouts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from jupyter_ctr.engine.errors import InvalidArgumentError
from jupyter_ctr.engine.images import ImageStore, host_architecture
from jupyter_ctr.engine.store import StateStore

from .conftest import assert_nothing_left, stored_layers

UMOCI = shutil.which("umoci")
needs_umoci = pytest.mark.skipif(UMOCI is None, reason="umoci is not installed")


def umoci(*args: str) -> None:
    assert UMOCI is not None
    subprocess.run([UMOCI, *args], check=True, capture_output=True)


def build_oci_layout(tmp_path: Path, tags: tuple[str, ...] = ("t",),
                     extra: dict[str, str] | None = None) -> Path:
    layout = tmp_path / "layout"
    umoci("init", "--layout", str(layout))
    for tag in tags:
        umoci("new", "--image", f"{layout}:{tag}")
        bundle = tmp_path / f"bundle-{tag}"
        umoci("unpack", "--image", f"{layout}:{tag}", str(bundle))
        rootfs = bundle / "rootfs"
        (rootfs / "etc").mkdir()
        (rootfs / "etc/message").write_text(f"hello from {tag}\n")
        (rootfs / "bin").mkdir()
        os.symlink("../etc/message", rootfs / "bin/msg")
        for rel, target in (extra or {}).items():
            os.symlink(target, rootfs / rel)
        umoci("repack", "--image", f"{layout}:{tag}", str(bundle))
        umoci("config", "--image", f"{layout}:{tag}", "--config.cmd", "cat",
              "--config.cmd", "/etc/message", "--config.env", "FOO=bar",
              "--config.label", f"which={tag}", "--config.workingdir", "/etc",
              "--config.user", "nobody")
        umoci("gc", "--layout", str(layout))
    return layout


def oci_config_digest(layout: Path, tag: str) -> str:
    index = json.loads((layout / "index.json").read_text())
    desc = next(m for m in index["manifests"]
                if m["annotations"]["org.opencontainers.image.ref.name"] == tag)
    manifest = json.loads(
        (layout / "blobs/sha256" / desc["digest"].split(":")[1]).read_text())
    return str(manifest["config"]["digest"].split(":")[1])


@needs_umoci
def test_import_oci_layout_dir(tmp_path: Path, images: ImageStore) -> None:
    layout = build_oci_layout(tmp_path)
    before = {p: p.read_bytes() for p in layout.rglob("*") if p.is_file()}
    image = images.import_image(layout, "quay.io/demo/oci:1")
    assert image.id == oci_config_digest(layout, "t")
    assert (image.rootfs / "etc/message").read_text() == "hello from t\n"
    assert os.readlink(image.rootfs / "bin/msg") == "../etc/message"
    assert image.config["Cmd"] == ["cat", "/etc/message"]
    assert "FOO=bar" in image.config["Env"]
    assert image.config["Labels"] == {"which": "t"}
    assert image.config["WorkingDir"] == "/etc"
    # "nobody" is not in the image's /etc/passwd: a runtime matter, no reason to refuse.
    assert image.config["User"] == "nobody"
    assert image.config["Entrypoint"] is None
    info = image.inspect()
    assert info["Digest"].startswith("sha256:") and info["Digest"][7:] != image.id
    assert len(info["RootFS"]["Layers"]) == 1
    assert info["Architecture"] == host_architecture()  # umoci new records the host's
    # The source layout is untouched and nothing is left in staging.
    assert {p: p.read_bytes() for p in layout.rglob("*") if p.is_file()} == before
    assert [p.name for p in (tmp_path / "root/images").iterdir()] == []
    assert stored_layers(tmp_path / "root") == [d.removeprefix("sha256:") for d in image.layers]
    # Importing again only adds a name.
    assert images.import_image(layout, "again").id == image.id
    assert images.get(image.id).names == ["localhost/again:latest", "quay.io/demo/oci:1"]


@needs_umoci
def test_import_oci_archive(tmp_path: Path, images: ImageStore) -> None:
    layout = build_oci_layout(tmp_path)
    archive = tmp_path / "image.oci.tar"
    with tarfile.open(archive, "w") as tar:
        for child in sorted(layout.iterdir()):
            tar.add(child, arcname=child.name)
    image = images.import_image(archive, "from-archive")
    assert image.id == oci_config_digest(layout, "t")
    assert (image.rootfs / "etc/message").read_text() == "hello from t\n"
    assert image.config["Cmd"] == ["cat", "/etc/message"]
    assert [p.name for p in (tmp_path / "root/images").iterdir()] == []
    assert stored_layers(tmp_path / "root") == [d.removeprefix("sha256:") for d in image.layers]


@needs_umoci
def test_import_oci_picks_tag_among_several(tmp_path: Path, images: ImageStore,
                                            state: StateStore) -> None:
    layout = build_oci_layout(tmp_path, tags=("one", "two"))
    with pytest.raises(InvalidArgumentError, match=r"holds 2 images \(one, two\)"):
        images.import_image(layout, "pick")
    assert_nothing_left(tmp_path / "root", state)
    image = images.import_image(layout, "pick:two")
    assert (image.rootfs / "etc/message").read_text() == "hello from two\n"
    assert image.config["Labels"] == {"which": "two"}


@needs_umoci
def test_import_oci_without_ref_name(tmp_path: Path, images: ImageStore) -> None:
    layout = build_oci_layout(tmp_path)
    index = json.loads((layout / "index.json").read_text())
    del index["manifests"][0]["annotations"]
    (layout / "index.json").write_text(json.dumps(index))
    image = images.import_image(layout, "untagged")
    assert (image.rootfs / "etc/message").read_text() == "hello from t\n"


@needs_umoci
def test_import_oci_keeps_absolute_symlink(tmp_path: Path, images: ImageStore) -> None:
    """An absolute symlink is kept as it is: it resolves inside the container at run time
    (refused before images had layers)."""
    layout = build_oci_layout(tmp_path, extra={"bin/sh": "/bin/busybox"})
    image = images.import_image(layout, "abs")
    assert os.readlink(image.rootfs / "bin/sh") == "/bin/busybox"


@needs_umoci
def test_import_oci_broken_layout(tmp_path: Path, images: ImageStore, state: StateStore) -> None:
    layout = build_oci_layout(tmp_path)
    index = json.loads((layout / "index.json").read_text())
    blob = layout / "blobs/sha256" / index["manifests"][0]["digest"].split(":")[1]
    blob.write_text(blob.read_text().replace("schemaVersion", "schemaversion"))
    with pytest.raises(InvalidArgumentError, match="does not match its digest"):
        images.import_image(layout, "tampered")
    index["manifests"][0]["digest"] = "sha256:../../../etc/passwd"
    (layout / "index.json").write_text(json.dumps(index))
    with pytest.raises(InvalidArgumentError, match="malformed digest"):
        images.import_image(layout, "traversal")
    (layout / "index.json").write_text("{not json")
    with pytest.raises(InvalidArgumentError, match="not a valid OCI image layout"):
        images.import_image(layout, "garbage")
    assert_nothing_left(tmp_path / "root", state)
