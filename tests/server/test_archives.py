"""Hostile uploads over REST (issue 9, item 6) on a server configured with small archive
limits: each is a clear 400 and leaves nothing in staging or in the spool directory; only
requests that expect a body spool one; spool files of dead servers are swept at start."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from jupyter_ctr.engine import Runtime, procinfo
from jupyter_ctr.server import spool
from jupyter_ctr.server.handlers import images as image_handlers
from jupyter_ctr.server.socket_service import SocketService
from tests import archives

from .conftest import LIBPOD

pytestmark = pytest.mark.timeout(120)

LIMITS = {"archive_max_member_size": 1 << 20, "archive_max_size": 4 << 20,
          "archive_max_members": 64}


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture
def seeded() -> None:
    """Asked for by a test: spool files are left before its server starts (see below)."""


@pytest.fixture
def jp_server_config(engine_roots: tuple[Path, Path], request: Any) -> dict[str, Any]:
    """Small limits. With ``seeded``, spool files left before the server starts: one of a
    dead process, one whose pid lives but with another start time (reused), one of this
    live process."""
    root, run_root = engine_roots
    if "seeded" in request.fixturenames:
        uploads = run_root / "uploads"
        uploads.mkdir(mode=0o700, exist_ok=True)
        me = os.getpid()
        (uploads / f"upload-{_dead_pid()}-123-abc.tar").write_bytes(b"stale")
        (uploads / f"checkpoint-{me}-1-abc.tar").write_bytes(b"pid reused")
        (uploads / f"upload-{me}-{procinfo.start_time(me)}-live.tar").write_bytes(b"live")
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_ctr": True}},
        "EngineConfig": {"root": str(root), "run_root": str(run_root), **LIMITS},
        "ContainersApp": {"linger": 1.0},
    }


def nothing_left(rt: Runtime) -> None:
    assert list((rt.run_root / "uploads").iterdir()) == []
    assert not list((rt.root / "images").glob(".staging-*"))
    assert not list((rt.root / "containers").glob(".restore-*"))


async def test_spool_files_of_dead_servers_are_swept_at_start(seeded, api, rt):
    names = sorted(p.name for p in (rt.run_root / "uploads").iterdir())
    assert len(names) == 1 and names[0].endswith("-live.tar")  # this live process's: kept
    (rt.run_root / "uploads" / names[0]).unlink()


def test_socket_service_sweeps_at_start(engine_roots: tuple[Path, Path]) -> None:
    root, run_root = engine_roots
    uploads = run_root / "uploads"
    uploads.mkdir(mode=0o700, exist_ok=True)
    stale = uploads / f"upload-{_dead_pid()}-42-xyz.tar"
    stale.write_bytes(b"stale")
    # The engine's half-written export into a spool file of a server that was killed.
    partial = uploads / f".checkpoint-{_dead_pid()}-42-abc.tar.0123abcd.partial"
    partial.write_bytes(b"half")
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        service = SocketService(Path(tmp) / "s.sock", Runtime(root, run_root))
        try:
            assert not stale.exists() and not partial.exists()
        finally:
            service.service.close()


@pytest.mark.parametrize("build,words", [
    (lambda p: archives.sparse(p, 8 << 30), ["sparse"]),
    (lambda p: archives.gzip_bomb(p, 64 << 20), ["1 MiB allowed for one member",
                                                  "archive_max_member_size"]),
    (lambda p: archives.many_members(p, 100), ["more than 64 members"]),
    (lambda p: archives.huge_pax_header(p), ["extended header"]),
    (lambda p: archives.truncated(archives.gzip_bomb(p.with_suffix(".gz"), 1 << 19), p),
     ["truncated"]),
], ids=["sparse", "gzip-bomb", "members", "pax-header", "truncated"])
async def test_hostile_checkpoint_uploads(api, rt, tmp_path, build, words):
    body = build(tmp_path / "hostile.tar").read_bytes()
    assert len(body) < 1 << 20
    r = await api.post(f"{LIBPOD}/containers/import/restore",
                       params={"import": "1", "name": "hostile"}, body=body)
    assert r.code == 400, r.body
    message = r.json()["message"]
    assert all(w in message for w in words), message
    assert "the uploaded archive" in message and str(rt.run_root) not in message
    assert rt.list_containers(all=True) == []
    nothing_left(rt)


@pytest.mark.parametrize("build,words", [
    (lambda p: archives.gzip_bomb(p, 64 << 20, name="bin/sh"), ["allowed for one member"]),
    (lambda p: archives.sparse(p, 8 << 30, name="big"), ["allowed for one member"]),
    (lambda p: archives.many_members(p, 100), ["more than 64 members"]),
    (lambda p: archives.truncated(archives.gzip_bomb(p.with_suffix(".gz"), 1 << 19), p),
     ["truncated"]),
], ids=["gzip-bomb", "sparse", "members", "truncated"])
async def test_hostile_image_uploads(api, rt, tmp_path, build, words):
    body = build(tmp_path / "hostile.tar").read_bytes()
    r = await api.post(f"{LIBPOD}/images/import", params={"reference": "localhost/hostile"},
                       body=body)
    assert r.code == 400, r.body
    message = r.json()["message"]
    assert all(w in message for w in words), message
    assert "the uploaded archive" in message and str(rt.run_root) not in message
    assert (await api.get(f"{LIBPOD}/images/localhost/hostile/exists")).code == 404
    nothing_left(rt)


async def test_only_requests_that_expect_a_body_spool(api, rt, monkeypatch):
    spooled: list[Path] = []

    def recording(runtime: Runtime, kind: str = "upload") -> tuple[int, Path]:
        fd, path = spool.new_spool_file(runtime, kind)
        spooled.append(path)
        return fd, path

    monkeypatch.setattr(image_handlers, "new_spool_file", recording)
    # restore in place (no import): the body is ignored, nothing spooled
    r = await api.post(f"{LIBPOD}/containers/nosuch/restore", body=b"x" * 100_000)
    assert r.code == 404
    r = await api.post(f"{LIBPOD}/containers/nosuch/restore", params={"import": "0"},
                       body=b"x" * 100_000)
    assert r.code == 404
    r = await api.call("OPTIONS", f"{LIBPOD}/images/import")
    assert r.code == 200
    assert spooled == []
    # an import spools (and removes) its body
    r = await api.post(f"{LIBPOD}/containers/nosuch/restore", params={"import": "1"},
                       body=b"x" * 100_000)
    assert r.code == 400
    assert len(spooled) == 1 and not spooled[0].exists()
    nothing_left(rt)


async def test_upload_larger_than_the_limits_is_cut_off(api, rt):
    """The spool itself is bounded: an upload beyond archive_max_size (plus room for headers)
    is refused while it streams, and its spool file removed."""
    limit = LIMITS["archive_max_size"]
    body = b"\0" * (limit + (limit >> 6) + (1 << 20) + 1)
    r = await api.post(f"{LIBPOD}/images/import", params={"reference": "localhost/big"},
                       body=body, request_timeout=60)
    assert r.code == 400
    nothing_left(rt)


async def test_upload_larger_than_the_free_space_is_refused_at_once(api, rt, monkeypatch):
    real = shutil.disk_usage
    monkeypatch.setattr(image_handlers.shutil, "disk_usage",
                        lambda path: real(path)._replace(free=1000))
    r = await api.post(f"{LIBPOD}/images/import", params={"reference": "localhost/big"},
                       body=b"x" * 5000)
    assert r.code == 413, r.body
    assert "1000 bytes free" in r.json()["message"]
    nothing_left(rt)
