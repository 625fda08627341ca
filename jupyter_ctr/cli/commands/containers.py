"""Container lifecycle commands: create, start, stop, kill, wait, rm, pause, unpause, restart,
mount, umount and export (what scripts run most: this module imports little)."""

from __future__ import annotations

import contextlib
import sys
import time

from ...engine.errors import (
    ContainerRunningError,
    ContainerStoppedError,
    InvalidArgumentError,
    NoSuchImageError,
)
from ...engine.oci import parse_signal
from ...engine.state import ContainerState
from ..arguments import image_and_command, key_values, log_size, split_commas
from ..exits import each

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from ...engine import Container
    from ...service.door import Door


def create_container(door: Door, args: argparse.Namespace) -> Container:
    """The container ``create`` and ``run`` describe; an image named by a registry
    (``quay.io/x``, ``host:5000/x``) is pulled first as podman's ``--pull`` says (default
    missing: only when it is not here; a local-only name is never pulled)."""
    image, command = image_and_command(args)
    if args.pull in ("always", "newer"):
        _pull_for_create(door, args, image)
    try:
        return _create(door, args, image, command)
    except NoSuchImageError:
        if args.pull != "missing" or not _pull_for_create(door, args, image):
            raise
    return _create(door, args, image, command)


def _pull_for_create(door: Door, args: argparse.Namespace, image: str) -> bool:
    """Pull ``image`` if it names a registry (progress on stderr unless -q); whether it
    did."""
    # transfer loads the archive formats: only a create that pulls needs them.
    from ...engine.images.transfer import remote_name  # noqa: PLC0415 - lazy: as above

    if not remote_name(image):
        return False
    door.pull_image(image, tls_verify=args.tls_verify, auth_file=args.authfile,
                    progress=None if args.quiet else
                    (lambda line: print(line, file=sys.stderr, flush=True)))
    return True


def labels_of(args: argparse.Namespace) -> dict[str, str]:
    """--label K=V items, and --lab NAME as the label jupyter-ctr.lab=NAME."""
    labels = key_values(args.label)
    if getattr(args, "lab", None):
        labels["jupyter-ctr.lab"] = args.lab
    return labels


def _create(door: Door, args: argparse.Namespace, image: str, command: list[str]
            ) -> Container:
    return door.create_container(
        image, command or None, name=args.name, env=args.env or None,
        workdir=args.workdir, user=args.user, tty=args.tty, stdin=args.interactive,
        labels=labels_of(args), stop_signal=args.stop_signal,
        stop_timeout=args.stop_timeout, memory=args.memory, pids_limit=args.pids_limit,
        cpus=args.cpus, network=args.network, auto_remove=args.rm,
        restart_policy=args.restart, depends_on=split_commas(args.requires),
        log_size_max=log_size(args.log_opt))


def cmd_create(door: Door, args: argparse.Namespace) -> int:
    print(create_container(door, args).id)
    return 0


def cmd_start(door: Door, args: argparse.Namespace) -> int:
    if args.attach:
        if len(args.containers) > 1:
            raise InvalidArgumentError("you cannot start and attach multiple containers at once")
        ctr = door.container(args.containers[0], "start")
        state = ctr.state
        running = state in (ContainerState.RUNNING, ContainerState.PAUSED,
                            ContainerState.STOPPING)
        if not running and state is not ContainerState.CREATED:
            ctr.init(recursive=True)
        from ..foreground import follow_until_exit  # noqa: PLC0415 - lazy: only start -a

        # Earlier runs' lines stay in the log: show only what this run writes.
        return follow_until_exit(door, ctr, since=time.time(), start=not running, remove=False)

    def start(ref: str) -> str:
        with contextlib.suppress(ContainerRunningError):
            door.container(ref, "start").start(recursive=True)
        return ref

    return each(args.containers, start)


def cmd_stop(door: Door, args: argparse.Namespace) -> int:
    def stop(ref: str) -> str:
        with contextlib.suppress(ContainerStoppedError):
            door.container(ref, "stop").stop(timeout=args.time)
        return ref

    return each(args.containers, stop)


def cmd_kill(door: Door, args: argparse.Namespace) -> int:
    parse_signal(args.signal)  # a bad signal is an error even before any container is found

    def kill(ref: str) -> str:
        door.container(ref, "kill").kill(args.signal)
        return ref

    return each(args.containers, kill)


def cmd_wait(door: Door, args: argparse.Namespace) -> int:
    return each(args.containers, lambda ref: str(door.container(ref, "wait").wait()))


def cmd_rm(door: Door, args: argparse.Namespace) -> int:
    def remove(ref: str) -> str:
        door.remove(ref, force=args.force, timeout=args.time)
        return ref

    return each(args.containers, remove)


def _do(fn: Callable[[], object], result: str) -> str:
    fn()
    return result


def cmd_pause(door: Door, args: argparse.Namespace) -> int:
    return each(args.containers, lambda ref: _do(door.container(ref, "pause").pause, ref))


def cmd_unpause(door: Door, args: argparse.Namespace) -> int:
    return each(args.containers, lambda ref: _do(door.container(ref, "unpause").unpause, ref))


def cmd_restart(door: Door, args: argparse.Namespace) -> int:
    def restart(ref: str) -> str:
        door.container(ref, "restart").restart(timeout=args.time)
        return ref

    return each(args.containers, restart)


def cmd_mount(door: Door, args: argparse.Namespace) -> int:
    return each(args.containers, lambda ref: str(door.container(ref, "mount").mount()))


def cmd_umount(door: Door, args: argparse.Namespace) -> int:
    def unmount(ref: str) -> str:
        door.container(ref, "unmount").unmount(force=args.force)
        return ref

    return each(args.containers, unmount)


def cmd_export(door: Door, args: argparse.Namespace) -> int:
    ctr = door.container(args.container, "export")
    if args.output:
        ctr.export(args.output)
    elif sys.stdout.isatty():
        raise InvalidArgumentError("refusing to export to a terminal: use -o FILE or redirect")
    else:
        sys.stdout.flush()
        ctr.export(sys.stdout.buffer)
    return 0
