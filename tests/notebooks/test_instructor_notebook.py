"""05-instructor.ipynb runs top to bottom as the instructor of a root multi-user service
(tests/multiuser.py: real Unix users): two students have containers in the lab
``linux-shell`` (made through the service, as those users), one has another outside it; the
notebook's kernel runs as the instructor (a kernel spec whose argv drops to that user with
setpriv) and uses the service by ``JUPYTER_CTR_HOST``, as a JupyterHub user's kernel does.
It sees both students' containers with their owners, only the lab's under the lab filter,
each student's progress, a student's live terminal session (and makes a read-only view of
it), the lab's recording of another student's session (listed, played, exported with the
CLI); with RESET_LAB set it stops, starts and resets the lab to the step "start" that the
students took (their later work gone, their earlier kept), and with END_OF_LAB set removes
the lab's containers and no other. The students act through the service as themselves: a
snapshot over REST, shells over the exec websocket (one recorded and closed, one kept open
while the notebook runs).

The kernel is Debian's /usr/bin/python3 with the venv's site-packages on PYTHONPATH, as in
tests/server/test_multiuser_jupyter.py (the venv may live where students cannot enter)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shlex
import shutil
import sysconfig
import tempfile
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from jupyter_ctr.engine import Runtime
from jupyter_ctr.engine.recordings import RecordingStore
from tests.conftest import DEMO
from tests.engine.test_recordings import check_cast
from tests.multiuser import API, User, root_service, unix_users
from tests.notebooks.test_notebooks import NOTEBOOK_DIR, outputs, problems
from tests.server.test_multiuser_sessions import connect, forwarder, shell
from tests.server.test_sessions import Term

pytestmark = pytest.mark.timeout(300)

REPO = Path(__file__).resolve().parents[2]
SITE = sysconfig.get_paths()["purelib"]
LAB = "linux-shell"
#: Exercise 3 of 02-linux-shell, as a student types it in a terminal.
TOP3 = "printf 'apple\\npear\\nplum\\n' > /root/lab/top3.txt && echo done-$((6*7))\r"


@pytest.fixture(scope="module")
def homes() -> Iterator[dict[str, Any]]:
    """Two students and an instructor with home directories (IPython keeps its profile
    there)."""
    with unix_users(home=True) as made:
        yield made


@pytest.fixture(scope="module")
def service(homes: dict[str, Any], engine_roots: tuple[Path, Path]) -> Iterator[Path]:
    with root_service(homes, engine_roots) as sock:
        yield sock


def make_container(user: User, sock: Path, name: str, lab: str, script: str,
                   start: bool = True) -> None:
    """Create (and start) a container as ``user``, through the service."""
    requests: list[tuple[str, str, Any]] = [
        ("POST", f"{API}/containers/create",
         {"image": DEMO, "name": name, "command": ["sh", "-c", script],
          "labels": {"jupyter-ctr.lab": lab}})]
    if start:
        requests.append(("POST", f"{API}/containers/{name}/start", None))
    answers = user.call(sock, *requests)
    assert [status for status, _ in answers] == [201, 204][:len(requests)], answers


def instructor_kernel(user: User, sock: Path, base: Path) -> KernelManager:
    """A kernel manager whose kernel runs as ``user`` in remote mode on ``sock``; its
    connection file is in ``base`` (which that user may enter), made theirs."""
    spec = base / "kernels" / "instructor"
    spec.mkdir(parents=True)
    env = {"HOME": f"/home/{user.name}", "USER": user.name, "LOGNAME": user.name,
           "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONPATH": f"{REPO}:{SITE}",
           "JUPYTER_CTR_HOST": f"unix://{sock}"}
    # The kernel manager (root) writes the connection file (mode 0600) just before it runs
    # argv: root hands it to the user, then drops to them.
    drop = " ".join(shlex.quote(arg) for arg in user.argv(
        "/usr/bin/python3", "-m", "ipykernel_launcher", "-f"))
    (spec / "kernel.json").write_text(json.dumps({
        "argv": ["/bin/sh", "-c", f'chown {user.uid}:{user.gid} "$0" && exec {drop} "$0"',
                 "{connection_file}"],
        "display_name": "Python 3 (instructor)", "language": "python", "env": env}))
    return KernelManager(kernel_name="instructor",
                         kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec.parent)]),
                         connection_file=str(base / "kernel-instructor.json"))


@contextlib.contextmanager
def event_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop running in a thread: the students' websockets live there while the
    notebook runs (nbclient runs its own loop in this one)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def on(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run_coroutine_threadsafe(coro, loop).result(60)


async def type_in(port: int, exec_id: str, record: bool) -> Term:
    """A student's terminal on their shell session ``exec_id`` (recorded or not): they do
    exercise 3 in it, look, and (recorded) stop the recording."""
    term = await connect(port, f"/api/exec/{exec_id}/ws" + ("?record=1" if record else ""))
    assert (await term.session_where(lambda s: True))["recording"] is record
    term.send("stdin", TOP3)
    await term.output("done-42")
    await asyncio.sleep(0.3)  # a student's pause: the recording's timing shows it
    term.send("stdin", "cat /root/lab/top3.txt\r")
    await term.output("plum")
    if record:
        term.send("record", False)
        await term.session_where(lambda s: not s["recording"])
    return term


async def close(term: Term) -> None:
    """Close the student's terminal (in the loop's thread: tornado's are not thread-safe)."""
    term.ws.close()


async def keep_reading(term: Term) -> None:
    """Read (and drop) what comes until the server closes the connection."""
    while await term.ws.read_message() is not None:
        pass


def test_instructor_notebook_sees_and_ends_the_lab(homes: dict[str, Any], service: Path,
                                                   engine_roots: tuple[Path, Path]) -> None:
    a, b, t = homes["a"], homes["b"], homes["t"]
    lab_a, lab_b, other_a = f"{LAB}-{a.name}", f"{LAB}-{b.name}", f"other-{a.name}"
    # a has done exercise 1 of 02-linux-shell, b nothing yet; a's other container is in
    # another lab (and never started)
    make_container(a, service, lab_a, LAB, "mkdir -p /root/lab/notes && "
                   "printf 'x\\ny\\nz\\n' > /root/lab/notes/todo.txt && exec sleep 1000")
    make_container(b, service, lab_b, LAB, "mkdir -p /root/lab && exec sleep 1000")
    make_container(a, service, other_a, "other", "exec sleep 1000", start=False)
    # the lab's starting point: each student takes the step "start" of their container
    for user, name in ((a, lab_a), (b, lab_b)):
        status, body = user.one(service, "POST", f"/api/containers/{name}/snapshots?step=start")
        assert status == 201 and body["Kind"] == "checkpoint", body
    # then both do exercise 3 in a terminal: a's session is recorded and closed, b's stays
    # open (live) while the instructor's notebook runs
    nb = nbformat.read(NOTEBOOK_DIR / "05-instructor.ipynb", as_version=4)
    setup = nb.cells[1]
    assert "END_OF_LAB = False" in setup.source and "RESET_LAB = False" in setup.source
    setup.source = setup.source.replace("END_OF_LAB = False", "END_OF_LAB = True").replace(
        "RESET_LAB = False", "RESET_LAB = True")
    base = Path(tempfile.mkdtemp(prefix="jcn5", dir="/tmp"))
    base.chmod(0o755)
    with event_loop() as loop, forwarder(a, service) as port_a, \
            forwarder(b, service) as port_b:
        recorded = on(loop, type_in(port_a, shell(a, service, lab_a), record=True))
        on(loop, close(recorded))
        live_id = shell(b, service, lab_b)
        live = on(loop, type_in(port_b, live_id, record=False))
        reading = asyncio.run_coroutine_threadsafe(keep_reading(live), loop)
        try:
            NotebookClient(nb, km=instructor_kernel(t, service, base), timeout=120,
                           resources={"metadata": {"path": f"/home/{t.name}"}}).execute()
        finally:
            shutil.rmtree(base, ignore_errors=True)
            on(loop, close(live))
            with contextlib.suppress(Exception):
                reading.result(10)
    # (the students' unfinished exercises are ❌ lines of its output, not its problems)
    assert [p for p in problems(nb) if not p.startswith("❌ ")] == []

    who = outputs(nb, "whoami")
    assert f"you are: {t.name}" in who and f"engine: unix://{service}" in who
    everyone = outputs(nb, "all-containers")
    for name, owner in ((lab_a, a), (lab_b, b), (other_a, a)):
        line = next(line for line in everyone.splitlines() if line.startswith(name + " "))
        assert owner.name in line.split(), everyone
    in_lab = outputs(nb, "lab-containers")
    assert lab_a in in_lab and lab_b in in_lab and other_a not in in_lab, in_lab
    progress = outputs(nb, "progress").split("== ")
    mine = {block.split(":")[0]: block for block in progress if block}
    assert set(mine) == {a.name, b.name}, progress
    assert "✅ 1 files" in mine[a.name] and "❌ 2 permissions" in mine[a.name]
    assert "❌ 1 files" in mine[b.name]
    assert "✅ 3 pipes" in mine[a.name] and "✅ 3 pipes" in mine[b.name]

    # shadowing: b's live session is listed with its owner; a read-only view of one is made
    sessions = outputs(nb, "sessions")
    line = next(line for line in sessions.splitlines() if line.startswith(lab_b + " "))
    assert b.name in line.split() and f"exec {live_id[:12]}" in line, sessions
    watch = outputs(nb, "watch")
    assert f"watching {lab_b}: exec {live_id[:12]}, read-only" in watch, watch
    # recordings: a's is the lab's, listed with its owner, played, exported by the CLI
    recordings = outputs(nb, "recordings")
    line = next(line for line in recordings.splitlines() if lab_a in line)
    rec_id = line.split()[0]
    assert a.name in line.split() and f"lab {LAB}: 1 recording(s)" in recordings, recordings
    assert " s, " in outputs(nb, "player"), outputs(nb, "player")  # title: duration, size
    exported = outputs(nb, "export")
    assert rec_id in exported and '"version": 2' in exported, exported
    # bulk actions: the labs listed; stop, start and reset each container, each ok
    labs = outputs(nb, "labs")
    assert any(line.split()[:3] == [LAB, "2", "2"] for line in labs.splitlines()), labs
    bulk = outputs(nb, "bulk")
    for name in (lab_a, lab_b):
        rows = [line.split() for line in bulk.splitlines() if name in line.split()]
        assert len(rows) == 3 and all(row[-1] == "ok" for row in rows), bulk
    # ... back at "start": exercise 3 (done after it) undone, a's exercise 1 (before) kept
    after = {block.split(":")[0]: block
             for block in outputs(nb, "progress-after-reset").split("== ") if block}
    assert set(after) == {a.name, b.name}, after
    assert "✅ 1 files" in after[a.name] and "❌ 3 pipes" in after[a.name], after
    assert "❌ 3 pipes" in after[b.name] and "(running)" in after[b.name], after
    assert "removed 2 containers of lab linux-shell" in outputs(nb, "end-of-lab")

    rt = Runtime(*engine_roots)
    names = {c.name for c in rt.list_containers(all=True)}
    rt.close()
    assert lab_a not in names and lab_b not in names and other_a in names
    # the recording the notebook listed and played is a's session, as asciinema reads it
    cast = RecordingStore(engine_roots[0] / "recordings").read(rec_id)
    _, events = check_cast(cast)
    shown = "".join(e[2] for e in events if e[1] == "o")
    assert "done-42" in shown and "plum" in shown, shown
