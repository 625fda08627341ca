"""CRIU helpers (engine/checkpoint/criu.py): finding the binary, the stats image reader and
the log excerpt in error messages."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from jupyter_ctr.engine.checkpoint.criu import find_criu, log_tail, read_criu_stats
from jupyter_ctr.engine.errors import RuntimeMissingError
from jupyter_ctr.engine.settings import Settings


def test_criu_binary(tmp_path: Path) -> None:
    assert find_criu(Settings().criu) == "/usr/local/sbin/criu"  # not Debian's /usr/sbin/criu
    assert find_criu("/usr/local/sbin/criu") == "/usr/local/sbin/criu"
    plain = tmp_path / "criu"
    plain.write_text("not a program\n")
    plain.chmod(0o644)
    with pytest.raises(RuntimeMissingError, match="not an executable file"):
        find_criu(str(plain))
    with pytest.raises(RuntimeMissingError):
        find_criu("no-such-criu-anywhere")


def _varint(n: int) -> bytes:
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def _stats_image(entry: bytes) -> bytes:
    return struct.pack("<II", 0x55105940, 0x57093306) + struct.pack("<I", len(entry)) + entry


def test_stats_reader(tmp_path: Path) -> None:
    assert read_criu_stats(tmp_path / "missing") == {}
    (tmp_path / "junk").write_bytes(b"\x40\x59\x10\x55\x06\x33\x09\x57\xff\xff\x00\x00\x0a")
    assert read_criu_stats(tmp_path / "junk") == {}
    # dump_stats_entry { freezing_time = 1: 1500; pages_written = 7: 300; a fixed64 field }
    dump = (_varint(1 << 3) + _varint(1500) + _varint(7 << 3) + _varint(300)
            + _varint((20 << 3) | 1) + b"\0" * 8)
    entry = _varint((1 << 3) | 2) + _varint(len(dump)) + dump
    (tmp_path / "stats-dump").write_bytes(_stats_image(entry))
    assert read_criu_stats(tmp_path / "stats-dump") == {"freezing_time": 1500,
                                                        "pages_written": 300}
    restore = _varint(4 << 3) + _varint(2_000_000)
    entry = _varint((2 << 3) | 2) + _varint(len(restore)) + restore
    (tmp_path / "stats-restore").write_bytes(_stats_image(entry))
    assert read_criu_stats(tmp_path / "stats-restore") == {"restore_time": 2_000_000}
    truncated = _varint((1 << 3) | 2) + _varint(50) + dump  # says 50 bytes, holds fewer
    (tmp_path / "truncated").write_bytes(_stats_image(truncated))
    assert read_criu_stats(tmp_path / "truncated") == {}


def test_log_tail(tmp_path: Path) -> None:
    assert log_tail(tmp_path / "missing") == ""
    log = tmp_path / "dump.log"
    log.write_text("".join(f"({i:.6f}) step {i}\n" for i in range(20)))
    assert log_tail(log).endswith("step 19") and "step 11" not in log_tail(log)
    log.write_text("(0.1) fine\n(0.2) Error (criu/files-reg.c:1): Can't dump ghost file\n"
                   "(0.3) more\n")
    assert log_tail(log) == (f"\nerrors in {log}:\n"
                             "(0.2) Error (criu/files-reg.c:1): Can't dump ghost file")
