"""ipywidgets 8 widgets for containers, drawn by the lab extension's widget module (one build
serves JupyterLab 4 and Notebook 7). They act in the kernel's process through the one door
(jupyter_ctr.kernel), follow the engine's events, and show engine errors in place.

- ``ContainerPanel(container)``: state badge, lifecycle buttons, CPU/memory sparklines, logs.
- ``ContainerList()``: every container with the same buttons.
- ``StatsPlot(containers)``: live CPU and memory of one or more containers.
- ``Terminal(container, command=None)``: xterm.js over the server's websocket bridge
  (``record=True`` records it; ``Terminal.watch(exec_id)`` a read-only view, "Take over").
- ``Player(source)``: plays a terminal recording (asciicast v2) in the cell.
- ``Timeline(container)``: the checkpoint timeline: snapshot, rewind, export, remove.

docs/widgets.md is the reference.
"""

from __future__ import annotations

from .panel import ContainerList, ContainerPanel
from .player import CastError, Player
from .plot import StatsPlot
from .terminal import Terminal
from .timeline import Timeline

__all__ = ["CastError", "ContainerList", "ContainerPanel", "Player", "StatsPlot", "Terminal",
           "Timeline"]
