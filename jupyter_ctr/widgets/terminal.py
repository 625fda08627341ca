"""Terminal: an interactive xterm.js terminal in the cell output. Its bytes do not pass
through the kernel: the view opens the server's websocket bridge itself (the lab extension's
terminal, src/terminal/), so typing works while the kernel is busy with another cell. The
kernel only names what to run and mirrors the connection's status, which the view reports.

``Terminal(ctr, "sh")`` runs ``sh`` in an exec session (made by the view through the REST
API, as the terminal tab does; its id is kept in ``exec_id`` so another view of the same
widget, or the page after a reload, reattaches and replays). ``Terminal(ctr)`` attaches to the
container's main process (PID 1), after the same warning as the tab's "Attach".

``Terminal(ctr, "sh", record=True)`` records the session server-side (asciicast v2, the
terminal shows a REC badge; play it with ``Player(recording_id)``). ``Terminal.watch(exec_id)``
(or ``Terminal(ctr, watch=exec_id)``) is a read-only live view of someone's shell, an
instructor's: what they type goes nowhere until they press "Take over".
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from traitlets import Bool, Int, List, Unicode

from ..engine.container import Container
from ..engine.errors import CtrError
from ..engine.events import Event
from ..service.door import Door
from .base import EngineWidget


class Terminal(EngineWidget):
    """A terminal on ``container``: an exec session running ``command`` (a list, or a string
    split as a shell would) as ``user``, or with ``command=None`` the container's main process
    (attach). ``status`` follows the connection: ``connecting``, ``connected``,
    ``reconnecting``, ``detached``, ``exited`` (then ``exit_code``) or ``error`` (then
    ``message``)."""

    _model_name = Unicode("TerminalModel").tag(sync=True)
    _view_name = Unicode("TerminalView").tag(sync=True)

    container = Unicode("", help="The container's name").tag(sync=True)
    container_id = Unicode("").tag(sync=True)
    mode = Unicode("exec", help="exec (a command) or attach (the main process)").tag(sync=True)
    command = List(Unicode()).tag(sync=True)
    user = Unicode("").tag(sync=True)
    exec_id = Unicode("", help="The exec session, once the view made it").tag(sync=True)
    confirm = Bool(True, help="attach: show the warning and wait for a click").tag(sync=True)
    height = Int(320, help="Height of the terminal in pixels").tag(sync=True)
    status = Unicode("connecting").tag(sync=True)
    exit_code = Int(None, allow_none=True).tag(sync=True)
    message = Unicode("", help="What the terminal's bar says").tag(sync=True)
    record = Bool(False, help="Record the session (?record=1)").tag(sync=True)
    shadow = Bool(False, help="A read-only view of another's session (?shadow=1)"
                  ).tag(sync=True)
    recording = Bool(False, help="The session is being recorded (the view reports it)"
                     ).tag(sync=True)
    recording_id = Unicode("", help="The session's recording, while one is made"
                           ).tag(sync=True)
    role = Unicode("", help="owner, watching or typing (the view reports it)").tag(sync=True)

    def __init__(self, container: str | Container, command: str | Sequence[str] | None = None,
                 user: str | None = None, *, confirm: bool = True, height: int = 320,
                 record: bool = False, watch: str | None = None,
                 door: Door | None = None, **kwargs: Any) -> None:
        argv = shlex.split(command) if isinstance(command, str) else \
            None if command is None else [str(c) for c in command]
        if argv is not None and not argv:
            raise ValueError("command is empty: give one, or None to attach")
        if watch is not None:
            if argv is not None or record:
                raise ValueError("watch: a view of a running session takes no command or "
                                 "record")
            kwargs.update(exec_id=watch, shadow=True)
            confirm = False
        super().__init__(door=door, mode="attach" if argv is None and watch is None else "exec",
                         command=argv or [], user=user or "", confirm=confirm, height=height,
                         record=record, **kwargs)
        try:
            if watch is not None:
                # the session must exist and be the container's (an instructor may watch
                # anyone's; the websocket decides again when the view connects)
                session = self.door.exec_session(watch, "exec.inspect")
                ctr = self.door.container(session.container_id, "inspect")
                if container and str(container) not in (ctr.name, ctr.id) and \
                        not ctr.id.startswith(str(container)):
                    raise CtrError(f"exec session {watch} is not in container {container}")
            else:
                ctr = self.door.container(container, "attach" if argv is None else "exec")
            self.container, self.container_id = ctr.name, ctr.id
        except CtrError as exc:
            self.container = container.name if isinstance(container, Container) \
                else str(container)
            self.status, self.message = "error", str(exc)
            self.error = str(exc)

    @classmethod
    def watch(cls, session: str | Mapping[str, Any], *, height: int = 320,
              door: Door | None = None, **kwargs: Any) -> Terminal:
        """A read-only live view of a shell session: its exec id, or a row of
        ``GET /ctr/api/sessions`` (``{"ExecID", "ContainerName", ...}``)."""
        if isinstance(session, Mapping):
            exec_id = session.get("ExecID") or session.get("exec_id")
            container = session.get("ContainerName") or session.get("Container") or ""
        else:
            exec_id, container = session, ""
        if not exec_id:
            raise ValueError("watch: the session has no exec id (a container's main "
                             "process: watch it from the sidebar)")
        return cls(container, watch=str(exec_id), height=height, door=door, **kwargs)

    def on_event(self, ev: Event) -> None:
        if ev.type == "container" and ev.action == "remove" and ev.id == self.container_id:
            self.error = f"container {self.container} was removed"

    @property
    def connected(self) -> bool:
        return self.status == "connected"
