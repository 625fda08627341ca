"""A container in the foreground of this process: its output followed from its log, or our
stdio attached to it; Ctrl-C (SIGTERM, SIGHUP) stops it, and removes it with ``--rm``."""

from __future__ import annotations

import contextlib
import sys
import threading

from ..engine.errors import (
    ContainerRemovedError,
    ContainerStoppedError,
    CtrError,
    NoSuchContainerError,
)
from .exits import INTERRUPTED, exit_status, print_error
from .formatting import write_log_line
from .terminal import Interrupted, resize_to_terminal, terminal_session, termination_as_interrupt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..engine import Container
    from ..service.door import Door


class LogFollower(threading.Thread):
    """Copies a container's log to stdout/stderr while it runs.

    Stands in for attach until conmon's attach socket is wired up. It must be started after
    ``init`` (conmon has created the log file) and before ``start``, so that not even the
    first line of a short-lived container is missed.
    """

    def __init__(self, ctr: Container, since: float | None = None) -> None:
        super().__init__(name=f"logs-{ctr.id[:12]}", daemon=True)
        self.ctr = ctr
        self.since = since
        self.error: CtrError | None = None

    def run(self) -> None:
        try:
            for line in self.ctr.logs(since=self.since, follow=True):
                write_log_line(line)
        except CtrError as exc:
            self.error = exc

    def wait(self) -> None:
        """Join, staying interruptible by Ctrl-C."""
        while self.is_alive():
            self.join(0.1)
        if self.error is not None:
            print_error(f"reading the output of {self.ctr.id[:12]}: {self.error}")


def remove_quietly(door: Door, ctr: Container) -> None:
    """Remove, accepting that conmon's exit command (auto-remove) may have been first."""
    with contextlib.suppress(NoSuchContainerError, ContainerRemovedError):
        door.remove(ctr, force=True, timeout=0)


def follow_until_exit(door: Door, ctr: Container, since: float | None, start: bool,
                      remove: bool) -> int:
    """Stream the output of ``ctr`` (initialised, or running) until it exits; its exit status.

    On Ctrl-C (or SIGTERM/SIGHUP) the container is stopped, and removed with ``remove``; the
    status is then the container's exit code, or 128 + the signal number if it is unknown.
    """
    follower = LogFollower(ctr, since)
    follower.start()
    try:
        with termination_as_interrupt():
            if start:
                ctr.start(recursive=True)
            follower.wait()
            code = ctr.wait()
    except KeyboardInterrupt as exc:
        code = 128 + exc.signum if isinstance(exc, Interrupted) else INTERRUPTED
        with contextlib.suppress(CtrError, KeyboardInterrupt):
            with contextlib.suppress(ContainerStoppedError):
                ctr.stop()
            follower.join(2)  # what the container printed while stopping
            code = ctr.wait()
        if remove:
            remove_quietly(door, ctr)
        return exit_status(code)
    except BaseException:
        if remove:
            remove_quietly(door, ctr)
        raise
    if remove:
        remove_quietly(door, ctr)
    return exit_status(code)


def attached_run(door: Door, ctr: Container, detach_keys: str, start: bool,
                 remove: bool, send_stdin: bool = True) -> int:
    """Attach our stdio to ``ctr`` (started now if ``start``; our stdin only if it keeps one
    open and ``send_stdin``); its exit code, or 0 when the detach keys were typed (the
    container keeps running)."""
    tty_mode = bool(ctr.config.tty)
    stdin = sys.stdin.buffer if ctr.config.stdin and send_stdin else None
    raw = tty_mode and stdin is not None and sys.stdin.isatty()
    if raw:
        resize_to_terminal(ctr, sys.stdin.fileno())  # before start: the first prompt fits
    try:
        with termination_as_interrupt(), terminal_session(ctr, raw):
            if start:
                result = ctr.start_and_attach(stdin, sys.stdout.buffer, sys.stderr.buffer,
                                              detach_keys=detach_keys)
            else:
                result = ctr.attach(stdin, sys.stdout.buffer, sys.stderr.buffer,
                                    detach_keys=detach_keys)
    except KeyboardInterrupt:
        with contextlib.suppress(CtrError):
            with contextlib.suppress(ContainerStoppedError):
                ctr.stop()
        code = ctr.wait()
        if remove:
            remove_quietly(door, ctr)
        return exit_status(code)
    if result == "detached":
        print(f"\r\nDetached from {ctr.name}", file=sys.stderr)
        return 0
    code = ctr.wait()
    if remove:
        remove_quietly(door, ctr)
    return exit_status(code)
