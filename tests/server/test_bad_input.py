"""Hostile REST input answers 400 naming the field, never 500 (issue 9, item 5): OPTIONS on
every route, deep or huge JSON, numbers out of the ranges runc and the kernel take, control
characters in queries and paths, and error messages that never show an internal path."""

from __future__ import annotations

import re

import pytest

from jupyter_ctr.server.handlers import routes

from ..conftest import DEMO, wait_until
from .conftest import DOCKER, LIBPOD
from .test_rest import create, started, status

pytestmark = pytest.mark.timeout(120)


def bad(r, *words):
    """A 400 whose JSON message names each of ``words``."""
    assert r.code == 400, (r.code, r.body)
    message = r.json()["message"]
    for word in words:
        assert word in message, (word, message)
    return message


def concrete(pattern: str) -> str:
    """A path for a route pattern: every group filled with a plausible value."""
    path = pattern.replace(r"(?:/v(?P<version>[0-9][0-9.]*))?", "/v1.41")
    path = path.replace(r"/v(?P<version>[^/]+)/libpod", "/v4.0.0/libpod")
    path = re.sub(r"\(\?P<\w+>[^)]*\)", "nosuch", path)
    path = path.replace(r"/.*", "/anything").replace("\\", "")
    assert "(" not in path and "?" not in path, path
    return path.lstrip("/")


async def test_options_on_every_route(api, rt):
    """CORS preflight as for jupyter_server's own API handlers: 200 with the allowed methods
    on every REST route (a handler attribute once shadowed the OPTIONS verb: 500)."""
    seen = set()
    for pattern, _handler, _ in routes("/ctr"):
        path = concrete(pattern)
        if path in seen:
            continue
        seen.add(path)
        r = await api.call("OPTIONS", path, headers={
            "Origin": "http://example.test", "Access-Control-Request-Method": "POST"})
        assert r.code < 500, (path, r.code, r.body)
        if "/ws" not in path and "anything" not in path:
            assert r.code == 200, (path, r.code)
            assert "POST" in r.headers["Access-Control-Allow-Methods"]
    assert len(seen) > 60
    assert list((rt.run_root / "uploads").iterdir()) == []  # no body was spooled


@pytest.mark.parametrize("body,words", [
    (b"[" * 100_000 + b"]" * 100_000, ["nested deeper than 100"]),
    (b'{"image": "x", "labels": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5001, ["nested"]),
    (b'{"image": "' + b"x" * (5 << 20) + b'"}', ["too large"]),
    (b'{"image": "busybox", "stop_timeout": NaN}', ["NaN"]),
    (b'{"image": "busybox", "stop_timeout": Infinity}', ["Infinity"]),
    (b'{"image": "busybox", "stop_timeout": 1e999}', ["stop_timeout"]),
    (b"\xff\xfe{", ["invalid JSON"]),
])
async def test_hostile_json_bodies(api, body, words):
    r = await api.post(f"{LIBPOD}/containers/create", body=body)
    if "too large" in words:  # Payload Too Large, as the socket service says it too
        assert r.code == 413 and "too large" in r.json()["message"], (r.code, r.body)
        return
    bad(r, *words)


@pytest.mark.parametrize("flavor,body,field", [
    ("libpod", {"resource_limits": {"memory": {"limit": 1e30}}}, "resource_limits.memory.limit"),
    ("libpod", {"resource_limits": {"memory": {"limit": 2**64}}}, "resource_limits.memory.limit"),
    ("libpod", {"resource_limits": {"memory": {"limit": 1.5e8 + 0.5}}},
     "resource_limits.memory.limit"),
    ("libpod", {"resource_limits": {"memory": []}}, "resource_limits.memory"),
    ("libpod", {"resource_limits": {"pids": {"limit": 1e30}}}, "resource_limits.pids.limit"),
    ("libpod", {"resource_limits": {"pids": {"limit": 5_000_000}}}, "resource_limits.pids.limit"),
    ("libpod", {"resource_limits": {"cpu": {"quota": 1e30}}}, "resource_limits.cpu.quota"),
    ("libpod", {"resource_limits": {"cpu": {"quota": 50_000, "period": 10}}},
     "resource_limits.cpu.period"),
    ("libpod", {"resource_limits": {"cpu": {"quota": 10, "period": 100_000}}},
     "resource_limits.cpu.quota"),
    ("libpod", {"resource_limits": {"cpu": {"period": 10**7}}}, "resource_limits.cpu.period"),
    ("libpod", {"resource_limits": {"cpu": {"shares": 10**9}}}, "resource_limits.cpu.shares"),
    ("libpod", {"resource_limits": {"cpu": {"quota": 10**8, "period": 100_000}}}, "cpus"),
    ("libpod", {"stop_timeout": 1e30}, "stop_timeout"),
    ("libpod", {"stop_timeout": -1}, "stop_timeout"),
    ("libpod", {"stop_timeout": "10"}, "stop_timeout"),
    ("libpod", {"stop_signal": 1e30}, "stop_signal"),
    ("libpod", {"stop_signal": "SIGNOPE"}, "signal"),
    ("libpod", {"stop_signal": 99}, "signal"),
    ("libpod", {"restart_policy": "on-failure", "restart_tries": 2**40}, "restart_tries"),
    ("libpod", {"work_dir": ["/"]}, "work_dir"),
    ("libpod", {"command": ["echo", "a\x00b"]}, "command"),
    ("libpod", {"env": {"A": "b\x00c"}}, "env"),
    ("docker", {"HostConfig": {"Memory": 1e30}}, "HostConfig.Memory"),
    ("docker", {"HostConfig": {"PidsLimit": 2**63}}, "HostConfig.PidsLimit"),
    ("docker", {"HostConfig": {"NanoCpus": 1e30}}, "HostConfig.NanoCpus"),
    ("docker", {"HostConfig": {"NanoCpus": 10**15}}, "cpus"),
    ("docker", {"HostConfig": {"CpuQuota": 1e30}}, "HostConfig.CpuQuota"),
    ("docker", {"HostConfig": {"CpuPeriod": 1e30}}, "HostConfig.CpuPeriod"),
    ("docker", {"HostConfig": {"CpuShares": -5}}, "HostConfig.CpuShares"),
    ("docker", {"HostConfig": {"RestartPolicy": {"Name": "on-failure",
                                                 "MaximumRetryCount": 1e30}}},
     "MaximumRetryCount"),
    ("docker", {"HostConfig": {"RestartPolicy": "always"}}, "HostConfig.RestartPolicy"),
    ("docker", {"StopTimeout": 1e30}, "StopTimeout"),
    ("docker", {"StopSignal": {"x": 1}}, "StopSignal"),
    ("docker", {"User": 0}, "User"),
])
async def test_create_numbers_out_of_range(api, rt, flavor, body, field):
    """Values runc or the kernel would refuse at start (a 500 then) fail at create."""
    if flavor == "libpod":
        r = await api.post(f"{LIBPOD}/containers/create",
                           body={"image": DEMO, "command": ["true"], **body})
    else:
        r = await api.post(f"{DOCKER}/containers/create", body={"Image": DEMO, **body})
    bad(r, field)
    assert rt.list_containers(all=True) == []


async def test_create_accepts_the_extremes(api):
    """The largest values the ranges allow create (and the container starts)."""
    cid = await started(api, resource_limits={"memory": {"limit": 2**63 - 1},
                                              "pids": {"limit": 4194304}},
                        stop_timeout=9_223_372_036)
    insp = (await api.get(f"{DOCKER}/containers/{cid}/json")).json()
    assert insp["HostConfig"]["Memory"] == 2**63 - 1
    assert insp["HostConfig"]["PidsLimit"] == 4194304


@pytest.mark.parametrize("verb,params,field", [
    ("stop", {"timeout": "99999999999999999999"}, "timeout"),
    ("stop", {"timeout": "9223372037"}, "timeout"),
    ("stop", {"timeout": "-1"}, "timeout"),
    ("stop", {"timeout": "\x00"}, "timeout"),
    ("stop", {"timeout": "1\x00"}, "timeout"),
    ("stop", {"timeout": "\u0661"}, "timeout"),
    ("stop", {"t": "99999999999999999999"}, "'t'"),
    ("restart", {"t": "99999999999999999999"}, "'t'"),
    ("kill", {"signal": "\x00"}, "signal"),
    ("kill", {"signal": "KILL\x00"}, "signal"),
    ("kill", {"signal": "99999999999999999999"}, "signal"),
    ("kill", {"signal": "\u0669"}, "signal"),
    ("kill", {"signal": "\u017figkill"}, "signal"),
    ("kill", {"signal": "SIGNOPE"}, "signal"),
    ("resize", {"h": "70000", "w": "80"}, "'h'"),
    ("resize", {"h": "24", "w": "99999999999999999999999"}, "'w'"),
    ("logs", {"stdout": "1", "tail": "99999999999999999999999"}, "tail"),
    ("logs", {"stdout": "1", "since": "1e400"}, "since"),
    ("logs", {"stdout": "1", "until": "inf"}, "until"),
    ("logs", {"stdout": "1", "since": "99999999999999999999h"}, "since"),
    ("logs", {"stdout": "1", "follow": "1\x00"}, "follow"),
    ("json", {"size\x01": "1"}, "query parameter name"),
])
async def test_bad_query_values_leave_the_container_alone(api, verb, params, field):
    cid = await started(api)
    method = api.get if verb in ("logs", "json") else api.post
    bad(await method(f"{LIBPOD}/containers/{cid}/{verb}", params=params), field)
    if verb in ("stop", "restart"):
        bad(await api.post(f"{DOCKER}/containers/{cid}/{verb}", params=params), field)
    assert await status(api, cid) == "running"


async def test_delete_timeout_and_list_limit_ranges(api):
    cid = await create(api)
    bad(await api.delete(f"{LIBPOD}/containers/{cid}", params={"force": "1",
                                                               "t": "99999999999999999999"}),
        "'t'")
    bad(await api.get(f"{LIBPOD}/containers/json", params={"limit": "9" * 30}), "limit")
    bad(await api.get(f"{LIBPOD}/containers/stats",
                      params={"interval": "9" * 30, "stream": "0"}), "interval")
    bad(await api.get(f"{LIBPOD}/events", params={"since": "nan", "stream": "0"}), "since")
    bad(await api.get(f"{DOCKER}/containers/json",
                      params={"all": "1", "filters": '{"name": ["a("]}'}), "name filter")
    bad(await api.get(f"{DOCKER}/containers/json",
                      params={"filters": '{"name": ' + "[" * 5000 + "]" * 5000 + "}"}),
        "filters", "nested")
    bad(await api.get(f"{LIBPOD}/events",
                      params={"stream": "0", "filters": "[" * 5000 + "]" * 5000}), "filters")
    assert await status(api, cid) == "created"


async def test_control_characters_in_paths_and_names(api):
    cid = await started(api)
    # (the client percent-encodes: the server sees %00, %0A, %01)
    r = await api.post(f"{LIBPOD}/containers/{cid}\x00/kill")
    bad(r, "control characters")
    r = await api.post(f"{LIBPOD}/containers/{cid}\n/stop")
    bad(r, "control characters")
    r = await api.get(f"{LIBPOD}/images/busybox\x01/json")
    bad(r, "control characters")
    r = await api.post(f"{LIBPOD}/containers/create", params={"name\x7f": "x"},
                       body={"image": DEMO})
    bad(r, "control characters")
    r = await api.post(f"{DOCKER}/containers/create", params={"name": "a\x00b"},
                       body={"Image": DEMO})
    bad(r, "name", "control characters")
    assert await status(api, cid) == "running"
    # strict signals still take every spelling podman takes
    r = await api.post(f"{LIBPOD}/containers/{cid}/kill", params={"signal": "sigusr1"})
    assert r.code == 204, r.body


async def test_exec_numbers_and_strings(api):
    cid = await started(api)
    bad(await api.post(f"{LIBPOD}/containers/{cid}/exec",
                       body={"Cmd": ["true"], "User": ["root"]}), "User")
    bad(await api.post(f"{LIBPOD}/containers/{cid}/exec",
                       body={"Cmd": ["echo", "\x00"]}), "Cmd")
    r = await api.post(f"{LIBPOD}/containers/{cid}/exec", body={"Cmd": ["true"], "Tty": True})
    assert r.code == 201, r.body
    eid = r.json()["Id"]
    bad(await api.post(f"{LIBPOD}/exec/{eid}/resize", params={"h": "1e3", "w": "80"}), "'h'")
    bad(await api.post(f"{LIBPOD}/exec/{eid}/resize", params={"h": "24", "w": "65536"}), "'w'")
    bad(await api.post(f"{LIBPOD}/exec/{eid}/start", body={"h": "abc", "w": 80}), "h")
    bad(await api.post(f"{LIBPOD}/exec/{eid}/start", body={"h": 24, "w": 1e30}), "w")


async def test_errors_never_show_internal_paths(api, rt):
    """Spool files and the engine's roots stay out of error messages."""
    roots = (str(rt.run_root), str(rt.root))
    replies = [
        await api.post(f"{LIBPOD}/images/import", params={"reference": "x/garbage"},
                       body=b"garbage" * 100),
        await api.post(f"{LIBPOD}/containers/import/restore", params={"import": "1"},
                       body=b"garbage" * 100),
    ]
    for r in replies:
        message = bad(r, "the uploaded archive")
        assert not any(root in message for root in roots), message
    # Removed by the handler's on_finish, which (through the relay) may run just after the
    # client has its answer.
    assert wait_until(lambda: list((rt.run_root / "uploads").iterdir()) == [], 5), \
        list((rt.run_root / "uploads").iterdir())


async def test_websocket_hostile_messages(api, jp_ws_fetch):
    """Out-of-range sizes and deep JSON on the attach websocket get an error message; the
    session goes on."""
    from .test_streams import text_of, ws_messages

    cid = await started(api, cmd=("sh",), stdin=True, terminal=True)
    ws = await jp_ws_fetch("ctr", "api", "containers", cid, "attach", "ws")
    for message in ('["set_size", 1e400, 80]', '["set_size", 24, 70000]',
                    '["set_size", "x", {}]', "[" * 100_000):
        await ws.write_message(message)
        msgs = await ws_messages(ws, lambda m: any(x[0] == "error" for x in m))
        assert any(x[0] == "error" for x in msgs), msgs
    await ws.write_message('["stdin", "echo still-$((40+2))\\r"]')
    msgs = await ws_messages(ws, lambda m: "still-42" in text_of(m).split("echo")[-1])
    assert "still-42" in text_of(msgs)
    ws.close()


@pytest.mark.parametrize("cmd,words", [(("/nonexistent",), "no such file"),
                                       (("nosuchcommand",), "executable file not found"),
                                       (("/etc",), "permission denied")])
async def test_start_of_a_command_that_cannot_run_is_400(api, cmd, words):
    """The client's command is at fault, not the server: 400 as Docker answers."""
    cid = await create(api, cmd)
    bad(await api.post(f"{LIBPOD}/containers/{cid}/start"), words)
