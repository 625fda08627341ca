"""The one place that turns errors into HTTP: ``STATUS`` maps each engine (and service)
error class to its status, engine errors carry their ``cause`` (engine/errors.py);
everything else is a tornado HTTPError or a bug (500).

Bodies look like Podman's (pkg/api/handlers/utils/errors.go):
``{"cause": "no such container", "message": "<full message>", "response": 404}``.
Docker clients read ``message``; podman clients read ``cause`` and ``message``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from http.client import responses
from typing import Any

from tornado import web

from ..engine import errors as engine_errors
from ..engine.errors import ContainerStateInvalidError, CtrError, OCIRuntimeError
from ..engine.recordings import NoSuchRecordingError
from ..service.policy import NotAuthorizedError

#: Engine and service errors -> HTTP status, as podman answers them; the nearest class in
#: an error's MRO wins (ContainerRunningError is a ContainerStateInvalidError, but 304).
STATUS: Mapping[type[CtrError], int] = {
    CtrError: 500,
    engine_errors.NoSuchContainerError: 404,
    engine_errors.NoSuchImageError: 404,
    engine_errors.NoSuchExecSessionError: 404,
    engine_errors.NoSuchSnapshotError: 404,
    NoSuchRecordingError: 404,
    engine_errors.ContainerExistsError: 409,
    engine_errors.ImageInUseError: 409,
    engine_errors.ImageNamesConflictError: 409,
    engine_errors.DependencyExistsError: 409,
    engine_errors.ContainerStateInvalidError: 409,
    engine_errors.ContainerRunningError: 304,
    engine_errors.ExecSessionStateInvalidError: 409,
    engine_errors.ContainerStoppedError: 304,
    engine_errors.ContainerRemovedError: 404,
    engine_errors.InvalidArgumentError: 400,
    engine_errors.RuntimeMissingError: 500,
    engine_errors.OCIRuntimeError: 500,
    engine_errors.NotImplementedCtrError: 501,
    engine_errors.TimeoutCtrError: 500,
    NotAuthorizedError: 403,
}

#: Per-route exceptions to the class table: podman answers some state errors with 304
#: (init of an initialized container) and we say so where the route is declared.
StatusOverrides = Mapping[type[BaseException], int]

#: runc could not exec the container's command (not found, not executable): the client's
#: command is at fault, so 400 as Docker answers (moby's translateContainerdStartErr).
_BAD_COMMAND_RE = re.compile(r"unable to start container process: exec: .*(executable file "
                             r"not found|no such file or directory|permission denied|is a "
                             r"directory|exec format error)")

#: init of a container that is already initialized (or running): 304, as podman answers.
INIT_OVERRIDES: StatusOverrides = {ContainerStateInvalidError: 304}


class RouteError(web.HTTPError):
    """An HTTP error raised by the server layer itself (bad query, bad JSON, no such route)."""

    def __init__(self, status: int, message: str, cause: str | None = None) -> None:
        super().__init__(status, "%s", message)
        self.message = message
        self.cause = cause or responses.get(status, "error").lower()


def bad_request(message: str, cause: str = "invalid argument") -> RouteError:
    return RouteError(400, message, cause)


def status_for(exc: BaseException, overrides: StatusOverrides | None = None) -> int:
    """The HTTP status an exception maps to."""
    if overrides:
        for cls, status in overrides.items():
            if isinstance(exc, cls):
                return status
    if isinstance(exc, OCIRuntimeError) and _BAD_COMMAND_RE.search(str(exc)):
        return 400
    if isinstance(exc, CtrError):
        return ctr_status(type(exc))
    if isinstance(exc, web.HTTPError):
        return int(exc.status_code)
    return 500


def ctr_status(cls: type[CtrError]) -> int:
    """The status of an engine or service error class: that of its nearest listed class."""
    for base in cls.__mro__:
        status = STATUS.get(base)
        if status is not None:
            return status
    return 500


def error_body(exc: BaseException | None, status: int) -> dict[str, Any]:
    """``{"cause", "message", "response"}`` for an exception (or a bare status)."""
    if isinstance(exc, CtrError):
        # podman's messages are wrapped error chains ending in the sentinel's text
        cause, message = exc.cause, str(exc) or exc.cause
        if cause.lower() not in message.lower():
            message = f"{message}: {cause}"
    elif isinstance(exc, RouteError):
        cause, message = exc.cause, exc.message
    elif isinstance(exc, web.HTTPError):
        reason = responses.get(status, "error")
        message = exc.log_message % exc.args if exc.log_message else (exc.reason or reason)
        cause = (exc.reason or reason).lower()
    elif exc is not None:
        cause, message = "internal error", f"{type(exc).__name__}: {exc}"
    else:
        cause = message = responses.get(status, "error")
    return {"cause": cause, "message": message, "response": status}


def engine_paths(rt: Any) -> list[tuple[str, str]]:
    """The engine's roots (state, bundles, spool files) with what to show instead: they are
    the server's business, not the client's."""
    return [(str(rt.run_root), "<run root>"), (str(rt.root), "<root>")]


def redact_text(text: str, paths: Sequence[tuple[str, str]]) -> str:
    """``text`` with each internal path replaced by its label (longest first, so a spool file
    under the run root reads "the uploaded archive", not "<run root>/uploads/...")."""
    for path, label in sorted(paths, key=lambda p: -len(p[0])):
        if path:
            text = text.replace(path, label)
    return text


def redact(body: dict[str, Any], paths: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """An error body with internal paths replaced in its cause and message."""
    out = dict(body)
    for key in ("cause", "message"):
        if isinstance(out.get(key), str):
            out[key] = redact_text(out[key], paths)
    return out
