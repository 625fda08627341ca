"""Rich display of the engine's own objects in a notebook: a Container, an Image, an exec
session, an Event, a Runtime, a timeline Snapshot, and lists of containers, images, events or
snapshots show as the magics' tables (HTML with state badges). Registered as IPython
formatters (``register``) by ``%load_ext jupyter_ctr`` and by ``from jupyter_ctr import
Runtime`` inside IPython, so the engine itself stays free of presentation. The table
builders are the magics' too (``ps``, ``images``, ``events``, ``snapshots``)."""

from __future__ import annotations

import html
import time

from ..cli.formatting import ago, human_size, short
from ..engine.container import Container
from ..engine.errors import CtrError
from ..engine.events import Event
from ..engine.exec import ExecSession
from ..engine.images import Image
from ..engine.records import Snapshot
from ..engine.runtime import Runtime
from .results import ContainerTable, EventTable, ImageTable, SnapshotTable, Table, badge

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from IPython.core.interactiveshell import InteractiveShell

    from ..engine.records import ContainerSnapshot


def container_table(snaps: Sequence[ContainerSnapshot], no_trunc: bool = False) -> ContainerTable:
    """``ps``'s table of snapshots (badges on STATUS)."""
    now = time.time()
    rows, badges = [], []
    for snap in snaps:
        command = " ".join(snap.config.command)
        if not no_trunc and len(command) > 20:
            command = command[:17] + "..."
        rows.append([short(snap.id, no_trunc), snap.config.image, command,
                     ago(now - snap.config.created / 1e9), snap.status_text(now), snap.name])
        badges.append(snap.status)
    return ContainerTable(["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES"],
                          rows, list(snaps), badges, badge_column=4)


def image_table(images: Sequence[Image], no_trunc: bool = False) -> ImageTable:
    """``images``'s table, newest first, one row per name."""
    now = time.time()
    rows, items = [], []
    for img in sorted(images, key=lambda i: i.created, reverse=True):
        ident = f"sha256:{img.id}" if no_trunc else img.id[:12]
        for name in img.names or ["<none>:<none>"]:
            repo, _, tag = name.rpartition(":")
            rows.append([repo, tag, ident, ago(now - img.created), human_size(img.size, " ")])
            items.append(img)
    return ImageTable(["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"], rows, items)


def snapshot_table(snaps: Sequence[Snapshot]) -> SnapshotTable:
    """A container's snapshots (oldest first), the kind as a badge; a filesystem snapshot's
    reason (CRIU's complaint) in its first line."""
    now = time.time()
    rows = [[s.name, s.kind, ago(now - s.created / 1e9), human_size(s.size, " "),
             s.reason.splitlines()[0] if s.reason else ""] for s in snaps]
    return SnapshotTable(["STEP", "KIND", "CREATED", "SIZE", "REASON"], rows, list(snaps),
                         badges=[s.kind for s in snaps], badge_column=1)


def event_table(events: Sequence[Event]) -> EventTable:
    """``events --no-stream``'s table."""
    rows = [[str(ev.time.astimezone().strftime("%Y-%m-%d %H:%M:%S")), ev.type, ev.action,
             ev.name, ev.image, ev.id[:12]] for ev in events]
    return EventTable(["TIME", "TYPE", "ACTION", "NAME", "IMAGE", "ID"], rows, list(events))


def _snapshots(containers: Sequence[Container]) -> list[ContainerSnapshot]:
    snaps = []
    for ctr in containers:
        try:
            snaps.append(ctr.observe())
        except CtrError:
            continue  # removed meanwhile: not shown
    return snaps


def container_html(ctr: Container) -> str:
    try:
        snap = ctr.observe()
    except CtrError as exc:
        return (f"<div class='jctr-gone'>{badge('removing', 'gone')} "
                f"{html.escape(ctr.name)}: {html.escape(str(exc))}</div>")
    return container_table([snap])._repr_html_()


def image_html(img: Image) -> str:
    return image_table([img])._repr_html_()


def exec_html(session: ExecSession) -> str:
    """An exec session: its command, state and exit code (read again now)."""
    try:
        info = session.inspect()
    except CtrError as exc:
        return f"<div>exec {html.escape(session.id[:12])}: {html.escape(str(exc))}</div>"
    state = "running" if info.get("Running") else "exited"
    code = info.get("ExitCode")
    text = "running" if state == "running" else f"exited ({code})"
    if state != "running":
        state = "ok" if code == 0 else "failed"
    command = " ".join([info.get("ProcessConfig", {}).get("entrypoint", ""),
                        *info.get("ProcessConfig", {}).get("arguments", [])]).strip()
    return (f"<div class='jctr-exec'>{badge(state, text)} exec "
            f"<code>{html.escape(command)}</code> in "
            f"<b>{html.escape(session.container.name)}</b> "
            f"<span style='opacity:0.7'>({html.escape(session.id[:12])})</span></div>")


def snapshot_html(snap: Snapshot) -> str:
    return snapshot_table([snap])._repr_html_()


def event_html(ev: Event) -> str:
    return event_table([ev])._repr_html_()


def runtime_html(rt: Runtime) -> str:
    """The engine: its roots, its containers by state and its images."""
    snaps = _snapshots(rt.list_containers(all=True))
    by_state: dict[str, int] = {}
    for snap in snaps:
        by_state[snap.status] = by_state.get(snap.status, 0) + 1
    states = " ".join(badge(s, f"{n} {s}") for s, n in sorted(by_state.items())) or "none"
    return (f"<div class='jctr-runtime'><b>jupyter_ctr engine</b> on "
            f"<code>{html.escape(str(rt.root))}</code> (run root "
            f"<code>{html.escape(str(rt.run_root))}</code>)<br>"
            f"containers: {states}; images: {len(rt.images.list())}</div>")


def list_html(items: list[Any]) -> str | None:
    """A list of containers, images or events as one table; None (plain display) for any
    other list."""
    if not items:
        return None
    table: Table | None = None
    if all(isinstance(i, Container) for i in items):
        table = container_table(_snapshots(items))
    elif all(isinstance(i, Image) for i in items):
        table = image_table(items)
    elif all(isinstance(i, Event) for i in items):
        table = event_table(items)
    elif all(isinstance(i, Snapshot) for i in items):
        table = snapshot_table(items)
    return None if table is None else table._repr_html_()


_FORMATTERS: dict[type, Any] = {
    Container: container_html, Image: image_html, ExecSession: exec_html, Event: event_html,
    Runtime: runtime_html, list: list_html, Snapshot: snapshot_html,
}


def register(ipython: InteractiveShell) -> None:
    """Teach ``ipython``'s HTML formatter the engine's objects (idempotent)."""
    formatter = ipython.display_formatter.formatters["text/html"]
    for typ, render in _FORMATTERS.items():
        formatter.for_type(typ, render)  # type: ignore[no-untyped-call]
