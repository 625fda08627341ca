"""The ContainerService as the server holds it: built once per server (the Jupyter extension
and the unix socket service alike), kept in the tornado settings under SETTINGS_KEY."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..service.bridge import BridgeLimits
from ..service.container_service import ContainerService
from .spool import sweep

if TYPE_CHECKING:
    from ..engine import Runtime
    from ..engine.config import EngineConfig
    from ..service.policy import Policy

SETTINGS_KEY = "jupyter_ctr_service"


def build_service(config: EngineConfig | None = None, *, runtime: Runtime | None = None,
                  workers: int = 8, long_workers: int = 64, limits: BridgeLimits | None = None,
                  log: logging.Logger | None = None,
                  policy: Policy | None = None) -> ContainerService:
    """The service on ``runtime`` (or a Runtime from ``config``) under ``policy`` (default:
    allow all); spool files that a server killed mid-upload left behind are swept first."""
    service = ContainerService.build(config, runtime=runtime, workers=workers,
                                     long_workers=long_workers, limits=limits, log=log,
                                     policy=policy)
    sweep(service.runtime)
    return service
