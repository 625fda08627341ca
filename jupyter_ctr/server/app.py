"""ContainersApp: the ``jupyter_ctr`` Jupyter server extension (enabled on install by
jupyter-config/jupyter_server_config.d/jupyter_ctr.json). Serves the REST API, the attach
and events websockets and the OpenAPI document under ``{base_url}ctr/``: from an engine in
this process, or in remote mode from the engine service (``jupyter-ctr service``), which the
routes are relayed to (server/relay.py). Remote mode is chosen as the CLI's (client/host.py):
``url``, ``remote``, ``$JUPYTER_CTR_HOST``, or automatically when this server's user cannot
keep the engine's root and the service's socket exists."""

from __future__ import annotations

import os
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Float, Int, Unicode

from ..client.host import HOST_ENV, remote_socket
from ..engine.config import EngineConfig
from ..service.bridge import BridgeLimits
from ..service.container_service import ContainerService
from .handlers import routes
from .relay import RelayHandler
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

    url = Unicode("", help="Remote mode: the engine service's socket, unix:///PATH. Every "
                  "route is relayed to it; the service knows this server's Unix user."
                  ).tag(config=True)
    remote = Bool(False, help="Remote mode at $JUPYTER_CTR_HOST or the default socket "
                  "(/run/jupyter-ctr/service.sock).").tag(config=True)
    max_upload_size = Int(64 << 30, help="Remote mode: the largest request body relayed "
                          "(the service applies its own limits below this).").tag(config=True)

    service: ContainerService | None = None
    #: The environment variables share_with_kernels changed, with their values before.
    kernel_env_before: dict[str, str | None]
    #: Remote mode: the service's socket (None: the engine is in this process).
    socket_path: str | None = None

    def initialize_settings(self) -> None:
        self.kernel_env_before = {}
        engine_config = self.config.get("EngineConfig", {})
        self.socket_path = remote_socket(
            remote=self.remote, url=self.url or None,
            explicit_roots=bool(engine_config.get("root") or engine_config.get("run_root")))
        if self.socket_path is not None:
            self.log.info("jupyter_ctr: remote mode, the engine service at unix://%s",
                          self.socket_path)
            self.share_with_kernels({HOST_ENV: f"unix://{self.socket_path}"})
            return
        limits = BridgeLimits(replay_bytes=self.replay_bytes, high_water=self.high_water,
                              low_water=self.low_water, linger=self.linger,
                              stall_timeout=self.stall_timeout)
        self.service = build_service(EngineConfig(parent=self), workers=self.workers,
                                     long_workers=self.long_workers, limits=limits,
                                     log=self.log)
        self.settings[SETTINGS_KEY] = self.service
        self.share_with_kernels({HOST_ENV: None,
                                 "JUPYTER_CTR_ROOT": str(self.service.runtime.root),
                                 "JUPYTER_CTR_RUNROOT": str(self.service.runtime.run_root)})
        self.log.info("jupyter_ctr: engine root %s, run root %s", self.service.runtime.root,
                      self.service.runtime.run_root)

    def initialize_handlers(self) -> None:
        if self.socket_path is not None:
            self.handlers.append((r"/ctr(?:/.*)?", RelayHandler,
                                  {"socket_path": self.socket_path,
                                   "max_body_size": self.max_upload_size}))
            return
        self.handlers.extend(routes("/ctr"))

    def share_with_kernels(self, values: dict[str, str | None]) -> None:
        """Point the kernels this server starts (they inherit its environment) at its own
        engine, so the magics and widgets act where the sidebar does (None: unset). What
        was there before comes back when the extension stops."""
        for key, value in values.items():
            self.kernel_env_before.setdefault(key, os.environ.get(key))
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    async def stop_extension(self) -> None:
        for key, value in self.kernel_env_before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self.kernel_env_before.clear()
        if self.service is not None:
            self.service.close()
            self.service = None


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": "jupyter_ctr.server.app", "app": ContainersApp}]
