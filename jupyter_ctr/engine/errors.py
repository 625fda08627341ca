"""Engine errors: one root, one subclass per libpod sentinel (libpod/define/errors.go).

Each class carries ``cause``: the short sentinel text that the REST layer reports as the
``cause`` of an error body, while ``str(err)`` is the full message naming the container and
its state. HTTP statuses are the server's business (server/errors.py).
"""

from __future__ import annotations


class CtrError(Exception):
    """Root of every error the engine raises on purpose."""

    cause = "internal libpod error"


class NoSuchContainerError(CtrError):
    cause = "no such container"


class NoSuchImageError(CtrError):
    cause = "no such image"


class NoSuchExecSessionError(CtrError):
    cause = "no such exec session"


class NoSuchSnapshotError(CtrError):
    cause = "no such snapshot"


class ContainerExistsError(CtrError):
    cause = "container already exists"


class ImageInUseError(CtrError):
    cause = "image is in use by a container"


class ImageNamesConflictError(CtrError):
    """Removal by ID of an image with more than one name, without force (podman's "by ID
    with more than one tag", Docker's 409 conflict "must be forced")."""

    cause = "image has more than one name: please force removal"


class DependencyExistsError(CtrError):
    cause = "dependency exists"


class ContainerStateInvalidError(CtrError):
    cause = "container state improper"


class ContainerRunningError(ContainerStateInvalidError):
    """Start of a container that already runs (the REST layer answers 304)."""

    cause = "container is running"


class ExecSessionStateInvalidError(CtrError):
    """libpod's ErrExecSessionStateInvalid (e.g. removing a running session without force)."""

    cause = "exec session state improper"


class ContainerStoppedError(CtrError):
    """Stop of a container that is already stopped or exited (the REST layer answers 304)."""

    cause = "container is stopped"


class ContainerRemovedError(CtrError):
    cause = "container has already been removed"


class RegistryError(CtrError):
    """A registry could not be reached, or refused or failed a pull or push (network, TLS,
    protocol); the message names the registry and the reference."""

    cause = "registry error"


class RegistryAuthError(RegistryError):
    """The registry wants credentials, or refused the ones given."""

    cause = "unauthorized"


class ImageBuildError(CtrError):
    """A tool that builds an image's content (mmdebstrap) failed."""

    cause = "image build failed"


class InvalidArgumentError(CtrError):
    cause = "invalid argument"


class RuntimeMissingError(CtrError):
    cause = "OCI runtime attempted to invoke a command that was not found"


class OCIRuntimeError(CtrError):
    cause = "OCI runtime error"


class NotImplementedCtrError(CtrError):
    cause = "not yet implemented"


class TimeoutCtrError(CtrError):
    cause = "timed out"
