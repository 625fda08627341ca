"""The one subprocess seam: every runc, conmon, criu, umoci call goes through here.

Argv lists only, never shell strings; each call is logged with its argv.
"""

from __future__ import annotations

import os
import sys

from .errors import OCIRuntimeError, RuntimeMissingError

# logging and subprocess are imported where they are used (and shutil not at all): a CLI
# command that needs no runc call (ps, stop and rm usually) should not pay for them.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable, Mapping, Sequence

LOGGER = "jupyter_ctr.engine"


class _EngineLog:
    """The engine's logger (``jupyter_ctr.engine``), imported on first need: until some code
    has imported ``logging`` nothing can have configured it, and a debug record would go
    nowhere (logging's last-resort handler shows warnings and above only)."""

    def debug(self, msg: str, *args: object) -> None:
        logging = sys.modules.get("logging")
        if logging is not None:
            logging.getLogger(LOGGER).debug(msg, *args)


log = _EngineLog()


def which(cmd: str) -> str | None:
    """``shutil.which(cmd)``, step for step, without importing shutil: it imports zlib, bz2
    and lzma, ~1 ms of every ``start``, which looks up runc and conmon."""
    if os.path.dirname(cmd):
        return cmd if _executable(cmd) else None
    path = os.environ.get("PATH")
    if path is None:
        try:
            path = os.confstr("CS_PATH")
        except (AttributeError, ValueError):
            path = os.defpath
    if not path:
        return None
    seen = set()
    for directory in path.split(os.pathsep):
        if directory not in seen:
            seen.add(directory)
            name = os.path.join(directory, cmd)
            if _executable(name):
                return name
    return None


def _executable(path: str) -> bool:
    return os.path.exists(path) and os.access(path, os.X_OK) and not os.path.isdir(path)


def find_binary(name: str, configured: str | None = None) -> str:
    """Return the absolute path of ``configured`` or of ``name`` on PATH, or raise."""
    candidate = configured or name
    path = which(candidate)
    if path is None:
        raise RuntimeMissingError(
            f"required binary {candidate!r} was not found: install it (make test does) "
            "or configure its path"
        )
    return path


def run(argv: Sequence[str], *, check: bool = True, input: bytes | None = None,
        timeout: float | None = 60) -> subprocess.CompletedProcess[bytes]:
    """Run ``argv`` and capture its output; raise ``OCIRuntimeError`` on failure if ``check``."""
    import subprocess  # noqa: PLC0415 - lazy: ~3 ms, and most commands run no tool

    log.debug("exec %s", " ".join(argv))
    try:
        proc = subprocess.run(list(argv), input=input, capture_output=True, timeout=timeout,
                              check=False)
    except FileNotFoundError as exc:
        raise RuntimeMissingError(f"cannot run {argv[0]!r}: {exc.strerror}") from exc
    except subprocess.TimeoutExpired as exc:
        what = " ".join(argv[:3])
        raise OCIRuntimeError(f"{what} timed out after {timeout}s") from exc
    if check and proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip() or proc.stdout.decode(
            errors="replace").strip()
        raise OCIRuntimeError(f"{' '.join(argv[:3])} failed (exit {proc.returncode}): {err}")
    return proc


def run_lines(argv: Sequence[str], on_line: Callable[[str], None] | None = None, *,
              timeout: float | None = None, env: Mapping[str, str] | None = None,
              ) -> tuple[int, list[str]]:
    """Run ``argv`` with stdout and stderr merged, handing each output line (without its end)
    to ``on_line`` as it comes: for long tools whose progress a user watches (skopeo,
    mmdebstrap). Returns the exit status and every line; a run past ``timeout`` is killed and
    raises ``OCIRuntimeError``."""
    import subprocess  # noqa: PLC0415 - lazy: ~3 ms, and most commands run no tool
    import threading  # noqa: PLC0415 - lazy: only the long tools need a watchdog

    log.debug("exec %s", " ".join(argv))
    try:
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, env=env)
    except FileNotFoundError as exc:
        raise RuntimeMissingError(f"cannot run {argv[0]!r}: {exc.strerror}") from exc
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        proc.kill()

    watchdog = threading.Timer(timeout, expire) if timeout is not None else None
    lines: list[str] = []
    try:
        if watchdog is not None:
            watchdog.daemon = True
            watchdog.start()
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode(errors="replace").rstrip("\r\n")
            lines.append(line)
            if on_line is not None:
                on_line(line)
        status = proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        if watchdog is not None:
            watchdog.cancel()
        if proc.stdout is not None:
            proc.stdout.close()
    if expired.is_set():
        raise OCIRuntimeError(f"{' '.join(argv[:3])} timed out after {timeout}s")
    return status, lines
