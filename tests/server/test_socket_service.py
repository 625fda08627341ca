"""``jupyter-ctr service`` started the way systemd starts it (socket activation: the listening
socket inherited as fd 3, ``LISTEN_FDS``/``LISTEN_PID``), and the shipped unit files."""

from __future__ import annotations

import asyncio
import configparser
import logging
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import jupyter_ctr
from jupyter_ctr.cli.parser import parse_args
from jupyter_ctr.client import Runtime as RemoteRuntime
from jupyter_ctr.client.host import DEFAULT_SOCKET
from jupyter_ctr.engine import Runtime
from jupyter_ctr.server.socket_service import (
    SOCKET_MODE,
    SocketService,
    open_to_others,
    systemd_sockets,
)
from tests.conftest import DEMO, wait_until

pytestmark = pytest.mark.timeout(180)

UNITS = Path(jupyter_ctr.__file__).parent / "data" / "systemd"

#: What systemd does between fork and exec: the socket on fd 3, the variables naming this
#: very process (its pid is known only here), then exec (same pid) the service.
ACTIVATE = """\
import os, sys
fd = int(sys.argv[1])
os.dup2(fd, 3)
os.close(fd)
os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()), LISTEN_FDNAMES="service")
os.execv(sys.argv[2], sys.argv[2:])
"""


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None,
                                       comment_prefixes=("#", ";"))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNITS / name)
    return parser


def ping(path: Path) -> bytes:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(path))
        sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: d\r\n\r\n")
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
    return reply


@pytest.fixture
def listening() -> Iterator[tuple[socket.socket, Path]]:
    """A listening unix socket, as a socket unit's ListenStream= makes it."""
    base = Path(tempfile.mkdtemp(prefix="jsa", dir="/tmp"))
    path = base / "service.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    os.chmod(path, 0o600)
    sock.listen(16)
    yield sock, path
    sock.close()
    shutil.rmtree(base, ignore_errors=True)


def activate(engine_roots: tuple[Path, Path], sock: socket.socket) -> subprocess.Popen[bytes]:
    """The service on ``sock`` (its ``--socket`` names another path: systemd's wins)."""
    return subprocess.Popen(
        [sys.executable, "-c", ACTIVATE, str(sock.fileno()), sys.executable, "-m",
         "jupyter_ctr.cli", "--root", str(engine_roots[0]), "--runroot", str(engine_roots[1]),
         "service", "--socket", "/tmp/jsa-not-this.sock"],
        pass_fds=(sock.fileno(),), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_socket_activation_serves_the_inherited_socket(
        engine_roots: tuple[Path, Path], rt: Runtime,
        listening: tuple[socket.socket, Path]) -> None:
    sock, path = listening
    proc = activate(engine_roots, sock)
    try:
        # Connections queue on the socket before the service accepts them (as with systemd).
        reply = ping(path)
        assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"OK"), reply
        remote = RemoteRuntime(f"unix://{path}")
        ctr = remote.create_container(DEMO, ["echo", "activated"], name="sa-run")
        ctr.start()
        assert ctr.wait() == 0
        assert [line.text for line in ctr.logs()] == ["activated"]
        assert rt.lookup_container("sa-run").id == ctr.id
        remote.remove_container(ctr)
        remote.close()
        assert not os.path.exists("/tmp/jsa-not-this.sock")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    # The socket is systemd's: it stays, mode and all, for the next activation.
    assert path.exists() and path.stat().st_mode & 0o777 == 0o600
    proc = activate(engine_roots, sock)
    try:
        assert ping(path).startswith(b"HTTP/1.1 200")
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


@pytest.mark.skipif(shutil.which("systemd-socket-activate") is None,
                    reason="systemd-socket-activate is not installed")
def test_systemd_socket_activate_starts_the_service_on_the_first_client(
        engine_roots: tuple[Path, Path], tmp_path: Path) -> None:
    """systemd's own tool: it listens, and on a connection execs the service with the fd."""
    path = Path(f"/tmp/jsa-{os.getpid()}.sock")
    proc = subprocess.Popen(
        ["systemd-socket-activate", "-l", str(path), sys.executable, "-m", "jupyter_ctr.cli",
         "--root", str(engine_roots[0]), "--runroot", str(engine_roots[1]), "service",
         "--socket", str(tmp_path / "not-this.sock")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert wait_until(path.exists, 30), proc.stderr.read() if proc.poll() else "slow"
        assert ping(path).startswith(b"HTTP/1.1 200")
        assert ping(path).startswith(b"HTTP/1.1 200")  # the same service, still listening
        assert not (tmp_path / "not-this.sock").exists()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
        path.unlink(missing_ok=True)
    assert proc.returncode == 0, err


def test_listen_fds_for_another_process_are_ignored_and_unset() -> None:
    env = {"LISTEN_FDS": "1", "LISTEN_PID": str(os.getppid()), "LISTEN_FDNAMES": "x", "A": "1"}
    assert systemd_sockets(env) == []
    assert env == {"A": "1"}
    assert systemd_sockets({}) == []
    assert systemd_sockets({"LISTEN_FDS": "x", "LISTEN_PID": str(os.getpid())}) == []


def test_a_single_user_service_on_a_socket_open_to_others_warns(
        engine_roots: tuple[Path, Path], listening: tuple[socket.socket, Path],
        caplog: pytest.LogCaptureFixture) -> None:
    sock, path = listening
    assert not open_to_others(path)
    os.chmod(path, 0o660)
    os.chown(path, -1, 0)
    assert not open_to_others(path)  # root's group: root's own, as without systemd
    os.chown(path, -1, 1)
    assert open_to_others(path)

    async def start_stop() -> None:
        svc = SocketService("/tmp/jsa-not-this.sock", Runtime(*engine_roots),
                            sockets=[sock])
        svc.start()
        assert svc.path == path
        await svc.stop()

    with caplog.at_level(logging.WARNING, "jupyter_ctr.service"):
        asyncio.run(start_stop())
    assert "single-user" in caplog.text
    assert path.exists()  # systemd's socket stays


def test_units_use_the_clients_default_socket_and_mode() -> None:
    sock = unit("jupyter-ctr.socket")["Socket"]
    assert sock["ListenStream"] == DEFAULT_SOCKET
    assert int(sock["SocketMode"], 8) == SOCKET_MODE == 0o660
    service = unit("jupyter-ctr.service")["Service"]
    argv = shlex.split(service["ExecStart"])
    assert Path(argv[0]).name == "jupyter-ctr"
    args = parse_args(argv[1:], raising=True)
    assert args.socket == DEFAULT_SOCKET
    assert args.socket_group == sock["SocketGroup"]  # multi-user on the group's socket
    assert service["Restart"] == "on-failure" and service["KillMode"] == "process"
    assert "User" not in service


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed")
def test_units_verify(tmp_path: Path) -> None:
    script = shutil.which("jupyter-ctr") or str(Path(sys.executable).parent / "jupyter-ctr")
    if not os.access(script, os.X_OK):
        pytest.skip("no jupyter-ctr console script to stand for ExecStart's")
    shutil.copy(UNITS / "jupyter-ctr.socket", tmp_path)
    text = (UNITS / "jupyter-ctr.service").read_text()
    # verify checks that ExecStart's program exists: point it at this install's script.
    (tmp_path / "jupyter-ctr.service").write_text(
        text.replace("/usr/local/bin/jupyter-ctr", script))
    done = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "jupyter-ctr.socket"),
                           str(tmp_path / "jupyter-ctr.service")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
