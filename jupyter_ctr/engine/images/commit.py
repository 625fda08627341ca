"""Commit: a container's changes as a new image on top of its image (``podman commit``).

A container's overlay upper directory already is a layer in overlay format (whiteouts as 0:0
character devices, opaque directories as ``trusted.overlay.opaque``): it is written as an OCI
layer tarball (``layers.layer_dir_to_tar``) and added to the store with the image's layers
below it, which are shared, not copied. ``--change`` instructions (Dockerfile syntax) are
applied to the image config first, so a bad one fails before anything is written.
"""

from __future__ import annotations

import copy
import json
import posixpath
import shlex
import time
from collections.abc import Callable, Sequence

from ..errors import ContainerStateInvalidError, InvalidArgumentError
from ..oci import parse_signal
from ..state import ContainerState
from ..storage import ContainerStorage
from .layers import layer_dir_to_tar
from .records import Image, rfc3339
from .references import normalize_reference

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, BinaryIO

    from ..container import Container
    from ..runtime import Runtime

#: What ``--change`` takes (podman's list); ONBUILD is accepted and, as podman does for the
#: OCI format, not kept.
CHANGE_INSTRUCTIONS = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "STOPSIGNAL",
                       "USER", "VOLUME", "WORKDIR")


# -- --change ---------------------------------------------------------------------------------

def _split_change(change: str) -> tuple[str, str]:
    """``"CMD ["sh"]"``, ``"CMD=sh"`` -> (instruction in capitals, value)."""
    if not isinstance(change, str) or not change.strip():
        raise InvalidArgumentError(f"invalid change {change!r}: expected 'INSTRUCTION value' "
                                   f"with INSTRUCTION one of {', '.join(CHANGE_INSTRUCTIONS)}")
    text = change.strip()
    head, sep, rest = text.partition(" ")
    if not sep:
        head, sep, rest = text.partition("=")
    if "=" in head and head.split("=", 1)[0].upper() in CHANGE_INSTRUCTIONS:
        head, _, before = head.partition("=")  # "ENV=A=1 B=2"
        rest = f"{before} {rest}" if sep == " " else before
    instruction = head.upper()
    if instruction not in CHANGE_INSTRUCTIONS:
        raise InvalidArgumentError(
            f"invalid change {change!r}: {head} is not a supported instruction (one of "
            f"{', '.join(CHANGE_INSTRUCTIONS)})")
    return instruction, rest.strip()


def _json_list(value: str, change: str) -> list[str] | None:
    """A JSON array of strings (the exec form), or None for the shell form."""
    if not value.startswith("["):
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None  # as Docker: not valid JSON is the shell form
    if not isinstance(parsed, list) or not all(isinstance(v, str) for v in parsed):
        raise InvalidArgumentError(f"invalid change {change!r}: the JSON form must be an "
                                   "array of strings")
    return parsed


def _pairs(value: str, change: str, what: str) -> list[tuple[str, str]]:
    """``k=v k2="v 2"`` or the one-pair form ``k v`` (ENV, LABEL)."""
    try:
        words = shlex.split(value)
    except ValueError as exc:
        raise InvalidArgumentError(f"invalid change {change!r}: {exc}") from None
    if not words:
        raise InvalidArgumentError(f"invalid change {change!r}: {what} needs key=value")
    if "=" not in words[0]:
        if len(words) < 2:
            raise InvalidArgumentError(f"invalid change {change!r}: {what} needs key=value "
                                       f"or 'key value'")
        key, _, rest = value.strip().partition(" ")
        return [(key, rest.strip())]
    out = []
    for word in words:
        key, sep, val = word.partition("=")
        if not sep or not key:
            raise InvalidArgumentError(f"invalid change {change!r}: {word!r} is not key=value")
        out.append((key, val))
    return out


def _port(word: str, change: str) -> str:
    number, _, proto = word.partition("/")
    proto = (proto or "tcp").lower()
    if not number.isdigit() or not 0 < int(number) <= 65535 or proto not in ("tcp", "udp",
                                                                             "sctp"):
        raise InvalidArgumentError(f"invalid change {change!r}: {word!r} is not a port "
                                   "(NUMBER[/tcp|udp|sctp])")
    return f"{int(number)}/{proto}"


def apply_changes(config: dict[str, Any], changes: Sequence[str]) -> dict[str, Any]:
    """The image config (the OCI ``config`` object: Env, Cmd, ...) with ``changes``
    (Dockerfile instructions, as ``podman commit --change``) applied; ``config`` is not
    modified. Raises InvalidArgumentError naming a bad change."""
    out = copy.deepcopy(config)
    for change in changes:
        instruction, value = _split_change(change)
        if instruction in ("CMD", "ENTRYPOINT"):
            exec_form = _json_list(value, change)
            if exec_form is None:
                if not value:
                    raise InvalidArgumentError(f"invalid change {change!r}: {instruction} "
                                               "needs a command")
                exec_form = ["/bin/sh", "-c", value]
            out["Cmd" if instruction == "CMD" else "Entrypoint"] = exec_form
        elif instruction == "ENV":
            env = [e for e in out.get("Env") or [] if isinstance(e, str)]
            for key, val in _pairs(value, change, "ENV"):
                env = [e for e in env if e.split("=", 1)[0] != key] + [f"{key}={val}"]
            out["Env"] = env
        elif instruction == "LABEL":
            labels = dict(out.get("Labels") or {})
            labels.update(_pairs(value, change, "LABEL"))
            out["Labels"] = labels
        elif instruction == "EXPOSE":
            ports = dict(out.get("ExposedPorts") or {})
            words = value.split()
            if not words:
                raise InvalidArgumentError(f"invalid change {change!r}: EXPOSE needs a port")
            ports.update((_port(w, change), {}) for w in words)
            out["ExposedPorts"] = ports
        elif instruction == "VOLUME":
            paths = _json_list(value, change) or value.split()
            if not paths or not all(p.startswith("/") for p in paths):
                raise InvalidArgumentError(f"invalid change {change!r}: VOLUME needs "
                                           "absolute paths")
            volumes = dict(out.get("Volumes") or {})
            volumes.update((posixpath.normpath(p), {}) for p in paths)
            out["Volumes"] = volumes
        elif instruction == "WORKDIR":
            if not value:
                raise InvalidArgumentError(f"invalid change {change!r}: WORKDIR needs a path")
            out["WorkingDir"] = posixpath.normpath(
                posixpath.join(out.get("WorkingDir") or "/", value))
        elif instruction == "USER":
            if not value or any(c.isspace() for c in value):
                raise InvalidArgumentError(f"invalid change {change!r}: USER needs one "
                                           "user[:group]")
            out["User"] = value
        elif instruction == "STOPSIGNAL":
            try:
                parse_signal(value)
            except InvalidArgumentError as exc:
                raise InvalidArgumentError(f"invalid change {change!r}: {exc}") from None
            out["StopSignal"] = value
        # ONBUILD: accepted, not kept in the OCI format (as podman)
    return out


# -- commit -----------------------------------------------------------------------------------

def _unreadable(diff_id: str) -> Callable[[], BinaryIO]:
    """The opener of a base layer: the store reuses layers it has and never calls it; a
    layer gone meanwhile cannot be had from anywhere (its image's container holds it)."""
    def opener() -> BinaryIO:
        raise FileNotFoundError(2, f"layer {diff_id} of the container's image is gone")
    return opener


def _reader(path: Path) -> Callable[[], BinaryIO]:
    return lambda: path.open("rb")


def commit_container(rt: Runtime, ctr: Container, reference: str | None = None, *,
                     changes: Sequence[str] = (), message: str = "", author: str = "",
                     pause: bool = True) -> Image:
    """Make an image of ``ctr``'s image plus its changes (see Runtime.commit_container)."""
    store = rt.images
    names = [normalize_reference(reference)] if reference else []
    base = store.get(ctr.config.image_id)
    base_config = store.oci_config(base)
    inner = base_config.get("config")
    new_inner = apply_changes(inner if isinstance(inner, dict) else {}, list(changes))
    upper = ContainerStorage(rt.container_dir(ctr.id), ctr.config.image_rootfs).upper
    origin = f"container {ctr.name}"
    with store.scratch() as scratch:
        layers: list[tuple[str, Callable[[], BinaryIO]]] = []
        history = [h for h in base_config.get("history") or [] if isinstance(h, dict)]
        if store.is_flattened(base):
            # An image from before layers: its rootfs becomes the new image's first layer.
            flat = scratch / "base.tar"
            with flat.open("wb") as fh:
                layers.append((layer_dir_to_tar(store.layer_dirs(base)[0], fh), _reader(flat)))
            if not any(not h.get("empty_layer") for h in history):
                history.append({"created": rfc3339(base.created), "created_by": ""})
        else:
            layers += [(d, _unreadable(d)) for d in base.layers]
        tarball = scratch / "layer.tar"

        def dump(locked: Container) -> str:
            # Under the container's lock: it cannot stop, restart or go away meanwhile.
            state = locked.state
            if state is ContainerState.REMOVING:
                raise ContainerStateInvalidError(
                    f"cannot commit container {ctr.id[:12]}: it is being removed")
            paused = pause and state is ContainerState.RUNNING
            if paused:
                locked.pause()
            try:
                with tarball.open("wb") as fh:
                    return layer_dir_to_tar(upper, fh)
            except OSError as exc:
                if state is not ContainerState.RUNNING or paused:
                    raise
                # Not paused: a running container's files changed under the walk.
                raise ContainerStateInvalidError(
                    f"cannot commit container {ctr.id[:12]}: its files changed while they "
                    f"were read ({exc.strerror}: {exc.filename}); commit with pause") from None
            finally:
                if paused:
                    locked.unpause()

        diff_id = ctr.batch(dump)
        layers.append((diff_id, _reader(tarball)))
        now = time.time()
        entry: dict[str, Any] = {"created": rfc3339(now),
                                 "created_by": shlex.join(ctr.config.command)}
        if author:
            entry["author"] = author
        if message:
            entry["comment"] = message
        history.append(entry)
        config = {k: v for k, v in base_config.items() if k not in ("author", "history")}
        config.update({"created": rfc3339(now), "config": new_inner,
                       "rootfs": {"type": "layers", "diff_ids": [d for d, _ in layers]},
                       "history": history})
        if author:
            config["author"] = author
        return store.add_image(config, layers, names, origin=origin)
