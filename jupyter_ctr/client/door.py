"""RemoteDoor: the Door (service/door.py) of a remote Runtime, so that the CLI, the magics and
the widgets run one code path whether the engine is in their process or behind the service:
they call the same methods and get the same shapes and errors.

The door that decides is the service's: it identifies the caller by the socket's peer
credentials and asks its policy before anything acts, so this side asks nothing
(``authorize`` allows) and a refusal comes back as the service's exception. Each method is
one request (lists are filtered, limited and counted there). It has the Door's methods
without being one (no subclass): the in-process Door loads the whole engine, which a
remote CLI command does not need.
"""

from __future__ import annotations

from ..engine.recordings import NoSuchRecordingError
from ..engine.timeutil import parse_rfc3339_ns
from ..service.principal import Principal
from .container import Container
from .transport import path_part

TYPE_CHECKING = False
if TYPE_CHECKING:
    import os
    import threading
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
    from typing import Any

    from ..engine.checkpoint import CheckpointOptions, CheckpointStats
    from ..engine.events import Event
    from ..engine.images import Image
    from ..engine.images.records import ImageRemoveReport
    from ..engine.records import ContainerSnapshot, Snapshot
    from .exec import ExecSession
    from .runtime import Runtime


class RemoteDoor:
    """The service's door for this process's user (``Door``'s methods)."""

    def __init__(self, runtime: Runtime, principal: Principal | None = None) -> None:
        self.runtime = runtime
        #: Who this process is (the service identifies it by the socket, not by this).
        self.principal = principal or Principal.of_process()

    def authorize(self, action: str, target: object) -> None:
        """Nothing to ask here: the service's policy decides, request by request."""

    # -- lookups ----------------------------------------------------------------------------
    def container(self, ref: str | Container, action: str) -> Container:
        """The container ``ref`` names (a Container of this client is taken as it is)."""
        return self.runtime.lookup_container(ref)

    def exec_session(self, exec_id: str, action: str) -> ExecSession:
        return self.runtime.lookup_exec(exec_id)

    def image(self, ref: str, action: str) -> Image:
        return self.runtime.get_image(ref)

    # -- containers -------------------------------------------------------------------------
    def containers(self, action: str, *, all: bool = False) -> list[Container]:  # noqa: A002
        return self.runtime.list_containers(all=all)

    def stats(self, ids: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """``Door.stats``: one request (libpod's stats of all, one shot, from the service's
        sampler), whatever the number of containers."""
        wanted = None if ids is None else set(ids)
        out = {}
        body = self.runtime.api.json("GET", "/containers/stats", {"stream": False}) or {}
        for item in body.get("Stats") or []:
            ctr_id = item["ContainerID"]
            if wanted is None or ctr_id in wanted:
                out[ctr_id] = {"id": ctr_id, "name": item["Name"],
                               "cpu_ns": int(item["CPUNano"]),
                               "memory_bytes": int(item["MemUsage"]),
                               "memory_limit": int(item["MemLimit"]),
                               "pids": int(item["PIDs"]),
                               "time_ns": int(item["SystemNano"])}
        return out

    def list_containers(self, *, all: bool = False,  # noqa: A002 - podman's flag
                        filters: Mapping[str, list[str]] | None = None,
                        limit: int | None = None) -> list[ContainerSnapshot]:
        return self.runtime.list_snapshots(all=all, filters=filters, limit=limit)

    def create_container(self, image: str, command: Any = None, **kwargs: Any) -> Container:
        return self.runtime.create_container(image, command, **kwargs)

    def remove(self, ref: str | Container, *, force: bool = False,
               timeout: int | None = None) -> Container:
        """Remove a container (the service removes its dependents first with ``force``)."""
        ctr = self.container(ref, "remove")
        ctr.remove(force=force, timeout=timeout)
        return ctr

    def container_spec(self, ref: str | Container) -> dict[str, Any]:
        """The spec that would create this container again (the service's read-back)."""
        return self.runtime.container_spec(ref)

    def import_checkpoint(self, archive: str | os.PathLike[str], name: str | None = None,
                          options: CheckpointOptions | None = None,
                          **kw: Any) -> tuple[Container, CheckpointStats]:
        return self.runtime.import_checkpoint(archive, name, options, **kw)

    # -- checkpoint timeline ------------------------------------------------------------------
    def snapshot(self, ref: str | Container, step: str, replace: bool = False) -> Snapshot:
        return self.container(ref, "snapshot").snapshot(step, replace=replace)

    def snapshots(self, ref: str | Container) -> list[Snapshot]:
        return self.container(ref, "snapshot.list").snapshots()

    def rewind(self, ref: str | Container, step: str) -> Snapshot:
        return self.container(ref, "rewind").rewind(step)

    def remove_snapshot(self, ref: str | Container, step: str) -> None:
        self.container(ref, "snapshot.remove").remove_snapshot(step)

    def export_snapshot(self, ref: str | Container, step: str,
                        dest: str | os.PathLike[str]) -> int:
        return self.container(ref, "snapshot.export").export_snapshot(step, dest)

    def import_snapshot(self, path: str | os.PathLike[str], name: str | None = None
                        ) -> Container:
        return self.runtime.import_snapshot(path, name)

    # -- images -----------------------------------------------------------------------------
    def list_images(self) -> tuple[list[Image], dict[str, int]]:
        return self.runtime.list_images_with_counts()

    def remove_image(self, ref: str, *, force: bool = False) -> ImageRemoveReport:
        return self.runtime.remove_image(ref, force=force)

    def import_image(self, path: str | os.PathLike[str], reference: str) -> Image:
        return self.runtime.import_image(path, reference)

    def build_demo(self, reference: str) -> Image:
        return self.runtime.images.build_demo(reference)

    # -- commit, history, prune ---------------------------------------------------------------
    def commit(self, container_ref: str | Container, reference: str | None = None,
               **opts: Any) -> Image:
        return self.runtime.commit_container(container_ref, reference, **opts)

    def image_history(self, ref: str) -> list[dict[str, Any]]:
        return self.runtime.image_history(ref)

    def tag_image(self, ref: str, reference: str) -> Image:
        return self.runtime.tag_image(ref, reference)

    def untag_image(self, ref: str, references: Sequence[str] = ()) -> Image:
        return self.runtime.untag_image(ref, references)

    def prune_images(self, all: bool = False) -> list[Image]:  # noqa: A002 - podman's flag
        return self.runtime.prune_images(all)

    def pull_image(self, reference: str, *, tls_verify: bool = True,
                   auth_file: str | None = None,
                   progress: Callable[[str], None] | None = None) -> Image:
        return self.runtime.pull_image(reference, tls_verify=tls_verify, auth_file=auth_file,
                                       progress=progress)

    def push_image(self, reference: str, destination: str | None = None, *,
                   tls_verify: bool = True, auth_file: str | None = None,
                   progress: Callable[[str], None] | None = None) -> str:
        return self.runtime.push_image(reference, destination, tls_verify=tls_verify,
                                       auth_file=auth_file, progress=progress)

    def load_images(self, path: str | os.PathLike[str]) -> list[Image]:
        return self.runtime.load_images(path)

    def save_images(self, references: list[str], dest: Any, *,
                    format: str = "docker-archive",  # noqa: A002 - podman's flag
                    compress: bool = False) -> None:
        self.runtime.save_images(references, dest, format=format, compress=compress)

    # -- labs ---------------------------------------------------------------------------------
    def lab_containers(self, lab: str) -> list[Container]:
        return [Container(self.runtime, snap, full=False) for snap in
                self.runtime.list_snapshots(all=True,
                                            filters={"label": [f"jupyter-ctr.lab={lab}"]})]

    def labs(self) -> list[dict[str, Any]]:
        return self.runtime.labs()

    def lab_action(self, lab: str, action: str, *, step: str | None = None,
                   timeout: int | None = None) -> list[dict[str, Any]]:
        return self.runtime.lab_action(lab, action, step=step, timeout=timeout)

    # -- terminal recordings and live sessions ------------------------------------------------
    def recordings(self, container: str | None = None) -> list[dict[str, Any]]:
        """``GET /api/recordings``, as the Door's records (engine/recordings.py FIELDS)."""
        items = self.runtime.api.json("GET", "/api/recordings", {"container": container})
        return [recording_record(i) for i in items or []]

    def recording_info(self, rec_id: str, action: str = "recording.read") -> dict[str, Any]:
        for rec in self.recordings():
            if rec["id"] == rec_id:
                return rec
        raise NoSuchRecordingError(f"no recording with ID {rec_id!r} found")

    def recording(self, rec_id: str) -> bytes:
        """``GET /api/recordings/{id}``: the asciicast v2 file."""
        _, data = self.runtime.api.request("GET", f"/api/recordings/{path_part(rec_id)}",
                                           not_found=NoSuchRecordingError)
        return data

    def remove_recording(self, rec_id: str) -> None:
        self.runtime.api.request("DELETE", f"/api/recordings/{path_part(rec_id)}",
                                 not_found=NoSuchRecordingError)

    def sessions(self, container: str | None = None) -> list[dict[str, Any]]:
        """``GET /api/sessions``: the service's live terminal sessions (REST's objects:
        Key, Container, ContainerName, ExecID, Owner, Clients, Viewers, Recording,
        RecordingID)."""
        return list(self.runtime.api.json("GET", "/api/sessions",
                                          {"container": container}) or [])

    # -- events and system --------------------------------------------------------------------
    def events(self, *, since: float | None = None, until: float | None = None,
               filters: Mapping[str, list[str]] | None = None, follow: bool = False,
               stop: threading.Event | Callable[[], bool] | None = None) -> Iterator[Event]:
        return self.runtime.events(since=since, until=until, filters=filters, follow=follow,
                                   stop=stop)

    def counts(self) -> dict[str, int]:
        store = self.runtime.info()["store"]
        ctrs = store["containerStore"]
        return {"total": ctrs["number"], "running": ctrs["running"], "paused": ctrs["paused"],
                "stopped": ctrs["stopped"], "images": store["imageStore"]["number"]}


def _seconds(stamp: str | None) -> float | None:
    return parse_rfc3339_ns(stamp) / 1e9 if stamp else None


def recording_record(item: dict[str, Any]) -> dict[str, Any]:
    """A REST recording item as the Door's record."""
    owner = item.get("Owner") or {}
    return {"id": item["Id"], "container": item.get("Container"),
            "container_name": item.get("ContainerName"), "exec_id": item.get("ExecID"),
            "owner_uid": owner.get("Uid"), "owner_name": owner.get("Name"),
            "user": item.get("User"), "lab": item.get("Lab"),
            "started": _seconds(item.get("Started")), "ended": _seconds(item.get("Ended")),
            "size": item.get("Size"), "duration": item.get("Duration"),
            "width": item.get("Width"), "height": item.get("Height"), "stopped": ""}
