"""client/host.py: when a front end goes remote, and where."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from jupyter_ctr.client import host
from jupyter_ctr.engine.errors import InvalidArgumentError


def test_urls() -> None:
    assert host.socket_path("unix:///run/x.sock") == "/run/x.sock"
    assert host.socket_path("/run/x.sock") == "/run/x.sock"
    for bad in ("tcp://1.2.3.4:80", "ssh://u@h/run/x", "unix://rel.sock", "x.sock"):
        with pytest.raises(InvalidArgumentError, match="invalid service URL"):
            host.socket_path(bad)


def test_rules_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_CTR_ROOT", str(tmp_path / "root"))
    env: dict[str, str] = {}
    assert host.remote_socket(environ=env) is None  # a writable root: in process
    assert host.remote_socket(remote=True, environ=env) == host.DEFAULT_SOCKET
    assert host.remote_socket(url="unix:///a.sock", environ=env) == "/a.sock"
    env["JUPYTER_CTR_HOST"] = "unix:///b.sock"
    assert host.remote_socket(environ=env) == "/b.sock"
    assert host.remote_socket(remote=True, environ=env) == "/b.sock"
    assert host.remote_socket(explicit_roots=True, environ=env) is None
    assert host.remote_socket(url="unix:///a.sock", explicit_roots=True, environ=env) == \
        "/a.sock"
    assert host.remote_socket(environ={"CONTAINER_HOST": "unix:///p.sock"}) is None


def test_automatic_when_the_root_is_not_writable(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    sock = tmp_path / "service.sock"
    monkeypatch.setattr(host, "DEFAULT_SOCKET", str(sock))
    monkeypatch.setattr(host, "writable", lambda root: False)
    assert host.remote_socket(environ={}) is None  # no service there
    sock.touch()
    assert host.remote_socket(environ={}) == str(sock)


def test_writable(tmp_path: Path) -> None:
    assert host.writable(str(tmp_path / "a" / "b"))
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, stat.S_IRUSR | stat.S_IXUSR)
    # root may write anywhere: os.access says so, and so does writable()
    assert host.writable(str(locked / "x")) == os.access(locked, os.W_OK)

