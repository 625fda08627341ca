"""CRIU itself: which binary runc should use, what the kernel lets it do, and what it writes
(its statistics images and logs). runc runs CRIU for us (OCIRuntime.checkpoint, and conmon's
``--restore`` launch); only these questions go to CRIU or its files directly."""

from __future__ import annotations

import functools
import os
import shutil
import struct
from pathlib import Path

from .. import procs
from ..errors import RuntimeMissingError

#: Where the CRIU that works is installed (Debian's /usr/sbin/criu 3.17 fails on new kernels).
CRIU_DIRS = ("/usr/local/sbin", "/usr/local/bin")


def find_criu(configured: str) -> str:
    """The CRIU binary runc should use for the setting ``configured`` (EngineConfig.criu): it
    if it is a path, else that name in /usr/local/sbin or /usr/local/bin (where set-up builds
    a working CRIU), else on PATH. RuntimeMissingError when there is none."""
    configured = configured or "criu"
    if "/" in configured:
        if os.path.isfile(configured) and os.access(configured, os.X_OK):
            return configured
        raise RuntimeMissingError(f"the configured CRIU {configured!r} is not an executable "
                                  "file")
    return shutil.which(configured, path=os.pathsep.join(CRIU_DIRS)) or procs.find_binary(
        configured)


@functools.cache
def kernel_tracks_dirty_memory(criu: str) -> bool:
    """``criu check --feature mem_dirty_track``: what pre-dumps need."""
    proc = procs.run([criu, "check", "--feature", "mem_dirty_track"], check=False)
    return proc.returncode == 0


def log_tail(path: Path, lines: int = 8) -> str:
    """CRIU's error lines from its log (else its last lines), for an error message."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    all_lines = text.rstrip().splitlines()
    errors = [line for line in all_lines if "Error (" in line][:lines]
    if errors:
        return f"\nerrors in {path}:\n" + "\n".join(errors)
    tail = "\n".join(all_lines[-lines:])
    return f"\n{path} ends with:\n{tail}" if tail else ""


def read_criu_stats(path: Path) -> dict[str, int]:
    """CRIU's stats-dump/stats-restore: a CRIU image holding one protobuf ``stats_entry``,
    decoded by hand (a few varint fields). Empty if the file is missing or unreadable."""
    try:
        data = path.read_bytes()
    except OSError:
        return {}
    if len(data) < 12 or data[:8] != _STATS_MAGIC:
        return {}
    (size,) = struct.unpack_from("<I", data, 8)
    out: dict[str, int] = {}
    try:
        for number, wire, value in _protobuf_fields(data[12:12 + size]):
            names = _STATS_FIELDS.get(number)
            if names is None or wire != 2 or not isinstance(value, bytes):
                continue
            for sub, sub_wire, sub_value in _protobuf_fields(value):
                if sub_wire == 0 and sub in names and isinstance(sub_value, int):
                    out[names[sub]] = sub_value
    except ValueError:
        return {}
    return out


# IMG_SERVICE_MAGIC then STATS_MAGIC, little endian (criu/include/magic.h).
_STATS_MAGIC = struct.pack("<II", 0x55105940, 0x57093306)
# stats_entry { dump_stats_entry dump = 1; restore_stats_entry restore = 2; } (images/stats.proto)
_STATS_FIELDS: dict[int, dict[int, str]] = {
    1: {1: "freezing_time", 2: "frozen_time", 3: "memdump_time", 4: "memwrite_time",
        5: "pages_scanned", 6: "pages_skipped_parent", 7: "pages_written", 8: "irmap_resolve",
        9: "pages_lazy", 10: "page_pipes", 11: "page_pipe_bufs", 12: "shpages_scanned",
        13: "shpages_skipped_parent", 14: "shpages_written"},
    2: {1: "pages_compared", 2: "pages_skipped_cow", 3: "forking_time", 4: "restore_time",
        5: "pages_restored"},
}


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _protobuf_fields(buf: bytes) -> list[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) of one protobuf message; varints and
    length-delimited fields (fixed 32/64-bit ones are skipped over)."""
    out: list[tuple[int, int, int | bytes]] = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            out.append((number, wire, value))
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > len(buf):
                raise ValueError("truncated field")
            out.append((number, wire, buf[pos:pos + length]))
            pos += length
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
    return out
