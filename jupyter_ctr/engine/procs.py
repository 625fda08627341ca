"""The one subprocess seam: every runc, conmon, criu, umoci call goes through here.

Argv lists only, never shell strings; each call is logged with its argv.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Sequence

from .errors import OCIRuntimeError, RuntimeMissingError

log = logging.getLogger("jupyter_ctr.engine")


def find_binary(name: str, configured: str | None = None) -> str:
    """Return the absolute path of ``configured`` or of ``name`` on PATH, or raise."""
    candidate = configured or name
    path = shutil.which(candidate)
    if path is None:
        raise RuntimeMissingError(
            f"required binary {candidate!r} was not found: install it (make test does) "
            "or configure its path"
        )
    return path


def run(argv: Sequence[str], *, check: bool = True, input: bytes | None = None,
        timeout: float | None = 60) -> subprocess.CompletedProcess[bytes]:
    """Run ``argv`` and capture its output; raise ``OCIRuntimeError`` on failure if ``check``."""
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
