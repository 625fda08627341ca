"""Terminal sessions through a real Jupyter server (docs/websocket-protocol.md, "Sessions"):
a recorded exec session (?record=1) produces an asciicast v2 file that asciinema's format
documentation accepts, served by the REST routes; a shadow client (?shadow=1) sees the
owner's output, cannot type until it takes over, and the owner sees it. test_relay runs
these again through the relay to a ``jupyter-ctr service``."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from ..engine.test_recordings import check_cast
from .conftest import LIBPOD
from .test_rest import started

READ_ONLY = ["error", "read-only: take over to type"]


class Term:
    """A JSON-protocol websocket and every message it got."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.msgs: list[Any] = []

    def send(self, *msg: Any) -> None:
        self.ws.write_message(json.dumps(list(msg)))

    async def until(self, pred: Any, timeout: float = 20.0) -> list[Any]:
        """Read until ``pred(messages so far)``; the messages."""
        deadline = time.monotonic() + timeout
        while not pred(self.msgs):
            raw = await asyncio.wait_for(self.ws.read_message(),
                                         max(0.01, deadline - time.monotonic()))
            assert raw is not None, self.msgs
            self.msgs.append(json.loads(raw))
        return self.msgs

    def text(self) -> str:
        return "".join(m[1] for m in self.msgs if m[0] == "stdout")

    def sessions(self) -> list[dict[str, Any]]:
        return [m[1] for m in self.msgs if m[0] == "session"]

    def session(self) -> dict[str, Any]:
        return self.sessions()[-1]

    async def session_where(self, pred: Any) -> dict[str, Any]:
        await self.until(lambda _: bool(self.sessions()) and pred(self.session()))
        return self.session()

    async def output(self, text: str) -> None:
        await self.until(lambda _: text in self.text())

    async def error(self) -> list[Any]:
        count = len([m for m in self.msgs if m[0] == "error"])
        await self.until(lambda ms: len([m for m in ms if m[0] == "error"]) > count)
        return [m for m in self.msgs if m[0] == "error"][-1]


async def shell_session(api: Any, cid: str) -> str:
    r = await api.post(f"{LIBPOD}/containers/{cid}/exec", body={
        "Cmd": ["sh"], "AttachStdin": True, "AttachStdout": True, "Tty": True})
    assert r.code == 201, r.body
    return str(r.json()["Id"])


async def test_recorded_shadowed_session_and_its_cast(api: Any, jp_ws_fetch: Any) -> None:
    cid = await started(api, cmd=("sleep", "600"), name="rec-box")
    eid = await shell_session(api, cid)
    owner = Term(await jp_ws_fetch("ctr", "api", "exec", eid, "ws",
                                   params={"record": "1", "rows": "24", "cols": "80"}))
    first = await owner.session_where(lambda s: True)
    assert first["recording"] is True and first["required"] is False
    assert first["role"] == "owner" and first["viewers"] == []
    rec_id = first["recording_id"]
    assert isinstance(rec_id, str) and len(rec_id) == 32
    owner.send("stdin", "echo one-$((6*7))\r")
    await owner.output("one-42")

    # a shadow joins: it sees the screen so far and what follows, the owner sees it watch
    shadow = Term(await jp_ws_fetch("ctr", "api", "exec", eid, "ws",
                                    params={"shadow": "1", "replay": "1"}))
    joined = await shadow.session_where(lambda s: True)
    assert joined["role"] == "watching" and joined["recording"] is True
    await shadow.output("one-42")
    seen = await owner.session_where(lambda s: s["viewers"] != [])
    assert [v["role"] for v in seen["viewers"]] == ["watching"]
    assert seen["viewers"][0]["user"]  # who watches: a user name
    owner.send("set_size", 30, 100)
    owner.send("stdin", "stty size; echo two-$((40+3))\r")
    await owner.output("two-43")
    await shadow.output("two-43")
    assert "30 100" in owner.text()
    # it cannot type, resize or close stdin
    for msg in (["stdin", "echo nope\r"], ["set_size", 5, 5], ["close_stdin"]):
        shadow.send(*msg)
        assert await shadow.error() == READ_ONLY
    shadow.ws.write_message(b"echo nope\r", binary=True)
    assert await shadow.error() == READ_ONLY
    # the live session is listed
    r = await api.get("ctr/api/sessions", params={"container": "rec-box"})
    assert r.code == 200, r.body
    (live,) = [s for s in r.json() if s["ExecID"] == eid]
    assert live["Container"] == cid and live["ContainerName"] == "rec-box"
    assert live["Recording"] is True and live["RecordingID"] == rec_id
    assert live["Clients"] == 2 and [v["role"] for v in live["Viewers"]] == ["watching"]

    # take over (single-user: allowed): it types, the owner sees the role change
    shadow.send("take_over")
    assert (await shadow.session_where(lambda s: s["role"] == "typing"))["role"] == "typing"
    await owner.session_where(lambda s: [v["role"] for v in s["viewers"]] == ["typing"])
    shadow.send("stdin", "echo three-$((50+1))\r")
    await owner.output("three-51")
    shadow.send("release")
    await owner.session_where(lambda s: [v["role"] for v in s["viewers"]] == ["watching"])
    shadow.send("stdin", "echo nope\r")
    assert await shadow.error() == READ_ONLY
    shadow.ws.close()
    await owner.session_where(lambda s: s["viewers"] == [])

    owner.send("stdin", "exit\r")
    await owner.until(lambda ms: ms[-1][0] == "exit")

    # the recording: listed, downloaded, valid asciicast v2, deleted
    r = await api.get("ctr/api/recordings")
    assert r.code == 200, r.body
    (item,) = [x for x in r.json() if x["Id"] == rec_id]
    assert item["Container"] == cid and item["ContainerName"] == "rec-box"
    assert item["ExecID"] == eid and item["Ended"] and item["Started"]
    assert (item["Width"], item["Height"]) == (80, 24) and item["Size"] > 0
    assert item["Owner"]["Name"] and item["User"]
    r = await api.get(f"ctr/api/recordings/{rec_id}")
    assert r.code == 200 and r.headers["Content-Type"] == "application/x-asciicast"
    header, events = check_cast(r.body)
    assert (header["width"], header["height"]) == (80, 24)
    output = "".join(e[2] for e in events if e[1] == "o")
    for typed in ("one-42", "two-43", "three-51", "30 100"):
        assert typed in output
    assert ["r", "100x30"] in [e[1:] for e in events]
    assert len(r.body) == item["Size"]
    r = await api.get("ctr/api/recordings", params={"container": "rec-box"})
    assert [x["Id"] for x in r.json()] == [rec_id]
    r = await api.delete(f"ctr/api/recordings/{rec_id}")
    assert r.code == 204, r.body
    for method in (api.get, api.delete):
        r = await method(f"ctr/api/recordings/{rec_id}")
        assert r.code == 404 and r.json()["cause"] == "no such recording"
    r = await api.get("ctr/api/recordings/..%2F..%2Fstate.db")
    assert r.code == 404


async def test_record_toggle_on_container_attach(api: Any, jp_ws_fetch: Any) -> None:
    cid = await started(api, cmd=("sh",), stdin=True, terminal=True, name="rec-attach")
    term = Term(await jp_ws_fetch("ctr", "api", "containers", cid, "attach", "ws"))
    assert (await term.session_where(lambda s: True))["recording"] is False
    term.send("stdin", "echo before\r")
    await term.output("before")
    term.send("record", True)
    rec_id = (await term.session_where(lambda s: s["recording"]))["recording_id"]
    term.send("stdin", "echo during-$((2+2))\r")
    await term.output("during-4")
    term.send("record", False)
    await term.session_where(lambda s: not s["recording"])
    term.send("record", "yes")
    assert "unknown message" in (await term.error())[1]
    r = await api.get(f"ctr/api/recordings/{rec_id}")
    assert r.code == 200
    _, events = check_cast(r.body)
    output = "".join(e[2] for e in events if e[1] == "o")
    assert "during-4" in output and "echo before" not in output
    term.ws.close()
    r = await api.delete(f"ctr/api/recordings/{rec_id}")
    assert r.code == 204


async def test_session_routes_need_auth(jp_fetch: Any, jp_ws_fetch: Any, api: Any) -> None:
    for method, path in (("GET", "ctr/api/recordings"), ("GET", "ctr/api/sessions"),
                         ("GET", f"ctr/api/recordings/{'0' * 32}"),
                         ("DELETE", f"ctr/api/recordings/{'0' * 32}")):
        resp = await jp_fetch(*path.split("/"), method=method, raise_error=False,
                              headers={"Authorization": "token wrong"})
        assert resp.code == 403, (method, path, resp.code)
    cid = await started(api, cmd=("sleep", "600"))
    eid = await shell_session(api, cid)
    with pytest.raises(HTTPClientError) as err:
        await jp_ws_fetch("ctr", "api", "exec", eid, "ws", params={"shadow": "1"},
                          headers={"Authorization": "token wrong"})
    assert err.value.code == 403
