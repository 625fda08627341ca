"""Engine errors: one root, one subclass per libpod sentinel (libpod/define/errors.go).

Each class carries ``cause``: the short sentinel text that the REST layer reports as the
``cause`` of an error body, while ``str(err)`` is the full message naming the container and
its state.
"""

from __future__ import annotations


class CtrError(Exception):
    """Root of every error the engine raises on purpose."""

    cause = "internal libpod error"
    http_status = 500


class NoSuchContainerError(CtrError):
    cause = "no such container"
    http_status = 404


class NoSuchImageError(CtrError):
    cause = "no such image"
    http_status = 404


class NoSuchExecSessionError(CtrError):
    cause = "no such exec session"
    http_status = 404


class ContainerExistsError(CtrError):
    cause = "container already exists"
    http_status = 409


class ImageInUseError(CtrError):
    cause = "image is in use by a container"
    http_status = 409


class DependencyExistsError(CtrError):
    cause = "dependency exists"
    http_status = 409


class ContainerStateInvalidError(CtrError):
    cause = "container state improper"
    http_status = 409


class ContainerRunningError(ContainerStateInvalidError):
    """Start of a container that already runs (HTTP 304 in the REST layer)."""

    cause = "container is running"
    http_status = 304


class ExecSessionStateInvalidError(CtrError):
    """libpod's ErrExecSessionStateInvalid (e.g. removing a running session without force)."""

    cause = "exec session state improper"
    http_status = 409


class ContainerStoppedError(CtrError):
    """Stop of a container that is already stopped or exited (HTTP 304)."""

    cause = "container is stopped"
    http_status = 304


class ContainerRemovedError(CtrError):
    cause = "container has already been removed"
    http_status = 404


class InvalidArgumentError(CtrError):
    cause = "invalid argument"
    http_status = 400


class RuntimeMissingError(CtrError):
    cause = "OCI runtime attempted to invoke a command that was not found"
    http_status = 500


class OCIRuntimeError(CtrError):
    cause = "OCI runtime error"
    http_status = 500


class NotImplementedCtrError(CtrError):
    cause = "not yet implemented"
    http_status = 501


class TimeoutCtrError(CtrError):
    cause = "timed out"
    http_status = 500
