"""The CLI as a process (cli.entry, cli/__main__.py): what importing it and running one
command load, and the cyclic GC frozen after start-up."""

from __future__ import annotations

import contextlib
import gc
import importlib
import io
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from jupyter_ctr import __version__, cli
from jupyter_ctr.cli import entry
from jupyter_ctr.cli import parser as cli_parser
from jupyter_ctr.cli.parser import QuickParser
from tests.cli.conftest import REPO


def _fresh_python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=REPO).stdout


def test_importing_the_cli_loads_no_parser_logging_or_engine() -> None:
    loaded = set(_fresh_python(
        "import sys, jupyter_ctr.cli; print(' '.join(sys.modules))").split())
    heavy = {"argparse", "logging", "typing", "json", "subprocess", "shutil", "sqlite3",
             "jupyter_ctr.engine.runtime", "jupyter_ctr.engine.images"}
    assert heavy & loaded == set()
    assert not [m for m in loaded if m.startswith("jupyter_ctr.cli.commands.")]


def test_version_and_ps_need_no_more_than_they_use() -> None:
    out = _fresh_python(
        "import sys, contextlib, io\n"
        "from jupyter_ctr import cli\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    cli.main(['--version'])\n"
        "print(' '.join(sys.modules))")
    assert "jupyter_ctr.engine.runtime" not in out.split()
    assert "argparse" not in out.split()  # the quick parser answers --version


@pytest.mark.parametrize(("argv", "module"), [
    (["ps", "-a"], "show"), (["rm", "nothing"], "containers")])
def test_a_command_imports_its_own_module_alone(tmp_path: Path, argv: list[str],
                                                module: str) -> None:
    """Only the command's module of commands/, and none of the terminal or foreground
    machinery that run, attach and exec need."""
    roots = ["--root", str(tmp_path / "r"), "--runroot", str(tmp_path / "x")]
    code = ("import sys, contextlib, io\n"
            "from jupyter_ctr import cli\n"
            "out, err = io.StringIO(), io.StringIO()\n"
            "with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):\n"
            f"    cli.main([*{roots!r}, *{argv!r}])\n"
            "print(' '.join(m for m in sys.modules if m.startswith('jupyter_ctr.cli.')))")
    loaded = set(_fresh_python(code).split())
    commands = {m for m in loaded if m.startswith("jupyter_ctr.cli.commands.")}
    assert commands == {f"jupyter_ctr.cli.commands.{module}"}
    assert {"jupyter_ctr.cli.terminal", "jupyter_ctr.cli.foreground"} & loaded == set()


def test_every_command_names_a_function_of_its_module() -> None:
    tree = cli_parser.add_commands(QuickParser(), None, None)
    parsers = [*tree.commands.values()]
    parsers += [inner for p in parsers for inner in p.commands.values()]
    funcs = {p.defaults["func"] for p in parsers if "func" in p.defaults}
    assert len(funcs) >= 28
    for func in funcs:
        assert callable(entry.command(func)), func


def test_as_a_process_main_freezes_what_start_up_loaded(tmp_path: Path) -> None:
    """Run as the process (no argv), main() keeps the cyclic GC off while loading the engine,
    freezes what it loaded and runs the command with the GC on; called with argv (a library
    use, as here) it leaves the GC alone."""
    roots = ["--root", str(tmp_path / "r"), "--runroot", str(tmp_path / "x")]
    code = ("import gc, sys\nfrom jupyter_ctr import cli\n"
            f"sys.argv = ['jupyter-ctr', *{roots!r}, 'ps', '-a']\n"
            "rc = cli.main()\n"
            "print(rc, gc.isenabled(), gc.get_freeze_count() > 10000)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO).stdout.split()
    assert out[-3:] == ["0", "True", "True"]
    before = gc.get_freeze_count()
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main([*roots, "ps", "-a"]) == 0
    assert gc.isenabled() and gc.get_freeze_count() == before


def test_python_m_and_the_console_script_entry_point() -> None:
    """``python -m jupyter_ctr.cli`` and pyproject's ``jupyter-ctr`` script both run main()."""
    proc = subprocess.run([sys.executable, "-m", "jupyter_ctr.cli", "--version"],
                          capture_output=True, text=True, check=True, cwd=REPO)
    assert proc.stdout == f"jupyter-ctr {__version__}\n"
    with open(REPO / "pyproject.toml", "rb") as fh:
        target = tomllib.load(fh)["project"]["scripts"]["jupyter-ctr"]
    module, _, name = target.partition(":")
    assert getattr(importlib.import_module(module), name) is cli.main
