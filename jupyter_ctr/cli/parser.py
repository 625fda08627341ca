"""The command line's grammar: every command with podman's names and options, built as an
argparse parser or as a QuickParser (same calls), and only for the command given. The
QuickParser parses plain command lines without argparse; argparse parses, and reports, the rest.

A command's ``func`` is ``"module:function"`` in ``jupyter_ctr.cli.commands``: the entry
point imports that one module when the command runs, so parsing imports no command.
"""

from __future__ import annotations

import os
import sys
from types import SimpleNamespace

from .. import __version__
from .exits import ENGINE_ERROR, print_error

# typing and argparse are not needed to import this module: a plain command line is parsed
# by the QuickParser, and argparse is imported only when a parser of its is built.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence
    from typing import Any, NoReturn, TypeVar

    Parser = TypeVar("Parser", argparse.ArgumentParser, "QuickParser")
    #: Called with each command's name and parser as it is built (see add_commands).
    Extend = Callable[[str, Any], None]

LOG_LEVELS = {"debug": 10, "info": 20, "warn": 30, "warning": 30, "error": 40, "fatal": 50,
              "panic": 50}  # logging's DEBUG..CRITICAL

IMAGE_AND_COMMAND = "IMAGE [COMMAND [ARG...]]"
#: argparse.REMAINDER's value (spelled out: the quick parser works without argparse).
REMAINDER = "..."
FORMAT_HELP = ("json, or a Go template of the fields {fields} (e.g. '{{{{.Names}}}} "
               "{{{{.Status}}}}'); 'table TEMPLATE' adds a header row")
INSPECT_FORMAT_HELP = ("json (default), or a Go template of the JSON's paths, e.g. "
                       "'{{.State.Status}}', '{{json .Config}}', '{{index .Config.Labels \"k\"}}'")


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


class CommandLineError(Exception):
    """A command line the parser rejected, raised (instead of printing and exiting) by the
    parsers ``parse_args(..., raising=True)`` builds: the notebook magics' parsers."""

    def __init__(self, message: str, prog: str) -> None:
        super().__init__(message)
        self.message = message
        self.prog = prog


class ParserExit(Exception):  # noqa: N818 - argparse's word: the parser wants to exit
    """``--help`` (or another action that ends parsing) was given to a raising parser: what
    it prints is printed; ``status`` is the exit status the CLI would have."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def _parser_class(raising: bool = False) -> type[argparse.ArgumentParser]:
    """``argparse.ArgumentParser`` reporting usage errors as podman does: ``Error: ...`` and
    exit 125 (made on first use: argparse is not imported until a parser is built); with
    ``raising``, errors raise CommandLineError and help raises ParserExit instead."""
    import argparse  # noqa: PLC0415 - lazy: plain command lines need no argparse

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
            if raising:
                raise CommandLineError(message, self.prog)
            print_error(message)
            print(f"See '{self.prog} --help'", file=sys.stderr)
            sys.exit(ENGINE_ERROR)

        def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
            if not raising:
                super().exit(status, message)
            if message:
                self._print_message(message, sys.stderr)
            raise ParserExit(status)

    return ArgumentParser


def _add_create_options(p: argparse.ArgumentParser | QuickParser | _Unused) -> None:
    if p is _UNUSED:
        return
    # The engine's runtime module, which create and run load anyway; other commands' parsers,
    # --version and help do not.
    from ..engine.records import NETWORK_MODES  # noqa: PLC0415 - lazy: only create and run

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
    p.add_argument("--lab", metavar="NAME",
                   help="put the container in a lab (label jupyter-ctr.lab=NAME)")
    p.add_argument("-m", "--memory", metavar="M", help="memory limit, e.g. 64m or 1g")
    p.add_argument("--pids-limit", type=int, metavar="N", help="maximum number of processes")
    p.add_argument("--cpus", type=float, metavar="F", help="number of CPUs, e.g. 0.5")
    p.add_argument("--network", default="none", choices=NETWORK_MODES,
                   help="network mode (default: none)")
    p.add_argument("--stop-signal", default=None, metavar="S",
                   help="signal that stop sends first (default: the image's StopSignal, "
                        "else SIGTERM)")
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
    p.add_argument("--pull", default="missing", choices=("always", "missing", "never",
                                                          "newer"),
                   help="pull an image named by a registry (host/...): missing (default: when "
                        "it is not here), always/newer (first), never")
    _add_registry_options(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no pull progress on stderr")
    # One REMAINDER positional: options end at IMAGE and everything after it is the command,
    # as in podman (``run img sh -c "echo hi"``, ``run img ls -l``).
    p.add_argument("image_and_command", nargs=REMAINDER, metavar=IMAGE_AND_COMMAND,
                   help="image name or id, then the command and its arguments (default: the "
                        "image's command)")


def _add_registry_options(p: Any) -> None:
    """--tls-verify[=false] and --authfile (pull, push, and create/run's pulls)."""
    p.add_argument("--tls-verify", dest="tls_verify", action="store_true", default=True,
                   help="require HTTPS and verify certificates (default; "
                        "--tls-verify=false allows plain http)")
    p.add_argument("--tls-verify=false", "--tls-verify=False", "--tls-verify=0",
                   dest="tls_verify", action="store_false", default=True,
                   help=_suppressed())
    p.add_argument("--tls-verify=true", "--tls-verify=True", "--tls-verify=1",
                   dest="tls_verify", action="store_true", default=True,
                   help=_suppressed())
    p.add_argument("--authfile", metavar="FILE",
                   help="registry credentials (default: $REGISTRY_AUTH_FILE, then "
                        "podman's and docker's usual auth files)")


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


class QuickOption:
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


class QuickParser:
    """A command's parser for the plain command lines that scripts run most, without argparse:
    importing argparse (with gettext and locale) and building its parser cost a command ~3 ms.

    add_commands() fills it through the calls it makes on an argparse parser. parse()
    understands exact option words with their values as separate words, before the
    positionals (after them only within a REMAINDER), and ``--version``; for anything else
    (-h, ``--opt=value``, ``-aq``, ``--``, a value starting with ``-``, an unknown option, a
    wrong count) it returns None and argparse parses the command line, so that argparse alone
    writes usage, help and errors. tests/cli/test_parser.py checks it against argparse for
    every command.
    """

    def __init__(self) -> None:
        self.options: dict[str, QuickOption] = {}  # by option word
        self.actions: list[QuickOption] = []       # all, in order
        self.positionals: list[QuickOption] = []
        self.defaults: dict[str, Any] = {}
        self.sub_dest: str | None = None
        self.commands: dict[str, QuickParser] = {}  # by name and alias

    # -- what add_commands() calls (argparse's signatures; help texts and metavars are not kept)
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
        opt = QuickOption(names, action, dest, default, type, choices, nargs, required, version)
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

    def add_subparsers(self, *, dest: str, **_ignored: Any) -> QuickParser:
        self.sub_dest = dest
        return self

    def add_parser(self, name: str, *, aliases: Sequence[str] = (),
                   **_ignored: Any) -> QuickParser:
        parser = QuickParser()
        self.commands.update(dict.fromkeys((name, *aliases), parser))
        return parser

    # -- parsing ------------------------------------------------------------------------------
    def parse(self, argv: Sequence[str]) -> argparse.Namespace | None:
        """The namespace argparse would return for ``argv``, or None (see the class)."""
        values: dict[str, Any] = {}
        if not self.fill(list(argv), values):
            return None
        return SimpleNamespace(**values)  # type: ignore[return-value]

    def fill(self, words: list[str], ns: dict[str, Any]) -> bool:
        """Put what ``words`` say into ``ns``, as argparse would; False where it is left to
        argparse (see the class)."""
        for action in self.actions:  # argparse's order: each action's default, then the parser's
            ns.setdefault(action.dest, action.default)
        for key, value in self.defaults.items():
            ns.setdefault(key, value)
        seen: set[QuickOption] = set()
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
        if not parser.fill(words[i + 1:], values):
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


def _suppressed() -> Any:
    """argparse's SUPPRESS (help hidden) once a parser of argparse's is being built; the
    quick parser keeps no help."""
    argparse = sys.modules.get("argparse")
    return None if argparse is None else argparse.SUPPRESS


def build_parser(only: Sequence[str] | None = None,
                 built: set[str] | None = None, *, raising: bool = False,
                 extend: Extend | None = None) -> argparse.ArgumentParser:
    """The command line's parser; with ``only`` (a command and, for ``image``/``container``,
    its subcommand) the parser of that command alone: the others stay unbuilt. The names of
    the commands built go into ``built``. ``raising``: see _parser_class; ``extend``: see
    add_commands."""
    parser = _parser_class(raising)(
        prog="jupyter-ctr", allow_abbrev=False,
        description="Manage containers on runc and conmon, with podman's commands.")
    return add_commands(parser, only, built, extend)


def add_commands(parser: Parser, only: Sequence[str] | None,
                 built: set[str] | None, extend: Extend | None = None) -> Parser:
    """Add the options and commands (see build_parser) to ``parser``: an argparse parser, or
    a QuickParser, which takes the same calls. ``extend(name, command_parser)``, if given,
    adds options of its own to each command built (the notebook magics' --out, --check)."""
    built = set() if built is None else built
    parser.add_argument("--version", action="version", version=f"jupyter-ctr {__version__}")
    parser.add_argument("--root", help="persistent state directory "
                                       "(default: $JUPYTER_CTR_ROOT or /var/lib/jupyter-ctr)")
    parser.add_argument("--runroot", help="volatile state directory "
                                          "(default: $JUPYTER_CTR_RUNROOT or /run/jupyter-ctr)")
    parser.add_argument("--log-level", default="warn", choices=list(LOG_LEVELS),
                        help="engine log level (debug shows every runc/conmon command)")
    parser.add_argument("--remote", action="store_true",
                        help="use the engine through `jupyter-ctr service` (at --url, "
                             "$JUPYTER_CTR_HOST or /run/jupyter-ctr/service.sock)")
    parser.add_argument("--url", metavar="unix:///PATH",
                        help="the service's socket (implies --remote)")
    sub: Any = parser.add_subparsers(dest="cmd", metavar="COMMAND", required=True)

    def wanted(name: str, aliases: Sequence[str], parent: Any) -> bool:
        if parent is _UNUSED:
            return False
        level = 0 if parent is sub else 1
        if only is None:
            return True
        if len(only) <= level:
            return level > 0  # a group alone (``image --help``): all of its commands
        return only[level] in (name, *aliases)

    def add(name: str, func: str, help_: str, *, parent: Any = sub,
            aliases: Sequence[str] = (), description: str | None = None,
            usage: str | None = None) -> Any:
        if not wanted(name, aliases, parent):
            return _UNUSED
        built.update((name, *aliases))
        p = parent.add_parser(name, help=help_, aliases=list(aliases), allow_abbrev=False,
                              description=description or help_, usage=usage)
        p.set_defaults(func=func)
        if extend is not None:
            extend(name, p)
        return p

    def group(name: str, help_: str) -> Any:
        if not wanted(name, (), sub):
            return _UNUSED
        built.add(name)
        return sub.add_parser(name, help=help_, allow_abbrev=False)

    # images
    image = group("image", "manage images")
    image_sub = image.add_subparsers(dest="image_cmd", metavar="COMMAND", required=True)
    p = add("import", "images:cmd_import", "import a rootfs tarball or OCI layout/archive",
            parent=image_sub)
    p.add_argument("path")
    p.add_argument("reference")

    def image_ls_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("-q", "--quiet", action="store_true", help="print ids only")
        p.add_argument("--no-trunc", action="store_true", help="print full ids")
        p.add_argument("--format", metavar="FORMAT", help=FORMAT_HELP.format(
            fields=".ID .Repository .Tag .Digest .Created .CreatedAt .Size .Names .Labels "
                   ".Containers ..."))

    image_ls_options(add("ls", "images:cmd_ls", "list images", parent=image_sub, aliases=["list"]))
    image_ls_options(add("images", "images:cmd_ls", "list images (image ls)"))
    for p in (add("rm", "images:cmd_rm", "remove images", parent=image_sub),
              add("rmi", "images:cmd_rm", "remove images (image rm)")):
        p.add_argument("-f", "--force", action="store_true",
                       help="remove an image by ID even if it has several names (containers "
                            "using it are not removed: remove them first)")
        p.add_argument("images", nargs="+", metavar="IMAGE")
    p = add("inspect", "images:cmd_inspect", "show images as JSON", parent=image_sub)
    p.add_argument("-f", "--format", metavar="FORMAT", help=INSPECT_FORMAT_HELP)
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p = add("build-demo", "images:cmd_build_demo",
            "build the demo image from the host's static busybox (once) and print its id",
            parent=image_sub)
    p.add_argument("reference", nargs="?", default="localhost/busybox:latest")
    p = add("build-debian", "images:cmd_build_debian",
            "build a Debian 12 image with mmdebstrap (python3 and pip by default; the rootfs "
            "is cached) and print its id", parent=image_sub)
    p.add_argument("--packages", action="append", metavar="PKG[,PKG]",
                   help="Debian packages to install (repeatable; default python3, "
                        "python3-pip, python3-venv, iputils-ping)")
    p.add_argument("--name", default="localhost/python:3", help="the image's name")
    p.add_argument("--rebuild", action="store_true",
                   help="build the rootfs again even when it is cached")
    p = add("history", "images:cmd_history", "show an image's history", parent=image_sub)
    p.add_argument("--no-trunc", action="store_true", help="do not truncate ids and commands")
    p.add_argument("-q", "--quiet", action="store_true", help="print ids only")
    p.add_argument("--format", metavar="FORMAT", help=FORMAT_HELP.format(
        fields=".ID .Created .CreatedAt .CreatedBy .Size .Comment .Tags"))
    p.add_argument("image", metavar="IMAGE")
    p = add("prune", "images:cmd_prune",
            "remove dangling images (-a: every image no container uses)", parent=image_sub)
    p.add_argument("-a", "--all", action="store_true",
                   help="remove every image no container uses, not only dangling ones")
    p.add_argument("-f", "--force", action="store_true", help="do not ask for confirmation")

    # pull, push, load, save: top-level and under ``image``, as podman has them
    for parent, prefix in ((sub, ""), (image_sub, "image ")):
        p = add("pull", "images:cmd_pull", f"{prefix}pull an image from a registry; prints "
                "its id", parent=parent)
        _add_registry_options(p)
        p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
        p.add_argument("reference", metavar="IMAGE")
        p = add("push", "images:cmd_push", f"{prefix}push an image to a registry",
                parent=parent)
        _add_registry_options(p)
        p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
        p.add_argument("--digestfile", metavar="FILE",
                       help="write the pushed manifest's digest to FILE")
        p.add_argument("source", metavar="IMAGE")
        p.add_argument("destination", nargs="?", metavar="DESTINATION",
                       help="the registry image to push to (default: the image's name)")
        p = add("load", "images:cmd_load", f"{prefix}load images from a docker-archive or "
                "oci-archive (-i FILE, or stdin)", parent=parent)
        p.add_argument("-i", "--input", metavar="FILE", help="the archive (default: stdin)")
        p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
        p = add("save", "images:cmd_save", f"{prefix}save images to an archive (-o FILE, or "
                "stdout when it is not a terminal)", parent=parent)
        p.add_argument("-o", "--output", metavar="FILE",
                       help="the archive (a directory for oci-dir)")
        p.add_argument("--format", default="docker-archive",
                       choices=("docker-archive", "oci-archive", "oci-dir"),
                       help="the archive's format (default docker-archive)")
        p.add_argument("--compress", action="store_true",
                       help="gzip the layers (oci-archive and oci-dir)")
        p.add_argument("-m", "--multi-image-archive", dest="multi_image_archive",
                       action="store_true",
                       help="allow several images in a docker-archive")
        p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
        p.add_argument("images", nargs="+", metavar="IMAGE")

    # containers
    _add_create_options(add("create", "containers:cmd_create", "create a container; prints its id",
                            usage=f"jupyter-ctr create [options] {IMAGE_AND_COMMAND}"))
    p = add("run", "attach:cmd_run", "create and start a container",
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

    p = add("attach", "attach:cmd_attach", "attach to a running container's input and output")
    p.add_argument("--detach-keys", default="ctrl-p,ctrl-q", metavar="KEYS",
                   help="key sequence that detaches (default ctrl-p,ctrl-q; '' disables)")
    p.add_argument("--no-stdin", action="store_true", help="do not attach stdin")
    p.add_argument("container", metavar="CONTAINER")

    p = add("exec", "attach:cmd_exec", "run a command in a running container",
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
        p = add("checkpoint", "checkpoint:cmd_checkpoint",
                "checkpoint running containers with CRIU", parent=parent)
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

        p = add("restore", "checkpoint:cmd_restore", "restore checkpointed containers",
                parent=parent)
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

    # the checkpoint timeline (ours): `snapshot create|ls|rewind|rm|export|import`
    snapshot = group("snapshot", "a container's checkpoint timeline: named snapshots, rewind")
    snapshot_sub = snapshot.add_subparsers(dest="snapshot_cmd", metavar="COMMAND",
                                           required=True)
    p = add("create", "timeline:cmd_create", "snapshot a container as STEP (CRIU keeps it "
            "running; files only where CRIU cannot)", parent=snapshot_sub)
    p.add_argument("--replace", action="store_true", help="replace a snapshot of that name")
    p.add_argument("container", metavar="CONTAINER")
    p.add_argument("step", metavar="STEP")
    p = add("ls", "timeline:cmd_ls", "list a container's snapshots", parent=snapshot_sub,
            aliases=["list"])
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("container", metavar="CONTAINER")
    p = add("rewind", "timeline:cmd_rewind", "rewind a container to STEP, in place",
            parent=snapshot_sub)
    p.add_argument("container", metavar="CONTAINER")
    p.add_argument("step", metavar="STEP")
    p = add("rm", "timeline:cmd_rm", "remove snapshots", parent=snapshot_sub)
    p.add_argument("container", metavar="CONTAINER")
    p.add_argument("steps", nargs="+", metavar="STEP")
    p = add("export", "timeline:cmd_export", "write a snapshot as an archive (hand-in)",
            parent=snapshot_sub)
    p.add_argument("-o", "--output", metavar="FILE", help="the archive (needed)")
    p.add_argument("container", metavar="CONTAINER")
    p.add_argument("step", metavar="STEP")
    p = add("import", "timeline:cmd_import", "a new container from an exported snapshot",
            parent=snapshot_sub)
    p.add_argument("-n", "--name", help="the new container's name (default: the archived)")
    p.add_argument("file", metavar="FILE")

    # podman's `commit` (also `container commit`)
    for parent in (container_sub, sub):
        p = add("commit", "images:cmd_commit",
                "create an image from a container's changes and print its id", parent=parent)
        p.add_argument("-a", "--author", default="", help="the image's author")
        p.add_argument("-c", "--change", action="append", metavar="INSTRUCTION",
                       help="apply a Dockerfile instruction to the image config: CMD, "
                            "ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, "
                            "VOLUME, WORKDIR (repeatable)")
        p.add_argument("-f", "--format", default="oci", choices=("oci", "docker"),
                       help="the image format (accepted; images are kept as OCI)")
        p.add_argument("--iidfile", metavar="FILE", help="also write the image id to FILE")
        p.add_argument("-m", "--message", default="", help="the commit message")
        # podman's bool flag: -p, --pause, --pause=true, or --pause=false (the exact words
        # are option strings of their own: argparse and the quick parser match them whole)
        p.add_argument("-p", "--pause", "--pause=true", action="store_true", default=True,
                       help="pause a running container while committing (the default)")
        p.add_argument("--pause=false", dest="pause", action="store_false",
                       help="commit without pausing the container")
        p.add_argument("-q", "--quiet", action="store_true", help="print the id only")
        p.add_argument("container", metavar="CONTAINER")
        p.add_argument("image", nargs="?", metavar="IMAGE",
                       help="the new image's name (none: an untagged image)")

    # podman's `tag` and `untag` (also `image tag`, `image untag`)
    for parent in (image_sub, sub):
        p = add("tag", "images:cmd_tag", "add names to an image", parent=parent)
        p.add_argument("image", metavar="IMAGE")
        p.add_argument("targets", nargs="+", metavar="TARGET", help="the new names")
        p = add("untag", "images:cmd_untag",
                "remove names from an image (none given: all its names)", parent=parent)
        p.add_argument("image", metavar="IMAGE")
        p.add_argument("names", nargs="*", metavar="NAME", help="the names to remove")

    p = add("info", "system:cmd_info", "show the runtime, conmon and CRIU (with `criu check`), "
                              "cgroups and the store; exits 125 if something is missing")
    p.add_argument("--format", choices=("text", "json"), default="text")

    p = add("start", "containers:cmd_start", "start containers")
    p.add_argument("-a", "--attach", action="store_true",
                   help="stream the container's output until it exits; exit with its code")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")

    p = add("stop", "containers:cmd_stop", "stop containers")
    p.add_argument("-t", "--time", type=int, metavar="N",
                   help="seconds to wait before SIGKILL (default: the container's stop timeout)")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")

    p = add("kill", "containers:cmd_kill", "send a signal to containers")
    p.add_argument("-s", "--signal", default="SIGKILL", metavar="SIG",
                   help="signal name or number (default: SIGKILL)")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")

    p = add("wait", "containers:cmd_wait", "wait for containers to exit; print their exit codes")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")

    p = add("rm", "containers:cmd_rm", "remove containers")
    p.add_argument("-f", "--force", action="store_true", help="stop running containers first")
    p.add_argument("-t", "--time", type=int, metavar="N",
                   help="seconds to wait before SIGKILL with -f")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")

    for name, func, text in (("pause", "containers:cmd_pause", "pause containers (cgroup freezer)"),
                             ("unpause", "containers:cmd_unpause", "unpause containers")):
        add(name, func, text).add_argument("containers", nargs="+", metavar="CONTAINER")

    p = add("restart", "containers:cmd_restart", "restart containers")
    p.add_argument("-t", "--time", type=int, metavar="N",
                   help="seconds to wait before SIGKILL (default: the container's stop timeout)")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")

    p = add("mount", "containers:cmd_mount",
            "mount containers' root filesystems and print the paths")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    p = add("umount", "containers:cmd_umount", "unmount containers' root filesystems",
            aliases=["unmount"])
    p.add_argument("-f", "--force", action="store_true", help="drop every mount at once")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")

    p = add("export", "containers:cmd_export",
            "write a container's root filesystem as a tar archive")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.add_argument("container", metavar="CONTAINER")

    p = add("top", "show:cmd_top", "show a container's processes")
    p.add_argument("container", metavar="CONTAINER")

    p = add("ps", "show:cmd_ps", "list containers")
    p.add_argument("-a", "--all", action="store_true", help="include stopped containers")
    p.add_argument("-q", "--quiet", action="store_true", help="print ids only")
    p.add_argument("--no-trunc", action="store_true", help="do not truncate ids and commands")
    p.add_argument("-f", "--filter", action="append", metavar="K=V",
                   help="id=, name=, status=, label=, exited=, ancestor= or owner= "
                        "(repeatable)")
    p.add_argument("--format", metavar="FORMAT", help=FORMAT_HELP.format(
        fields=".ID .Image .Command .Created .CreatedHuman .Status .State .Names .Labels "
               ".Pid .ExitCode .Exited .StartedAt ..."))

    p = add("logs", "show:cmd_logs", "print a container's output (stderr lines go to stderr)")
    p.add_argument("-f", "--follow", action="store_true", help="keep following while it runs")
    p.add_argument("--tail", type=int, metavar="N", help="only the last N lines")
    p.add_argument("-t", "--timestamps", action="store_true", help="prefix RFC3339 timestamps")
    p.add_argument("--since", metavar="T",
                   help="lines since T (Unix time, RFC3339 time, or duration like 10m)")
    p.add_argument("--until", metavar="T", help="lines until T (same forms as --since)")
    p.add_argument("container", metavar="CONTAINER")

    p = add("inspect", "show:cmd_inspect", "show containers or images as a JSON list")
    p.add_argument("--type", default="all", choices=("container", "image", "all"))
    p.add_argument("-f", "--format", metavar="FORMAT", help=INSPECT_FORMAT_HELP)
    p.add_argument("objects", nargs="+", metavar="NAME")

    p = add("events", "system:cmd_events", "show engine events (follows new ones by default)")
    p.add_argument("--since", metavar="T", help="events since T (Unix, RFC3339 or duration)")
    p.add_argument("--until", metavar="T", help="events until T; following stops there")
    p.add_argument("-f", "--filter", action="append", metavar="K=V",
                   help="container=, event=, type=, image=, label= or user= (repeatable)")
    p.add_argument("--format", metavar="json", help="print one JSON object per event")
    p.add_argument("--stream", dest="stream", action="store_true", default=True,
                   help="follow new events (default)")
    p.add_argument("--no-stream", dest="stream", action="store_false",
                   help="print stored events and exit")

    p = add("stats", "stats:cmd_stats", "show CPU, memory and pid usage of running containers")
    p.add_argument("--no-stream", dest="stream", action="store_false",
                   help="print one table and exit")
    p.add_argument("containers", nargs="*", metavar="CONTAINER",
                   help="containers (default: every running one)")

    # labs (ours): every container labelled jupyter-ctr.lab=LAB at once
    lab = group("lab", "bulk actions on a lab's containers (label jupyter-ctr.lab)")
    lab_sub = lab.add_subparsers(dest="lab_cmd", metavar="COMMAND", required=True)
    p = add("ls", "labs:cmd_ls", "list labs", parent=lab_sub, aliases=["list"])
    p.add_argument("--format", choices=("table", "json"), default="table",
                   help="table (default) or json")
    for name, action, help_, aliases in (
            ("start", "start", "start every container of a lab", ()),
            ("stop", "stop", "stop every container of a lab", ()),
            ("reset", "reset", "rewind every container of a lab to a timeline step", ()),
            ("rm", "remove", "remove every container of a lab (running ones are stopped)",
             ("remove",))):
        p = add(name, "labs:cmd_action", help_, parent=lab_sub, aliases=aliases)
        p.set_defaults(lab_action=action)
        if action == "reset":
            p.add_argument("--step", metavar="STEP",
                           help="the snapshot (step) to rewind to (required)")
        if action in ("stop", "remove"):
            p.add_argument("-t", "--time", type=int, metavar="N",
                           help="seconds to wait before killing a container")
        p.add_argument("--format", choices=("table", "json"), default="table",
                       help="table (default) or json")
        p.add_argument("lab", metavar="LAB")

    p = add("service", "service:cmd_service",
            "serve the libpod/Docker-compatible REST API on a unix socket "
            "(DOCKER_HOST=unix://PATH docker ..., podman --remote --url unix://PATH)")
    p.add_argument("--socket", required=True, metavar="PATH",
                   help="unix socket to listen on (mode 0660: its permissions are the "
                        "authentication; clients look for /run/jupyter-ctr/service.sock)")
    p.add_argument("--socket-group", metavar="GROUP", default="",
                   help="group of the socket: its members may connect (multi-user); "
                        "default root's")
    p.add_argument("--instructor-group", metavar="GROUP", default="",
                   help="members (and root) see and act on every user's containers; the "
                        "others on their own only (multi-user)")
    p.add_argument("--multi-user", action="store_true",
                   help="each user sees and acts on their own containers only")
    p.add_argument("--config", metavar="FILE", default="",
                   help="traitlets config file (.py or .json): ServiceSettings and the "
                        "PolicyRules of the multi-user service "
                        "(docs/examples/jupyter_ctr_service_config.py)")

    # terminal recordings (asciicast v2) of websocket sessions
    recording = group("recording", "terminal session recordings (asciicast v2)")
    recording_sub = recording.add_subparsers(dest="recording_cmd", metavar="COMMAND",
                                             required=True)
    p = add("ls", "recordings:cmd_ls", "list recordings", parent=recording_sub,
            aliases=["list"])
    p.add_argument("--format", metavar="FORMAT", help=FORMAT_HELP.format(
        fields=".ID .Container .ContainerName .ExecID .Owner .User .Lab .Started .Ended "
               ".Size .Duration .Width .Height"))
    p.add_argument("-q", "--quiet", action="store_true", help="print ids only")
    p = add("export", "recordings:cmd_export",
            "write a recording's .cast file (asciinema's format) to stdout or -o FILE",
            parent=recording_sub)
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default stdout)")
    p.add_argument("recording", metavar="ID")
    p = add("rm", "recordings:cmd_rm", "remove recordings", parent=recording_sub,
            aliases=["remove"])
    p.add_argument("recordings", nargs="+", metavar="ID")
    return parser


def command_index(argv: Sequence[str]) -> int:
    """Where the command's first word is in ``argv`` (after the global options)."""
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        i += 2 if argv[i] in ("--root", "--runroot", "--log-level", "--url") else 1
    return i


def command_path(argv: Sequence[str]) -> tuple[str, ...] | None:
    """The command words of ``argv`` (``("ps",)``, ``("image", "ls")``) after the global
    options; ``()`` for a lone ``--version``; None when the whole parser is needed (help, or
    no command)."""
    i = command_index(argv)
    head = set(argv[:i])
    if head & {"-h", "--help"}:
        return None
    if i >= len(argv):
        return () if "--version" in head else None
    words = [argv[i]]
    if argv[i] in ("image", "container", "lab", "snapshot") and i + 1 < len(argv) and \
            not argv[i + 1].startswith("-"):
        words.append(argv[i + 1])
    return tuple(words)


def parse_args(argv: Sequence[str], *, raising: bool = False,
               extend: Extend | None = None) -> argparse.Namespace:
    """Parse with the parser of the given command alone: the quick parser when it understands
    the command line, else argparse's; the whole parser when the command is unknown, so that
    argparse lists the choices. ``raising``: errors raise CommandLineError and help
    ParserExit (after printing it) instead of exiting; ``extend``: see add_commands."""
    only = command_path(argv)
    built: set[str] = set()
    if only is not None:
        quick = add_commands(QuickParser(), only, built, extend)
        args = quick.parse(argv) if not only or only[-1] in built else None
        if args is not None:
            return args
        built.clear()
    parser = build_parser(only, built, raising=raising, extend=extend)
    if only and only[-1] not in built:
        parser = build_parser(only[:1] if only[0] in built else None, raising=raising,
                              extend=extend)
    return parser.parse_args(argv)
