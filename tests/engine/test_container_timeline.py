"""The checkpoint timeline with real runc, conmon and CRIU: a counting container snapshotted at
three steps rewinds to the second and counts on from there (twice), its files rewind with it,
a container CRIU really refuses gets a labelled filesystem snapshot, bad input is refused and
nothing is left behind; export -> import on a fresh engine root."""

from __future__ import annotations

import io
import os
import tarfile
import time
from pathlib import Path

import pytest

from jupyter_ctr.engine import ContainerState, InvalidArgumentError, Runtime
from jupyter_ctr.engine.errors import NoSuchSnapshotError
from jupyter_ctr.engine.records import Snapshot
from jupyter_ctr.engine.timeline import TIMELINE_DIR
from tests.conftest import DEMO, wait_until
from tests.engine.test_container_checkpoint import (  # noqa: F401 - fixture
    COUNTER,
    counts_on,
    fresh_rt,
    values,
)

S = ContainerState
#: An established TCP connection inside the container (busybox nc connected to itself):
#: CRIU refuses it without --tcp-established.
TCP_COUNTER = ["sh", "-c", "sleep 1000 | nc -l -p 5000 & sleep 0.3; "
               "sleep 1000 | nc 127.0.0.1 5000 & "
               "i=0; while :; do echo $i; i=$((i+1)); sleep 0.1; done"]


def run(ctr: object, script: str) -> tuple[int, str]:
    out = io.BytesIO()
    code = ctr.exec(["sh", "-c", script]).start_and_attach(  # type: ignore[attr-defined]
        stdout=out, stderr=out)
    return code, out.getvalue().decode()


def runs_from(vals: list[int]) -> list[list[int]]:
    """The log's counting runs: a new one starts where the count does not go on by one (a
    rewind)."""
    runs: list[list[int]] = [[]]
    for v in vals:
        if runs[-1] and v != runs[-1][-1] + 1:
            runs.append([])
        runs[-1].append(v)
    return runs


def test_counter_rewinds_to_step_2_and_counts_on(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, COUNTER, name="tl-counter")
    ctr.start()
    counts_on(ctr, 3)
    assert run(ctr, "echo one > /one.txt")[0] == 0
    s1 = ctr.snapshot("step-1")
    counts_on(ctr, 3)
    assert run(ctr, "echo two > /two.txt; rm /etc/group")[0] == 0
    low2 = max(values(ctr))
    began = time.monotonic()
    s2 = ctr.snapshot("step-2")
    snap_took = time.monotonic() - began
    high2 = max(values(ctr))
    counts_on(ctr, 20)  # far past step 2: a run from step 2 never reaches step 3's count
    assert run(ctr, "echo three > /three.txt; rm /one.txt")[0] == 0
    low3 = max(values(ctr))
    ctr.snapshot("step-3")
    counts_on(ctr, 3)
    assert ctr.state is S.RUNNING  # snapshots leave it running
    assert [s.kind for s in (s1, s2)] == ["checkpoint", "checkpoint"]
    listed = ctr.snapshots()
    assert [s.name for s in listed] == ["step-1", "step-2", "step-3"]
    assert all(s.size > 0 and s.reason == "" for s in listed)
    assert listed[0].created < listed[1].created < listed[2].created
    d = listed[1].to_dict()
    assert set(d) == {"Name", "Kind", "Created", "Size", "Reason"} and d["Kind"] == "checkpoint"
    assert d["Created"].endswith("Z")

    ctr_id, pid_before = ctr.id, ctr.inspect()["State"]["Pid"]
    began = time.monotonic()
    back = ctr.rewind("step-2")
    rewind_took = time.monotonic() - began
    assert back.name == "step-2" and ctr.id == ctr_id and ctr.state is S.RUNNING
    assert ctr.inspect()["State"]["Pid"] != pid_before
    counts_on(ctr, 5)
    runs = runs_from(values(ctr))
    assert len(runs) == 2, runs
    first = runs[1][0]
    # It goes on from step 2's count, not step 3's (nor from 0).
    assert low2 < first <= high2 + 1 < low3, (low2, high2, low3, runs[1][:5])
    # The files are step 2's: written before it there, after it gone, deletions as they were.
    code, out = run(ctr, "cat /one.txt /two.txt; ls /three.txt; ls /etc/group")
    assert "one\ntwo\n" in out and "three" not in out.replace("/three.txt", "")
    assert "/three.txt" in out and code != 0  # ls fails: it is gone
    assert run(ctr, "test -e /etc/group")[0] != 0  # deleted before step 2: still gone
    # Twice: rewinding again goes back to step 2 again (the snapshot stayed).
    ctr.rewind("step-2")
    counts_on(ctr, 3)
    runs = runs_from(values(ctr))
    assert len(runs) == 3 and low2 < runs[2][0] <= high2 + 1, runs
    # Forward to step 3: its files, its count.
    ctr.rewind("step-3")
    counts_on(ctr, 3)
    runs = runs_from(values(ctr))
    assert len(runs) == 4 and low3 < runs[3][0], runs
    code, out = run(ctr, "cat /three.txt; test -e /one.txt || echo no-one")
    assert code == 0 and out == "three\nno-one\n"
    assert [s.name for s in ctr.snapshots()] == ["step-1", "step-2", "step-3"]
    events = [e for e in rt.events(filters={"container": [ctr.id]})
              if e.action in ("snapshot", "rewind")]
    assert [(e.action, e.attributes["step"]) for e in events] == [
        ("snapshot", "step-1"), ("snapshot", "step-2"), ("snapshot", "step-3"),
        ("rewind", "step-2"), ("rewind", "step-2"), ("rewind", "step-3")]
    print(f"\nsnapshot {snap_took:.2f}s, rewind {rewind_took:.2f}s")


def test_a_snapshots_files_and_processes_are_of_one_moment(rt: Runtime) -> None:
    # counts every 2 ms into a file and the log: the file the snapshot keeps must be the one
    # of the moment its processes were dumped, not one written while the diff was taken
    ctr = rt.create_container(DEMO, ["sh", "-c", "i=0; while :; do i=$((i+1)); "
                                     "echo $i > /count; echo $i; usleep 2000; done"],
                              name="tl-moment")
    ctr.start()
    counts_on(ctr, 30)
    snap = ctr.snapshot("m")
    assert snap.kind == "checkpoint"
    diff = rt.container_dir(ctr.id) / TIMELINE_DIR / "m" / "rootfs-diff.tar"
    with tarfile.open(diff) as tar:
        member = tar.extractfile("count")
        assert member is not None
        kept = int(member.read().decode().strip())
    counts_on(ctr, 20)  # the original runs on: its counts go far past the snapshot's
    ctr.rewind("m")
    counts_on(ctr, 5)
    resumed = runs_from(values(ctr))[-1][0]
    # dumped between the increment and the file's write (the file one behind), or after it
    assert kept in (resumed - 1, resumed), (kept, resumed)
    ctr.stop(timeout=0)


def test_stopped_container_rewinds_and_restores(rt: Runtime) -> None:
    """A checkpoint rewound while the container is stopped runs again from that step."""
    ctr = rt.create_container(DEMO, COUNTER)
    ctr.start()
    counts_on(ctr, 3)
    ctr.snapshot("s")
    counts_on(ctr, 3)  # past the snapshot's count: the restored one goes back
    ctr.stop(timeout=0)
    assert ctr.rewind("s").kind == "checkpoint"
    assert ctr.state is S.RUNNING
    counts_on(ctr, 2)
    assert len(runs_from(values(ctr))) == 2


def test_criu_refusal_falls_back_to_filesystem_snapshot(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, TCP_COUNTER)
    ctr.start()
    assert wait_until(lambda: " 01 " in run(ctr, "cat /proc/net/tcp")[1], 10)
    counts_on(ctr, 2)
    assert run(ctr, "echo kept > /kept.txt")[0] == 0
    snap = ctr.snapshot("tcp")
    assert snap.kind == "filesystem"
    first = snap.reason.splitlines()[0]  # the cause first: what a table shows
    assert first.startswith("Error (criu/sk-inet.c") and "Connected TCP socket" in first
    assert "--tcp-established" in first
    assert ctr.state is S.RUNNING  # CRIU resumed it
    tdir = rt.container_dir(ctr.id) / TIMELINE_DIR
    assert os.listdir(tdir) == ["tcp"]  # no staging directory left
    assert sorted(os.listdir(tdir / "tcp")) == ["rootfs-diff.tar", "snapshot.json"]  # no dump
    counts_on(ctr, 2)
    assert run(ctr, "echo later > /later.txt")[0] == 0
    assert ctr.snapshots()[0].reason == snap.reason
    # Rewinding a filesystem snapshot of a running container: its files, started afresh.
    ctr.rewind("tcp")
    assert ctr.state is S.RUNNING
    code, out = run(ctr, "cat /kept.txt; test -e /later.txt || echo gone")
    assert code == 0 and out == "kept\ngone\n"
    assert wait_until(lambda: len(runs_from(values(ctr))) == 2, 10)
    assert runs_from(values(ctr))[1][0] == 0  # counting from the start


def test_not_running_gives_filesystem_snapshot(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sh", "-c", "echo hi > /made.txt"])
    ctr.start()
    ctr.wait()
    snap = ctr.snapshot("done")
    assert (snap.kind, snap.reason) == ("filesystem", "the container was not running")
    never = rt.create_container(DEMO, ["true"])
    assert never.snapshot("empty").kind == "filesystem"
    # A stopped container rewound stays stopped, its files the snapshot's.
    path = ctr.mount()
    (path / "made.txt").write_text("changed\n")
    (path / "extra.txt").write_text("x\n")
    ctr.unmount()
    ctr.rewind("done")
    assert ctr.state is S.EXITED
    path = ctr.mount()
    try:
        assert (path / "made.txt").read_text() == "hi\n" and not (path / "extra.txt").exists()
    finally:
        ctr.unmount()


def test_bad_names_duplicates_unknown_steps(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["true"])
    for bad in ("", "../x", "a/b", ".hidden", "-x", "x" * 200, "a b", "/abs"):
        with pytest.raises(InvalidArgumentError, match="invalid step name"):
            ctr.snapshot(bad)
    first = ctr.snapshot("one")
    with pytest.raises(InvalidArgumentError, match="exists already"):
        ctr.snapshot("one")
    again = ctr.snapshot("one", replace=True)
    assert again.created > first.created and len(ctr.snapshots()) == 1
    for verb in (ctr.rewind, ctr.remove_snapshot):
        with pytest.raises(NoSuchSnapshotError, match="no snapshot 'two'"):
            verb("two")
    with pytest.raises(InvalidArgumentError, match="invalid step name"):
        ctr.rewind("../../etc")
    ctr.remove_snapshot("one")
    assert ctr.snapshots() == []
    tdir = rt.container_dir(ctr.id) / TIMELINE_DIR
    assert os.listdir(tdir) == []  # no staging or replaced leftovers


def test_removing_the_container_removes_its_timeline(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, COUNTER)
    ctr.start()
    counts_on(ctr, 2)
    ctr.snapshot("a")
    tdir = rt.container_dir(ctr.id) / TIMELINE_DIR
    assert (tdir / "a" / "checkpoint" / "inventory.img").is_file()
    rt.remove_container(ctr, force=True, timeout=0)
    assert not tdir.exists() and not rt.container_dir(ctr.id).exists()


def test_snapshot_record_round_trip() -> None:
    snap = Snapshot("s-1", "filesystem", 1_700_000_000_123_456_789, 42, "why")
    assert Snapshot.from_record(snap.to_record(), "x").to_record() == snap.to_record()
    assert snap.to_dict()["Created"] == "2023-11-14T22:13:20.123456789Z"
    with pytest.raises(InvalidArgumentError):
        Snapshot.from_record({**snap.to_record(), "kind": "other"}, "x")


def test_export_import_round_trip_on_fresh_root(rt: Runtime, fresh_rt: Runtime,  # noqa: F811
                                               tmp_path: Path) -> None:
    ctr = rt.create_container(DEMO, COUNTER, name="handin")
    ctr.start()
    counts_on(ctr, 3)
    assert run(ctr, "echo work > /work.txt")[0] == 0
    ctr.snapshot("final")
    ctr.stop(timeout=0)
    fs_ctr = rt.create_container(DEMO, ["sh", "-c", "echo fs > /fs.txt; rm /etc/group"])
    fs_ctr.start()
    fs_ctr.wait()
    fs_ctr.snapshot("fs")
    out, fs_out = tmp_path / "final.tar.gz", tmp_path / "fs.tar.gz"
    assert ctr.export_snapshot("final", out) == out.stat().st_size
    fs_ctr.export_snapshot("fs", fs_out)
    with pytest.raises(NoSuchSnapshotError):
        ctr.export_snapshot("nope", tmp_path / "x.tar")
    assert not (tmp_path / "x.tar").exists()

    assert fresh_rt.list_images() == []
    back = fresh_rt.import_snapshot(out)  # a checkpoint: restored, running on
    assert back.name == "handin" and back.state is S.RUNNING
    counts_on(back, 2)
    assert run(back, "cat /work.txt")[1] == "work\n"
    named = fresh_rt.import_snapshot(fs_out, name="fs-copy")  # files only: created
    assert named.state is S.CONFIGURED
    named.start()
    named.wait()
    path = named.mount()
    try:
        assert (path / "fs.txt").read_text() == "fs\n" and not (path / "etc" / "group").exists()
    finally:
        named.unmount()
    # The checkpoint archive is also what restore_container reads.
    again = fresh_rt.restore_container(out, name="handin-2")
    assert again.state is S.RUNNING
    # Bad input: not an archive, truncated; nothing is left behind.
    before = {c.id for c in fresh_rt.list_containers(all=True)}
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar")
    truncated = tmp_path / "trunc.tar.gz"
    truncated.write_bytes(out.read_bytes()[: out.stat().st_size // 2])
    for bad in (junk, truncated, tmp_path / "missing.tar"):
        with pytest.raises(InvalidArgumentError):
            fresh_rt.import_snapshot(bad, name="bad")
    assert {c.id for c in fresh_rt.list_containers(all=True)} == before
