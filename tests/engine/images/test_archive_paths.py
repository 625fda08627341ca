"""The path rules of images.archive that checkpoint restores use too: archive member names
and symlink targets."""

from __future__ import annotations

import pytest

from jupyter_ctr.engine.images.archive import name_parts, symlink_problem


@pytest.mark.parametrize(("name", "parts"), [
    ("a/b", ["a", "b"]),
    ("./a//b/", ["a", "b"]),
    (".", []),
    ("a/./b", ["a", "b"]),
    ("/etc/passwd", None),
    ("a/../b", None),
    ("..", None),
])
def test_name_parts(name: str, parts: list[str] | None) -> None:
    assert name_parts(name) == parts


@pytest.mark.parametrize(("link", "target", "problem"), [
    (["bin", "sh"], "busybox", None),
    (["etc", "alt"], "../usr/lib/x", None),
    (["a", "b", "c"], "../../d", None),
    (["bin", "sh"], "", "empty target"),
    (["bin", "sh"], "/bin/busybox", "absolute path"),
    (["up"], "..", "points outside the image"),
    (["etc", "x"], "../../escaped", "points outside the image"),
    (["x"], "sub/up/../..", "climbs with '..' after a name"),
])
def test_symlink_problem(link: list[str], target: str, problem: str | None) -> None:
    found = symlink_problem(link, target)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found
