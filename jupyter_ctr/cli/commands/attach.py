"""Commands that connect this terminal to a container: attach and exec."""

from __future__ import annotations

import contextlib
import os
import sys

from ...engine.errors import CtrError, InvalidArgumentError
from ..exits import exit_status, print_error
from ..foreground import attached_run
from ..terminal import raw_mode

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

    from ...engine import Runtime


def cmd_attach(rt: Runtime, args: argparse.Namespace) -> int:
    ctr = rt.lookup_container(args.container)
    return attached_run(rt, ctr, args.detach_keys, start=False, remove=False,
                        send_stdin=not args.no_stdin)


def cmd_exec(rt: Runtime, args: argparse.Namespace) -> int:
    if not args.command:
        raise InvalidArgumentError("exec requires a command to run in the container")
    ctr = rt.lookup_container(args.container)
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
