"""The CLI's parser: the quick parser (cli.parser.QuickParser) against argparse: for the
plain command lines it takes, the same namespace as argparse's, for every command and option;
for the others, None (argparse parses them, so usage, help and errors stay argparse's). A
command's parser built alone, and what parsing imports."""

from __future__ import annotations

import argparse
import contextlib
import io
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from jupyter_ctr import __version__
from jupyter_ctr.cli import parser as cli_parser
from jupyter_ctr.cli.parser import REMAINDER, QuickParser
from tests.cli.conftest import IMAGE, REPO, Cli

GLOBALS = (["--root", "/r", "--runroot", "/x", "--log-level", "debug"], [])


def _commands() -> Iterator[tuple[str, ...]]:
    """Every command path of the full parser: ``("ps",)``, ``("image", "ls")``..."""
    parser = cli_parser.build_parser()
    for name, sub in _choices(parser).items():
        inner = _choices(sub)
        if inner:
            for sub_name in inner:
                yield name, sub_name
        else:
            yield (name,)


def _choices(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _value(opt: Any) -> str:
    if opt.choices:
        return str(list(opt.choices)[-1])
    return {int: "7", float: "0.5"}.get(opt.type, "v a=1")


def _positional_samples(quick: QuickParser) -> list[list[str]]:
    """Positional words that fit: the least, and some more."""
    least: list[str] = []
    more: list[str] = []
    for spec in quick.positionals:
        if spec.nargs is None:
            least.append(f"{spec.dest}1")
            more.append(f"{spec.dest}1")
        elif spec.nargs == "+":
            least.append(f"{spec.dest}1")
            more += [f"{spec.dest}1", f"{spec.dest}2"]
        elif spec.nargs in ("?", "*"):
            more.append(f"{spec.dest}1")
        elif spec.nargs == REMAINDER:
            more += ["img", "ls", "-l", "--", "-h", "--name", "x", "-5"]
    return [least, more]


def _samples(path: tuple[str, ...]) -> Iterator[list[str]]:
    built: set[str] = set()
    quick = cli_parser.add_commands(QuickParser(), path, built)
    for name in path:
        quick = quick.commands[name]
    options = [o for o in dict.fromkeys(quick.options.values()) if o.action != "version"]
    for positionals in _positional_samples(quick):
        for prefix in GLOBALS:
            yield [*prefix, *path, *positionals]
        for opt in options:
            for word in opt.names:  # each spelling
                if opt.action in ("store_true", "store_false"):
                    yield [*path, word, *positionals]
                else:
                    yield [*path, word, _value(opt), *positionals]
                    if opt.action == "append":
                        yield [*path, word, "a", word, "b", *positionals]
        every: list[str] = []
        for opt in options:
            every += [opt.names[0]] if opt.action in ("store_true", "store_false") else \
                [opt.names[0], _value(opt)]
        yield [GLOBALS[0][0], "/r", *path, *every, *positionals]


def _argparse(argv: list[str]) -> dict[str, Any]:
    return vars(cli_parser.build_parser().parse_args(argv))


@pytest.mark.parametrize("path", list(_commands()), ids=" ".join)
def test_the_quick_parser_agrees_with_argparse(path: tuple[str, ...]) -> None:
    count = 0
    for argv in _samples(path):
        if path == ("service",) and "--socket" not in argv:
            continue  # a required option: argparse's error (see below)
        built: set[str] = set()
        only = cli_parser.command_path(argv)
        quick = cli_parser.add_commands(QuickParser(), only, built).parse(argv)
        assert quick is not None, argv
        assert vars(quick) == _argparse(argv), argv
        count += 1
    assert count >= 3


@pytest.mark.parametrize("argv", [
    ["stop", "-t0", "x"], ["stop", "--time=0", "x"], ["stop", "-t", "-1", "x"],
    ["stop", "-t", "x", "y"], ["stop", "-t"], ["rm", "-h"], ["rm", "--help"], ["rm", "x", "-f"],
    ["rm", "--", "x"], ["rm"], ["ps", "-aq"], ["ps", "--bogus"], ["ps", "x"],
    ["create", "--", "img"], ["create", "--network", "bogus", "img"], ["create", "-it", "img"],
    ["--log-level", "loud", "ps"], ["service"], ["image", "bogus"], ["image"],
    ["start", "-"], ["wait", "-5"], ["logs", "a", "b"], ["exec", "-i"],
])
def test_what_the_quick_parser_leaves_to_argparse(argv: list[str]) -> None:
    only = cli_parser.command_path(argv)
    assert only
    built: set[str] = set()
    assert cli_parser.add_commands(QuickParser(), only, built).parse(argv) is None
    # ... and parse_args() answers as argparse does: the same values, or its error (exit 125)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            got: dict[str, Any] | int = vars(cli_parser.parse_args(argv))
        except SystemExit as exc:
            got = int(exc.code or 0)
        try:
            want: dict[str, Any] | int = _argparse(argv)
        except SystemExit as exc:
            want = int(exc.code or 0)
    assert got == want


@pytest.mark.parametrize("argv", [["--version"], ["--root", "/r", "--version"],
                                  ["--version", "--bogus"], ["--version", "ps"]])
def test_version_as_argparse_prints_it(argv: list[str]) -> None:
    outputs = []
    for parse in (cli_parser.parse_args, _argparse):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exc:
            parse(argv)
        outputs.append((exc.value.code, out.getvalue()))
    assert outputs[0] == outputs[1] == (0, f"jupyter-ctr {__version__}\n")


def test_a_plain_cycle_needs_no_argparse_typing_or_dataclasses() -> None:
    """The commands of a script's create/start/stop/rm cycle and ps import neither argparse
    nor what the engine's type hints and records once needed (each costs a command ~2-4 ms)."""
    code = ("import sys\nfrom jupyter_ctr.cli.parser import parse_args\n"
            "for argv in (['create', '--name', 'n', 'img', 'sleep', '1000'], ['start', 'n'],\n"
            "             ['stop', '-t', '0', 'n'], ['rm', '-f', 'n'], ['ps', '-a'],\n"
            "             ['inspect', '--format', '{{.State.Status}}', 'n']):\n"
            "    parse_args(argv)\n"
            "import jupyter_ctr.engine.runtime, jupyter_ctr.engine.images\n"
            "import jupyter_ctr.engine.logs, jupyter_ctr.engine.spec\n"
            "import jupyter_ctr.cli.commands.containers, jupyter_ctr.cli.commands.show\n"
            "print(' '.join(sys.modules))")
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True, cwd=REPO).stdout.split())
    assert "jupyter_ctr.engine.runtime" in loaded
    assert {"argparse", "gettext", "locale", "typing", "dataclasses", "inspect", "shutil",
            "copy", "logging", "subprocess"} & loaded == set()


def test_a_command_builds_only_its_own_parser() -> None:
    built: set[str] = set()
    cli_parser.build_parser(("ps",), built)
    assert built == {"ps"}
    built.clear()
    cli_parser.build_parser(("image", "ls"), built)
    assert built == {"image", "ls", "list"}
    built.clear()
    cli_parser.build_parser(None, built)
    assert {"ps", "run", "images", "checkpoint", "restore", "umount", "unmount"} <= built
    args = cli_parser.parse_args(["--root", "/r", "stop", "-t", "0", "a", "b"])
    assert (args.root, args.time, args.containers) == ("/r", 0, ["a", "b"])
    assert cli_parser.parse_args(["image", "list", "-q"]).quiet is True


def test_usage_errors_exit_125(cli: Cli) -> None:
    for args in (["run"], ["run", "--bogus", IMAGE], ["ps", "--nope"],
                 ["run", "--network", "bridge", IMAGE]):
        proc = cli(*args)
        assert proc.returncode == 125 and proc.stderr.startswith("Error: "), args
    proc = cli("run", "--memory", "1k", IMAGE, "true")
    assert proc.returncode == 125 and "memory" in proc.stderr
    assert cli.all_ids() == []
