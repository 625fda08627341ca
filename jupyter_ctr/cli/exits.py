"""podman's exit statuses, and errors reported as ``Error: <message>`` lines."""

from __future__ import annotations

import sys

from ..engine.errors import CtrError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

#: podman's exit code when the engine, not the container, failed.
ENGINE_ERROR = 125
#: What a shell reports for a command ended by Ctrl-C.
INTERRUPTED = 130


def print_error(message: str) -> None:
    print(f"Error: {message}", file=sys.stderr, flush=True)


def exit_status(code: int | None) -> int:
    """A container exit code as a process exit status (unknown ones read as engine errors)."""
    if code is None or not 0 <= code <= 255:
        return ENGINE_ERROR
    return code


def each(refs: Sequence[str], action: Callable[[str], str | None]) -> int:
    """Apply ``action`` to every reference, printing its output or its error; 125 if any fail."""
    failed = False
    for ref in refs:
        try:
            out = action(ref)
        except CtrError as exc:
            print_error(str(exc))
            failed = True
            continue
        if out is not None:
            print(out, flush=True)
    return ENGINE_ERROR if failed else 0
