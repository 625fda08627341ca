"""Image routes: list, inspect, exists, import (tarball in the request body), remove."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...engine import Runtime
from ...engine.images import Image
from .. import errors, models
from .base import DOCKER, LIBPOD, CtrHandler

#: Image references contain slashes (localhost/busybox:latest), and clients keep them.
NAME = r"(?P<name>.+?)"

#: Largest upload accepted in a request body (image import, checkpoint restore).
MAX_UPLOAD = 16 << 30


def _users(rt: Runtime) -> dict[str, int]:
    out: dict[str, int] = {}
    for ctr in rt.list_containers(all=True):
        image_id = str(ctr.config.get("image_id"))
        out[image_id] = out.get(image_id, 0) + 1
    return out


def _list(rt: Runtime) -> tuple[list[Image], dict[str, int]]:
    return rt.list_images(), _users(rt)


class ImageListHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def get(self, version: str | None = None) -> None:
        images, users = await self.backend.run(_list, self.rt)
        build = models.image_docker_summary if self.docker else models.image_libpod_summary
        self.reply_json([build(img, users.get(img.id, 0)) for img in images])


class ImageInspectHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str, version: str | None = None) -> None:
        img = await self.backend.run(self.rt.get_image, name)
        build = models.image_docker_inspect if self.docker else models.image_libpod_inspect
        self.reply_json(build(img))


class ImageExistsHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str, version: str | None = None) -> None:
        await self.backend.run(self.rt.get_image, name)
        self.reply_empty(204)


class ImageRemoveHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def delete(self, name: str, version: str | None = None) -> None:
        img = await self.backend.run(self.rt.get_image, name)
        image_id = await self.backend.run(self.rt.remove_image, img.id)
        if self.docker:
            self.reply_json(models.image_docker_remove_report(image_id, img.names))
        else:
            self.reply_json(models.image_libpod_remove_report(image_id, img.names))


def upload_dir(rt: Runtime) -> Path:
    """Where request bodies are spooled: a private directory under the engine's run root."""
    path = rt.run_root / "uploads"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


@web.stream_request_body
class UploadHandler(CtrHandler):
    """Spools the request body into a temporary file in the engine's run root (never a path
    the client names), so large tarballs never sit in memory."""

    upload: Any = None

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()
        if self.request.connection is not None and hasattr(self.request.connection,
                                                           "set_max_body_size"):
            self.request.connection.set_max_body_size(MAX_UPLOAD)
        fd, path = tempfile.mkstemp(prefix="upload-", suffix=".tar", dir=upload_dir(self.rt))
        self.upload = (os.fdopen(fd, "wb"), Path(path))

    def data_received(self, chunk: bytes) -> None:
        self.upload[0].write(chunk)

    def upload_path(self) -> Path:
        fh, path = self.upload
        fh.close()
        if path.stat().st_size == 0:
            raise errors.bad_request("the request body is empty: send the tarball as the body")
        return path  # type: ignore[no-any-return]

    def on_finish(self) -> None:
        if self.upload is not None:
            fh, path = self.upload
            fh.close()
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def on_connection_close(self) -> None:
        super().on_connection_close()
        self.on_finish()


class ImageImportHandler(UploadHandler):
    """``POST /libpod/images/import?reference=NAME`` with a rootfs or OCI tarball as body."""

    @web.authenticated
    @authorized
    async def post(self, version: str | None = None) -> None:
        reference = self.q("reference")
        if not reference:
            raise errors.bad_request("reference is required: name the imported image")
        path = self.upload_path()
        img = await self.backend.run_long(self.rt.import_image, path, reference)
        self.reply_json(models.image_import_report(img.id))


class ImagePullHandler(CtrHandler):
    """Pull: no registry is reachable from the engine, so a pull succeeds only for an image
    that is already here (what ``podman run``/``docker run`` ask before creating) and fails
    with 404 otherwise. libpod: ``?reference=``; Docker: ``/images/create?fromImage=&tag=``."""

    @web.authenticated
    @authorized
    async def post(self, version: str | None = None) -> None:
        if self.docker:
            ref = self.q("fromImage") or ""
            tag = self.q("tag")
            if tag and ":" not in ref.rsplit("/", 1)[-1] and "@" not in ref:
                ref = f"{ref}:{tag}"
        else:
            ref = self.q("reference") or ""
        if not ref:
            raise errors.bad_request("no image reference given to pull")
        img = await self.backend.run(self.rt.get_image, ref)
        if self.docker:
            lines = [{"status": f"Image {ref} is present locally (pulling is not supported)"},
                     {"status": f"Digest: sha256:{img.id}"}]
        else:
            lines = [{"stream": f"image {ref} is present locally\n"},
                     {"images": [img.id], "id": img.id}]
        self.set_status(200)
        self.finish("".join(json.dumps(line) + "\n" for line in lines))


def routes() -> list[tuple[str, type, dict[str, Any]]]:
    out: list[tuple[str, type, dict[str, Any]]] = []
    for flavor, base in (("libpod", LIBPOD), ("docker", DOCKER)):
        kw = {"flavor": flavor}
        i = f"{base}/images"
        out.append((f"{i}/json", ImageListHandler, kw))
        out.append((f"{i}/create" if flavor == "docker" else f"{i}/pull", ImagePullHandler, kw))
        if flavor == "libpod":
            out += [(f"{i}/import", ImageImportHandler, kw),
                    (f"{i}/{NAME}/exists", ImageExistsHandler, kw)]
        out += [(f"{i}/{NAME}/json", ImageInspectHandler, kw),
                (f"{i}/{NAME}", ImageRemoveHandler, kw)]
    return out
