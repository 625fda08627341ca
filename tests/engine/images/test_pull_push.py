"""ImageStore.pull and push against the real registry fixture, and save/load round trips
through the store's methods."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_ctr.engine.errors import InvalidArgumentError, NoSuchImageError, RegistryError
from jupyter_ctr.engine.images import ImageStore
from jupyter_ctr.engine.store import StateStore

from .registry import TEST_LAYERS, TEST_REPO, TEST_TAG, LocalRegistry


def _fresh(tmp_path: Path, name: str) -> ImageStore:
    return ImageStore(tmp_path / name / "root", StateStore(tmp_path / name / "state.db"))


def _staging_left(store: ImageStore) -> list[str]:
    return [p.name for p in store.images_dir.iterdir() if p.name.startswith(".staging-")]


def test_pull_push_pull(registry: LocalRegistry, images: ImageStore, tmp_path: Path) -> None:
    ref = f"{registry.host}/{TEST_REPO}:{TEST_TAG}"
    seen: list[str] = []
    img = images.pull(ref, tls_verify=False, progress=seen.append)
    assert img.names == [ref] and len(img.layers) == TEST_LAYERS
    assert seen[0] == f"Trying to pull {ref}..."
    assert sum(line.startswith("Copying blob sha256:") for line in seen) == TEST_LAYERS
    assert "Writing manifest to image destination" in seen and seen[-1] == "Storing signatures"
    assert (img.rootfs / "etc" / "layer3").read_text() == "three\n"
    assert _staging_left(images) == []
    # again: the same image, nothing new, no second copy of any layer
    layers = sorted(p.name for p in images.layers_dir.iterdir())
    again = images.pull(ref, tls_verify=False)
    assert again.id == img.id and sorted(p.name for p in images.layers_dir.iterdir()) == layers
    # push under another name, pull it on a fresh store: the same image id and layers
    dest = f"{registry.host}/test/pushed:2"
    pushed: list[str] = []
    digest = images.push(ref, dest, tls_verify=False, progress=pushed.append)
    assert digest.startswith("sha256:") and "2" in registry.tags("test/pushed")
    assert "Writing manifest to image destination" in pushed
    other = _fresh(tmp_path, "other")
    copy = other.pull(dest, tls_verify=False)
    # the same layers' content and config (layers are written again from the store's
    # directories: their tar bytes, so their digests, may differ from the source's)
    assert len(copy.layers) == TEST_LAYERS and copy.names == [dest]
    assert copy.config == img.config
    assert (copy.rootfs / "etc" / "layer3").read_text() == "three\n"
    assert sorted(p.name for p in (other.layer_dirs(copy)[1] / "srv").iterdir()) == ["data"]
    assert copy.digest == digest
    # push by its own name (no destination)
    images.tag(img.id, f"{registry.host}/test/own:3")
    images.push(f"{registry.host}/test/own:3", tls_verify=False)
    assert registry.tags("test/own") == ["3"]
    assert _staging_left(images) == [] and _staging_left(other) == []


def test_pull_by_digest_has_no_name(registry: LocalRegistry, images: ImageStore) -> None:
    ref = f"{registry.host}/{TEST_REPO}:{TEST_TAG}"
    digest = images.push(images.pull(ref, tls_verify=False).id, ref, tls_verify=False)
    fresh = _fresh(images.root.parent, "digest")
    img = fresh.pull(f"{registry.host}/{TEST_REPO}@{digest}", tls_verify=False)
    assert img.names == [] and img.digest == digest


def test_pull_failures_leave_nothing(registry: LocalRegistry, images: ImageStore) -> None:
    with pytest.raises(NoSuchImageError, match="not known to registry"):
        images.pull(f"{registry.host}/test/missing:1", tls_verify=False)
    with pytest.raises(RegistryError, match="http"):
        images.pull(f"{registry.host}/{TEST_REPO}:{TEST_TAG}")  # https to a plain registry
    with pytest.raises(NoSuchImageError):
        images.push("localhost/absent:1", f"{registry.host}/test/absent:1", tls_verify=False)
    assert images.list() == [] and _staging_left(images) == []
    assert not any(images.layers_dir.glob("[0-9a-f]*"))


def test_push_an_id_needs_a_destination(registry: LocalRegistry, images: ImageStore) -> None:
    img = images.pull(f"{registry.host}/{TEST_REPO}:{TEST_TAG}", tls_verify=False)
    with pytest.raises(InvalidArgumentError, match="give a destination"):
        images.push(img.id[:12], tls_verify=False)


def test_save_load_methods(registry: LocalRegistry, images: ImageStore, tmp_path: Path) -> None:
    img = images.pull(f"{registry.host}/{TEST_REPO}:{TEST_TAG}", tls_verify=False)
    archive = tmp_path / "busy.tar"
    with archive.open("wb") as fh:
        images.save([img.names[0]], fh, format="oci-archive")
    other = _fresh(tmp_path, "loaded")
    loaded = other.load(archive)
    assert [len(i.layers) for i in loaded] == [TEST_LAYERS] and loaded[0].names == img.names
