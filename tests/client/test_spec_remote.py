"""``%%ctr spec`` (tests/magics/test_spec.py) again, with the kernel's engine a RemoteDoor on
the service: the same assertions hold through the client (the spec route included)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from IPython.core.interactiveshell import InteractiveShell

from jupyter_ctr import kernel as kernel_engine
from jupyter_ctr.client import RemoteDoor
from jupyter_ctr.magics import CtrMagics, registered
from tests.magics import test_spec as in_process

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def ip(remote_door: RemoteDoor, monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    """IPython's shell with the magics, the kernel's engine the service (through the client)."""
    monkeypatch.setattr(kernel_engine, "_current", None)
    kernel_engine.use(remote_door)
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "jupyter_ctr")
    assert isinstance(registered(shell), CtrMagics)
    yield shell


for _name in dir(in_process):
    if _name.startswith("test_"):
        globals()[_name] = getattr(in_process, _name)
