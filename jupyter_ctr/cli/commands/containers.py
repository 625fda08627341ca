"""Container lifecycle commands: create, start, stop, kill, wait, rm, pause, unpause, restart,
mount, umount and export (what scripts run most: this module imports little)."""

from __future__ import annotations

import contextlib
import sys
import time

from ...engine.errors import ContainerRunningError, ContainerStoppedError, InvalidArgumentError
from ...engine.oci import parse_signal
from ...engine.state import ContainerState
from ..arguments import image_and_command, key_values, log_size, split_commas
from ..exits import each

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from ...engine import Container, Runtime


def create_container(rt: Runtime, args: argparse.Namespace) -> Container:
    """The container ``create`` and ``run`` describe."""
    image, command = image_and_command(args)
    return rt.create_container(
        image, command or None, name=args.name, env=args.env or None,
        workdir=args.workdir, user=args.user, tty=args.tty, stdin=args.interactive,
        labels=key_values(args.label), stop_signal=args.stop_signal,
        stop_timeout=args.stop_timeout, memory=args.memory, pids_limit=args.pids_limit,
        cpus=args.cpus, network=args.network, auto_remove=args.rm,
        restart_policy=args.restart, depends_on=split_commas(args.requires),
        log_size_max=log_size(args.log_opt))


def cmd_create(rt: Runtime, args: argparse.Namespace) -> int:
    print(create_container(rt, args).id)
    return 0


def cmd_start(rt: Runtime, args: argparse.Namespace) -> int:
    if args.attach:
        if len(args.containers) > 1:
            raise InvalidArgumentError("you cannot start and attach multiple containers at once")
        ctr = rt.lookup_container(args.containers[0])
        state = ctr.state
        running = state in (ContainerState.RUNNING, ContainerState.PAUSED,
                            ContainerState.STOPPING)
        if not running and state is not ContainerState.CREATED:
            ctr.init(recursive=True)
        from ..foreground import follow_until_exit  # noqa: PLC0415 - lazy: only start -a

        # Earlier runs' lines stay in the log: show only what this run writes.
        return follow_until_exit(rt, ctr, since=time.time(), start=not running, remove=False)

    def start(ref: str) -> str:
        with contextlib.suppress(ContainerRunningError):
            rt.lookup_container(ref).start(recursive=True)
        return ref

    return each(args.containers, start)


def cmd_stop(rt: Runtime, args: argparse.Namespace) -> int:
    def stop(ref: str) -> str:
        with contextlib.suppress(ContainerStoppedError):
            rt.lookup_container(ref).stop(timeout=args.time)
        return ref

    return each(args.containers, stop)


def cmd_kill(rt: Runtime, args: argparse.Namespace) -> int:
    parse_signal(args.signal)  # a bad signal is an error even before any container is found

    def kill(ref: str) -> str:
        rt.lookup_container(ref).kill(args.signal)
        return ref

    return each(args.containers, kill)


def cmd_wait(rt: Runtime, args: argparse.Namespace) -> int:
    return each(args.containers, lambda ref: str(rt.lookup_container(ref).wait()))


def cmd_rm(rt: Runtime, args: argparse.Namespace) -> int:
    def remove(ref: str) -> str:
        rt.remove_container(rt.lookup_container(ref), force=args.force, timeout=args.time)
        return ref

    return each(args.containers, remove)


def _do(fn: Callable[[], object], result: str) -> str:
    fn()
    return result


def cmd_pause(rt: Runtime, args: argparse.Namespace) -> int:
    return each(args.containers, lambda ref: _do(rt.lookup_container(ref).pause, ref))


def cmd_unpause(rt: Runtime, args: argparse.Namespace) -> int:
    return each(args.containers, lambda ref: _do(rt.lookup_container(ref).unpause, ref))


def cmd_restart(rt: Runtime, args: argparse.Namespace) -> int:
    return each(args.containers,
                lambda ref: _do(lambda: rt.lookup_container(ref).restart(timeout=args.time), ref))


def cmd_mount(rt: Runtime, args: argparse.Namespace) -> int:
    return each(args.containers, lambda ref: str(rt.lookup_container(ref).mount()))


def cmd_umount(rt: Runtime, args: argparse.Namespace) -> int:
    return each(args.containers,
                lambda ref: _do(lambda: rt.lookup_container(ref).unmount(force=args.force), ref))


def cmd_export(rt: Runtime, args: argparse.Namespace) -> int:
    ctr = rt.lookup_container(args.container)
    if args.output:
        ctr.export(args.output)
    elif sys.stdout.isatty():
        raise InvalidArgumentError("refusing to export to a terminal: use -o FILE or redirect")
    else:
        sys.stdout.flush()
        ctr.export(sys.stdout.buffer)
    return 0
