"""The checkpoint timeline (ours, under ``/ctr/api``; engine/container_timeline.py):

* ``GET  /api/containers/{name}/snapshots``: the snapshots, oldest first;
* ``POST /api/containers/{name}/snapshots?step=S[&replace=1]``: take one (201);
* ``POST /api/containers/{name}/snapshots/{step}/rewind``: rewind in place;
* ``DELETE /api/containers/{name}/snapshots/{step}``: remove one (204);
* ``GET  /api/containers/{name}/snapshots/{step}/export``: the archive (application/x-tar);
* ``POST /api/snapshots/import[?name=N]``: a new container from an exported archive in the
  body (201, ``{"Id", "Name"}``).

Snapshots are ``{"Name", "Kind", "Created", "Size", "Reason"}`` (Snapshot.to_dict). As for
checkpoint archives, the file between the engine and the client lives in the run root under
a name the server picks.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...service.streams import iterate_in_thread
from .. import errors, params
from ..spool import new_spool_file
from .base import NAME, CtrHandler
from .checkpoint import SpooledExportHandler, read_chunks
from .images import UploadHandler

#: A step name in a path (the engine checks it: engine/timeline.check_step).
STEP = r"(?P<step>[^/]+)"


class SnapshotsHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        snaps = await self.service.timeline(self.principal, "snapshots", name)
        self.reply_json([s.to_dict() for s in snaps])

    @web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        step = self.q("step")
        if not step:
            raise errors.bad_request("the step name is missing: ?step=NAME")
        snap = await self.service.timeline(self.principal, "snapshot", name, step,
                                           self.q_bool("replace"))
        self.reply_json(snap.to_dict(), 201)


class SnapshotHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def delete(self, name: str, step: str) -> None:
        await self.service.timeline(self.principal, "remove_snapshot", name, step)
        self.reply_empty(204)


class RewindHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def post(self, name: str, step: str) -> None:
        snap = await self.service.timeline(self.principal, "rewind", name, step)
        self.reply_json(snap.to_dict())


class SnapshotExportHandler(SpooledExportHandler):

    @web.authenticated
    @authorized
    async def get(self, name: str, step: str) -> None:
        fd, target = new_spool_file(self.service.runtime, "snapshot")
        os.close(fd)
        self.spool = target
        try:
            await self.service.timeline(self.principal, "export_snapshot", name, step, target)
            self.set_status(200)
            self.set_header("Content-Type", "application/x-tar")
            self.set_header("Content-Disposition",
                            f'attachment; filename="{step}.tar.gz"')
            feed = iterate_in_thread(read_chunks(target), name="ctr-snapshot-export")
            with feed:
                async for chunk in feed:
                    self.write(chunk)
                    await self.flush()
                    if self.client_gone:
                        return
            self.finish(set_content_type="application/x-tar")
        finally:
            with contextlib.suppress(FileNotFoundError):
                target.unlink()


class SnapshotImportHandler(UploadHandler):
    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()
        if self.upload is not None:  # the policy may refuse the size before it is sent
            length = params.as_int("Content-Length",
                                   self.request.headers.get("Content-Length"), 0) or 0
            if length:
                await self.service.check_import_size(self.principal, length)

    @web.authenticated
    @authorized
    async def post(self) -> None:
        archive = self.upload_path()
        await self.service.check_import_size(self.principal, archive.stat().st_size)
        ctr = await self.service.timeline(self.principal, "import_snapshot", archive,
                                          self.q("name") or None)
        self.reply_json({"Id": ctr.id, "Name": ctr.name}, 201)


def routes() -> list[tuple[str, type, dict[str, Any]]]:
    base = f"/api/containers/{NAME}/snapshots"
    return [
        (base, SnapshotsHandler, {}),
        (f"{base}/{STEP}/rewind", RewindHandler, {}),
        (f"{base}/{STEP}/export", SnapshotExportHandler, {}),
        (f"{base}/{STEP}", SnapshotHandler, {}),
        ("/api/snapshots/import", SnapshotImportHandler, {}),
    ]
