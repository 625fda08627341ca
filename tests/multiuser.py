"""Real Unix users for the multi-user tests (issue 13): ``people`` creates two students and
an instructor (and their groups) and removes them afterwards; ``User.call`` sends HTTP
requests over a unix socket from a process of that user (setpriv); ``root_service`` runs a
root ``jupyter-ctr service`` on a socket the students' group may reach and removes what the
users left behind. Shared by tests/server, tests/client and bench/multiuser.py."""

from __future__ import annotations

import contextlib
import json
import pwd
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_ctr.engine import Runtime
from tests.conftest import leftovers, wait_until

#: The client each user runs: [method, url, json body or None] in, [status, body] out.
CLIENT = r"""
import http.client, json, socket, sys

class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=60)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.unix_path)

out = []
for method, url, body in json.load(sys.stdin):
    conn = UnixConnection(sys.argv[1])
    conn.request(method, url, body=None if body is None else json.dumps(body),
                 headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    out.append([resp.status, resp.read().decode(errors="replace")])
    conn.close()
json.dump(out, sys.stdout)
"""

API = "/v4.0.0/libpod"


class User:
    def __init__(self, name: str) -> None:
        entry = pwd.getpwnam(name)
        self.name, self.uid, self.gid = name, entry.pw_uid, entry.pw_gid

    def argv(self, *argv: str) -> list[str]:
        """``argv`` run as this user (their uid, gid and groups)."""
        return ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--init-groups",
                *argv]

    def call(self, sock: Path, *requests: tuple[str, str, Any]) -> list[tuple[int, Any]]:
        """Each request from a process of this user; (status, parsed body) each."""
        proc = subprocess.run(
            self.argv("/usr/bin/python3", "-I", "-c", CLIENT, str(sock)),
            input=json.dumps([list(r) for r in requests]), capture_output=True, text=True,
            timeout=120, check=False, cwd="/")
        assert proc.returncode == 0, proc.stderr
        out = []
        for status, text in json.loads(proc.stdout):
            try:
                out.append((status, json.loads(text)))
            except ValueError:
                out.append((status, text))
        return out

    def one(self, sock: Path, method: str, url: str, body: Any = None) -> tuple[int, Any]:
        return self.call(sock, (method, url, body))[0]


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


@contextlib.contextmanager
def unix_users(home: bool = False) -> Iterator[dict[str, Any]]:
    """Groups ``<tag>s`` (may use the socket) and ``<tag>i`` (instructors); students
    ``<tag>a``, ``<tag>b`` and instructor ``<tag>t`` (with home directories if ``home``);
    all removed afterwards."""
    tag = "jct" + uuid.uuid4().hex[:6]
    made_users: list[str] = []
    made_groups: list[str] = []
    try:
        for group in (f"{tag}s", f"{tag}i"):
            _run("groupadd", group)
            made_groups.append(group)
        for name, groups in ((f"{tag}a", f"{tag}s"), (f"{tag}b", f"{tag}s"),
                             (f"{tag}t", f"{tag}s,{tag}i")):
            _run("useradd", "--create-home" if home else "--no-create-home",
                 "--shell", "/usr/sbin/nologin", "--user-group", "--groups", groups, name)
            made_users.append(name)
        yield {"a": User(f"{tag}a"), "b": User(f"{tag}b"), "t": User(f"{tag}t"), "tag": tag}
    finally:
        for name in made_users:
            subprocess.run(["userdel", *(["--remove"] if home else []), name], check=False,
                           capture_output=True)
        for group in made_groups:
            subprocess.run(["groupdel", group], check=False, capture_output=True)


@pytest.fixture(scope="module")
def people() -> Iterator[dict[str, Any]]:
    """Two students and an instructor (``unix_users``) for the module."""
    with unix_users() as made:
        yield made


@contextlib.contextmanager
def root_service(people: dict[str, Any], engine_roots: tuple[Path, Path],
                 *args: str, config: dict[str, Any] | None = None) -> Iterator[Path]:
    """A root service on ``<tmp>/ctr.sock`` (its folder open to all, the socket to the
    students' group; ``args`` and ``config`` are added, the config as a file). Afterwards
    the users' containers are removed and checked for leftovers."""
    tag = people["tag"]
    base = Path(tempfile.mkdtemp(prefix="jctmu", dir="/tmp"))
    base.chmod(0o755)
    sock = base / "ctr.sock"
    options = list(args)
    if config is not None:
        (base / "config.json").write_text(json.dumps(config))
        options += ["--config", str(base / "config.json")]
    else:
        options += ["--socket-group", f"{tag}s", "--instructor-group", f"{tag}i"]
    # The service logs every request: to a file, not a pipe nobody reads (a full pipe
    # would block the service).
    log = base / "service.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter_ctr.cli", "--root", str(engine_roots[0]),
             "--runroot", str(engine_roots[1]), "service", "--socket", str(sock), *options],
            stdout=subprocess.DEVNULL, stderr=err)
    try:
        assert wait_until(sock.exists, 30), log.read_text()[-4000:]
        yield sock
    finally:
        proc.terminate()
        proc.wait(30)
        try:
            rt = Runtime(*engine_roots)
            uids = {people[k].uid for k in "abt"}
            mine = [c for c in rt.list_containers(all=True) if c.config.owner_uid in uids]
            for ctr in mine:
                rt.remove_container(ctr, force=True, timeout=0)
            assert wait_until(lambda: not any(leftovers(rt, {c.id for c in mine}).values()),
                              10), leftovers(rt, {c.id for c in mine})
            rt.close()
        finally:
            shutil.rmtree(base, ignore_errors=True)  # config, log, socket: even after a failure
