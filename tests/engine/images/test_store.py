"""ImageStore: config overrides, lookups and names, removal (refused while in use), and
cleanup of failed imports and of staging directories left by killed ones."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from jupyter_ctr.engine import procinfo
from jupyter_ctr.engine.errors import (
    ImageInUseError,
    ImageNamesConflictError,
    InvalidArgumentError,
    NoSuchImageError,
)
from jupyter_ctr.engine.images import ImageStore
from jupyter_ctr.engine.store import StateStore

from .conftest import assert_nothing_left, basic_entries, make_tar


def test_import_config_overrides(tmp_path: Path, images: ImageStore) -> None:
    archive = make_tar(tmp_path / "r.tar", basic_entries())
    image = images.import_image(archive, "cfg", config={
        "Cmd": ["/bin/hello"], "Labels": {"a": "b"}, "User": "1000"})
    assert image.config["Cmd"] == ["/bin/hello"]
    assert image.config["Labels"] == {"a": "b"}
    assert image.config["User"] == "1000"
    with pytest.raises(InvalidArgumentError, match="unknown image config key"):
        images.import_image(archive, "cfg2", config={"Bogus": 1})
    with pytest.raises(InvalidArgumentError, match="Cmd must be a list of strings"):
        images.import_image(archive, "cfg3", config={"Cmd": "sh"})


def test_list_get_and_names(tmp_path: Path, images: ImageStore, state: StateStore) -> None:
    a = images.import_image(make_tar(tmp_path / "a.tar", basic_entries()), "busybox")
    b_entries = [*basic_entries(), ("b", "file", b"b")]
    b = images.import_image(make_tar(tmp_path / "b.tar", b_entries), "quay.io/team/other:1")
    assert [i.id for i in images.list()] == [a.id, b.id]

    assert images.get("busybox").id == a.id
    assert images.get("busybox:latest").id == a.id
    assert images.get("localhost/busybox:latest").id == a.id
    assert images.get(a.id).id == a.id
    assert images.get("sha256:" + a.id).id == a.id
    assert images.get(a.id[:12]).id == a.id
    assert images.get(b.id[:3]).id == b.id
    assert images.get("quay.io/team/other:1").id == b.id
    assert images.get("other:1").id == b.id  # short name, like podman's local lookup
    for missing in ("nosuch", "nosuch:tag", "ab", "Upper", "0" * 64, ""):
        with pytest.raises(NoSuchImageError, match=re.escape(f"{missing}: image not known")):
            images.get(missing)

    # Same content under another name: same image, one more name.
    again = images.import_image(tmp_path / "a.tar", "second:v1")
    assert again.id == a.id
    assert again.names == ["localhost/busybox:latest", "localhost/second:v1"]
    assert len(images.list()) == 2

    # A name held by another image moves to the newly imported one.
    moved = images.import_image(tmp_path / "b.tar", "busybox")
    assert moved.id == b.id
    assert images.get("busybox").id == b.id
    assert images.get(a.id).names == ["localhost/second:v1"]

    images.tag(a.id[:8], "third")
    assert images.get("third").id == a.id
    assert images.untag("third") == a.id
    with pytest.raises(NoSuchImageError):
        images.get("third")


def test_ambiguous_prefix(images: ImageStore, state: StateStore) -> None:
    record = {"config": {}, "created": 0.0}
    state.add_image("abc1" + "0" * 60, ["localhost/one:latest"], record)
    state.add_image("abc2" + "0" * 60, ["localhost/two:latest"], record)
    with pytest.raises(NoSuchImageError, match="ambiguous"):
        images.get("abc")
    assert images.get("abc2").names == ["localhost/two:latest"]
    with pytest.raises(NoSuchImageError):
        images.get("ab")  # shorter than 3 characters: never a prefix lookup


def test_remove(tmp_path: Path, images: ImageStore, state: StateStore) -> None:
    image = images.import_image(make_tar(tmp_path / "a.tar", basic_entries()), "gone")
    asked: list[str] = []

    def users(image_id: str) -> list[str]:
        asked.append(image_id)
        return []

    assert images.remove("gone", users) == image.id
    assert asked == [image.id]
    assert not image.rootfs.exists()
    assert_nothing_left(tmp_path / "root", state)
    with pytest.raises(NoSuchImageError, match="gone: image not known"):
        images.get("gone")
    with pytest.raises(NoSuchImageError, match="gone: image not known"):
        images.remove("gone", users)


def test_remove_in_use_is_refused(tmp_path: Path, images: ImageStore) -> None:
    image = images.import_image(make_tar(tmp_path / "a.tar", basic_entries()), "busy")
    with pytest.raises(ImageInUseError, match="web, db"):
        images.remove("busy", lambda _id: ["web", "db"])
    assert images.get("busy").id == image.id
    assert (image.rootfs / "bin/hello").exists()


def test_remove_reference_by_one_of_several_names_only_untags(
        tmp_path: Path, images: ImageStore, state: StateStore) -> None:
    """podman rmi NAME: the name goes, the image stays (a container may use it) until its
    last name goes; then the report lists that name and says removed."""
    image = images.import_image(make_tar(tmp_path / "a.tar", basic_entries()), "a:1")
    images.tag(image.id, "a:2")
    images.tag(image.id, "quay.io/team/b:1")
    in_use = lambda _id: ["web"]  # noqa: E731 - a container uses it all along
    report = images.remove_reference("a:2", in_use)
    assert (report.id, report.untagged, report.removed) == (image.id, ["localhost/a:2"], False)
    assert images.get(image.id).names == ["localhost/a:1", "quay.io/team/b:1"]
    assert (image.rootfs / "bin/hello").exists()
    # a short name untags the name it matched
    report = images.remove_reference("b:1", in_use)
    assert report.untagged == ["quay.io/team/b:1"] and not report.removed
    with pytest.raises(NoSuchImageError, match="a:2: image not known"):
        images.remove_reference("a:2", in_use)
    # the last name: the image would go, and a container uses it
    with pytest.raises(ImageInUseError, match="web"):
        images.remove_reference("a:1", in_use)
    assert images.get("a:1").id == image.id
    report = images.remove_reference("localhost/a:1", lambda _id: [])
    assert (report.id, report.untagged, report.removed) == (image.id, ["localhost/a:1"], True)
    assert images.list() == []
    assert_nothing_left(tmp_path / "root", state)


def test_remove_reference_by_id(tmp_path: Path, images: ImageStore, state: StateStore) -> None:
    """By ID: refused with several names unless forced (podman's "by ID with more than one
    tag"); forced, or with one name or none, the image goes with all its names."""
    image = images.import_image(make_tar(tmp_path / "a.tar", basic_entries()), "a:1")
    images.tag(image.id, "b:1")
    for ref in (image.id, image.id[:12], f"sha256:{image.id}"):
        with pytest.raises(ImageNamesConflictError,
                           match=r'by ID with more than one tag \(localhost/a:1, '
                                 r"localhost/b:1\): please force removal"):
            images.remove_reference(ref, lambda _id: [])
    assert images.get(image.id).names == ["localhost/a:1", "localhost/b:1"]
    with pytest.raises(ImageInUseError):  # force removes no container
        images.remove_reference(image.id[:12], lambda _id: ["web"], force=True)
    report = images.remove_reference(image.id[:12], lambda _id: [], force=True)
    assert report.untagged == ["localhost/a:1", "localhost/b:1"] and report.removed
    assert_nothing_left(tmp_path / "root", state)

    one = images.import_image(tmp_path / "a.tar", "one")
    report = images.remove_reference(one.id, lambda _id: [])
    assert (report.untagged, report.removed) == (["localhost/one:latest"], True)
    dangling = images.import_image(tmp_path / "a.tar", "two")
    images.untag("two")
    report = images.remove_reference(dangling.id, lambda _id: [])
    assert (report.untagged, report.removed) == ([], True)
    assert_nothing_left(tmp_path / "root", state)


def test_untag_unless_last_is_atomic(tmp_path: Path, images: ImageStore,
                                     state: StateStore) -> None:
    """Two removals of an image's last two names: the second sees one name left and removes
    the image (never two untags leaving it nameless)."""
    image = images.import_image(make_tar(tmp_path / "a.tar", basic_entries()), "a:1")
    images.tag(image.id, "a:2")
    assert state.untag_image_unless_last("localhost/a:1", image.id)
    assert not state.untag_image_unless_last("localhost/a:2", image.id)
    assert not state.untag_image_unless_last("localhost/nope:1", image.id)
    assert images.get(image.id).names == ["localhost/a:2"]


def test_reimport_after_remove(tmp_path: Path, images: ImageStore) -> None:
    archive = make_tar(tmp_path / "a.tar", basic_entries())
    first = images.import_image(archive, "x")
    images.remove(first.id, lambda _id: [])
    second = images.import_image(archive, "x")
    assert second.id == first.id and (second.rootfs / "bin/hello").exists()


def test_bad_paths_refused(tmp_path: Path, images: ImageStore, state: StateStore) -> None:
    with pytest.raises(InvalidArgumentError, match="no such file or directory"):
        images.import_image(tmp_path / "nope.tar", "x")
    (tmp_path / "plain-dir").mkdir()
    with pytest.raises(InvalidArgumentError, match="must be an OCI image layout"):
        images.import_image(tmp_path / "plain-dir", "x")
    with pytest.raises(InvalidArgumentError, match="must be lowercase"):
        images.import_image(make_tar(tmp_path / "ok.tar", basic_entries()), "Bad")
    assert_nothing_left(tmp_path / "root", state)


def test_failed_db_write_leaves_nothing(tmp_path: Path, images: ImageStore, state: StateStore,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(state, "add_image", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        images.import_image(make_tar(tmp_path / "a.tar", basic_entries()), "x")
    monkeypatch.undo()
    assert_nothing_left(tmp_path / "root", state)


def test_stale_staging_is_swept(tmp_path: Path, state: StateStore) -> None:
    """Staging directories are named by their owner process (engine/staging.py): a dead
    owner's is swept, a live one's is kept."""
    images_dir = tmp_path / "root" / "images"
    child = subprocess.Popen(["sleep", "0"])
    child.wait()
    dead_tag = f"{child.pid}-{procinfo.start_time(os.getpid())}"  # a pid that is gone
    dead = images_dir / f".staging-{dead_tag}-aa"
    (dead / "tree").mkdir(parents=True)
    alive = images_dir / f".staging-{procinfo.owner_tag()}-bb"
    alive.mkdir()
    ImageStore(tmp_path / "root", state)
    assert not dead.exists()
    assert alive.exists()
