"""``POST /libpod/containers/{name}/checkpoint`` and ``.../restore`` (CRIU, engine/checkpoint).

An exported checkpoint goes to the response body and an imported one comes from the request
body; the archive file in between lives in the engine's run root under a name the server
picks, never one the client gives.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...engine.checkpoint import CheckpointOptions
from ...service.streams import iterate_in_thread
from .. import params
from ..spool import new_spool_file
from .base import LIBPOD, NAME, CtrHandler
from .images import UploadHandler

#: Query flags (podman's names) -> CheckpointOptions fields.
_CHECKPOINT_FLAGS = {"keep": "keep", "leaveRunning": "keep_running",
                     "tcpEstablished": "tcp_established", "ignoreRootFS": "ignore_rootfs",
                     "printStats": "print_stats", "fileLocks": "file_locks"}
_RESTORE_FLAGS = {"keep": "keep", "tcpEstablished": "tcp_established",
                  "tcpClose": "tcp_close", "ignoreRootFS": "ignore_rootfs",
                  "ignoreStaticIP": "ignore_static_ip", "ignoreStaticMAC": "ignore_static_mac",
                  "ignoreVolumes": "ignore_volumes", "printStats": "print_stats",
                  "fileLocks": "file_locks"}


def read_chunks(path: Path, chunk: int = 1 << 16) -> Any:
    def gen(stopped: Any) -> Any:
        with open(path, "rb") as fh:
            while not stopped.is_set():
                data = fh.read(chunk)
                if not data:
                    return
                yield data
    return gen


class SpooledExportHandler(CtrHandler):
    """A handler that writes an archive to a spool file before sending it: the spool's path
    is the engine's own and never shown in an error."""

    spool: Path | None = None

    def internal_paths(self) -> list[tuple[str, str]]:
        paths = super().internal_paths()
        if self.spool is not None:
            paths.append((str(self.spool), "the exported archive"))
        return paths


class ContainerCheckpointHandler(SpooledExportHandler):

    @web.authenticated
    @authorized
    async def post(self, name: str, version: str | None = None) -> None:
        flags: dict[str, Any] = {field: self.q_bool(flag)
                                 for flag, field in _CHECKPOINT_FLAGS.items()}
        opts = CheckpointOptions(**flags)
        compression = self.q("compression")
        if compression:
            opts.compression = compression
        export = self.q_bool("export")
        ctr = await self.service.lookup(self.principal, name, "checkpoint")
        target: Path | None = None
        if export:
            fd, target = new_spool_file(self.service.runtime, "checkpoint")
            os.close(fd)
            opts.target_file = target
        self.spool = target
        try:
            stats = await self.service.checkpoint(self.principal, ctr, opts)
            if target is None:
                self.reply_json(stats.to_dict())
                return
            self.set_status(200)
            self.set_header("Content-Type", "application/x-tar")
            feed = iterate_in_thread(read_chunks(target), name="ctr-ckpt-export")
            with feed:
                async for chunk in feed:
                    self.write(chunk)
                    await self.flush()
                    if self.client_gone:
                        return
            self.finish(set_content_type="application/x-tar")
        finally:
            if target is not None:
                with contextlib.suppress(FileNotFoundError):
                    target.unlink()


class ContainerRestoreHandler(UploadHandler):
    """``?import=true`` restores the archive in the body as a new container (``name`` gives
    it a new name and ID, as podman's); otherwise ``{name}`` is restored from its own
    checkpoint (and a body, if any, is ignored: nothing is spooled)."""

    def wants_body(self) -> bool:
        return super().wants_body() and self.q_bool("import")

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()
        if self.upload is not None:  # the policy may refuse the size before it is sent
            length = params.as_int("Content-Length",
                                   self.request.headers.get("Content-Length"), 0) or 0
            if length:
                await self.service.check_import_size(self.principal, length)

    @web.authenticated
    @authorized
    async def post(self, name: str, version: str | None = None) -> None:
        flags: dict[str, Any] = {field: self.q_bool(flag)
                                 for flag, field in _RESTORE_FLAGS.items()}
        opts = CheckpointOptions(**flags)
        new_name = self.q("name") or None
        if self.q_bool("import"):
            archive = self.upload_path()
            # a chunked body announced no size: its spooled one
            await self.service.check_import_size(self.principal, archive.stat().st_size)
            ctr = await self.service.restore_import(self.principal, archive, new_name, opts)
            self.reply_json({"Id": ctr.id})
            return
        stats = await self.service.restore(self.principal, name, opts)
        self.reply_json(stats.to_dict())


def routes() -> list[tuple[str, type, dict[str, Any]]]:
    kw = {"flavor": "libpod"}
    return [
        (f"{LIBPOD}/containers/{NAME}/checkpoint", ContainerCheckpointHandler, kw),
        (f"{LIBPOD}/containers/{NAME}/restore", ContainerRestoreHandler, kw),
    ]
