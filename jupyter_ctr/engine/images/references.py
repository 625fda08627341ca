"""Image references: ``busybox`` -> ``localhost/busybox:latest``, and the host's architecture.

The grammar is that of github.com/distribution/reference, which podman uses. Patterns are
compiled on first use (by :mod:`re`'s cache): creating a container normalises one name.
"""

from __future__ import annotations

import os
import re

from ..errors import InvalidArgumentError

DEFAULT_DOMAIN = "localhost"
DEFAULT_TAG = "latest"

_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_PATTERN = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?"
_PATH_COMPONENT_PATTERN = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_TAG_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_MAX_NAME_LENGTH = 255

_HOST_ARCH = {
    "x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
    "armv7l": "arm", "armv6l": "arm", "i386": "386", "i686": "386",
    "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64",
}


def host_architecture() -> str:
    """The host's architecture in OCI (GOARCH) spelling."""
    machine = os.uname().machine  # what platform.machine() reads, without its import
    return _HOST_ARCH.get(machine, machine)


def normalize_reference(ref: str) -> str:
    """Return the fully qualified ``domain/path:tag`` form of an image reference.

    ``busybox`` -> ``localhost/busybox:latest``; a first component with a dot, a port or named
    ``localhost`` is a registry domain and is kept. Raises InvalidArgumentError for anything
    that is not a valid reference (upper case repository, bad tag, digests).
    """
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidArgumentError("invalid image reference: the name is empty")
    if ref != ref.strip():
        raise InvalidArgumentError(f"invalid image reference {ref!r}: surrounding whitespace")
    if "@" in ref:
        raise InvalidArgumentError(
            f"invalid image reference {ref!r}: digest references are not supported here; "
            "use a name with a tag or an image id"
        )
    remainder, tag = ref, DEFAULT_TAG
    slash, colon = ref.rfind("/"), ref.rfind(":")
    if colon > slash:
        remainder, tag = ref[:colon], ref[colon + 1:]
        if not re.fullmatch(_TAG_PATTERN, tag):
            raise InvalidArgumentError(
                f"invalid image reference {ref!r}: the tag {tag!r} must match "
                "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
            )
    parts = remainder.split("/")
    first = parts[0]
    if len(parts) > 1 and ("." in first or ":" in first or first == "localhost"):
        domain, path = first, parts[1:]
        if not re.fullmatch(_DOMAIN_PATTERN, domain):
            raise InvalidArgumentError(
                f"invalid image reference {ref!r}: {domain!r} is not a valid registry host"
            )
    else:
        domain, path = DEFAULT_DOMAIN, parts
    for component in path:
        if re.fullmatch(_PATH_COMPONENT_PATTERN, component):
            continue
        if component and re.fullmatch(_PATH_COMPONENT_PATTERN, component.lower()):
            raise InvalidArgumentError(
                f"invalid image reference {ref!r}: repository name must be lowercase"
            )
        raise InvalidArgumentError(
            f"invalid image reference {ref!r}: repository path component {component!r} must "
            "be lowercase letters and digits, separated by '.', '_', '__' or '-'"
        )
    name = f"{domain}/{'/'.join(path)}"
    if len(name) > _MAX_NAME_LENGTH:
        raise InvalidArgumentError(
            f"invalid image reference {ref!r}: the repository name is longer than "
            f"{_MAX_NAME_LENGTH} characters"
        )
    return f"{name}:{tag}"
