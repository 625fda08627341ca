"""Notebook magics: ``%load_ext jupyter_ctr`` registers ``%ctr`` and ``%%ctr`` (magic.py),
which drive the engine in the kernel's process through the one Door, as the CLI does: the
kernel's (jupyter_ctr.kernel), which the widgets share.

Needs IPython; ``import jupyter_ctr`` does not load this package (the CLI imports that at
every start): ``jupyter_ctr.load_ipython_extension`` imports it when IPython asks.
"""

from __future__ import annotations

from typing import cast

from . import display
from .magic import CtrMagics
from .results import (
    ContainerTable,
    CtrMagicError,
    EventTable,
    ImageTable,
    LabResults,
    LabTable,
    Names,
    RunResult,
    SnapshotTable,
    StatsTable,
    TopTable,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

__all__ = [
    "ContainerTable", "CtrMagicError", "CtrMagics", "EventTable", "ImageTable", "LabResults",
    "LabTable", "Names", "RunResult", "SnapshotTable", "StatsTable", "TopTable",
    "load_ipython_extension",
    "unload_ipython_extension",
]

#: The CtrMagics registered in each shell (one Runtime per kernel).
_registered: dict[int, CtrMagics] = {}


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """``%load_ext jupyter_ctr``: register ``%ctr``/``%%ctr`` (configurable as CtrMagics)."""
    if id(ipython) in _registered:
        return
    magics = CtrMagics(shell=ipython)
    ipython.register_magics(magics)
    display.register(ipython)
    _registered[id(ipython)] = magics


def unload_ipython_extension(ipython: InteractiveShell) -> None:
    """``%unload_ext jupyter_ctr``: drop the magics (the kernel's engine stays: the widgets
    share it, jupyter_ctr.kernel)."""
    magics = _registered.pop(id(ipython), None)
    if magics is None:
        return
    for kind in ("line", "cell"):
        ipython.magics_manager.magics[kind].pop("ctr", None)
    configurables = cast("list[object]", ipython.configurables)
    if magics in configurables:
        configurables.remove(magics)


def registered(ipython: InteractiveShell) -> CtrMagics | None:
    """The CtrMagics loaded into ``ipython``, or None."""
    return _registered.get(id(ipython))
