"""Pull and push through a registry with skopeo: a remote image to or from a local OCI layout.

The engine never speaks the registry protocol itself: ``skopeo copy`` (Debian's package, the
tool podman's own image library is shared with) does the transfer, auth files and TLS. Here:
naming the remote image as podman does, passing ``--tls-verify`` and ``--authfile`` through,
forwarding skopeo's progress lines, and turning its failures into engine errors that name the
registry and the reference.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from .. import procs
from ..errors import (
    CtrError,
    InvalidArgumentError,
    NoSuchImageError,
    RegistryAuthError,
    RegistryError,
)
from .references import normalize_reference

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

#: Where short names (``busybox``, ``user/app``) are pulled from, as docker and podman's
#: usual ``unqualified-search-registries`` do.
DOCKER_DOMAIN = "docker.io"
_DOCKER_LEGACY_DOMAINS = ("index.docker.io", "registry-1.docker.io")
_DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")
#: skopeo's (logrus) error line: time="..." level=fatal msg="..."
_LOG_LINE_RE = re.compile(r'^time="[^"]*" level=(\w+) msg="(.*)"\s*$')
_REF_NAME = "org.opencontainers.image.ref.name"
#: A pull or push has this long before skopeo is killed: big images on slow links take time,
#: and skopeo's own network timeouts end a stuck connection well before.
DEFAULT_TIMEOUT = 3600.0


def normalize_remote_reference(ref: str) -> str:
    """The fully qualified form of a reference to a registry image, as podman pulls it.

    ``busybox`` -> ``docker.io/library/busybox:latest``, ``user/app`` ->
    ``docker.io/user/app:latest``; a first component with a dot or a port, or ``localhost``,
    is the registry (``localhost/x`` is pulled from the registry on localhost). A digest
    (``name@sha256:...``) is kept and wins over a tag, as podman does.
    """
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidArgumentError("invalid image reference: the name is empty")
    name, at, digest = ref.partition("@")
    if at and not _DIGEST_RE.fullmatch(digest):
        raise InvalidArgumentError(
            f"invalid image reference {ref!r}: the digest must be sha256: and 64 hex digits")
    parts = name.split("/")
    first = parts[0]
    if len(parts) > 1 and ("." in first or ":" in first or first == "localhost"):
        if first in _DOCKER_LEGACY_DOMAINS:
            parts[0] = DOCKER_DOMAIN
    else:
        parts.insert(0, DOCKER_DOMAIN)
    if parts[0] == DOCKER_DOMAIN and len(parts) == 2:
        parts.insert(1, "library")
    full = normalize_reference("/".join(parts))  # validates; adds :latest when untagged
    if not at:
        return full
    return f"{full.rsplit(':', 1)[0]}@{digest}"  # podman drops the tag of name:tag@digest


def registry_of(reference: str) -> str:
    """The registry host (``host[:port]``) of a normalized reference."""
    return reference.split("/", 1)[0]


def layout_ref_name(reference: str) -> str:
    """The ref name under which a pulled image is kept in its OCI layout: the normalized
    reference itself (``docker.io/library/busybox:latest``)."""
    return normalize_remote_reference(reference)


def manifest_digest(layout_dir: Path, ref_name: str) -> str:
    """The digest (``sha256:...``) of the manifest that ``ref_name`` names in an OCI layout."""
    try:
        index = json.loads((layout_dir / "index.json").read_text())
    except (OSError, ValueError) as exc:
        raise InvalidArgumentError(f"{layout_dir} is not an OCI layout: {exc}") from exc
    for desc in index.get("manifests") or []:
        annotations = desc.get("annotations") or {}
        if annotations.get(_REF_NAME) == ref_name and isinstance(desc.get("digest"), str):
            return str(desc["digest"])
    raise NoSuchImageError(f"{ref_name}: not in the OCI layout {layout_dir}")


def pull_to_layout(reference: str, layout_dir: Path, *, tls_verify: bool = True,
                   auth_file: str | None = None, progress: Callable[[str], None] | None = None,
                   skopeo: str | None = None, timeout: float | None = DEFAULT_TIMEOUT) -> str:
    """Copy the registry image ``reference`` into the OCI layout ``layout_dir`` (created if
    missing, other images in it kept) and return its ref name there (the normalized
    reference, see :func:`layout_ref_name`; :func:`manifest_digest` gives its digest).

    ``tls_verify`` and ``auth_file`` mean what podman's ``--tls-verify`` and ``--authfile``
    do; without ``auth_file`` skopeo looks where podman does ($REGISTRY_AUTH_FILE, then
    ${XDG_RUNTIME_DIR}/containers/auth.json, ~/.docker/config.json). ``progress`` gets
    skopeo's lines ("Copying blob sha256:...", "Writing manifest to image destination").

    Raises NoSuchImageError when the registry does not know the image, RegistryAuthError
    when it wants (other) credentials, RegistryError when it cannot be reached or fails.
    """
    ref = normalize_remote_reference(reference)
    ref_name = layout_ref_name(ref)
    _check_local(layout_dir, auth_file)
    layout_dir.mkdir(parents=True, exist_ok=True)
    argv = [procs.find_binary("skopeo", skopeo), "copy",
            f"--src-tls-verify={str(tls_verify).lower()}"]
    if auth_file is not None:
        argv.append(f"--src-authfile={auth_file}")
    argv += [f"docker://{ref}", f"oci:{layout_dir}:{ref_name}"]
    _copy(argv, "pull", ref, progress, timeout)
    return ref_name


def push_from_layout(layout_dir: Path, tag: str, reference: str, *, tls_verify: bool = True,
                     auth_file: str | None = None,
                     progress: Callable[[str], None] | None = None, skopeo: str | None = None,
                     timeout: float | None = DEFAULT_TIMEOUT) -> str:
    """Copy the image ``tag`` (its ref name) of the OCI layout ``layout_dir`` to the registry
    image ``reference``; return the digest of the manifest the registry now holds.

    Options and errors as :func:`pull_to_layout`; pushing a tag missing from the layout
    raises NoSuchImageError.
    """
    ref = normalize_remote_reference(reference)
    if "@" in ref:
        raise InvalidArgumentError(
            f"cannot push to {reference!r}: a digest names content, push to a tag instead")
    _check_local(layout_dir, auth_file)
    if not (layout_dir / "index.json").is_file():
        raise InvalidArgumentError(f"{layout_dir} is not an OCI layout: it has no index.json")
    manifest_digest(layout_dir, tag)  # a clear error before skopeo's, for a missing tag
    digest_file = layout_dir / f".push-digest-{os.getpid()}"
    argv = [procs.find_binary("skopeo", skopeo), "copy",
            f"--dest-tls-verify={str(tls_verify).lower()}", f"--digestfile={digest_file}"]
    if auth_file is not None:
        argv.append(f"--dest-authfile={auth_file}")
    argv += [f"oci:{layout_dir}:{tag}", f"docker://{ref}"]
    try:
        _copy(argv, "push", ref, progress, timeout)
        return digest_file.read_text().strip()
    finally:
        digest_file.unlink(missing_ok=True)


def _check_local(layout_dir: Path, auth_file: str | None) -> None:
    if ":" in str(layout_dir):  # skopeo's oci:PATH:REF cannot quote a colon in PATH
        raise InvalidArgumentError(f"an OCI layout path may not contain ':': {layout_dir}")
    if auth_file is not None and not os.path.isfile(auth_file):
        raise InvalidArgumentError(
            f"credential file is not accessible: {auth_file}: no such file")


def _copy(argv: list[str], verb: str, ref: str, progress: Callable[[str], None] | None,
          timeout: float | None) -> None:
    """Run one ``skopeo copy``: forward its progress, raise an engine error on failure."""
    errors: list[str] = []

    def on_line(line: str) -> None:
        match = _LOG_LINE_RE.match(line)
        if match is None:
            if line.strip() and progress is not None:
                progress(line.strip())
            return
        level, msg = match.group(1), match.group(2).replace('\\"', '"')
        if level in ("fatal", "error", "panic"):
            errors.append(msg)
        elif progress is not None and level == "warning":
            progress(f"WARNING: {msg}")

    status, lines = procs.run_lines(argv, on_line, timeout=timeout)
    if status == 0:
        return
    detail = errors[-1] if errors else next(
        (line for line in reversed(lines) if line.strip()), f"skopeo exited {status}")
    raise copy_error(verb, ref, detail)


def copy_error(verb: str, ref: str, detail: str) -> CtrError:
    """The engine error for a failed skopeo pull or push of ``ref``; ``detail`` is skopeo's
    message."""
    host = registry_of(ref)
    low = detail.lower()
    if verb == "pull" and ("manifest unknown" in low or "name unknown" in low
                           or "not found" in low):
        return NoSuchImageError(
            f"{ref}: image not known to registry {host} ({detail.rsplit(': ', 1)[-1]})")
    if "unauthorized" in low or "authentication required" in low or "denied" in low:
        return RegistryAuthError(
            f"{verb} {ref}: registry {host} refused access ({_tail(detail)}): log in to it "
            "(an auth file via --authfile or $REGISTRY_AUTH_FILE), or check that the "
            "repository exists")
    if "server gave http response to https client" in low:
        return RegistryError(
            f"{verb} {ref}: registry {host} speaks plain http, not https: use "
            "--tls-verify=false to allow it")
    if "x509:" in low or "certificate" in low or "tls:" in low:
        return RegistryError(
            f"{verb} {ref}: TLS error talking to registry {host} ({_tail(detail)}); "
            "--tls-verify=false skips the verification")
    if any(s in low for s in ("connection refused", "no such host", "i/o timeout",
                              "network is unreachable", "dial tcp", "connection reset")):
        return RegistryError(f"{verb} {ref}: cannot reach registry {host}: {_tail(detail)}")
    return RegistryError(f"{verb} {ref} (registry {host}) failed: {detail}")


def _tail(detail: str) -> str:
    """The innermost cause of a Go error chain ("a: b: c" -> "b: c" when long)."""
    parts = detail.split(": ")
    if len(parts) > 1 and parts[-1] == parts[-2]:  # "manifest unknown: manifest unknown"
        parts.pop()
    return ": ".join(parts[-2:]) if len(parts) > 2 else ": ".join(parts)
