"""ContainersApp: the ``jupyter_ctr`` Jupyter server extension (enabled on install by
jupyter-config/jupyter_server_config.d/jupyter_ctr.json). Serves the REST API, the attach
and events websockets and the OpenAPI document under ``{base_url}ctr/``."""

from __future__ import annotations

from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Float, Int

from ..engine.config import EngineConfig
from ..service.bridge import BridgeLimits
from ..service.container_service import ContainerService
from .handlers import routes
from .service import SETTINGS_KEY, build_service


class ContainersApp(ExtensionApp):
    """Container lifecycle management in Jupyter. Engine roots and binaries come from
    ``EngineConfig`` (``c.EngineConfig.root = ...``), passed through unchanged."""

    name = "jupyter_ctr"
    description = "Containers on runc, conmon and CRIU, with a libpod/Docker-compatible API"
    load_other_extensions = True

    workers = Int(8, help="Threads for short engine calls (lookup, start, inspect...)."
                  ).tag(config=True)
    long_workers = Int(64, help="Threads for engine calls that may block for seconds "
                       "(stop timeouts, wait, remove, checkpoint).").tag(config=True)
    replay_bytes = Int(64 * 1024, help="Recent output kept per attached container or exec "
                       "session and replayed to a websocket that reconnects with ?replay=1."
                       ).tag(config=True)
    high_water = Int(1024 * 1024, help="Websocket bridges stop reading the container's "
                     "output while this many bytes wait to be sent to a client."
                     ).tag(config=True)
    low_water = Int(256 * 1024, help="... and resume once the backlog is below this."
                    ).tag(config=True)
    linger = Float(30.0, help="Seconds a websocket attach bridge keeps the container's attach "
                   "connection (and its stdin) open after its last client left, so a "
                   "reconnecting client finds the session as it was.").tag(config=True)

    stall_timeout = Float(5.0, help="A websocket client whose backlog stays above the "
                          "high-water mark this long is disconnected (while the bridge waits "
                          "for it, conmon cannot even report the container's exit)."
                          ).tag(config=True)

    service: ContainerService | None = None

    def initialize_settings(self) -> None:
        limits = BridgeLimits(replay_bytes=self.replay_bytes, high_water=self.high_water,
                              low_water=self.low_water, linger=self.linger,
                              stall_timeout=self.stall_timeout)
        self.service = build_service(EngineConfig(parent=self), workers=self.workers,
                                     long_workers=self.long_workers, limits=limits,
                                     log=self.log)
        self.settings[SETTINGS_KEY] = self.service
        self.log.info("jupyter_ctr: engine root %s, run root %s", self.service.runtime.root,
                      self.service.runtime.run_root)

    def initialize_handlers(self) -> None:
        self.handlers.extend(routes("/ctr"))

    async def stop_extension(self) -> None:
        if self.service is not None:
            self.service.close()
            self.service = None


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": "jupyter_ctr.server.app", "app": ContainersApp}]
