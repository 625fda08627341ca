"""What keeps the engine quick to import for the CLI's short commands (no typing, NamedTuple,
dataclasses, shutil or datetime at import), and that the plain stand-ins behave as what they
replace."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jupyter_ctr.engine import procs
from jupyter_ctr.engine.events import Event
from jupyter_ctr.engine.images import ArchiveLimits, Image
from jupyter_ctr.engine.logs import LogLine
from jupyter_ctr.engine.timeutil import rfc3339_ns

REPO = Path(__file__).resolve().parents[2]


def test_importing_the_engine_for_a_verb_loads_no_heavy_modules() -> None:
    code = ("import sys\n"
            "import jupyter_ctr.engine.runtime, jupyter_ctr.engine.images\n"
            "import jupyter_ctr.engine.logs, jupyter_ctr.engine.spec, jupyter_ctr.engine.settings\n"
            "print(' '.join(sys.modules))")
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True, cwd=REPO).stdout.split())
    assert {"typing", "dataclasses", "inspect", "shutil", "copy", "ctypes", "subprocess",
            "logging", "importlib"} & loaded == set()


def test_which_answers_as_shutil_which(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin1, bin2 = tmp_path / "b1", tmp_path / "b2"
    for d in (bin1, bin2):
        d.mkdir()
    for path, mode in ((bin1 / "tool", 0o644), (bin2 / "tool", 0o755), (bin2 / "other", 0o755)):
        path.write_text("#!/bin/sh\n")
        path.chmod(mode)
    (bin1 / "adir").mkdir()
    names = ["tool", "other", "adir", "sh", "missing", str(bin2 / "tool"), str(bin1 / "tool"),
             str(bin1 / "adir"), "b2/tool", ""]
    monkeypatch.chdir(tmp_path)
    for path in (f"{bin1}:{bin2}", f"{bin2}:{bin1}", f"{bin1}::{bin1}:{os.environ['PATH']}",
                 "", None):
        if path is None:
            monkeypatch.delenv("PATH", raising=False)
        else:
            monkeypatch.setenv("PATH", path)
        for name in names:
            assert procs.which(name) == shutil.which(name), (path, name)
    assert stat.S_IMODE((bin2 / "tool").stat().st_mode) == 0o755


def test_rfc3339_ns_as_datetime_formats_it() -> None:
    for ns in (1, 10**9, 1_796_000_000_123_456_789, 4_102_444_800 * 10**9 + 5, -1,
               -62_135_596_800 * 10**9):
        base = datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC)
        want = base.strftime("%Y-%m-%dT%H:%M:%S") + f".{ns % 1_000_000_000:09d}Z"
        assert rfc3339_ns(ns) == want
    assert rfc3339_ns(0) == rfc3339_ns(None) == "0001-01-01T00:00:00Z"


def test_records_keep_their_tuple_behaviour() -> None:
    line = LogLine(1_796_000_000_000_000_001, "stdout", "hi")
    assert line == (1_796_000_000_000_000_001, "stdout", "hi", False)
    assert line.partial is False and line._replace(partial=True).partial is True
    assert repr(line).startswith("LogLine(time_ns=")
    assert line.timestamp() == "2026-11-30T00:53:20.000000001Z"
    assert line.time == datetime.fromtimestamp(1_796_000_000.000000001, tz=UTC)
    ev = Event(1, 2, "container", "start", "id", "name", "image")
    seq, *_, attributes = ev
    assert (seq, attributes, ev.attributes) == (1, {}, {})
    assert Event._fields == ("seq", "time_ns", "type", "action", "id", "name", "image",
                             "attributes")
    assert ev.to_dict()["Time"] == "1970-01-01T00:00:00.000000002Z"


def test_image_records_as_the_frozen_dataclasses_were(tmp_path: Path) -> None:
    limits = ArchiveLimits(1, 2, 3)
    assert limits == ArchiveLimits(max_member_size=1, max_size=2, max_members=3, sparse=True)
    assert limits != ArchiveLimits(1, 2, 3, False) and limits != (1, 2, 3, True)
    assert hash(limits) == hash(ArchiveLimits(1, 2, 3))
    assert limits.replace(sparse=False) == ArchiveLimits(1, 2, 3, False)
    assert repr(limits) == ("ArchiveLimits(max_member_size=1, max_size=2, max_members=3, "
                            "sparse=True)")
    with pytest.raises(AttributeError):
        limits.sparse = False  # type: ignore[misc]
    with pytest.raises(TypeError):
        ArchiveLimits(1, 2, 3, True, 5)  # type: ignore[call-arg]
    img = Image("a" * 64, ["localhost/x:latest"], tmp_path, {"Cmd": ["sh"]}, 1.0, 10)
    assert img.layers == [] and img.os == "linux" and img.architecture
    assert img == Image("a" * 64, ["localhost/x:latest"], tmp_path, {"Cmd": ["sh"]}, 1.0, 10)
    assert img.inspect()["Config"] == {"Cmd": ["sh"]}
    with pytest.raises(AttributeError):
        img.id = "b"  # type: ignore[misc]


def _tree(base: Path) -> tuple[Path, Path]:
    """A tree with what a container's layer may hold, and a directory outside it that its
    symlinks point to."""
    outside = base / "outside"
    (outside / "keep").mkdir(parents=True)
    (outside / "keep" / "file").write_text("x")
    top = base / "tree"
    (top / "a" / "b" / "c").mkdir(parents=True)
    (top / "a" / "b" / "c" / "deep").write_text("x")
    (top / "a" / "file").write_text("x")
    (top / "a" / "to-outside").symlink_to(outside / "keep")
    (top / "to-outside-file").symlink_to(outside / "keep" / "file")
    (top / "dangling").symlink_to(base / "nothing")
    (top / "a" / "up").symlink_to("..")
    os.mkfifo(top / "fifo")
    (top / "empty").mkdir()
    return top, outside


@pytest.mark.parametrize("ignore_errors", [False, True])
def test_remove_tree_as_shutil_rmtree(tmp_path: Path, ignore_errors: bool) -> None:
    from jupyter_ctr.engine.storage import remove_tree

    results = []
    for which, remove in (("ours", remove_tree), ("shutil", shutil.rmtree)):
        base = tmp_path / which
        top, outside = _tree(base)
        (base / "link-to-tree").symlink_to(top)
        (base / "a-file").write_text("x")
        outcome = []
        for target in (base / "link-to-tree", base / "missing", base / "a-file", top):
            try:
                remove(target, ignore_errors=ignore_errors)
                outcome.append(None)
            except OSError as exc:
                outcome.append(type(exc))
        left = sorted(str(p.relative_to(base)) for p in base.rglob("*"))
        results.append((outcome, left))
        assert not top.exists() and (outside / "keep" / "file").read_text() == "x"
    assert results[0] == results[1]
