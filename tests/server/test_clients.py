"""Real clients against ``jupyter-ctr service`` on a unix socket: docker-py, podman-py, the
docker CLI and ``podman --remote`` - unchanged, as they talk to Docker and Podman."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time

import pytest

from jupyter_ctr.engine import Runtime

from ..conftest import DEMO, socket_service
from .conftest import remove_all

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def service(engine_roots):
    path = f"/tmp/jct-{os.getpid()}.sock"  # unix socket paths stop at 108 bytes
    with socket_service(path, Runtime(*engine_roots)):
        assert oct(os.stat(path).st_mode & 0o777) == "0o660"
        yield path
    assert not os.path.exists(path)


@pytest.fixture
def sock(service, rt):
    yield service
    remove_all(rt)


def test_docker_py(sock):
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=f"unix://{sock}", timeout=60)
    assert client.ping()
    assert client.version()["ApiVersion"] == "1.41"
    out = client.containers.run(DEMO, ["sh", "-c", "echo hi; echo err >&2"], stderr=True)
    assert b"hi\n" in out and b"err\n" in out
    c = client.containers.run(DEMO, ["sh", "-c", "echo started; sleep 100"], detach=True,
                              name="dpy", mem_limit="64m")
    assert c.name == "dpy" and c.status in ("created", "running")
    assert client.containers.get("dpy").attrs["HostConfig"]["Memory"] == 64 << 20
    deadline = time.monotonic() + 10
    while b"started" not in c.logs() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert c.logs() == b"started\n"
    c.pause()
    c.reload()
    assert c.status == "paused"
    c.unpause()
    code, output = c.exec_run(["sh", "-c", "echo in-exec; exit 3"])
    assert code == 3 and output == b"in-exec\n"
    assert [x.name for x in client.containers.list()] == ["dpy"]
    c.stop(timeout=0)
    c.reload()
    assert c.status == "exited"
    assert c.wait()["StatusCode"] == 137
    c.remove()
    with pytest.raises(docker.errors.NotFound):
        client.containers.get("dpy")
    with pytest.raises(docker.errors.ImageNotFound):
        client.containers.create("localhost/nope:1", ["true"])
    # attach: the hijacked stream, framed
    c = client.containers.create(DEMO, ["sh", "-c", "sleep 0.3; echo via-attach"])
    stream = client.api.attach(c.id, stream=True, stdout=True, stderr=True)
    c.start()
    assert b"".join(stream) == b"via-attach\n"
    c.remove(force=True)


def test_podman_py(sock):
    podman = pytest.importorskip("podman")
    with podman.PodmanClient(base_url=f"unix://{sock}", timeout=60) as client:
        assert client.ping()
        c = client.containers.create(DEMO, ["sh", "-c", "echo pp; sleep 100"], name="ppy",
                                     labels={"k": "v"})
        c.start()
        c.reload()
        assert c.status == "running" and c.labels == {"k": "v"}
        deadline = time.monotonic() + 10
        while b"pp" not in b"".join(c.logs()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert b"".join(c.logs()) == b"pp\n"
        c.pause()
        c.reload()
        assert c.status == "paused"
        c.unpause()
        code, out = c.exec_run(["echo", "pexec"])
        assert code == 0 and b"pexec" in out
        assert [x.name for x in client.containers.list()] == ["ppy"]
        assert client.containers.exists("ppy")
        c.stop(timeout=0)
        assert c.wait() == 137
        c.remove()
        assert not client.containers.exists("ppy")
        assert any(DEMO in i.tags for i in client.images.list())


def test_docker_py_commit_history_prune(sock, rt):
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=f"unix://{sock}", timeout=60)
    c = client.containers.run(DEMO, ["sh", "-c", "echo dpy > /dpy"], detach=True)
    c.wait()
    image = c.commit(repository="localhost/dpy/committed", tag="v1", message="from docker-py",
                     author="dpy", changes=["ENV DPY=1", 'CMD ["cat", "/dpy"]'])
    assert "localhost/dpy/committed:v1" in image.tags
    assert "DPY=1" in image.attrs["Config"]["Env"]
    assert client.containers.run(image.id, remove=True) == b"dpy\n"
    history = image.history()
    assert history[0]["Comment"] == "from docker-py" and len(history) == 2
    dangling = c.commit()
    report = client.images.prune()
    assert {"Deleted": dangling.id} in report["ImagesDeleted"]
    c.remove()
    client.images.remove("localhost/dpy/committed:v1")


def test_docker_py_and_podman_py_tag(sock, rt):
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=f"unix://{sock}", timeout=60)
    image = client.images.get(DEMO)
    assert image.tag("localhost/dpy/tagged", "v2") is True
    assert "localhost/dpy/tagged:v2" in client.images.get(DEMO).tags
    with pytest.raises(docker.errors.ImageNotFound):
        client.api.tag("localhost/dpy/nosuch", "localhost/dpy/x")
    rt.untag_image(DEMO, ["localhost/dpy/tagged:v2"])
    podman = pytest.importorskip("podman")
    with podman.PodmanClient(base_url=f"unix://{sock}", timeout=60) as pclient:
        assert pclient.images.get(DEMO).tag("localhost/ppy/tagged", "v3") is True
        assert "localhost/ppy/tagged:v3" in pclient.images.get(DEMO).tags
    rt.untag_image(DEMO, ["localhost/ppy/tagged:v3"])


def test_docker_py_and_podman_py_remove_one_of_several_names(sock, rt):
    """docker-py's and podman-py's images.remove by one of several names only untag it; by
    ID with several names they get the 409 unless forced."""
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=f"unix://{sock}", timeout=60)
    c = client.containers.create(DEMO, ["true"])
    image = c.commit(repository="localhost/dpy/rm", tag="v1")
    c.remove()
    image.tag("localhost/dpy/rm", "v2")
    assert client.api.remove_image("localhost/dpy/rm:v2") == [
        {"Untagged": "localhost/dpy/rm:v2"}]
    assert client.images.get(image.id).tags == ["localhost/dpy/rm:v1"]
    image.tag("localhost/dpy/rm", "v3")
    with pytest.raises(docker.errors.APIError) as raised:
        client.images.remove(image.id)
    assert raised.value.status_code == 409 and "force" in str(raised.value)
    podman = pytest.importorskip("podman")
    with podman.PodmanClient(base_url=f"unix://{sock}", timeout=60) as pclient:
        assert pclient.images.remove("localhost/dpy/rm:v3") == [
            {"Untagged": "localhost/dpy/rm:v3"}, {"ExitCode": 0}]
        image_id = image.id.removeprefix("sha256:")
        rt.tag_image(image_id, "localhost/ppy/rm:v4")
        assert pclient.images.remove(image_id, force=True) == [
            {"Deleted": image_id}, {"Untagged": "localhost/dpy/rm:v1"},
            {"Untagged": "localhost/ppy/rm:v4"}, {"ExitCode": 0}]


def test_podman_py_commit_history_prune(sock, rt):
    podman = pytest.importorskip("podman")
    with podman.PodmanClient(base_url=f"unix://{sock}", timeout=60) as client:
        c = client.containers.create(DEMO, ["sh", "-c", "echo ppy > /ppy"])
        c.start()
        c.wait()
        image = c.commit(repository="localhost/ppy/committed", tag="v1", message="from ppy",
                         changes=["LABEL via=podman-py"])
        assert image.labels == {"via": "podman-py"}
        assert [h["Comment"] for h in image.history()][0] == "from ppy"
        dangling = c.commit()
        report = client.images.prune()
        assert report["ImagesDeleted"] == [{"Deleted": dangling.id, "Untagged": ""}]
        c.remove()
        client.images.remove("localhost/ppy/committed:v1")


def _run(argv: list[str], env: dict[str, str], stdin: bytes | None = None) -> \
        subprocess.CompletedProcess[bytes]:
    return subprocess.run(argv, env=env, input=stdin, capture_output=True, timeout=60)


@pytest.mark.skipif(shutil.which("docker") is None, reason="no docker CLI")
def test_docker_cli(sock):
    env = dict(os.environ, DOCKER_HOST=f"unix://{sock}")
    r = _run(["docker", "run", "--rm", DEMO, "sh", "-c", "echo cli-out; exit 3"], env)
    assert r.returncode == 3 and r.stdout == b"cli-out\n", r.stderr
    r = _run(["docker", "run", "-i", "--rm", DEMO, "cat"], env, stdin=b"piped\n")
    assert r.returncode == 0 and r.stdout == b"piped\n", r.stderr
    r = _run(["docker", "run", "-d", "--name", "dcli", DEMO, "sh", "-c",
              "echo from-log; sleep 100"], env)
    assert r.returncode == 0, r.stderr
    cid = r.stdout.decode().strip()
    for argv, want in ((["pause", "dcli"], b"dcli"), (["unpause", "dcli"], b"dcli")):
        r = _run(["docker", *argv], env)
        assert r.returncode == 0 and r.stdout.strip() == want, r.stderr
    r = _run(["docker", "ps", "--format", "{{.ID}} {{.Names}} {{.Status}}"], env)
    assert r.stdout.decode().startswith(f"{cid[:12]} dcli Up"), r.stdout
    deadline = time.monotonic() + 10
    while b"from-log" not in _run(["docker", "logs", "dcli"], env).stdout:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    r = _run(["docker", "exec", "dcli", "echo", "exec-out"], env)
    assert r.stdout == b"exec-out\n", r.stderr
    r = _run(["docker", "stop", "-t", "0", "dcli"], env)
    assert r.returncode == 0, r.stderr
    r = _run(["docker", "rm", "dcli"], env)
    assert r.returncode == 0, r.stderr
    r = _run(["docker", "create", DEMO, "sh", "-c", "sleep 0.3; echo attached"], env)
    cid = r.stdout.decode().strip()
    r = _run(["docker", "start", "-a", cid], env)
    assert r.returncode == 0 and r.stdout == b"attached\n", r.stderr
    r = _run(["docker", "rm", cid], env)
    r = _run(["docker", "inspect", "nosuch"], env)
    assert r.returncode != 0 and b"nosuch" in r.stderr


@pytest.mark.skipif(shutil.which("podman") is None, reason="no podman CLI")
def test_podman_remote_cli(sock):
    env = dict(os.environ)
    base = ["podman", "--remote", "--url", f"unix://{sock}"]
    r = _run([*base, "run", "--rm", DEMO, "sh", "-c", "echo remote-out; exit 4"], env)
    assert r.returncode == 4 and r.stdout == b"remote-out\n", r.stderr
    r = _run([*base, "run", "-i", "--rm", DEMO, "cat"], env, stdin=b"piped\n")
    assert r.stdout == b"piped\n", r.stderr
    r = _run([*base, "run", "-d", "--name", "prem", DEMO, "sleep", "100"], env)
    assert r.returncode == 0, r.stderr
    r = _run([*base, "ps", "--format", "{{.Names}} {{.Status}}"], env)
    assert r.stdout.decode().startswith("prem Up"), r.stdout
    r = _run([*base, "exec", "prem", "echo", "rexec"], env)
    assert r.stdout == b"rexec\n", r.stderr
    r = _run([*base, "inspect", "--format", "{{.State.Status}}", "prem"], env)
    assert r.stdout == b"running\n", r.stderr
    r = _run([*base, "rm", "-f", "-t", "0", "prem"], env)
    assert r.returncode == 0, r.stderr


def test_export_client_that_goes_away_frees_the_container(sock, rt):
    """A client that reads the start of an export and closes: the tar stops and the container
    lock is free again (the reliability suite's REST fuzzer found it held for good)."""
    import socket

    ctr = rt.create_container(DEMO, ["sleep", "1000"])
    ctr.start()
    for route in (f"/v4.0.0/libpod/containers/{ctr.id}/export", f"/containers/{ctr.id}/export"):
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(sock)
        client.sendall(f"GET {route} HTTP/1.1\r\nHost: d\r\n\r\n".encode())
        assert client.recv(4096).startswith(b"HTTP/1.1 200")
        client.close()
        done = threading.Event()

        def pause_unpause(done: threading.Event = done) -> None:
            ctr.pause()
            ctr.unpause()
            done.set()

        threading.Thread(target=pause_unpause, daemon=True).start()
        assert done.wait(15), "the export still holds the container lock"
    assert not [p for p in os.listdir("/proc") if p.isdigit() and _is_tar_of(p, ctr.id)]


def _is_tar_of(pid: str, ctr_id: str) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = fh.read().split(b"\0")
    except OSError:
        return False
    return bool(argv) and argv[0] == b"tar" and any(ctr_id.encode() in a for a in argv)
