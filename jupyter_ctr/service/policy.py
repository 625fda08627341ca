"""Policy: the one hook every ContainerService call goes through before it touches the
engine: ``authorize(principal, action, target)`` returns to allow and raises to refuse.

The default allows everything (one local user, as today). Ownership and rules (issue 13)
plug in here by subclassing: a refusal raises NotAuthorizedError naming the rule, or
NoSuchContainerError where the target's existence must stay hidden.
"""

from __future__ import annotations

from ..engine.errors import CtrError

TYPE_CHECKING = False  # not typing's: the CLI imports this module
if TYPE_CHECKING:
    from .principal import Principal

#: The actions the service asks about, by target:
#: a container (Container): inspect, list (each listed one), start, stop, kill, pause,
#: unpause, restart, init, mount, unmount, resize, top, stats, logs, export, wait, attach,
#: exec (create a session in it), checkpoint, restore, remove;
#: an exec session (ExecSession): exec.inspect, exec.start, exec.resize;
#: the create arguments (a dict: image, command, name, limits...): create;
#: an Image: image.inspect, image.remove, image.pull; the new reference (str): image.import;
#: none (None): image.list, restore.import, events, info.
ACTIONS = frozenset({
    "inspect", "list", "create", "start", "stop", "kill", "pause", "unpause", "restart",
    "init", "mount", "unmount", "resize", "top", "stats", "logs", "export", "wait", "attach",
    "exec", "checkpoint", "restore", "remove", "exec.inspect", "exec.start", "exec.resize",
    "image.list", "image.inspect", "image.remove", "image.pull", "image.import",
    "restore.import", "events", "info",
})


class NotAuthorizedError(CtrError):
    """A policy refused the action (HTTP 403); the message names the rule."""

    cause = "not authorized"


class Policy:
    """Allows every action (subclass and override ``authorize`` to restrict)."""

    def authorize(self, principal: Principal, action: str, target: object) -> None:
        """Return if ``principal`` may do ``action`` on ``target``; raise (a CtrError,
        usually NotAuthorizedError) if not. Called in a worker thread, before the engine
        acts: a refusal has no side effect."""

    def permits(self, principal: Principal, action: str, target: object) -> bool:
        """``authorize`` as a yes/no (for filtering lists)."""
        try:
            self.authorize(principal, action, target)
        except CtrError:
            return False
        return True
