"""Checkpoint and restore with real CRIU: in place, keep_running, archives restored under new
names and on a fresh engine root, root filesystem changes, tty, attach, and bad input that must
leave nothing behind."""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_ctr.engine import (
    ContainerExistsError,
    ContainerState,
    ContainerStateInvalidError,
    InvalidArgumentError,
    NoSuchImageError,
    Runtime,
)
from jupyter_ctr.engine.checkpoint import (
    CheckpointOptions,
    CheckpointStats,
)
from jupyter_ctr.engine.conmon_socket import STDOUT, AttachConnection
from jupyter_ctr.engine.errors import NotImplementedCtrError, OCIRuntimeError
from tests.conftest import DEMO, _cgroups, _mounts_under, leftovers, wait_until

S = ContainerState
COUNTER = ["sh", "-c", "i=0; while :; do echo $i; i=$((i+1)); sleep 0.1; done"]
WRITER = ["sh", "-c", "echo kept > /data.txt; rm /etc/group; i=0; "
          "while :; do echo $i; i=$((i+1)); sleep 0.1; done"]


def values(ctr: object) -> list[int]:
    return [int(line.text.strip()) for line in ctr.logs()  # type: ignore[attr-defined]
            if line.text.strip().isdigit()]


def counts_on(ctr: object, n: int, timeout: float = 10) -> None:
    start = len(values(ctr))
    assert wait_until(lambda: len(values(ctr)) >= start + n, timeout), values(ctr)


def assert_consecutive(vals: list[int]) -> None:
    """The counter never reset and never repeated: 0, 1, 2, ... without gaps."""
    assert vals and vals == list(range(len(vals))), vals


def conmon_gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except OSError:
        return True


def processes_mentioning(path: Path) -> list[int]:
    needle = str(path).encode()
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            with contextlib.suppress(OSError):
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    if needle in fh.read():
                        pids.append(int(entry))
    return pids


def snapshot(rt: Runtime) -> dict[str, set[str]]:
    """Entries of the engine's directories, to prove a failure added none."""
    dirs = {"containers": rt.root / "containers", "images": rt.root / "images",
            "bundles": rt.run_root / "bundles", "exits": rt.run_root / "exits",
            "socks": rt.run_root / "socks"}
    return {k: set(os.listdir(d)) if d.is_dir() else set() for k, d in dirs.items()}


def assert_nothing_left(rt: Runtime, before: dict[str, set[str]], since: float) -> None:
    created = [e.id for e in rt.events(since=since, filters={"event": ["create"]})]
    assert not [c for c in rt.list_containers(all=True) if c.id in created]
    assert wait_until(lambda: snapshot(rt) == before, 5), (snapshot(rt), before)
    assert wait_until(lambda: not any(leftovers(rt, set(created)).values()), 10)
    assert not _cgroups(set(created))


@pytest.fixture(scope="module")
def counter_archive(engine_roots: tuple[Path, Path],
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[int]]]:
    """An exported checkpoint of a counting container (which is then removed), and the values
    it had logged."""
    rt = Runtime(*engine_roots)
    out = tmp_path_factory.mktemp("ckpt") / "counter.tar.gz"
    ctr = rt.create_container(DEMO, COUNTER, name="archived")
    try:
        ctr.start()
        counts_on(ctr, 3)
        ctr.checkpoint(target_file=out)
        logged = values(ctr)
    finally:
        rt.remove_container(ctr, force=True, timeout=0)
        rt.close()
    yield out, logged


@pytest.fixture
def fresh_rt() -> Iterator[Runtime]:
    """A second engine on its own roots, without any image: the "other machine"."""
    base = Path(tempfile.mkdtemp(prefix="jcf", dir="/tmp"))
    runtime = Runtime(base / "r", base / "x")
    try:
        yield runtime
    finally:
        ids = {c.id for c in runtime.list_containers(all=True)}
        for ctr in runtime.list_containers(all=True):
            runtime.remove_container(ctr, force=True, timeout=0)
        assert wait_until(lambda: not any(leftovers(runtime, ids).values()), 10), \
            leftovers(runtime, ids)
        runtime.close()
        # Exit commands of killed monitors may still run, and would re-create the run root.
        assert wait_until(lambda: not processes_mentioning(base), 15)
        for mnt in reversed(_mounts_under(base)):
            subprocess.run(["umount", "-l", mnt], check=False)
        shutil.rmtree(base, ignore_errors=True)


# -- in place ---------------------------------------------------------------------------------
def test_checkpoint_restore_in_place_keeps_counting(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, COUNTER, name="counter")
    ctr.start()
    counts_on(ctr, 4)
    old_conmon = ctr.inspect()["State"]["ConmonPid"]
    since = time.time()

    stats = ctr.checkpoint(print_stats=True, keep=True)
    assert isinstance(stats, CheckpointStats) and stats.id == ctr.id
    assert stats.runtime_duration > 0 and stats.image_size > 0
    assert stats.total_duration >= stats.runtime_duration
    assert stats.criu["pages_written"] > 0 and "freezing_time" in stats.criu
    assert stats.to_dict()["CRIUStatistics"]["PagesWritten"] == stats.criu["pages_written"]
    state = ctr.inspect()["State"]
    assert state["Status"] == "exited" and state["Checkpointed"] is True
    assert state["CheckpointedAt"] != "0001-01-01T00:00:00Z" and state["Pid"] == 0
    assert (Path(state["CheckpointPath"]) / "inventory.img").is_file()
    assert Path(state["CheckpointLog"]).is_file()  # keep: CRIU's dump.log stays
    # The old conmon reports 137 and runs its exit command: neither changes the record.
    assert wait_until(lambda: conmon_gone(old_conmon), 15)
    state = ctr.inspect()["State"]
    assert (state["Status"], state["Checkpointed"], state["ExitCode"]) == ("exited", True, 0)
    before = values(ctr)

    stats = ctr.restore(print_stats=True)
    assert stats.criu["pages_restored"] > 0 and stats.runtime_duration > 0
    state = ctr.inspect()["State"]
    assert state["Status"] == "running" and state["Restored"] is True
    assert state["RestoredAt"] != "0001-01-01T00:00:00Z" and state["Checkpointed"] is False
    assert state["ConmonPid"] not in (0, old_conmon)
    assert state["CheckpointPath"] == "" and state["RestoreLog"] == ""  # no keep: cleaned
    assert not (rt.container_dir(ctr.id) / "checkpoint").exists()
    counts_on(ctr, 5)
    after = values(ctr)
    assert after[:len(before)] == before
    assert_consecutive(after)  # same log, continued from where it was

    # A late exit file of the old monitor never ends the restored container.
    exit_file = rt.oci.exit_file(ctr.id)
    exit_file.write_text("137")
    old = time.time() - 5
    os.utime(exit_file, (old, old))
    assert ctr.inspect()["State"]["Status"] == "running" and not exit_file.exists()
    ctr.sync()
    assert ctr.state is S.RUNNING

    actions = [e.action for e in rt.events(since=since, filters={"container": [ctr.id]})]
    assert "checkpoint" in actions and "restore" in actions
    assert actions.index("checkpoint") < actions.index("restore")
    ctr.stop(timeout=0)
    assert ctr.state is S.EXITED and ctr.inspect()["State"]["Restored"] is True


def test_keep_running(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, COUNTER)
    ctr.start()
    counts_on(ctr, 2)
    pid = ctr.inspect()["State"]["Pid"]
    ctr.checkpoint(keep_running=True, keep=True, tcp_established=True, file_locks=True)
    state = ctr.inspect()["State"]
    assert state["Status"] == "running" and state["Pid"] == pid
    assert state["Checkpointed"] is False  # as podman: only a stopping checkpoint marks it
    assert (Path(state["CheckpointPath"]) / "inventory.img").is_file()
    assert Path(state["CheckpointLog"]).name == "dump.log"
    assert (rt.container_dir(ctr.id) / "criu-work" / "stats-dump").is_file()
    counts_on(ctr, 3)
    assert_consecutive(values(ctr))
    # A plain restart forgets the checkpoint, as libpod's init does.
    ctr.restart(timeout=0)
    assert ctr.inspect()["State"]["CheckpointPath"] == ""


def test_tty_container(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, COUNTER, tty=True)
    ctr.start()
    counts_on(ctr, 3)
    ctr.checkpoint(file_locks=True)
    assert ctr.state is S.EXITED
    ctr.restore(file_locks=True, tcp_established=True)
    assert ctr.inspect()["State"]["Status"] == "running"
    counts_on(ctr, 3)
    assert_consecutive(values(ctr))
    ctr.resize(30, 100)  # the new conmon serves the tty


def test_attach_after_restore(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sh", "-c", "echo ready; while read l; do echo got $l; "
                                     "done"], stdin=True)
    ctr.start()
    assert wait_until(lambda: [x.text for x in ctr.logs()] == ["ready"])
    ctr.checkpoint()
    ctr.restore()
    with AttachConnection.connect(ctr.bundle) as conn:
        assert conn.wait_accepted()
        conn.send(b"hello\n")
        out = b""
        deadline = time.monotonic() + 10
        while b"got hello" not in out and time.monotonic() < deadline:
            packet = conn.recv(timeout=1)
            if packet and packet[0] == STDOUT:
                out += packet[1]
    assert b"got hello" in out
    assert wait_until(lambda: [x.text for x in ctr.logs()] == ["ready", "got hello"])


# -- archives ---------------------------------------------------------------------------------
def test_restore_archive_twice_under_new_names(rt: Runtime,
                                               counter_archive: tuple[Path, list[int]]) -> None:
    archive, logged = counter_archive
    since = time.time()
    first = rt.restore_container(archive, name="copy1")
    ctr2, stats = rt.import_checkpoint(archive, "copy2", print_stats=True)
    assert stats.archive_size == archive.stat().st_size and stats.criu["pages_restored"] > 0
    assert first.id != ctr2.id and (first.name, ctr2.name) == ("copy1", "copy2")
    for ctr in (first, ctr2):
        state = ctr.inspect()["State"]
        assert state["Status"] == "running" and state["Restored"] is True
        counts_on(ctr, 3)
        vals = values(ctr)
        assert vals[:len(logged)] == logged  # the log came along
        assert_consecutive(vals)
    assert ctr2.inspect()["Config"]["Cmd"] == COUNTER
    actions = [e.action for e in rt.events(since=since, filters={"container": [ctr2.id]})]
    assert actions[0] == "create" and "restore" in actions


def test_archives_keep_the_owner_and_the_importer_owns_the_copy(
        rt: Runtime, counter_archive: tuple[Path, list[int]]) -> None:
    archive, _ = counter_archive
    with tarfile.open(archive) as tar:
        member = tar.extractfile("config.dump")
        assert member is not None
        dumped = json.load(member)["config"]
    assert (dumped["owner_uid"], dumped["owner_name"]) == (0, "root")
    alice = rt.acting_as(42011, "alice-t", owner_scope=42011)
    copy = alice.restore_container(archive, name="alices-copy")
    assert copy.inspect()["Owner"] == {"Uid": 42011, "Name": "alice-t"}
    restored = rt.events(filters={"container": [copy.id], "event": ["restore"]})
    assert [e.attributes["user"] for e in restored] == ["alice-t"]


def test_restore_on_fresh_engine_root(fresh_rt: Runtime,
                                      counter_archive: tuple[Path, list[int]]) -> None:
    archive, logged = counter_archive
    assert fresh_rt.list_images() == []
    ctr = fresh_rt.restore_container(archive)  # same ID and name: a migration
    assert ctr.name == "archived" and ctr.state is S.RUNNING
    counts_on(ctr, 3)
    assert_consecutive(values(ctr))
    assert values(ctr)[:len(logged)] == logged
    images = fresh_rt.list_images()
    assert [img.names for img in images] == [[DEMO]]  # brought along by the archive
    with pytest.raises(ContainerExistsError, match="new name"):
        fresh_rt.restore_container(archive)
    again = fresh_rt.restore_container(archive, name="second")  # reuses the imported image
    assert again.state is S.RUNNING and len(fresh_rt.list_images()) == 1


def test_a_kept_running_export_is_of_one_moment(rt: Runtime, tmp_path: Path) -> None:
    # counts every 2 ms into a file and the log: the exported files must be those of the
    # moment the processes were dumped (the container is frozen across the dump and the
    # diff), not a count or more later (podman's export writes the diff after the dump)
    ctr = rt.create_container(DEMO, ["sh", "-c", "i=0; while :; do i=$((i+1)); "
                                     "echo $i > /count; echo $i; usleep 2000; done"])
    ctr.start()
    judged = 0
    for n in range(3):
        counts_on(ctr, 30)
        out = tmp_path / f"moment-{n}.tar"
        ctr.checkpoint(keep_running=True, target_file=out, compression="none",
                       include_image=False)
        assert ctr.state is S.RUNNING
        with tarfile.open(out) as tf:
            member = tf.extractfile("rootfs-diff.tar")
            assert member is not None
            with tarfile.open(fileobj=io.BytesIO(member.read())) as diff:
                got = diff.extractfile("count")
                assert got is not None
                text = got.read().decode().strip()
            log = tf.extractfile("ctr.log")
            assert log is not None
            exported = sum(1 for line in log.read().decode().splitlines()
                           if line.rsplit(" ", 1)[-1].isdigit())
        copy = rt.restore_container(out, name=f"moment-copy-{n}")
        counts_on(copy, 5)
        resumed = values(copy)[exported]  # the copy's log: the exported one, then its own
        copy.remove(force=True, timeout=0)
        if not text:  # dumped between the file's truncation and its write: no count to judge
            continue
        judged += 1
        assert int(text) in (resumed - 1, resumed), (int(text), resumed)
    assert judged
    ctr.stop(timeout=0)


def test_rootfs_changes_and_ignore_rootfs(rt: Runtime, tmp_path: Path) -> None:
    ctr = rt.create_container(DEMO, WRITER)
    ctr.start()
    counts_on(ctr, 2)
    full, bare = tmp_path / "full.tar", tmp_path / "bare.tar"
    ctr.checkpoint(keep_running=True, target_file=full, compression="none")
    ctr.checkpoint(keep_running=True, target_file=bare, ignore_rootfs=True,
                   include_image=False, compression="xz")
    with tarfile.open(full) as tf:
        names = tf.getnames()
    assert {"rootfs-diff.tar", "deleted.files", "image/rootfs.tar"} <= set(names)
    assert names[-1] == "manifest.json"
    with tarfile.open(bare) as tf:
        assert not {"rootfs-diff.tar", "image/rootfs.tar"} & set(tf.getnames())

    def files(c: object) -> tuple[bool, bool]:
        root = c.mount()  # type: ignore[attr-defined]
        try:
            data = root / "data.txt"
            return data.is_file() and data.read_text() == "kept\n", (root / "etc/group").exists()
        finally:
            c.unmount()  # type: ignore[attr-defined]

    assert files(rt.restore_container(full, name="with-rootfs")) == (True, False)
    assert files(rt.restore_container(full, name="no-rootfs", ignore_rootfs=True)) == \
        (False, True)
    assert files(rt.restore_container(bare, name="bare")) == (False, True)


# -- bad input --------------------------------------------------------------------------------
def test_checkpoint_refuses_containers_that_do_not_run(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sleep", "100"], name="idle")
    with pytest.raises(ContainerStateInvalidError, match=rf"{ctr.id[:12]} \(idle\) is in state "
                       "configured"):
        ctr.checkpoint()
    with pytest.raises(ContainerStateInvalidError, match="cannot be found"):
        ctr.restore()
    ctr.start()
    with pytest.raises(ContainerStateInvalidError, match="is in state running"):
        ctr.restore()
    ctr.stop(timeout=0)
    with pytest.raises(ContainerStateInvalidError, match="is in state exited"):
        ctr.checkpoint()
    assert not (rt.container_dir(ctr.id) / "checkpoint").exists()
    assert ctr.inspect()["State"]["Checkpointed"] is False


def test_unsupported_options_are_refused(rt: Runtime, tmp_path: Path) -> None:
    ctr = rt.create_container(DEMO, ["sleep", "100"])
    ctr.start()
    with pytest.raises(NotImplementedCtrError, match="soft-dirty"):
        ctr.checkpoint(pre_checkpoint=True)
    with pytest.raises(NotImplementedCtrError, match="soft-dirty"):
        ctr.checkpoint(CheckpointOptions(with_previous=True))
    with pytest.raises(NotImplementedCtrError, match="pods"):
        ctr.checkpoint(pod="p")
    with pytest.raises(InvalidArgumentError, match="compression"):
        ctr.checkpoint(compression="zstd")
    with pytest.raises(InvalidArgumentError, match="unknown checkpoint option"):
        ctr.checkpoint(leave_running=True)
    with pytest.raises(InvalidArgumentError, match="restore option"):
        ctr.checkpoint(name="x")
    with pytest.raises(InvalidArgumentError, match="restore_container"):
        ctr.restore(name="x")
    with pytest.raises(NotImplementedCtrError, match="tcp-close"):  # runc 1.1.5 has none
        ctr.restore(tcp_close=True)
    with pytest.raises(NotImplementedCtrError, match="checkpoint images"):
        ctr.checkpoint(create_image="img")
    assert ctr.state is S.RUNNING
    auto = rt.create_container(DEMO, ["sleep", "100"], auto_remove=True)
    auto.start()
    with pytest.raises(InvalidArgumentError, match="auto-remove"):
        auto.checkpoint()
    assert auto.state is S.RUNNING
    auto.checkpoint(target_file=tmp_path / "auto.tar.gz")  # as podman: exported, then removed
    assert auto.id not in {c.id for c in rt.list_containers(all=True)}
    assert (tmp_path / "auto.tar.gz").is_file()


def test_failed_checkpoint_keeps_the_container_running(rt: Runtime) -> None:
    """CRIU refuses an open deleted file bigger than its ghost limit (1 MiB)."""
    ctr = rt.create_container(DEMO, ["sh", "-c", "head -c 2097152 /dev/zero > /big; "
                                     "exec 3</big; rm /big; i=0; "
                                     "while :; do echo $i; i=$((i+1)); sleep 0.1; done"])
    ctr.start()
    counts_on(ctr, 2)
    with pytest.raises(OCIRuntimeError, match=r"(?s)checkpointing container.*ghost file"):
        ctr.checkpoint()
    state = ctr.inspect()["State"]
    assert state["Status"] == "running" and state["Checkpointed"] is False
    assert state["CheckpointPath"] == "" and Path(state["CheckpointLog"]).is_file()
    assert not (rt.container_dir(ctr.id) / "checkpoint").exists()
    counts_on(ctr, 2)
    assert_consecutive(values(ctr))


def test_exit_just_before_the_dump_is_a_wrong_state(rt: Runtime,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A container that exits between the state check and ``runc checkpoint`` is reported as
    not running (as kill does), with its real exit code, not as a CRIU failure."""
    ctr = rt.create_container(DEMO, ["sleep", "1000"])
    ctr.start()
    pid = ctr.inspect()["State"]["Pid"]
    real = rt.oci.checkpoint

    def exit_first(ctr_id: str, *args: object, **kw: object) -> float:
        os.kill(pid, 9)  # the verb holds the lock: no inspect here
        assert wait_until(lambda: rt.oci.exit_file(ctr_id).exists(), 10)
        return real(ctr_id, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(rt.oci, "checkpoint", exit_first)
    with pytest.raises(ContainerStateInvalidError, match="can only checkpoint running"):
        ctr.checkpoint()
    state = ctr.inspect()["State"]
    assert state["Status"] in ("stopped", "exited") and state["ExitCode"] == 137
    assert state["Checkpointed"] is False and state["CheckpointPath"] == ""
    assert not (rt.container_dir(ctr.id) / "checkpoint").exists()


def test_failed_restore_leaves_nothing(rt: Runtime, tmp_path: Path) -> None:
    """CRIU cannot restore a process whose open file is gone (ignore_rootfs drops it)."""
    ctr = rt.create_container(DEMO, ["sh", "-c", "echo x > /held; exec 3</held; "
                                     "while :; do sleep 0.1; done"])
    ctr.start()
    time.sleep(0.3)
    archive = tmp_path / "held.tar.gz"
    ctr.checkpoint(target_file=archive)
    before, since = snapshot(rt), time.time()
    with pytest.raises(OCIRuntimeError, match="restor"):
        rt.restore_container(archive, name="broken", ignore_rootfs=True)
    assert_nothing_left(rt, before, since)
    ctr.restore()  # the original checkpoint is intact
    assert ctr.state is S.RUNNING


def _tamper(src: Path, dest: Path, edit: str) -> None:
    """Rewrite an archive with one member's bytes changed (the manifest left as it was)."""
    with tarfile.open(src) as tin, tarfile.open(dest, "w") as tout:
        for member in tin.getmembers():
            data = tin.extractfile(member).read() if member.isfile() else b""  # type: ignore[union-attr]
            if member.name == edit:
                data = data.replace(b"archived", b"tampered")
            member.size = len(data)
            tout.addfile(member, io.BytesIO(data))


def _evil(dest: Path, members: list[tarfile.TarInfo]) -> None:
    with tarfile.open(dest, "w") as tf:
        for info in members:
            data = b"evil\n" if info.isfile() else b""
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data) if data else None)


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, link, 0o644
    return info


def test_bad_archives_are_refused_and_leave_nothing(
        rt: Runtime, tmp_path: Path, counter_archive: tuple[Path, list[int]]) -> None:
    archive, _ = counter_archive
    outside = tmp_path / "outside"  # where escaping members would land
    outside.mkdir()
    token = secrets.token_hex(4)
    escape = f"../../../../../../../../{outside.relative_to('/')}/dotdot-{token}"
    data = archive.read_bytes()
    plain = tmp_path / "plain.tar"
    with tarfile.open(archive) as tin, tarfile.open(plain, "w") as tout:
        for member in tin.getmembers():
            tout.addfile(member, tin.extractfile(member))
    cases: dict[str, tuple[Path, type[Exception], str]] = {}

    def case(label: str, exc: type[Exception], match: str) -> Path:
        path = tmp_path / f"{label}.tar"
        cases[label] = (path, exc, match)
        return path

    case("missing", InvalidArgumentError, "no such checkpoint archive")
    case("garbage", InvalidArgumentError, "not a valid tar archive").write_bytes(
        secrets.token_bytes(4096))
    case("empty", InvalidArgumentError, "not a valid tar archive|empty").write_bytes(b"")
    case("truncated-gz", InvalidArgumentError, "truncated").write_bytes(data[:len(data) // 2])
    raw = plain.read_bytes()
    cut = raw[:len(raw) - 4096 * 4]
    case("truncated-tar", InvalidArgumentError, "truncated|manifest").write_bytes(
        cut[:len(cut) // 512 * 512])
    _tamper(plain, case("tampered", InvalidArgumentError, "corrupt"), "config.dump")
    _evil(case("dotdot", InvalidArgumentError, r"'\.\.' component"), [_member(escape)])
    _evil(case("absolute", InvalidArgumentError, "absolute path"),
          [_member(f"{outside}/abs-{token}")])
    _evil(case("symlink-out", InvalidArgumentError, "symlink"),
          [_member("checkpoint", tarfile.SYMTYPE, str(outside)),
           _member("checkpoint/inventory.img")])
    _evil(case("symlink-up", InvalidArgumentError, "outside"),
          [_member("checkpoint", tarfile.SYMTYPE, "../../../.."),
           _member("checkpoint/inventory.img")])
    _evil(case("hardlink", InvalidArgumentError, "hardlink"),
          [_member("config.dump", tarfile.LNKTYPE, "/etc/passwd")])
    _evil(case("device", InvalidArgumentError, "device"),
          [_member("checkpoint/null", tarfile.CHRTYPE)])
    _evil(case("not-a-checkpoint", InvalidArgumentError, "not a complete checkpoint"),
          [_member("etc/hostname")])

    before, since = snapshot(rt), time.time()
    for label, (path, exc, match) in cases.items():
        with pytest.raises(exc, match=match):
            rt.restore_container(path, name=f"bad-{label}")
    assert_nothing_left(rt, before, since)
    assert os.listdir(outside) == []  # nothing written outside the engine's dirs
    assert not (rt.root / f"dotdot-{token}").exists()


def test_staging_left_by_a_dead_restore_is_swept(rt: Runtime, tmp_path: Path) -> None:
    stale = rt.root / "containers" / ".restore-stale"
    (stale / "checkpoint").mkdir(parents=True)
    old = time.time() - 3600
    os.utime(stale, (old, old))
    garbage = tmp_path / "garbage.tar"
    garbage.write_bytes(b"not a tar archive" * 100)
    with pytest.raises(InvalidArgumentError, match="not a valid tar archive"):
        rt.restore_container(garbage)
    assert not stale.exists()
    assert not list((rt.root / "containers").glob(".restore-*"))


def test_name_and_image_conflicts(rt: Runtime, fresh_rt: Runtime, tmp_path: Path,
                                  counter_archive: tuple[Path, list[int]]) -> None:
    archive, _ = counter_archive
    taken = rt.create_container(DEMO, ["true"], name="taken")
    before, since = snapshot(rt), time.time()
    with pytest.raises(ContainerExistsError, match="taken"):
        rt.restore_container(archive, name="taken")
    with pytest.raises(InvalidArgumentError, match="invalid container name"):
        rt.restore_container(archive, name="bad/name")
    assert_nothing_left(rt, before, since)
    assert taken.state is S.CONFIGURED

    ctr = rt.create_container(DEMO, COUNTER)
    ctr.start()
    counts_on(ctr, 1)
    no_image = tmp_path / "no-image.tar.gz"
    ctr.checkpoint(target_file=no_image, include_image=False)
    before, since = snapshot(fresh_rt), time.time()
    with pytest.raises(NoSuchImageError, match=r"localhost/busybox:latest.*include_image"):
        fresh_rt.restore_container(no_image)
    assert_nothing_left(fresh_rt, before, since)
    assert fresh_rt.list_images() == []


def test_an_archive_restores_only_into_a_new_container(
        rt: Runtime, tmp_path: Path, counter_archive: tuple[Path, list[int]]) -> None:
    """``restore(from_archive=...)`` (Runtime.import_checkpoint's step) refuses a container
    that has run: its files are not the archive's to replace."""
    from jupyter_ctr.engine.checkpoint.archive import read_archive

    archive, _ = counter_archive
    staging = tmp_path / "staging"
    staging.mkdir()
    info = read_archive(archive, staging, str(archive))
    ctr = rt.create_container(DEMO, ["sleep", "100"])
    ctr.start()
    ctr.stop(timeout=0)
    with pytest.raises(ContainerStateInvalidError, match="only a new container"):
        ctr.restore(from_archive=info)
    assert (staging / "checkpoint" / "inventory.img").is_file()  # nothing was moved
    assert ctr.state is S.EXITED
