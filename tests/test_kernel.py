"""jupyter_ctr.kernel: one Runtime and Door per kernel, on the CLI's roots (the environment),
replaceable with use(); widgets made without a door act through it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_ctr import kernel
from jupyter_ctr.engine import Runtime
from jupyter_ctr.service.door import Door
from jupyter_ctr.service.principal import Principal
from jupyter_ctr.widgets import ContainerPanel
from jupyter_ctr.widgets.feed import close_feed

from .conftest import DEMO


@pytest.fixture
def fresh_kernel(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(kernel, "_current", None)
    yield
    current = kernel._current
    if current is not None:
        close_feed(current.door)


def test_engine_uses_the_cli_roots(fresh_kernel: None, engine_roots: tuple[Path, Path],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    root, run_root = engine_roots
    monkeypatch.setenv("JUPYTER_CTR_ROOT", str(root))
    monkeypatch.setenv("JUPYTER_CTR_RUNROOT", str(run_root))
    eng = kernel.engine()
    assert eng is kernel.engine()  # one per kernel
    assert (eng.runtime.root, eng.runtime.run_root) == (root, run_root)
    assert kernel.door() is eng.door
    assert eng.door.principal == Principal.of_process()
    eng.close()


def test_use_and_widgets_default_to_it(fresh_kernel: None, rt: Runtime) -> None:
    eng = kernel.use(rt)
    assert kernel.door() is eng.door and eng.runtime is rt
    ctr = rt.create_container(DEMO, ["true"], name="kw1")
    panel = ContainerPanel("kw1")
    assert panel.door is eng.door and panel.container_id == ctr.id
    door = Door(rt, Principal.of_process())
    assert kernel.use(door).door is door
    close_feed(eng.door)
