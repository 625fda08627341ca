"""Container list filters (podman's ``ps --filter``, the ``filters`` of ``GET
/containers/json``): id, name, status, label, exited, ancestor, owner."""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..engine.errors import InvalidArgumentError
from ..engine.state import ContainerState

TYPE_CHECKING = False  # not typing's: the CLI imports this module
if TYPE_CHECKING:
    from typing import Any

    from ..engine.records import ContainerSnapshot

#: The filter keys a container list takes.
CONTAINER_FILTERS = ("id", "name", "status", "label", "exited", "ancestor", "owner")

_DOCKER_STATES = {"initialized": "created", "configured": "created", "stopped": "exited",
                  "stopping": "running", "unknown": "dead"}


def docker_state(status: str) -> str:
    """libpod's api status -> Docker's (created, running, paused, restarting, removing,
    exited, dead)."""
    return _DOCKER_STATES.get(status, status)


#: Characters that make a name filter more than a literal substring.
_REGEX_CHARS = frozenset(".^$*+?{}[]\\|()")


def status_names(state: ContainerState) -> set[str]:
    """The names a status filter may give ``state`` by: libpod's and Docker's."""
    status = state.api_status
    names = {status, docker_state(status)}
    if status == "created":
        names.add("configured")
    return names


def _name_glob(pattern: str) -> str:
    """The SQL GLOB a name filter is, when it is a literal (names have no glob characters),
    maybe anchored (``^web``, ``web$``, ``^web$``): else "" (a regular expression)."""
    body = pattern.removeprefix("^")
    head = "" if len(body) < len(pattern) else "*"
    tail = "" if body.endswith("$") and not body.endswith("\\$") else "*"
    body = body.removesuffix("$") if not tail else body
    if not body or _REGEX_CHARS & set(body):
        return ""
    return head + body + tail


def sql_conditions(filters: Mapping[str, list[str]]) -> dict[str, Any]:
    """What the store can select in SQL of these (checked) filters, as
    ``Runtime.list_views`` takes them: ``states`` for a status filter, id prefixes, name
    globs (a literal name filter, maybe anchored), labels and owners. A superset of the
    matches: ``matches`` still decides (a regular expression name, ancestor and exited
    filter only there)."""
    out: dict[str, Any] = {}
    wanted = {key: [w for w in values if w] for key, values in filters.items() if values}
    if "status" in wanted:
        out["states"] = [s for s in ContainerState if status_names(s) & set(wanted["status"])]
    if "id" in wanted:
        out["id_prefixes"] = wanted["id"]
    globs = [_name_glob(w) for w in wanted.get("name", [])]
    if globs and all(globs):
        out["name_globs"] = globs
    if "label" in wanted:
        out["labels"] = [(w.partition("=")[0], w.partition("=")[2] if "=" in w else None)
                         for w in wanted["label"]]
    if "owner" in wanted:
        out["owners"] = wanted["owner"]
    return out


def check_container_filters(filters: Mapping[str, list[str]]) -> None:
    """Raise InvalidArgumentError for an unknown key or a name that is not a regular
    expression (keys with no values are ignored, as when matching)."""
    for key, wanted in filters.items():
        if not wanted:
            continue
        if key not in CONTAINER_FILTERS:
            raise InvalidArgumentError(f"invalid filter {key!r}: use id, name, status, label, "
                                       "exited, ancestor or owner")
        if key == "name":
            for pattern in wanted:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise InvalidArgumentError(f"invalid name filter {pattern!r}: not a "
                                               f"regular expression ({exc})") from None


def matches(snap: ContainerSnapshot, filters: Mapping[str, list[str]]) -> bool:
    """Whether the container (a snapshot) passes every filter (values of one key: any)."""
    cfg = snap.config
    for key, wanted in filters.items():
        if not wanted:
            continue
        if key == "id":
            ok = any(snap.id.startswith(w) for w in wanted)
        elif key == "name":
            ok = any(re.search(w, snap.name) for w in wanted)
        elif key == "status":
            ok = bool(status_names(snap.state) & set(wanted))
        elif key == "label":
            labels = cfg.labels
            ok = all((labels.get(w.partition("=")[0]) == w.partition("=")[2]) if "=" in w
                     else w in labels for w in wanted)
        elif key == "exited":
            ok = snap.exited and str(snap.exit_code) in wanted
        elif key == "ancestor":
            ok = any(w in (cfg.image, cfg.image_id) or cfg.image_id.startswith(w)
                     or cfg.image.split("/")[-1].split(":")[0] == w for w in wanted)
        elif key == "owner":  # the creator's login name or uid
            ok = cfg.owner_name in wanted or str(cfg.owner_uid) in wanted
        else:
            raise InvalidArgumentError(f"invalid filter {key!r}: use id, name, status, label, "
                                       "exited, ancestor or owner")
        if not ok:
            return False
    return True
