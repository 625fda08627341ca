"""Container list filters (service/filters.py): the checks before listing and the state
names they accept (matching itself is tested through ContainerService.list_containers)."""

from __future__ import annotations

import pytest

from jupyter_ctr.engine import InvalidArgumentError
from jupyter_ctr.service.filters import check_container_filters, docker_state


def test_filter_checks() -> None:
    check_container_filters({"name": ["^a.*"], "bogus": []})  # no values: ignored
    check_container_filters({k: ["x"] for k in ("id", "status", "label", "exited",
                                                "ancestor")})
    with pytest.raises(InvalidArgumentError, match="use id, name, status"):
        check_container_filters({"bogus": ["x"]})
    with pytest.raises(InvalidArgumentError, match="not a regular expression"):
        check_container_filters({"name": ["a("]})


def test_docker_state_names() -> None:
    assert [docker_state(s) for s in ("initialized", "configured", "stopped", "stopping",
                                      "unknown", "paused", "running", "exited")] == \
        ["created", "created", "exited", "running", "dead", "paused", "running", "exited"]
