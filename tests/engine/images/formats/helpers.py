"""Small tools for the format tests: read a tarball into a dict, write one back (to forge
hostile archives from real ones), read a layer's files, copy a layer out of an archive."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
from pathlib import Path
from typing import Any, BinaryIO

from jupyter_ctr.engine.images.formats import ExportImage, LayerOpener, LayerWriter
from tests.engine.images.registry import FIXTURE_PIDS

Members = dict[str, bytes]


def read_members(path: Path) -> tuple[Members, dict[str, str]]:
    """Regular files by name, and symlinks by name."""
    files, links = {}, {}
    with tarfile.open(path) as tar:
        for m in tar:
            name = m.name.removeprefix("./")
            if m.isreg():
                f = tar.extractfile(m)
                assert f is not None
                files[name] = f.read()
            elif m.issym():
                links[name] = m.linkname
    return files, links


def write_members(path: Path, files: Members, links: dict[str, str] | None = None,
                  order: list[str] | None = None) -> Path:
    with tarfile.open(path, "w") as tar:
        for name in order or list(files):
            info = tarfile.TarInfo(name)
            info.size = len(files[name])
            tar.addfile(info, io.BytesIO(files[name]))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return path


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def dumps(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def layer_files(opener: LayerOpener) -> dict[str, bytes | None]:
    """The layer's members: regular files with their content, others as None."""
    out: dict[str, bytes | None] = {}
    with opener() as fh, tarfile.open(fileobj=fh, mode="r|") as tar:
        for m in tar:
            f = tar.extractfile(m) if m.isreg() else None
            out[m.name] = f.read() if f is not None else None
    return out


def copy_writer(opener: LayerOpener) -> LayerWriter:
    """A LayerWriter that copies a layer out of an archive (what layer_dir_to_tar will do
    from a layer directory)."""
    def write(out: BinaryIO) -> str:
        digest = hashlib.sha256()
        with opener() as src:
            while chunk := src.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        return f"sha256:{digest.hexdigest()}"
    return write


def listing(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def child_pids() -> list[str]:
    """This process's children (a zstd left running would be one), but for the session's
    fixture registries (tests/engine/images/registry.py) that other tests started."""
    kids: list[str] = []
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as fh:
            kids += fh.read().split()
    return [k for k in kids if int(k) not in FIXTURE_PIDS]


def copy(src: Path, dest: Path) -> Path:
    shutil.copyfile(src, dest)
    return dest


def tar_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def bytes_writer(data: bytes) -> LayerWriter:
    def write(out: BinaryIO) -> str:
        out.write(data)
        return f"sha256:{sha(data)}"
    return write


def small_image(name: str = "localhost/small:1") -> ExportImage:
    """Two layers made here, no podman needed: /a, then /b."""
    layers = [tar_bytes({"a": b"first\n"}), tar_bytes({"b": b"second\n" * 100})]
    config = {"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
              "rootfs": {"type": "layers", "diff_ids": [f"sha256:{sha(x)}" for x in layers]},
              "history": [{"created_by": "one"}, {"created_by": "two"}]}
    return ExportImage([name], config, [(f"sha256:{sha(x)}", bytes_writer(x)) for x in layers])
