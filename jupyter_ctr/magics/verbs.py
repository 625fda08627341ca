"""The magics' verbs: each takes the parsed command line (the CLI's parser, so every flag is
podman's) and a Context, acts through the Door as the CLI's commands do, and returns a result
object (results.py) instead of printing a table. Output that streams (a foreground ``run``,
``exec``, ``attach``, ``start -a``, ``logs``, ``events``) goes into the cell as it comes.

A kernel interrupt (KeyboardInterrupt in the main thread) stops the streaming at once: the
attach is left cleanly and the container or exec session keeps running, except a
foreground ``run --rm``, which is stopped and removed, as podman does.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time

from ..cli.arguments import filters, image_and_command, parse_time
from ..cli.commands.checkpoint import checkpoint_options, restore_options
from ..cli.commands.containers import create_container
from ..cli.commands.show import inspect_one
from ..cli.commands.stats import samples, usage
from ..cli.commands.system import event_text
from ..cli.foreground import remove_quietly
from ..cli.formatting import human_size, short
from ..engine import procinfo
from ..engine.conmon_socket import STDERR, STDOUT
from ..engine.errors import (
    ContainerRunningError,
    ContainerStoppedError,
    CtrError,
    InvalidArgumentError,
    NoSuchContainerError,
)
from ..engine.oci import parse_signal
from ..engine.parsing import check_name
from ..engine.state import ContainerState
from ..service import cellspec
from .display import container_table, event_table, image_table, snapshot_table
from .output import OutputSink, interrupts_deferred
from .pump import pump
from .results import (
    ContainerTable,
    EventTable,
    ImageTable,
    LabResults,
    LabTable,
    Names,
    RunResult,
    SnapshotTable,
    SpecResult,
    SpecText,
    StatsTable,
    TopTable,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any, NoReturn

    from ..engine.container import Container
    from ..service.door import Door

    Verb = Callable[["Context", argparse.Namespace], Any]

#: The verbs a cell body goes with (it is their script).
CELL_VERBS = ("run", "exec")
#: Seconds between the two samples of ``stats`` (its CPU %), as the CLI's first table.
STATS_INTERVAL = 0.5


def error_line(message: str) -> None:
    """One line on the cell's stderr, as the CLI reports errors."""
    with interrupts_deferred():  # a kernel's flush must not be interrupted: see there
        print(f"Error: {message}", file=sys.stderr, flush=True)


def note_line(message: str) -> None:
    with interrupts_deferred():
        print(message, file=sys.stderr, flush=True)


class Context:
    """What a verb needs besides its arguments: the door, the cell body (None for the line
    magic) with its interpreter, and how to make an OutputSink."""

    def __init__(self, door: Door, body: str | None, shell: Sequence[str],
                 make_sink: Callable[[str], OutputSink]) -> None:
        self.door = door
        self.body = body
        self.shell = list(shell)
        self.make_sink = make_sink


# -- listings ------------------------------------------------------------------------------
def do_ps(ctx: Context, args: argparse.Namespace) -> ContainerTable | Names:
    snaps = ctx.door.list_containers(all=args.all,  # newest first
                                     filters=filters(args.filter))
    if args.quiet:
        ids = [short(s.id, args.no_trunc) for s in snaps]
        return Names(ids, [s.id for s in snaps])
    return container_table(snaps, args.no_trunc)


def do_images(ctx: Context, args: argparse.Namespace) -> ImageTable | Names:
    listed, _users = ctx.door.list_images()
    images = sorted(listed, key=lambda i: i.created, reverse=True)
    if args.quiet:
        return Names([short(i.id, args.no_trunc) for i in images], [i.id for i in images])
    return image_table(images, args.no_trunc)


def do_stats(ctx: Context, args: argparse.Namespace) -> StatsTable:
    """One sample (``--no-stream``): CPU % over STATS_INTERVAL, memory, pids."""
    named = [ctx.door.container(ref, "stats") for ref in args.containers]
    before = samples(ctx.door, named, strict=bool(named))
    time.sleep(STATS_INTERVAL)
    after = samples(ctx.door, named, strict=False)
    host_mem = procinfo.host_memory()
    items = [usage(before[i], s, host_mem) for i, s in after.items() if i in before]
    rows = []
    for u in items:
        limit, pct = u["memory_limit"], u["memory_percent"]
        rows.append([u["id"][:12], u["name"], f"{u['cpu_percent']:.2f}%",
                     f"{human_size(u['memory_bytes'])} / "
                     f"{human_size(limit) if limit else '--'}",
                     "--" if pct is None else f"{pct:.2f}%", str(u["pids"])])
    return StatsTable(["ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "PIDS"], rows,
                      items)


def do_top(ctx: Context, args: argparse.Namespace) -> TopTable:
    top = ctx.door.container(args.container, "top").top()
    titles = top["Titles"]
    rows = [[str(c) for c in row] for row in top["Processes"]]
    return TopTable(titles, rows, [dict(zip(titles, row, strict=False)) for row in rows])


def do_inspect(ctx: Context, args: argparse.Namespace) -> Any:
    """The inspect dict (a list of them for several names); a name not found is one error
    line, the others are still shown."""
    found = []
    for ref in args.objects:
        try:
            found.append(inspect_one(ctx.door, ref, args.type))
        except CtrError as exc:
            error_line(str(exc))
    if len(args.objects) == 1:
        return found[0] if found else None
    return found


def do_events(ctx: Context, args: argparse.Namespace) -> EventTable | None:
    """Stored events as a table (``--no-stream``, or ``--until`` in the past); else the
    events as they happen, line by line, until ``--until`` or an interrupt."""
    since = parse_time(args.since) if args.since else None
    until = parse_time(args.until) if args.until else None
    if args.format not in (None, "json"):
        raise InvalidArgumentError(f"unsupported events format {args.format!r}: use json")
    wanted = filters(args.filter)
    if not args.stream or (until is not None and until <= time.time()):
        return event_table(list(ctx.door.events(since=since, until=until, filters=wanted)))
    sink = ctx.make_sink("the engine keeps them: %ctr events --no-stream --since ...")

    def stop() -> bool:
        sink.tick()
        return False

    try:
        for ev in ctx.door.events(since=since, until=until, filters=wanted, follow=True,
                                  stop=stop):
            text = json.dumps(ev.to_dict()) if args.format == "json" else event_text(ev)
            sink.write_text(STDOUT, text + "\n")
    except KeyboardInterrupt:
        sink.close()
        note_line("[stopped following events]")
        return None
    sink.close()
    return None


# -- container verbs -----------------------------------------------------------------------
def each(ctx: Context, refs: Sequence[str], action: str,
         act: Callable[[Container], object]) -> Names | None:
    """``act`` on each container named, as the CLI does: an error is one line and the others
    go on; the names acted on are returned (None if there is none: the errors said it)."""
    names, ids = [], []
    for ref in refs:
        try:
            ctr = ctx.door.container(ref, action)
            act(ctr)
        except CtrError as exc:
            error_line(str(exc))
            continue
        names.append(ref)
        ids.append(ctr.id)
    return Names(names, ids) if names else None


def do_create(ctx: Context, args: argparse.Namespace) -> Names:
    ctr = create_container(ctx.door, args)
    return Names([ctr.name], [ctr.id])


def do_start(ctx: Context, args: argparse.Namespace) -> Names | RunResult | None:
    if args.attach:
        if len(args.containers) > 1:
            raise InvalidArgumentError("you cannot start and attach multiple containers at once")
        ctr = ctx.door.container(args.containers[0], "start")
        state = ctr.state
        running = state in (ContainerState.RUNNING, ContainerState.PAUSED,
                             ContainerState.STOPPING)
        if not running and state is not ContainerState.CREATED:
            ctr.init(recursive=True)  # attachable from its first byte
        return foreground(ctx, ctr, None, start=not running, remove=False, kind="start")

    def start(ctr: Container) -> None:
        with contextlib.suppress(ContainerRunningError):
            ctr.start(recursive=True)

    return each(ctx, args.containers, "start", start)


def do_stop(ctx: Context, args: argparse.Namespace) -> Names | None:
    def stop(ctr: Container) -> None:
        with contextlib.suppress(ContainerStoppedError):
            ctr.stop(timeout=args.time)

    return each(ctx, args.containers, "stop", stop)


def do_kill(ctx: Context, args: argparse.Namespace) -> Names | None:
    parse_signal(args.signal)  # a bad signal is an error before any container is found
    return each(ctx, args.containers, "kill", lambda ctr: ctr.kill(args.signal))


def do_rm(ctx: Context, args: argparse.Namespace) -> Names | None:
    return each(ctx, args.containers, "remove",
                lambda ctr: ctx.door.remove(ctr, force=args.force, timeout=args.time))


def do_pause(ctx: Context, args: argparse.Namespace) -> Names | None:
    return each(ctx, args.containers, "pause", lambda ctr: ctr.pause())


def do_unpause(ctx: Context, args: argparse.Namespace) -> Names | None:
    return each(ctx, args.containers, "unpause", lambda ctr: ctr.unpause())


def do_restart(ctx: Context, args: argparse.Namespace) -> Names | None:
    return each(ctx, args.containers, "restart", lambda ctr: ctr.restart(timeout=args.time))


def do_wait(ctx: Context, args: argparse.Namespace) -> list[int]:
    codes: list[int] = []
    each(ctx, args.containers, "wait", lambda ctr: codes.append(ctr.wait()))
    return codes


def do_checkpoint(ctx: Context, args: argparse.Namespace) -> Names | list[dict[str, Any]] | None:
    options = checkpoint_options(args)
    reports: list[dict[str, Any]] = []
    names = each(ctx, args.containers, "checkpoint",
                 lambda ctr: reports.append(ctr.checkpoint(options).to_dict()))
    return reports if args.print_stats else names


def do_restore(ctx: Context, args: argparse.Namespace) -> Names | list[dict[str, Any]] | None:
    options = restore_options(args)
    if args.import_:
        ctr, stats = ctx.door.import_checkpoint(args.import_, name=args.name, options=options)
        return [stats.to_dict()] if args.print_stats else Names([ctr.name], [ctr.id])
    reports: list[dict[str, Any]] = []
    names = each(ctx, args.containers, "restore",
                 lambda ctr: reports.append(ctr.restore(options).to_dict()))
    return reports if args.print_stats else names


# -- streaming -------------------------------------------------------------------------------
def do_snapshot(ctx: Context, args: argparse.Namespace) -> SnapshotTable:
    """``%ctr snapshot CTR STEP``: the new snapshot (a filesystem one says why)."""
    return snapshot_table([ctx.door.snapshot(args.container, args.step,
                                             replace=args.replace)])


def do_snapshots(ctx: Context, args: argparse.Namespace) -> SnapshotTable | list[Any]:
    """``%ctr snapshots CTR``: the container's timeline, oldest first."""
    snaps = ctx.door.snapshots(args.container)
    if args.format == "json":
        return [s.to_dict() for s in snaps]
    return snapshot_table(snaps)


def do_rewind(ctx: Context, args: argparse.Namespace) -> SnapshotTable:
    """``%ctr rewind CTR STEP``: the snapshot it went back to."""
    return snapshot_table([ctx.door.rewind(args.container, args.step)])


def do_logs(ctx: Context, args: argparse.Namespace) -> None:
    since = parse_time(args.since) if args.since else None
    until = parse_time(args.until) if args.until else None
    ctr = ctx.door.container(args.container, "logs")
    tail = args.tail if args.tail is not None and args.tail >= 0 else None
    sink = ctx.make_sink(f"see %ctr logs --tail N {ctr.name}")

    def stop() -> bool:
        sink.tick()
        return False

    try:
        for line in ctr.logs(tail=tail, since=since, until=until, follow=args.follow,
                             stop=stop):
            prefix = f"{line.timestamp()} " if args.timestamps else ""
            sink.write_text(STDERR if line.stream == "stderr" else STDOUT,
                            f"{prefix}{line.text}{'' if line.partial else chr(10)}")
    except KeyboardInterrupt:
        sink.close()
        note_line(f"[stopped following {ctr.name}: it keeps running]")
        return
    sink.close()


def do_run(ctx: Context, args: argparse.Namespace) -> Names | RunResult:
    body = None
    if ctx.body is not None:
        if args.detach:
            raise InvalidArgumentError("%%ctr run runs its cell in the foreground: no -d")
        if args.tty:
            raise InvalidArgumentError("-t does not go with a cell body: the body is the "
                                       "container's stdin")
        image, _ = image_and_command(args)
        args.image_and_command = [image, *ctx.shell]
        args.interactive = True
        body = ctx.body.encode()
    elif args.interactive and not args.detach:
        # A kernel has no stdin to give: the container reads EOF (on a tty, its EOF key).
        body = b"\x04" if args.tty else b""
    ctr = create_container(ctx.door, args)
    try:
        if args.detach:
            ctr.start(recursive=True)
            return Names([ctr.name], [ctr.id])
        ctr.init(recursive=True)
    except BaseException:
        if args.rm:  # whatever failed, --rm leaves nothing behind (as podman)
            remove_quietly(ctx.door, ctr)
        raise
    return foreground(ctx, ctr, body, start=True, remove=args.rm, kind="run")


def do_attach(ctx: Context, args: argparse.Namespace) -> RunResult:
    ctr = ctx.door.container(args.container, "attach")
    return foreground(ctx, ctr, None, start=False, remove=False, kind="attach")


def foreground(ctx: Context, ctr: Container, body: bytes | None, *, start: bool,
               remove: bool, kind: str) -> RunResult:
    """Stream ``ctr``'s output into the cell until it exits (attached first, then started
    when ``start``: not a byte is lost), feeding ``body`` as its stdin."""
    began = time.monotonic()
    hint = (f"see %ctr logs {ctr.name}" if not remove
            else "the result keeps the first and last lines (the log went with --rm)")
    sink = ctx.make_sink(hint)
    try:
        stream = ctr.open_attach(stdin=body is not None)
        try:
            if start:
                ctr.start(recursive=True)
        except BaseException:
            stream.close()
            raise
    except BaseException:
        if remove:
            remove_quietly(ctx.door, ctr)
        raise
    interrupted = False
    try:
        pump(stream.conn, body, sink)
    except KeyboardInterrupt:
        interrupted = True
        with contextlib.suppress(OSError, KeyboardInterrupt):
            stream.detach()
    finally:
        stream.close()
        sink.close()
    code: int | None = None
    if interrupted and not remove:
        note_line(f"[interrupted: {ctr.name} keeps running; %ctr logs -f {ctr.name}, "
                  f"%ctr attach {ctr.name} or %ctr stop {ctr.name}]")
    else:
        if interrupted:  # run --rm: stopped and removed, as podman does
            with contextlib.suppress(CtrError, KeyboardInterrupt):
                with contextlib.suppress(ContainerStoppedError):
                    ctr.stop()
        code = ctr.wait()
        if remove:
            remove_quietly(ctx.door, ctr)
            if interrupted:
                note_line(f"[interrupted: {ctr.name} was stopped and removed]")
    return _result(kind, ctr.name, ctr.id, code, began, sink, interrupted, remove)


def do_exec(ctx: Context, args: argparse.Namespace) -> Names | RunResult:
    body = None
    command = list(args.command)
    stdin = bool(args.interactive)
    if ctx.body is not None:
        if args.detach or args.tty:
            raise InvalidArgumentError("%%ctr exec feeds its cell to the command: no -d or -t")
        command, stdin, body = list(ctx.shell), True, ctx.body.encode()
    elif stdin and not args.detach:
        body = b"\x04" if args.tty else b""  # as run -i
    if not command:
        raise InvalidArgumentError("exec requires a command to run in the container")
    ctr = ctx.door.container(args.container, "exec")
    session = ctr.exec(command, tty=args.tty, stdin=stdin, env=args.env or None,
                       user=args.user, workdir=args.workdir)
    if args.detach:
        session.start()
        return Names([session.id], [session.id])
    began = time.monotonic()
    sink = ctx.make_sink("exec output is not logged: the result keeps its first and last "
                         "lines")
    try:
        stream = session.open_stream(start=True)
    except CtrError as exc:
        # As podman: a command that cannot run exits 126 (not executable) or 127 (not found).
        try:
            failed = session.inspect()["ExitCode"]
        except CtrError:
            raise exc from None
        if failed not in (126, 127):
            raise
        error_line(str(exc))
        sink.close()
        return _result("exec", ctr.name, ctr.id, int(failed), began, sink, False, False,
                       session.id)
    interrupted = False
    code: int | None = None
    try:
        if stream.conn is not None:
            pump(stream.conn, body, sink)
        code = stream.finish()
    except KeyboardInterrupt:
        interrupted = True
        with contextlib.suppress(OSError, CtrError, KeyboardInterrupt):
            stream.detach()
        note_line(f"[interrupted: the exec session {session.id[:12]} keeps running in "
                  f"{ctr.name}]")
    finally:
        stream.close()
        sink.close()
    return _result("exec", ctr.name, ctr.id, code, began, sink, interrupted, False,
                   session.id)


def _result(kind: str, name: str, ident: str, code: int | None, began: float,
            sink: OutputSink, interrupted: bool, removed: bool,
            exec_id: str | None = None) -> RunResult:
    out, err = sink.captures[STDOUT], sink.captures[STDERR]
    where = "see %ctr logs " + name if kind != "exec" and not removed else ""
    return RunResult(kind=kind, name=name, id=ident, exit_code=code,
                     duration=time.monotonic() - began, stdout=out.text(where),
                     stderr=err.text(where), stdout_elided=out.elided,
                     stderr_elided=err.elided, interrupted=interrupted, removed=removed,
                     exec_id=exec_id)


# -- %%ctr spec: a container's spec as a cell (service/cellspec.py) ---------------------------
class SpecArgumentParser(argparse.ArgumentParser):
    """``spec``'s own parser (it is no CLI command): errors raise, as the CLI's do."""

    def error(self, message: str) -> NoReturn:
        raise InvalidArgumentError(f"spec: {message}")


def spec_parser() -> SpecArgumentParser:
    parser = SpecArgumentParser(
        prog="%%ctr spec", description="The cell holds a container's spec (TOML or YAML): "
        "running it creates the container (and starts it unless start = false); unchanged, "
        "nothing happens; changed, the difference is shown and the container recreated.")
    parser.add_argument("name", metavar="NAME", help="the container's name")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--yaml", action="store_true", help="the cell is YAML (default: detected)")
    fmt.add_argument("--toml", action="store_true", help="the cell is TOML (default: detected)")
    parser.add_argument("--dry-run", action="store_true",
                        help="show what would change, change nothing")
    parser.add_argument("--replace", action="store_true",
                        help="also recreate a container not created from a spec cell")
    parser.add_argument("--out", metavar="VAR", help="also store the result in VAR")
    return parser


def do_spec(ctx: Context, args: argparse.Namespace) -> SpecResult | SpecText:
    """``%%ctr spec NAME``: create, leave or recreate NAME as the cell's spec says;
    ``%ctr spec NAME`` (no cell) shows NAME's spec as such a cell's body."""
    name = check_name(args.name)
    fmt = "yaml" if args.yaml else "toml" if args.toml else None
    if ctx.body is None:
        return SpecText(cellspec.render(ctx.door.container_spec(name), fmt or "toml"), name,
                        fmt or "toml")
    if not ctx.body.strip():
        raise InvalidArgumentError("the cell is empty: write the spec below %%ctr spec "
                                   f"{name}, e.g. image = \"IMAGE\" (%ctr spec OTHER shows "
                                   "one)")
    new, options = cellspec.load(ctx.body, fmt)  # every error before anything is touched
    try:
        ctr = ctx.door.container(name, "inspect")
    except NoSuchContainerError:
        ctr = None
    if ctr is None:
        if args.dry_run:
            return SpecResult(action="would create", name=name,
                              changes=cellspec.diff({}, new))
        made = _create_from_spec(ctx, name, new, options)
        return SpecResult(action="created", name=name, id=made.id, state=made.state.value)
    old = cellspec.applied(ctr.config.labels)
    adopted = old is not None
    if old is None:
        old = ctx.door.container_spec(ctr)
    changes = cellspec.diff(old, new)
    outside = ("" if adopted else f"{name} was not created from a spec cell: it was compared "
               "through its configuration (what %ctr spec shows)")
    if not changes:
        return SpecResult(action="unchanged", name=name, id=ctr.id, state=ctr.state.value,
                          note=outside and outside + "; nothing to do")
    if args.dry_run:
        return SpecResult(action="would recreate", name=name, id=ctr.id, changes=changes,
                          state=ctr.state.value, note=outside and outside + (
                              "; only --replace would recreate it" if not args.replace
                              else ""))
    if not adopted and not args.replace:
        note = (outside + ". It differs and was left as it is: run the cell with --replace "
                "to remove it and create it from this spec")
        note_line(f"[{note}]")
        return SpecResult(action="kept", name=name, id=ctr.id, changes=changes,
                          state=ctr.state.value, note=note)
    ctx.door.image(new["image"], "image.inspect")  # a missing image: fail before removing
    old_id = ctr.id
    if ctr.state is ContainerState.PAUSED:
        ctr.unpause()
    if ctr.state in (ContainerState.RUNNING, ContainerState.STOPPING):
        with contextlib.suppress(ContainerStoppedError):
            ctr.stop(timeout=ctr.config.stop_timeout)
    ctx.door.remove(ctr)
    try:
        made = _create_from_spec(ctx, name, new, options)
    except CtrError as exc:
        raise type(exc)(f"{name} ({old_id[:12]}) was removed, but its new container could "
                        f"not be made: {exc}") from exc
    return SpecResult(action="recreated", name=name, id=made.id, old_id=old_id,
                      changes=changes, state=made.state.value)


def _create_from_spec(ctx: Context, name: str, spec: dict[str, Any],
                      options: dict[str, Any]) -> Container:
    kwargs = cellspec.create_arguments(name, spec)
    ctr = ctx.door.create_container(kwargs.pop("image"), kwargs.pop("command"), **kwargs)
    if options["start"]:
        try:
            ctr.start(recursive=True)
        except CtrError as exc:
            raise type(exc)(f"{name} was created ({ctr.id[:12]}) but did not start: "
                            f"{exc}") from exc
    return ctr


# -- labs ----------------------------------------------------------------------------------
def do_labs(ctx: Context, args: argparse.Namespace) -> LabTable:
    labs = ctx.door.labs()
    return LabTable(["LAB", "CONTAINERS", "RUNNING", "OWNERS"],
                    [[lab["Name"], str(lab["Containers"]), str(lab["Running"]),
                      ",".join(lab["Owners"])] for lab in labs], labs)


def do_lab(ctx: Context, args: argparse.Namespace) -> LabResults:
    """A bulk action on every container of a lab: one row per container, ok or the
    engine's message (a failed one does not stop the others)."""
    results = ctx.door.lab_action(args.lab, args.lab_action,
                                  step=getattr(args, "step", None),
                                  timeout=getattr(args, "time", None))
    return LabResults(["CONTAINER ID", "NAME", "OWNER", "RESULT"],
                      [[r["Id"][:12], r["Name"], r["Owner"],
                        "ok" if r["Ok"] else r["Error"]] for r in results], results,
                      badges=["ok" if r["Ok"] else "failed" for r in results],
                      badge_column=3)


#: The magics' own verbs by the CLI command function they stand for (the parser's ``func``);
#: the CLI's other commands run as they do in a terminal (their output printed in the cell).
VERBS: dict[str, Verb] = {
    "attach:cmd_run": do_run, "containers:cmd_create": do_create, "show:cmd_ps": do_ps,
    "containers:cmd_start": do_start, "containers:cmd_stop": do_stop,
    "containers:cmd_kill": do_kill, "containers:cmd_pause": do_pause,
    "containers:cmd_unpause": do_unpause, "containers:cmd_restart": do_restart,
    "containers:cmd_rm": do_rm, "containers:cmd_wait": do_wait, "show:cmd_logs": do_logs,
    "attach:cmd_exec": do_exec, "attach:cmd_attach": do_attach, "show:cmd_top": do_top,
    "stats:cmd_stats": do_stats, "show:cmd_inspect": do_inspect,
    "checkpoint:cmd_checkpoint": do_checkpoint, "checkpoint:cmd_restore": do_restore,
    "images:cmd_ls": do_images, "system:cmd_events": do_events,
    "timeline:cmd_create": do_snapshot, "timeline:cmd_ls": do_snapshots,
    "timeline:cmd_rewind": do_rewind,
    "labs:cmd_ls": do_labs, "labs:cmd_action": do_lab,
}
