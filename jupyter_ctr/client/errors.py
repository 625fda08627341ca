"""The service's JSON errors back into the engine's exception classes: the inverse of
server/errors.py (which maps each class to a status and writes ``{"cause", "message",
"response"}``). The class is found by the body's ``cause`` (each class has its own), then by
the status; the message is the engine's own (the server appends ": <cause>" when the message
does not say it, and that suffix is taken off again).
"""

from __future__ import annotations

import json

from ..engine import errors as engine_errors
from ..engine.errors import CtrError
from ..engine.recordings import NoSuchRecordingError  # noqa: F401 - its cause is mapped below
from ..service.policy import NotAuthorizedError


class ServiceUnavailableError(CtrError):
    """The service's socket could not be reached (not running, or no permission)."""

    cause = "cannot connect to the jupyter-ctr service"


def _classes() -> list[type[CtrError]]:
    """Every engine and service error class (the ones server/errors.py maps to statuses)."""
    found: list[type[CtrError]] = []
    todo: list[type[CtrError]] = [CtrError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


#: cause -> class (the first defined wins: CtrError itself last).
_BY_CAUSE: dict[str, type[CtrError]] = {}
for _cls in sorted(_classes(), key=lambda c: c is CtrError):
    _BY_CAUSE.setdefault(_cls.cause, _cls)
del _cls

#: status -> class when the cause is not one of ours (a RouteError, a proxy's answer).
_BY_STATUS: dict[int, type[CtrError]] = {
    400: engine_errors.InvalidArgumentError, 403: NotAuthorizedError,
    404: engine_errors.NoSuchContainerError, 409: engine_errors.ContainerStateInvalidError,
    501: engine_errors.NotImplementedCtrError,
}


def error_class(cause: str, status: int,
                not_found: type[CtrError] | None = None) -> type[CtrError]:
    """The class of an error answer: by ``cause``, else by ``status`` (``not_found`` for a
    404: what the route looks up, e.g. NoSuchImageError)."""
    cls = _BY_CAUSE.get(cause)
    if cls is not None:
        return cls
    if status == 404 and not_found is not None:
        return not_found
    return _BY_STATUS.get(status, CtrError)


def error_from(status: int, body: bytes, not_found: type[CtrError] | None = None) -> CtrError:
    """The exception an error answer stands for, with the engine's message."""
    try:
        data = json.loads(body) if body else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    cause = str(data.get("cause") or "")
    message = str(data.get("message") or "") or body.decode(errors="replace").strip() \
        or f"the service answered {status}"
    suffix = f": {cause}"
    if cause and message.endswith(suffix) and \
            cause.lower() not in message[:-len(suffix)].lower():
        message = message[:-len(suffix)]
    return error_class(cause, status, not_found)(message)


def error_in_stream(message: str, default: type[CtrError] = CtrError) -> CtrError:
    """The exception a streamed ``{"error": message}`` (pull, push: after the 200, so no
    status and no cause) stands for: the class whose cause ends the message (the server's
    error_body makes sure one does), else ``default``."""
    low = message.lower()
    for cause in sorted(_BY_CAUSE, key=len, reverse=True):
        if cause and low.endswith(cause.lower()):
            cls = _BY_CAUSE[cause]
            suffix = f": {cause}"
            if message.endswith(suffix) and cause.lower() not in low[:-len(suffix)]:
                message = message[:-len(suffix)]
            return cls(message)
    return default(message)
