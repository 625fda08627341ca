"""The error table (server/errors.py): every engine error class to its HTTP status, the
error bodies podman and Docker clients read, and the same bodies through real routes."""

from __future__ import annotations

import inspect

import pytest
from tornado import web

from jupyter_ctr.engine import errors as engine_errors
from jupyter_ctr.engine.storage import StorageError
from jupyter_ctr.server import errors
from jupyter_ctr.service.policy import NotAuthorizedError

from .conftest import DOCKER, LIBPOD

#: Every error class the engine defines -> the status podman answers for it.
EXPECTED = {
    "CtrError": 500,
    "NoSuchContainerError": 404,
    "NoSuchImageError": 404,
    "NoSuchExecSessionError": 404,
    "NoSuchSnapshotError": 404,  # ours: the checkpoint timeline's unknown step
    "ContainerExistsError": 409,
    "ImageExistsError": 500,  # never raised (dead; issue 10 removes it)
    "ImageInUseError": 409,
    "ImageNamesConflictError": 409,  # by ID with several names, without force (Docker: 409)
    "DependencyExistsError": 409,
    "ContainerStateInvalidError": 409,
    "ContainerRunningError": 304,
    "ExecSessionStateInvalidError": 409,
    "ContainerStoppedError": 304,
    "ContainerRemovedError": 404,
    "InvalidArgumentError": 400,
    "RegistryError": 500,  # podman: a failed pull or push is an internal error (500)
    "RegistryAuthError": 500,
    "ImageBuildError": 500,
    "RuntimeMissingError": 500,
    "OCIRuntimeError": 500,
    "NotImplementedCtrError": 501,
    "TimeoutCtrError": 500,
}

ENGINE_CLASSES = [cls for _, cls in inspect.getmembers(engine_errors, inspect.isclass)
                  if issubclass(cls, engine_errors.CtrError)]


def test_every_engine_error_class_is_in_the_expected_table() -> None:
    assert {cls.__name__ for cls in ENGINE_CLASSES} <= set(EXPECTED)
    assert not any(hasattr(cls, "http_status") for cls in ENGINE_CLASSES)  # the server's job


@pytest.mark.parametrize("cls", ENGINE_CLASSES, ids=lambda cls: cls.__name__)
def test_status_and_body_per_engine_error(cls: type[engine_errors.CtrError]) -> None:
    status = EXPECTED[cls.__name__]
    exc = cls(f"container abc123 is broken in a {cls.__name__} way")
    assert errors.status_for(exc) == status
    body = errors.error_body(exc, status)
    # podman's shape: the sentinel's text as cause, the message ending in it
    assert body == {"cause": cls.cause, "response": status,
                    "message": f"container abc123 is broken in a {cls.__name__} way: "
                               f"{cls.cause}"}


def test_rows_outside_the_engine_errors_module() -> None:
    assert errors.status_for(NotAuthorizedError("rule x")) == 403
    assert errors.error_body(NotAuthorizedError("alice may not export: rule x"), 403) == {
        "cause": "not authorized", "message": "alice may not export: rule x: not authorized",
        "response": 403}
    assert errors.status_for(StorageError("mount failed")) == 500  # a CtrError elsewhere

    class Custom(engine_errors.ContainerStateInvalidError):
        cause = "custom"

    assert errors.ctr_status(Custom) == 409  # the nearest listed class counts


def test_message_that_already_names_its_cause_and_empty_messages() -> None:
    exc = engine_errors.NoSuchContainerError("no such container: x")
    assert errors.error_body(exc, 404)["message"] == "no such container: x"
    assert errors.error_body(engine_errors.NoSuchImageError(), 404)["message"] == \
        "no such image"


def test_overrides_bad_commands_and_other_exceptions() -> None:
    state = engine_errors.ContainerStateInvalidError("already initialized")
    assert errors.status_for(state, errors.INIT_OVERRIDES) == 304
    assert errors.status_for(engine_errors.ContainerStoppedError(), errors.INIT_OVERRIDES) == 304
    bad_cmd = engine_errors.OCIRuntimeError(
        "runc create failed: unable to start container process: exec: \"nope\": executable "
        "file not found in $PATH")
    assert errors.status_for(bad_cmd) == 400
    assert errors.status_for(engine_errors.OCIRuntimeError("runc died")) == 500
    assert errors.status_for(web.HTTPError(405)) == 405
    assert errors.status_for(ValueError("bug")) == 500
    assert errors.error_body(ValueError("bug"), 500) == {
        "cause": "internal error", "message": "ValueError: bug", "response": 500}
    route = errors.RouteError(413, "too big", "payload too large")
    assert errors.error_body(route, 413) == {"cause": "payload too large",
                                             "message": "too big", "response": 413}
    assert errors.error_body(web.HTTPError(405), 405) == {
        "cause": "method not allowed", "message": "Method Not Allowed", "response": 405}
    assert errors.error_body(None, 404) == {"cause": "Not Found", "message": "Not Found",
                                            "response": 404}


def test_internal_paths_are_redacted() -> None:
    paths = [("/run/x", "<run root>"), ("/run/x/uploads/u.tar", "the uploaded archive")]
    body = {"cause": "c", "message": "bad /run/x/uploads/u.tar and /run/x/bundles/1",
            "response": 400}
    assert errors.redact(body, paths)["message"] == \
        "bad the uploaded archive and <run root>/bundles/1"


# -- the same rows through real routes, libpod and Docker --------------------------------------
@pytest.mark.parametrize("base", [LIBPOD, DOCKER])
async def test_bodies_through_the_routes(api, base):
    r = await api.get(f"{base}/containers/svc-err-nosuch/json")
    assert r.code == 404
    assert r.json() == {"cause": "no such container", "response": 404,
                        "message": "no container with name or ID 'svc-err-nosuch' found: "
                                   "no such container"}
    r = await api.post(f"{base}/containers/create", body=b"[1]")
    assert (r.code, r.json()) == (400, {"cause": "invalid argument", "response": 400,
                                        "message": "request body must be a JSON object"})
    r = await api.get(f"{base}/images/nosuch:tag/json")
    assert r.code == 404 and r.json()["cause"] == "no such image"
    r = await api.post(f"{base}/exec/{'0' * 64}/resize", params={"h": "1", "w": "1"})
    assert r.code == 404 and r.json()["cause"] == "no such exec session"
