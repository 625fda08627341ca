"""Policy: the one hook every Door call goes through before it touches the engine:
``owner_scope(principal)`` says whose containers the caller sees at all, and
``authorize(principal, action, target)`` returns to allow and raises to refuse.

The default allows everything (one local user: the CLI, a kernel, a single-user server).
OwnershipPolicy (the multi-user socket service) lets a non-instructor see and act on their
own containers only; rules (images, quotas, verbs per role, refused create options) plug in
by subclassing it: a refusal raises NotAuthorizedError naming the rule.
"""

from __future__ import annotations

from ..engine.container import Container
from ..engine.errors import CtrError, NoSuchContainerError, NoSuchExecSessionError
from .principal import INSTRUCTOR

TYPE_CHECKING = False  # not typing's: the CLI imports this module
if TYPE_CHECKING:
    from contextlib import AbstractContextManager
    from typing import Any

    from ..engine.records import ContainerConfig
    from .principal import Principal

#: The actions the service asks about, by target:
#: a container (Container): inspect, list (each listed one), start, stop, kill, pause,
#: unpause, restart, init, mount, unmount, resize, top, stats, logs, export, wait, attach,
#: exec (create a session in it), checkpoint, checkpoint.export (a checkpoint to an archive,
#: asked before the dump), restore, remove;
#: an archive's size in bytes (int): checkpoint.export (once written, before it is sent),
#: restore.import (an upload, before it is received, and once it is);
#: an exec session (ExecSession): exec.inspect, exec.start, exec.attach (to a running one),
#: exec.resize, exec.stop, exec.remove;
#: the create arguments (a dict: image, command, name, limits...): create;
#: an Image: image.inspect, image.remove, image.push, image.save (each image saved); the new
#: reference (str): image.import, image.build (the demo image), image.pull (the reference
#: pulled);
#: none (None): image.list, image.load (an upload, before it is received, and once it is),
#: restore.import, events, info.
#: commit: asked of the container (Container), then of the new image's name (str, normalized;
#: "" for an untagged commit); image.history: the Image; image.prune: the ``all`` flag (bool).
#: image.tag, image.untag: asked of the Image, then of each name added or removed (str,
#: normalized): a student's names are under ``localhost/<user>/`` (rule image_namespace).
#: The checkpoint timeline: snapshot (a new step), snapshot.replace (one taken again),
#: snapshot.list, snapshot.remove, snapshot.export, rewind: asked of the Container;
#: snapshot also of the new snapshot's size (int), snapshot.export then checkpoint.export of
#: the archive's size (int); an import is restore.import's.
#: lab.bulk: a bulk action on every container of a lab (the lab's name, str); each container
#: is then asked for its own action (start, stop, rewind, remove).
#: session.takeover: a container (a watcher of its terminal session types); recording.list,
#: recording.read, recording.remove: a recording's record (dict, "owner_uid"), none for list.
ACTIONS = frozenset({
    "inspect", "list", "create", "start", "stop", "kill", "pause", "unpause", "restart",
    "init", "mount", "unmount", "resize", "top", "stats", "logs", "export", "wait", "attach",
    "exec", "checkpoint", "checkpoint.export", "restore", "remove", "exec.inspect",
    "exec.start", "exec.attach", "exec.resize", "exec.stop", "exec.remove",
    "image.list", "image.inspect", "image.remove", "image.pull", "image.import",
    "image.build", "restore.import", "events", "info",
    "commit", "image.history", "image.prune", "image.tag", "image.untag",
    "image.push", "image.load", "image.save",
    "snapshot", "snapshot.replace", "snapshot.list", "snapshot.remove", "snapshot.export",
    "rewind",
    "lab.bulk",
    "session.takeover", "recording.list", "recording.read", "recording.remove",
})
#: Actions only the instructor role may use under OwnershipPolicy: they write to what every
#: user shares. Images are one store for all: a student who could import an image under a
#: name others run (or remove one) would choose what runs in their containers. Building the
#: demo image from the host's busybox is a host administrator's. Refused with the rule name
#: "instructor_only".
INSTRUCTOR_ONLY = frozenset({"image.build", "image.import", "image.remove", "image.prune",
                             "image.pull", "image.load",
                             "lab.bulk"})  # every student's containers of a lab at once


def image_namespace(principal: Principal) -> str:
    """The names a non-instructor may commit to: ``localhost/<user name>/...`` (the image
    store is shared: a name anyone else runs must not move under them)."""
    return f"localhost/{principal.name}/"


def check_image_namespace(principal: Principal, reference: str, action: str = "commit") -> None:
    """Rule "image_namespace": a commit, tag or untag by a non-instructor names an image under
    their own namespace, or none (a dangling image moves no name)."""
    prefix = image_namespace(principal)
    if reference and not reference.startswith(prefix):
        hint = ("commit to {p}NAME[:TAG] or leave the image untagged" if action == "commit"
                else "names under {p}NAME[:TAG] are yours to tag and untag")
        raise NotAuthorizedError(
            f"refused by policy rule image_namespace: {reference} is not yours to name; "
            + hint.format(p=prefix))


class NotAuthorizedError(CtrError):
    """A policy refused the action (HTTP 403); the message names the rule."""

    cause = "not authorized"


class _Unlocked:
    """The lock of a policy that needs none."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


UNLOCKED = _Unlocked()


class Policy:
    """Allows every action (subclass and override ``authorize`` to restrict)."""

    def owner_scope(self, principal: Principal) -> int | None:
        """The uid whose containers alone ``principal`` sees, or None for everyone's. The
        Door looks up and lists through a Runtime view with this scope, so another owner's
        container (exec session, event) answers exactly as a missing one."""
        return None

    def authorize(self, principal: Principal, action: str, target: object) -> None:
        """Return if ``principal`` may do ``action`` on ``target``; raise (a CtrError,
        usually NotAuthorizedError) if not. Called in a worker thread, before the engine
        acts: a refusal has no side effect."""

    def serialize(self, principal: Principal, action: str) -> AbstractContextManager[None]:
        """What the service holds around the check and the act of ``action`` (a start):
        a policy that counts what is running makes two starts of one user take turns.
        Default: nothing."""
        return UNLOCKED

    def recording_rules(self, target: Container) -> tuple[bool, int]:
        """For terminal sessions on ``target``: whether they are always recorded, and the
        largest recording in bytes (0: no limit). Default: not required, no limit."""
        return False, 0

    def create_arguments(self, principal: Principal,
                         arguments: dict[str, Any]) -> dict[str, Any]:
        """The create arguments to use, once ``authorize`` allowed them: a policy may add
        its defaults (a pids limit, a log size). Default: as they are."""
        return arguments

    def vet_import(self, principal: Principal, config: ContainerConfig) -> ContainerConfig:
        """The config a container restored from an archive gets, once ``authorize`` allowed
        it (``create_arguments`` for imports). Default: the archive's."""
        return config

    def permits(self, principal: Principal, action: str, target: object) -> bool:
        """``authorize`` as a yes/no (for filtering lists)."""
        try:
            self.authorize(principal, action, target)
        except CtrError:
            return False
        return True


class OwnershipPolicy(Policy):
    """Multi-user: the instructor role (root, the instructor group) sees and acts on every
    container; everyone else on their own only. Another's container is not refused but not
    there: its lookups raise the errors of a missing one (the Door's scoped Runtime view
    does it; ``authorize`` checks again for targets found some other way)."""

    def owner_scope(self, principal: Principal) -> int | None:
        return None if principal.has_role(INSTRUCTOR) else principal.uid

    def authorize(self, principal: Principal, action: str, target: object) -> None:
        scope = self.owner_scope(principal)
        if scope is None:
            return
        if action in INSTRUCTOR_ONLY:
            raise NotAuthorizedError(f"refused by policy rule instructor_only: only the "
                                     f"instructor role may use {action}")
        if action in ("commit", "image.tag", "image.untag") and isinstance(target, str):
            check_image_namespace(principal, target, action)
        if isinstance(target, Container):
            if target.config.owner_uid != scope:
                raise NoSuchContainerError(f"no container with name or ID {target.id!r} found")
        elif isinstance(getattr(target, "container", None), Container):  # an ExecSession
            if target.container.config.owner_uid != scope:  # type: ignore[attr-defined]
                raise NoSuchExecSessionError(
                    f"no exec session with ID {target.id} found")  # type: ignore[attr-defined]
