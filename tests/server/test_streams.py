"""Hijacked HTTP attach (raw sockets to the Jupyter server's port), exec over HTTP, the
websocket bridges (attach echo, resize, replay, flow control, exec, events) and auth."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import gc
import json
import os
import time

import pytest
from tornado.httpclient import HTTPClientError

from ..conftest import DEMO
from .conftest import DOCKER, LIBPOD
from .test_rest import create, demux, started

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def jp_server_config(engine_roots):
    root, run_root = engine_roots
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_ctr": True}},
        "EngineConfig": {"root": str(root), "run_root": str(run_root)},
        "ContainersApp": {"linger": 1.0, "high_water": 256 * 1024, "low_water": 64 * 1024,
                          "replay_bytes": 4096, "stall_timeout": 2.0},
    }


class Raw:
    """A raw HTTP/1.1 connection to the Jupyter server, for hijacked requests."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.head = b""

    @classmethod
    async def request(cls, port, path, auth, *, method="POST", upgrade=True, body=b"",
                      extra=None):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in auth.items()]
        if upgrade:
            lines += ["Connection: Upgrade", "Upgrade: tcp"]
        lines += [f"{k}: {v}" for k, v in (extra or {}).items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await writer.drain()
        raw = cls(reader, writer)
        raw.head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        return raw

    @property
    def status(self) -> str:
        return self.head.split(b"\r\n", 1)[0].decode()

    async def read_until(self, pred, timeout=10.0) -> bytes:
        buf = b""
        deadline = time.monotonic() + timeout
        while not pred(buf):
            chunk = await asyncio.wait_for(self.reader.read(65536),
                                           max(0.01, deadline - time.monotonic()))
            if not chunk:
                break
            buf += chunk
        return buf

    async def read_all(self, timeout=10.0) -> bytes:
        return await self.read_until(lambda b: False, timeout)

    def close(self) -> None:
        self.writer.close()


@pytest.fixture
def attach_url(jp_base_url):
    def url(cid, query, flavor=LIBPOD):
        return f"{jp_base_url}{flavor}/containers/{cid}/attach?{query}"
    return url


# -- hijacked HTTP attach -----------------------------------------------------------------------
async def test_hijack_multiplexed_stdin_halfclose(api, jp_http_port, jp_auth_header,
                                                  attach_url):
    cid = await started(api, cmd=("sh", "-c", "cat; echo bye >&2"), stdin=True)
    raw = await Raw.request(jp_http_port, attach_url(cid, "stream=1&stdin=1&stdout=1&stderr=1"),
                            jp_auth_header)
    assert raw.status == "HTTP/1.1 101 UPGRADED"
    assert b"application/vnd.docker.multiplexed-stream" in raw.head
    raw.writer.write(b"hello\n")
    await raw.writer.drain()
    got = await raw.read_until(lambda b: len(b) >= 14)
    assert demux(got) == [(1, b"hello\n")]
    raw.writer.write_eof()  # stdin EOF: cat ends, output still flows back
    rest = await raw.read_all()
    assert demux(rest) == [(2, b"bye\n")]
    raw.close()
    assert (await api.post(f"{LIBPOD}/containers/{cid}/wait")).text == "0\n"


async def test_hijack_tty_raw_resize_detach(api, jp_http_port, jp_auth_header, attach_url):
    cid = await started(api, cmd=("sh",), stdin=True, terminal=True)
    raw = await Raw.request(jp_http_port, attach_url(cid, "stdin=1&stdout=1&detachKeys=ctrl-x",
                                                     DOCKER), jp_auth_header, upgrade=False)
    assert raw.status == "HTTP/1.1 200 OK"
    assert b"application/vnd.docker.raw-stream" in raw.head
    r = await api.post(f"{DOCKER}/containers/{cid}/resize", params={"h": "33", "w": "77"})
    assert r.code == 200
    raw.writer.write(b"stty size\n")
    out = await raw.read_until(lambda b: b"33 77" in b)
    assert b"33 77" in out and not out.startswith(b"\x01\x00\x00\x00")  # raw: no frame headers
    raw.writer.write(b"\x18")  # ctrl-x detaches; the container keeps running
    await raw.read_all(5)
    raw.close()
    assert (await api.get(f"{LIBPOD}/containers/{cid}/json")).json()["State"]["Status"] == \
        "running"


async def test_hijack_attach_before_start_and_logs(api, jp_http_port, jp_auth_header,
                                                   attach_url):
    cid = await create(api, cmd=("sh", "-c", "echo first; sleep 0.2; echo second"))
    raw = await Raw.request(jp_http_port, attach_url(cid, "stream=1&stdout=1&stderr=1",
                                                     DOCKER), jp_auth_header)
    assert raw.status.startswith("HTTP/1.1 101")
    assert (await api.post(f"{DOCKER}/containers/{cid}/start")).code == 204
    out = await raw.read_all()
    assert demux(out) == [(1, b"first\n"), (1, b"second\n")]
    raw.close()
    # logs=true&stream=false: a replay of the log, then the connection closes
    cid2 = await started(api, cmd=("sh", "-c", "echo logged; sleep 100"))
    await asyncio.sleep(0.3)
    raw = await Raw.request(jp_http_port, attach_url(cid2, "logs=1&stream=0&stdout=1"),
                            jp_auth_header)
    assert demux(await raw.read_all()) == [(1, b"logged\n")]
    raw.close()


async def test_hijack_errors_are_json(api, jp_http_port, jp_auth_header, attach_url):
    cid = await started(api)
    await api.post(f"{LIBPOD}/containers/{cid}/pause")
    raw = await Raw.request(jp_http_port, attach_url(cid, "stdout=1"), jp_auth_header)
    assert raw.status.startswith("HTTP/1.1 409")
    raw.close()
    raw = await Raw.request(jp_http_port, attach_url("nosuch", "stdout=1"), jp_auth_header)
    assert raw.status.startswith("HTTP/1.1 404")
    raw.close()
    raw = await Raw.request(jp_http_port, attach_url(cid, "stdout=1"), {})
    assert raw.status.startswith("HTTP/1.1 403")
    raw.close()


# -- exec over HTTP -----------------------------------------------------------------------------
async def test_exec_create_start_inspect(api, jp_http_port, jp_auth_header, jp_base_url):
    cid = await started(api)
    r = await api.post(f"{DOCKER}/containers/{cid}/exec", body={
        "Cmd": ["sh", "-c", "read x; echo got $x; echo err >&2; exit 3"],
        "AttachStdin": True, "AttachStdout": True, "AttachStderr": True})
    assert r.code == 201, r.body
    eid = r.json()["Id"]
    info = (await api.get(f"{DOCKER}/exec/{eid}/json")).json()
    assert info["Running"] is False and info["ContainerID"] == cid
    body = json.dumps({"Detach": False, "Tty": False}).encode()
    raw = await Raw.request(jp_http_port, f"{jp_base_url}{DOCKER}/exec/{eid}/start",
                            jp_auth_header, body=body,
                            extra={"Content-Type": "application/json"})
    assert raw.status.startswith("HTTP/1.1 101")
    raw.writer.write(b"abc\n")
    await raw.writer.drain()
    frames = demux(await raw.read_all())
    assert (1, b"got abc\n") in frames and (2, b"err\n") in frames
    raw.close()
    info = (await api.get(f"{LIBPOD}/exec/{eid}/json")).json()
    assert info["ExitCode"] == 3 and info["Running"] is False
    # detached start, resize of a non-tty session (409), unknown session (404)
    r = await api.post(f"{LIBPOD}/containers/{cid}/exec", body={"Cmd": ["sleep", "0.2"]})
    eid2 = r.json()["Id"]
    r = await api.post(f"{LIBPOD}/exec/{eid2}/start", body={"Detach": True})
    assert r.code == 200
    r = await api.post(f"{LIBPOD}/exec/{eid2}/resize", params={"h": "5", "w": "5"})
    assert r.code == 409
    assert (await api.get(f"{LIBPOD}/exec/{'0' * 64}/json")).code == 404
    r = await api.post(f"{LIBPOD}/containers/{cid}/exec", body={"Cmd": []})
    assert r.code == 400
    await api.post(f"{LIBPOD}/containers/{cid}/stop", params={"timeout": "0"})
    r = await api.post(f"{LIBPOD}/containers/{cid}/exec", body={"Cmd": ["true"]})
    assert r.code == 409



async def test_exec_start_errors_and_detach_in_the_stream(api, jp_http_port, jp_auth_header,
                                                          jp_base_url):
    """A session that cannot start says why in the hijacked stream (as Docker) and records
    127; the session's DetachKeys leave it running."""
    cid = await started(api)

    async def start(eid):
        raw = await Raw.request(jp_http_port, f"{jp_base_url}{DOCKER}/exec/{eid}/start",
                                jp_auth_header, body=b'{"Detach": false}',
                                extra={"Content-Type": "application/json"})
        assert raw.status.startswith("HTTP/1.1 101")
        return raw

    r = await api.post(f"{DOCKER}/containers/{cid}/exec", body={"Cmd": ["/no/such/thing"],
                                                                 "AttachStdout": True})
    raw = await start(r.json()["Id"])
    frames = demux(await raw.read_all())
    raw.close()
    assert any(stream == 2 and b"/no/such/thing" in data for stream, data in frames), frames
    info = (await api.get(f"{LIBPOD}/exec/{r.json()['Id']}/json")).json()
    assert info["ExitCode"] == 127 and info["Running"] is False
    r = await api.post(f"{DOCKER}/containers/{cid}/exec", body={
        "Cmd": ["sh", "-c", "echo ready; sleep 30"], "AttachStdin": True,
        "AttachStdout": True, "DetachKeys": "ctrl-x"})
    eid = r.json()["Id"]
    raw = await start(eid)
    await raw.read_until(lambda b: b"ready" in b)
    raw.writer.write(b"\x18")
    await raw.writer.drain()
    await raw.read_all()  # the server ends the stream on detach
    raw.close()
    info = (await api.get(f"{LIBPOD}/exec/{eid}/json")).json()
    assert info["Running"] is True, info

async def test_exec_attach_stop_and_remove_routes(api, jp_http_port, jp_auth_header,
                                                  jp_base_url):
    """Ours, libpod only: attach to a session started detached (hijacked as a start),
    stop one, remove one (force for a running one); the codes of the wrong states."""
    cid = await started(api)

    async def session(cmd, **extra):
        r = await api.post(f"{LIBPOD}/containers/{cid}/exec", body={"Cmd": cmd, **extra})
        assert r.code == 201, r.body
        return r.json()["Id"]

    eid = await session(["sh", "-c", "read x; echo got $x; echo err >&2; exit 4"],
                        AttachStdin=True)
    assert (await api.post(f"{LIBPOD}/exec/{eid}/start", body={"Detach": True})).code == 200
    raw = await Raw.request(jp_http_port, f"{jp_base_url}{LIBPOD}/exec/{eid}/attach",
                            jp_auth_header)
    assert raw.status == "HTTP/1.1 101 UPGRADED"
    assert b"application/vnd.docker.multiplexed-stream" in raw.head
    raw.writer.write(b"abc\n")
    await raw.writer.drain()
    frames = demux(await raw.read_all())
    raw.close()
    assert (1, b"got abc\n") in frames and (2, b"err\n") in frames, frames
    info = (await api.get(f"{LIBPOD}/exec/{eid}/json")).json()
    assert info["ExitCode"] == 4 and info["Running"] is False
    # an exited session cannot be attached to or stopped: JSON 409 before any hijack
    raw = await Raw.request(jp_http_port, f"{jp_base_url}{LIBPOD}/exec/{eid}/attach",
                            jp_auth_header)
    assert raw.status.startswith("HTTP/1.1 409")
    raw.close()
    assert (await api.post(f"{LIBPOD}/exec/{eid}/stop")).code == 409
    r = await api.delete(f"{LIBPOD}/exec/{eid}")
    assert (r.code, r.json()) == (200, {"Id": eid, "ExitCode": 4})
    assert (await api.get(f"{LIBPOD}/exec/{eid}/json")).code == 404
    assert (await api.delete(f"{LIBPOD}/exec/{eid}")).code == 404

    # stop: SIGTERM, then SIGKILL after t (sh ignores nothing: TERM ends it, 143)
    eid = await session(["sleep", "100"])
    await api.post(f"{LIBPOD}/exec/{eid}/start", body={"Detach": True})
    assert (await api.post(f"{LIBPOD}/exec/{eid}/stop", params={"t": "5"})).code == 204
    info = (await api.get(f"{LIBPOD}/exec/{eid}/json")).json()
    assert info["Running"] is False and info["ExitCode"] == 143, info
    # remove a running one: only with force, which kills it
    eid = await session(["sleep", "100"])
    await api.post(f"{LIBPOD}/exec/{eid}/start", body={"Detach": True})
    r = await api.delete(f"{LIBPOD}/exec/{eid}")
    assert r.code == 409 and r.json()["cause"] == "exec session state improper", r.body
    r = await api.delete(f"{LIBPOD}/exec/{eid}", params={"force": "true"})
    assert (r.code, r.json()) == (200, {"Id": eid, "ExitCode": 137})
    # a session that never ran: no exit code
    eid = await session(["true"])
    r = await api.delete(f"{LIBPOD}/exec/{eid}")
    assert (r.code, r.json()) == (200, {"Id": eid, "ExitCode": None})
    # unknown sessions, and Docker's API has none of these routes
    for method, path in (("POST", "stop"), ("POST", "attach"), ("DELETE", "")):
        url = f"{LIBPOD}/exec/{'0' * 64}/{path}".rstrip("/")
        assert (await api.call(method, url)).code == 404
    eid = await session(["true"])
    assert (await api.post(f"{DOCKER}/exec/{eid}/stop")).code == 404
    assert (await api.delete(f"{DOCKER}/exec/{eid}")).code in (404, 405)


# -- websockets -----------------------------------------------------------------------------------
def attach_events(rt, cid):
    return [ev for ev in rt.events() if ev.id == cid and ev.action == "attach"]


async def test_every_attach_records_an_event(api, rt, jp_http_port, jp_auth_header,
                                             attach_url, jp_ws_fetch):
    """As libpod: an "attach" event for the hijacked HTTP attach and for the websockets
    (recorded once the attach socket is connected, before the client gets its answer)."""
    cid = await started(api, cmd=("sh", "-c", "echo hi; sleep 100"))
    assert attach_events(rt, cid) == []
    raw = await Raw.request(jp_http_port, attach_url(cid, "stream=1&stdout=1"), jp_auth_header)
    assert raw.status == "HTTP/1.1 101 UPGRADED"
    assert len(attach_events(rt, cid)) == 1
    raw.close()
    ws = await jp_ws_fetch("ctr", "api", "containers", cid, "attach", "ws")
    events = attach_events(rt, cid)
    assert len(events) == 2 and events[-1].attributes["name"] == events[-1].name
    ws.close()
    cid2 = await started(api, cmd=("sleep", "100"))
    ws = await jp_ws_fetch("ctr", "v1.41", "containers", cid2, "attach", "ws")
    assert len(attach_events(rt, cid2)) == 1
    ws.close()
    r = await api.get(f"{LIBPOD}/events", params={
        "stream": "0", "filters": json.dumps({"container": [cid], "event": ["attach"]})})
    assert [json.loads(line)["Action"] for line in r.text.splitlines()] == ["attach", "attach"]


async def ws_messages(ws, until, timeout=10.0):
    got = []
    deadline = time.monotonic() + timeout
    while True:
        msg = await asyncio.wait_for(ws.read_message(), max(0.01, deadline - time.monotonic()))
        if msg is None:
            return got
        got.append(json.loads(msg) if isinstance(msg, str) else msg)
        if until(got):
            return got


def text_of(msgs, kind="stdout"):
    return "".join(m[1] for m in msgs if isinstance(m, list) and m[0] == kind)


async def test_ws_attach_echo_resize_and_exit(api, jp_ws_fetch):
    cid = await started(api, cmd=("sh",), stdin=True, terminal=True)
    ws = await jp_ws_fetch("ctr", "api", "containers", cid, "attach", "ws")
    await ws.write_message(json.dumps(["set_size", 24, 91]))
    await ws.write_message(json.dumps(["stdin", "stty size; echo hé-$((40+2))\r"]))
    msgs = await ws_messages(ws, lambda m: "hé-42" in text_of(m).split("echo")[-1])
    out = text_of(msgs)
    assert "24 91" in out and "hé-42" in out
    await ws.write_message(json.dumps(["stdin", "exit 4\r"]))
    msgs = await ws_messages(ws, lambda m: m[-1][0] == "exit")
    assert msgs[-1] == ["exit", 4]
    assert await ws.read_message() is None  # the server closes after "exit"


async def test_ws_attach_close_stdin_replay_and_errors(api, jp_ws_fetch):
    cid = await started(api, cmd=("sh", "-c", "echo marker; cat"), stdin=True)
    ws = await jp_ws_fetch("ctr", "api", "containers", cid, "attach", "ws",
                           params={"logs": "1"})
    msgs = await ws_messages(ws, lambda m: "marker" in text_of(m))
    await ws.write_message(json.dumps(["bogus"]))
    msgs = await ws_messages(ws, lambda m: m[-1][0] == "error")
    assert "unknown message" in msgs[-1][1]
    await ws.write_message(json.dumps(["stdin", "ping\n"]))
    await ws_messages(ws, lambda m: "ping" in text_of(m))
    ws.close()
    await asyncio.sleep(0.2)
    # reconnect within the linger time: the same attach session, its output replayed
    ws = await jp_ws_fetch("ctr", "api", "containers", cid, "attach", "ws",
                           params={"replay": "1"})
    msgs = await ws_messages(ws, lambda m: "ping" in text_of(m))
    assert "marker" in text_of(msgs)
    await ws.write_message(json.dumps(["close_stdin"]))
    msgs = await ws_messages(ws, lambda m: m[-1][0] == "exit")
    assert msgs[-1] == ["exit", 0]
    with pytest.raises(HTTPClientError) as err:
        await jp_ws_fetch("ctr", "api", "containers", "nosuch", "attach", "ws")
    assert err.value.code == 404


async def test_ws_flow_control_bounds_memory(api, jp_serverapp, jp_http_port, jp_auth_header,
                                             jp_base_url):
    service = jp_serverapp.web_app.settings["jupyter_ctr_service"]
    # A loaded CI machine needs longer than the default to fill the buffers and be checked.
    service.limits = dataclasses.replace(service.limits, stall_timeout=8.0)
    cid = await started(api, cmd=("sh", "-c", "while true; do echo xxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; done"))
    key = base64.b64encode(os.urandom(16)).decode()
    reader, writer = await asyncio.open_connection("127.0.0.1", jp_http_port)
    headers = [f"GET {jp_base_url}ctr/api/containers/{cid}/attach/ws HTTP/1.1",
               "Host: 127.0.0.1", "Connection: Upgrade", "Upgrade: websocket",
               f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
    headers += [f"{k}: {v}" for k, v in jp_auth_header.items()]
    writer.write(("\r\n".join(headers) + "\r\n\r\n").encode())
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101")
    # never read: the socket buffers fill up, then the bridge must stop reading
    bridge = service.bridges[f"ctr:{cid}"]
    client = next(iter(bridge.clients))
    high = service.limits.high_water
    deadline = time.monotonic() + 15
    # The bridge pauses once the backlog passes high water; the kernel may still take some of
    # it afterwards, so the backlog then sits anywhere above low water (it must not drain).
    while bridge._drained.is_set() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not bridge._drained.is_set()  # paused: the attach socket is not read
    assert service.limits.low_water < client.backlog < high + 256 * 1024, client.backlog
    await asyncio.sleep(0.2)
    backlog = client.backlog
    await asyncio.sleep(0.5)
    assert client.backlog == backlog  # nothing more was read from the container
    # a client stuck past stall_timeout is dropped and reading resumes
    deadline = time.monotonic() + 20
    while bridge.clients and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert not bridge.clients and bridge._drained.is_set()
    writer.close()


async def test_ws_exec_and_docker_attach_ws(api, jp_ws_fetch):
    cid = await started(api, cmd=("sh", "-c", "cat"), stdin=True)
    r = await api.post(f"{LIBPOD}/containers/{cid}/exec", body={
        "Cmd": ["sh", "-c", "read x; echo got-$x; exit 2"], "AttachStdin": True})
    eid = r.json()["Id"]
    ws = await jp_ws_fetch("ctr", "api", "exec", eid, "ws")
    await ws.write_message(json.dumps(["stdin", "abc\n"]))
    msgs = await ws_messages(ws, lambda m: m[-1][0] == "exit")
    assert "got-abc" in text_of(msgs) and msgs[-1] == ["exit", 2]
    # Docker's websocket attach: binary frames both ways
    ws = await jp_ws_fetch("ctr", "v1.41", "containers", cid, "attach", "ws",
                           params={"stream": "1", "stdin": "1", "stdout": "1"})
    await ws.write_message(b"raw-bytes\n", binary=True)
    msg = await asyncio.wait_for(ws.read_message(), 10)
    assert msg == b"raw-bytes\n"
    ws.close()


async def test_ws_events(api, jp_ws_fetch):
    ws = await jp_ws_fetch("ctr", "api", "events", "ws",
                           params={"filters": json.dumps({"event": ["create"]})})
    await asyncio.sleep(0.2)
    cid = await create(api, name="ev1")
    msg = json.loads(await asyncio.wait_for(ws.read_message(), 10))
    assert msg["Action"] == "create" and msg["Actor"]["ID"] == cid
    assert msg["Actor"]["Attributes"]["name"] == "ev1"
    ws.close()


async def test_events_stream_rest(api):
    since = time.time()
    cid = await started(api, cmd=("true",))
    await api.post(f"{LIBPOD}/containers/{cid}/wait")
    r = await api.get(f"{LIBPOD}/events", params={"stream": "false", "since": str(since)})
    events = [json.loads(line) for line in r.body.splitlines()]
    actions = [e["Action"] for e in events if e["id"] == cid]
    assert actions[:2] == ["create", "start"], actions
    assert r.headers["Content-Type"] == "application/json"
    r = await api.get(f"{DOCKER}/events", params={
        "since": str(since), "until": str(time.time() + 0.5),
        "filters": json.dumps({"container": [cid], "event": ["start"]})})
    assert [json.loads(line)["status"] for line in r.body.splitlines()] == ["start"]
    r = await api.get(f"{DOCKER}/events", params={"filters": json.dumps({"nope": ["x"]})})
    assert r.code == 400


# -- auth -----------------------------------------------------------------------------------------
async def test_every_route_needs_auth(jp_fetch, jp_ws_fetch, rt):
    paths = [("GET", f"{LIBPOD}/_ping"), ("GET", f"{LIBPOD}/containers/json"),
             ("POST", f"{LIBPOD}/containers/create"), ("DELETE", f"{DOCKER}/containers/x"),
             ("GET", f"{DOCKER}/images/json"), ("GET", "ctr/openapi.json"),
             ("GET", f"{LIBPOD}/events"), ("POST", f"{LIBPOD}/images/import")]
    for method, path in paths:
        resp = await jp_fetch(*path.split("/"), method=method, raise_error=False,
                              headers={"Authorization": "token wrong"},
                              body=b"" if method == "POST" else None)
        assert resp.code == 403, (method, path, resp.code)
        assert json.loads(resp.body)["response"] == 403
    for parts in (("ctr", "api", "events", "ws"),
                  ("ctr", "api", "containers", "x", "attach", "ws")):
        with pytest.raises(HTTPClientError) as err:
            await jp_ws_fetch(*parts, headers={"Authorization": "token wrong"})
        assert err.value.code == 403


async def test_demo_image_constant():
    assert DEMO == "localhost/busybox:latest"



FLOOD = "yes tick & cat >/dev/null; kill $!; exit 7"


async def stdin_closed(api, cid, timeout=5.0) -> bool:
    """The FLOOD container ends (7) once its stdin is closed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply = await api.get(f"{LIBPOD}/containers/{cid}/json")
        if reply.json()["State"]["Status"] == "exited":
            return reply.json()["State"]["ExitCode"] == 7
        await asyncio.sleep(0.1)
    return False


async def test_leaving_a_flooding_container_closes_its_stdin(api, jp_ws_fetch, jp_http_port,
                                                             jp_auth_header, attach_url):
    """Hijacked detach, and a websocket bridge after its linger time, leave conmon as the
    engine does (half-close, then drain): conmon closes the container's stdin even while the
    container floods its output (a plain close can make conmon 2.1.x forget that)."""
    for _ in range(3):
        cid = await started(api, cmd=("sh", "-c", FLOOD), stdin=True)
        raw = await Raw.request(jp_http_port, attach_url(
            cid, "stream=1&stdin=1&stdout=1&detachKeys=ctrl-x"), jp_auth_header)
        await raw.read_until(lambda b: b.count(b"tick") > 100)
        raw.writer.write(b"\x18")
        await raw.writer.drain()
        await raw.read_all(timeout=10)  # the server ends the connection on detach
        raw.close()
        assert await stdin_closed(api, cid), "hijacked detach left the stdin open"
    for _ in range(3):
        cid = await started(api, cmd=("sh", "-c", FLOOD), stdin=True)
        ws = await jp_ws_fetch("ctr", "api", "containers", cid, "attach", "ws")
        await ws_messages(ws, lambda m: text_of(m).count("tick") > 100)
        ws.close()
        assert await stdin_closed(api, cid, timeout=8), "the bridge left the stdin open"


async def test_a_client_gone_mid_write_logs_no_unretrieved_task_error(api, jp_http_port,
                                                                       jp_auth_header,
                                                                       jp_base_url):
    """Frames still being written when a client vanishes (a tab closed while its terminal
    prints) fail quietly: no "Task exception was never retrieved" per closed terminal."""
    loop = asyncio.get_running_loop()
    seen: list[str] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: seen.append(str(context.get("message"))))
    try:
        for _ in range(3):
            cid = await started(api, cmd=("sh", "-c", FLOOD), stdin=True)
            key = base64.b64encode(os.urandom(16)).decode()
            reader, writer = await asyncio.open_connection("127.0.0.1", jp_http_port)
            headers = [f"GET {jp_base_url}ctr/api/containers/{cid}/attach/ws HTTP/1.1",
                       "Host: 127.0.0.1", "Connection: Upgrade", "Upgrade: websocket",
                       f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
            headers += [f"{k}: {v}" for k, v in jp_auth_header.items()]
            writer.write(("\r\n".join(headers) + "\r\n\r\n").encode())
            await reader.readuntil(b"\r\n\r\n")
            await reader.readexactly(64 * 1024)
            await asyncio.sleep(1.0)  # unread: the socket buffers fill, writes wait
            writer.transport.abort()  # gone, no close frame: the waiting writes fail
            assert await stdin_closed(api, cid, timeout=8)
        gc.collect()  # an unretrieved exception is reported when its task is collected
        await asyncio.sleep(0.1)
    finally:
        loop.set_exception_handler(previous)
    assert not [m for m in seen if "never retrieved" in m], seen
