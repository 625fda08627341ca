"""Image routes: list, inspect, exists, import (tarball in the request body), remove, pull
and push (streamed JSON progress), load (an archive as the body) and save (a streamed
archive), and ours: build-demo."""

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
from ...engine.errors import CtrError, InvalidArgumentError
from ...engine.images import Image
from ...engine.images.registry import normalize_remote_reference, registry_of
from ...engine.images.transfer import remote_name
from .. import errors, models, params, registry_auth
from ..spool import new_spool_file, spool_dir
from .base import DOCKER, LIBPOD, CtrHandler
from .containers import stream_body

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
        """podman's rmi: by one of several names only that name goes ([{"Untagged"}]); the
        image goes with its last name or by ID (by ID with several names: 409 without
        ``force``, which removes no container here: 409 while one uses the image)."""
        report = await self.service.remove_image(self.principal, name,
                                                 force=self.q_bool("force"))
        if self.docker:
            self.reply_json(models.image_docker_remove_report(report))
        else:
            self.reply_json(models.image_libpod_remove_report(report))


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


class JSONStreamHandler(CtrHandler):
    """A route that answers 200 at once and then streams JSON objects, one a line, as podman
    and Docker do for pull and push: a failure after the 200 is a last ``{"error": ...}``
    object (Docker's adds ``errorDetail``)."""

    def start_stream(self) -> None:
        self.set_status(200)
        self.set_header("Content-Type", "application/json")

    async def send(self, objs: list[dict[str, Any]]) -> None:
        self.write("".join(json.dumps(obj) + "\n" for obj in objs))
        await self.flush()

    async def relay(self, feed: Any, render: Any, first: list[dict[str, Any]] | None = None
                    ) -> None:
        """Send ``first``, then ``render(item)`` (a list of objects) for each item of
        ``feed``; a failure becomes the stream's error object."""
        self.start_stream()
        await self.send(first or [])
        try:
            with feed:
                async for item in feed:
                    await self.send(render(item))
                    if self.client_gone:
                        return
        except Exception as exc:  # noqa: BLE001 - reported in the stream, as podman does
            if not isinstance(exc, CtrError):
                self.log.exception("%s %s", self.request.method, self.request.path)
            status = errors.status_for(exc, self.error_overrides())
            message = errors.redact_text(errors.error_body(exc, status)["message"],
                                         self.internal_paths())
            error = models.stream_error_docker if self.docker else models.stream_error_libpod
            await self.send([error(message)])
        self.finish()


class ImagePullHandler(JSONStreamHandler):
    """Pull. libpod: ``?reference=&tlsVerify=&quiet=``; Docker: ``/images/create?fromImage=
    &tag=``. A reference that names a registry host (``quay.io/x``, ``127.0.0.1:5000/x``)
    is pulled through skopeo, its progress streamed; a local-only name (``busybox``,
    ``localhost/x``) is answered from the store, 404 when it is not here (what ``docker
    run`` asks before creating). Credentials: the X-Registry-Auth header."""

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
        if not remote_name(ref):
            await self.answer_local(ref)
            return
        reference = await self.service.check_pull(self.principal, ref)
        quiet = not self.docker and self.q_bool("quiet")
        # Docker treats registries on the loopback as insecure (plain http) by default.
        tls_verify = self.q_bool("tlsVerify", not (self.docker and _loopback(reference)))

        def render(item: str | Image) -> list[dict[str, Any]]:
            if isinstance(item, str):
                if quiet:
                    return []
                return [(models.pull_docker_line if self.docker else
                         models.pull_libpod_line)(item)]
            if self.docker:
                return models.pull_docker_done(item, reference)
            return [models.pull_libpod_done(item)]

        with registry_auth.auth_file(self.service.runtime,
                                     self.request.headers.get(registry_auth.HEADER),
                                     registry_of(reference)) as auth:
            await self.relay(self.service.pull_feed(self.principal, reference,
                                                    tls_verify=tls_verify, auth_file=auth),
                             render)

    async def answer_local(self, ref: str) -> None:
        img = await self.service.lookup_image(self.principal, ref, "image.inspect")
        lines: list[dict[str, Any]]
        if self.docker:
            lines = [{"status": f"Image {ref} is present locally"},
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


class ImageTagHandler(CtrHandler):
    """``POST /libpod/images/{name}/tag?repo=&tag=`` and Docker's ``POST /images/{name}/tag``:
    201, no body (as podman); no tag: repo as given (latest unless it has one)."""

    @web.authenticated
    @authorized
    async def post(self, name: str, version: str | None = None) -> None:
        repo, tag = self.q("repo") or "", self.q("tag") or ""
        if not repo:
            raise errors.bad_request("repo is required: name the image's new name")
        await self.service.tag_image(self.principal, name, f"{repo}:{tag}" if tag else repo)
        self.reply_empty(201)


class ImageUntagHandler(CtrHandler):
    """``POST /libpod/images/{name}/untag?repo=&tag=``: 201, no body (as podman); without
    repo every name of the image is removed."""

    @web.authenticated
    @authorized
    async def post(self, name: str, version: str | None = None) -> None:
        repo, tag = self.q("repo") or "", self.q("tag") or ""
        if tag and not repo:
            raise errors.bad_request("a tag needs a repo: give repo= too")
        refs = [f"{repo}:{tag}" if tag else repo] if repo else []
        await self.service.untag_image(self.principal, name, refs)
        self.reply_empty(201)


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


def _loopback(reference: str) -> bool:
    host = registry_of(reference).rsplit(":", 1)[0]
    return host == "localhost" or host.startswith("127.") or host == "[::1]"


class ImagePushHandler(JSONStreamHandler):
    """Push. libpod: ``/libpod/images/{name}/push?destination=&tlsVerify=&quiet=`` (stream
    of ``{"stream"}``, then ``{"manifestdigest"}``); Docker: ``/images/{name}/push?tag=``
    (to the image's own name). Credentials: the X-Registry-Auth header."""

    @web.authenticated
    @authorized
    async def post(self, name: str, version: str | None = None) -> None:
        destination: str | None = None
        ref = name
        if self.docker:
            tag = self.q("tag")
            if tag and ":" not in name.rsplit("/", 1)[-1]:
                ref = f"{name}:{tag}"
        else:
            destination = self.q("destination") or None
        await self.service.lookup_image(self.principal, ref, "image.push")
        try:
            target = normalize_remote_reference(destination or ref)
        except InvalidArgumentError as exc:
            raise errors.bad_request(str(exc)) from None
        quiet = not self.docker and self.q_bool("quiet")
        tls_verify = self.q_bool("tlsVerify", not (self.docker and _loopback(target)))

        digest_object = self.docker or _sends_push_digest(version)

        def render(item: str | tuple[str, str]) -> list[dict[str, Any]]:
            if isinstance(item, tuple):
                if self.docker:
                    return models.push_docker_done(target, item[1])
                return [models.push_libpod_done(item[1])] if digest_object else []
            if quiet:
                return []
            return [(models.push_docker_line if self.docker else models.push_libpod_line)(
                item)]

        with registry_auth.auth_file(self.service.runtime,
                                     self.request.headers.get(registry_auth.HEADER),
                                     registry_of(target)) as auth:
            first = [{"status": f"The push refers to repository [{target.rsplit(':', 1)[0]}]"}
                     ] if self.docker else []
            await self.relay(self.service.push_feed(self.principal, ref, destination,
                                                    tls_verify=tls_verify, auth_file=auth),
                             render, first)


def _sends_push_digest(version: str | None) -> bool:
    """Whether a libpod push stream may end with ``{"manifestdigest"}``: podman 4.6 added
    it, and the podman 4.1-4.5 clients (which name their own version in the path) stop at an
    object they do not know. v4.0.0 is the generic API version (our client, podman-py)."""
    try:
        numbers = tuple(int(p) for p in (version or "").split(".")[:3])
    except ValueError:
        return True
    return not (4, 0, 1) <= numbers < (4, 6)


class ImageLoadHandler(UploadHandler):
    """Load: an archive (docker-archive, oci-archive) as the body. libpod:
    ``{"Names": [...]}``; Docker: a stream of ``{"stream": "Loaded image: NAME\n"}``."""

    def authorize_upload(self) -> None:
        self.service.door(self.principal).authorize("image.load", None)

    @web.authenticated
    @authorized
    async def post(self, version: str | None = None) -> None:
        path = self.upload_path()
        images = await self.service.load_images(self.principal, path)
        if self.docker:
            self.set_status(200)
            self.set_header("Content-Type", "application/json")
            self.finish("".join(json.dumps(line) + "\n"
                                for line in models.image_docker_load_lines(images)))
        else:
            self.reply_json(models.image_libpod_load_report(images))


class ImageSaveHandler(CtrHandler):
    """Save as a streamed tarball (never whole in memory). libpod:
    ``/libpod/images/{name}/get?format=&compress=`` and ``/libpod/images/export?references=
    &format=&compress=``; Docker: ``/images/{name}/get`` and ``/images/get?names=``
    (docker-archive)."""

    @web.authenticated
    @authorized
    async def get(self, name: str | None = None, version: str | None = None) -> None:
        if name is not None:
            refs = [name]
        else:
            refs = self.q_list("names" if self.docker else "references")
        fmt = "docker-archive" if self.docker else (self.q("format") or "docker-archive")
        compress = not self.docker and self.q_bool("compress")
        await self.service.check_save(self.principal, refs, fmt)
        await stream_body(self, self.service.save_feed(self.principal, refs, format=fmt,
                                                       compress=compress),
                          "application/x-tar")


def routes() -> list[tuple[str, type, dict[str, Any]]]:
    out: list[tuple[str, type, dict[str, Any]]] = []
    for flavor, base in (("libpod", LIBPOD), ("docker", DOCKER)):
        kw = {"flavor": flavor}
        i = f"{base}/images"
        out.append((f"{i}/json", ImageListHandler, kw))
        out.append((f"{i}/create" if flavor == "docker" else f"{i}/pull", ImagePullHandler, kw))
        out += [(f"{i}/load", ImageLoadHandler, kw),
                (f"{i}/get" if flavor == "docker" else f"{i}/export", ImageSaveHandler, kw),
                (f"{i}/{NAME}/push", ImagePushHandler, kw),
                (f"{i}/{NAME}/get", ImageSaveHandler, kw)]
        if flavor == "libpod":
            out += [(f"{i}/import", ImageImportHandler, kw),
                    (f"{i}/build-demo", ImageBuildDemoHandler, kw),
                    (f"{i}/{NAME}/exists", ImageExistsHandler, kw)]
        # commit, history, prune: before {NAME}, which would take "prune" as a name
        out += [(f"{base}/commit", CommitHandler, kw), (f"{i}/prune", ImagePruneHandler, kw),
                (f"{i}/{NAME}/history", ImageHistoryHandler, kw)]
        # tag, untag: before {NAME}
        out.append((f"{i}/{NAME}/tag", ImageTagHandler, kw))
        if flavor == "libpod":
            out.append((f"{i}/{NAME}/untag", ImageUntagHandler, kw))
        out += [(f"{i}/{NAME}/json", ImageInspectHandler, kw),
                (f"{i}/{NAME}", ImageRemoveHandler, kw)]
    return out
