"""conmon's exit command: ``python -m jupyter_ctr.engine.cleanup --root R --run-root RR ID``.

Runs when a container's process exits, even if no engine process is alive then, and frees
what the container held (runc state, overlay mount, cgroups, sockets), as ``podman container
cleanup`` does. Exits 0 quietly when someone else already did the work.

It runs at every container exit, so it imports only what the cleanup needs: the package's
names load lazily (engine/__init__.py), and it does without traitlets: the engine's settings
come on its command line (engine/settings.py).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from . import settings

log = logging.getLogger("jupyter_ctr.engine.cleanup")

#: Who the events of a container's exit name (attributes ``user``/``uid``): no user acted,
#: conmon ran this command as root when the process ended (podman records no user). The
#: container's events keep its ``owner_uid``, so its owner still sees them; ``events
#: --filter user=root`` does not count them as root's doing.
EXIT_ACTOR = (0, "conmon")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jupyter_ctr.engine.cleanup")
    parser.add_argument("--root", required=True)
    parser.add_argument("--run-root", required=True)
    # The defaults count for containers started before these were passed.
    parser.add_argument("--runtime", default=settings.RUNTIME)
    parser.add_argument("--conmon", default=settings.CONMON)
    parser.add_argument("--criu", default=settings.CRIU)
    parser.add_argument("--cgroup-parent", default=settings.CGROUP_PARENT)
    parser.add_argument("--no-runtime-shortcuts", dest="runtime_shortcuts",
                        action="store_false")
    parser.add_argument("--run", default="", help="token of the run whose exit this is")
    parser.add_argument("id")
    args = parser.parse_args(argv)
    root, run_root = Path(args.root), Path(args.run_root)
    if not (root / "state.db").exists() or not run_root.is_dir():
        return 0  # the engine's roots are gone: nothing of ours is left to clean
    # After the checks above: a container of removed roots costs no engine import.
    from .errors import (  # noqa: PLC0415 - lazy: see above
        ContainerRemovedError,
        CtrError,
        NoSuchContainerError,
    )
    from .runtime import Runtime  # noqa: PLC0415 - lazy: see above
    from .settings import Settings  # noqa: PLC0415 - lazy: see above

    # The settings of the engine that started the container, from the command line.
    rt = Runtime(root, run_root, config=Settings(
        root=args.root, run_root=args.run_root, runtime=args.runtime, conmon=args.conmon,
        criu=args.criu, cgroup_parent=args.cgroup_parent,
        runtime_shortcuts=args.runtime_shortcuts)).acting_as(*EXIT_ACTOR)
    try:
        ctr = rt.lookup_container(args.id)
        ctr.cleanup(run_token=args.run or None)
        if ctr.config.auto_remove and ctr.state.value == "exited":
            rt.remove_container(ctr, force=True, timeout=0)
    except (NoSuchContainerError, ContainerRemovedError):
        return 0
    except CtrError as exc:
        log.warning("cleanup of %s: %s", args.id[:12], exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
