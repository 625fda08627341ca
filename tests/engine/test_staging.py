"""Staging directories (engine/staging.py): owned by a process, swept once it is gone."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from jupyter_ctr.engine import procinfo
from jupyter_ctr.engine.staging import staging_dir, sweep_staging


def test_staging_dir_is_private_named_by_its_owner_and_removed(tmp_path: Path) -> None:
    with staging_dir(tmp_path, ".work-") as path:
        assert path.parent == tmp_path and path.is_dir()
        assert path.name.startswith(f".work-{procinfo.owner_tag()}-")
        assert path.stat().st_mode & 0o777 == 0o700
        (path / "sub").mkdir()
        (path / "sub" / "file").write_text("x")
        assert sweep_staging(tmp_path, ".work-") == []  # its owner lives
    assert not path.exists()


def test_removed_after_an_error(tmp_path: Path) -> None:
    try:
        with staging_dir(tmp_path, ".work-") as path:
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert not path.exists()


def test_sweep_takes_only_what_a_dead_owner_left(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = tmp_path / f".work-{child.pid}-{procinfo.start_time(child.pid)}-a"
        dead = tmp_path / f".work-{child.pid}-1-b"  # the pid, but another process's start
        fresh, stale = tmp_path / ".work-untagged", tmp_path / ".work-old"
        other = tmp_path / ".other-1-1-c"
        for d in (live, dead, fresh, stale, other):
            (d / "inner").mkdir(parents=True)
        old = time.time() - 3600
        os.utime(stale, (old, old))
        assert sorted(sweep_staging(tmp_path, ".work-")) == [dead.name, stale.name]
        assert live.exists() and fresh.exists() and other.exists()
        child.kill()
        child.wait()
        assert sweep_staging(tmp_path, ".work-") == [live.name]
    finally:
        child.kill()
        child.wait()
    assert sweep_staging(tmp_path / "missing", ".work-") == []
