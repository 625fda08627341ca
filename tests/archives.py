"""Builders of hostile archives (issue 9, item 6) for the engine and server tests: each is
small on disk and claims, or inflates to, far more than it holds."""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from pathlib import Path


class Zeros(io.RawIOBase):
    """``size`` zero bytes, produced as they are read (nothing held in memory)."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buf: memoryview) -> int:  # type: ignore[override]
        n = min(len(buf), self.left)
        buf[:n] = bytes(n)
        self.left -= n
        return n


def sparse(path: Path, size: int = 8 << 30, fmt: str = "gnu",
           name: str = "checkpoint/pages-1.img") -> Path:
    """A tar of ~10 kB listing one sparse member of ``size`` bytes (all holes), written by
    GNU tar (``-S``; ``fmt`` gnu or posix)."""
    with tempfile.TemporaryDirectory() as tmp:
        member = Path(tmp) / name
        member.parent.mkdir(parents=True, exist_ok=True)
        with open(member, "wb") as fh:
            fh.truncate(size)
        subprocess.run(["tar", "-C", tmp, f"--format={fmt}", "-cSf", str(path), name],
                       check=True)
    return path


def gzip_bomb(path: Path, size: int = 64 << 20, name: str = "checkpoint/pages-1.img") -> Path:
    """A gzip'd tar whose one member is ``size`` zero bytes (about 1/1000 of that on disk)."""
    with tarfile.open(path, "w:gz", compresslevel=9) as tar:
        info = tarfile.TarInfo(name)
        info.size = size
        tar.addfile(info, Zeros(size))  # type: ignore[arg-type]
    return path


def many_members(path: Path, count: int) -> Path:
    """A tar of ``count`` empty files."""
    with tarfile.open(path, "w") as tar:
        for i in range(count):
            tar.addfile(tarfile.TarInfo(f"f{i}"))
    return path


def huge_pax_header(path: Path, size: int = 256 << 20) -> Path:
    """A tar whose first header is a pax extended header claiming ``size`` bytes (tarfile
    would read them all into memory), followed by a little of them."""
    info = tarfile.TarInfo("././@PaxHeader")
    info.type, info.size = tarfile.XHDTYPE, size
    path.write_bytes(info.tobuf(tarfile.USTAR_FORMAT) + b"9 a=b\n".ljust(4096, b"\n"))
    return path


def trailing_zeros(path: Path, size: int = 32 << 20) -> Path:
    """A valid gzip'd tar of one small file followed, inside the same gzip stream, by
    ``size`` zero bytes after the end-of-archive blocks."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("etc/hostname")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"hi\n"))
    import gzip

    with gzip.open(path, "wb", compresslevel=9) as gz:
        gz.write(raw.getvalue())
        left = size
        while left:
            n = min(left, 1 << 20)
            gz.write(bytes(n))
            left -= n
    return path


def truncated(src: Path, dest: Path) -> Path:
    """The first half of ``src``."""
    data = src.read_bytes()
    dest.write_bytes(data[:len(data) // 2])
    return dest
