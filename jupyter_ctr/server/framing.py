"""Docker's multiplexed-stream framing (``application/vnd.docker.multiplexed-stream``): each
chunk of output is an 8-byte header ``[stream, 0, 0, 0, uint32 BE length]`` then the bytes.
Used by attach, exec start and logs without a tty."""

from __future__ import annotations

import struct

from ..engine.conmon_socket import STDERR, STDIN, STDOUT
from ..engine.errors import InvalidArgumentError

_FRAME = struct.Struct(">BxxxI")


def mux_frame(stream: int, data: bytes) -> bytes:
    """One frame: the header for ``stream`` (0 stdin, 1 stdout, 2 stderr) and ``data``."""
    if stream not in (STDIN, STDOUT, STDERR):
        raise InvalidArgumentError(f"invalid stream {stream!r}: use 0, 1 or 2")
    return _FRAME.pack(stream, len(data)) + data


def demux_frames(buf: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """Split multiplexed-stream bytes into (stream, data) frames and the incomplete rest."""
    frames: list[tuple[int, bytes]] = []
    pos = 0
    while len(buf) - pos >= _FRAME.size:
        stream, length = _FRAME.unpack_from(buf, pos)
        if stream > STDERR:
            raise InvalidArgumentError(f"invalid multiplexed stream header at byte {pos}: "
                                       f"stream {stream}")
        end = pos + _FRAME.size + length
        if end > len(buf):
            break
        frames.append((stream, bytes(buf[pos + _FRAME.size:end])))
        pos = end
    return frames, bytes(buf[pos:])
