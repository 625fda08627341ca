"""Result objects (magics/results.py): escaped HTML with state badges, plain text for a
terminal IPython, rows to iterate and index, RunResult's summary and check."""

from __future__ import annotations

import pytest
from IPython.core.formatters import DisplayFormatter

from jupyter_ctr.magics import ContainerTable, CtrMagicError, Names, RunResult


def test_table_html_is_escaped_with_badges_and_text_for_terminals() -> None:
    table = ContainerTable(["NAME", "STATUS"], [["<b>x</b>", "Up & running"], ["y", "Exited"]],
                           ["item-x", "item-y"], badges=["running", "exited"], badge_column=1)
    html = table._repr_html_()
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert "Up &amp; running" in html and "jctr-running" in html and "jctr-exited" in html
    assert list(table) == ["item-x", "item-y"] and table[1] == "item-y" and len(table) == 2
    data, _ = DisplayFormatter().format(table)
    assert data["text/plain"] == "NAME      STATUS\n<b>x</b>  Up & running\ny         Exited"
    assert "text/html" in data
    assert "no containers" in ContainerTable(["A"], [], [])._repr_html_()


def test_names_show_one_per_line() -> None:
    names = Names(["a", "b"], ["id-a", "id-b"])
    assert names == ["a", "b"] and names.ids == ["id-a", "id-b"]
    assert DisplayFormatter().format(names)[0]["text/plain"] == "a\nb"


def test_run_result_summary_and_check() -> None:
    ok = RunResult(kind="run", name="web", id="i", exit_code=0, duration=1.234, stdout="hi\n")
    assert ok.check() is ok and ok.summary() == "exit 0 in 1.23 s (web)"
    assert "jctr-ok" in ok._repr_html_() and "exit 0" in ok._repr_html_()
    bad = RunResult(kind="exec", name="<w>", id="i", exit_code=2, duration=0.5)
    with pytest.raises(CtrMagicError, match="exec session in <w> exited with code 2") as info:
        bad.check()
    assert info.value.result is bad
    assert info.value._render_traceback_() == [
        "CtrMagicError: exec session in <w> exited with code 2"]
    assert "&lt;w&gt;" in bad._repr_html_()
    stopped = RunResult(kind="run", name="t", id="i", exit_code=137, duration=1,
                        interrupted=True, removed=True)
    assert stopped.summary() == "interrupted, exit 137 in 1.00 s (t, removed)"
    detached = RunResult(kind="run", name="t", id="i", exit_code=None, duration=1,
                         interrupted=True)
    assert detached.summary() == "interrupted in 1.00 s (t)"
    with pytest.raises(CtrMagicError, match="did not finish: interrupted"):
        detached.check()
