"""Option values as the CLI takes them (cli.arguments): times, K=V items, log options."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from jupyter_ctr.cli.arguments import (
    filters,
    image_and_command,
    key_values,
    log_size,
    parse_time,
    split_commas,
)
from jupyter_ctr.engine.errors import InvalidArgumentError


def test_parse_time_forms() -> None:
    now = 1_800_000_000.0
    assert parse_time("1700000000.5", now) == 1_700_000_000.5
    assert parse_time("10m", now) == now - 600
    assert parse_time("1h30m", now) == now - 5400
    assert parse_time("2027-01-15T08:00:00+02:00") == parse_time("2027-01-15T06:00:00Z")
    assert parse_time("2026-11-29T01:02:03.123456789Z") == pytest.approx(1795914123.123457)
    with pytest.raises(Exception, match="invalid time"):
        parse_time("yesterday")


def test_key_values_filters_and_comma_lists() -> None:
    assert key_values(["a=1", "b", "c=x=y"]) == {"a": "1", "b": "", "c": "x=y"}
    assert key_values(None) == {}
    with pytest.raises(InvalidArgumentError, match="the key is empty"):
        key_values(["=v"])
    assert filters(["name=a", "name=b", "label=k=v"]) == {"name": ["a", "b"], "label": ["k=v"]}
    for bad in ("name", "=a"):
        with pytest.raises(InvalidArgumentError, match="filters are key=value"):
            filters([bad])
    assert split_commas(["a,b", "", "c,"]) == ["a", "b", "c"]
    assert split_commas(None) == []


def test_log_size_takes_max_size_alone() -> None:
    assert log_size(None) is None
    assert log_size(["max-size=1m", "max-size=10k"]) == "10k"
    for bad in ("max-file=3", "max-size"):
        with pytest.raises(InvalidArgumentError, match="only max-size=SIZE"):
            log_size([bad])


def test_image_and_command() -> None:
    def args(*words: str) -> Any:
        return SimpleNamespace(image_and_command=list(words), cmd="run")

    assert image_and_command(args("img")) == ("img", [])
    assert image_and_command(args("--", "img", "ls", "-l")) == ("img", ["ls", "-l"])
    with pytest.raises(InvalidArgumentError, match="run requires at least an IMAGE"):
        image_and_command(args("--"))
