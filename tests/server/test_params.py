"""Query and body parsing (server/params.py): podman's conventions, strictly."""

from __future__ import annotations

import signal

import pytest
from tornado.httputil import HTTPServerRequest, RequestStartLine

from jupyter_ctr.engine import limits
from jupyter_ctr.server import params
from jupyter_ctr.server.errors import RouteError


def refused(fn, *args, **kwargs) -> str:  # type: ignore[no-untyped-def]
    """The message of the 400 ``fn`` raises."""
    with pytest.raises(RouteError) as info:
        fn(*args, **kwargs)
    assert info.value.status_code == 400 and info.value.cause == "invalid argument"
    return info.value.message


def test_as_bool() -> None:
    for text in ("1", "true", "T", "yes", "y", "on", " True "):
        assert params.as_bool("x", text) is True
    for text in ("0", "false", "f", "no", "n", "off", ""):
        assert params.as_bool("x", text, True) is False
    assert params.as_bool("x", None, True) is True
    assert "want a boolean" in refused(params.as_bool, "force", "maybe")


def test_as_int_ranges() -> None:
    assert params.as_int("t", "42") == 42 and params.as_int("t", "-3") == -3
    assert params.as_int("t", None, 7) == 7 and params.as_int("t", "", 7) == 7
    assert "want an integer" in refused(params.as_int, "t", "4.5")
    assert "want an integer" in refused(params.as_int, "t", "0x10")
    assert "at least 0" in refused(params.as_int, "t", "-1", minimum=0)
    assert "at most 10" in refused(params.as_int, "t", "11", maximum=10)
    assert f"at most {limits.INT64_MAX}" in refused(params.as_int, "t", "9" * 100)


def test_as_signal() -> None:
    assert params.as_signal("signal", "KILL", "SIGTERM") == signal.SIGKILL
    assert params.as_signal("signal", "SIGTERM", "SIGKILL") == signal.SIGTERM
    assert params.as_signal("signal", "9", "SIGTERM") == 9
    assert params.as_signal("signal", None, "SIGKILL") == signal.SIGKILL
    assert params.as_signal("signal", "", "SIGHUP") == signal.SIGHUP
    assert "'signal'" in refused(params.as_signal, "signal", "SIGNOPE", "SIGKILL")


def test_as_duration_and_as_time() -> None:
    assert params.as_duration("1h30m") == 5400.0
    assert params.as_duration("250ms") == 0.25
    assert params.as_duration("1.5s") == 1.5
    assert params.as_duration("10") is None and params.as_duration("") is None
    assert params.as_duration("5x") is None and params.as_duration("s5") is None
    assert params.as_time("since", "1700000000") == 1700000000.0
    assert params.as_time("since", "1700000000.5") == 1700000000.5
    assert params.as_time("since", "10m", now=1000.0) == 400.0
    assert params.as_time("since", "2023-11-14T22:13:20Z") == 1700000000.0
    assert params.as_time("since", "2023-11-14T22:13:20.123456789Z") == \
        pytest.approx(1700000000.123457)
    assert params.as_time("since", None) is None and params.as_time("since", "") is None
    assert params.as_time("since", "0001-01-01T00:00:00Z") is None  # Go's zero time
    assert "RFC3339" in refused(params.as_time, "since", "yesterday")
    assert "out of range" in refused(params.as_time, "until", "99999999999999999")


def test_as_filters_forms() -> None:
    assert params.as_filters(None) == {} and params.as_filters("") == {}
    assert params.as_filters('{"name": ["a", "b"]}') == {"name": ["a", "b"]}
    assert params.as_filters('{"name": {"a": true, "b": false}}') == {"name": ["a"]}
    assert params.as_filters('{"status": "exited"}') == {"status": ["exited"]}
    assert params.as_filters('{"exited": [0]}') == {"exited": ["0"]}
    assert "want a JSON object" in refused(params.as_filters, "[1]")
    assert "want a list of strings" in refused(params.as_filters, '{"a": 1}')
    assert "invalid JSON" in refused(params.as_filters, "{")


def test_container_filters() -> None:
    assert params.container_filters('{"label": ["a=b"], "nope": []}') == \
        {"label": ["a=b"], "nope": []}
    assert refused(params.container_filters, '{"bogus": ["x"]}') == \
        "invalid filter 'bogus': use id, name, status, label, exited, ancestor or owner"
    assert "invalid name filter 'a('" in refused(params.container_filters, '{"name": ["a("]}')


def test_json_body_bounds() -> None:
    assert params.json_body(b'{"a": [1, {"b": null}]}') == {"a": [1, {"b": None}]}
    assert params.json_body(b"  ", required=False) == {}
    assert "is empty" in refused(params.json_body, b"")
    assert "must be a JSON object" in refused(params.json_body, b"[]")
    assert "nested deeper than" in refused(params.json_body, b"[" * 101 + b"]" * 101)
    params.json_body(b'{"a": ' + b"[" * 99 + b"]" * 99 + b"}")  # 100 levels: fine
    params.json_body(b'{"s": "' + b"[" * 200 + b'"}')  # brackets in strings do not nest
    assert "is not a JSON number" in refused(params.json_body, b'{"a": NaN}')
    with pytest.raises(RouteError) as info:  # Payload Too Large
        params.json_body(b"{" + b" " * params.MAX_JSON_BYTES + b"}")
    assert (info.value.status_code, info.value.cause) == (413, "payload too large")
    assert "too large" in info.value.message


def request(query: str) -> HTTPServerRequest:
    return HTTPServerRequest(start_line=RequestStartLine("GET", f"/x?{query}", "HTTP/1.0"))


def test_query_values_and_control_characters() -> None:
    req = request("a=1&a=%20two%20&b=%C3%A9")
    assert params.query_value(req, "a") == "two" and params.query_value(req, "b") == "é"
    assert params.query_value(req, "missing") is None
    params.check_request(req, {"name": "web"})
    assert "control characters" in refused(params.check_request, request("a=x%00y"), {})
    assert "control characters" in refused(params.check_request, request("a%0a=1"), {})
    assert "not UTF-8" in refused(params.check_request, request("a=%ff"), {})
    assert "in the path" in refused(params.check_request, request(""), {"name": "a\tb"})
    assert "control characters" in refused(params.check_text, "name", "a\x7fb")
