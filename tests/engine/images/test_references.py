"""Image references: normalisation to ``domain/path:tag`` and refusal of invalid names."""

from __future__ import annotations

import pytest

from jupyter_ctr.engine.errors import InvalidArgumentError
from jupyter_ctr.engine.images import normalize_reference


@pytest.mark.parametrize(("ref", "expected"), [
    ("busybox", "localhost/busybox:latest"),
    ("busybox:1.36", "localhost/busybox:1.36"),
    ("localhost/busybox", "localhost/busybox:latest"),
    ("quay.io/a/b:1", "quay.io/a/b:1"),
    ("a/b", "localhost/a/b:latest"),
    ("localhost:5000/x/y", "localhost:5000/x/y:latest"),
    ("reg.example.com:443/team/app_1.web:v2-rc_1", "reg.example.com:443/team/app_1.web:v2-rc_1"),
    ("foo__bar/a-b--c", "localhost/foo__bar/a-b--c:latest"),
])
def test_normalize_reference(ref: str, expected: str) -> None:
    assert normalize_reference(ref) == expected


@pytest.mark.parametrize(("ref", "message"), [
    ("", "empty"),
    ("BusyBox", "must be lowercase"),
    ("busybox:", "tag"),
    ("busybox:-x", "tag"),
    ("busybox:" + "a" * 129, "tag"),
    ("bad_/x", "path component"),
    ("a//b", "path component"),
    ("busybox@sha256:" + "0" * 64, "digest"),
    ("-x.io/a", "registry host"),
    (" busybox", "whitespace"),
    ("a/" + "b" * 300, "longer than"),
])
def test_normalize_reference_rejects(ref: str, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        normalize_reference(ref)
