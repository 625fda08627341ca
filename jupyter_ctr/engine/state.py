"""Container states and the transitions between them, as in libpod (define/containerstate.go).

Transition table (verb: accepted states -> resulting state):

=============  ==========================================  ===============
verb           accepted                                    leaves
=============  ==========================================  ===============
init           CONFIGURED, STOPPED, EXITED                 CREATED
start          CONFIGURED, CREATED, STOPPED, EXITED        RUNNING
stop           CREATED, RUNNING, STOPPING, PAUSED*         EXITED
kill           RUNNING, STOPPING, PAUSED                   unchanged (exit follows)
wait           any                                         unchanged
cleanup        STOPPED, EXITED, CREATED, CONFIGURED        EXITED / CONFIGURED
remove         any but REMOVING (running ones need force)  gone
=============  ==========================================  ===============

(*) libpod stops a paused container by killing it; we do the same.
A container that exits by itself goes RUNNING -> STOPPED (runtime knows it) -> EXITED (cleaned up).
"""

from __future__ import annotations

import enum


class ContainerState(enum.Enum):
    """libpod's container states. ``value`` is libpod's internal name."""

    UNKNOWN = "unknown"
    CONFIGURED = "configured"
    CREATED = "created"
    RUNNING = "running"
    STOPPED = "stopped"
    PAUSED = "paused"
    EXITED = "exited"
    REMOVING = "removing"
    STOPPING = "stopping"

    @property
    def api_status(self) -> str:
        """The name Podman's API and ``podman ps`` show (Configured reads 'created')."""
        if self is ContainerState.CONFIGURED:
            return "created"
        if self is ContainerState.CREATED:
            return "initialized"
        return str(self.value)

    def __str__(self) -> str:
        return str(self.value)


#: States in which the OCI runtime knows the container (runc state exists).
IN_RUNTIME = frozenset(
    {
        ContainerState.CREATED,
        ContainerState.RUNNING,
        ContainerState.STOPPED,
        ContainerState.STOPPING,
        ContainerState.PAUSED,
    }
)
