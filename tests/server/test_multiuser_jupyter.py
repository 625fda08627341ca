"""Non-root Jupyter servers on one root service (issue 13, remote mode of the extension):
two students and an instructor, real Unix users, each runs their own ``jupyter server`` (with
its kernels) and the CLI. Each server relays ``/ctr/`` to the service (server/relay.py), which
knows the server's user by the socket: a student's server serves their containers (REST,
terminal websocket, events, a kernel's magics), answers for the other's as for missing ones;
the instructor's server sees both.

The users' processes run Debian's ``/usr/bin/python3`` with the test's own packages on
``PYTHONPATH``: the venv's interpreter may live in root's home, which students cannot enter
(a real deployment installs Jupyter where its users can run it)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sysconfig
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect

from tests.conftest import DEMO, wait_until
from tests.multiuser import User, root_service, unix_users

pytestmark = pytest.mark.timeout(300)

REPO = Path(__file__).resolve().parents[2]
#: The test's packages (the venv's site-packages), for the users' Debian python3.
SITE = sysconfig.get_paths()["purelib"]
API = "ctr/v4.0.0/libpod"
PYTHON = "/usr/bin/python3"


def user_env(user: User, sock: Path, **extra: str) -> dict[str, str]:
    home = f"/home/{user.name}"
    return {"HOME": home, "USER": user.name, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
            "PYTHONPATH": f"{REPO}:{SITE}", "JUPYTER_CTR_HOST": f"unix://{sock}", **extra}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A ``jupyter server`` running as ``user``; REST and websockets with its token."""

    def __init__(self, user: User, sock: Path, *args: str, env: dict[str, str]) -> None:
        self.user = user
        self.port = free_port()
        self.token = uuid.uuid4().hex
        self.base = f"http://127.0.0.1:{self.port}/"
        config = Path(env["HOME"]) / ".jupyter" / "jupyter_server_config.json"
        config.parent.mkdir(exist_ok=True)
        config.write_text(json.dumps({"ServerApp": {
            "jpserver_extensions": {"jupyter_ctr": True}, "root_dir": env["HOME"]}}))
        os.chown(config.parent, user.uid, user.gid)
        os.chown(config, user.uid, user.gid)
        self.log = Path(env["HOME"]) / "server.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                user.argv(PYTHON, "-m", "jupyter_server", "--no-browser",
                          f"--port={self.port}", "--ip=127.0.0.1",
                          f"--IdentityProvider.token={self.token}", *args),
                env=env, cwd=env["HOME"], stdout=out, stderr=subprocess.STDOUT)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body)
        if data is None and method in ("POST", "PUT"):
            data = ""
        resp = await AsyncHTTPClient().fetch(HTTPRequest(
            self.base + path, method=method, body=data, headers=self.headers(),
            request_timeout=60), raise_error=False)
        text = (resp.body or b"").decode(errors="replace")
        try:
            return resp.code, json.loads(text)
        except ValueError:
            return resp.code, text

    async def ready(self) -> None:
        for _ in range(300):
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(OSError):
                if (await self.call("GET", "api/status"))[0] == 200:
                    return
            await asyncio.sleep(0.1)
        raise AssertionError(f"{self.user.name}'s server did not start:\n"
                             f"{self.log.read_text()[-3000:]}")

    async def ws(self, path: str) -> Any:
        return await asyncio.wait_for(websocket_connect(HTTPRequest(
            f"ws://127.0.0.1:{self.port}/{path}", headers=self.headers())), 30)

    async def run_cell(self, kernel_id: str, code: str) -> str:
        """Execute ``code`` in the kernel through the server's channels websocket; the
        text of its stream and result outputs."""
        ws = await self.ws(f"api/kernels/{kernel_id}/channels")
        msg_id = uuid.uuid4().hex
        ws.write_message(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "t",
                       "session": uuid.uuid4().hex, "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False,
                        "user_expressions": {}, "allow_stdin": False}}))
        out = []
        try:
            while True:
                raw = await asyncio.wait_for(ws.read_message(), 120)
                assert raw is not None, "the kernel's websocket closed"
                msg = json.loads(raw)
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = msg["msg_type"], msg["content"]
                if kind == "stream":
                    out.append(content["text"])
                elif kind in ("execute_result", "display_data"):
                    out.append(content["data"].get("text/plain", ""))
                elif kind == "error":
                    out.append("ERROR " + content["ename"] + ": " + content["evalue"])
                elif kind == "status" and content["execution_state"] == "idle":
                    return "".join(out)
        finally:
            ws.close()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture(scope="module")
def homes() -> Iterator[dict[str, Any]]:
    """The users of tests/multiuser.py, with home directories (Jupyter keeps its runtime
    files and IPython its profile there)."""
    with unix_users(home=True) as made:
        yield made


@pytest.fixture(scope="module")
def service(homes: dict[str, Any], engine_roots: tuple[Path, Path]) -> Iterator[Path]:
    with root_service(homes, engine_roots) as sock:
        yield sock


def cli(user: User, sock: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as ``user``: remote by itself ($JUPYTER_CTR_HOST)."""
    return subprocess.run(user.argv(PYTHON, "-m", "jupyter_ctr.cli", *args),
                          env=user_env(user, sock), cwd="/", capture_output=True, text=True,
                          timeout=120, check=False)


async def test_students_jupyter_servers_kernels_and_cli_through_one_service(
        homes: dict[str, Any], service: Path) -> None:
    a, b, t = homes["a"], homes["b"], homes["t"]
    servers = {
        # a by the environment alone, b by the extension's own setting, t both
        "a": Server(a, service, env=user_env(a, service)),
        "b": Server(b, service, f"--ContainersApp.url=unix://{service}",
                    env={k: v for k, v in user_env(b, service).items()
                         if k != "JUPYTER_CTR_HOST"}),
        "t": Server(t, service, f"--ContainersApp.url=unix://{service}",
                    env=user_env(t, service)),
    }
    try:
        for server in servers.values():
            await server.ready()
        sa, sb, st = servers["a"], servers["b"], servers["t"]

        # a's server: create, start, inspect (owned by a)
        status, made = await sa.call("POST", f"{API}/containers/create",
                                     {"image": DEMO, "command": ["sleep", "1000"],
                                      "name": f"{a.name}-web", "terminal": True})
        assert status == 201, made
        cid = made["Id"]
        assert (await sa.call("POST", f"{API}/containers/{cid}/start"))[0] == 204
        status, info = await sa.call("GET", f"{API}/containers/{cid}/json")
        assert status == 200 and info["Owner"] == {"Uid": a.uid, "Name": a.name}

        # a terminal through a's server: an exec session on the websocket bridge
        status, made = await sa.call("POST", f"{API}/containers/{cid}/exec",
                                     {"Cmd": ["sh"], "Tty": True, "AttachStdin": True,
                                      "AttachStdout": True})
        assert status == 201, made
        exec_id = made["Id"]
        ws = await sa.ws(f"ctr/api/exec/{exec_id}/ws")
        ws.write_message(json.dumps(["stdin", "echo relay-$((6*7))\r"]))
        seen = ""
        while "relay-42" not in seen:
            raw = await asyncio.wait_for(ws.read_message(), 20)
            assert raw is not None, seen
            kind, *rest = json.loads(raw)
            if kind == "stdout":
                seen += rest[0]
        ws.close()

        # b's server: a's container, by name or id, is missing; so is the terminal
        missing = "nosuch" + uuid.uuid4().hex[:8]
        for ref in (f"{a.name}-web", cid, cid[:12]):
            status, body = await sb.call("GET", f"{API}/containers/{ref}/json")
            status2, body2 = await sb.call("GET", f"{API}/containers/{missing}/json")
            assert (status, status2) == (404, 404)
            assert body == json.loads(json.dumps(body2).replace(missing, ref))
        status, listed = await sb.call("GET", f"{API}/containers/json?all=true")
        assert status == 200 and listed == []
        with pytest.raises(Exception) as refused:
            await sb.ws(f"ctr/api/exec/{exec_id}/ws")
        assert "404" in str(refused.value)

        # the instructor's server sees both students' containers and filters by owner
        status, mine_b = await sb.call("POST", f"{API}/containers/create",
                                       {"image": DEMO, "command": ["true"],
                                        "name": f"{b.name}-job"})
        assert status == 201
        status, listed = await st.call("GET", f"{API}/containers/json?all=true")
        names = {c["Names"][0] for c in listed}
        assert {f"{a.name}-web", f"{b.name}-job"} <= names
        status, listed = await st.call(
            "GET", f"{API}/containers/json?all=true&filters="
            + json.dumps({"owner": [a.name]}).replace(" ", ""))
        assert status == 200 and [c["Id"] for c in listed] == [cid]

        # a's events through a's server: a's actions, by a
        status, events = await sa.call("GET", f"{API}/events?stream=false&since=0")
        assert status == 200
        if isinstance(events, str):
            events = [json.loads(line) for line in events.splitlines() if line.strip()]
        mine = [e for e in events if e.get("Actor", {}).get("ID") == cid]
        assert {"create", "start"} <= {e["Action"] for e in mine}
        acted = [e["Actor"]["Attributes"] for e in mine if e["Action"] in ("create", "start")]
        # who, and from where: the server's process (the socket's peer) and its browser's
        # address, as the server reported it
        assert {(e["user"], e["pid"], e["client"]) for e in acted} == \
            {(a.name, str(sa.proc.pid), "127.0.0.1")}
        assert not [e for e in events if e.get("Actor", {}).get("ID") == mine_b["Id"]]

        # a kernel of a's server, with the magics: remote by itself, a's containers only
        status, kernel = await sa.call("POST", "api/kernels", {"name": "python3"})
        assert status == 201, kernel
        out = await sa.run_cell(kernel["id"], "%load_ext jupyter_ctr\n%ctr ps -a")
        assert f"{a.name}-web" in out and f"{b.name}-job" not in out, out
        out = await sa.run_cell(kernel["id"], f"%ctr run --rm {DEMO} echo from-a-kernel")
        assert "from-a-kernel" in out, out
        out = await sa.run_cell(kernel["id"], f"%ctr stop {b.name}-job")
        assert "no container with name or ID" in out, out
        # b's server found the service by its own setting only: its kernels follow it
        status, kernel = await sb.call("POST", "api/kernels", {"name": "python3"})
        assert status == 201, kernel
        out = await sb.run_cell(kernel["id"], "import os; print(os.environ['JUPYTER_CTR_HOST'])"
                                "\n%load_ext jupyter_ctr\n%ctr ps -a --format '{{.Names}}'")
        assert out.split() == [f"unix://{service}", f"{b.name}-job"], out

        # the CLI as each user
        proc = cli(b, service, "ps", "-a", "--format", "{{.Names}}")
        assert proc.returncode == 0 and proc.stdout.split() == [f"{b.name}-job"], proc
        proc = cli(b, service, "logs", f"{a.name}-web")
        assert proc.returncode == 125 and "no container with name or ID" in proc.stderr
        proc = cli(t, service, "ps", "-a", "--format", "{{.Names}}")
        assert {f"{a.name}-web", f"{b.name}-job"} <= set(proc.stdout.split()), proc
        proc = cli(t, service, "stop", "-t", "0", f"{a.name}-web")
        assert proc.returncode == 0, proc.stderr
        status, info = await sa.call("GET", f"{API}/containers/{cid}/json")
        assert info["State"]["Status"] == "exited"
    finally:
        for server in servers.values():
            server.stop()
    assert wait_until(lambda: all(s.proc.poll() is not None for s in servers.values()), 10)
