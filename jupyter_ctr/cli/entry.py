"""The process: parse the command line, open the engine, run the command, and turn engine
errors into podman's exit statuses."""

from __future__ import annotations

import gc
import os
import sys

from ..client.host import remote_socket
from ..engine.errors import CtrError
from .exits import ENGINE_ERROR, INTERRUPTED, print_error
from .parser import LOG_LEVELS, parse_args

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence

    from ..service.door import Door

    Command = Callable[[Door, argparse.Namespace], int]


def command(func: str) -> Command:
    """The function a parser's ``func`` names (``"module:function"`` in ``commands/``), its
    module imported now."""
    module, _, name = func.partition(":")
    # __import__ rather than importlib.import_module: importing importlib costs ~0.4 ms.
    found: Command = getattr(__import__(f"{__package__}.commands.{module}", fromlist=[name]),
                             name)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command: ``argv``, or this process's arguments (then it is jupyter-ctr)."""
    if argv is None:
        # What a command loads (the engine: ~60,000 objects) lives until the process exits, a
        # few tens of ms later: the cyclic GC, walking it during the imports and again at exit,
        # costs a short command ~3 ms. So no collection until it is loaded, then it is frozen
        # (gc.freeze(): never examined again); the command itself runs with the GC on.
        gc.disable()
    try:
        return run(list(sys.argv[1:] if argv is None else argv))
    finally:
        if argv is None:
            gc.enable()


def run(argv: list[str]) -> int:
    """Parse ``argv`` and run its command; the exit status."""
    args = parse_args(argv)
    if LOG_LEVELS[args.log_level] != LOG_LEVELS["warn"]:
        # Unconfigured, logging still prints warnings; the engine logs its commands at debug.
        import logging  # noqa: PLC0415 - lazy: only with --log-level

        logging.basicConfig(level=LOG_LEVELS[args.log_level], stream=sys.stderr,
                            format="%(levelname)s %(name)s: %(message)s")
    try:
        door = open_door(args)
    except CtrError as exc:
        print_error(str(exc))
        return ENGINE_ERROR
    except OSError as exc:
        print_error(f"cannot prepare the engine's state directories: {exc}")
        return ENGINE_ERROR
    try:
        func = command(args.func)
        if not gc.isenabled():  # main() as the process: see there
            gc.freeze()
            gc.enable()
        return int(func(door, args))
    except CtrError as exc:
        print_error(str(exc))
        return ENGINE_ERROR
    except KeyboardInterrupt:
        return INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``| head``); keep Python from complaining at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    finally:
        door.runtime.close()


def open_door(args: argparse.Namespace) -> Door:
    """The one door, as this process's user: to the engine in this process (the policy,
    allow all by default, sees every command before the engine acts, as it sees the
    server's requests), or to the service in remote mode (client/host.py says which; the
    service's policy decides there). The ``service`` command is always the engine itself."""
    socket = None if args.func == "service:cmd_service" else remote_socket(
        remote=args.remote, url=args.url, explicit_roots=bool(args.root or args.runroot))
    if socket is not None:
        from ..client.door import RemoteDoor  # noqa: PLC0415 - lazy: remote mode only
        from ..client.runtime import Runtime as RemoteRuntime  # noqa: PLC0415 - lazy: as above

        return RemoteDoor(RemoteRuntime(socket))  # type: ignore[return-value] # Door's methods
    from ..engine.runtime import Runtime  # noqa: PLC0415 - lazy: not for --version, help, usage errors
    from ..service.door import Door  # noqa: PLC0415 - lazy: as above
    from ..service.principal import Principal  # noqa: PLC0415 - lazy: as above

    return Door(Runtime(args.root, args.runroot), Principal.of_process())
