"""Terminal sessions: recordings (list, download, delete) and the live bridge sessions
(docs/websocket-protocol.md, "Sessions"). Routes under ``/api`` (``{base_url}ctr/api`` in
Jupyter, ``/api`` on the service's socket)."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...engine.timeutil import rfc3339_ns
from ...service.bridge import AttachBridge
from .base import NAME, CtrHandler

#: asciinema's media type for .cast files.
CAST_TYPE = "application/x-asciicast"


def _time(seconds: float | None) -> str | None:
    return rfc3339_ns(int(seconds * 1e9)) if seconds else None


def recording_item(rec: dict[str, Any]) -> dict[str, Any]:
    """A recording's record as the list answers it."""
    return {"Id": rec["id"], "Container": rec["container"],
            "ContainerName": rec["container_name"], "ExecID": rec["exec_id"],
            "Owner": {"Uid": rec["owner_uid"], "Name": rec["owner_name"]},
            "User": rec["user"], "Lab": rec["lab"], "Started": _time(rec["started"]),
            "Ended": _time(rec["ended"]), "Size": rec["size"], "Duration": rec["duration"],
            "Width": rec["width"], "Height": rec["height"]}


def session_item(bridge: AttachBridge) -> dict[str, Any]:
    """A live session (a websocket bridge) as the list answers it."""
    meta = bridge.meta
    rec = bridge.recorder
    return {"Key": bridge.key, "Container": meta.get("container"),
            "ContainerName": meta.get("container_name"), "ExecID": meta.get("exec_id"),
            "Owner": {"Uid": meta.get("owner_uid"), "Name": meta.get("owner_name")},
            "Clients": len(bridge.clients), "Viewers": bridge.viewers(),
            "Recording": rec is not None, "RecordingID": rec.id if rec is not None else None}


class RecordingsHandler(CtrHandler):
    """``GET /api/recordings[?container=]``: the recordings the caller may see."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        door = self.service.door(self.principal)
        recs = await self.service.pools.run(door.recordings, self.q("container"))
        self.reply_json([recording_item(r) for r in recs])


class RecordingHandler(CtrHandler):
    """``GET /api/recordings/{id}``: the .cast file; ``DELETE``: remove it."""

    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        door = self.service.door(self.principal)

        def read() -> tuple[dict[str, Any], bytes]:
            return door.recording_info(name), door.recording(name)

        rec, data = await self.service.pools.run(read)
        label = rec["container_name"] or "session"
        self.set_header("Content-Disposition",
                        f'attachment; filename="{label}-{rec["id"][:12]}.cast"')
        self.finish(data, set_content_type=CAST_TYPE)

    @web.authenticated
    @authorized
    async def delete(self, name: str) -> None:
        door = self.service.door(self.principal)
        await self.service.pools.run(door.remove_recording, name)
        self.reply_empty(204)


class SessionsHandler(CtrHandler):
    """``GET /api/sessions[?container=]``: live terminal sessions on containers the caller
    may inspect."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        service, principal, container = self.service, self.principal, self.q("container")
        bridges = await service.pools.run(service.live_sessions, principal, container)
        self.reply_json([session_item(b) for b in bridges])


def routes() -> list[tuple[str, type, dict[str, Any]]]:
    return [
        ("/api/recordings", RecordingsHandler, {}),
        (f"/api/recordings/{NAME}", RecordingHandler, {}),
        ("/api/sessions", SessionsHandler, {}),
    ]
