"""The demo notebooks run top to bottom in a real kernel (on temporary engine roots)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = Path(tempfile.mkdtemp(prefix="jcn", dir="/tmp"))
    monkeypatch.setenv("JUPYTER_CTR_ROOT", str(base / "r"))
    monkeypatch.setenv("JUPYTER_CTR_RUNROOT", str(base / "x"))
    try:
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=120, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        errors = [o for c in nb.cells for o in c.get("outputs", [])
                  if o.get("output_type") == "error"]
        assert not errors
    finally:
        from jupyter_ctr.engine import Runtime

        rt = Runtime(base / "r", base / "x")
        for ctr in rt.list_containers(all=True):
            rt.remove_container(ctr, force=True, timeout=0)
        rt.close()
        shutil.rmtree(base, ignore_errors=True)
        assert os.path.exists(path)
