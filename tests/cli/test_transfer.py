"""pull, push, load and save as the command line: against the real registry fixture, onto
fresh roots, and to podman (which loads what we save)."""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import FULL_ID, IMAGE, Cli
from tests.engine.images.podman_tools import Podman, needs_podman
from tests.engine.images.registry import TEST_LAYERS, TEST_REPO, TEST_TAG, LocalRegistry


@pytest.fixture
def fresh() -> Iterator[Cli]:
    """A CLI on new, empty roots (no container is run there)."""
    base = Path(tempfile.mkdtemp(prefix="jcf", dir="/tmp"))
    try:
        yield Cli(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_pull_run_push_pull_elsewhere(cli: Cli, registry: LocalRegistry, fresh: Cli) -> None:
    ref = f"{registry.host}/{TEST_REPO}:{TEST_TAG}"
    t0 = time.monotonic()
    proc = cli("pull", "--tls-verify=false", ref)
    took = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr
    image_id = proc.stdout.strip()
    assert FULL_ID.match(image_id)
    err = proc.stderr.splitlines()
    assert err[0] == f"Trying to pull {ref}..."
    assert sum(line.startswith("Copying blob sha256:") for line in err) == TEST_LAYERS
    assert err[-2:] == ["Writing manifest to image destination", "Storing signatures"]
    print(f"pull of the {TEST_LAYERS}-layer image: {took:.2f}s")
    # -q: the id only; the same image again
    proc = cli("image", "pull", "-q", "--tls-verify=false", ref)
    assert (proc.stdout.strip(), proc.stderr) == (image_id, "")
    # a container of it: the layers' files, the whiteout honoured
    out = cli.ok("run", "--rm", ref, "sh", "-c",
                 "cat /etc/layer3; ls /srv/data; test -e /etc/layer2 || echo gone")
    assert out == "three\n/srv/data\ngone\n"
    # push under another name, then pull it on a fresh root
    dest = f"{registry.host}/test/cli-pushed:7"
    digest_file = Path(tempfile.mkdtemp()) / "digest"
    t0 = time.monotonic()
    proc = cli("push", "--tls-verify=false", "--digestfile", str(digest_file), ref, dest)
    print(f"push of the {TEST_LAYERS}-layer image: {time.monotonic() - t0:.2f}s")
    assert proc.returncode == 0 and proc.stdout == "", proc.stderr
    assert "Writing manifest to image destination" in proc.stderr
    assert digest_file.read_text().startswith("sha256:")
    assert registry.tags("test/cli-pushed") == ["7"]
    fresh_id = fresh.ok("pull", "-q", "--tls-verify=false", dest).strip()
    assert FULL_ID.match(fresh_id)
    info = json.loads(fresh.ok("image", "inspect", dest))
    assert info[0]["RepoTags"] == [dest] and len(info[0]["RootFS"]["Layers"]) == TEST_LAYERS
    # two images in one docker-archive: only with -m; both load on a fresh root
    multi = digest_file.parent / "multi.tar"
    proc = cli("save", "-o", str(multi), IMAGE, ref)
    assert proc.returncode == 125 and "-m" in proc.stderr and not multi.exists()
    cli.ok("save", "-m", "-o", str(multi), IMAGE, ref)
    loaded = fresh.ok("load", "-i", str(multi)).splitlines()
    # (the fresh root has that image as dest already: its names are listed too)
    assert {f"Loaded image: {IMAGE}", f"Loaded image: {ref}"} <= set(loaded)
    shutil.rmtree(digest_file.parent)
    cli.ok("rmi", ref)


def test_pull_and_push_errors(cli: Cli, registry: LocalRegistry) -> None:
    proc = cli("pull", "--tls-verify=false", f"{registry.host}/test/missing:1")
    assert proc.returncode == 125 and "not known to registry" in proc.stderr
    assert proc.stdout == ""
    proc = cli("pull", "-q", f"{registry.host}/{TEST_REPO}:{TEST_TAG}")  # https: refused
    assert proc.returncode == 125 and "--tls-verify=false" in proc.stderr
    proc = cli("push", "--tls-verify=false", "localhost/nope:1", f"{registry.host}/x/y:1")
    assert proc.returncode == 125 and "image not known" in proc.stderr
    proc = cli("pull", "--authfile", "/nonexistent/auth.json", f"{registry.host}/a/b:1")
    assert proc.returncode == 125 and "credential file is not accessible" in proc.stderr


def test_save_load_both_formats(cli: Cli, fresh: Cli, tmp_path: Path) -> None:
    for fmt in ("docker-archive", "oci-archive"):
        archive = tmp_path / f"demo-{fmt}.tar"
        t0 = time.monotonic()
        assert cli.ok("save", "--format", fmt, "-o", str(archive), IMAGE) == ""
        saved = time.monotonic() - t0
        t0 = time.monotonic()
        out = fresh.ok("load", "-i", str(archive))
        print(f"demo image {fmt}: save {saved:.2f}s, load {time.monotonic() - t0:.2f}s, "
              f"{archive.stat().st_size} bytes")
        assert out == f"Loaded image: {IMAGE}\n"
        fresh.ok("rmi", IMAGE)
    # stdout when it is not a terminal; stdin for load
    with (tmp_path / "piped.tar").open("wb") as fh:
        proc = subprocess.run(cli.argv("image", "save", IMAGE), stdout=fh,
                              stderr=subprocess.PIPE, env=cli.env, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    with (tmp_path / "piped.tar").open("rb") as fh:
        proc = subprocess.run(fresh.argv("load"), stdin=fh, capture_output=True, text=True,
                              env=fresh.env, timeout=60, check=False)
    assert proc.returncode == 0 and proc.stdout == f"Loaded image: {IMAGE}\n", proc.stderr
    # an OCI layout directory (written here only: a remote save streams archives)
    proc = cli("save", "--format", "oci-dir", "-o", str(tmp_path / "layout"), IMAGE)
    if "--url" in cli.argv():
        assert proc.returncode == 125 and "oci-dir is not supported remotely" in proc.stderr
    else:
        assert proc.returncode == 0 and (tmp_path / "layout" / "index.json").is_file()
    # a missing image: nothing written
    proc = cli("save", "-o", str(tmp_path / "x.tar"), IMAGE, "localhost/missing:1")
    assert proc.returncode == 125 and not (tmp_path / "x.tar").exists()
    proc = cli("load", "-i", str(tmp_path / "nothing.tar"))
    assert proc.returncode == 125 and proc.stderr.startswith("Error: ")


@needs_podman
def test_podman_loads_ours(cli: Cli, tmp_path: Path) -> None:
    podman = Podman(tmp_path / "podman")
    try:
        for fmt in ("docker-archive", "oci-archive"):
            archive = tmp_path / f"ours-{fmt}.tar"
            cli.ok("save", "--format", fmt, "-o", str(archive), IMAGE)
            loaded = podman("load", "-q", "-i", str(archive))
            assert IMAGE in loaded or "sha256:" in loaded, loaded
            tag = IMAGE if fmt == "docker-archive" else loaded.split()[-1]
            assert podman.run(tag, "echo", "hi") == "hi\n"
            podman("rmi", "-f", tag)
    finally:
        podman.cleanup()


def test_run_pulls_a_missing_registry_image(cli: Cli, registry: LocalRegistry) -> None:
    ref = f"{registry.host}/{TEST_REPO}:{TEST_TAG}"
    cli("rmi", ref)
    proc = cli("run", "--rm", "--pull", "never", ref, "true")
    assert proc.returncode == 125 and "image not known" in proc.stderr
    # --pull=missing (podman's default): pulled, progress on stderr, then run
    proc = cli("run", "--rm", "--tls-verify=false", ref, "cat", "/etc/layer3")
    assert proc.returncode == 0 and proc.stdout == "three\n", proc.stderr
    assert f"Trying to pull {ref}..." in proc.stderr
    # here now: no second pull; -q keeps a pull quiet
    proc = cli("create", "--tls-verify=false", ref, "true")
    assert proc.returncode == 0 and "Trying" not in proc.stderr
    proc = cli("create", "-q", "--pull=always", "--tls-verify=false", ref, "true")
    assert proc.returncode == 0 and proc.stderr == ""
    # a local-only name is never pulled
    proc = cli("create", "localhost/not-here:1", "true")
    assert proc.returncode == 125 and "Trying" not in proc.stderr


def test_save_and_load_refuse_a_terminal(cli: Cli) -> None:
    leader, follower = pty.openpty()
    try:
        save = subprocess.run(cli.argv("save", IMAGE), stdout=follower, stderr=subprocess.PIPE,
                              env=cli.env, timeout=60, check=False, text=True)
        load = subprocess.run(cli.argv("load"), stdin=follower, capture_output=True,
                              env=cli.env, timeout=60, check=False, text=True)
    finally:
        os.close(leader)
        os.close(follower)
    assert save.returncode == 125 and "refusing to save to terminal" in save.stderr
    assert load.returncode == 125 and "cannot read from terminal" in load.stderr
