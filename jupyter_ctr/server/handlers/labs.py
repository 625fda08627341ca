"""Labs (ours, not podman's): ``GET /ctr/api/labs`` lists the labs (containers labelled
``jupyter-ctr.lab=<lab>``) the caller sees; ``POST /ctr/api/labs/{lab}/{action}`` runs a bulk
action (start, stop, reset with ``?step=``, remove) on every container of the lab and answers
200 with one result per container, failed ones included (``Ok`` false, ``Error`` the
engine's message). An unknown action or a reset without a step is 400; a lab with no
container the caller sees is 404 (a mistyped name must not look done); a student is refused
with 403 (policy rule instructor_only, action ``lab.bulk``)."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import CtrHandler

#: A path segment naming a lab, and one naming a bulk action.
LAB = r"(?P<lab>[^/]+)"
ACTION = r"(?P<action>[^/]+)"


class LabsHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.reply_json(await self.service.labs(self.principal))


class LabActionHandler(CtrHandler):
    @web.authenticated
    @authorized
    async def post(self, lab: str, action: str) -> None:
        step = self.q("step") or None
        timeout = self.q_timeout("timeout", "t")
        results = await self.service.lab_action(self.principal, lab, action, step=step,
                                                timeout=timeout)
        self.reply_json({"Lab": lab, "Action": action, "Results": results})


def routes() -> list[tuple[str, type, dict[str, Any]]]:
    return [
        ("/api/labs", LabsHandler, {}),
        (f"/api/labs/{LAB}/{ACTION}", LabActionHandler, {}),
    ]
