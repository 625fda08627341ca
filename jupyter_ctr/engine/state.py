"""Container states and the transitions between them, as in libpod (define/containerstate.go),
and the states of exec sessions (define.ContainerExecStatus).

Transition table (verb: accepted states -> resulting state; any other state raises
ContainerStateInvalidError; start of a running container raises ContainerRunningError and
stop of a stopped or exited one ContainerStoppedError, as libpod's sentinels):

=================  =========================================  ===============================
verb               accepted                                   leaves
=================  =========================================  ===============================
init               CONFIGURED, STOPPED, EXITED                CREATED
start              CONFIGURED, CREATED, STOPPED, EXITED       RUNNING (if RUNNING: ...Running)
stop               CREATED, RUNNING, STOPPING, PAUSED         EXITED (if exited: ...Stopped)
kill               RUNNING, STOPPING, PAUSED                  unchanged (the exit follows)
pause / unpause    RUNNING / PAUSED                           PAUSED / RUNNING
restart            CONFIGURED, CREATED, RUNNING, STOPPED,     RUNNING
                   EXITED
cleanup            CONFIGURED, CREATED, STOPPED, STOPPING,    CONFIGURED (from CREATED) or EXITED
                   EXITED
mount / export     any but REMOVING                           unchanged
unmount            last mount refused while in the runtime    unchanged
attach / resize    CREATED, RUNNING                           unchanged
exec               RUNNING                                    unchanged
checkpoint         RUNNING                                    EXITED + checkpointed (or RUNNING)
restore            CONFIGURED, EXITED (with a checkpoint)     RUNNING + restored
remove             any; RUNNING, PAUSED, STOPPING need force  gone
=================  =========================================  ===============================

A container that exits by itself goes RUNNING -> STOPPED (the runtime still knows it) ->
EXITED (cleaned up by conmon's exit command), as in libpod.
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


class ExecState(enum.Enum):
    """libpod's exec session states: CREATED -> RUNNING (start) -> STOPPED (the process
    exited, or was killed by stop, remove with force, or its container's stop)."""

    CREATED = "created"
    RUNNING = "running"
    STOPPED = "stopped"

    def __str__(self) -> str:
        return str(self.value)


#: States a sync may change without a verb (the container exits, its conmon dies, its
#: freezer changes): the others stay as stored until a verb changes them.
UNSETTLED = frozenset(
    {
        ContainerState.CREATED,
        ContainerState.RUNNING,
        ContainerState.STOPPING,
        ContainerState.PAUSED,
    }
)

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
