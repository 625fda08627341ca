"""Player: a terminal recording (asciicast v2, what the bridge records, see
docs/websocket-protocol.md "Recording") played back in the cell: an xterm.js screen of the
recorded size, play/pause, speed, a seek slider and a Download button. The cast is checked
here and synced whole to the view, which plays it in the page (no kernel round trips).

``Player(source)``: ``source`` is a recording id (read through the door: the policy decides
who may read it), a path to a ``.cast`` file, or the cast's text (or bytes).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ipywidgets import DOMWidget  # type: ignore[import-untyped]
from traitlets import Bool, Float, Int, Unicode

from .. import kernel
from ..service.door import Door
from .base import MODULE_NAME, MODULE_VERSION


class CastError(ValueError):
    """Not a valid asciicast v2 recording; the message names the line and the problem."""


def check_cast(text: str) -> tuple[dict[str, Any], float]:
    """The header of an asciicast v2 ``text`` and its duration (the last event's time);
    raises CastError naming what is wrong (the header, or an event line)."""
    lines = text.split("\n")
    try:
        header = json.loads(lines[0])
    except ValueError:
        raise CastError("not an asciicast: line 1 is not a JSON header") from None
    if not isinstance(header, dict):
        raise CastError("not an asciicast: line 1 is not a JSON object")
    if header.get("version") != 2:
        raise CastError(f"not an asciicast v2: the header's version is "
                        f"{json.dumps(header.get('version'))}")
    for key in ("width", "height"):
        value = header.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise CastError(f"asciicast header: {key} must be a positive integer, "
                            f"not {json.dumps(value)}")
    last = 0.0
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError:
            raise CastError(f"asciicast line {number}: not JSON") from None
        if not (isinstance(event, list) and len(event) == 3
                and isinstance(event[0], int | float) and not isinstance(event[0], bool)
                and isinstance(event[1], str) and isinstance(event[2], str)):
            raise CastError(f"asciicast line {number}: an event is [time, code, data]")
        if event[0] < last:
            raise CastError(f"asciicast line {number}: time {event[0]} goes back "
                            f"(the previous event was at {last})")
        last = float(event[0])
    return header, last


def _is_cast_text(source: str) -> bool:
    return source.lstrip().startswith("{")


class Player(DOMWidget):  # type: ignore[misc]  # ipywidgets is untyped
    """Plays a terminal recording: ``source`` is a recording id, a ``.cast`` path, or the
    cast's text. ``speed`` (0.5 to 4) and ``autoplay`` set how it starts."""

    _model_module = Unicode(MODULE_NAME).tag(sync=True)
    _view_module = Unicode(MODULE_NAME).tag(sync=True)
    _model_module_version = Unicode(f"^{MODULE_VERSION}").tag(sync=True)
    _view_module_version = Unicode(f"^{MODULE_VERSION}").tag(sync=True)
    _model_name = Unicode("PlayerModel").tag(sync=True)
    _view_name = Unicode("PlayerView").tag(sync=True)

    cast = Unicode("", help="The asciicast v2 text").tag(sync=True)
    title = Unicode("", help="The header's title, else the recording id or file name"
                    ).tag(sync=True)
    recording_id = Unicode("").tag(sync=True)
    duration = Float(0.0, help="Seconds, to the last event").tag(sync=True)
    width = Int(80).tag(sync=True)
    height = Int(24).tag(sync=True)
    speed = Float(1.0).tag(sync=True)
    autoplay = Bool(False).tag(sync=True)

    def __init__(self, source: str | bytes | os.PathLike[str], *, speed: float = 1.0,
                 autoplay: bool = False, door: Door | None = None, **kwargs: Any) -> None:
        if not 0.5 <= speed <= 4:
            raise ValueError(f"speed must be between 0.5 and 4, not {speed}")
        text, name, rec_id = self._read(source, door)
        header, duration = check_cast(text)
        title = header.get("title")
        super().__init__(cast=text, title=title if isinstance(title, str) and title else name,
                         recording_id=rec_id, duration=duration, width=header["width"],
                         height=header["height"], speed=speed, autoplay=autoplay, **kwargs)

    @staticmethod
    def _read(source: str | bytes | os.PathLike[str],
              door: Door | None) -> tuple[str, str, str]:
        """(cast text, a name for it, recording id or '')."""
        if isinstance(source, bytes):
            return source.decode("utf-8", "replace"), "recording", ""
        if isinstance(source, os.PathLike):
            path = Path(source)
            return path.read_text(encoding="utf-8", errors="replace"), path.stem, ""
        if _is_cast_text(source):
            return source, "recording", ""
        path = Path(source)
        if source.endswith(".cast") or os.sep in source or path.is_file():
            return path.read_text(encoding="utf-8", errors="replace"), path.stem, ""
        data = (door or kernel.door()).recording(source)
        return data.decode("utf-8", "replace"), source, source

    @property
    def header(self) -> dict[str, Any]:
        return dict(json.loads(self.cast.split("\n", 1)[0]))
