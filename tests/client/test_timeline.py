"""The remote client's checkpoint timeline (client/container.py, client/runtime.py,
client/door.py): the engine's Container methods over the service, same shapes and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_ctr.client import RemoteDoor
from jupyter_ctr.client import Runtime as RemoteRuntime
from jupyter_ctr.engine import ContainerState, InvalidArgumentError
from jupyter_ctr.engine.errors import NoSuchSnapshotError
from jupyter_ctr.engine.records import Snapshot
from tests.conftest import DEMO
from tests.engine.test_container_checkpoint import COUNTER, counts_on

pytestmark = pytest.mark.timeout(180)


def test_remote_timeline(remote: RemoteRuntime, remote_door: RemoteDoor,
                         tmp_path: Path) -> None:
    ctr = remote.create_container(DEMO, COUNTER, name="rtl")
    ctr.start()
    counts_on(ctr, 2)
    snap = ctr.snapshot("one")
    assert isinstance(snap, Snapshot) and (snap.name, snap.kind) == ("one", "checkpoint")
    assert snap.size > 0 and snap.created > 0
    with pytest.raises(InvalidArgumentError, match="exists already"):
        ctr.snapshot("one")
    assert ctr.snapshot("one", replace=True).created >= snap.created
    assert remote_door.snapshot("rtl", "two").name == "two"
    assert [s.name for s in remote_door.snapshots("rtl")] == ["one", "two"]
    assert ctr.rewind("one").name == "one" and ctr.state is ContainerState.RUNNING
    with pytest.raises(NoSuchSnapshotError):
        ctr.rewind("nope")
    out = tmp_path / "one.tar.gz"
    assert remote_door.export_snapshot("rtl", "one", out) == out.stat().st_size
    with pytest.raises(NoSuchSnapshotError):
        ctr.export_snapshot("nope", tmp_path / "x.tar.gz")
    assert not list(tmp_path.glob("*x.tar.gz*"))
    copy = remote_door.import_snapshot(out, name="rtl-copy")
    assert copy.name == "rtl-copy" and copy.state is ContainerState.RUNNING
    remote_door.remove_snapshot("rtl", "two")
    ctr.remove_snapshot("one")
    assert ctr.snapshots() == []
