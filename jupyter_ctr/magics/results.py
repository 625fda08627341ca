"""What the magics return: Python objects that display richly in a notebook (HTML tables with
state badges) and as plain text in a terminal IPython, and that hold the values themselves
(rows to iterate or index, exit codes, captured output)."""

from __future__ import annotations

import html
import shlex
from collections.abc import Iterator, Sequence

from IPython.core.error import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from IPython.lib.pretty import RepresentationPrinter

#: Badge colours by container state (and by a run's outcome).
BADGE_COLOURS = {
    "running": "#1a7f37", "created": "#0969da", "configured": "#6e7781",
    "paused": "#9a6700", "stopping": "#bc4c00", "removing": "#cf222e",
    "stopped": "#6e7781", "exited": "#6e7781", "failed": "#cf222e", "ok": "#1a7f37",
    "interrupted": "#9a6700", "detached": "#9a6700",
    "checkpoint": "#1a7f37", "filesystem": "#9a6700",
}


class CtrMagicError(UsageError):
    """What ``--check`` raises for a non-zero exit: IPython shows one line, no traceback (the
    cell fails, so "Run All" stops there).
    ``result`` is the RunResult."""

    def __init__(self, message: str, result: RunResult | None = None) -> None:
        super().__init__(message)
        self.result = result

    def _render_traceback_(self) -> list[str]:
        # IPython shows a bare UsageError in one line, but not its subclasses: this hook
        # (IPython's, for exceptions that render themselves) keeps it one line.
        return [f"{type(self).__name__}: {self}"]


def badge(state: str, text: str | None = None) -> str:
    """An HTML state badge (escaped)."""
    colour = BADGE_COLOURS.get(state, "#6e7781")
    return (f'<span class="jctr-badge jctr-{html.escape(state)}" style="background:{colour};'
            'color:#fff;border-radius:0.7em;padding:0 0.55em;font-size:85%;'
            f'white-space:nowrap">{html.escape(text if text is not None else state)}</span>')


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns two spaces apart (as the CLI prints them)."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    lines = []
    for row in [list(headers), *rows]:
        cells = [c.ljust(w) for c, w in zip(row[:-1], widths[:-1], strict=True)] + [row[-1]]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


class Table:
    """Rows of a listing: iterate or index it for the items (snapshots, images, dicts),
    ``rows`` for the cells shown. ``badges`` holds, per row, the state shown as a badge in
    column ``badge_column`` (HTML only)."""

    title = ""

    def __init__(self, headers: Sequence[str], rows: Sequence[Sequence[str]],
                 items: Sequence[Any], badges: Sequence[str] | None = None,
                 badge_column: int | None = None) -> None:
        self.headers = list(headers)
        self.rows = [list(r) for r in rows]
        self.items = list(items)
        self.badges = list(badges or [])
        self.badge_column = badge_column

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)

    def __getitem__(self, index: int) -> Any:
        return self.items[index]

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        return text_table(self.headers, self.rows)

    def _repr_pretty_(self, p: RepresentationPrinter, cycle: bool) -> None:
        p.text(repr(self))  # type: ignore[no-untyped-call]

    def _repr_html_(self) -> str:
        head = "".join(f"<th style='text-align:left'>{html.escape(h)}</th>"
                       for h in self.headers)
        body = []
        for i, row in enumerate(self.rows):
            cells = []
            for j, cell in enumerate(row):
                if j == self.badge_column and i < len(self.badges):
                    cells.append(f"<td style='text-align:left'>{badge(self.badges[i])} "
                                 f"{html.escape(cell)}</td>")
                else:
                    cells.append(f"<td style='text-align:left'>{html.escape(cell)}</td>")
            body.append(f"<tr>{''.join(cells)}</tr>")
        if not body:
            empty = html.escape(self.title or "nothing")
            body.append(f"<tr><td colspan='{len(self.headers)}'><i>no {empty}</i></td></tr>")
        return (f"<table class='jctr-table'><thead><tr>{head}</tr></thead>"
                f"<tbody>{''.join(body)}</tbody></table>")


class ContainerTable(Table):
    """``ps``: ContainerSnapshot items (``.name``, ``.id``, ``.status``, ``.config``...)."""

    title = "containers"


class ImageTable(Table):
    """``images``: Image items (``.id``, ``.names``, ``.size``, ``.created``...)."""

    title = "images"


class StatsTable(Table):
    """``stats``: one sample per container, dicts (``cpu_percent``, ``memory_bytes``,
    ``memory_limit``, ``memory_percent``, ``pids``...)."""

    title = "running containers"


class TopTable(Table):
    """``top``: one dict per process, keyed by the column titles."""

    title = "processes"


class EventTable(Table):
    """``events`` (not following): Event items (``.time``, ``.type``, ``.action``...)."""

    title = "events"


class LabTable(Table):
    """``lab ls``: one dict per lab ("Name", "Containers", "Running", "Owners")."""

    title = "labs"


class LabResults(Table):
    """``lab start|stop|reset|rm``: one dict per container ("Id", "Name", "Owner", "Ok",
    "Error"), an ok or failed badge each; ``ok`` when none failed, ``failed`` those that
    did."""

    title = "containers in the lab"

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.items if not r["Ok"]]

    @property
    def ok(self) -> bool:
        return not self.failed

    def check(self) -> LabResults:
        """Raise CtrMagicError if any container failed; return self."""
        if self.failed:
            names = ", ".join(r["Name"] for r in self.failed)
            raise CtrMagicError(f"{len(self.failed)} of {len(self.items)} containers "
                                f"failed: {names}")
        return self


class SnapshotTable(Table):
    """``snapshot``, ``snapshots``, ``rewind``: a container's checkpoint timeline, Snapshot
    items (``.name``, ``.kind``, ``.created``, ``.size``, ``.reason``), the kind as a badge."""

    title = "snapshots"


class Names(list[str]):
    """The containers a verb acted on, as named (their IDs in ``ids``); shown as one name
    per line, as podman prints them."""

    def __init__(self, names: Sequence[str] = (), ids: Sequence[str] = ()) -> None:
        super().__init__(names)
        self.ids = list(ids)

    def __repr__(self) -> str:
        return "\n".join(self)

    def _repr_pretty_(self, p: RepresentationPrinter, cycle: bool) -> None:
        p.text(repr(self))  # type: ignore[no-untyped-call]


class RunResult:
    """A container (``run``, ``start -a``, ``attach``) or exec session that ran in a cell.

    ``exit_code`` (None when it was interrupted or detached), ``duration`` (seconds),
    ``stdout``/``stderr`` (text; past the capture limit its head and tail, with a note of the
    bytes left out: ``stdout_elided``/``stderr_elided``), ``name`` and ``id`` of the
    container, ``exec_id`` for an exec session, ``interrupted``, ``removed`` (--rm).
    """

    def __init__(self, *, kind: str, name: str, id: str, exit_code: int | None,  # noqa: A002
                 duration: float, stdout: str = "", stderr: str = "", stdout_elided: int = 0,
                 stderr_elided: int = 0, interrupted: bool = False, removed: bool = False,
                 exec_id: str | None = None) -> None:
        self.kind, self.name, self.id, self.exec_id = kind, name, id, exec_id
        self.exit_code, self.duration = exit_code, duration
        self.stdout, self.stderr = stdout, stderr
        self.stdout_elided, self.stderr_elided = stdout_elided, stderr_elided
        self.interrupted, self.removed = interrupted, removed

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def outcome(self) -> str:
        if self.interrupted:
            return "interrupted"
        if self.exit_code is None:
            return "detached"
        return "ok" if self.exit_code == 0 else "failed"

    def _what(self) -> str:
        if self.exit_code is None:
            return self.outcome
        return f"{'interrupted, ' if self.interrupted else ''}exit {self.exit_code}"

    def summary(self) -> str:
        what = self._what()
        where = f"exec in {self.name}" if self.kind == "exec" else self.name
        extra = ", removed" if self.removed else ""
        return f"{what} in {self.duration:.2f} s ({where}{extra})"

    def check(self) -> RunResult:
        """Raise CtrMagicError unless the exit code is 0; return self."""
        if not self.ok:
            what = (f"exited with code {self.exit_code}" if self.exit_code is not None
                    else "did not finish: " + self.outcome)
            target = f"exec session in {self.name}" if self.kind == "exec" else self.name
            raise CtrMagicError(f"{target} {what}", self)
        return self

    def __repr__(self) -> str:
        return (f"RunResult(name={self.name!r}, exit_code={self.exit_code}, "
                f"duration={self.duration:.3f}, stdout={len(self.stdout)} chars, "
                f"stderr={len(self.stderr)} chars{', interrupted' if self.interrupted else ''})")

    def _repr_pretty_(self, p: RepresentationPrinter, cycle: bool) -> None:
        p.text(self.summary())  # type: ignore[no-untyped-call]

    def _repr_html_(self) -> str:
        rest = html.escape(self.summary()[len(self._what()) + 4:])
        return (f"<div class='jctr-run' style='font-size:90%;color:#57606a'>"
                f"{badge(self.outcome, self._what())} in {rest}</div>")


class SpecResult:
    """What ``%%ctr spec NAME`` did: ``action`` is "created", "unchanged", "recreated",
    "would create", "would recreate" (--dry-run) or "kept" (a container not created from a
    spec cell differs and was left as it is: --replace recreates it). ``changes`` holds
    (field, old, new) for each field that differs; ``id`` is the container's ID (the new one
    when recreated), ``old_id`` the removed one's; ``note`` says what to know besides."""

    def __init__(self, *, action: str, name: str, id: str | None = None,  # noqa: A002
                 old_id: str | None = None,
                 changes: Sequence[tuple[str, Any, Any]] = (), state: str = "",
                 note: str = "") -> None:
        self.action, self.name, self.id, self.old_id = action, name, id, old_id
        self.changes = list(changes)
        self.state, self.note = state, note

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def summary(self) -> str:
        ids = []
        if self.id:
            ids.append(self.id[:12])
        if self.old_id and self.old_id != self.id:
            ids.append(f"was {self.old_id[:12]}")
        state = f", {self.state}" if self.state else ""
        return (f"{self.action}: {self.name}" + (f" ({', '.join(ids)}{state})" if ids else "")
                + (f"\n{self.note}" if self.note else ""))

    def change_rows(self) -> list[list[str]]:
        return [[field, _shown(old), _shown(new)] for field, old, new in self.changes]

    def __repr__(self) -> str:
        out = self.summary()
        if self.changes:
            out += "\n" + text_table(["FIELD", "OLD", "NEW"], self.change_rows())
        return out

    def _repr_pretty_(self, p: RepresentationPrinter, cycle: bool) -> None:
        p.text(repr(self))  # type: ignore[no-untyped-call]

    def _repr_html_(self) -> str:
        colour = {"created": "ok", "recreated": "ok", "unchanged": "configured",
                  "would create": "created", "would recreate": "created",
                  "kept": "interrupted"}.get(self.action, "configured")
        head = self.summary().split("\n", 1)[0][len(self.action) + 2:]
        parts = [f"<div class='jctr-spec' style='font-size:90%'>{badge(colour, self.action)} "
                 f"{html.escape(head)}</div>"]
        if self.changes:
            rows = "".join(
                "<tr>" + "".join(f"<td style='text-align:left'><code>{html.escape(c)}</code>"
                                 "</td>" for c in row) + "</tr>"
                for row in self.change_rows())
            parts.append("<table class='jctr-table jctr-spec-diff'><thead><tr>"
                         "<th style='text-align:left'>field</th>"
                         "<th style='text-align:left'>old</th>"
                         "<th style='text-align:left'>new</th></tr></thead>"
                         f"<tbody>{rows}</tbody></table>")
        if self.note:
            parts.append(f"<div style='font-size:90%;color:#9a6700'>{html.escape(self.note)}"
                         "</div>")
        return "".join(parts)


def _shown(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return shlex.join(value)
    return str(value)


class SpecText(str):
    """``%ctr spec NAME``: the container's spec as a cell body (TOML or YAML), shown as
    text; ``cell`` is the whole cell (with its ``%%ctr spec NAME`` line)."""

    name: str
    fmt: str

    def __new__(cls, text: str, name: str, fmt: str) -> SpecText:
        obj = super().__new__(cls, text)
        obj.name, obj.fmt = name, fmt
        return obj

    @property
    def cell(self) -> str:
        flag = " --yaml" if self.fmt == "yaml" else ""
        return f"%%ctr spec {self.name}{flag}\n{self}"

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, p: RepresentationPrinter, cycle: bool) -> None:
        p.text(str(self))  # type: ignore[no-untyped-call]
