"""Executors: the two thread pools that keep blocking engine calls off the event loop, one
for short verbs (lookup, start, inspect...) and one for verbs that may wait for seconds
(stop with a timeout, wait, remove, checkpoint), so that slow waits never starve quick
verbs of threads."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class Executors:
    """``await run(fn, ...)`` for quick engine calls, ``await run_long(fn, ...)`` for calls
    that may block, ``background(fn)`` for work nobody waits for."""

    def __init__(self, workers: int = 8, long_workers: int = 64,
                 log: logging.Logger | None = None) -> None:
        self.log = log or logging.getLogger("jupyter_ctr.service")
        self._short = ThreadPoolExecutor(workers, thread_name_prefix="ctr-verb")
        self._long = ThreadPoolExecutor(long_workers, thread_name_prefix="ctr-wait")

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
        self._short.shutdown(wait=False, cancel_futures=True)
        self._long.shutdown(wait=False, cancel_futures=True)
