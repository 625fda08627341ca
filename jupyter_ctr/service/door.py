"""Door: the one way in to the engine, for one caller. It finds containers, exec sessions and
images (the only place that looks them up), asks the Policy before anything acts, and does
the acts that are more than one engine call (lists with filters, create from a request,
removal, imports). Synchronous and free of asyncio: the CLI uses it in process (a command is
one process, like podman's local mode), and ContainerService (service/container_service.py)
runs it in its worker threads for the server's handlers.

Once ``container(ref, action)`` has returned, the caller runs the verb on the Container
itself: the verbs keep libpod's shape (engine/container.py) and the policy has said yes to
exactly that action.
"""

from __future__ import annotations

import contextlib
import os

from ..engine.container import Container
from ..engine.errors import (
    NoSuchContainerError,
    NoSuchImageError,
    NoSuchSnapshotError,
)
from ..engine.records import LAB_LABEL
from ..engine.state import ContainerState
from .filters import check_container_filters, matches, sql_conditions
from .labs import LAB_ACTIONS, act_on, check_action, lab_of, run_each, summarize
from .policy import NotAuthorizedError, Policy

TYPE_CHECKING = False  # not typing's: the CLI imports this module (start-up)
if TYPE_CHECKING:
    import threading
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
    from typing import Any

    from ..engine.checkpoint import CheckpointOptions, CheckpointStats
    from ..engine.events import Event
    from ..engine.exec import ExecSession
    from ..engine.images import Image
    from ..engine.images.records import ImageRemoveReport
    from ..engine.recordings import RecordingStore
    from ..engine.records import ContainerConfig, ContainerSnapshot, Snapshot
    from ..engine.runtime import Runtime
    from .principal import Principal

    #: A create request's translation: the image's config -> (create_container kwargs with
    #: "image" and "command", warnings for the client).
    Translate = Callable[[Mapping[str, Any]], tuple[dict[str, Any], list[str]]]

S = ContainerState
#: What a list without ``all`` shows (as Runtime.list_containers).
LISTED_RUNNING = (S.RUNNING, S.PAUSED)


class Door:
    """The engine as ``principal`` may use it under ``policy`` (default: allow all).

    Every lookup, list and act goes through ``view``, the Runtime acting as the principal:
    what it creates is theirs, every event it records names them, and under a policy with an
    owner scope (OwnershipPolicy) it sees only their containers, exec sessions and events.
    ``runtime`` is the shared Runtime itself (its owner closes it)."""

    def __init__(self, runtime: Runtime, principal: Principal,
                 policy: Policy | None = None) -> None:
        self.runtime = runtime
        self.principal = principal
        self.policy = policy or Policy()
        self.view = runtime.acting_as(principal.uid, principal.name,
                                      owner_scope=self.policy.owner_scope(principal),
                                      origin=principal.origin())

    def authorize(self, action: str, target: object) -> None:
        """Raise unless the policy lets this caller do ``action`` on ``target``."""
        self.policy.authorize(self.principal, action, target)

    # -- lookups: the only places that find engine objects ---------------------------------
    def container(self, ref: str | Container, action: str) -> Container:
        """The container ``ref`` names (name, full ID or unique ID prefix; a Container is
        taken as it is), once the policy allows ``action`` on it."""
        ctr = ref if isinstance(ref, Container) else self.view.lookup_container(ref)
        self.authorize(action, ctr)
        return ctr

    def may(self, action: str, ctr: Container) -> bool:
        """Whether this caller sees ``ctr`` (a handle found some other way: a shared stats
        reading's) and the policy lets it ``action`` it; for filtering, never raises."""
        return self.view.sees(ctr.config) and \
            self.policy.permits(self.principal, action, ctr)

    def exec_session(self, exec_id: str, action: str) -> ExecSession:
        """The exec session with this full ID, once the policy allows ``action`` on it."""
        session = self.view.lookup_exec(exec_id)
        self.authorize(action, session)
        return session

    def image(self, ref: str, action: str) -> Image:
        """The image ``ref`` names (reference or ID), once the policy allows ``action``."""
        img = self.view.get_image(ref)
        self.authorize(action, img)
        return img

    # -- containers -----------------------------------------------------------------------
    def containers(self, action: str, *, all: bool = False) -> list[Container]:  # noqa: A002
        """The running containers (every one with ``all``) the policy lets this caller
        ``action``: the others are left out, as if they did not exist."""
        return [ctr for ctr in self.view.list_containers(all=all)
                if self.policy.permits(self.principal, action, ctr)]

    def stats(self, ids: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """``Container.stats()`` of the running (or paused) containers the policy lets this
        caller read stats of (those with these full ``ids`` only, when given), by ID; none
        is locked (``Runtime.usage``): what a view refreshing every second asks for. One
        that is not running, or another's, is left out; ``container(ref, "stats").stats()``
        says why."""
        readings = self.view.usage(ids)
        if not readings:
            return {}
        handles = {c.id: c for c in self.view.container_handles()}
        return {ctr_id: reading for ctr_id, reading in readings.items()
                if ctr_id in handles and self.policy.permits(self.principal, "stats",
                                                             handles[ctr_id])}

    def list_containers(self, *, all: bool = False,  # noqa: A002 - podman's flag
                        filters: Mapping[str, list[str]] | None = None,
                        limit: int | None = None) -> list[ContainerSnapshot]:
        """Container snapshots, newest first: running ones, or all with ``all`` (or a
        ``limit`` or a status filter, as podman's ps), matching ``filters``
        (service/filters.py), at most ``limit``; only those the policy lets this caller
        list."""
        filters = filters or {}
        check_container_filters(filters)
        every = all or (limit or 0) > 0 or "status" in filters
        where = sql_conditions(filters)
        if not every:
            where["states"] = LISTED_RUNNING
        # Only the rows SQL selects are read; each is synced only when it needs it.
        out = [snap for ctr, snap in self.view.list_views(**where)
               if (every or snap.record.state in LISTED_RUNNING) and matches(snap, filters)
               and self.policy.permits(self.principal, "list", ctr)]
        out.sort(key=lambda snap: snap.config.created, reverse=True)
        return out[:limit] if limit and limit > 0 else out

    def create_container(self, image: str, command: Any = None, *,
                         host_options: Mapping[str, Any] | None = None,
                         **kwargs: Any) -> Container:
        """``Runtime.create_container``, once the policy has seen the arguments (action
        ``create``, target the arguments as a dict with "image", "command", "image_names"
        (the image's names, resolved) and "host_options" (the host access the request asked
        for, server/specgen.py; the engine runs none of it)); the policy may complete them
        (``Policy.create_arguments``: its default limits)."""
        img = self.view.get_image(image)
        target = {"image": image, "command": command, **kwargs,
                  "image_names": list(img.names) or [img.id],
                  "host_options": dict(host_options or {})}
        self.authorize("create", target)
        args = self.policy.create_arguments(self.principal, {"command": command, **kwargs})
        return self.view.create_container(image, args.pop("command"), **args)

    def create(self, image: object, translate: Translate) -> tuple[Container, list[str]]:
        """Create a container from a request: ``translate`` turns the image's config
        (``image``, when it is a reference, else none) into create arguments. Returns it
        and the translation's warnings."""
        config: Mapping[str, Any] = {}
        if isinstance(image, str) and image:
            config = self.view.get_image(image).config
        kwargs, warnings = translate(config)
        return self.create_container(kwargs.pop("image"), kwargs.pop("command"),
                                     **kwargs), warnings

    def remove(self, ref: str | Container, *, force: bool = False,
               timeout: int | None = None) -> Container:
        """Remove a container (its dependents first with ``force``); the removed one."""
        ctr = self.container(ref, "remove")
        for dep in self.view.dependents(ctr.id):
            self.authorize("remove", dep)  # force removes them too: each must be allowed
        ctr.remove(force=force, timeout=timeout)
        return ctr

    # -- cell specs (%%ctr spec, the sidebar's "Edit as cell"; service/cellspec.py) ----------
    def container_spec(self, ref: str | Container) -> dict[str, Any]:
        """The spec that would create this container again (action ``inspect``): the spec it
        was created from (its ``jupyter-ctr.spec`` label), else one read back from its
        config against its image's defaults (cellspec.spec_of)."""
        from . import cellspec  # noqa: PLC0415 - lazy: CLI start-up (tomllib, yaml)

        ctr = self.container(ref, "inspect")
        try:
            image_config = self.view.get_image(ctr.config.image_id).config
        except NoSuchImageError:  # removed since: compared against no image defaults
            image_config = {}
        return cellspec.spec_of(ctr.config, image_config)

    def checkpoint(self, ref: str | Container, options: CheckpointOptions) -> CheckpointStats:
        """Checkpoint a container (action ``checkpoint``); one written to an archive
        (``options.target_file``) is also a ``checkpoint.export``, asked of the container
        before the dump and of the archive's size (an int) once it is written: a refusal
        then leaves the checkpoint with the container and the caller drops the file."""
        ctr = self.container(ref, "checkpoint")
        if options.target_file is None:
            return ctr.checkpoint(options)
        self.authorize("checkpoint.export", ctr)
        stats = ctr.checkpoint(options)
        self.authorize("checkpoint.export", stats.archive_size)
        return stats

    def import_checkpoint(self, archive: str | os.PathLike[str], name: str | None = None,
                          options: CheckpointOptions | None = None,
                          **kw: Any) -> tuple[Container, CheckpointStats]:
        """A new container restored from a checkpoint archive (podman restore --import).
        The policy sees the archive's config too (action ``restore.import``, target the
        ContainerConfig) and may complete it (``Policy.vet_import``) before it runs."""
        self.authorize("restore.import", None)
        return self.view.import_checkpoint(archive, name, options, vet=self.vet_import, **kw)

    def check_import_size(self, size: int) -> None:
        """Raise unless the policy takes a checkpoint archive of ``size`` bytes to import
        (action ``restore.import``, target the size): asked before an upload is received."""
        self.authorize("restore.import", size)

    def vet_import(self, config: ContainerConfig) -> ContainerConfig:
        self.authorize("restore.import", config)
        return self.policy.vet_import(self.principal, config)

    # -- checkpoint timeline (engine/container_timeline.py) ---------------------------------
    def snapshot(self, ref: str | Container, step: str, replace: bool = False) -> Snapshot:
        """Snapshot a container as ``step`` (action ``snapshot``, where a policy counts the
        container's snapshots; ``snapshot.replace`` when ``replace`` names an existing one).
        The policy sees the new snapshot's size (an int, action ``snapshot``) once it is
        taken: a refusal removes it again."""
        ctr = ref if isinstance(ref, Container) else self.view.lookup_container(ref)
        action = "snapshot"
        if replace:
            try:
                ctr.get_snapshot(step)
                action = "snapshot.replace"
            except NoSuchSnapshotError:
                pass
        self.authorize(action, ctr)
        snap = ctr.snapshot(step, replace=replace)
        try:
            self.authorize("snapshot", snap.size)
        except NotAuthorizedError:
            ctr.remove_snapshot(step)
            raise
        return snap

    def snapshots(self, ref: str | Container) -> list[Snapshot]:
        """A container's snapshots, oldest first (action ``snapshot.list``)."""
        return self.container(ref, "snapshot.list").snapshots()

    def rewind(self, ref: str | Container, step: str) -> Snapshot:
        """Rewind a container to ``step`` in place (action ``rewind``: it may run again)."""
        return self.container(ref, "rewind").rewind(step)

    def remove_snapshot(self, ref: str | Container, step: str) -> None:
        """Delete a container's snapshot ``step`` (action ``snapshot.remove``)."""
        self.container(ref, "snapshot.remove").remove_snapshot(step)

    def export_snapshot(self, ref: str | Container, step: str,
                        dest: str | os.PathLike[str]) -> int:
        """Write the snapshot ``step`` as an archive file ``dest`` (action
        ``snapshot.export``; then ``checkpoint.export`` of its size, an int: a refusal
        deletes the file). Returns its size."""
        ctr = self.container(ref, "snapshot.export")
        size = ctr.export_snapshot(step, dest)
        try:
            self.authorize("checkpoint.export", size)
        except NotAuthorizedError:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(dest)
            raise
        return size

    def import_snapshot(self, path: str | os.PathLike[str], name: str | None = None
                        ) -> Container:
        """A new container from an exported snapshot (Runtime.import_snapshot), vetted as a
        checkpoint import is (action ``restore.import``)."""
        self.authorize("restore.import", None)
        return self.view.import_snapshot(path, name, vet=self.vet_import)

    # -- images ---------------------------------------------------------------------------
    def list_images(self) -> tuple[list[Image], dict[str, int]]:
        """The images, and per image ID the number of containers using it."""
        self.authorize("image.list", None)
        users: dict[str, int] = {}
        for ctr in self.view.list_containers(all=True):
            users[ctr.config.image_id] = users.get(ctr.config.image_id, 0) + 1
        return self.view.list_images(), users

    def remove_image(self, ref: str, *, force: bool = False) -> ImageRemoveReport:
        """``podman rmi``: by one of several names only untag it; the image goes with its
        last name or by ID (by ID with several names only with ``force``); refused while a
        container uses it (Runtime.remove_image)."""
        self.image(ref, "image.remove")
        return self.view.remove_image(ref, force=force)

    def import_image(self, path: str | os.PathLike[str], reference: str) -> Image:
        self.authorize("image.import", reference)
        return self.view.import_image(path, reference)

    def build_demo(self, reference: str) -> Image:
        """The built-in busybox image (built once from the host's static busybox)."""
        self.authorize("image.build", reference)
        return self.view.images.build_demo(reference)

    # -- commit, history, prune --------------------------------------------------------------
    def commit(self, container_ref: str | Container, reference: str | None = None, *,
               changes: Sequence[str] = (), message: str = "", author: str = "",
               pause: bool = True) -> Image:
        """``Runtime.commit_container``: the policy is asked about the container (action
        ``commit``, the normal lookup: a student's own only) and about the new image's name
        (the normalized reference, "" when untagged): OwnershipPolicy's rule
        image_namespace keeps a student's names under ``localhost/<user>/``."""
        from ..engine.images.references import normalize_reference  # noqa: PLC0415 - lazy: the CLI's start-up loads the door

        ctr = self.container(container_ref, "commit")
        name = normalize_reference(reference) if reference else ""
        self.authorize("commit", name)
        return self.view.commit_container(ctr, name or None, changes=changes,
                                          message=message, author=author, pause=pause)

    def image_history(self, ref: str) -> list[dict[str, Any]]:
        """``podman image history``: the image's history entries, newest first."""
        img = self.image(ref, "image.history")
        return self.view.images.history(img)

    # -- tag, untag --------------------------------------------------------------------------
    def tag_image(self, ref: str, reference: str) -> Image:
        """``podman tag``: the policy is asked about the image (action ``image.tag``) and
        about the new name (normalized): rule image_namespace keeps a student's names under
        ``localhost/<user>/``."""
        from ..engine.images.references import normalize_reference  # noqa: PLC0415 - lazy: the CLI's start-up loads the door

        img = self.image(ref, "image.tag")
        name = normalize_reference(reference)
        self.authorize("image.tag", name)
        return self.view.tag_image(img.id, name)

    def untag_image(self, ref: str, references: Sequence[str] = ()) -> Image:
        """``podman untag``: remove ``references`` (none: all the image's names); the policy
        is asked about the image (action ``image.untag``) and about each name removed."""
        from ..engine.images.references import normalize_reference  # noqa: PLC0415 - lazy: the CLI's start-up loads the door

        img = self.image(ref, "image.untag")
        names = [normalize_reference(r) for r in references] if references else img.names
        for name in names:
            self.authorize("image.untag", name)
        return self.view.untag_image(img.id, names)

    def prune_images(self, all: bool = False) -> list[Image]:  # noqa: A002 - podman's flag
        """``podman image prune [-a]`` (action ``image.prune``, target ``all``): the images
        removed."""
        self.authorize("image.prune", bool(all))
        return self.view.prune_images(all)

    # -- images: pull, push, load, save (podman's verbs) -----------------------------------
    def pull_image(self, reference: str, *, tls_verify: bool = True,
                   auth_file: str | None = None,
                   progress: Callable[[str], None] | None = None) -> Image:
        """Pull a registry image (action ``image.pull`` on the reference: it adds to the
        shared store)."""
        self.authorize("image.pull", reference)
        return self.view.pull_image(reference, tls_verify=tls_verify, auth_file=auth_file,
                                    progress=progress)

    def push_image(self, reference: str, destination: str | None = None, *,
                   tls_verify: bool = True, auth_file: str | None = None,
                   progress: Callable[[str], None] | None = None) -> str:
        """Push an image to a registry (action ``image.push`` on the image: it only reads
        it); the manifest digest the registry holds."""
        self.image(reference, "image.push")
        return self.view.push_image(reference, destination,
                                    tls_verify=tls_verify, auth_file=auth_file,
                                    progress=progress)

    def load_images(self, path: str | os.PathLike[str]) -> list[Image]:
        """Add the images of an archive or OCI layout (action ``image.load``)."""
        self.authorize("image.load", None)
        return self.view.load_images(path)

    def save_images(self, references: list[str], dest: Any, *,
                    format: str = "docker-archive",  # noqa: A002 - podman's flag
                    compress: bool = False) -> None:
        """Write images to ``dest`` (a binary file, or a directory path for ``oci-dir``)
        (action ``image.save`` on each image, looked up first)."""
        for ref in references:
            self.image(ref, "image.save")
        self.view.save_images(references, dest, format=format, compress=compress)

    # -- labs: bulk actions on a lab's containers (service/labs.py) ---------------------------
    def lab_containers(self, lab: str) -> list[Container]:
        """The containers of ``lab`` (label ``jupyter-ctr.lab=<lab>``) this caller may see,
        oldest first."""
        return [ctr for ctr in self.view.container_handles()
                if lab_of(ctr) == lab and self.policy.permits(self.principal, "list", ctr)]

    def labs(self) -> list[dict[str, Any]]:
        """The labs among the containers this caller may see: [{"Name", "Containers",
        "Running", "Owners"}], by name."""
        return summarize(ctr for ctr in self.view.container_handles()
                         if self.policy.permits(self.principal, "list", ctr))

    def lab_action(self, lab: str, action: str, *, step: str | None = None,
                   timeout: int | None = None) -> list[dict[str, Any]]:
        """``action`` (start, stop, reset: rewind to ``step``, remove: forced) on every
        container of ``lab``, each by itself and several at once; one result per container
        {"Id", "Name", "Owner", "Ok", "Error"} (the engine's message): a failure never
        stops the others. A lab with no container this caller sees raises
        NoSuchContainerError (404). The policy is asked for ``lab.bulk`` (the lab's name), then for
        each container's own action (a refusal is that container's result)."""
        check_action(action, step)
        self.authorize("lab.bulk", lab)
        ctrs = self.lab_containers(lab)
        if not ctrs:  # a lab is its containers: a mistyped name must not look done
            raise NoSuchContainerError(f"no container of lab {lab!r} found "
                                       f"(label {LAB_LABEL}={lab})")
        verb = LAB_ACTIONS[action]

        def work(ctr: Container) -> None:
            with self.policy.serialize(self.principal, verb):
                if action == "remove":  # the door's: each dependent removed must be allowed
                    self.remove(ctr, force=True, timeout=timeout)
                elif action == "reset":
                    self.rewind(ctr, str(step))
                else:
                    act_on(self.container(ctr, verb), action, step=step, timeout=timeout)

        return run_each(ctrs, work)

    # -- terminal recordings (engine/recordings.py) ---------------------------------------------
    def recording_store(self) -> RecordingStore:
        from ..engine.recordings import RecordingStore  # noqa: PLC0415 - lazy: the CLI's start-up loads the door

        return RecordingStore(self.runtime.root / "recordings")

    def recordings(self, container: str | None = None) -> list[dict[str, Any]]:
        """The recordings this caller may see (a non-instructor: of their own containers),
        oldest first; with ``container`` (name, ID or ID prefix) only that container's."""
        self.authorize("recording.list", None)
        scope = self.policy.owner_scope(self.principal)
        out = []
        for rec in self.recording_store().list():
            if scope is not None and rec["owner_uid"] != scope:
                continue
            ids = (rec["container"] or "", rec["container_name"] or "")
            if container and container not in ids and not ids[0].startswith(container):
                continue
            if self.policy.permits(self.principal, "recording.read", rec):
                out.append(rec)
        return out

    def recording_info(self, rec_id: str, action: str = "recording.read") -> dict[str, Any]:
        """The record of recording ``rec_id``, once the policy allows ``action``; another
        owner's answers as a missing one (NoSuchRecordingError, 404)."""
        from ..engine.recordings import NoSuchRecordingError  # noqa: PLC0415 - lazy: the CLI's start-up loads the door

        rec = self.recording_store().info(rec_id)
        scope = self.policy.owner_scope(self.principal)
        if scope is not None and rec["owner_uid"] != scope:
            raise NoSuchRecordingError(f"no recording with ID {rec_id!r} found")
        self.authorize(action, rec)
        return rec

    def recording(self, rec_id: str) -> bytes:
        """The asciicast v2 file of recording ``rec_id``."""
        self.recording_info(rec_id)
        return self.recording_store().read(rec_id)

    def remove_recording(self, rec_id: str) -> None:
        self.recording_info(rec_id, "recording.remove")
        self.recording_store().remove(rec_id)

    def sessions(self, container: str | None = None) -> list[dict[str, Any]]:
        """Live terminal sessions: websocket bridges live in a server (the service's
        ``GET /api/sessions``, RemoteDoor.sessions), never in this process: none."""
        return []

    # -- events and system ------------------------------------------------------------------
    def events(self, *, since: float | None = None, until: float | None = None,
               filters: Mapping[str, list[str]] | None = None, follow: bool = False,
               stop: threading.Event | Callable[[], bool] | None = None) -> Iterator[Event]:
        """Events from ``since`` (then new ones while ``follow``) until ``until`` or
        ``stop``; bad filters raise before the first event."""
        self.authorize("events", None)
        list(self.view.events(since=0, until=0, filters=filters))  # check the filters
        return self.view.events(since=since, until=until, filters=filters, follow=follow,
                                   stop=stop)

    def counts(self) -> dict[str, int]:
        """Containers by state and the number of images (``info``)."""
        self.authorize("info", None)
        out = {"total": 0, "running": 0, "paused": 0, "stopped": 0, "images": 0}
        for ctr in self.view.list_containers(all=True):
            st = ctr.state
            out["total"] += 1
            if st is S.RUNNING:
                out["running"] += 1
            elif st is S.PAUSED:
                out["paused"] += 1
            elif st in (S.STOPPED, S.EXITED):
                out["stopped"] += 1
        out["images"] = len(self.view.list_images())
        return out
