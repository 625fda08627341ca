"""X-Registry-Auth -> the temporary auth file skopeo reads (server/registry_auth.py)."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from jupyter_ctr.engine import Runtime
from jupyter_ctr.engine.errors import InvalidArgumentError
from jupyter_ctr.server.registry_auth import auth_file, decode_header


def enc(doc: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")


def test_decode_forms() -> None:
    assert decode_header(None) == decode_header("") == decode_header("e30=") == {}
    assert decode_header(enc(None)) == {}
    one = {"username": "u", "password": "p", "serveraddress": "https://r.example:5000/v1/"}
    assert decode_header(enc(one)) == {"https://r.example:5000/v1/": one}
    assert decode_header(enc({"username": "u", "password": "p"})) == {
        "": {"username": "u", "password": "p"}}
    many = {"r1.example": {"auth": "dTpw"}, "r2.example": {"identitytoken": "tok"}}
    assert decode_header(enc(many)) == many
    for bad in ("!!!", enc([1, 2]), enc({"r": {"username": 5}}), enc({"r": "x"})):
        with pytest.raises(InvalidArgumentError, match="X-Registry-Auth"):
            decode_header(bad)


def test_auth_file_lives_only_while_used(tmp_path) -> None:
    rt = Runtime(tmp_path / "r", tmp_path / "x")
    try:
        with auth_file(rt, "", "r.example") as path:
            assert path is None
        header = enc({"username": "u", "password": "p", "serveraddress": "https://h:1/v1/"})
        with auth_file(rt, header, "fallback.example") as path:
            assert path is not None
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
            auths = json.loads(Path(path).read_text())["auths"]
            assert auths == {"h:1": {"auth": base64.b64encode(b"u:p").decode()}}
        assert not os.path.exists(path)
        with auth_file(rt, enc({"username": "u", "password": "p"}), "r.example") as path:
            assert list(json.loads(Path(path).read_text())["auths"]) == ["r.example"]
        with pytest.raises(RuntimeError), auth_file(rt, header, "x") as path:
            raise RuntimeError("the pull failed")
        assert not os.path.exists(path)
    finally:
        rt.close()
