"""A real registry for the tests: Debian's ``docker-registry`` (the distribution registry) on
127.0.0.1, on a free port, with its storage in a temporary directory, filled with a
multi-layer image built here without any network (umoci + skopeo).

Its fixtures are registered for every test by ``pytest_plugins`` in tests/conftest.py:

* ``registry``: plain http, no auth, session-wide; holds ``test/busy:1`` (3 layers);
* ``auth_registry``: plain http with htpasswd basic auth (``USER``/``PASSWORD``), session-wide;
  holds the same image.

Both are plain http, so clients pass ``tls_verify=False`` (``--tls-verify=false``).
"""

from __future__ import annotations

import base64
import io
import json
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_ctr.engine.images.demo import find_static_busybox, write_tarball

REGISTRY_BIN = shutil.which("docker-registry")
SKOPEO = shutil.which("skopeo")
UMOCI = shutil.which("umoci")
HTPASSWD = shutil.which("htpasswd")

needs_registry = pytest.mark.skipif(
    None in (REGISTRY_BIN, SKOPEO, UMOCI),
    reason="docker-registry, skopeo and umoci are needed (scripts/setup.sh installs them)")

#: The image every fixture registry holds, and the number of its layers.
TEST_REPO = "test/busy"
TEST_TAG = "1"
TEST_LAYERS = 3
USER, PASSWORD = "tester", "s3cret-pass"
#: The pids of the running fixture registries: session-long children of the test process,
#: which checks for leftover children (a zstd left running) leave aside.
FIXTURE_PIDS: set[int] = set()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def auth_file_for(path: Path, host: str, user: str = USER, password: str = PASSWORD) -> Path:
    """Write a containers-auth.json (what ``podman login`` writes) for ``host``."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    path.write_text(json.dumps({"auths": {host: {"auth": token}}}))
    return path


class LocalRegistry:
    """One ``docker-registry serve`` process with its config, storage and log in ``workdir``."""

    def __init__(self, workdir: Path, *, auth: tuple[str, str] | None = None) -> None:
        self.workdir = workdir
        self.auth = auth
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "registry.log"
        self.auth_file: Path | None = None

    def start(self) -> LocalRegistry:
        assert REGISTRY_BIN is not None
        storage = self.workdir / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        # JSON is YAML: no YAML writer needed.
        config: dict[str, object] = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(storage)},
                        "delete": {"enabled": True}},
            "http": {"addr": self.host, "secret": "jupyter-ctr-tests"},
        }
        if self.auth is not None:
            config["auth"] = {"htpasswd": {"realm": "jupyter-ctr-tests",
                                           "path": str(self._write_htpasswd(*self.auth))}}
            self.auth_file = auth_file_for(self.workdir / "auth.json", self.host, *self.auth)
        conf = self.workdir / "config.yml"
        conf.write_text(json.dumps(config))
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen([REGISTRY_BIN, "serve", str(conf)], stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        FIXTURE_PIDS.add(self.proc.pid)
        self._wait_ready()
        return self

    def _write_htpasswd(self, user: str, password: str) -> Path:
        assert HTPASSWD is not None
        path = self.workdir / "htpasswd"
        # -B: bcrypt, the only scheme the registry accepts
        subprocess.run([HTPASSWD, "-Bbc", str(path), user, password], check=True,
                       capture_output=True)
        return path

    def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited {self.proc.returncode}: "
                                   f"{self.log.read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://{self.host}/v2/", timeout=2):
                    return
            except urllib.error.HTTPError as exc:
                if exc.code == 401:  # the auth variant answers, and wants credentials
                    return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"docker-registry on {self.host} did not answer /v2/ in 30s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            FIXTURE_PIDS.discard(self.proc.pid)
        self.proc = None
        shutil.rmtree(self.workdir / "storage", ignore_errors=True)

    def tags(self, repo: str) -> list[str]:
        """The tags of ``repo`` as the registry's API lists them ([] for an unknown repo)."""
        req = urllib.request.Request(f"http://{self.host}/v2/{repo}/tags/list")
        if self.auth is not None:
            token = base64.b64encode(":".join(self.auth).encode()).decode()
            req.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return list(json.load(resp).get("tags") or [])
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return []
            raise

    def push_layout(self, layout: Path, tag: str, repo: str = TEST_REPO,
                    repo_tag: str = TEST_TAG) -> str:
        """Copy ``layout:tag`` to ``repo:repo_tag`` here with skopeo; the reference."""
        assert SKOPEO is not None
        ref = f"{self.host}/{repo}:{repo_tag}"
        argv = [SKOPEO, "copy", "--quiet", "--dest-tls-verify=false"]
        if self.auth_file is not None:
            argv += ["--dest-authfile", str(self.auth_file)]
        subprocess.run([*argv, f"oci:{layout}:{tag}", f"docker://{ref}"], check=True,
                       capture_output=True, timeout=120)
        return ref


# -- a multi-layer OCI layout, built offline ---------------------------------------------

def _umoci(*args: str) -> None:
    assert UMOCI is not None
    subprocess.run([UMOCI, *args], check=True, capture_output=True)


def _layer(path: Path, files: dict[str, bytes | None]) -> Path:
    """An uncompressed layer tarball: ``None`` as content makes a directory."""
    with tarfile.open(path, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.mtime = 1_600_000_000
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
    return path


def build_multilayer_layout(workdir: Path, tag: str = TEST_TAG) -> Path:
    """An OCI layout holding ``tag``: the demo busybox rootfs, then a layer adding
    /etc/layer2 and /srv/data, then one deleting /etc/layer2 (a whiteout) and adding
    /etc/layer3. Cmd is /bin/sh."""
    layout = workdir / "layout"
    base = write_busybox_tarball(workdir / "layer1.tar")
    layer2 = _layer(workdir / "layer2.tar", {
        "etc/": None, "etc/layer2": b"two\n", "srv/": None, "srv/data": b"x" * 4096})
    layer3 = _layer(workdir / "layer3.tar", {
        "etc/": None, "etc/.wh.layer2": b"", "etc/layer3": b"three\n"})
    _umoci("init", "--layout", str(layout))
    _umoci("new", "--image", f"{layout}:{tag}")
    for layer in (base, layer2, layer3):
        _umoci("raw", "add-layer", "--image", f"{layout}:{tag}", str(layer))
    _umoci("config", "--image", f"{layout}:{tag}", "--config.cmd", "/bin/sh",
           "--config.env", "PATH=/bin:/usr/bin", "--config.label", "built-by=jupyter-ctr-tests")
    _umoci("gc", "--layout", str(layout))
    return layout


def write_busybox_tarball(out: Path) -> Path:
    write_tarball(find_static_busybox(None), out)
    return out


def layout_layers(layout: Path, tag: str) -> list[str]:
    """The layer digests of ``tag`` in an OCI layout, each checked to be a blob there."""
    index = json.loads((layout / "index.json").read_text())
    desc = next(m for m in index["manifests"]
                if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag)
    blobs = layout / "blobs" / "sha256"
    manifest = json.loads((blobs / desc["digest"].split(":", 1)[1]).read_text())
    digests = [str(layer["digest"]) for layer in manifest["layers"]]
    for digest in digests:
        assert (blobs / digest.split(":", 1)[1]).is_file(), f"{digest} missing from {layout}"
    return digests


# -- fixtures ------------------------------------------------------------------------------

def _started(workdir: Path, auth: tuple[str, str] | None) -> Iterator[LocalRegistry]:
    reg = LocalRegistry(workdir, auth=auth).start()
    try:
        reg.push_layout(build_multilayer_layout(workdir), TEST_TAG)
        yield reg
    finally:
        reg.stop()


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    """A plain-http registry without auth, holding ``test/busy:1``."""
    if None in (REGISTRY_BIN, SKOPEO, UMOCI):
        pytest.skip("docker-registry, skopeo and umoci are needed")
    yield from _started(tmp_path_factory.mktemp("registry"), None)


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    """A plain-http registry with htpasswd basic auth (USER/PASSWORD), holding
    ``test/busy:1``; its ``auth_file`` holds the right credentials."""
    if None in (REGISTRY_BIN, SKOPEO, UMOCI, HTPASSWD):
        pytest.skip("docker-registry, skopeo, umoci and htpasswd are needed")
    yield from _started(tmp_path_factory.mktemp("auth-registry"), (USER, PASSWORD))

