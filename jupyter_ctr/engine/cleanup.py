"""conmon's exit command: ``python -m jupyter_ctr.engine.cleanup --root R --run-root RR ID``.

Runs when a container's process exits, even if no engine process is alive then, and frees
what the container held (runc state, overlay mount, cgroups, sockets), as ``podman container
cleanup`` does. Exits 0 quietly when someone else already did the work.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

log = logging.getLogger("jupyter_ctr.engine.cleanup")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jupyter_ctr.engine.cleanup")
    parser.add_argument("--root", required=True)
    parser.add_argument("--run-root", required=True)
    parser.add_argument("--runtime", default="runc")
    parser.add_argument("--run", default="", help="token of the run whose exit this is")
    parser.add_argument("id")
    args = parser.parse_args(argv)
    root, run_root = Path(args.root), Path(args.run_root)
    if not (root / "state.db").exists() or not run_root.is_dir():
        return 0  # the engine's roots are gone: nothing of ours is left to clean
    from .config import EngineConfig
    from .errors import ContainerRemovedError, CtrError, NoSuchContainerError
    from .runtime import Runtime

    rt = Runtime(root, run_root, config=EngineConfig(runtime=args.runtime))
    try:
        ctr = rt.lookup_container(args.id)
        ctr.cleanup(run_token=args.run or None)
        if ctr.config.get("auto_remove") and ctr.state.value == "exited":
            rt.remove_container(ctr, force=True, timeout=0)
    except (NoSuchContainerError, ContainerRemovedError):
        return 0
    except CtrError as exc:
        log.warning("cleanup of %s: %s", args.id[:12], exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
