"""This process's terminal: raw mode, its size forwarded to a container's tty, and SIGTERM or
SIGHUP turned into Ctrl-C while a container runs in the foreground."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading

from ..engine.errors import CtrError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..engine import Container


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP received while following a container in the foreground."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def termination_as_interrupt() -> Iterator[None]:
    """Make SIGTERM and SIGHUP unwind like Ctrl-C, so the container gets stopped (and
    removed with --rm) instead of being left behind by a killed CLI."""

    def raise_interrupted(signum: int, _frame: object) -> None:
        raise Interrupted(signum)

    previous = {sig: signal.signal(sig, raise_interrupted)
                for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def raw_mode(fd: int) -> Iterator[None]:
    """The terminal ``fd`` in raw mode (keys go through as typed), restored on the way out."""
    import termios  # noqa: PLC0415 - lazy: only for raw terminals
    import tty  # noqa: PLC0415 - lazy: only for raw terminals

    saved = termios.tcgetattr(fd)
    tty.setraw(fd, termios.TCSANOW)  # TCSAFLUSH would drop what was typed ahead
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


@contextlib.contextmanager
def terminal_session(ctr: Container, raw: bool) -> Iterator[None]:
    """Raw mode on our terminal and its size forwarded to the container's tty (SIGWINCH)."""
    if not raw:
        yield
        return
    fd = sys.stdin.fileno()
    changed = threading.Event()
    done = threading.Event()

    def forward_sizes() -> None:
        # The engine is called from this thread, never from the signal handler: the main
        # thread may be inside a verb when SIGWINCH arrives.
        while not done.is_set():
            if changed.wait(0.2):
                changed.clear()
                resize_to_terminal(ctr, fd)

    previous = signal.signal(signal.SIGWINCH, lambda *_: changed.set())
    resizer = threading.Thread(target=forward_sizes, daemon=True)
    resizer.start()
    try:
        with raw_mode(fd):
            yield
    finally:
        done.set()
        signal.signal(signal.SIGWINCH, previous)


def resize_to_terminal(ctr: Container, fd: int) -> None:
    """Give the container's tty our terminal's size; a terminal that reports no size (0x0,
    as ``script`` without a terminal does) is left alone, as podman does."""
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return
    if size.lines and size.columns:
        with contextlib.suppress(CtrError):
            ctr.resize(size.lines, size.columns)
