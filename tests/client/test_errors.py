"""client/errors.py: the service's error bodies back into the engine's classes, the inverse
of server/errors.py, for every class that table maps."""

from __future__ import annotations

import json

import pytest

from jupyter_ctr.client.errors import error_class, error_from
from jupyter_ctr.engine.errors import (
    CtrError,
    InvalidArgumentError,
    NoSuchContainerError,
    NoSuchImageError,
)
from jupyter_ctr.server import errors as server_errors


@pytest.mark.parametrize("cls", sorted(server_errors.STATUS, key=lambda c: c.__name__))
def test_every_mapped_class_comes_back(cls: type[CtrError]) -> None:
    exc = cls(f"something about abc123 ({cls.__name__})")
    status = server_errors.status_for(exc)
    body = json.dumps(server_errors.error_body(exc, status)).encode()
    back = error_from(status, body)
    assert type(back) is cls
    assert str(back) == str(exc)


def test_a_message_that_names_its_cause_is_kept_whole() -> None:
    exc = NoSuchContainerError("no such container: 'x'")
    body = json.dumps(server_errors.error_body(exc, 404)).encode()
    assert str(error_from(404, body)) == "no such container: 'x'"


def test_route_errors_fall_back_on_the_status() -> None:
    bad = server_errors.bad_request("invalid query parameter 'x'", cause="bad query")
    body = json.dumps(server_errors.error_body(bad, 400)).encode()
    exc = error_from(400, body)
    assert type(exc) is InvalidArgumentError and str(exc) == "invalid query parameter 'x'"
    assert error_class("not found", 404, NoSuchImageError) is NoSuchImageError
    assert type(error_from(502, b"<html>bad gateway</html>")) is CtrError
