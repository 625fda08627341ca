"""05-instructor.ipynb runs top to bottom as the instructor of a root multi-user service
(tests/multiuser.py: real Unix users): two students have containers in the lab
``linux-shell`` (made through the service, as those users), one has another outside it; the
notebook's kernel runs as the instructor (a kernel spec whose argv drops to that user with
setpriv) and uses the service by ``JUPYTER_CTR_HOST``, as a JupyterHub user's kernel does.
It sees both students' containers with their owners, only the lab's under the lab filter,
each student's progress, and (END_OF_LAB set) removes the lab's containers and no other.

The kernel is Debian's /usr/bin/python3 with the venv's site-packages on PYTHONPATH, as in
tests/server/test_multiuser_jupyter.py (the venv may live where students cannot enter)."""

from __future__ import annotations

import json
import shlex
import shutil
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from jupyter_ctr.engine import Runtime
from tests.conftest import DEMO
from tests.multiuser import API, User, root_service, unix_users
from tests.notebooks.test_notebooks import NOTEBOOK_DIR, outputs, problems

pytestmark = pytest.mark.timeout(300)

REPO = Path(__file__).resolve().parents[2]
SITE = sysconfig.get_paths()["purelib"]
LAB = "linux-shell"


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

    nb = nbformat.read(NOTEBOOK_DIR / "05-instructor.ipynb", as_version=4)
    setup = nb.cells[1]
    assert "END_OF_LAB = False" in setup.source
    setup.source = setup.source.replace("END_OF_LAB = False", "END_OF_LAB = True")
    base = Path(tempfile.mkdtemp(prefix="jcn5", dir="/tmp"))
    base.chmod(0o755)
    try:
        NotebookClient(nb, km=instructor_kernel(t, service, base), timeout=120,
                       resources={"metadata": {"path": f"/home/{t.name}"}}).execute()
    finally:
        shutil.rmtree(base, ignore_errors=True)
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
    assert "removed 2 containers of lab linux-shell" in outputs(nb, "end-of-lab")

    rt = Runtime(*engine_roots)
    names = {c.name for c in rt.list_containers(all=True)}
    rt.close()
    assert lab_a not in names and lab_b not in names and other_a in names
