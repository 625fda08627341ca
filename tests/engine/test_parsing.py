"""The one parser of each kind of container input (engine/parsing.py)."""

from __future__ import annotations

import pytest

from jupyter_ctr.engine import limits
from jupyter_ctr.engine.errors import InvalidArgumentError
from jupyter_ctr.engine.parsing import (
    check_name,
    env_dict,
    merge_env,
    parse_command,
    parse_env,
    parse_memory,
    parse_restart_policy,
)


def test_parse_command() -> None:
    assert parse_command("sh -c 'echo hi'", "empty") == ["sh", "-c", "echo hi"]
    assert parse_command(("ls", "-l"), "empty") == ["ls", "-l"]
    for bad in (None, "", [], [""]):
        with pytest.raises(InvalidArgumentError, match="^empty$"):
            parse_command(bad, "empty")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="cannot parse command"):
        parse_command("echo 'unterminated", "empty")
    with pytest.raises(InvalidArgumentError, match="not a valid string"):
        parse_command(["echo", "a\0b"], "empty")


def test_parse_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FROM_CALLER", "yes")
    assert parse_env(None) == []
    assert parse_env({"A": "1"}) == [("A", "1")]
    assert parse_env(["A=1=2", "B=", "FROM_CALLER"]) == [("A", "1=2"), ("B", ""),
                                                        ("FROM_CALLER", "yes")]
    for bad in (["=x"], ["A\0=1"], {"A": "x\0"}):
        with pytest.raises(InvalidArgumentError, match="invalid environment variable"):
            parse_env(bad)
    with pytest.raises(InvalidArgumentError, match="not the string"):
        parse_env("A=1")


def test_merge_env_and_env_dict() -> None:
    merged = merge_env(["PATH=/bin", "A=1"], [("A", "2"), ("B", "3")])
    assert merged == ["PATH=/bin", "A=2", "B=3"]
    assert env_dict(["A=1", "A=2", "B=x=y"]) == {"A": "2", "B": "x=y"}


def test_check_name() -> None:
    assert check_name("web.1_a-b") == "web.1_a-b"
    for bad in ("", "-x", "a/b", "a b", None, 3):
        with pytest.raises(InvalidArgumentError, match="invalid container name"):
            check_name(bad)


def test_parse_memory() -> None:
    assert parse_memory(None) is None
    assert parse_memory("64m") == 64 << 20
    assert parse_memory("1g") == 1 << 30
    assert parse_memory(8 << 20) == 8 << 20
    with pytest.raises(InvalidArgumentError, match="below the minimum"):
        parse_memory("1m")
    with pytest.raises(InvalidArgumentError, match="invalid memory limit"):
        parse_memory("lots")
    with pytest.raises(InvalidArgumentError):
        parse_memory(limits.MEMORY_MAX + 1)


def test_parse_restart_policy() -> None:
    assert parse_restart_policy("") == ("no", 0)
    assert parse_restart_policy("always") == ("always", 0)
    assert parse_restart_policy("on-failure:3") == ("on-failure", 3)
    for bad, why in (("sometimes", "use no, always"), ("always:2", "only on-failure"),
                     ("on-failure:x", "non-negative"), ("on-failure:99999999999", "retry")):
        with pytest.raises(InvalidArgumentError, match=why):
            parse_restart_policy(bad)
