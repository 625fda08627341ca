"""The course notebooks run top to bottom in a real kernel (on temporary engine roots), each
leaving no container behind. 03-break-and-rewind runs in its own test here (its outputs are
checked); 05-instructor needs the multi-user service and real users: it runs in
test_instructor_notebook.py."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from jupyter_ctr.engine import Runtime

NOTEBOOK_DIR = Path(__file__).parents[2] / "notebooks"
#: Notebooks with their own test (their outputs are checked, or they need more than a kernel
#: on an engine).
OWN_TEST = {"03-break-and-rewind.ipynb", "05-instructor.ipynb"}
NOTEBOOKS = sorted(p for p in NOTEBOOK_DIR.glob("*.ipynb") if p.name not in OWN_TEST)
SOLUTION = "**🔑 Solution**"


def problems(nb: Any) -> list[str]:
    """What went wrong in an executed notebook: error outputs, the magics' one-line engine
    errors (``Error: ...`` on stderr: they raise nothing), failed exercise checks."""
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                found.append(f"{out['ename']}: {out['evalue']}")
            elif out.get("output_type") == "stream":
                found += [line for line in out["text"].splitlines()
                          if line.startswith("Error:") or "❌" in line]
    return found


def outputs(nb: Any, tag: str) -> str:
    """The text the cell tagged ``tag`` printed or displayed."""
    cells = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, tag
    text = []
    for out in cells[0].get("outputs", []):
        if out.get("output_type") == "stream":
            text.append(out["text"])
        elif "data" in out:  # a display: its text, on lines of its own
            text.append(out["data"].get("text/plain", "").rstrip("\n") + "\n")
    return "".join(text)


def run(nb: Any, base: Path, *, allow_errors: bool = False) -> None:
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=allow_errors,
                   resources={"metadata": {"path": str(NOTEBOOK_DIR)}}).execute()


@pytest.fixture
def roots(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Temporary engine roots for the kernel (its environment); afterwards no container is
    left (the notebooks clean up after themselves) and everything is removed."""
    base = Path(tempfile.mkdtemp(prefix="jcn", dir="/tmp"))
    monkeypatch.setenv("JUPYTER_CTR_ROOT", str(base / "r"))
    monkeypatch.setenv("JUPYTER_CTR_RUNROOT", str(base / "x"))
    try:
        yield base
    finally:
        rt = Runtime(base / "r", base / "x")
        left = rt.list_containers(all=True)
        for ctr in left:
            rt.remove_container(ctr, force=True, timeout=0)
        rt.close()
        shutil.rmtree(base, ignore_errors=True)
    assert [c.name for c in left] == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path, roots: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    run(nb, roots)
    assert problems(nb) == []
    assert os.path.exists(path)


def test_linux_shell_checks_fail_without_the_solutions(roots: Path) -> None:
    """02-linux-shell's checks look at the container: with the solution cells left out (as a
    student who has done nothing), every exercise's check fails, with its hint."""
    nb = nbformat.read(NOTEBOOK_DIR / "02-linux-shell.ipynb", as_version=4)
    cells, skip = [], False
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.startswith(SOLUTION):
            skip = True  # the solution's explanation, and the code cell after it
        elif skip:
            assert cell.cell_type == "code"
            skip = False
        else:
            cells.append(cell)
    assert len(cells) == len(nb.cells) - 10
    nb.cells = cells
    run(nb, roots, allow_errors=True)
    found = problems(nb)
    assert len([p for p in found if p.startswith("❌ FAIL: ")]) == 5, found
    assert len([p for p in found if p.startswith("❌ ") and "FAIL" not in p]) == 5, found
    errors = [p for p in found if not p.startswith("❌")]
    assert len(errors) == 5 and all(p.startswith("CtrMagicError: exec session in ")
                                    and p.endswith("exited with code 1") for p in errors), found


def test_break_and_rewind(roots: Path) -> None:
    """03-break-and-rewind: steps 1 and 2 are CRIU checkpoints; broken (files gone, service
    killed, config garbage) and rewound to step 2, everything is back and the service goes
    on from step 2's count (its assert); the TCP container's snapshot is filesystem-only with
    CRIU's reason; the exported step imports with step 2's files; nothing is left (the
    roots fixture checks the containers, here the exported file)."""
    nb = nbformat.read(NOTEBOOK_DIR / "03-break-and-rewind.ipynb", as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")  # none saved
    run(nb, roots)
    assert problems(nb) == []
    step1 = outputs(nb, "step-1")
    assert "service:  running" in step1 and "config:   greeting=hello" in step1
    assert next(line for line in step1.splitlines()
                if line.startswith("step-1 ")).split()[1] == "checkpoint"
    broken = outputs(nb, "broken")
    assert "NOT RUNNING" in broken and "CORRUPT" in broken and "files:    \n" in broken
    rewound = outputs(nb, "rewound")
    assert "service:  running" in rewound and "greeting=hello, world" in rewound
    assert "/root/work/src/second.sh" in rewound and "✅ it goes on from step 2" in rewound
    tcp = outputs(nb, "tcp-snapshot")
    assert "kind: filesystem" in tcp and "Connected TCP socket" in tcp, tcp
    imported = outputs(nb, "imported")
    assert "greeting=hello, world" in imported and "/root/work/src/second.sh" in imported
    assert not list(Path(tempfile.gettempdir()).glob("break-and-rewind-*-step-2.tar.gz"))
