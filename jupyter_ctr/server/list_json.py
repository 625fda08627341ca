"""The JSON text of container lists, from each container's item encoded once.

A list of 1,000 containers would otherwise render and encode 1,000 dicts per request, on the
event loop, for every browser tab that refreshes. A container's item changes only with its
record (the engine's list hands out the same record object while its stored state is
unchanged: ``Runtime.list_views``) and whether it can be restored, so its encoded text is
kept until either changes. Fields that change with the clock (Docker's "Up 5 minutes") are
made per request and spliced in.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..engine.records import ContainerRecord, ContainerSnapshot

#: Items kept beyond the containers a list shows (removed since, or another caller's) are
#: dropped once there are more than this.
SPARE_ITEMS = 4096

#: A field made per request: (the snapshot, the time now) -> its value.
Live = Callable[[ContainerSnapshot, float], Any]


class ListJSON:
    """``json.dumps([render(snap) for snap in snaps])``, with each item's text kept between
    requests; the ``live`` fields are made per request and come last in each item. Used on
    one thread (the server's event loop)."""

    def __init__(self, render: Callable[[ContainerSnapshot], dict[str, Any]],
                 live: Mapping[str, Live] | None = None) -> None:
        self._render = render
        self._live = [(json.dumps(key) + ": ", fn) for key, fn in (live or {}).items()]
        self._live_keys = tuple((live or {}).keys())
        #: container id -> (the record it was made from, restorable, the item's JSON text;
        #: without its closing brace when there are live fields)
        self._items: dict[str, tuple[ContainerRecord, bool, str]] = {}

    def dumps(self, snaps: list[ContainerSnapshot]) -> str:
        items, live = self._items, self._live
        now = time.time()
        parts = []
        for snap in snaps:
            ctr_id, rec, restorable = snap.config.id, snap.record, snap.restorable
            hit = items.get(ctr_id)
            if hit is None or hit[0] is not rec or hit[1] != restorable:
                hit = items[ctr_id] = (rec, restorable, self._encode(snap))
            if not live:
                parts.append(hit[2])
                continue
            fields = ", ".join(key + json.dumps(fn(snap, now)) for key, fn in live)
            parts.append(f"{hit[2]}, {fields}}}" if len(hit[2]) > 1 else f"{{{fields}}}")
        if len(items) > len(parts) + SPARE_ITEMS:
            shown = {snap.config.id for snap in snaps}
            for gone in set(items) - shown:
                del items[gone]
        return "[" + ", ".join(parts) + "]"

    def _encode(self, snap: ContainerSnapshot) -> str:
        item = self._render(snap)
        if not self._live:
            return json.dumps(item)
        for key in self._live_keys:
            item.pop(key, None)
        return json.dumps(item)[:-1]
