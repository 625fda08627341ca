"""Archive limits (issue 9, item 6): member size, total size and member count are checked
from each member's header before any of its bytes is written or hashed; sparse members are
refused in checkpoint archives; huge pax headers and gigabytes of trailing data are refused;
nothing is left in staging."""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_ctr.engine import Runtime
from jupyter_ctr.engine.config import EngineConfig
from jupyter_ctr.engine.errors import InvalidArgumentError
from jupyter_ctr.engine.images import ArchiveLimits, ImageStore
from jupyter_ctr.engine.settings import Settings
from jupyter_ctr.engine.store import StateStore
from tests import archives

SMALL = ArchiveLimits(max_member_size=1 << 20, max_size=4 << 20, max_members=64)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ImageStore]:
    state = StateStore(tmp_path / "state.db")
    yield ImageStore(tmp_path / "root", state, SMALL)
    state.close()


def staging_empty(images: ImageStore) -> bool:
    return not [p for p in images.images_dir.iterdir() if p.name.startswith(".staging")]


@pytest.mark.parametrize("build,match", [
    (lambda p: archives.gzip_bomb(p, 64 << 20), "more than the 1 MiB allowed for one member"),
    (lambda p: archives.sparse(p, 8 << 30), "more than the 1 MiB allowed for one member"),
    (lambda p: archives.sparse(p, 8 << 30, "posix"), "allowed for one member"),
    (lambda p: archives.many_members(p, 65), "more than 64 members"),
    (lambda p: archives.huge_pax_header(p), "extended header"),
    (lambda p: archives.trailing_zeros(p), "follow the end of the tar archive"),
], ids=["gzip-bomb", "sparse-gnu", "sparse-pax", "members", "pax-header", "trailing"])
def test_image_import_limits(tmp_path: Path, store: ImageStore, build, match) -> None:
    archive = build(tmp_path / "hostile.tar")
    with pytest.raises(InvalidArgumentError, match=match):
        store.import_image(archive, "localhost/hostile")
    assert store.list() == []
    assert staging_empty(store)


def test_total_size_limit(tmp_path: Path, store: ImageStore) -> None:
    """Five members of 1 MiB each: each is allowed, their sum (5 MiB > 4 MiB) is not."""
    archive = tmp_path / "total.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for i in range(5):
            info = tarfile.TarInfo(f"f{i}")
            info.size = 1 << 20
            tar.addfile(info, archives.Zeros(1 << 20))  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="add up to more than 4 MiB"):
        store.import_image(archive, "localhost/total")
    assert staging_empty(store)


def test_within_limits_imports(tmp_path: Path, store: ImageStore) -> None:
    archive = archives.many_members(tmp_path / "ok.tar", 60)
    img = store.import_image(archive, "localhost/ok")
    assert (img.rootfs / "f59").is_file()


def test_sparse_member_within_limits_is_fine_for_images(tmp_path: Path,
                                                         state_dir: Path) -> None:
    """A rootfs tarball may hold sparse files (GNU tar -S): counted at their full size."""
    state = StateStore(state_dir / "state.db")
    try:
        images = ImageStore(state_dir / "root", state,
                            ArchiveLimits(max_member_size=64 << 20, max_size=64 << 20))
        img = images.import_image(archives.sparse(tmp_path / "s.tar", 32 << 20, name="big"),
                                  "localhost/sparse")
        assert (img.rootfs / "big").stat().st_size == 32 << 20
    finally:
        state.close()


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    path = tmp_path / "state"
    path.mkdir()
    return path


def test_limits_come_from_the_settings(tmp_path: Path) -> None:
    cfg = EngineConfig(root=str(tmp_path / "r"), run_root=str(tmp_path / "x"),
                       archive_max_member_size=123, archive_max_size=456,
                       archive_max_members=7)
    rt = Runtime(config=cfg)
    try:
        assert rt.images.limits == ArchiveLimits(123, 456, 7)
    finally:
        rt.close()
    plain = Settings(root=str(tmp_path / "r"), run_root=str(tmp_path / "x"),
                     archive_max_members=9)
    assert ArchiveLimits.from_settings(plain).max_members == 9
    assert ArchiveLimits.from_settings(object()) == ArchiveLimits()


@pytest.mark.parametrize("build,match", [
    (lambda p: archives.sparse(p, 8 << 30), "is a sparse file"),
    (lambda p: archives.sparse(p, 8 << 30, "posix"), "is a sparse file"),
    (lambda p: archives.huge_pax_header(p), "extended header"),
], ids=["sparse-gnu", "sparse-pax", "pax-header"])
def test_checkpoint_archive_refused_before_hashing(rt: Runtime, tmp_path: Path,
                                                  build, match) -> None:
    """A 10 kB checkpoint archive listing an 8 GiB sparse member is refused from its header
    with the default limits (it used to be extracted, then hashed for 11-25 s)."""
    archive = build(tmp_path / "hostile.tar")
    with pytest.raises(InvalidArgumentError, match=match):
        rt.restore_container(archive, name="hostile")
    assert not list((rt.root / "containers").glob(".restore-*"))
    assert rt.list_containers(all=True) == []


def test_checkpoint_archive_member_limit(engine_roots: tuple[Path, Path],
                                         tmp_path: Path) -> None:
    root, run_root = engine_roots
    rt = Runtime(config=Settings(root=str(root), run_root=str(run_root),
                                 archive_max_member_size=1 << 20))
    try:
        archive = archives.gzip_bomb(tmp_path / "bomb.tar.gz", 64 << 20)
        with pytest.raises(InvalidArgumentError, match="allowed for one member"):
            rt.restore_container(archive, name="bomb")
        assert not list((rt.root / "containers").glob(".restore-*"))
    finally:
        rt.close()
