"""Terminal recordings: asciicast v2 files (asciinema's format, docs.asciinema.org/manual/
asciicast/v2) in the engine's own directory, ``<root>/recordings/``.

A recording is two files named by a generated id (never by user input): ``<id>.cast``, the
newline-delimited JSON asciinema players read (a header object, then ``[time, code, data]``
events: "o" output, "r" resize "COLSxROWS", "m" marker), and ``<id>.json``, the sidecar
record of whose session it was (container, exec session, owner, lab, times, size). Both are
0600 in a 0700 directory: only the engine's user (root for the service) reads them; who may
see which one is the Door's business.

Plain files and no asyncio: the service's bridge feeds a Recorder from its event loop (one
small write per output chunk), the CLI reads the store directly.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import time
from pathlib import Path

from .errors import CtrError

TYPE_CHECKING = False  # not typing's: keep the CLI's start-up light
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

#: A recording id: what ``RecordingStore`` generates (anything else names no recording).
_ID = re.compile(r"[0-9a-f]{32}")
#: The sidecar's keys (``RecordingStore.list`` returns dicts with exactly these).
FIELDS = ("id", "container", "container_name", "exec_id", "owner_uid", "owner_name", "user",
          "lab", "started", "ended", "size", "duration", "width", "height", "stopped")


class NoSuchRecordingError(CtrError):
    """No recording with that id (or not one the caller may see): HTTP 404."""

    cause = "no such recording"


def _write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` by ``data`` atomically, mode 0600."""
    tmp = path.with_name(f".{path.name}.{os.urandom(4).hex()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)


class Recorder:
    """One recording being written. ``output`` and ``resize`` append events (times from
    ``time.monotonic``, never decreasing); past ``max_size`` bytes (0: no cap) it writes a
    last "m" event saying why and ignores the rest; ``close`` completes the sidecar."""

    def __init__(self, store: RecordingStore, rec_id: str, meta: dict[str, Any],
                 width: int, height: int, *, max_size: int = 0, title: str = "",
                 term: str = "xterm-256color", shell: str = "/bin/sh") -> None:
        self.store = store
        self.id = rec_id
        self.meta = meta
        self.max_size = max_size
        self.closed = False
        #: Why writing stopped early (the marker's text), or "".
        self.stopped = ""
        self.start = time.monotonic()
        self.last = 0.0
        self.size = 0
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.fd = os.open(store.cast_path(rec_id),
                          os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC,
                          0o600)
        header = {"version": 2, "width": int(width), "height": int(height),
                  "timestamp": int(meta["started"]), "title": title,
                  "env": {"TERM": term, "SHELL": shell}}
        self._write(json.dumps(header, ensure_ascii=False).encode() + b"\n")
        self.save()

    def _write(self, line: bytes) -> None:
        os.write(self.fd, line)
        self.size += len(line)

    def _event(self, code: str, text: str) -> None:
        if self.closed or self.stopped:
            return
        # Never decreasing (the spec's event stream is ordered), at microsecond precision.
        self.last = max(self.last, round(time.monotonic() - self.start, 6))
        line = json.dumps([self.last, code, text], ensure_ascii=False).encode() + b"\n"
        if self.max_size and self.size + len(line) > self.max_size:
            self.stopped = (f"recording stopped: it reached the size limit of "
                            f"{self.max_size} bytes")
            self._write(json.dumps([self.last, "m", self.stopped]).encode() + b"\n")
            return
        self._write(line)

    def output(self, data: bytes) -> None:
        """Terminal output: decoded as UTF-8 incrementally (a character split across two
        chunks is written whole, invalid bytes become U+FFFD)."""
        text = self.decoder.decode(data)
        if text:
            self._event("o", text)

    def resize(self, rows: int, cols: int) -> None:
        self._event("r", f"{int(cols)}x{int(rows)}")

    def marker(self, label: str) -> None:
        self._event("m", label)

    @property
    def duration(self) -> float:
        return round(time.monotonic() - self.start, 6)

    def save(self) -> None:
        """Write the sidecar record as it is now."""
        record = {**self.meta, "size": self.size, "duration": self.duration,
                  "stopped": self.stopped}
        _write_private(self.store.meta_path(self.id), json.dumps(record).encode())

    def close(self) -> None:
        """End the recording (idempotent): the rest of a split character, the sidecar's end."""
        if self.closed:
            return
        rest = self.decoder.decode(b"", final=True)
        if rest:
            self._event("o", rest)
        self.closed = True
        os.close(self.fd)
        self.meta["ended"] = time.time()
        self.save()


class RecordingStore:
    """The recordings of one engine, in ``root`` (``<engine root>/recordings``)."""

    def __init__(self, root: str | os.PathLike[str], max_size: int = 0) -> None:
        self.root = Path(root)
        self.max_size = max_size

    def ensure(self) -> None:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)

    def cast_path(self, rec_id: str) -> Path:
        return self.root / f"{rec_id}.cast"

    def meta_path(self, rec_id: str) -> Path:
        return self.root / f"{rec_id}.json"

    def start(self, meta: Mapping[str, Any], width: int, height: int, *,
              max_size: int | None = None, title: str = "",
              term: str = "xterm-256color", shell: str = "/bin/sh") -> Recorder:
        """A new recording of a ``width`` x ``height`` terminal. ``meta``: container,
        container_name, exec_id, owner_uid, owner_name, user, lab (missing ones are empty).
        ``max_size`` (default the store's) caps the .cast in bytes (0: none)."""
        self.ensure()
        rec_id = os.urandom(16).hex()
        record: dict[str, Any] = {key: None for key in FIELDS}
        record.update({key: value for key, value in meta.items() if key in FIELDS})
        record.update(id=rec_id, started=time.time(), ended=None, width=int(width),
                      height=int(height))
        return Recorder(self, rec_id, record, width, height,
                        max_size=self.max_size if max_size is None else max_size,
                        title=title, term=term, shell=shell)

    def info(self, rec_id: str) -> dict[str, Any]:
        """The sidecar record of ``rec_id`` (size and duration as last saved; the .cast's
        size now)."""
        if not _ID.fullmatch(rec_id or ""):
            raise NoSuchRecordingError(f"no recording with ID {rec_id!r} found")
        try:
            record = json.loads(self.meta_path(rec_id).read_bytes())
            record["size"] = self.cast_path(rec_id).stat().st_size
        except (OSError, ValueError) as exc:
            raise NoSuchRecordingError(f"no recording with ID {rec_id!r} found") from exc
        return {key: record.get(key) for key in FIELDS}

    def list(self) -> list[dict[str, Any]]:
        """Every recording's record, oldest first."""
        out = []
        try:
            names = os.listdir(self.root)
        except FileNotFoundError:
            return []
        for name in names:
            if name.endswith(".json") and _ID.fullmatch(name[:-5]):
                try:
                    out.append(self.info(name[:-5]))
                except NoSuchRecordingError:
                    continue  # removed meanwhile
        out.sort(key=lambda r: r["started"] or 0)
        return out

    def read(self, rec_id: str) -> bytes:
        """The .cast file's bytes."""
        self.info(rec_id)
        try:
            return self.cast_path(rec_id).read_bytes()
        except OSError as exc:
            raise NoSuchRecordingError(f"no recording with ID {rec_id!r} found") from exc

    def remove(self, rec_id: str) -> None:
        self.info(rec_id)
        for path in (self.cast_path(rec_id), self.meta_path(rec_id)):
            try:
                path.unlink()
            except FileNotFoundError:
                pass
