"""The engine's own objects display richly in IPython (jupyter_ctr.magics.display): a
container, a list of them, an image, an exec session, events and the Runtime, as HTML with
state badges and escaped text; any other list keeps its plain display."""

from __future__ import annotations

from IPython.core.interactiveshell import InteractiveShell

from jupyter_ctr.engine import Runtime

IMAGE = "localhost/busybox:latest"


def html(ip: InteractiveShell, obj: object) -> str | None:
    data, _ = ip.display_formatter.format(obj)
    return data.get("text/html")


def test_engine_objects_show_as_html(ip: InteractiveShell, rt: Runtime) -> None:
    ctr = rt.create_container(IMAGE, ["sleep", "30"], name="disp")
    out = html(ip, ctr)
    assert out is not None and "disp" in out and "jctr-badge jctr-created" in out
    ctr.start()
    assert "jctr-badge jctr-running" in (html(ip, ctr) or "")

    session = ctr.exec(["sh", "-c", "echo '<b>'; exit 3"])
    session.start()
    session.wait()
    out = html(ip, session)
    assert out is not None and "exited (3)" in out
    assert "echo '&lt;b&gt;'" in out.replace("&#x27;", "'") and "<b>'" not in out

    listed = html(ip, rt.list_containers(all=True))
    assert listed is not None and "<table" in listed and "disp" in listed
    images = html(ip, rt.images.list())
    assert images is not None and "localhost/busybox" in images
    assert "localhost/busybox" in (html(ip, rt.images.get(IMAGE)) or "")
    events = html(ip, list(rt.events(filters={"container": [ctr.id]})))
    assert events is not None and "start" in events and "create" in events
    summary = html(ip, rt)
    assert summary is not None and str(rt.root) in summary and "1 running" in summary

    assert html(ip, [1, 2, 3]) is None  # other lists: plain display
    assert html(ip, []) is None

    rt.remove_container(ctr, force=True, timeout=0)
    gone = html(ip, ctr)
    assert gone is not None and "gone" in gone


def test_from_jupyter_ctr_import_runtime(ip: InteractiveShell) -> None:
    """``from jupyter_ctr import Runtime`` is the engine's Runtime and turns rich display on
    in the running IPython."""
    ip.display_formatter.formatters["text/html"].type_printers.pop(Runtime, None)
    ns: dict[str, object] = {}
    exec("from jupyter_ctr import Runtime", ns)  # noqa: S102 - the import a user types
    assert ns["Runtime"] is Runtime
    assert Runtime in ip.display_formatter.formatters["text/html"].type_printers
