"""Commands that connect this terminal to a container: run (in the foreground), attach and
exec."""

from __future__ import annotations

import contextlib
import os
import sys

from ...engine.errors import CtrError, InvalidArgumentError
from ..exits import exit_status, print_error
from ..foreground import attached_run, follow_until_exit, remove_quietly
from ..terminal import raw_mode
from .containers import create_container

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

    from ...service.door import Door


def cmd_run(door: Door, args: argparse.Namespace) -> int:
    ctr = create_container(door, args)
    try:
        if args.detach:
            ctr.start(recursive=True)
            print(ctr.id)
            return 0
        ctr.init(recursive=True)
        if args.interactive or args.tty:
            return attached_run(door, ctr, args.detach_keys, start=True, remove=args.rm)
        return follow_until_exit(door, ctr, since=None, start=True, remove=args.rm)
    except BaseException:
        if args.rm:  # whatever failed, --rm leaves nothing behind (as podman)
            remove_quietly(door, ctr)
        raise


def cmd_attach(door: Door, args: argparse.Namespace) -> int:
    ctr = door.container(args.container, "attach")
    return attached_run(door, ctr, args.detach_keys, start=False, remove=False,
                        send_stdin=not args.no_stdin)


def cmd_exec(door: Door, args: argparse.Namespace) -> int:
    if not args.command:
        raise InvalidArgumentError("exec requires a command to run in the container")
    ctr = door.container(args.container, "exec")
    session = ctr.exec(args.command, tty=args.tty, stdin=args.interactive,
                       env=args.env or None, user=args.user, workdir=args.workdir)
    stdin = sys.stdin.buffer if args.interactive else None
    raw = args.tty and stdin is not None and sys.stdin.isatty()
    size = None
    if args.tty and sys.stdout.isatty():
        term = os.get_terminal_size(sys.stdout.fileno())
        size = (term.lines, term.columns)
    if args.detach:
        session.start()
        print(session.id)
        return 0
    with raw_mode(sys.stdin.fileno()) if raw else contextlib.nullcontext():
        try:
            code = session.start_and_attach(stdin, sys.stdout.buffer, sys.stderr.buffer,
                                            detach_keys=args.detach_keys, tty_size=size)
        except CtrError as exc:
            # Like podman: a command that cannot run exits 126 (not executable) or 127
            # (not found), with the runtime's message.
            failed = session.inspect()["ExitCode"]
            if failed not in (126, 127):
                raise
            print_error(str(exc))
            return int(failed)
    return 0 if code is None else exit_status(code)
