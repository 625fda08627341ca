"""Docker's multiplexed-stream framing (server/framing.py)."""

from __future__ import annotations

import pytest

from jupyter_ctr.engine import InvalidArgumentError
from jupyter_ctr.server.framing import demux_frames, mux_frame


def test_mux_demux_round_trip_with_partial_buffers() -> None:
    frames = [(1, b"hello\n"), (2, b"oops"), (0, b""), (1, bytes(range(256)) * 300)]
    wire = b"".join(mux_frame(s, d) for s, d in frames)
    assert wire[:8] == bytes([1, 0, 0, 0, 0, 0, 0, 6])
    assert demux_frames(wire) == (frames, b"")
    for step in (1, 3, 7, 1000):
        got: list[tuple[int, bytes]] = []
        rest = b""
        for i in range(0, len(wire), step):
            parsed, rest = demux_frames(rest + wire[i:i + step])
            got += parsed
        assert (got, rest) == (frames, b"")
    assert demux_frames(wire[:5]) == ([], wire[:5])
    with pytest.raises(InvalidArgumentError):
        mux_frame(3, b"x")
    with pytest.raises(InvalidArgumentError):
        demux_frames(bytes([7, 0, 0, 0, 0, 0, 0, 0]))
