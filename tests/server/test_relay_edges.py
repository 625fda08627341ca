"""What only the relay (server/relay.py, remote mode of the extension) does, beyond the
suites it re-runs (test_relay.py): Jupyter's auth before anything reaches the service, the
origin check on websockets, a clear answer when the service is down, the client address it
reports (and that a client cannot set), chunked request bodies."""

from __future__ import annotations

import asyncio
import io
import json
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from jupyter_ctr.engine import Runtime
from tests.conftest import socket_service

LIBPOD = "v4.0.0/libpod"


@pytest.fixture(scope="module")
def relay_socket(engine_roots: tuple[Path, Path]) -> Iterator[str]:
    path = f"/tmp/jcedge-{os.getpid()}.sock"
    with socket_service(path, Runtime(*engine_roots)):
        yield path


@pytest.fixture
def jp_server_config(relay_socket: str, request: Any) -> dict[str, Any]:
    url = "unix:///nonexistent/jupyter-ctr.sock" if "down" in request.node.name \
        else f"unix://{relay_socket}"
    return {"ServerApp": {"jpserver_extensions": {"jupyter_ctr": True}},
            "ContainersApp": {"url": url}}


async def test_auth_comes_first(jp_fetch: Any, jp_base_url: str, jp_http_port: int,
                                jp_auth_header: dict[str, str],
                                http_server_client: Any) -> None:
    # no token: refused here, with Jupyter's answer (the service is never asked)
    with pytest.raises(HTTPClientError) as refused:
        await http_server_client.fetch(f"{jp_base_url}ctr/{LIBPOD}/containers/json",
                                       raise_error=True)
    assert refused.value.code == 403
    # A browser's websocket carries the login cookie, whatever page opened it: one from
    # another site is refused before the upgrade (a token in the request skips the origin
    # check, as in the in-process extension: a foreign page cannot know it).
    token = jp_auth_header["Authorization"].split()[-1]
    login = await http_server_client.fetch(f"{jp_base_url}api/status?token={token}")
    cookie = "; ".join(c.split(";")[0] for c in login.headers.get_list("Set-Cookie"))
    assert "username-" in cookie
    url = f"ws://127.0.0.1:{jp_http_port}{jp_base_url}ctr/api/events/ws"
    with pytest.raises(HTTPClientError) as refused:
        await websocket_connect(HTTPRequest(url, headers={
            "Cookie": cookie, "Origin": "http://evil.example"}))
    assert refused.value.code in (403, 404)
    # the same from the server's own origin is relayed to the service's events websocket
    ws = await websocket_connect(HTTPRequest(url, headers={
        "Cookie": cookie, "Origin": f"http://127.0.0.1:{jp_http_port}"}))
    ws.close()
    ok = await jp_fetch("ctr", *LIBPOD.split("/"), "_ping")
    assert ok.body == b"OK"


async def test_the_service_down_is_a_clear_503(jp_fetch: Any) -> None:
    with pytest.raises(HTTPClientError) as failed:
        await jp_fetch("ctr", *LIBPOD.split("/"), "containers", "json")
    assert failed.value.code == 503
    body = json.loads(failed.value.response.body)
    assert "the container service at unix:///nonexistent/jupyter-ctr.sock is not " \
        "reachable" in body["message"]


async def test_client_address_is_the_servers_word_not_the_clients(
        jp_fetch: Any, rt: Runtime) -> None:
    made = await jp_fetch("ctr", *LIBPOD.split("/"), "containers", "create", method="POST",
                          body=json.dumps({"image": "localhost/busybox:latest",
                                           "command": ["true"], "name": "edge-addr"}),
                          headers={"X-Jupyter-Ctr-Client": "6.6.6.6"})
    cid = json.loads(made.body)["Id"]
    events = [e for e in rt.events(filters={"container": [cid]})]
    assert [(e.action, e.attributes.get("client")) for e in events] == \
        [("create", "127.0.0.1")]


async def test_a_chunked_upload_streams_through(jp_fetch: Any, rt: Runtime) -> None:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = 6
        tar.addfile(info, io.BytesIO(b"hello\n"))
    payload = data.getvalue()

    async def body(write: Any) -> None:  # no Content-Length: chunked on the wire
        for i in range(0, len(payload), 1000):
            await write(payload[i:i + 1000])
            await asyncio.sleep(0)

    answer = await jp_fetch("ctr", *LIBPOD.split("/"), "images", "import", method="POST",
                            params={"reference": "localhost/edge-chunked:1"},
                            body_producer=body, allow_nonstandard_methods=True)
    assert answer.code == 200
    try:
        assert rt.images.get("localhost/edge-chunked:1").id in answer.body.decode()
    finally:
        rt.images.remove("localhost/edge-chunked:1", lambda _id: [])
