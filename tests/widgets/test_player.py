"""The Player widget's Python side (asciicast v2 checked, read from a recording id through the
door, a file or the text) and the Terminal's recording and watch modes, without a browser
(tests/widgets/test_browser.py plays a cast in real Chromium)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_ctr.engine import Runtime
from jupyter_ctr.engine.errors import CtrError
from jupyter_ctr.service.door import Door
from jupyter_ctr.service.principal import Principal
from jupyter_ctr.widgets import CastError, Player, Terminal
from jupyter_ctr.widgets.feed import close_feed
from jupyter_ctr.widgets.player import check_cast

from ..conftest import DEMO

HEADER = {"version": 2, "width": 40, "height": 10, "timestamp": 1700000000, "title": "demo"}
CAST = "\n".join([json.dumps(HEADER), '[0.1, "o", "$ "]', '[0.5, "o", "echo hi\\r\\nhi\\r\\n"]',
                  '[1.0, "r", "50x12"]', '[2.25, "o", "$ "]', ""])


@pytest.fixture
def door(rt: Runtime) -> Iterator[Door]:
    d = Door(rt, Principal.of_process())
    yield d
    close_feed(d)


def test_check_cast_names_the_problem() -> None:
    header, duration = check_cast(CAST)
    assert header["title"] == "demo" and duration == 2.25
    bad = {
        "hello": "line 1 is not a JSON header",
        "[1, 2]": "line 1 is not a JSON object",
        '{"version": 1, "width": 80, "height": 24}': "version is 1",
        '{"version": 2, "width": 80}': "height must be a positive integer, not null",
        '{"version": 2, "width": true, "height": 24}': "width must be a positive integer",
        '{"version": 2, "width": 8, "height": 2}\n[1, "o"]': "line 2: an event is",
        '{"version": 2, "width": 8, "height": 2}\n\n{': "line 3: not JSON",
        '{"version": 2, "width": 8, "height": 2}\n[2, "o", "a"]\n[1, "o", "b"]':
            "line 3: time 1 goes back",
    }
    for text, message in bad.items():
        with pytest.raises(CastError, match=message):
            check_cast(text)


def test_player_from_text_file_and_bytes(tmp_path: Path, door: Door) -> None:
    p = Player(CAST, door=door)
    assert (p.title, p.duration, p.width, p.height) == ("demo", 2.25, 40, 10)
    assert p.cast == CAST and p.recording_id == "" and not p.autoplay and p.speed == 1.0
    assert p.header["timestamp"] == 1700000000
    untitled = CAST.replace('"title": "demo"', '"title": ""')
    path = tmp_path / "lesson-2.cast"
    path.write_text(untitled)
    for source in (path, str(path)):
        f = Player(source, speed=2, autoplay=True, door=door)
        assert (f.title, f.speed, f.autoplay) == ("lesson-2", 2.0, True)
    assert Player(CAST.encode(), door=door).title == "demo"
    with pytest.raises(ValueError, match="speed"):
        Player(CAST, speed=8, door=door)
    with pytest.raises(CastError, match="version"):
        Player('{"version": 1}', door=door)
    with pytest.raises(FileNotFoundError):
        Player(str(tmp_path / "missing.cast"), door=door)


def test_player_reads_a_recording_through_the_door(door: Door) -> None:
    rec = door.recording_store().start({"container": "c" * 64, "container_name": "box"}, 30, 5)
    rec.output(b"hello from the recording\r\n")
    rec.resize(6, 31)
    rec.close()
    p = Player(rec.id, door=door)
    assert p.recording_id == rec.id and p.title == rec.id  # the recorder's title is empty
    assert (p.width, p.height) == (30, 5)
    assert "hello from the recording" in p.cast
    with pytest.raises(CtrError):
        Player("0" * 32, door=door)  # no such recording: the door's error


def test_terminal_record_and_watch(rt: Runtime, door: Door) -> None:
    ctr = rt.create_container(DEMO, ["sleep", "1000"], name="wrec")
    ctr.start()
    rec = Terminal(ctr, "sh", record=True, door=door)
    assert rec.record and not rec.shadow and rec.mode == "exec"
    exec_id = ctr.exec_create(["sh"], tty=True, stdin=True)
    view = Terminal.watch(exec_id, door=door)
    assert (view.shadow, view.exec_id, view.mode, view.container) == (True, exec_id, "exec",
                                                                      "wrec")
    assert not view.confirm and view.error == ""
    row = {"ExecID": exec_id, "ContainerName": "wrec", "Container": ctr.id}
    assert Terminal.watch(row, door=door).container_id == ctr.id
    assert Terminal("wrec", watch=exec_id, door=door).shadow
    wrong = Terminal("no-such", watch=exec_id, door=door)
    assert wrong.status == "error" and "not in container no-such" in wrong.message
    gone = Terminal.watch("f" * 64, door=door)
    assert gone.status == "error"
    with pytest.raises(ValueError, match="no exec id"):
        Terminal.watch({"ExecID": None, "ContainerName": "wrec"}, door=door)
    with pytest.raises(ValueError, match="takes no command"):
        Terminal(ctr, "sh", watch=exec_id, door=door)
    rt.remove_container(ctr, force=True, timeout=0)
