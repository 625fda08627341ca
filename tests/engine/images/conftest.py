"""Fixtures and tarball builders for the image package's tests: a StateStore and an
ImageStore on a temporary root."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_ctr.engine.images import ImageStore
from jupyter_ctr.engine.store import StateStore


@pytest.fixture
def state(tmp_path: Path) -> Iterator[StateStore]:
    store = StateStore(tmp_path / "state.db")
    yield store
    store.close()


@pytest.fixture
def images(tmp_path: Path, state: StateStore) -> ImageStore:
    return ImageStore(tmp_path / "root", state)


# -- tarball builders ---------------------------------------------------------------------

Entry = tuple[str, str, Any]  # (name, kind, payload): kind in dir/file/sym/hard/fifo/chr


def make_tar(path: Path, entries: list[Entry], mode: str = "w") -> Path:
    with tarfile.open(path, mode) as tar:  # type: ignore[call-overload]
        for name, kind, payload in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 1_600_000_000
            info.mode = 0o755 if kind == "dir" else 0o644
            if kind == "dir":
                info.type = tarfile.DIRTYPE
            elif kind == "sym":
                info.type, info.linkname = tarfile.SYMTYPE, payload
            elif kind == "hard":
                info.type, info.linkname = tarfile.LNKTYPE, payload
            elif kind == "fifo":
                info.type = tarfile.FIFOTYPE
            elif kind == "chr":
                info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
            if kind == "file":
                data = payload if isinstance(payload, bytes) else str(payload).encode()
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return path


def basic_entries() -> list[Entry]:
    return [("bin", "dir", None), ("bin/hello", "file", b"#!/bin/sh\necho hi\n"),
            ("etc", "dir", None), ("etc/hostname", "file", b"box\n")]


def assert_nothing_left(root: Path, state: StateStore) -> None:
    images_dir = root / "images"
    leftovers = sorted(p.name for p in images_dir.iterdir()) if images_dir.exists() else []
    assert leftovers == [], f"left behind in images/: {leftovers}"
    layers_dir = root / "layers"
    layers = stored_layers(root) if layers_dir.exists() else []
    assert layers == [], f"left behind in layers/: {layers}"
    assert state.image_ids() == []


def stored_layers(root: Path) -> list[str]:
    """The layer directories of the store under ``root`` (diff_id hex names), sorted."""
    return sorted(p.name for p in (root / "layers").iterdir() if len(p.name) == 64)
