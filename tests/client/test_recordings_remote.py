"""RemoteDoor's recordings and live sessions (client/door.py) against the service: the same
records, bytes and errors as the in-process Door."""

from __future__ import annotations

import pytest

from jupyter_ctr.client import RemoteDoor
from jupyter_ctr.engine import Runtime
from jupyter_ctr.engine.recordings import NoSuchRecordingError, RecordingStore
from jupyter_ctr.service.door import Door
from jupyter_ctr.service.principal import Principal


def test_remote_recordings_match_the_door(remote_door: RemoteDoor, rt: Runtime) -> None:
    store = RecordingStore(rt.root / "recordings")
    rec = store.start({"container": "f" * 64, "container_name": "remote-box",
                       "exec_id": None, "owner_uid": 0, "owner_name": "root",
                       "user": "root", "lab": "l"}, 100, 30)
    rec.output(b"remote\r\n")
    rec.close()
    try:
        door = Door(rt, Principal.of_process())
        local = {r["id"]: r for r in door.recordings()}
        remote = {r["id"]: r for r in remote_door.recordings()}
        assert rec.id in remote and remote.keys() == local.keys()
        for key in ("container", "container_name", "exec_id", "owner_uid", "owner_name",
                    "user", "lab", "size", "width", "height"):
            assert remote[rec.id][key] == local[rec.id][key], key
        assert remote[rec.id]["started"] == pytest.approx(local[rec.id]["started"], abs=1e-3)
        assert [r["id"] for r in remote_door.recordings("remote-box")] == [rec.id]
        assert remote_door.recordings("nothing-like-it") == []
        assert remote_door.recording(rec.id) == door.recording(rec.id)
        assert remote_door.sessions() == [] == door.sessions()
        remote_door.remove_recording(rec.id)
        with pytest.raises(NoSuchRecordingError, match="no recording with ID"):
            remote_door.recording(rec.id)
        with pytest.raises(NoSuchRecordingError):
            remote_door.remove_recording("not-an-id")
    finally:
        if rec.id in {r["id"] for r in store.list()}:
            store.remove(rec.id)
