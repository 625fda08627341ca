"""X-Registry-Auth, as docker and podman clients send it, turned into the auth file skopeo
reads: a temporary spool file (0600, in the engine's run root, named by this process) that
lives only while its pull or push runs.

The header is base64url JSON: one AuthConfig (``username``/``password``, or ``auth`` already
``user:password`` in base64, or ``identitytoken``; ``serveraddress`` optional) or, as podman
sends for several registries, a map of registry -> AuthConfig. An empty header, ``e30=``
(``{}``) or ``null`` means no credentials.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..engine import Runtime
from ..engine.errors import InvalidArgumentError
from .spool import new_spool_file

HEADER = "X-Registry-Auth"
_AUTH_KEYS = ("username", "password", "auth", "identitytoken", "serveraddress", "email")


def decode_header(value: str | None) -> dict[str, dict[str, Any]]:
    """The credentials of an X-Registry-Auth header by registry ("" when the header names
    none); {} for no credentials. InvalidArgumentError for a malformed header."""
    if not value or not value.strip():
        return {}
    text = value.strip()
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        doc = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidArgumentError(f"{HEADER} is not base64 JSON: {exc}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise InvalidArgumentError(f"{HEADER} must hold a JSON object")
    if not doc or any(k in doc for k in _AUTH_KEYS):
        entries = {str(doc.get("serveraddress") or ""): doc} if doc else {}
    else:
        entries = {str(k): v for k, v in doc.items()}
    for registry, entry in entries.items():
        if not isinstance(entry, dict) or not all(
                isinstance(entry.get(k, ""), str) for k in _AUTH_KEYS):
            where = registry or "the registry"
            raise InvalidArgumentError(
                f"{HEADER}: the credentials for {where} must be a JSON object of strings")
    return entries


def _auth_entry(entry: dict[str, Any]) -> dict[str, str]:
    if entry.get("identitytoken"):
        return {"identitytoken": str(entry["identitytoken"])}
    if entry.get("auth"):
        return {"auth": str(entry["auth"])}
    user, password = str(entry.get("username") or ""), str(entry.get("password") or "")
    if not user and not password:
        return {}
    return {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}


def _host(address: str) -> str:
    """``https://host:5000/v1/`` -> ``host:5000`` (docker's serveraddress forms)."""
    return address.split("://", 1)[-1].split("/", 1)[0]


@contextlib.contextmanager
def auth_file(rt: Runtime, header: str | None, registry: str) -> Iterator[str | None]:
    """A temporary auth file holding the header's credentials (those for no named registry
    go to ``registry``, the host of the reference pulled or pushed), removed afterwards;
    None when the header holds none (skopeo then looks where podman does)."""
    auths: dict[str, dict[str, str]] = {}
    for address, entry in decode_header(header).items():
        creds = _auth_entry(entry)
        if creds:
            auths[_host(address) or registry] = creds
    if not auths:
        yield None
        return
    fd, path = new_spool_file(rt)
    try:
        with os.fdopen(fd, "w") as fh:  # mkstemp made it 0600
            json.dump({"auths": auths}, fh)
        yield str(path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            Path(path).unlink()
