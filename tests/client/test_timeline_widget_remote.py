"""The Timeline widget's tests (tests/widgets/test_timeline.py) again, with the kernel's door
a RemoteDoor on the service: the same assertions hold through the client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jupyter_ctr.client import RemoteDoor
from jupyter_ctr.widgets.feed import close_feed
from tests.widgets import test_timeline as in_process

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def door(remote_door: RemoteDoor) -> Iterator[RemoteDoor]:
    yield remote_door
    close_feed(remote_door)  # type: ignore[arg-type] # the Door's methods


#: Pure logic, and a policy on an in-process Door of its own.
IN_PROCESS_ONLY = {"test_position_and_next_step", "test_policy_refusal_names_the_rule"}

for _name in dir(in_process):
    if _name.startswith("test_") and _name not in IN_PROCESS_ONLY:
        globals()[_name] = getattr(in_process, _name)
