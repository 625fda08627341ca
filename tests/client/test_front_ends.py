"""The front ends in remote mode: the CLI with --url/--remote/$JUPYTER_CTR_HOST and a kernel
whose magics use the service, against the same engine as in process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jupyter_client.manager import KernelManager

from jupyter_ctr import kernel
from jupyter_ctr.cli.entry import open_door
from jupyter_ctr.cli.parser import parse_args
from jupyter_ctr.client import RemoteDoor, host
from jupyter_ctr.engine import Runtime
from jupyter_ctr.service.door import Door
from tests.cli.test_attach import Pty
from tests.conftest import DEMO
from tests.magics.conftest import Kernel, streams, texts

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(180)


def cli(*args: str, env: dict[str, str] | None = None,
        stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "jupyter_ctr.cli", *args], input=stdin,
                          capture_output=True, text=True, timeout=60, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})


def test_cli_remote(service: str, rt: Runtime, engine_roots: tuple[Path, Path]) -> None:
    url = ["--url", f"unix://{service}"]
    local = ["--root", str(engine_roots[0]), "--runroot", str(engine_roots[1])]
    proc = cli(*url, "run", "--rm", DEMO, "echo", "hi")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "hi\n", "")
    assert rt.list_containers(all=True) == []
    proc = cli(*url, "run", "--rm", DEMO, "sh", "-c", "echo out; echo err >&2; exit 7")
    assert (proc.returncode, proc.stdout, proc.stderr) == (7, "out\n", "err\n")

    ctr_id = cli(*url, "run", "-d", "--name", "cl-web", DEMO, "sleep", "60").stdout.strip()
    assert rt.lookup_container("cl-web").id == ctr_id
    for fmt in ("{{.ID}} {{.Names}} {{.Image}} {{.Command}} {{.State}}", "json"):
        far = cli(*url, "ps", "-a", "--format", fmt)
        near = cli(*local, "ps", "-a", "--format", fmt)
        assert far.returncode == near.returncode == 0
        if fmt != "json":
            assert far.stdout == near.stdout
    table = cli("--remote", "ps", env={"JUPYTER_CTR_HOST": f"unix://{service}"}).stdout
    assert table.splitlines()[0].split()[:2] == ["CONTAINER", "ID"] and "cl-web" in table
    proc = cli(*url, "exec", "-i", "cl-web", "cat", stdin="piped\n")
    assert (proc.returncode, proc.stdout) == (0, "piped\n")
    proc = cli(*url, "exec", "cl-web", "sh", "-c", "exit 5")
    assert proc.returncode == 5

    for args in (("stop", "cl-nosuch"), ("inspect", "cl-nosuch"), ("logs", "cl-nosuch"),
                 ("run", "--rm", "nosuch:latest", "true"), ("kill", "-s", "NOPE", "cl-web")):
        far, near = cli(*url, *args), cli(*local, *args)
        assert (far.returncode, far.stderr) == (near.returncode, near.stderr) != (0, "")
        assert far.returncode == 125 and far.stderr.startswith("Error: ")
    proc = cli(*url, "pause", "cl-web", "cl-nosuch")  # one error line, the others go on
    assert (proc.returncode, proc.stdout) == (125, "cl-web\n")
    assert proc.stderr == "Error: no container with name or ID 'cl-nosuch' found\n"
    assert cli(*url, "unpause", "cl-web").returncode == 0
    proc = cli(*url, "info")
    assert proc.returncode == 0 and f"url: unix://{service}" in proc.stdout
    assert cli(*url, "rm", "-f", "-t", "0", "cl-web").stdout == "cl-web\n"


def test_cli_remote_rmi_of_one_of_several_names(service: str, rt: Runtime) -> None:
    """``rmi`` through the service: as podman, by one of several names only untagged."""
    url = ["--url", f"unix://{service}"]
    demo = rt.images.get(DEMO)
    assert cli(*url, "tag", DEMO, "localhost/fe/rm:1").returncode == 0
    try:
        proc = cli(*url, "rmi", "localhost/fe/rm:1")
        assert (proc.returncode, proc.stdout) == (0, "Untagged: localhost/fe/rm:1\n"), proc.stderr
        assert rt.images.get(DEMO).names == [DEMO]
        rt.tag_image(DEMO, "localhost/fe/rm:2")
        proc = cli(*url, "rmi", demo.id[:12])
        assert proc.returncode == 125
        assert proc.stderr == (f'Error: unable to delete image "{demo.id}" by ID with more '
                               f"than one tag ({DEMO}, localhost/fe/rm:2): please force "
                               "removal\n")
    finally:
        for name in ("localhost/fe/rm:1", "localhost/fe/rm:2"):
            if name in rt.images.get(DEMO).names:
                rt.untag_image(DEMO, [name])


def test_cli_without_a_service_says_so(tmp_path: Path) -> None:
    proc = cli("--url", f"unix://{tmp_path}/none.sock", "ps")
    assert proc.returncode == 125
    assert proc.stderr.startswith("Error: cannot connect to the jupyter-ctr service at unix://")


class RemoteKernel(Kernel):
    """A kernel with $JUPYTER_CTR_HOST (and no roots) in its environment."""

    def __init__(self, url: str) -> None:  # noqa: D107 - Kernel's, with another environment
        env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_CTR_")}
        env.update(PYTHONPATH=str(REPO), JUPYTER_CTR_HOST=url)
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(env=env)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)
        self.execute("%load_ext jupyter_ctr")


def test_magics_through_a_remote_kernel_engine(service: str, rt: Runtime,
                                               engine_roots: tuple[Path, Path]) -> None:
    kernel = RemoteKernel(f"unix://{service}")
    try:
        msgs, _ = kernel.execute("from jupyter_ctr import kernel as k; "
                                 "print(type(k.door()).__name__, k.engine().runtime)")
        assert streams(msgs).startswith("RemoteDoor <Runtime unix://")
        msgs, _ = kernel.execute(f"r = %ctr run --rm {DEMO} sh -c 'echo hi; echo e >&2'")
        assert streams(msgs, "stdout") == "hi\n" and streams(msgs, "stderr") == "e\n"
        msgs, _ = kernel.execute(f"%ctr run -d --name cl-mag {DEMO} sleep 60")
        assert rt.lookup_container("cl-mag").state.value == "running"
        msgs, _ = kernel.execute("%%ctr exec cl-mag\necho from-cell; exit 4")
        assert "from-cell" in streams(msgs, "stdout")
        msgs, _ = kernel.execute("_.exit_code")
        assert "4" in texts(msgs)
        msgs, _ = kernel.execute("%ctr ps")
        assert "cl-mag" in texts(msgs)
        msgs, _ = kernel.execute("%ctr stop cl-nosuch")
        assert "Error: no container with name or ID 'cl-nosuch' found" in streams(msgs)
        kernel.execute("%ctr rm -f -t 0 cl-mag")
        assert rt.list_containers(all=True) == []
    finally:
        kernel.close()


def test_cli_remote_terminal(service: str, rt: Runtime) -> None:
    """run -it (tty size, resize, detach keys), attach and exec -it through the service."""
    base = [sys.executable, "-m", "jupyter_ctr.cli", "--url", f"unix://{service}"]
    term = Pty([*base, "run", "-it", "--name", "cl-tty", DEMO, "sh"], rows=30, cols=100)
    term.expect(b"# ")
    term.send(b"stty size\r")
    term.expect(b"30 100")
    term.resize(40, 120)
    time.sleep(0.5)  # the CLI's SIGWINCH handler resizes through the service
    term.send(b"stty size\r")
    term.expect(b"40 120")
    term.send(b"\x10\x11")  # ctrl-p ctrl-q
    assert term.close() == 0
    assert rt.lookup_container("cl-tty").state.value == "running"
    again = Pty([*base, "attach", "cl-tty"])
    again.send(b"echo back-again\r")
    again.expect(b"back-again\r\nback-again")
    again.send(b"\x10\x11")
    assert again.close() == 0
    shell = Pty([*base, "exec", "-it", "cl-tty", "sh"])
    shell.expect(b"# ")
    shell.send(b"echo in-exec; exit 6\r")
    shell.expect(b"in-exec\r\n")
    assert shell.close() == 6
    rt.lookup_container("cl-tty").remove(force=True, timeout=0)


def test_a_kernel_goes_remote_when_the_root_is_not_its_own(
        service: str, rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    """A student's kernel: the engine's root is not writable and the service's socket is
    where clients look for it: the kernel's door is the service's."""
    monkeypatch.setattr(host, "DEFAULT_SOCKET", service)
    monkeypatch.setattr(host, "writable", lambda root: False)
    monkeypatch.delenv("JUPYTER_CTR_HOST", raising=False)
    monkeypatch.setattr(kernel, "_current", None)
    door = kernel.door()
    assert isinstance(door, RemoteDoor) and door.runtime.socket == service
    assert door.list_containers(all=True) == []
    kernel.engine().close()


def test_the_service_command_is_always_the_engine_itself(tmp_path: Path) -> None:
    args = parse_args(["--remote", "--root", str(tmp_path / "r"), "--runroot",
                       str(tmp_path / "x"), "service", "--socket", str(tmp_path / "s")])
    door = open_door(args)
    try:
        assert type(door) is Door
    finally:
        door.runtime.close()
