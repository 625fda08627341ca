"""The built-in demo image: a reproducible rootfs tarball around the host's static busybox."""

from __future__ import annotations

import io
import os
import re
import shutil
import tarfile
from pathlib import Path

from .. import procs
from ..errors import InvalidArgumentError, RuntimeMissingError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Literal

_MTIME = 946684800  # 2000-01-01: fixed so the tarball, and so the image id, is reproducible


def is_static_elf(path: Path) -> bool:
    """True if ``path`` is an ELF executable without a PT_INTERP (dynamic loader) header."""
    with path.open("rb") as fh:
        head = fh.read(64)
        if len(head) < 52 or head[:4] != b"\x7fELF":
            return False
        order: Literal["little", "big"] = "little" if head[5] == 1 else "big"
        if head[4] == 2:
            phoff = int.from_bytes(head[0x20:0x28], order)
            phentsize = int.from_bytes(head[0x36:0x38], order)
            phnum = int.from_bytes(head[0x38:0x3A], order)
        else:
            phoff = int.from_bytes(head[0x1C:0x20], order)
            phentsize = int.from_bytes(head[0x2A:0x2C], order)
            phnum = int.from_bytes(head[0x2C:0x2E], order)
        fh.seek(phoff)
        table = fh.read(phentsize * phnum)
    pt_interp = 3
    return all(int.from_bytes(table[i:i + 4], order) != pt_interp
               for i in range(0, len(table), phentsize))


def find_static_busybox(configured: str | Path | None) -> Path:
    """``configured``, or the busybox on PATH or in /bin or /usr/bin, if statically linked."""
    candidates = [str(configured)] if configured else [
        shutil.which("busybox") or "", "/bin/busybox", "/usr/bin/busybox"]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate):
            path = Path(candidate)
            if is_static_elf(path):
                return path
            if configured:
                raise InvalidArgumentError(
                    f"{candidate} is not a statically linked busybox: install busybox-static")
    raise RuntimeMissingError(
        "no statically linked busybox found for the demo image: install busybox-static "
        "(it provides /bin/busybox)"
    )


def write_tarball(busybox: Path, out: Path) -> None:
    """A reproducible busybox rootfs tarball: sorted entries, fixed owner and mtime, every
    applet a symlink in /bin."""
    listing = procs.run([str(busybox), "--list"]).stdout.decode()
    applets = sorted({a for a in listing.split() if re.fullmatch(r"[A-Za-z0-9_.\[\]-]+", a)
                      and a not in ("busybox", ".", "..")})
    entries: dict[str, tuple[str, int, bytes | str]] = {}
    for d in ("bin", "dev", "etc", "home", "proc", "run", "sbin", "sys", "usr", "usr/bin",
              "usr/sbin", "var"):
        entries[d] = ("dir", 0o755, b"")
    entries["root"] = ("dir", 0o700, b"")
    entries["tmp"] = ("dir", 0o1777, b"")
    entries["etc/passwd"] = ("file", 0o644, (
        b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"))
    entries["etc/group"] = ("file", 0o644, b"root:x:0:\nnogroup:x:65534:\n")
    entries["bin/busybox"] = ("file", 0o755, busybox.read_bytes())
    for applet in applets:
        entries[f"bin/{applet}"] = ("link", 0o777, "busybox")
    with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as tar:
        for name in sorted(entries):
            kind, mode, payload = entries[name]
            info = tarfile.TarInfo(name)
            info.mode, info.mtime, info.uid, info.gid = mode, _MTIME, 0, 0
            info.uname = info.gname = "root"
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind == "link":
                info.type, info.linkname = tarfile.SYMTYPE, str(payload)
                tar.addfile(info)
            else:
                data = payload if isinstance(payload, bytes) else payload.encode()
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
