"""Runtime over the service: the engine's Runtime methods (engine/runtime.py) that front ends
use, answered by ``jupyter-ctr service`` on its unix socket (libpod v4 routes). Inputs are
parsed here with the engine's own parsers where the service takes plain values (memory,
environment, restart policy), so a bad one gives the engine's message before any request.
"""

from __future__ import annotations

import base64
import json
import os
import threading

from ..engine.errors import (
    InvalidArgumentError,
    NoSuchContainerError,
    NoSuchExecSessionError,
    NoSuchImageError,
    RegistryError,
)
from . import records
from .container import Container, dump_query
from .errors import error_in_stream
from .host import socket_path
from .transport import Transport, path_part

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence
    from datetime import datetime
    from typing import Any

    from ..engine.checkpoint import CheckpointOptions, CheckpointStats
    from ..engine.events import Event
    from ..engine.images import Image
    from ..engine.images.records import ImageRemoveReport
    from ..engine.records import ContainerSnapshot
    from .exec import ExecSession

_STOP_POLL = 0.2


def _unix_time(value: float | datetime | None) -> float | None:
    if value is None or isinstance(value, (int, float)):
        return value
    return value.timestamp()


class ImageAccess:
    """``Runtime.images`` as far as the service serves it."""

    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    def get(self, reference: str) -> Image:
        return self._rt.get_image(reference)

    def list(self) -> list[Image]:
        return self._rt.list_images()

    def build_demo(self, reference: str = "localhost/busybox:latest") -> Image:
        """The demo image, built on the engine's host (once) by the service; a multi-user
        service lets instructors only (policy action ``image.build``)."""
        built = self._rt.api.json("POST", "/images/build-demo", {"reference": reference})
        return self._rt.get_image(built["Id"])


class Runtime:
    """The engine behind the service at ``url`` (``unix:///PATH`` or a socket path)."""

    def __init__(self, url: str) -> None:
        self.socket = socket_path(url)
        self.api = Transport(self.socket)
        self.images = ImageAccess(self)

    def __repr__(self) -> str:
        return f"<Runtime unix://{self.socket} (remote)>"

    def close(self) -> None:
        self.api.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ping(self) -> None:
        """Raise ServiceUnavailableError unless the service answers."""
        self.api.request("GET", "/_ping")

    def info(self) -> dict[str, Any]:
        """libpod's info (host, store, version) as the service reports it."""
        return dict(self.api.json("GET", "/info"))

    def host_info(self) -> dict[str, Any]:
        """What ``jupyter-ctr info`` shows (engine/health.host_info's shape), as far as the
        service's info tells: its host, runtime, conmon and store."""
        info = self.info()
        host, store = info.get("host") or {}, info.get("store") or {}
        ctrs = store.get("containerStore") or {}
        return {
            "remote": {"url": f"unix://{self.socket}",
                       "api_version": (info.get("version") or {}).get("APIVersion", "")},
            "host": {"kernel": host.get("kernel", ""), "arch": host.get("arch", ""),
                     "cpus": host.get("cpus", 0),
                     "cgroups": host.get("cgroupVersion", "")},
            "runtime": {"name": (host.get("ociRuntime") or {}).get("name", ""), "ok": True},
            "conmon": {"path": (host.get("conmon") or {}).get("path", ""), "ok": True},
            "store": {"root": store.get("graphRoot", ""), "run_root": store.get("runRoot", ""),
                      "containers": {k: ctrs.get(k, 0) for k in ("running", "paused",
                                                                 "stopped")},
                      "images": (store.get("imageStore") or {}).get("number", 0)},
            "ok": True,
        }

    # -- containers -----------------------------------------------------------------------
    def lookup_container(self, name_or_id: str | Container | Any) -> Container:
        """The container a name, full ID or unique ID prefix names (a Container of this
        client is taken as it is; another object with an ``id``, such as the engine's own
        Container, is looked up by it). Raises NoSuchContainerError."""
        if isinstance(name_or_id, Container):
            return name_or_id
        if not isinstance(name_or_id, str):
            name_or_id = str(name_or_id.id)
        insp = self.api.json("GET", f"/containers/{path_part(name_or_id)}/json")
        return Container(self, records.snapshot_from_inspect(insp))

    def container_spec(self, name_or_id: str | Container | Any) -> dict[str, Any]:
        """The spec that would create this container again (service/cellspec.py's
        canonical dict): GET /api/containers/{name}/spec?format=json."""
        ref = name_or_id if isinstance(name_or_id, str) else str(name_or_id.id)
        return dict(self.api.json("GET", f"/api/containers/{path_part(ref)}/spec",
                                  {"format": "json"}, not_found=NoSuchContainerError))

    def list_snapshots(self, *, all: bool = False,  # noqa: A002 - podman's flag
                       filters: Mapping[str, Sequence[str]] | None = None,
                       limit: int | None = None) -> list[ContainerSnapshot]:
        """The service's container list (filtered and limited there), newest first."""
        items = self.api.json("GET", "/containers/json", {
            "all": all, "filters": dump_query(filters), "limit": limit})
        return [records.snapshot_from_list_item(item) for item in items]

    def list_containers(self, all: bool = False) -> list[Container]:  # noqa: A002 - podman's flag
        """Running containers, or every one with ``all`` (oldest first, as the engine's)."""
        snaps = self.list_snapshots(all=all)
        snaps.sort(key=lambda s: s.config.created)
        return [Container(self, snap, full=False) for snap in snaps]

    def create_container(self, image: str, command: Sequence[str] | str | None = None, *,
                         name: str | None = None,
                         env: Mapping[str, str] | Sequence[str] | None = None,
                         workdir: str | None = None, user: str | None = None,
                         tty: bool = False, stdin: bool = False,
                         labels: Mapping[str, str] | None = None,
                         stop_signal: str | int | None = None, stop_timeout: int = 10,
                         memory: int | str | None = None, pids_limit: int | None = None,
                         cpus: float | None = None, network: str = "none",
                         auto_remove: bool = False, restart_policy: str = "no",
                         depends_on: Sequence[str | Container] = (),
                         log_size_max: int | str | None = None) -> Container:
        """Create a container (CONFIGURED) from an image: libpod's SpecGenerator."""
        from ..engine.logs import parse_log_size  # noqa: PLC0415 - lazy: create only
        from ..engine.parsing import (  # noqa: PLC0415 - lazy: create only
            parse_command,
            parse_env,
            parse_memory,
            parse_restart_policy,
        )

        spec: dict[str, Any] = {"image": image, "terminal": tty, "stdin": stdin,
                                "remove": auto_remove, "netns": {"nsmode": network},
                                "stop_timeout": stop_timeout}
        if stop_signal is not None:  # else the image's StopSignal, or SIGTERM
            spec["stop_signal"] = stop_signal
        if command is not None:
            spec["command"] = parse_command(command, "no command specified: the command must "
                                                     "not be empty")
        if name is not None:
            spec["name"] = name
        if env is not None:
            spec["env"] = dict(parse_env(env))
        if workdir is not None:
            spec["work_dir"] = workdir
        if user is not None:
            spec["user"] = user
        if labels:
            spec["labels"] = dict(labels)
        limits: dict[str, Any] = {}
        mem = parse_memory(memory)
        if mem:
            limits["memory"] = {"limit": mem}
        if pids_limit:
            limits["pids"] = {"limit": pids_limit}
        if cpus:
            limits["cpu"] = {"quota": round(cpus * 100_000), "period": 100_000}
        if limits:
            spec["resource_limits"] = limits
        policy, retries = parse_restart_policy(restart_policy)
        spec["restart_policy"] = policy
        if retries:
            spec["restart_tries"] = retries
        if depends_on:
            spec["dependencyContainers"] = [d.id if isinstance(d, Container) else d
                                            for d in depends_on]
        size = parse_log_size(log_size_max)
        if size:
            spec["log_configuration"] = {"size": size}
        created = self.api.json("POST", "/containers/create", body=spec,
                                not_found=NoSuchImageError)
        return self.lookup_container(created["Id"])

    def remove_container(self, ctr: Container | str, force: bool = False,
                         timeout: int | None = None) -> None:
        self.lookup_container(ctr).remove(force=force, timeout=timeout)

    def dependents(self, ctr_id: str) -> list[Container]:
        """None seen from here: the service removes a container's dependents with it."""
        return []

    def lookup_exec(self, exec_id: str, container: Container | None = None) -> ExecSession:
        """The exec session with this full ID. Raises NoSuchExecSessionError."""
        from .exec import ExecSession  # noqa: PLC0415 - lazy: CLI start-up (stdio)

        insp = self.api.json("GET", f"/exec/{path_part(exec_id)}/json",
                             not_found=NoSuchExecSessionError)
        if container is None or container.id != insp["ContainerID"]:
            container = self.lookup_container(insp["ContainerID"])
        return ExecSession(container, insp)

    def import_checkpoint(self, archive: str | os.PathLike[str], name: str | None = None,
                          options: CheckpointOptions | None = None,
                          **kw: Any) -> tuple[Container, CheckpointStats]:
        """A new container restored from a checkpoint archive (sent as the body). The
        service answers with the container's ID only: the stats are empty."""
        from ..engine.checkpoint.options import (  # noqa: PLC0415 - lazy: dataclasses
            CheckpointStats,
            check_options,
            merge_options,
        )

        opts = merge_options(options, kw)
        check_options(opts, "restore", "criu")
        query = {"import": True, "name": name or opts.name, "keep": opts.keep,
                 "tcpEstablished": opts.tcp_established, "tcpClose": opts.tcp_close,
                 "ignoreRootFS": opts.ignore_rootfs, "printStats": opts.print_stats,
                 "fileLocks": opts.file_locks}
        with open(archive, "rb") as fh:
            _, data = self.api.request("POST", "/containers/import/restore", query,
                                       upload=fh, upload_size=os.fstat(fh.fileno()).st_size)
        ctr = self.lookup_container(json.loads(data)["Id"])
        return ctr, CheckpointStats(id=ctr.id, name=ctr.name)

    def restore_container(self, archive: str | os.PathLike[str], name: str | None = None,
                          options: CheckpointOptions | None = None, **kw: Any) -> Container:
        return self.import_checkpoint(archive, name, options, **kw)[0]

    def import_snapshot(self, path: str | os.PathLike[str], name: str | None = None
                        ) -> Container:
        """A new container from an exported timeline snapshot (sent as the body)."""
        with open(path, "rb") as fh:
            _, data = self.api.request("POST", "/api/snapshots/import", {"name": name},
                                       upload=fh, upload_size=os.fstat(fh.fileno()).st_size)
        return self.lookup_container(json.loads(data)["Id"])

    # -- images ---------------------------------------------------------------------------
    def get_image(self, reference: str) -> Image:
        insp = self.api.json("GET", f"/images/{path_part(reference)}/json",
                             not_found=NoSuchImageError)
        return records.image_from_inspect(insp)

    def list_images_with_counts(self) -> tuple[list[Image], dict[str, int]]:
        """The images, and per image ID the number of containers using it."""
        items = self.api.json("GET", "/images/json")
        return ([records.image_from_summary(i) for i in items],
                {i["Id"]: int(i.get("Containers") or 0) for i in items})

    def list_images(self) -> list[Image]:
        return self.list_images_with_counts()[0]

    def remove_image(self, reference: str, *, force: bool = False) -> ImageRemoveReport:
        """``DELETE /libpod/images/{name}?force=``: untag one of several names, or remove
        the image (see the engine's Runtime.remove_image)."""
        image_id = self.get_image(reference).id
        report = self.api.json("DELETE", f"/images/{path_part(reference)}",
                               {"force": bool(force)}, not_found=NoSuchImageError)
        return records.image_remove_report(image_id, report if isinstance(report, dict) else {})

    def import_image(self, path: str | os.PathLike[str], reference: str) -> Image:
        """Import a rootfs tarball or OCI archive (sent as the body)."""
        with open(path, "rb") as fh:
            _, data = self.api.request("POST", "/images/import", {"reference": reference},
                                       upload=fh, upload_size=os.fstat(fh.fileno()).st_size)
        return self.get_image(json.loads(data)["Id"])

    # -- commit, history, prune -----------------------------------------------------------
    def commit_container(self, ctr: Container | str, reference: str | None = None, *,
                         changes: Sequence[str] = (), message: str = "", author: str = "",
                         pause: bool = True) -> Image:
        """``POST /libpod/commit``: a new image of the container's changes (see the
        engine's Runtime.commit_container)."""
        ref = ctr.id if isinstance(ctr, Container) else ctr
        answer = self.api.json("POST", "/commit", {
            "container": ref, "repo": reference or None, "changes": list(changes),
            "comment": message or None, "author": author or None, "pause": bool(pause)},
            not_found=NoSuchContainerError)
        return self.get_image(answer["Id"])

    def tag_image(self, reference: str, target: str) -> Image:
        """``POST /libpod/images/{name}/tag?repo=&tag=``: add the name ``target`` (see the
        engine's Runtime.tag_image)."""
        repo, tag = split_repo_tag(target)
        self.api.request("POST", f"/images/{path_part(reference)}/tag",
                         {"repo": repo, "tag": tag}, not_found=NoSuchImageError)
        return self.get_image(reference)

    def untag_image(self, reference: str, names: Sequence[str] = ()) -> Image:
        """``POST /libpod/images/{name}/untag?repo=&tag=``, once per name (none: one call
        without repo, which removes all the image's names)."""
        img = self.get_image(reference)
        path = f"/images/{path_part(img.id)}/untag"
        for name in names:
            repo, tag = split_repo_tag(name)
            self.api.request("POST", path, {"repo": repo, "tag": tag},
                             not_found=NoSuchImageError)
        if not names:
            self.api.request("POST", path, not_found=NoSuchImageError)
        return self.get_image(img.id)

    def image_history(self, reference: str) -> list[dict[str, Any]]:
        """``GET /libpod/images/{name}/history``, as the engine's ImageStore.history rows."""
        items = self.api.json("GET", f"/images/{path_part(reference)}/history",
                              not_found=NoSuchImageError)
        return [{"id": i["Id"], "created": float(i.get("Created") or 0),
                 "created_by": i.get("CreatedBy") or "", "tags": list(i.get("Tags") or []),
                 "size": int(i.get("Size") or 0), "comment": i.get("Comment") or "",
                 "author": "", "empty_layer": False} for i in items]

    def prune_images(self, all: bool = False) -> list[Image]:  # noqa: A002 - podman's flag
        """``POST /libpod/images/prune``: the images removed (id and size known only)."""
        reports = self.api.json("POST", "/images/prune", {"all": bool(all)})
        return [records.image_from_prune_report(r) for r in reports or []]

    # -- labs (ours: /api/labs) --------------------------------------------------------------
    def labs(self) -> list[dict[str, Any]]:
        """``GET /api/labs``: [{"Name", "Containers", "Running", "Owners"}]."""
        return list(self.api.json("GET", "/api/labs") or [])

    def lab_action(self, lab: str, action: str, *, step: str | None = None,
                   timeout: int | None = None) -> list[dict[str, Any]]:
        """``POST /api/labs/{lab}/{action}``: one result per container of the lab."""
        reply = self.api.json("POST", f"/api/labs/{path_part(lab)}/{path_part(action)}",
                              {"step": step, "timeout": timeout})
        return list(reply["Results"])

    # -- pull, push, load, save -------------------------------------------------------------
    def pull_image(self, reference: str, *, tls_verify: bool = True,
                   auth_file: str | None = None,
                   progress: Callable[[str], None] | None = None) -> Image:
        """Pull on the service's host (``POST /images/pull``): its progress lines go to
        ``progress``; credentials from this side's ``auth_file`` travel as X-Registry-Auth.
        A local-only name (``busybox``, ``localhost/x``) is answered from the store."""
        resp = self.api.open("POST", "/images/pull", {
            "reference": reference, "tlsVerify": tls_verify, "quiet": progress is None},
            extra_headers=_auth_header(auth_file), not_found=NoSuchImageError)
        done: dict[str, Any] = {}
        for obj in _json_objects(resp):
            if "error" in obj:
                raise error_in_stream(str(obj["error"]), RegistryError)
            if "stream" in obj and progress is not None:
                progress(str(obj["stream"]).rstrip("\n"))
            if "id" in obj:
                done = obj
        if not done:
            raise RegistryError(f"pull {reference}: the service sent no image")
        return self.get_image(str(done["id"]))

    def push_image(self, reference: str, destination: str | None = None, *,
                   tls_verify: bool = True, auth_file: str | None = None,
                   progress: Callable[[str], None] | None = None) -> str:
        """Push from the service's host (``POST /images/{name}/push``); the digest."""
        resp = self.api.open("POST", f"/images/{path_part(reference)}/push", {
            "destination": destination, "tlsVerify": tls_verify, "quiet": progress is None},
            extra_headers=_auth_header(auth_file), not_found=NoSuchImageError)
        digest = ""
        for obj in _json_objects(resp):
            if "error" in obj:
                raise error_in_stream(str(obj["error"]), RegistryError)
            if "stream" in obj and progress is not None:
                progress(str(obj["stream"]).rstrip("\n"))
            digest = str(obj.get("manifestdigest") or digest)
        return digest

    def load_images(self, path: str | os.PathLike[str]) -> list[Image]:
        """Load an archive (sent as the body) into the service's store."""
        try:
            fh = open(path, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise InvalidArgumentError(f"cannot load {path}: {exc.strerror}") from None
        with fh:
            _, data = self.api.request("POST", "/images/load", upload=fh,
                                       upload_size=os.fstat(fh.fileno()).st_size)
        return [self.get_image(name) for name in json.loads(data).get("Names") or []]

    def save_images(self, references: Sequence[str], dest: Any, *,
                    format: str = "docker-archive",  # noqa: A002 - podman's flag
                    compress: bool = False) -> None:
        """Write the service's images to ``dest`` (a binary file) as it streams them; a
        directory (oci-dir) is not streamed: refused."""
        if format == "oci-dir" or not hasattr(dest, "write"):
            raise InvalidArgumentError(
                "a remote save writes an archive to a file: oci-dir is not supported remotely "
                "(save as oci-archive)")
        resp = self.api.open("GET", "/images/export", {
            "references": list(references), "format": format, "compress": compress},
            not_found=NoSuchImageError)
        for chunk in resp.chunks():
            dest.write(chunk)

    # -- events ---------------------------------------------------------------------------
    def events(self, since: float | datetime | None = None,
               until: float | datetime | None = None,
               filters: Mapping[str, Sequence[str]] | None = None, follow: bool = False,
               stop: threading.Event | Callable[[], bool] | None = None) -> Iterator[Event]:
        """Events in order; with ``follow`` new ones until ``until`` or ``stop``. The request
        is made now: a bad filter raises here, before the first event."""
        resp = self.api.open("GET", "/events", {
            "since": _unix_time(since), "until": _unix_time(until),
            "filters": dump_query(filters), "stream": follow})
        stopped = None if stop is None else \
            (stop.is_set if isinstance(stop, threading.Event) else stop)
        return _events(resp, stopped)


def _events(resp: Any, stopped: Callable[[], bool] | None) -> Iterator[Event]:
    rest = b""
    for data in resp.chunks(stopped, _STOP_POLL):
        *lines, rest = (rest + data).split(b"\n")
        for line in lines:
            if line.strip():
                yield records.event_from_message(json.loads(line))


def _json_objects(resp: Any) -> Iterator[dict[str, Any]]:
    """The JSON objects of a streamed answer, one a line."""
    rest = b""
    for data in resp.chunks():
        *lines, rest = (rest + data).split(b"\n")
        for line in lines:
            if line.strip():
                yield json.loads(line)
    if rest.strip():
        yield json.loads(rest)


def _auth_header(auth_file: str | None) -> dict[str, str]:
    """X-Registry-Auth from a local auth file ({"auths": {registry: {"auth": ...}}}), in
    the per-registry form podman sends; none without a file."""
    if auth_file is None:
        return {}
    try:
        with open(auth_file) as fh:
            auths = json.load(fh).get("auths") or {}
    except (OSError, ValueError, AttributeError) as exc:
        raise InvalidArgumentError(f"credential file is not accessible: {auth_file}: "
                                   f"{getattr(exc, 'strerror', None) or exc}") from None
    doc = {str(k): {"auth": str(v.get("auth") or "")} for k, v in auths.items()
           if isinstance(v, dict)}
    return {"X-Registry-Auth": base64.urlsafe_b64encode(json.dumps(doc).encode()).decode()}


def split_repo_tag(reference: str) -> tuple[str, str | None]:
    """``repo[:tag]`` as the tag routes take it (a colon before the last slash is a port)."""
    repo, sep, tag = reference.rpartition(":")
    if not sep or "/" in tag:
        return reference, None
    return repo, tag
