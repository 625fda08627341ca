"""Shadowing and recording through the multi-user service with real Unix users (issue 15):
an instructor shadows and takes over a student's terminal, another student can neither see
it (404) nor a student take over (refused by rule instructor_only), rule record_labs records
a lab's sessions whatever the client asks, and recordings are their owner's (and the
instructors'). Each user's websockets go through a small forwarder running as that user, so
that the service knows them by the socket's peer credentials, as it knows a user's Jupyter
server."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError
from tornado.websocket import websocket_connect

from tests.conftest import DEMO
from tests.multiuser import API, User, people, root_service  # noqa: F401 - people: a fixture

from ..engine.test_recordings import check_cast
from .test_sessions import READ_ONLY, Term

pytestmark = pytest.mark.timeout(300)

#: Run as a user: accepts TCP connections on 127.0.0.1 and opens, for each, a connection
#: to the service's socket (so its peer credentials are the user's); prints the port.
FORWARDER = r"""
import asyncio, sys

async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()

async def handle(reader, writer):
    up_reader, up_writer = await asyncio.open_unix_connection(sys.argv[1])
    await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()

asyncio.run(main())
"""

LAB = "jupyter-ctr.lab"


@pytest.fixture(scope="module")
def session_service(people: dict[str, Any],  # noqa: F811 - the imported fixture
                    engine_roots: tuple[Path, Path]) -> Iterator[Path]:
    tag = people["tag"]
    config = {"ServiceSettings": {"socket_group": f"{tag}s", "instructor_group": f"{tag}i"},
              "PolicyRules": {"record_labs": ["lab-*"], "max_recording_size": "1m"}}
    with root_service(people, engine_roots, config=config) as sock:
        yield sock


@contextlib.contextmanager
def forwarder(user: User, sock: Path) -> Iterator[int]:
    proc = subprocess.Popen(user.argv("/usr/bin/python3", "-I", "-c", FORWARDER, str(sock)),
                            stdout=subprocess.PIPE, text=True, cwd="/")
    try:
        assert proc.stdout is not None
        yield int(proc.stdout.readline())
    finally:
        proc.terminate()
        proc.wait(10)


async def connect(port: int, path: str) -> Term:
    ws = await asyncio.wait_for(websocket_connect(f"ws://127.0.0.1:{port}{path}"), 30)
    return Term(ws)


def shell(user: User, sock: Path, ctr: str) -> str:
    status, body = user.one(sock, "POST", f"{API}/containers/{ctr}/exec",
                            {"Cmd": ["sh"], "AttachStdin": True, "Tty": True})
    assert status == 201, body
    return str(body["Id"])


async def test_instructor_shadows_student_and_lab_recording(
        session_service: Path, people: dict[str, Any]) -> None:  # noqa: F811
    sock = session_service
    a, b, t = people["a"], people["b"], people["t"]
    for name, labels in (("s-free", {}), ("s-lab", {LAB: "lab-3"})):
        status, body = a.one(sock, "POST", f"{API}/containers/create",
                             {"image": DEMO, "command": ["sleep", "600"],
                              "name": f"{a.name}-{name}", "labels": labels})
        assert status == 201, body
        status, body = a.one(sock, "POST", f"{API}/containers/{a.name}-{name}/start")
        assert status == 204, body
    eid = shell(a, sock, f"{a.name}-s-free")
    with forwarder(a, sock) as pa, forwarder(b, sock) as pb, forwarder(t, sock) as pt:
        student = await connect(pa, f"/api/exec/{eid}/ws?record=1")
        first = await student.session_where(lambda s: True)
        assert first["recording"] and not first["required"] and first["role"] == "owner"
        rec_id = first["recording_id"]
        student.send("stdin", "echo mine-$((6*7))\r")
        await student.output("mine-42")

        # the instructor shadows: sees the screen, cannot type; the student sees who watches
        shadow = await connect(pt, f"/api/exec/{eid}/ws?shadow=1&replay=1")
        assert (await shadow.session_where(lambda s: True))["role"] == "watching"
        await shadow.output("mine-42")
        seen = await student.session_where(lambda s: s["viewers"] != [])
        assert seen["viewers"] == [{"user": t.name, "role": "watching"}]
        shadow.send("stdin", "echo no\r")
        assert await shadow.error() == READ_ONLY
        # ... takes over: types, and the student sees it
        shadow.send("take_over")
        await shadow.session_where(lambda s: s["role"] == "typing")
        await student.session_where(
            lambda s: s["viewers"] == [{"user": t.name, "role": "typing"}])
        shadow.send("stdin", "echo help-$((7*8))\r")
        await student.output("help-56")
        shadow.send("release")
        await shadow.session_where(lambda s: s["role"] == "watching")

        # another student cannot shadow it (it is not there for them) ...
        with pytest.raises(HTTPClientError) as err:
            await connect(pb, f"/api/exec/{eid}/ws?shadow=1")
        assert err.value.code == 404
        status, body = b.one(sock, "GET", "/api/sessions")
        assert status == 200 and body == []
        status, body = t.one(sock, "GET", "/api/sessions")
        assert [(s["ExecID"], s["Clients"]) for s in body] == [(eid, 2)]
        # ... and a student may not take over (their own session's watcher neither)
        self_watch = await connect(pa, f"/api/exec/{eid}/ws?shadow=1")
        self_watch.send("take_over")
        message = (await self_watch.error())[1]
        assert message.startswith("refused by policy rule instructor_only"), message
        assert self_watch.session()["role"] == "watching"
        self_watch.ws.close()

        # a lab session is recorded whatever its client asks, and cannot stop
        lab_eid = shell(a, sock, f"{a.name}-s-lab")
        lab = await connect(pa, f"/api/exec/{lab_eid}/ws")
        info = await lab.session_where(lambda s: True)
        assert info["recording"] and info["required"]
        lab_rec = info["recording_id"]
        lab.send("stdin", "echo lab-$((1+2))\r")
        await lab.output("lab-3")
        lab.send("record", False)
        assert "record_labs" in (await lab.error())[1]
        assert lab.session()["recording"]
        lab.send("stdin", "exit\r")
        await lab.until(lambda ms: ms[-1][0] == "exit")
        # Docker's binary attach gets no session messages, but is recorded in a lab
        docker = await asyncio.wait_for(websocket_connect(
            f"ws://127.0.0.1:{pa}/containers/{a.name}-s-lab/attach/ws?stream=1&stdout=1"), 30)
        status, live = a.one(sock, "GET", "/api/sessions")
        (attach,) = [s for s in live if s["ExecID"] is None]
        assert attach["ContainerName"] == f"{a.name}-s-lab" and attach["Recording"]
        attach_rec = attach["RecordingID"]
        docker.close()
        student.send("stdin", "exit\r")
        await student.until(lambda ms: ms[-1][0] == "exit")
        shadow.ws.close()

    # recordings: the student's own, the instructor's all, never another student's
    status, mine = a.one(sock, "GET", "/api/recordings")
    assert status == 200 and {r["Id"] for r in mine} == {rec_id, lab_rec, attach_rec}
    assert {r["Lab"] for r in mine} == {None, "lab-3"}
    assert all(r["Owner"]["Name"] == a.name for r in mine)
    status, theirs = b.one(sock, "GET", "/api/recordings")
    assert status == 200 and theirs == []
    for method in ("GET", "DELETE"):
        status, body = b.one(sock, method, f"/api/recordings/{rec_id}")
        assert status == 404 and body["cause"] == "no such recording", body
    status, every = t.one(sock, "GET", "/api/recordings")
    assert {rec_id, lab_rec} <= {r["Id"] for r in every}
    status, cast = t.one(sock, "GET", f"/api/recordings/{rec_id}")
    assert status == 200 and isinstance(cast, str)  # many JSON lines: not one document
    _, events = check_cast(cast.encode())
    output = "".join(e[2] for e in events if e[1] == "o")
    assert "mine-42" in output and "help-56" in output
    status, cast = a.one(sock, "GET", f"/api/recordings/{lab_rec}")
    assert status == 200 and "lab-3" in str(cast)
    for rid in (rec_id, lab_rec, attach_rec):
        status, _ = a.one(sock, "DELETE", f"/api/recordings/{rid}")
        assert status == 204
