"""``%ctr`` and ``%%ctr``: podman's verbs in a notebook, on the engine in the kernel's own
process (daemonless, as libpod is), through the one Door, as the CLI does.

The command line is parsed by the CLI's own parser, so every flag works as it does in
``jupyter-ctr`` (and podman); the magics add ``--out VAR``, ``--check`` and ``--shell``.
Errors (a bad verb, flag, image or container) are one ``Error: ...`` line on the cell's
stderr, never a traceback.
"""

from __future__ import annotations

import shlex
import sys

from IPython.core.magic import Magics, line_cell_magic, magics_class
from traitlets import Float, Int, Unicode, observe

from .. import kernel
from ..cli.entry import command
from ..cli.parser import (
    CommandLineError,
    ParserExit,
    command_index,
    command_path,
    parse_args,
)
from ..engine.errors import CtrError, InvalidArgumentError
from ..engine.runtime import Runtime
from ..service.door import Door
from ..service.principal import Principal
from .output import OutputSink
from .results import CtrMagicError
from .verbs import CELL_VERBS, VERBS, Context, do_spec, error_line, note_line, spec_parser

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

#: The verbs ``%ctr`` takes: the CLI's commands, less ``service`` (it serves until killed).
VERB_NAMES = (
    "run", "create", "ps", "start", "stop", "kill", "pause", "unpause", "restart", "rm",
    "wait", "logs", "exec", "attach", "top", "stats", "inspect", "checkpoint", "restore",
    "images", "events", "container", "image", "rmi", "info", "mount", "umount", "unmount",
    "export", "commit", "snapshot", "snapshots", "rewind", "lab",
)
#: The checkpoint timeline's short forms in a notebook: ``%ctr snapshot CTR STEP``,
#: ``%ctr snapshots CTR``, ``%ctr rewind CTR STEP`` stand for the CLI's ``snapshot create``,
#: ``snapshot ls`` and ``snapshot rewind`` (``%ctr snapshot ls|rm|export|import ...`` as
#: in the CLI).
SNAPSHOT_COMMANDS = ("create", "ls", "list", "rewind", "rm", "export", "import", "-h",
                     "--help")
#: Verbs that also take --check (their result has an exit code) and --shell (a cell body).
CHECK_VERBS = ("run", "exec", "start", "attach")
#: Listings whose --format output is the CLI's (a template or JSON, printed).
FORMAT_FUNCS = ("show:cmd_ps", "images:cmd_ls", "show:cmd_inspect")


def magic_options(name: str, parser: Any) -> None:
    """The magics' own options, added to the CLI's parser of each command (``extend``)."""
    parser.add_argument("--out", metavar="VAR",
                        help="(magics) also store the result in the variable VAR")
    if name in CHECK_VERBS:
        parser.add_argument("--check", action="store_true",
                            help="(magics) raise CtrMagicError unless the exit code is 0")
    if name in CELL_VERBS:
        parser.add_argument("--shell", default="sh", metavar="INTERPRETER",
                            help="(%%%%ctr) what runs the cell body, fed on its stdin "
                                 "(default sh; e.g. bash, python3, 'sh -e')")


def timeline_argv(argv: list[str]) -> list[str]:
    """``argv`` with the timeline's short forms (SNAPSHOT_COMMANDS) spelled as the CLI's."""
    path = command_path(argv)
    if not path or path[0] not in ("snapshot", "snapshots", "rewind"):
        return argv
    i = command_index(argv)
    rest = argv[i + 1:]
    if path[0] == "snapshots":
        return [*argv[:i], "snapshot", "ls", *rest]
    if path[0] == "rewind":
        return [*argv[:i], "snapshot", "rewind", *rest]
    if rest[:1] and rest[0] in SNAPSHOT_COMMANDS:
        return argv
    return [*argv[:i], "snapshot", "create", *rest]


@magics_class
class CtrMagics(Magics):
    """``%ctr VERB [OPTIONS] ...`` and ``%%ctr run|exec ...`` (see docs/magics.md)."""

    root = Unicode(None, allow_none=True,
                   help="Persistent engine state (default: $JUPYTER_CTR_ROOT or "
                        "/var/lib/jupyter-ctr), as the CLI's --root. Set, it makes an engine "
                        "on these roots the kernel's (jupyter_ctr.kernel.use: the widgets "
                        "follow).").tag(config=True)
    run_root = Unicode(None, allow_none=True,
                       help="Volatile engine state (default: $JUPYTER_CTR_RUNROOT or "
                            "/run/jupyter-ctr), as the CLI's --runroot; see root.").tag(
                                config=True)
    output_limit = Int(5000, help="Lines of a container's output shown in a cell before "
                                  "the middle is elided (the tail stays visible).").tag(
                                      config=True)
    output_limit_bytes = Int(2 << 20, help="Bytes shown before eliding, for output with "
                                           "few newlines.").tag(config=True)
    tail_lines = Int(40, help="Lines of the tail kept visible once output is elided.").tag(
        config=True)
    flush_interval = Float(0.1, help="Seconds between writes of a container's output into "
                                     "the cell (output is coalesced meanwhile).").tag(
                                         config=True)
    capture_limit = Int(1 << 20, help="Bytes of each stream a result object keeps (its "
                                      "first and last halves).").tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self._roots_applied = False

    # -- the engine ------------------------------------------------------------------------
    @observe("root", "run_root")
    def _roots_changed(self, _change: Any) -> None:
        self._roots_applied = False

    @property
    def door(self) -> Door:
        """The kernel's Door (jupyter_ctr.kernel: one Runtime per kernel, opened on first
        use, shared with the widgets); with ``root``/``run_root`` set, one on those roots."""
        if (self.root or self.run_root) and not self._roots_applied:
            kernel.use(Runtime(self.root or None, self.run_root or None))
            self._roots_applied = True
        return kernel.door()

    @property
    def in_kernel(self) -> bool:
        """Whether output goes to a Jupyter front end (displays update in place)."""
        return getattr(self.shell, "kernel", None) is not None

    def make_sink(self, hint: str) -> OutputSink:
        return OutputSink(limit_lines=self.output_limit, limit_bytes=self.output_limit_bytes,
                          tail_lines=self.tail_lines, interval=self.flush_interval,
                          capture_limit=self.capture_limit, hint=hint,
                          live_tail=self.in_kernel)

    # -- the magic ---------------------------------------------------------------------------
    @line_cell_magic
    def ctr(self, line: str, cell: str | None = None) -> Any:
        """Run a container command, podman's verbs and flags:

          %ctr run [-d] [--rm] [--name N] [-e K=V] [-i] [-t] [--memory M] [--cpus F] IMAGE [CMD...]
          %ctr ps [-a] | images | stats [CTR...] | top CTR | inspect NAME | events [--since T]
          %ctr start|stop|kill|pause|unpause|restart|rm|wait CTR...
          %ctr logs [-f] [--tail N] [--since T] CTR | attach CTR | exec CTR CMD...
          %ctr checkpoint [--export FILE] [--leave-running] ... CTR | restore [--import FILE]
          %ctr snapshot [--replace] CTR STEP | snapshots CTR | rewind CTR STEP (the timeline)
          %ctr lab ls | lab start|stop|rm LAB | lab reset LAB --step STEP   (a whole lab)

          %%ctr run [OPTIONS] IMAGE    the cell body runs in a new container (--shell, sh)
          %%ctr exec [OPTIONS] CTR     the cell body runs in a running container
          %%ctr spec NAME [--yaml] [--dry-run] [--replace]
                                       the cell body is NAME's spec (TOML or YAML): create,
                                       leave unchanged or recreate it; %ctr spec NAME shows it

        Output streams into the cell as it is produced; listings return tables (iterate them
        for the rows), runs a RunResult (exit code, duration, output). ``--out VAR`` stores
        the result, ``--check`` raises CtrMagicError on a non-zero exit. ``%ctr VERB --help``
        shows a verb's options.
        """
        try:
            return self.execute(line, cell)
        except CtrMagicError:
            raise
        except CommandLineError as exc:
            error_line(exc.message)
        except (ParserExit, SystemExit):
            pass  # --help or --version: printed
        except CtrError as exc:
            error_line(str(exc))
        except OSError as exc:
            error_line(str(exc))
        except KeyboardInterrupt:
            # Outside the streaming verbs (which say what they left running): a stats
            # sample, a wait. One line, as they do, so "Run All" goes on.
            note_line("[interrupted]")
        return None

    def execute(self, line: str, cell: str | None) -> Any:
        """Parse and run one magic line (with a cell body or not); errors raise."""
        try:
            argv = shlex.split(line)
        except ValueError as exc:
            raise InvalidArgumentError(f"cannot split the command line: {exc}") from None
        argv = timeline_argv(argv)
        if argv[:1] == ["spec"]:  # the magics' own verb: no CLI command
            return self._spec(argv[1:], cell)
        path = command_path(argv)
        verb = path[0] if path else None
        if path is None and not {"-h", "--help", "--version"} & set(argv):
            raise InvalidArgumentError(f"a verb is needed: one of {', '.join(VERB_NAMES)}")
        if verb is not None and verb not in VERB_NAMES:
            raise InvalidArgumentError(f"unknown verb {verb!r}: use one of "
                                       f"{', '.join(VERB_NAMES)}")
        if cell is not None and verb not in CELL_VERBS:
            raise InvalidArgumentError(f"%%ctr takes {' or '.join(CELL_VERBS)} (the cell body "
                                       "is their script); other verbs go with %ctr")
        args = parse_args(argv, raising=True, extend=magic_options)
        fmt = getattr(args, "format", None)
        if isinstance(fmt, str) and "{" in fmt and "{{" not in fmt:
            # IPython's expansion of the line turned a Go template's {{ }} into { } (as it
            # does in every magic): put them back, so templates are written as in the CLI.
            args.format = fmt.replace("{", "{{").replace("}", "}}")
        if cell is not None:
            self._cell_options(args)
        shell = shlex.split(getattr(args, "shell", None) or "sh")
        if not shell:
            raise InvalidArgumentError("--shell needs an interpreter, e.g. sh or python3")
        out = getattr(args, "out", None)
        if out is not None and not out.isidentifier():
            raise InvalidArgumentError(f"--out needs a variable name, not {out!r}")
        if args.root or args.runroot:  # the CLI's global options: another engine, this once
            door = Door(Runtime(args.root or self.root or None,
                                args.runroot or self.run_root or None), Principal.of_process())
            try:
                result = self._dispatch(Context(door, cell, shell, self.make_sink), args)
            finally:
                door.runtime.close()
        else:
            result = self._dispatch(Context(self.door, cell, shell, self.make_sink), args)
        if out is not None and self.shell is not None:
            self.shell.user_ns[out] = result
        if getattr(args, "check", False) and hasattr(result, "check"):
            result.check()
        return result

    def _spec(self, argv: list[str], cell: str | None) -> Any:
        """``%%ctr spec NAME [--yaml] [--dry-run] [--replace]`` (verbs.do_spec)."""
        args = spec_parser().parse_args(argv)
        if args.out is not None and not args.out.isidentifier():
            raise InvalidArgumentError(f"--out needs a variable name, not {args.out!r}")
        result = do_spec(Context(self.door, cell, ["sh"], self.make_sink), args)
        if args.out is not None and self.shell is not None:
            self.shell.user_ns[args.out] = result
        return result

    def _dispatch(self, ctx: Context, args: argparse.Namespace) -> Any:
        verb = VERBS.get(args.func)
        if verb is not None and not (args.func in FORMAT_FUNCS and args.format):
            return verb(ctx, args)
        # The CLI's command as in a terminal: what it prints goes into the cell.
        if args.func == "containers:cmd_export" and not args.output:
            raise InvalidArgumentError("export in a notebook needs -o FILE")
        command(args.func)(ctx.door, args)
        sys.stdout.flush()
        return None

    @staticmethod
    def _cell_options(args: argparse.Namespace) -> None:
        """In ``%%ctr run IMAGE ...`` / ``%%ctr exec CTR ...`` the words after IMAGE or CTR
        can only be the magics' options (the cell body is the command)."""
        if args.func == "attach:cmd_run":
            rest = list(args.image_and_command)
            if rest[:1] == ["--"]:
                rest = rest[1:]
            if not rest:
                raise InvalidArgumentError("run requires at least an IMAGE argument")
            args.image_and_command, words, what = rest[:1], rest[1:], "IMAGE"
        else:
            words, args.command, what = list(args.command), [], "CONTAINER"
        i = 0
        while i < len(words):
            word = words[i]
            name, eq, value = word.partition("=")
            if word == "--check":
                args.check = True
            elif name in ("--out", "--shell"):
                if not eq:
                    i += 1
                    if i >= len(words):
                        raise InvalidArgumentError(f"{name} needs a value")
                    value = words[i]
                setattr(args, name[2:], value)
            else:
                raise InvalidArgumentError(
                    f"unexpected {word!r} after {what}: the cell body is the command (other "
                    "options go before it; after it only --check, --out VAR, --shell SH)")
            i += 1
