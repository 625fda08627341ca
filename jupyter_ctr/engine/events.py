"""EventLog: every verb's event, persisted in the state store and readable by any process."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence

from .errors import InvalidArgumentError
from .store import StateStore
from .timeutil import rfc3339_ns

# Every verb records an event, so every command loads this module: datetime is imported where
# it is used, and Event is a collections.namedtuple at run time (typing.NamedTuple, for type
# checkers, costs ~1 ms to create, and importing typing ~2 ms).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime
    from typing import Any, NamedTuple

    class _EventFields(NamedTuple):
        seq: int
        time_ns: int
        type: str
        action: str
        id: str
        name: str
        image: str
        attributes: dict[str, str] = {}  # one dict shared by default: events are read-only
else:
    from collections import namedtuple

    _EventFields = namedtuple("Event", "seq time_ns type action id name image attributes",
                              defaults=({},))

FILTER_KEYS = ("container", "event", "type", "image", "label", "user")


class Event(_EventFields):
    """One stored event: ``seq``, ``time_ns``, ``type``, ``action``, ``id``, ``name``,
    ``image``, ``attributes``."""

    __slots__ = ()

    @property
    def time(self) -> datetime:
        from datetime import UTC, datetime  # noqa: PLC0415 - lazy: ~1 ms at every command

        return datetime.fromtimestamp(self.time_ns / 1e9, tz=UTC)

    def to_dict(self) -> dict[str, Any]:
        """libpod's event JSON (``podman events --format json``)."""
        return {
            "ID": self.id, "Image": self.image, "Name": self.name, "Status": self.action,
            "Time": rfc3339_ns(self.time_ns), "timeNano": self.time_ns, "Type": self.type,
            "Attributes": dict(self.attributes),
        }


def _to_ns(value: float | datetime | None) -> int | None:
    if value is None:
        return None
    from datetime import datetime  # noqa: PLC0415 - lazy: ~1 ms at every command

    if isinstance(value, datetime):
        return int(value.timestamp() * 1e9)
    return int(float(value) * 1e9)


def visible_to(ev: Event, owner_uid: int) -> bool:
    """Whether a user sees an event when they see only their own containers: their
    containers' events, and the others (images) that they caused."""
    owner = ev.attributes.get("owner_uid")
    if owner is None and ev.type == "container":
        owner = "0"  # recorded before owners were: root's, as the containers are
    return (owner if owner is not None else ev.attributes.get("uid")) == str(owner_uid)


def check_filters(filters: Mapping[str, Sequence[str]]) -> None:
    """Raise InvalidArgumentError for a filter key the events do not take."""
    for key in filters:
        if key not in FILTER_KEYS:
            raise InvalidArgumentError(
                f"invalid event filter {key!r}: use one of {', '.join(FILTER_KEYS)}")


def matches(ev: Event, filters: Mapping[str, Sequence[str]]) -> bool:
    """Whether ``ev`` passes every filter (values of one key: any); keys checked before."""
    for key, wanted in filters.items():
        if not wanted:
            continue
        if key == "container":
            ok = any(w == ev.name or (len(w) >= 3 and ev.id.startswith(w)) for w in wanted)
        elif key == "event":
            ok = ev.action in wanted
        elif key == "type":
            ok = ev.type in wanted
        elif key == "image":
            ok = any(w == ev.image or w == ev.attributes.get("image_id") for w in wanted)
        elif key == "user":  # who acted: login name or uid
            ok = any(w in (ev.attributes.get("user"), ev.attributes.get("uid")) for w in wanted)
        elif key == "label":
            ok = any(ev.attributes.get(w.partition("=")[0]) == w.partition("=")[2]
                     if "=" in w else w in ev.attributes for w in wanted)
        else:  # pragma: no cover - validated earlier
            ok = False
        if not ok:
            return False
    return True


class EventLog:
    """Writes events and reads them back, optionally following new ones."""

    def __init__(self, store: StateStore) -> None:
        self.store = store
        #: Called (without arguments) after each event this process records: a follower in
        #: this process (the service's EventHub) reads it at once instead of at its next poll.
        self.listeners: list[Callable[[], None]] = []

    def record(self, type_: str, action: str, ctr_id: str, name: str, image: str,
               attributes: Mapping[str, str] | None = None) -> None:
        self.store.add_event(time.time_ns(), type_, action, ctr_id, name, image,
                             dict(attributes or {}))
        for listener in list(self.listeners):
            listener()

    def read_after(self, seq: int) -> list[Event]:
        """Every stored event after ``seq`` (a sequence number), in order, unfiltered."""
        return [Event(row[0], row[1], row[2], row[3], row[4], row[5], row[6],
                      json.loads(row[7])) for row in self.store.events_after(seq)]

    def last_seq(self) -> int:
        """The sequence number of the newest stored event (0: none)."""
        return self.store.last_event_seq()

    def read(self, since: float | datetime | None = None, until: float | datetime | None = None,
             filters: Mapping[str, Sequence[str]] | None = None, follow: bool = False,
             poll_interval: float = 0.05,
             stop: Callable[[], bool] | None = None,
             owner: int | None = None) -> Iterator[Event]:
        """Yield stored events in order; with ``follow``, keep yielding new ones.

        ``since``/``until`` are unix times or datetimes. Following ends at ``until`` (if given)
        or when ``stop()`` returns true. With ``owner`` only the events that uid sees
        (``visible_to``).
        """
        filters = dict(filters or {})
        check_filters(filters)
        since_ns, until_ns = _to_ns(since), _to_ns(until)
        seq = 0
        if follow and since_ns is None:
            seq = self.store.last_event_seq()
        while True:
            for row in self.store.events_after(seq, since_ns, until_ns):
                ev = Event(row[0], row[1], row[2], row[3], row[4], row[5], row[6],
                           json.loads(row[7]))
                seq = ev.seq
                if (owner is None or visible_to(ev, owner)) and matches(ev, filters):
                    yield ev
            if not follow:
                return
            if until_ns is not None and time.time_ns() > until_ns:
                return
            if stop is not None and stop():
                return
            time.sleep(poll_interval)
