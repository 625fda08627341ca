"""``jupyter-ctr``: a command line shaped like podman's, on the engine.

Commands and flags carry podman's names so that podman habits work. Engine errors print as
``Error: <message>`` and exit 125, podman's code for "the engine failed"; ``run`` and
``start -a`` exit with the container's own code.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import threading
import time
from types import SimpleNamespace

from . import __version__
from .engine.errors import (
    ContainerRemovedError,
    ContainerRunningError,
    ContainerStoppedError,
    CtrError,
    InvalidArgumentError,
    NoSuchContainerError,
    NoSuchImageError,
)
from .engine.timeutil import human_duration

# Start-up matters here (scripts run many short commands): the engine and anything only some
# commands need are imported where they are used, and main() builds the parser of the one
# command given (see build_parser). typing and argparse are not needed to import this module.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from typing import Any, NoReturn, TypeVar

    from .engine import Container, LogLine, Runtime
    from .gotemplate import Format

    Command = Callable[[Runtime, argparse.Namespace], int]
    Parser = TypeVar("Parser", argparse.ArgumentParser, "_QuickParser")

#: podman's exit code when the engine, not the container, failed.
ENGINE_ERROR = 125
#: What a shell reports for a command ended by Ctrl-C.
INTERRUPTED = 130

LOG_LEVELS = {"debug": 10, "info": 20, "warn": 30, "warning": 30, "error": 40, "fatal": 50,
              "panic": 50}  # logging's DEBUG..CRITICAL

IMAGE_AND_COMMAND = "IMAGE [COMMAND [ARG...]]"
#: argparse.REMAINDER's value (spelled out: the quick parser works without argparse).
REMAINDER = "..."
FORMAT_HELP = ("json, or a Go template of the fields {fields} (e.g. '{{{{.Names}}}} "
               "{{{{.Status}}}}'); 'table TEMPLATE' adds a header row")
INSPECT_FORMAT_HELP = ("json (default), or a Go template of the JSON's paths, e.g. "
                       "'{{.State.Status}}', '{{json .Config}}', '{{index .Config.Labels \"k\"}}'")


# -- output helpers ----------------------------------------------------------------------------
def _error(message: str) -> None:
    print(f"Error: {message}", file=sys.stderr, flush=True)


def _print_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Left-aligned columns two spaces apart, like podman's tabwriter output."""
    rows = [list(r) for r in rows]
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    for row in [list(headers), *rows]:
        cells = [c.ljust(w) for c, w in zip(row[:-1], widths[:-1], strict=True)] + [row[-1]]
        print("  ".join(cells).rstrip())
    sys.stdout.flush()


def human_size(size: float, sep: str = "") -> str:
    """Decimal units with three significant digits, like podman (``1.98MB``)."""
    units = ("B", "kB", "MB", "GB", "TB", "PB")
    i = 0
    while size >= 1000 and i < len(units) - 1:
        size /= 1000
        i += 1
    return f"{size:.3g}{sep}{units[i]}"


def _short(ident: str, no_trunc: bool = False) -> str:
    return ident if no_trunc else ident[:12]


def _write_log_line(line: LogLine, timestamps: bool = False) -> None:
    stream = sys.stderr if line.stream == "stderr" else sys.stdout
    prefix = f"{line.timestamp()} " if timestamps else ""
    stream.write(f"{prefix}{line.text}{'' if line.partial else chr(10)}")
    stream.flush()


# -- --format (podman's: json, or a Go template, optionally "table ...") ------------------------
#: Go's zero time as Unix seconds: what podman's JSON shows for "never".
GO_ZERO_UNIX = -62135596800
PS_HEADERS = {"ID": "CONTAINER ID", "CreatedHuman": "CREATED", "Names": "NAMES"}
IMAGE_HEADERS = {"ID": "IMAGE ID", "Id": "IMAGE ID", "CreatedSince": "CREATED",
                 "CreatedTime": "CREATED AT"}


def _format(spec: str | None, name: str) -> Format | None:
    """The parsed ``--format``, or None without one; a bad template is an InvalidArgumentError
    (exit 125) naming the problem, raised before any work is done."""
    if spec is None:
        return None
    from .gotemplate import Format, TemplateError

    try:
        fmt = Format(spec, name)
    except TemplateError as exc:
        raise InvalidArgumentError(f"invalid --format {spec!r}: {exc}") from None
    if not fmt.is_json and fmt.template is None:
        return None  # "table" alone: the default table
    return fmt


def _print_formatted(fmt: Format, items: list[Any],
                     headers: dict[str, str] | None = None) -> None:
    """Each item through the template (tables with a header row when ``headers``)."""
    from .gotemplate import TemplateError, header_name

    try:
        lines = fmt.lines(items, (lambda f: header_name(f, headers)) if headers is not None
                          else None)
    except TemplateError as exc:
        raise InvalidArgumentError(str(exc)) from None
    for line in lines:
        print(line)
    sys.stdout.flush()


def _print_json(data: Any, indent: int = 4) -> None:
    import json

    print(json.dumps(data, indent=indent), flush=True)


def _go_time(seconds: float, ns: int | None = None) -> str:
    """A time as Go's ``time.Time`` prints it: ``2026-11-30 02:56:57.4618 +0000 UTC``."""
    from datetime import datetime

    t = datetime.fromtimestamp(int(seconds)).astimezone()
    frac = "" if ns is None else f"{ns % 1_000_000_000:09d}".rstrip("0")
    return f"{t:%Y-%m-%d %H:%M:%S}{'.' + frac if frac else ''} {t:%z} {t.tzname()}"


# -- argument parsing helpers ------------------------------------------------------------------
_DURATION = r"(?:(\d+(?:\.\d*)?)(ns|us|µs|ms|s|m|h))"
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0,
                   "h": 3600.0}


def parse_time(value: str, now: float | None = None) -> float:
    """``--since``/``--until`` values as podman takes them: a Unix timestamp, an RFC3339 (or
    ISO 8601) time, local when it names no zone, or a Go duration (``10m``, ``1h30m``) back
    from now. Returns Unix seconds."""
    import re
    from datetime import datetime

    text = value.strip()
    now = time.time() if now is None else now
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    if text and re.fullmatch(f"{_DURATION}+", text):
        total = sum(float(n) * _DURATION_UNITS[u] for n, u in re.findall(_DURATION, text))
        return now - total
    iso = re.sub(r"(\.\d{6})\d+", r"\1", text)  # fromisoformat stops at microseconds
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise InvalidArgumentError(
            f"invalid time {value!r}: use a Unix timestamp, an RFC3339 time or a duration "
            "such as 10m") from None


def _parse_rfc3339(value: str) -> float | None:
    """Unix seconds of an inspect timestamp; None for Go's zero time."""
    if not value or value.startswith("0001-"):
        return None
    return parse_time(value)


def _key_values(items: Iterable[str] | None) -> dict[str, str]:
    """``-l K=V`` items; a bare ``K`` means an empty value, as in podman."""
    out: dict[str, str] = {}
    for item in items or []:
        key, _, value = item.partition("=")
        if not key:
            raise InvalidArgumentError(f"invalid label {item!r}: the key is empty")
        out[key] = value
    return out


def _log_size(items: Iterable[str] | None) -> str | None:
    """``--log-opt max-size=SIZE`` (the only log option of the k8s-file driver we honour)."""
    size = None
    for item in items or []:
        key, sep, value = item.partition("=")
        if key != "max-size" or not sep:
            raise InvalidArgumentError(f"invalid log option {item!r}: only max-size=SIZE is "
                                       "supported")
        size = value
    return size


def _filters(items: Iterable[str] | None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidArgumentError(f"invalid filter {item!r}: filters are key=value")
        out.setdefault(key, []).append(value)
    return out


def _exit_status(code: int | None) -> int:
    """A container exit code as a process exit status (unknown ones read as engine errors)."""
    if code is None or not 0 <= code <= 255:
        return ENGINE_ERROR
    return code


def _each(refs: Sequence[str], action: Callable[[str], str | None]) -> int:
    """Apply ``action`` to every reference, printing its output or its error; 125 if any fail."""
    failed = False
    for ref in refs:
        try:
            out = action(ref)
        except CtrError as exc:
            _error(str(exc))
            failed = True
            continue
        if out is not None:
            print(out, flush=True)
    return ENGINE_ERROR if failed else 0


# -- following a container's output -------------------------------------------------------------
class LogFollower(threading.Thread):
    """Copies a container's log to stdout/stderr while it runs.

    Stands in for attach until conmon's attach socket is wired up. It must be started after
    ``init`` (conmon has created the log file) and before ``start``, so that not even the
    first line of a short-lived container is missed.
    """

    def __init__(self, ctr: Container, since: float | None = None) -> None:
        super().__init__(name=f"logs-{ctr.id[:12]}", daemon=True)
        self.ctr = ctr
        self.since = since
        self.error: CtrError | None = None

    def run(self) -> None:
        try:
            for line in self.ctr.logs(since=self.since, follow=True):
                _write_log_line(line)
        except CtrError as exc:
            self.error = exc

    def wait(self) -> None:
        """Join, staying interruptible by Ctrl-C."""
        while self.is_alive():
            self.join(0.1)
        if self.error is not None:
            _error(f"reading the output of {self.ctr.id[:12]}: {self.error}")


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP received while following a container in the foreground."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def _termination_as_interrupt() -> Iterator[None]:
    """Make SIGTERM and SIGHUP unwind like Ctrl-C, so the container gets stopped (and
    removed with --rm) instead of being left behind by a killed CLI."""

    def raise_interrupted(signum: int, _frame: object) -> None:
        raise Interrupted(signum)

    previous = {sig: signal.signal(sig, raise_interrupted)
                for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _follow_until_exit(rt: Runtime, ctr: Container, since: float | None, start: bool,
                       remove: bool) -> int:
    """Stream the output of ``ctr`` (initialised, or running) until it exits; its exit status.

    On Ctrl-C (or SIGTERM/SIGHUP) the container is stopped, and removed with ``remove``; the
    status is then the container's exit code, or 128 + the signal number if it is unknown.
    """
    follower = LogFollower(ctr, since)
    follower.start()
    try:
        with _termination_as_interrupt():
            if start:
                ctr.start(recursive=True)
            follower.wait()
            code = ctr.wait()
    except KeyboardInterrupt as exc:
        code = 128 + exc.signum if isinstance(exc, Interrupted) else INTERRUPTED
        with contextlib.suppress(CtrError, KeyboardInterrupt):
            with contextlib.suppress(ContainerStoppedError):
                ctr.stop()
            follower.join(2)  # what the container printed while stopping
            code = ctr.wait()
        if remove:
            _remove_quietly(rt, ctr)
        return _exit_status(code)
    except BaseException:
        if remove:
            _remove_quietly(rt, ctr)
        raise
    if remove:
        _remove_quietly(rt, ctr)
    return _exit_status(code)


@contextlib.contextmanager
def _terminal_session(ctr: Container, raw: bool) -> Iterator[None]:
    """Raw mode on our terminal and its size forwarded to the container's tty (SIGWINCH)."""
    if not raw:
        yield
        return
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    changed = threading.Event()
    done = threading.Event()

    def forward_sizes() -> None:
        # The engine is called from this thread, never from the signal handler: the main
        # thread may be inside a verb when SIGWINCH arrives.
        while not done.is_set():
            if changed.wait(0.2):
                changed.clear()
                _resize_to_terminal(ctr, fd)

    previous = signal.signal(signal.SIGWINCH, lambda *_: changed.set())
    resizer = threading.Thread(target=forward_sizes, daemon=True)
    resizer.start()
    tty.setraw(fd, termios.TCSANOW)  # TCSAFLUSH would drop what was typed ahead
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        done.set()
        signal.signal(signal.SIGWINCH, previous)


def _resize_to_terminal(ctr: Container, fd: int) -> None:
    """Give the container's tty our terminal's size; a terminal that reports no size (0x0,
    as ``script`` without a terminal does) is left alone, as podman does."""
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return
    if size.lines and size.columns:
        with contextlib.suppress(CtrError):
            ctr.resize(size.lines, size.columns)


def _attached_run(rt: Runtime, ctr: Container, detach_keys: str, start: bool,
                  remove: bool) -> int:
    """Attach our stdio to ``ctr`` (started now if ``start``); its exit code, or 0 when the
    detach keys were typed (the container keeps running)."""
    tty_mode = bool(ctr.config["tty"])
    stdin = sys.stdin.buffer if ctr.config["stdin"] else None
    raw = tty_mode and stdin is not None and sys.stdin.isatty()
    if raw:
        _resize_to_terminal(ctr, sys.stdin.fileno())  # before start: the first prompt fits
    try:
        with _termination_as_interrupt(), _terminal_session(ctr, raw):
            if start:
                result = ctr.start_and_attach(stdin, sys.stdout.buffer, sys.stderr.buffer,
                                              detach_keys=detach_keys)
            else:
                result = ctr.attach(stdin, sys.stdout.buffer, sys.stderr.buffer,
                                    detach_keys=detach_keys)
    except KeyboardInterrupt:
        with contextlib.suppress(CtrError):
            with contextlib.suppress(ContainerStoppedError):
                ctr.stop()
        code = ctr.wait()
        if remove:
            _remove_quietly(rt, ctr)
        return _exit_status(code)
    if result == "detached":
        print(f"\r\nDetached from {ctr.name}", file=sys.stderr)
        return 0
    code = ctr.wait()
    if remove:
        _remove_quietly(rt, ctr)
    return _exit_status(code)


def cmd_exec(rt: Runtime, args: argparse.Namespace) -> int:
    if not args.command:
        raise InvalidArgumentError("exec requires a command to run in the container")
    ctr = rt.lookup_container(args.container)
    session = ctr.exec(args.command, tty=args.tty, stdin=args.interactive,
                       env=args.env or None, user=args.user, workdir=args.workdir)
    stdin = sys.stdin.buffer if args.interactive else None
    raw = args.tty and stdin is not None and sys.stdin.isatty()
    size = None
    if args.tty and sys.stdout.isatty():
        term = os.get_terminal_size(sys.stdout.fileno())
        size = (term.lines, term.columns)
    if args.detach:
        session.start()
        print(session.id)
        return 0
    with contextlib.ExitStack() as stack:
        if raw:
            import termios
            import tty

            fd = sys.stdin.fileno()
            saved = termios.tcgetattr(fd)
            tty.setraw(fd, termios.TCSANOW)
            stack.callback(termios.tcsetattr, fd, termios.TCSADRAIN, saved)
        try:
            code = session.start_and_attach(stdin, sys.stdout.buffer, sys.stderr.buffer,
                                            detach_keys=args.detach_keys, tty_size=size)
        except CtrError as exc:
            # Like podman: a command that cannot run exits 126 (not executable) or 127
            # (not found), with the runtime's message.
            failed = session.inspect()["ExitCode"]
            if failed not in (126, 127):
                raise
            _error(str(exc))
            return int(failed)
    return 0 if code is None else _exit_status(code)


def cmd_checkpoint(rt: Runtime, args: argparse.Namespace) -> int:
    import json

    from .engine.checkpoint import CheckpointOptions

    if args.export and len(args.containers) > 1:
        raise InvalidArgumentError("--export works with one container at a time")
    options = CheckpointOptions(
        keep=args.keep, keep_running=args.leave_running, tcp_established=args.tcp_established,
        target_file=args.export, ignore_rootfs=args.ignore_rootfs,
        ignore_volumes=args.ignore_volumes, compression=args.compress,
        print_stats=args.print_stats, file_locks=args.file_locks,
        pre_checkpoint=args.pre_checkpoint, with_previous=args.with_previous,
        create_image=args.create_image, include_image=not args.ignore_image)
    reports: list[dict[str, Any]] = []

    def checkpoint(ref: str) -> str:
        reports.append(rt.lookup_container(ref).checkpoint(options).to_dict())
        return ref

    code = _each(args.containers, checkpoint)
    if args.print_stats:
        print(json.dumps(reports, indent=4))
    return code


def cmd_restore(rt: Runtime, args: argparse.Namespace) -> int:
    import json

    from .engine.checkpoint import CheckpointOptions, restore_container

    if args.name and not args.import_:
        raise InvalidArgumentError("--name works only with --import")
    options = CheckpointOptions(
        keep=args.keep, tcp_established=args.tcp_established, tcp_close=args.tcp_close,
        ignore_rootfs=args.ignore_rootfs, ignore_static_ip=args.ignore_static_ip,
        ignore_static_mac=args.ignore_static_mac, ignore_volumes=args.ignore_volumes,
        print_stats=args.print_stats, file_locks=args.file_locks,
        import_previous=args.import_previous, pod=args.pod)
    if args.import_:
        if args.containers:
            raise InvalidArgumentError("--import restores a new container: give no names")
        ctr, stats = restore_container(rt, args.import_, name=args.name, options=options)
        print(json.dumps([stats.to_dict()], indent=4) if args.print_stats else ctr.id)
        return 0
    if not args.containers:
        raise InvalidArgumentError("restore needs a container, or --import FILE")
    reports: list[dict[str, Any]] = []

    def restore(ref: str) -> str:
        reports.append(rt.lookup_container(ref).restore(options).to_dict())
        return ref

    code = _each(args.containers, restore)
    if args.print_stats:
        print(json.dumps(reports, indent=4))
    return code


def cmd_info(rt: Runtime, args: argparse.Namespace) -> int:
    import json

    from .engine.health import host_info

    info = host_info(rt)
    if args.format == "json":
        print(json.dumps(info, indent=2))
    else:
        _print_nested(info)
    return 0 if info["ok"] else ENGINE_ERROR


def _print_nested(data: dict[str, Any], indent: str = "") -> None:
    for key, value in data.items():
        if isinstance(value, dict):
            print(f"{indent}{key}:")
            _print_nested(value, indent + "  ")
        else:
            print(f"{indent}{key}: {value}")


def cmd_attach(rt: Runtime, args: argparse.Namespace) -> int:
    ctr = rt.lookup_container(args.container)
    if args.no_stdin and ctr.config["stdin"]:
        ctr.config = {**ctr.config, "stdin": False}  # this attach only: do not send input
    return _attached_run(rt, ctr, args.detach_keys, start=False, remove=False)


def _remove_quietly(rt: Runtime, ctr: Container) -> None:
    """Remove, accepting that conmon's exit command (auto-remove) may have been first."""
    with contextlib.suppress(NoSuchContainerError, ContainerRemovedError):
        rt.remove_container(ctr, force=True, timeout=0)


# -- image commands ----------------------------------------------------------------------------
def cmd_image_import(rt: Runtime, args: argparse.Namespace) -> int:
    print(rt.import_image(args.path, args.reference).id)
    return 0


def cmd_image_ls(rt: Runtime, args: argparse.Namespace) -> int:
    fmt = _format(args.format, "images")
    images = sorted(rt.list_images(), key=lambda i: i.created, reverse=True)
    if fmt is not None:
        users: dict[str, int] = {}
        for _, cfg, _ in rt.store.all_containers():
            users[cfg.get("image_id", "")] = users.get(cfg.get("image_id", ""), 0) + 1
        if fmt.is_json:
            _print_json([_image_json(img, users.get(img.id, 0)) for img in images])
        else:
            _print_formatted(fmt, [row for img in images for row in _image_fields(
                img, users.get(img.id, 0), time.time(), args.no_trunc)], IMAGE_HEADERS)
        return 0
    if args.quiet:
        for img in images:
            print(_short(img.id, args.no_trunc))
        return 0
    now = time.time()
    rows = []
    for img in images:
        ident = f"sha256:{img.id}" if args.no_trunc else img.id[:12]
        created = f"{human_duration(now - img.created)} ago"
        size = human_size(img.size, " ")
        for name in img.names or ["<none>:<none>"]:
            repo, _, tag = name.rpartition(":")
            rows.append([repo, tag, ident, created, size])
    _print_table(["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"], rows)
    return 0


def cmd_image_rm(rt: Runtime, args: argparse.Namespace) -> int:
    def remove(ref: str) -> str:
        names = rt.get_image(ref).names
        image_id = rt.remove_image(ref)
        return "\n".join([*(f"Untagged: {n}" for n in names), f"Deleted: {image_id}"])

    return _each(args.images, remove)


def cmd_image_inspect(rt: Runtime, args: argparse.Namespace) -> int:
    fmt = _format(args.format, "inspect")
    found, missing = [], []
    for ref in args.images:
        try:
            found.append(rt.get_image(ref).inspect())
        except NoSuchImageError as exc:
            missing.append(str(exc))
    if fmt is None or fmt.is_json:
        _print_json(found)
    else:
        _print_formatted(fmt, found)
    for message in missing:
        _error(message)
    return ENGINE_ERROR if missing else 0


def cmd_image_build_demo(rt: Runtime, args: argparse.Namespace) -> int:
    print(rt.images.build_demo(args.reference).id)
    return 0


# -- container commands -------------------------------------------------------------------------
def _image_and_command(args: argparse.Namespace) -> tuple[str, list[str]]:
    rest = list(args.image_and_command)
    if rest[:1] == ["--"]:
        rest = rest[1:]
    if not rest:
        raise InvalidArgumentError(f"{args.cmd} requires at least an IMAGE argument")
    return rest[0], rest[1:]


def _create(rt: Runtime, args: argparse.Namespace) -> Container:
    image, command = _image_and_command(args)
    return rt.create_container(
        image, command or None, name=args.name, env=args.env or None,
        workdir=args.workdir, user=args.user, tty=args.tty, stdin=args.interactive,
        labels=_key_values(args.label), stop_signal=args.stop_signal,
        stop_timeout=args.stop_timeout, memory=args.memory, pids_limit=args.pids_limit,
        cpus=args.cpus, network=args.network, auto_remove=args.rm,
        restart_policy=args.restart, depends_on=_split_commas(args.requires),
        log_size_max=_log_size(args.log_opt))


def cmd_create(rt: Runtime, args: argparse.Namespace) -> int:
    print(_create(rt, args).id)
    return 0


def cmd_run(rt: Runtime, args: argparse.Namespace) -> int:
    ctr = _create(rt, args)
    try:
        if args.detach:
            ctr.start(recursive=True)
            print(ctr.id)
            return 0
        ctr.init(recursive=True)
        if args.interactive or args.tty:
            return _attached_run(rt, ctr, args.detach_keys, start=True, remove=args.rm)
        return _follow_until_exit(rt, ctr, since=None, start=True, remove=args.rm)
    except BaseException:
        if args.rm:  # whatever failed, --rm leaves nothing behind (as podman)
            _remove_quietly(rt, ctr)
        raise


def cmd_start(rt: Runtime, args: argparse.Namespace) -> int:
    if args.attach:
        from .engine import ContainerState

        if len(args.containers) > 1:
            raise InvalidArgumentError("you cannot start and attach multiple containers at once")
        ctr = rt.lookup_container(args.containers[0])
        state = ctr.state
        running = state in (ContainerState.RUNNING, ContainerState.PAUSED,
                            ContainerState.STOPPING)
        if not running and state is not ContainerState.CREATED:
            ctr.init(recursive=True)
        # Earlier runs' lines stay in the log: show only what this run writes.
        return _follow_until_exit(rt, ctr, since=time.time(), start=not running, remove=False)

    def start(ref: str) -> str:
        with contextlib.suppress(ContainerRunningError):
            rt.lookup_container(ref).start(recursive=True)
        return ref

    return _each(args.containers, start)


def cmd_stop(rt: Runtime, args: argparse.Namespace) -> int:
    def stop(ref: str) -> str:
        with contextlib.suppress(ContainerStoppedError):
            rt.lookup_container(ref).stop(timeout=args.time)
        return ref

    return _each(args.containers, stop)


def cmd_kill(rt: Runtime, args: argparse.Namespace) -> int:
    from .engine.oci import parse_signal

    parse_signal(args.signal)  # a bad signal is an error even before any container is found

    def kill(ref: str) -> str:
        rt.lookup_container(ref).kill(args.signal)
        return ref

    return _each(args.containers, kill)


def cmd_wait(rt: Runtime, args: argparse.Namespace) -> int:
    return _each(args.containers, lambda ref: str(rt.lookup_container(ref).wait()))


def cmd_rm(rt: Runtime, args: argparse.Namespace) -> int:
    def remove(ref: str) -> str:
        rt.remove_container(rt.lookup_container(ref), force=args.force, timeout=args.time)
        return ref

    return _each(args.containers, remove)


def cmd_pause(rt: Runtime, args: argparse.Namespace) -> int:
    return _each(args.containers, lambda ref: _do(rt.lookup_container(ref).pause, ref))


def cmd_unpause(rt: Runtime, args: argparse.Namespace) -> int:
    return _each(args.containers, lambda ref: _do(rt.lookup_container(ref).unpause, ref))


def cmd_restart(rt: Runtime, args: argparse.Namespace) -> int:
    return _each(args.containers,
                 lambda ref: _do(lambda: rt.lookup_container(ref).restart(timeout=args.time), ref))


def cmd_mount(rt: Runtime, args: argparse.Namespace) -> int:
    return _each(args.containers, lambda ref: str(rt.lookup_container(ref).mount()))


def cmd_umount(rt: Runtime, args: argparse.Namespace) -> int:
    return _each(args.containers,
                 lambda ref: _do(lambda: rt.lookup_container(ref).unmount(force=args.force), ref))


def cmd_export(rt: Runtime, args: argparse.Namespace) -> int:
    ctr = rt.lookup_container(args.container)
    if args.output:
        ctr.export(args.output)
    elif sys.stdout.isatty():
        raise InvalidArgumentError("refusing to export to a terminal: use -o FILE or redirect")
    else:
        sys.stdout.flush()
        ctr.export(sys.stdout.buffer)
    return 0


def cmd_top(rt: Runtime, args: argparse.Namespace) -> int:
    top = rt.lookup_container(args.container).top()
    _print_table(top["Titles"], top["Processes"])
    return 0


def _do(fn: Callable[[], object], result: str) -> str:
    fn()
    return result


def _split_commas(values: Sequence[str] | None) -> list[str]:
    return [v for item in values or [] for v in item.split(",") if v]


def _status_text(state: dict[str, Any], now: float) -> str:
    status = state["Status"]
    if status == "running":
        started = _parse_rfc3339(state["StartedAt"])
        return f"Up {human_duration(now - started)}" if started else "Up"
    if status in ("exited", "stopped"):
        finished = _parse_rfc3339(state["FinishedAt"])
        ago = f" {human_duration(now - finished)} ago" if finished else ""
        return f"Exited ({state['ExitCode']}){ago}"
    return str(status).capitalize()


def cmd_ps(rt: Runtime, args: argparse.Namespace) -> int:
    fmt = _format(args.format, "ps")
    ctrs = list(reversed(rt.list_containers(all=args.all)))  # newest first, as podman
    if args.quiet and fmt is None:
        for ctr in ctrs:
            print(_short(ctr.id, args.no_trunc))
        return 0
    now = time.time()
    rows = []
    listed: list[tuple[Container, dict[str, Any]]] = []
    for ctr in ctrs:
        try:
            info = ctr.inspect()
        except ContainerRemovedError:
            continue
        listed.append((ctr, info))
    if fmt is not None:
        if fmt.is_json:
            _print_json([_ps_json(ctr, info, now) for ctr, info in listed], indent=2)
        else:
            _print_formatted(fmt, [_ps_fields(ctr, info, now, args.no_trunc)
                                   for ctr, info in listed], PS_HEADERS)
        return 0
    for ctr, info in listed:
        command = " ".join(info["Config"]["Cmd"])
        if not args.no_trunc and len(command) > 20:
            command = command[:17] + "..."
        created = f"{human_duration(now - ctr.config['created'] / 1e9)} ago"
        rows.append([_short(ctr.id, args.no_trunc), info["ImageName"], command, created,
                     _status_text(info["State"], now), ctr.name])
    _print_table(["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES"], rows)
    return 0


def cmd_logs(rt: Runtime, args: argparse.Namespace) -> int:
    since = parse_time(args.since) if args.since else None
    until = parse_time(args.until) if args.until else None
    ctr = rt.lookup_container(args.container)
    tail = args.tail if args.tail is not None and args.tail >= 0 else None
    for line in ctr.logs(tail=tail, since=since, until=until, follow=args.follow):
        _write_log_line(line, args.timestamps)
    return 0


def cmd_inspect(rt: Runtime, args: argparse.Namespace) -> int:
    fmt = _format(args.format, "inspect")
    found: list[dict[str, Any]] = []
    failed = False
    for ref in args.objects:
        try:
            found.append(_inspect_one(rt, ref, args.type))
        except CtrError as exc:
            _error(str(exc))
            failed = True
    if fmt is None or fmt.is_json:
        _print_json(found)
    else:
        _print_formatted(fmt, found)
    return ENGINE_ERROR if failed else 0


def _ps_fields(ctr: Container, info: dict[str, Any], now: float,
               no_trunc: bool) -> dict[str, Any]:
    """What ``ps --format`` templates see: podman's field names (psReporter)."""
    st = info["State"]
    created_ns = int(ctr.config["created"])
    started, finished = _parse_rfc3339(st["StartedAt"]), _parse_rfc3339(st["FinishedAt"])
    command = " ".join(info["Config"]["Cmd"])
    if not no_trunc and len(command) > 20:
        command = command[:17] + "..."
    created = _go_time(created_ns / 1e9, created_ns)
    ago = f"{human_duration(now - created_ns / 1e9)} ago"
    return {
        "ID": _short(ctr.id, no_trunc), "Image": info["ImageName"],
        "ImageID": _short(info["Image"], no_trunc), "Command": command,
        "Created": created, "CreatedAt": created, "CreatedHuman": ago, "RunningFor": ago,
        "Status": _status_text(st, now), "State": st["Status"], "Names": ctr.name,
        "Labels": dict(info["Config"].get("Labels") or {}), "Mounts": [], "Ports": "",
        "Networks": "", "Pod": "", "PodName": "", "IsInfra": False,
        "Pid": int(st["Pid"]), "ExitCode": int(st["ExitCode"]),
        "Exited": st["Status"] in ("exited", "stopped"),
        "ExitedAt": int(finished) if finished else GO_ZERO_UNIX,
        "StartedAt": int(started) if started else GO_ZERO_UNIX,
        "AutoRemove": bool(ctr.config.get("auto_remove")),
        "Restarts": int(info.get("RestartCount") or 0),
    }


def _ps_json(ctr: Container, info: dict[str, Any], now: float) -> dict[str, Any]:
    """One element of ``ps --format json``: the libpod list shape, as podman's CLI prints it
    (``Created`` in Unix seconds, ``CreatedAt`` and ``Status`` for people)."""
    from .server.models import container_libpod_list_item

    item = container_libpod_list_item(ctr, info)
    created = int(ctr.config["created"]) / 1e9
    item.update(Created=int(created), CreatedAt=f"{human_duration(now - created)} ago",
                Status=_status_text(info["State"], now))
    return item


def _image_fields(img: Any, containers: int, now: float,
                  no_trunc: bool) -> list[dict[str, Any]]:
    """What ``images --format`` templates see (podman's names), one row per name."""
    digest = img.digest or f"sha256:{img.id}"
    ago = f"{human_duration(now - img.created)} ago"
    created = _go_time(img.created)
    rows = []
    for name in img.names or ["<none>:<none>"]:
        repo, _, tag = name.rpartition(":")
        rows.append({
            "ID": f"sha256:{img.id}" if no_trunc else img.id[:12], "Id": img.id,
            "Repository": repo, "Tag": tag, "Digest": digest, "Created": ago,
            "CreatedSince": ago, "CreatedAt": created, "CreatedTime": created,
            "Size": human_size(img.size, " "), "VirtualSize": int(img.size), "SharedSize": 0,
            "Names": list(img.names), "Labels": dict(img.config.get("Labels") or {}),
            "Dangling": not img.names, "Containers": containers, "ReadOnly": False,
            "History": ", ".join(img.names), "RepoTags": list(img.names),
            "RepoDigests": [f"{n.rsplit(':', 1)[0]}@{digest}" for n in img.names],
        })
    return rows


def _image_json(img: Any, containers: int) -> dict[str, Any]:
    """One element of ``images --format json`` (the libpod summary, plus CreatedAt)."""
    from datetime import UTC, datetime

    from .server.models import image_libpod_summary

    item = image_libpod_summary(img, containers)
    item["CreatedAt"] = datetime.fromtimestamp(int(img.created), UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    return item


def _inspect_one(rt: Runtime, ref: str, kind: str) -> dict[str, Any]:
    if kind in ("container", "all"):
        try:
            return rt.lookup_container(ref).inspect()
        except NoSuchContainerError:
            if kind == "container":
                raise
    if kind in ("image", "all"):
        try:
            return rt.get_image(ref).inspect()
        except NoSuchImageError:
            if kind == "image":
                raise
    raise NoSuchContainerError(f"no such object: {ref!r}")


def _event_text(ev: Any) -> str:
    from datetime import datetime

    t = datetime.fromtimestamp(ev.time_ns // 1_000_000_000).astimezone()
    stamp = f"{t:%Y-%m-%d %H:%M:%S}.{ev.time_ns % 1_000_000_000:09d} {t:%z %Z}"
    if ev.type != "container":
        return f"{stamp} {ev.type} {ev.action} {ev.id} {ev.name}"
    attrs = dict(ev.attributes)
    first = [f"image={attrs.pop('image', ev.image)}", f"name={attrs.pop('name', ev.name)}"]
    rest = [f"{k}={v}" for k, v in sorted(attrs.items())]
    return f"{stamp} container {ev.action} {ev.id} ({', '.join(first + rest)})"


def cmd_events(rt: Runtime, args: argparse.Namespace) -> int:
    import json

    since = parse_time(args.since) if args.since else None
    until = parse_time(args.until) if args.until else None
    if args.format not in (None, "json"):
        raise InvalidArgumentError(f"unsupported events format {args.format!r}: use json")
    for ev in rt.events(since=since, until=until, filters=_filters(args.filter),
                        follow=args.stream):
        print(json.dumps(ev.to_dict()) if args.format == "json" else _event_text(ev),
              flush=True)
    return 0


def _host_memory() -> int:
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    return 0


def _stats_samples(ctrs: Sequence[Container], strict: bool) -> dict[str, dict[str, Any]]:
    out = {}
    for ctr in ctrs:
        try:
            out[ctr.id] = ctr.stats()
        except CtrError:
            if strict:
                raise
    return out


def _stats_row(before: dict[str, Any], after: dict[str, Any], host_mem: int) -> list[str]:
    elapsed = max(after["time_ns"] - before["time_ns"], 1)
    cpu = 100.0 * max(after["cpu_ns"] - before["cpu_ns"], 0) / elapsed
    used, limit = after["memory_bytes"], after["memory_limit"] or host_mem
    mem_pct = f"{100.0 * used / limit:.2f}%" if limit else "--"
    return [after["id"][:12], after["name"], f"{cpu:.2f}%",
            f"{human_size(used)} / {human_size(limit) if limit else '--'}", mem_pct,
            str(after["pids"])]


def cmd_service(rt: Runtime, args: argparse.Namespace) -> int:
    from .server.socket_service import serve  # jupyter_server/tornado only when asked

    return serve(args.socket, rt)


def cmd_stats(rt: Runtime, args: argparse.Namespace) -> int:
    headers = ["ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "PIDS"]
    host_mem = _host_memory()
    named = [rt.lookup_container(ref) for ref in args.containers]

    def targets() -> list[Container]:
        return named if named else rt.list_containers()

    prev = _stats_samples(targets(), strict=bool(named))
    interval = 0.5  # the first table comes quickly; later ones every second, as podman
    clear = sys.stdout.isatty() and args.stream
    while True:
        time.sleep(interval)
        cur = _stats_samples(targets(), strict=False)
        rows = [_stats_row(prev[i], s, host_mem) for i, s in cur.items() if i in prev]
        if clear:
            sys.stdout.write("\033[2J\033[H")
        _print_table(headers, rows)
        if not args.stream or (named and not cur):
            return 0
        prev.update(cur)
        interval = 1.0


# -- parser ------------------------------------------------------------------------------------
def _terminal_columns() -> int:
    """What shutil.get_terminal_size() says: $COLUMNS, else the terminal's, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def _parser_class() -> type[argparse.ArgumentParser]:
    """``argparse.ArgumentParser`` reporting usage errors as podman does: ``Error: ...`` and
    exit 125 (made on first use: argparse is not imported until a parser is built)."""
    import argparse

    class HelpFormatter(argparse.HelpFormatter):
        """argparse's, measuring the terminal without shutil: argparse makes a formatter in
        every add_argument, and importing shutil (bz2, lzma, zlib) costs each command ~2 ms."""

        def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                     width: int | None = None) -> None:
            super().__init__(prog, indent_increment, max_help_position,
                             _terminal_columns() - 2 if width is None else width)

    class ArgumentParser(argparse.ArgumentParser):
        def __init__(self, *args: Any, **kw: Any) -> None:
            kw.setdefault("formatter_class", HelpFormatter)  # subcommands' parsers too
            super().__init__(*args, **kw)

        def error(self, message: str) -> NoReturn:
            _error(message)
            print(f"See '{self.prog} --help'", file=sys.stderr)
            sys.exit(ENGINE_ERROR)

    return ArgumentParser


def _add_create_options(p: argparse.ArgumentParser | _QuickParser | _Unused) -> None:
    if p is _UNUSED:
        return
    from .engine.runtime import NETWORK_MODES

    p.add_argument("-i", "--interactive", action="store_true",
                   help="keep the container's stdin open (not connected to this terminal yet)")
    p.add_argument("-t", "--tty", action="store_true", help="allocate a pseudo-TTY")
    p.add_argument("--rm", action="store_true",
                   help="remove the container when it exits")
    p.add_argument("--name", help="container name (default: a generated one)")
    p.add_argument("-e", "--env", action="append", metavar="K=V",
                   help="set an environment variable; a bare K takes this process's value")
    p.add_argument("-w", "--workdir", metavar="DIR", help="working directory in the container")
    p.add_argument("-u", "--user", help="user[:group] to run as (name or id)")
    p.add_argument("-l", "--label", action="append", metavar="K=V", help="set a label")
    p.add_argument("-m", "--memory", metavar="M", help="memory limit, e.g. 64m or 1g")
    p.add_argument("--pids-limit", type=int, metavar="N", help="maximum number of processes")
    p.add_argument("--cpus", type=float, metavar="F", help="number of CPUs, e.g. 0.5")
    p.add_argument("--network", default="none", choices=NETWORK_MODES,
                   help="network mode (default: none)")
    p.add_argument("--stop-signal", default="SIGTERM", metavar="S",
                   help="signal that stop sends first (default: SIGTERM)")
    p.add_argument("--stop-timeout", type=int, default=10, metavar="N",
                   help="seconds stop waits before SIGKILL (default: 10)")
    p.add_argument("--detach-keys", default="ctrl-p,ctrl-q", metavar="KEYS",
                   help="key sequence that detaches from -i/-t runs (default ctrl-p,ctrl-q)")
    p.add_argument("--restart", default="no", metavar="POLICY",
                   help="restart policy: no, always, on-failure[:N], unless-stopped")
    p.add_argument("--log-opt", action="append", metavar="max-size=SIZE",
                   help="log option: max-size=SIZE (e.g. 10m) makes conmon start a new log "
                        "file when the log would grow past SIZE")
    p.add_argument("--requires", action="append", metavar="CTR[,CTR]",
                   help="containers that must run before this one (started by start/run)")
    # One REMAINDER positional: options end at IMAGE and everything after it is the command,
    # as in podman (``run img sh -c "echo hi"``, ``run img ls -l``).
    p.add_argument("image_and_command", nargs=REMAINDER, metavar=IMAGE_AND_COMMAND,
                   help="image name or id, then the command and its arguments (default: the "
                        "image's command)")


class _Unused:
    """Stands for the parser of a command that was not given: what is added to it is dropped,
    so a run builds (and pays for) only its own command's parser."""

    def add_argument(self, *_args: Any, **_kw: Any) -> None:
        return None

    def set_defaults(self, **_kw: Any) -> None:
        return None

    def add_subparsers(self, **_kw: Any) -> _Unused:
        return self

    def add_parser(self, *_args: Any, **_kw: Any) -> _Unused:
        return self


_UNUSED = _Unused()


class _QuickOption:
    """One add_argument() as the quick parser keeps it."""

    def __init__(self, names: tuple[str, ...], action: str | None, dest: str, default: Any,
                 type_: Callable[[str], Any] | None, choices: Sequence[Any] | None,
                 nargs: str | None, required: bool, version: str | None = None) -> None:
        self.names, self.action, self.dest, self.default = names, action, dest, default
        self.type, self.choices, self.nargs, self.required = type_, choices, nargs, required
        self.version = version

    def value(self, text: str) -> tuple[bool, Any]:
        """(ok, the converted value); not ok where argparse would report an error."""
        try:
            value = text if self.type is None else self.type(text)
        except (TypeError, ValueError):
            return False, None
        return self.choices is None or value in self.choices, value


class _QuickParser:
    """A command's parser for the plain command lines that scripts run most, without argparse:
    importing argparse (with gettext and locale) and building its parser cost a command ~3 ms.

    _build() fills it through the calls it makes on an argparse parser. parse() understands
    exact option words with their values as separate words, before the positionals (after
    them only within a REMAINDER), and ``--version``; for anything else (-h, ``--opt=value``,
    ``-aq``, ``--``, a value starting with ``-``, an unknown option, a wrong count) it returns
    None and argparse parses the command line, so that argparse alone writes usage, help and
    errors. tests/cli/test_quick_parse.py checks it against argparse for every command.
    """

    def __init__(self) -> None:
        self.options: dict[str, _QuickOption] = {}  # by option word
        self.actions: list[_QuickOption] = []       # all, in order
        self.positionals: list[_QuickOption] = []
        self.defaults: dict[str, Any] = {}
        self.sub_dest: str | None = None
        self.commands: dict[str, _QuickParser] = {}  # by name and alias

    # -- what _build() calls (argparse's signatures; help texts and metavars are not kept) -----
    def add_argument(self, *names: str, action: str | None = None, dest: str | None = None,
                     default: Any = None, type: Callable[[str], Any] | None = None,  # noqa: A002
                     choices: Sequence[Any] | None = None, nargs: str | None = None,
                     required: bool = False, version: str | None = None,
                     **_ignored: Any) -> None:
        if names[0].startswith("-"):
            long = [n for n in names if n.startswith("--")]
            dest = dest or (long or names)[0].lstrip("-").replace("-", "_")
        else:
            dest = names[0]
        if action in ("store_true", "store_false") and default is None:
            default = action == "store_false"
        default = self.defaults.get(dest, default)
        opt = _QuickOption(names, action, dest, default, type, choices, nargs, required, version)
        if action != "version":  # which, as help, puts nothing in the namespace
            self.actions.append(opt)
        if names[0].startswith("-"):
            self.options.update(dict.fromkeys(names, opt))
        else:
            self.positionals.append(opt)

    def set_defaults(self, **kw: Any) -> None:
        self.defaults.update(kw)
        for opt in self.actions:
            if opt.dest in kw:
                opt.default = kw[opt.dest]

    def add_subparsers(self, *, dest: str, **_ignored: Any) -> _QuickParser:
        self.sub_dest = dest
        return self

    def add_parser(self, name: str, *, aliases: Sequence[str] = (),
                   **_ignored: Any) -> _QuickParser:
        parser = _QuickParser()
        self.commands.update(dict.fromkeys((name, *aliases), parser))
        return parser

    # -- parsing ------------------------------------------------------------------------------
    def parse(self, argv: Sequence[str]) -> argparse.Namespace | None:
        """The namespace argparse would return for ``argv``, or None (see the class)."""
        values: dict[str, Any] = {}
        if not self._parse(list(argv), values):
            return None
        return SimpleNamespace(**values)  # type: ignore[return-value]

    def _parse(self, words: list[str], ns: dict[str, Any]) -> bool:
        for opt in self.actions:  # argparse's order: each action's default, then the parser's
            ns.setdefault(opt.dest, opt.default)
        for key, value in self.defaults.items():
            ns.setdefault(key, value)
        seen: set[_QuickOption] = set()
        i = 0
        while i < len(words) and words[i].startswith("-"):
            opt = self.options.get(words[i])
            if opt is None:  # -h, --version, --opt=value, -aq, --, -5, an unknown option
                return False
            seen.add(opt)
            if opt.action == "version":  # as argparse's: print it, exit 0, nothing else read
                print(opt.version, flush=True)
                raise SystemExit(0)
            if opt.action in ("store_true", "store_false"):
                ns[opt.dest] = opt.action == "store_true"
                i += 1
                continue
            if opt.action not in (None, "append") or i + 1 >= len(words) or \
                    words[i + 1].startswith("-"):
                return False
            ok, value = opt.value(words[i + 1])
            if not ok:
                return False
            ns[opt.dest] = [*(ns[opt.dest] or []), value] if opt.action == "append" else value
            i += 2
        for opt in self.actions:
            if opt.required and opt not in seen:
                return False
            if opt not in seen and opt.type is not None and isinstance(opt.default, str) \
                    and ns[opt.dest] is opt.default:
                ok, ns[opt.dest] = opt.value(opt.default)  # as argparse: string defaults too
                if not ok:
                    return False
        if self.sub_dest is None:
            return self._assign(words[i:], ns)
        parser = self.commands.get(words[i]) if i < len(words) else None
        if parser is None:
            return False
        ns[self.sub_dest] = words[i]
        values: dict[str, Any] = {}
        if not parser._parse(words[i + 1:], values):
            return False
        ns.update(values)  # as argparse: the command's values win over the parent's
        return True

    def _assign(self, words: list[str], ns: dict[str, Any]) -> bool:
        """Positionals: one word each, the last may take '?', '+', '*' or the REMAINDER."""
        specs = self.positionals
        last = specs[-1] if specs else None
        if any(s.nargs is not None for s in specs[:-1]):
            return False
        variable = last is not None and last.nargs is not None
        fixed = len(specs) - variable
        if len(words) < fixed:
            return False
        if last is not None and last.nargs == REMAINDER:
            if any(w.startswith("-") for w in words[:fixed]):
                return False
            ns[last.dest] = words[fixed:]  # every word, options included, as argparse
            words = words[:fixed]
        elif any(w.startswith("-") for w in words):
            return False
        for spec, word in zip(specs[:fixed], words, strict=False):
            ok, ns[spec.dest] = spec.value(word)
            if not ok:
                return False
        extra = words[fixed:]
        if last is None or not variable or last.nargs == REMAINDER:
            return not extra
        if last.nargs == "?":
            if len(extra) > 1:
                return False
            if extra:
                ok, ns[last.dest] = last.value(extra[0])
            else:
                ok, ns[last.dest] = (last.value(last.default) if isinstance(last.default, str)
                                     else (True, last.default))
            return ok
        if last.nargs not in ("+", "*") or (last.nargs == "+" and not extra):
            return False
        values = []
        for word in extra:
            ok, value = last.value(word)
            if not ok:
                return False
            values.append(value)
        if not values and last.default is not None:
            values = last.default
        ns[last.dest] = values
        return True


def build_parser(only: Sequence[str] | None = None,
                 built: set[str] | None = None) -> argparse.ArgumentParser:
    """The command line's parser; with ``only`` (a command and, for ``image``/``container``,
    its subcommand) the parser of that command alone: the others stay unbuilt. The names of
    the commands built go into ``built``."""
    parser = _parser_class()(
        prog="jupyter-ctr", allow_abbrev=False,
        description="Manage containers on runc and conmon, with podman's commands.")
    return _build(parser, only, built)


def _build(parser: Parser, only: Sequence[str] | None, built: set[str] | None) -> Parser:
    """Add the options and commands (see build_parser) to ``parser``: an argparse parser, or
    a _QuickParser, which takes the same calls."""
    built = set() if built is None else built
    parser.add_argument("--version", action="version", version=f"jupyter-ctr {__version__}")
    parser.add_argument("--root", help="persistent state directory "
                                       "(default: $JUPYTER_CTR_ROOT or /var/lib/jupyter-ctr)")
    parser.add_argument("--runroot", help="volatile state directory "
                                          "(default: $JUPYTER_CTR_RUNROOT or /run/jupyter-ctr)")
    parser.add_argument("--log-level", default="warn", choices=list(LOG_LEVELS),
                        help="engine log level (debug shows every runc/conmon command)")
    sub = parser.add_subparsers(dest="cmd", metavar="COMMAND", required=True)

    def wanted(name: str, aliases: Sequence[str], parent: Any) -> bool:
        if parent is _UNUSED:
            return False
        level = 0 if parent is sub else 1
        if only is None:
            return True
        if len(only) <= level:
            return level > 0  # a group alone (``image --help``): all of its commands
        return only[level] in (name, *aliases)

    def add(name: str, func: Command, help_: str, *, parent: Any = sub,
            aliases: Sequence[str] = (), description: str | None = None,
            usage: str | None = None) -> Any:
        if not wanted(name, aliases, parent):
            return _UNUSED
        built.update((name, *aliases))
        p = parent.add_parser(name, help=help_, aliases=list(aliases), allow_abbrev=False,
                              description=description or help_, usage=usage)
        p.set_defaults(func=func)
        return p

    def group(name: str, help_: str) -> Any:
        if not wanted(name, (), sub):
            return _UNUSED
        built.add(name)
        return sub.add_parser(name, help=help_, allow_abbrev=False)

    # images
    image = group("image", "manage images")
    image_sub = image.add_subparsers(dest="image_cmd", metavar="COMMAND", required=True)
    p = add("import", cmd_image_import, "import a rootfs tarball or OCI layout/archive",
            parent=image_sub)
    p.add_argument("path")
    p.add_argument("reference")

    def image_ls_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("-q", "--quiet", action="store_true", help="print ids only")
        p.add_argument("--no-trunc", action="store_true", help="print full ids")
        p.add_argument("--format", metavar="FORMAT", help=FORMAT_HELP.format(
            fields=".ID .Repository .Tag .Digest .Created .CreatedAt .Size .Names .Labels "
                   ".Containers ..."))

    image_ls_options(add("ls", cmd_image_ls, "list images", parent=image_sub, aliases=["list"]))
    image_ls_options(add("images", cmd_image_ls, "list images (image ls)"))
    for p in (add("rm", cmd_image_rm, "remove images", parent=image_sub),
              add("rmi", cmd_image_rm, "remove images (image rm)")):
        p.add_argument("images", nargs="+", metavar="IMAGE")
    p = add("inspect", cmd_image_inspect, "show images as JSON", parent=image_sub)
    p.add_argument("-f", "--format", metavar="FORMAT", help=INSPECT_FORMAT_HELP)
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p = add("build-demo", cmd_image_build_demo,
            "build the demo image from the host's static busybox (once) and print its id",
            parent=image_sub)
    p.add_argument("reference", nargs="?", default="localhost/busybox:latest")

    # containers
    _add_create_options(add("create", cmd_create, "create a container; prints its id",
                            usage=f"jupyter-ctr create [options] {IMAGE_AND_COMMAND}"))
    p = add("run", cmd_run, "create and start a container",
            usage=f"jupyter-ctr run [options] {IMAGE_AND_COMMAND}",
            description="Create and start a container. In the foreground (without -d) the "
                        "container's stdout and stderr are streamed from its log until it "
                        "exits, and jupyter-ctr exits with its exit code. With -i and/or -t "
                        "this terminal is attached to the container (raw mode with -t, size "
                        "forwarded); the detach keys leave it running. Ctrl-C, SIGTERM or "
                        "SIGHUP stop the container (and remove it with --rm).")
    p.add_argument("-d", "--detach", action="store_true",
                   help="run in the background and print the container id")
    _add_create_options(p)

    p = add("attach", cmd_attach, "attach to a running container's input and output")
    p.add_argument("--detach-keys", default="ctrl-p,ctrl-q", metavar="KEYS",
                   help="key sequence that detaches (default ctrl-p,ctrl-q; '' disables)")
    p.add_argument("--no-stdin", action="store_true", help="do not attach stdin")
    p.add_argument("container", metavar="CONTAINER")

    p = add("exec", cmd_exec, "run a command in a running container",
            usage="jupyter-ctr exec [options] CONTAINER COMMAND [ARG...]")
    p.add_argument("-d", "--detach", action="store_true", help="run in the background")
    p.add_argument("-i", "--interactive", action="store_true", help="keep stdin open")
    p.add_argument("-t", "--tty", action="store_true", help="allocate a terminal")
    p.add_argument("-e", "--env", action="append", metavar="K=V", help="set environment")
    p.add_argument("-u", "--user", metavar="USER[:GROUP]", help="user to run as")
    p.add_argument("-w", "--workdir", metavar="DIR", help="working directory")
    p.add_argument("--detach-keys", default="ctrl-p,ctrl-q", metavar="KEYS",
                   help="key sequence that detaches (default ctrl-p,ctrl-q)")
    p.add_argument("container", metavar="CONTAINER")
    p.add_argument("command", nargs=REMAINDER, metavar="COMMAND")

    # podman's `container checkpoint|restore` (also as plain `checkpoint`/`restore`)
    container = group("container", "container commands (checkpoint, restore)")
    container_sub = container.add_subparsers(dest="container_cmd", metavar="COMMAND",
                                             required=True)
    for parent in (container_sub, sub):
        p = add("checkpoint", cmd_checkpoint, "checkpoint running containers with CRIU",
                parent=parent)
        p.add_argument("-k", "--keep", action="store_true", help="keep CRIU's logs and stats")
        p.add_argument("-R", "--leave-running", action="store_true",
                       help="leave the container running after the checkpoint")
        p.add_argument("--tcp-established", action="store_true",
                       help="checkpoint established TCP connections")
        p.add_argument("-e", "--export", metavar="FILE",
                       help="also write the checkpoint, config and rootfs changes to FILE")
        p.add_argument("--ignore-rootfs", action="store_true",
                       help="leave the root filesystem's changes out of the export")
        p.add_argument("--ignore-volumes", action="store_true", help="accepted; no volumes here")
        p.add_argument("--ignore-image", action="store_true",
                       help="do not put the image into the export")
        p.add_argument("-c", "--compress", default="gzip",
                       choices=("gzip", "none", "bzip2", "xz", "zstd"),
                       help="compression of the export (default gzip)")
        p.add_argument("--print-stats", action="store_true", help="print statistics as JSON")
        p.add_argument("--file-locks", action="store_true", help="checkpoint file locks")
        p.add_argument("-P", "--pre-checkpoint", action="store_true",
                       help="pre-dump (refused: this kernel has no soft-dirty tracking)")
        p.add_argument("--with-previous", action="store_true", help="(refused, as -P)")
        p.add_argument("--create-image", metavar="IMAGE", help="(refused: use --export)")
        p.add_argument("containers", nargs="+", metavar="CONTAINER")

        p = add("restore", cmd_restore, "restore checkpointed containers", parent=parent)
        p.add_argument("-i", "--import", dest="import_", metavar="FILE",
                       help="restore a new container from an exported checkpoint")
        p.add_argument("-n", "--name", help="name of the container restored with --import")
        p.add_argument("-k", "--keep", action="store_true", help="keep CRIU's logs and images")
        p.add_argument("--tcp-established", action="store_true",
                       help="restore established TCP connections")
        p.add_argument("--tcp-close", action="store_true",
                       help="(refused: runc 1.1.5 cannot close TCP connections on restore)")
        p.add_argument("--ignore-rootfs", action="store_true",
                       help="do not apply the root filesystem's changes from the export")
        p.add_argument("--ignore-static-ip", action="store_true", help="accepted; no static IPs")
        p.add_argument("--ignore-static-mac", action="store_true",
                       help="accepted; no static MACs")
        p.add_argument("--ignore-volumes", action="store_true", help="accepted; no volumes here")
        p.add_argument("--print-stats", action="store_true", help="print statistics as JSON")
        p.add_argument("--file-locks", action="store_true", help="restore file locks")
        p.add_argument("--import-previous", metavar="FILE", help="(refused, as pre-dumps)")
        p.add_argument("--pod", help="(refused: no pods)")
        p.add_argument("containers", nargs="*", metavar="CONTAINER")

    p = add("info", cmd_info, "show the runtime, conmon and CRIU (with `criu check`), "
                              "cgroups and the store; exits 125 if something is missing")
    p.add_argument("--format", choices=("text", "json"), default="text")

    p = add("start", cmd_start, "start containers")
    p.add_argument("-a", "--attach", action="store_true",
                   help="stream the container's output until it exits; exit with its code")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")

    p = add("stop", cmd_stop, "stop containers")
    p.add_argument("-t", "--time", type=int, metavar="N",
                   help="seconds to wait before SIGKILL (default: the container's stop timeout)")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")

    p = add("kill", cmd_kill, "send a signal to containers")
    p.add_argument("-s", "--signal", default="SIGKILL", metavar="SIG",
                   help="signal name or number (default: SIGKILL)")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")

    p = add("wait", cmd_wait, "wait for containers to exit; print their exit codes")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")

    p = add("rm", cmd_rm, "remove containers")
    p.add_argument("-f", "--force", action="store_true", help="stop running containers first")
    p.add_argument("-t", "--time", type=int, metavar="N",
                   help="seconds to wait before SIGKILL with -f")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")

    for name, func, text in (("pause", cmd_pause, "pause containers (cgroup freezer)"),
                             ("unpause", cmd_unpause, "unpause containers")):
        add(name, func, text).add_argument("containers", nargs="+", metavar="CONTAINER")

    p = add("restart", cmd_restart, "restart containers")
    p.add_argument("-t", "--time", type=int, metavar="N",
                   help="seconds to wait before SIGKILL (default: the container's stop timeout)")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")

    p = add("mount", cmd_mount, "mount containers' root filesystems and print the paths")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    p = add("umount", cmd_umount, "unmount containers' root filesystems", aliases=["unmount"])
    p.add_argument("-f", "--force", action="store_true", help="drop every mount at once")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")

    p = add("export", cmd_export, "write a container's root filesystem as a tar archive")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.add_argument("container", metavar="CONTAINER")

    p = add("top", cmd_top, "show a container's processes")
    p.add_argument("container", metavar="CONTAINER")

    p = add("ps", cmd_ps, "list containers")
    p.add_argument("-a", "--all", action="store_true", help="include stopped containers")
    p.add_argument("-q", "--quiet", action="store_true", help="print ids only")
    p.add_argument("--no-trunc", action="store_true", help="do not truncate ids and commands")
    p.add_argument("--format", metavar="FORMAT", help=FORMAT_HELP.format(
        fields=".ID .Image .Command .Created .CreatedHuman .Status .State .Names .Labels "
               ".Pid .ExitCode .Exited .StartedAt ..."))

    p = add("logs", cmd_logs, "print a container's output (stderr lines go to stderr)")
    p.add_argument("-f", "--follow", action="store_true", help="keep following while it runs")
    p.add_argument("--tail", type=int, metavar="N", help="only the last N lines")
    p.add_argument("-t", "--timestamps", action="store_true", help="prefix RFC3339 timestamps")
    p.add_argument("--since", metavar="T",
                   help="lines since T (Unix time, RFC3339 time, or duration like 10m)")
    p.add_argument("--until", metavar="T", help="lines until T (same forms as --since)")
    p.add_argument("container", metavar="CONTAINER")

    p = add("inspect", cmd_inspect, "show containers or images as a JSON list")
    p.add_argument("--type", default="all", choices=("container", "image", "all"))
    p.add_argument("-f", "--format", metavar="FORMAT", help=INSPECT_FORMAT_HELP)
    p.add_argument("objects", nargs="+", metavar="NAME")

    p = add("events", cmd_events, "show engine events (follows new ones by default)")
    p.add_argument("--since", metavar="T", help="events since T (Unix, RFC3339 or duration)")
    p.add_argument("--until", metavar="T", help="events until T; following stops there")
    p.add_argument("-f", "--filter", action="append", metavar="K=V",
                   help="container=, event=, type=, image= or label= (repeatable)")
    p.add_argument("--format", metavar="json", help="print one JSON object per event")
    p.add_argument("--stream", dest="stream", action="store_true", default=True,
                   help="follow new events (default)")
    p.add_argument("--no-stream", dest="stream", action="store_false",
                   help="print stored events and exit")

    p = add("stats", cmd_stats, "show CPU, memory and pid usage of running containers")
    p.add_argument("--no-stream", dest="stream", action="store_false",
                   help="print one table and exit")
    p.add_argument("containers", nargs="*", metavar="CONTAINER",
                   help="containers (default: every running one)")

    p = add("service", cmd_service, "serve the libpod/Docker-compatible REST API on a unix "
            "socket (DOCKER_HOST=unix://PATH docker ..., podman --remote --url unix://PATH)")
    p.add_argument("--socket", required=True, metavar="PATH",
                   help="unix socket to listen on (mode 0660: its permissions are the "
                        "authentication)")
    return parser


def _command_path(argv: Sequence[str]) -> tuple[str, ...] | None:
    """The command words of ``argv`` (``("ps",)``, ``("image", "ls")``) after the global
    options; ``()`` for a lone ``--version``; None when the whole parser is needed (help, or
    no command)."""
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        i += 2 if argv[i] in ("--root", "--runroot", "--log-level") else 1
    head = set(argv[:i])
    if head & {"-h", "--help"}:
        return None
    if i >= len(argv):
        return () if "--version" in head else None
    words = [argv[i]]
    if argv[i] in ("image", "container") and i + 1 < len(argv) and \
            not argv[i + 1].startswith("-"):
        words.append(argv[i + 1])
    return tuple(words)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse with the parser of the given command alone: the quick parser when it understands
    the command line, else argparse's; the whole parser when the command is unknown, so that
    argparse lists the choices."""
    only = _command_path(argv)
    built: set[str] = set()
    if only is not None:
        quick = _build(_QuickParser(), only, built)
        args = quick.parse(argv) if not only or only[-1] in built else None
        if args is not None:
            return args
        built.clear()
    parser = build_parser(only, built)
    if only and only[-1] not in built:
        parser = build_parser(only[:1] if only[0] in built else None)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command: ``argv``, or this process's arguments (then it is jupyter-ctr)."""
    if argv is None:
        # What a command loads (the engine: ~60,000 objects) lives until the process exits, a
        # few tens of ms later: the cyclic GC, walking it during the imports and again at exit,
        # costs a short command ~3 ms. So no collection until it is loaded, then it is frozen
        # (gc.freeze(): never examined again); the command itself runs with the GC on.
        gc.disable()
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    finally:
        if argv is None:
            gc.enable()


def _main(argv: list[str]) -> int:
    args = parse_args(argv)
    if LOG_LEVELS[args.log_level] != LOG_LEVELS["warn"]:
        # Unconfigured, logging still prints warnings; the engine logs its commands at debug.
        import logging

        logging.basicConfig(level=LOG_LEVELS[args.log_level], stream=sys.stderr,
                            format="%(levelname)s %(name)s: %(message)s")
    from .engine.runtime import Runtime

    try:
        rt = Runtime(args.root, args.runroot)
    except CtrError as exc:
        _error(str(exc))
        return ENGINE_ERROR
    except OSError as exc:
        _error(f"cannot prepare the engine's state directories: {exc}")
        return ENGINE_ERROR
    if not gc.isenabled():  # main() as the process: see there
        gc.freeze()
        gc.enable()
    try:
        return int(args.func(rt, args))
    except CtrError as exc:
        _error(str(exc))
        return ENGINE_ERROR
    except KeyboardInterrupt:
        return INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``| head``); keep Python from complaining at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    finally:
        rt.close()


if __name__ == "__main__":
    sys.exit(main())
