"""Real clients pulling, pushing, saving and loading through ``jupyter-ctr service``:
docker-py, podman-py, the docker CLI and ``podman --remote``, against the registry fixture."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess

import pytest

from jupyter_ctr.engine import Runtime
from jupyter_ctr.engine.errors import NoSuchImageError

from ..conftest import DEMO, socket_service
from ..engine.images.registry import TEST_LAYERS, TEST_REPO, TEST_TAG
from .conftest import remove_all

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def service(engine_roots):
    path = f"/tmp/jctt-{os.getpid()}.sock"
    with socket_service(path, Runtime(*engine_roots)):
        yield path


@pytest.fixture
def sock(service, rt):
    yield service
    remove_all(rt)


def _drop(rt: Runtime, *refs: str) -> None:
    for ref in refs:
        with contextlib.suppress(NoSuchImageError):
            rt.remove_image(ref)


def test_docker_py_pull_push_save_load(sock, rt, registry):
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=f"unix://{sock}", timeout=60)
    ref = f"{registry.host}/{TEST_REPO}:{TEST_TAG}"
    _drop(rt, ref)
    img = client.images.pull(f"{registry.host}/{TEST_REPO}", tag=TEST_TAG)
    assert ref in img.tags and len(img.attrs["RootFS"]["Layers"]) == TEST_LAYERS
    assert client.containers.run(ref, ["cat", "/etc/layer3"], remove=True) == b"three\n"
    # push: tag under another repository of the registry, push it there
    rt.images.tag(ref, f"{registry.host}/test/dpy:5")  # (no tag route yet)
    out = client.images.push(f"{registry.host}/test/dpy", tag="5")
    assert '"Digest"' in out and "error" not in out
    assert registry.tags("test/dpy") == ["5"]
    # docker-py reads past the stream's error, then finds no image (as with Docker)
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.pull(f"{registry.host}/test/missing", tag="1")
    # save (a stream of chunks) and load it back
    dpy = f"{registry.host}/test/dpy:5"
    data = b"".join(client.images.get(dpy).save(named=dpy))
    client.images.remove(f"{registry.host}/test/dpy:5")
    loaded = client.images.load(data)
    assert [f"{registry.host}/test/dpy:5" in i.tags for i in loaded] == [True]
    _drop(rt, ref, f"{registry.host}/test/dpy:5")


def test_podman_py_pull_push_save_load(sock, rt, registry):
    podman = pytest.importorskip("podman")
    ref = f"{registry.host}/{TEST_REPO}:{TEST_TAG}"
    _drop(rt, ref)
    with podman.PodmanClient(base_url=f"unix://{sock}", timeout=60) as client:
        img = client.images.pull(f"{registry.host}/{TEST_REPO}", tag=TEST_TAG,
                                 tls_verify=False)
        assert ref in img.tags
        out = client.images.push(ref, destination=f"{registry.host}/test/ppy:6",
                                 tlsVerify=False)  # (podman-py's spelling for push)
        assert "error" not in str(out)
        assert registry.tags("test/ppy") == ["6"]
        data = b"".join(img.save(named=True))
        client.images.remove(ref)
        loaded = list(client.images.load(data))
        assert [ref in i.tags for i in loaded] == [True]
    _drop(rt, ref)


def _run(argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120,
                          check=False)


@pytest.mark.skipif(shutil.which("podman") is None, reason="no podman CLI")
def test_podman_remote_pull_push_save_load(sock, rt, registry, tmp_path):
    base = ["podman", "--remote", "--url", f"unix://{sock}"]
    ref = f"{registry.host}/{TEST_REPO}:{TEST_TAG}"
    _drop(rt, ref)
    r = _run([*base, "pull", "--tls-verify=false", ref])
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == rt.get_image(ref).id
    assert "Copying blob" in r.stderr
    r = _run([*base, "push", "--tls-verify=false", ref, f"{registry.host}/test/prem:8"])
    assert r.returncode == 0, r.stderr
    assert registry.tags("test/prem") == ["8"]
    r = _run([*base, "pull", "--tls-verify=false", f"{registry.host}/test/missing:1"])
    assert r.returncode != 0 and "not known to registry" in r.stderr
    archive = tmp_path / "remote.tar"
    r = _run([*base, "save", "-o", str(archive), ref])
    assert r.returncode == 0, r.stderr
    _drop(rt, ref)
    r = _run([*base, "load", "-i", str(archive)])
    assert r.returncode == 0 and ref in r.stdout, (r.stdout, r.stderr)
    _drop(rt, ref)


@pytest.mark.skipif(shutil.which("docker") is None, reason="no docker CLI")
def test_docker_cli_pull_save_load(sock, rt, registry, tmp_path):
    env = dict(os.environ, DOCKER_HOST=f"unix://{sock}")
    ref = f"{registry.host}/{TEST_REPO}:{TEST_TAG}"
    _drop(rt, ref)
    r = _run(["docker", "pull", ref], env)
    assert r.returncode == 0, r.stderr
    assert f"Downloaded newer image for {ref}" in r.stdout
    archive = tmp_path / "docker.tar"
    r = _run(["docker", "save", "-o", str(archive), ref], env)
    assert r.returncode == 0, r.stderr
    _drop(rt, ref)
    r = _run(["docker", "load", "-i", str(archive)], env)
    assert r.returncode == 0 and f"Loaded image: {ref}" in r.stdout, (r.stdout, r.stderr)
    assert DEMO  # the demo image is untouched by all this
    _drop(rt, ref)
