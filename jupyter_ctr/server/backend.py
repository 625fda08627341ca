"""EngineBackend: the engine as the server uses it. One Runtime, two thread pools (short verbs;
verbs that may wait, such as stop with a timeout), and the per-container websocket attach
bridges with their replay buffers. Handlers reach it as ``settings["jupyter_ctr_backend"]``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from ..engine import Runtime
from ..engine.config import EngineConfig

if TYPE_CHECKING:
    from .bridge import AttachBridge

T = TypeVar("T")

SETTINGS_KEY = "jupyter_ctr_backend"


@dataclass
class BridgeLimits:
    """Flow control and replay for websocket bridges (see docs/websocket-protocol.md)."""

    replay_bytes: int = 64 * 1024
    high_water: int = 1024 * 1024
    low_water: int = 256 * 1024
    linger: float = 30.0
    stall_timeout: float = 5.0


class EngineBackend:
    """The Runtime plus the executors that keep blocking engine calls off the IOLoop."""

    def __init__(self, config: EngineConfig | None = None, *, runtime: Runtime | None = None,
                 workers: int = 8, long_workers: int = 64, limits: BridgeLimits | None = None,
                 log: logging.Logger | None = None) -> None:
        self.runtime = runtime or Runtime(config=config)
        self.log = log or logging.getLogger("jupyter_ctr.server")
        from .spool import sweep

        sweep(self.runtime)  # bodies spooled by a server that died mid-upload
        self.limits = limits or BridgeLimits()
        self._short = ThreadPoolExecutor(workers, thread_name_prefix="ctr-verb")
        self._long = ThreadPoolExecutor(long_workers, thread_name_prefix="ctr-wait")
        self.bridges: dict[str, AttachBridge] = {}

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A quick engine call (lookup, start, inspect...) in the verb pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._short, functools.partial(fn, *args, **kwargs))

    async def run_long(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A call that may block for seconds (stop timeout, wait, remove, checkpoint)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._long, functools.partial(fn, *args, **kwargs))

    def background(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` in the long pool without waiting for it; its errors are logged."""

        def run() -> None:
            try:
                fn()
            except Exception:  # noqa: BLE001 - nobody waits for it: log it
                self.log.exception("jupyter_ctr background task failed")

        try:
            self._long.submit(run)
        except RuntimeError:  # shutting down: do it here
            run()

    def close(self) -> None:
        for bridge in list(self.bridges.values()):
            bridge.close()
        self._short.shutdown(wait=False, cancel_futures=True)
        self._long.shutdown(wait=False, cancel_futures=True)
        self.runtime.close()
