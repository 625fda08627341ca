"""``jupyter-ctr recording ls|export|rm`` on the engine's own recordings (engine/recordings.py)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from jupyter_ctr.engine.recordings import RecordingStore

from ..engine.test_recordings import check_cast
from .conftest import Cli


def test_recording_ls_export_rm(cli_roots: Cli, tmp_path: Path) -> None:
    cli = cli_roots
    assert cli.ok("recording", "ls", "--format", "json") == "[]\n"
    store = RecordingStore(cli.root / "recordings")
    rec = store.start({"container": "c" * 64, "container_name": "box", "exec_id": "e" * 64,
                       "owner_uid": 0, "owner_name": "root", "user": "root", "lab": "l1"},
                      80, 24)
    rec.output("héllo\r\n".encode())
    rec.resize(30, 90)
    rec.close()
    (row,) = json.loads(cli.ok("recording", "ls", "--format", "json"))
    assert row["ID"] == rec.id and row["ContainerName"] == "box" and row["Lab"] == "l1"
    assert row["Owner"] == "root" and row["Size"] == len(store.read(rec.id))
    table = cli.ok("recording", "ls")
    assert table.splitlines()[0].split()[:3] == ["ID", "CONTAINER", "SESSION"]
    assert rec.id[:12] in table and "box" in table
    assert cli.ok("recording", "ls", "-q").split() == [rec.id]
    # export: stdout by default, or a private file
    out = cli(*["recording", "export", rec.id])
    assert out.returncode == 0
    _, events = check_cast(out.stdout.encode())
    assert events[0][1:] == ["o", "héllo\r\n"] and events[1][1:] == ["r", "90x30"]
    target = tmp_path / "s.cast"
    cli.ok("recording", "export", "-o", str(target), rec.id)
    assert target.read_bytes() == store.read(rec.id)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    # unknown ids: an error, exit 125
    bad = cli("recording", "export", "0" * 32)
    assert bad.returncode == 125 and "no recording with ID" in bad.stderr
    assert cli.ok("recording", "rm", rec.id).split() == [rec.id]
    assert cli.ok("recording", "ls", "-q") == ""
    assert cli("recording", "rm", rec.id).returncode == 125
