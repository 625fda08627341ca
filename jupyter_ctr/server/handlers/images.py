"""Image routes: list, inspect, exists, import (tarball in the request body), remove, and
ours: build-demo."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...engine import Runtime
from .. import errors, models, params
from ..spool import new_spool_file, spool_dir
from .base import DOCKER, LIBPOD, CtrHandler

#: What ``jupyter-ctr image build-demo`` names the demo image by default.
DEMO_REFERENCE = "localhost/busybox:latest"
#: Image references contain slashes (localhost/busybox:latest), and clients keep them.
NAME = r"(?P<name>.+?)"


class ImageListHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def get(self, version: str | None = None) -> None:
        images, users = await self.service.list_images(self.principal)
        build = models.image_docker_summary if self.docker else models.image_libpod_summary
        self.reply_json([build(img, users.get(img.id, 0)) for img in images])


class ImageInspectHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str, version: str | None = None) -> None:
        img = await self.service.lookup_image(self.principal, name)
        build = models.image_docker_inspect if self.docker else models.image_libpod_inspect
        self.reply_json(build(img))


class ImageExistsHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str, version: str | None = None) -> None:
        await self.service.lookup_image(self.principal, name)
        self.reply_empty(204)


class ImageRemoveHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def delete(self, name: str, version: str | None = None) -> None:
        img, image_id = await self.service.remove_image(self.principal, name)
        if self.docker:
            self.reply_json(models.image_docker_remove_report(image_id, img.names))
        else:
            self.reply_json(models.image_libpod_remove_report(image_id, img.names))


@web.stream_request_body
class UploadHandler(CtrHandler):
    """Spools the request body into a file in the engine's run root (server/spool.py: never
    a path the client names), so large tarballs never sit in memory. Only requests that
    expect a body (``wants_body``) spool; others discard what they are sent."""

    upload: Any = None

    def wants_body(self) -> bool:
        return self.request.method == "POST"

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()
        if not self.wants_body():
            return
        self.authorize_upload()
        if self.request.connection is not None and hasattr(self.request.connection,
                                                           "set_max_body_size"):
            self.request.connection.set_max_body_size(max_upload(self.service.runtime))
        length = params.as_int("Content-Length", self.request.headers.get("Content-Length"),
                               0, minimum=0) or 0
        free = shutil.disk_usage(spool_dir(self.service.runtime)).free
        if length > free:
            raise errors.RouteError(413, f"the request body ({length} bytes) is larger than "
                                    f"the {free} bytes free to receive it", "payload too large")
        fd, path = new_spool_file(self.service.runtime)
        self.upload = (os.fdopen(fd, "wb"), path)
        self.spool_error = ""

    def authorize_upload(self) -> None:
        """Refuse before a byte is received when the policy would refuse what the body is
        for (default: decided when the request is handled)."""

    def data_received(self, chunk: bytes) -> None:
        if self.upload is None or self.spool_error:
            return
        try:
            self.upload[0].write(chunk)
        except OSError as exc:  # the spool's file system is full: drop the rest, say so
            self.spool_error = exc.strerror or str(exc)
            self.upload[0].truncate(0)

    def upload_path(self) -> Path:
        if self.upload is None:
            raise errors.bad_request("this request takes no body")
        if self.spool_error:
            raise errors.RouteError(413, f"the request body could not be received: "
                                    f"{self.spool_error}", "payload too large")
        fh, path = self.upload
        fh.close()
        if path.stat().st_size == 0:
            raise errors.bad_request("the request body is empty: send the tarball as the body")
        return path  # type: ignore[no-any-return]

    def internal_paths(self) -> list[tuple[str, str]]:
        paths = super().internal_paths()
        if self.upload is not None:
            paths.append((str(self.upload[1]), "the uploaded archive"))
        return paths

    def discard_upload(self) -> None:
        """Remove the spool file (once its request is answered, or its client gone)."""
        if self.upload is not None:
            fh, path = self.upload
            self.upload = None
            fh.close()
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def finish(self, *args: Any, **kwargs: Any) -> Any:
        # Before the answer goes out: a client that has it finds no spool file left.
        self.discard_upload()
        return super().finish(*args, **kwargs)

    def on_finish(self) -> None:
        self.discard_upload()

    def on_connection_close(self) -> None:
        super().on_connection_close()
        self.discard_upload()


class ImageBuildDemoHandler(CtrHandler):
    """``POST /libpod/images/build-demo?reference=NAME`` (ours: ``jupyter-ctr image
    build-demo`` through the service): the demo busybox image built on the engine's host
    (once: an existing one is answered as it is). ``{"Id": ...}``."""

    @web.authenticated
    @authorized
    async def post(self, version: str | None = None) -> None:
        reference = self.q("reference") or DEMO_REFERENCE
        img = await self.service.build_demo(self.principal, reference)
        self.reply_json(models.image_import_report(img.id))


def max_upload(rt: Runtime) -> int:
    """The largest request body to spool: an archive holding the engine's largest allowed
    content (archive_max_size), with room for tar headers and compression overhead."""
    limit = rt.images.limits.max_size
    return limit + (limit >> 6) + (1 << 20)


class ImageImportHandler(UploadHandler):
    """``POST /libpod/images/import?reference=NAME`` with a rootfs or OCI tarball as body."""

    def authorize_upload(self) -> None:
        self.service.door(self.principal).authorize("image.import", self.q("reference"))

    @web.authenticated
    @authorized
    async def post(self, version: str | None = None) -> None:
        reference = self.q("reference")
        if not reference:
            raise errors.bad_request("reference is required: name the imported image")
        path = self.upload_path()
        img = await self.service.import_image(self.principal, path, reference)
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
        img = await self.service.lookup_image(self.principal, ref, "image.pull")
        lines: list[dict[str, Any]]
        if self.docker:
            lines = [{"status": f"Image {ref} is present locally (pulling is not supported)"},
                     {"status": f"Digest: sha256:{img.id}"}]
        else:
            lines = [{"stream": f"image {ref} is present locally\n"},
                     {"images": [img.id], "id": img.id}]
        self.set_status(200)
        self.finish("".join(json.dumps(line) + "\n" for line in lines))


class CommitHandler(CtrHandler):
    """``POST /libpod/commit`` and Docker's ``POST /commit``: ``?container=&repo=&tag=
    &comment=&author=&pause=&changes=`` (changes repeated, as Docker's and podman's clients
    send them). ``{"Id": ...}``: 200 in libpod, 201 in Docker (as podman)."""

    @web.authenticated
    @authorized
    async def post(self, version: str | None = None) -> None:
        container = self.q("container")
        if not container:
            raise errors.bad_request("container is required: name the container to commit")
        repo, tag = self.q("repo") or "", self.q("tag") or ""
        if tag and not repo:
            raise errors.bad_request("a tag needs a repo: give repo= too")
        reference = f"{repo}:{tag}" if repo and tag else repo or None
        fmt = self.q("format") or "oci"
        if fmt not in ("oci", "docker"):
            raise errors.bad_request(f"invalid format {fmt!r}: use oci or docker")
        changes = [c for c in self.q_list("changes") if c.strip()]
        img = await self.service.commit(
            self.principal, container, reference, changes=changes,
            message=self.q("comment") or "", author=self.q("author") or "",
            pause=self.q_bool("pause", True))
        self.reply_json(models.image_commit_report(img.id, self.docker),
                        201 if self.docker else 200)


class ImageHistoryHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str, version: str | None = None) -> None:
        rows = await self.service.image_history(self.principal, name)
        self.reply_json(models.image_history_items(rows, self.docker))


class ImagePruneHandler(CtrHandler):
    """``POST /libpod/images/prune?all=&filters=`` and Docker's ``POST /images/prune
    ?filters=`` (``{"dangling": ["false"]}`` is Docker's all)."""

    @web.authenticated
    @authorized
    async def post(self, version: str | None = None) -> None:
        filters = params.as_filters(self.q("filters"))
        unknown = set(filters) - {"dangling"}
        if unknown:
            raise errors.bad_request(f"invalid filter {sorted(unknown)[0]!r}: image prune "
                                     "takes dangling=true|false")
        dangling = [v.lower() for v in filters.get("dangling", [])]
        if any(v not in ("true", "false", "1", "0") for v in dangling):
            raise errors.bad_request("invalid filter dangling: want true or false")
        prune_all = self.q_bool("all", False) or any(v in ("false", "0") for v in dangling)
        removed = await self.service.prune_images(self.principal, prune_all)
        if self.docker:
            self.reply_json(models.image_docker_prune_report(removed))
        else:
            self.reply_json(models.image_libpod_prune_report(removed))


def routes() -> list[tuple[str, type, dict[str, Any]]]:
    out: list[tuple[str, type, dict[str, Any]]] = []
    for flavor, base in (("libpod", LIBPOD), ("docker", DOCKER)):
        kw = {"flavor": flavor}
        i = f"{base}/images"
        out.append((f"{i}/json", ImageListHandler, kw))
        out.append((f"{i}/create" if flavor == "docker" else f"{i}/pull", ImagePullHandler, kw))
        if flavor == "libpod":
            out += [(f"{i}/import", ImageImportHandler, kw),
                    (f"{i}/build-demo", ImageBuildDemoHandler, kw),
                    (f"{i}/{NAME}/exists", ImageExistsHandler, kw)]
        # commit, history, prune: before {NAME}, which would take "prune" as a name
        out += [(f"{base}/commit", CommitHandler, kw), (f"{i}/prune", ImagePruneHandler, kw),
                (f"{i}/{NAME}/history", ImageHistoryHandler, kw)]
        out += [(f"{i}/{NAME}/json", ImageInspectHandler, kw),
                (f"{i}/{NAME}", ImageRemoveHandler, kw)]
    return out
