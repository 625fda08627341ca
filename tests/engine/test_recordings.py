"""Terminal recordings (engine/recordings.py): the asciicast v2 files a RecordingStore writes
and their sidecar records."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from jupyter_ctr.engine.recordings import NoSuchRecordingError, RecordingStore

META = {"container": "c" * 64, "container_name": "lab1", "exec_id": "e" * 64,
        "owner_uid": 1000, "owner_name": "alice", "user": "alice", "lab": "intro"}


def check_cast(data: bytes) -> tuple[dict[str, Any], list[list[Any]]]:
    """asciicast v2 as asciinema's documentation puts it (docs.asciinema.org/manual/
    asciicast/v2): newline-delimited JSON, a header object (version 2, integer width and
    height, optional integer timestamp, string title, env a string map) then 3-element
    event arrays [time (number, seconds), code ("o", "i", "m", "r"), data (string)], times
    never decreasing, resize data "COLSxROWS"."""
    text = data.decode("utf-8")
    assert text.endswith("\n")
    lines = text.splitlines()
    header = json.loads(lines[0])
    assert isinstance(header, dict) and header["version"] == 2
    for key in ("width", "height", "timestamp"):
        assert isinstance(header[key], int) and not isinstance(header[key], bool)
    assert header["width"] > 0 and header["height"] > 0
    assert isinstance(header.get("title", ""), str)
    env = header.get("env", {})
    assert isinstance(env, dict) and all(isinstance(v, str) for v in env.values())
    events = []
    last = 0.0
    for line in lines[1:]:
        event = json.loads(line)
        assert isinstance(event, list) and len(event) == 3
        t, code, payload = event
        assert isinstance(t, (int, float)) and t >= last
        last = t
        assert code in ("o", "i", "m", "r") and isinstance(payload, str)
        if code == "r":
            cols, rows = payload.split("x")
            assert int(cols) > 0 and int(rows) > 0
        events.append(event)
    return header, events


def test_recording_format_and_record(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path / "recordings")
    rec = store.start(META, 80, 24, title="lab1: sh", term="xterm-256color", shell="/bin/sh")
    rec.output(b"$ echo hi\r\n")
    rec.resize(30, 100)
    rec.output(b"hi\r\n")
    rec.marker("step 2")
    rec.close()
    rec.close()  # idempotent
    header, events = check_cast(store.read(rec.id))
    assert header["width"] == 80 and header["height"] == 24 and header["title"] == "lab1: sh"
    assert header["env"] == {"TERM": "xterm-256color", "SHELL": "/bin/sh"}
    assert [e[1:] for e in events] == [["o", "$ echo hi\r\n"], ["r", "100x30"],
                                       ["o", "hi\r\n"], ["m", "step 2"]]
    (info,) = store.list()
    assert info["id"] == rec.id and info["container_name"] == "lab1"
    assert info["owner_uid"] == 1000 and info["lab"] == "intro" and info["user"] == "alice"
    assert info["size"] == len(store.read(rec.id))
    assert info["ended"] >= info["started"] > 0 and info["duration"] >= 0
    assert (info["width"], info["height"]) == (80, 24)
    # private files, in a private directory
    assert stat.S_IMODE(os.stat(store.root).st_mode) == 0o700
    for path in store.root.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    store.remove(rec.id)
    assert store.list() == [] and list(store.root.iterdir()) == []
    with pytest.raises(NoSuchRecordingError):
        store.read(rec.id)


def test_utf8_split_across_chunks_is_written_whole(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path)
    rec = store.start(META, 80, 24)
    euro = "€".encode()  # three bytes
    rec.output(b"a" + euro[:1])
    rec.output(euro[1:2])
    rec.output(euro[2:] + b"b\xff")  # an invalid byte: U+FFFD
    rec.output(euro[:2])  # cut off by the end: replaced at close
    rec.close()
    _, events = check_cast(store.read(rec.id))
    text = "".join(e[2] for e in events if e[1] == "o")
    assert text == "a€b\ufffd\ufffd"
    # the euro sign arrives whole with the chunk that completes it, never as U+FFFD
    assert [e[2] for e in events] == ["a", "€b\ufffd", "\ufffd"]


def test_size_cap_ends_with_a_marker(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path, max_size=400)
    rec = store.start(META, 80, 24)
    for _ in range(50):
        rec.output(b"0123456789")
    assert rec.stopped
    rec.close()
    data = store.read(rec.id)
    _, events = check_cast(data)
    assert events[-1][1] == "m" and "size limit of 400 bytes" in events[-1][2]
    # everything but the marker fits the cap
    assert len(data) - len(data.splitlines(keepends=True)[-1]) <= 400
    assert store.info(rec.id)["stopped"] == events[-1][2]


def test_ids_are_generated_and_checked(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path)
    a, b = store.start(META, 80, 24), store.start(META, 80, 24)
    assert a.id != b.id and len(a.id) == 32
    for bad in ("../x", "", "A" * 32, a.id + ".cast", "/etc/passwd"):
        with pytest.raises(NoSuchRecordingError):
            store.info(bad)
    a.close()
    b.close()
    assert [r["id"] for r in store.list()] == [a.id, b.id]
