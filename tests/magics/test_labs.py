"""``%ctr lab ...`` in a notebook: ``run --lab``, ``lab ls`` as a table, and bulk actions
returning a per-container result table (ok or failed badges; ``check()`` raises when any
failed)."""

from __future__ import annotations

import pytest
from IPython.core.interactiveshell import InteractiveShell

from jupyter_ctr.engine import ContainerState, Runtime
from jupyter_ctr.magics.results import CtrMagicError, LabResults, LabTable

from .conftest import IMAGE

S = ContainerState


def test_lab_verbs_in_a_notebook(ip: InteractiveShell, rt: Runtime,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("mlab-1", "mlab-2"):
        ip.run_line_magic("ctr", f"run -d --name {name} --lab mlab {IMAGE} sleep 1000")
    rt.create_container(IMAGE, ["sleep", "1000"], name="mdep")
    ip.run_line_magic("ctr", f"create --name mlab-3 --lab mlab --requires mdep {IMAGE} "
                             "sleep 1000")
    labs = ip.run_line_magic("ctr", "lab ls")
    assert isinstance(labs, LabTable)
    assert list(labs) == [{"Name": "mlab", "Containers": 3, "Running": 2, "Owners": ["root"]}]
    assert "mlab" in labs._repr_html_()

    res = ip.run_line_magic("ctr", "lab stop -t 0 mlab")
    assert isinstance(res, LabResults) and res.ok and len(res) == 3
    assert repr(res).splitlines()[0].split() == ["CONTAINER", "ID", "NAME", "OWNER", "RESULT"]
    assert all(rt.lookup_container(n).state in (S.EXITED, S.STOPPED)
               for n in ("mlab-1", "mlab-2"))

    res = ip.run_line_magic("ctr", "lab start mlab --out started")
    assert ip.user_ns["started"] is res
    assert not res.ok and [r["Name"] for r in res.failed] == ["mlab-3"]
    assert "dependencies" in res.failed[0]["Error"]
    html = res._repr_html_()
    assert html.count("jctr-ok") == 2 and html.count("jctr-failed") == 1
    with pytest.raises(CtrMagicError, match="1 of 3 containers failed: mlab-3"):
        res.check()

    capsys.readouterr()
    assert ip.run_line_magic("ctr", "lab reset mlab") is None  # no --step: one error line
    assert "step" in capsys.readouterr().err
    res = ip.run_line_magic("ctr", "lab reset mlab --step nosuch")
    assert len(res) == 3 and len(res.failed) == 3 and "nosuch" in res.failed[0]["Error"]
    res = ip.run_line_magic("ctr", "lab rm -t 0 mlab")
    assert res.ok and {c.name for c in rt.list_containers(all=True)} == {"mdep"}
