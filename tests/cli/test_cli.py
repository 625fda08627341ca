"""The ``jupyter-ctr`` command line, run as a separate process on real runc and conmon; the
harness (Cli and its fixtures) the other CLI tests share."""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tarfile
import tempfile
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_ctr.engine import Runtime
from tests.conftest import leftovers, wait_until

REPO = Path(__file__).resolve().parents[2]
IMAGE = "localhost/busybox:latest"
FULL_ID = re.compile(r"^[0-9a-f]{64}$")


class Cli:
    """``python -m jupyter_ctr.cli --root R --runroot RR ...`` on private, short roots."""

    def __init__(self, base: Path) -> None:
        self.root, self.run_root = base / "r", base / "x"
        self.env = dict(os.environ, PYTHONPATH=str(REPO))

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "jupyter_ctr.cli", "--root", str(self.root),
                "--runroot", str(self.run_root), *args]

    def __call__(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(*args), capture_output=True, text=True,
                              timeout=timeout, env=self.env, cwd=REPO)

    def ok(self, *args: str, timeout: float = 60) -> str:
        proc = self(*args, timeout=timeout)
        assert proc.returncode == 0, (args, proc.returncode, proc.stdout, proc.stderr)
        return proc.stdout

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(self.argv(*args), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=self.env, cwd=REPO)

    def all_ids(self) -> list[str]:
        return self.ok("ps", "-a", "-q", "--no-trunc").split()


@pytest.fixture(scope="module")
def cli_roots() -> Iterator[Cli]:
    # Short paths: conmon's attach socket lives under the run root (108-byte limit).
    base = Path(tempfile.mkdtemp(prefix="jc", dir="/tmp"))
    cli = Cli(base)
    yield cli
    ids = cli.all_ids() if cli.root.exists() else []
    if ids:
        cli("rm", "-f", "-t", "0", *ids)
    time.sleep(0.2)  # let a last exit command finish before the roots go
    with open("/proc/self/mountinfo") as fh:
        mounts = [line.split()[4] for line in fh if line.split()[4].startswith(str(base))]
    for mnt in reversed(mounts):
        subprocess.run(["umount", "-l", mnt], check=False)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def image_id(cli_roots: Cli) -> str:
    return cli_roots.ok("image", "build-demo").strip()


@pytest.fixture
def cli(cli_roots: Cli, image_id: str) -> Iterator[Cli]:
    """The CLI with the demo image; every container a test made is force-removed after it,
    and nothing (mount, conmon, cgroup) may stay behind."""
    yield cli_roots
    ids = cli_roots.all_ids()
    if ids:
        cli_roots("rm", "-f", "-t", "0", *ids)
    assert cli_roots.all_ids() == []
    rt = Runtime(cli_roots.root, cli_roots.run_root)
    try:
        assert wait_until(lambda: not any(leftovers(rt, set(ids)).values()), 10), \
            leftovers(rt, set(ids))
    finally:
        rt.close()


# -- images -------------------------------------------------------------------------------------
def test_build_demo_is_idempotent_and_listed(cli_roots: Cli, image_id: str) -> None:
    assert FULL_ID.match(image_id)
    assert cli_roots.ok("image", "build-demo").strip() == image_id
    lines = cli_roots.ok("image", "ls").splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    row = [line for line in lines[1:] if line.startswith("localhost/busybox ")]
    assert len(row) == 1 and row[0].split()[1:3] == ["latest", image_id[:12]]
    assert cli_roots.ok("images", "-q").split() == [image_id[:12]]
    info = json.loads(cli_roots.ok("image", "inspect", "busybox"))
    assert [i["Id"] for i in info] == [image_id] and info[0]["RepoTags"] == [IMAGE]


def test_image_rm_of_image_in_use_and_unknown(cli: Cli) -> None:
    cli.ok("create", "--name", "holder", IMAGE, "true")
    proc = cli("image", "rm", IMAGE)
    assert proc.returncode == 125 and "in use" in proc.stderr and "holder" in proc.stderr
    proc = cli("rmi", "localhost/nothing:here")
    assert proc.returncode == 125 and proc.stderr.startswith("Error: ")


# -- run ----------------------------------------------------------------------------------------
def test_run_rm_prints_exactly_hi_and_leaves_nothing(cli: Cli) -> None:
    proc = cli("run", "--rm", "localhost/busybox", "echo", "hi")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "hi\n", "")
    assert cli.all_ids() == []
    assert list((cli.root / "containers").iterdir()) == []


def test_run_splits_stdout_and_stderr_and_passes_exit_code(cli: Cli) -> None:
    proc = cli("run", "--rm", IMAGE, "sh", "-c", "echo out; echo err >&2; exit 7")
    assert (proc.returncode, proc.stdout, proc.stderr) == (7, "out\n", "err\n")


def test_run_options_reach_the_container(cli: Cli) -> None:
    out = cli.ok("run", "--rm", "-e", "GREETING=hello there", "-w", "/tmp", "-u", "65534",
                 IMAGE, "sh", "-c", 'echo "$GREETING"; pwd; id -u')
    assert out.splitlines() == ["hello there", "/tmp", "65534"]


def test_run_detached_ps_logs_stop_rm(cli: Cli) -> None:
    ctr_id = cli.ok("run", "-d", "--name", "web", "-l", "tier=front", IMAGE, "sh", "-c",
                    "echo ready; echo warn >&2; while true; do sleep 0.2; done").strip()
    assert FULL_ID.match(ctr_id)
    lines = cli.ok("ps").splitlines()
    assert lines[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS",
                                "NAMES"]
    row = [line for line in lines if line.startswith(ctr_id[:12] + " ")]
    assert len(row) == 1 and "Up " in row[0] and row[0].endswith(" web")
    assert ctr_id not in cli.ok("ps")
    assert ctr_id in cli.ok("ps", "--no-trunc")
    assert wait_until(lambda: cli("logs", "web").stdout == "ready\n")
    proc = cli("logs", "web")
    assert (proc.stdout, proc.stderr) == ("ready\n", "warn\n")
    proc = cli("logs", "-t", "--tail", "1", "web")  # the last line is the stderr one
    assert proc.stdout == ""
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z warn\n$", proc.stderr)

    assert cli.ok("stop", "-t", "1", "web") == "web\n"  # sh as pid 1 ignores SIGTERM
    assert ctr_id[:12] not in cli.ok("ps")
    row = [line for line in cli.ok("ps", "-a").splitlines() if line.startswith(ctr_id[:12])]
    assert len(row) == 1 and "Exited (137)" in row[0]
    assert cli.ok("stop", "web") == "web\n"  # already stopped: fine, as podman
    assert cli.ok("rm", "web") == "web\n"
    assert cli.all_ids() == []


def test_run_detached_with_rm_is_removed_when_it_exits(cli: Cli) -> None:
    ctr_id = cli.ok("run", "-d", "--rm", IMAGE, "true").strip()
    assert wait_until(lambda: ctr_id not in cli.all_ids(), 15)


def test_rm_of_running_container_needs_force(cli: Cli) -> None:
    cli.ok("run", "-d", "--name", "busy", IMAGE, "sleep", "100")
    proc = cli("rm", "busy")
    assert proc.returncode == 125 and proc.stderr.startswith("Error: ")
    assert cli.ok("rm", "-f", "-t", "0", "busy") == "busy\n"
    assert cli.all_ids() == []


def test_wait_prints_exit_code(cli: Cli) -> None:
    ctr_id = cli.ok("run", "-d", IMAGE, "sh", "-c", "sleep 0.3; exit 3").strip()
    proc = cli("wait", ctr_id[:12])
    assert (proc.returncode, proc.stdout) == (0, "3\n")


def test_start_attach_streams_only_the_new_run(cli: Cli) -> None:
    cli.ok("create", "--name", "again", IMAGE, "sh", "-c", "echo once; exit 4")
    for _ in range(2):
        proc = cli("start", "-a", "again")
        assert (proc.returncode, proc.stdout) == (4, "once\n")
    assert cli.ok("logs", "again") == "once\nonce\n"
    assert cli.ok("start", "again") == "again\n"
    assert cli.ok("wait", "again") == "4\n"


def test_ctrl_c_stops_and_removes_a_foreground_run(cli: Cli) -> None:
    proc = cli.popen("run", "--rm", "--stop-timeout", "1", IMAGE, "sh", "-c",
                     "echo started; sleep 100")
    assert proc.stdout is not None and proc.stdout.readline() == "started\n"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 137, err  # SIGTERM ignored by pid 1, killed after 1 s
    assert cli.all_ids() == []


# -- kill, errors ------------------------------------------------------------------------------
def test_kill_with_bad_signal_is_an_error(cli: Cli) -> None:
    cli.ok("run", "-d", "--name", "victim", IMAGE, "sleep", "100")
    proc = cli("kill", "-s", "BOGUS", "victim")
    assert proc.returncode == 125
    assert proc.stderr.startswith("Error: ") and "BOGUS" in proc.stderr
    assert "victim" in cli.ok("ps")
    assert cli.ok("kill", "-s", "TERM", "victim") == "victim\n"  # ignored by pid 1
    assert cli.ok("kill", "victim") == "victim\n"
    assert cli.ok("wait", "victim") == "137\n"


def test_unknown_container_is_an_engine_error(cli: Cli) -> None:
    for verb in ("rm", "stop", "start", "wait", "logs", "kill"):
        proc = cli(verb, "no-such-ctr")
        assert proc.returncode == 125, verb
        assert proc.stderr.startswith("Error: no container with name or ID"), proc.stderr
        assert "no-such-ctr" in proc.stderr


def test_usage_errors_exit_125(cli: Cli) -> None:
    for args in (["run"], ["run", "--bogus", IMAGE], ["ps", "--nope"],
                 ["run", "--network", "bridge", IMAGE]):
        proc = cli(*args)
        assert proc.returncode == 125 and proc.stderr.startswith("Error: "), args
    proc = cli("run", "--memory", "1k", IMAGE, "true")
    assert proc.returncode == 125 and "memory" in proc.stderr
    assert cli.all_ids() == []


# -- inspect, events, stats ---------------------------------------------------------------------
def test_inspect_containers_and_images(cli: Cli, image_id: str) -> None:
    ctr_id = cli.ok("create", "--name", "insp", "-e", "FOO=bar", "-l", "app=x",
                    "--memory", "64m", IMAGE, "echo", "hi").strip()
    [info] = json.loads(cli.ok("inspect", "insp"))
    assert info["Id"] == ctr_id and info["Name"] == "insp"
    assert info["State"]["Status"] == "created"
    assert "FOO=bar" in info["Config"]["Env"] and info["Config"]["Labels"] == {"app": "x"}
    assert info["Config"]["Cmd"] == ["echo", "hi"]
    assert info["HostConfig"]["Memory"] == 64 << 20
    both = json.loads(cli.ok("inspect", "insp", IMAGE))
    assert [x["Id"] for x in both] == [ctr_id, image_id]
    proc = cli("inspect", "insp", "nothing-here")
    assert proc.returncode == 125 and "nothing-here" in proc.stderr
    assert [x["Id"] for x in json.loads(proc.stdout)] == [ctr_id]


def test_events_list_the_lifecycle(cli: Cli) -> None:
    since = f"{time.time() - 1:.3f}"
    cli.ok("run", "--rm", "--name", "evt", IMAGE, "true")
    out = cli.ok("events", "--no-stream", "--since", since, "--filter", "container=evt",
                 "--format", "json")
    events = [json.loads(line) for line in out.splitlines()]
    actions = [e["Status"] for e in events]
    for action in ("create", "init", "start", "remove"):
        assert action in actions, actions
    assert actions.index("create") < actions.index("start") < actions.index("remove")
    assert {e["Name"] for e in events} == {"evt"}
    text = cli.ok("events", "--no-stream", "--since", since, "--filter", "event=start",
                  "--filter", "container=evt")
    assert len(text.splitlines()) == 1
    assert re.search(r" container start [0-9a-f]{64} \(image=localhost/busybox:latest, "
                     r"name=evt\)$", text.strip())
    # Streaming (the default) stops at --until.
    t0 = time.monotonic()
    out = cli.ok("events", "--since", since, "--until", f"{time.time() + 1:.3f}",
                 "--filter", "event=remove", "--filter", "container=evt", timeout=30)
    assert len(out.splitlines()) == 1 and time.monotonic() - t0 < 20
    proc = cli("events", "--no-stream", "--filter", "colour=blue")
    assert proc.returncode == 125 and "colour" in proc.stderr


def test_stats_of_a_running_container(cli: Cli) -> None:
    cli.ok("run", "-d", "--name", "spin", "--memory", "64m", IMAGE, "sh", "-c",
           "while true; do :; done")
    out = cli.ok("stats", "--no-stream", "spin")
    header, *rows = out.splitlines()
    assert re.split(r"\s{2,}", header) == ["ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %",
                                           "PIDS"]
    assert len(rows) == 1
    cells = re.split(r"\s{2,}", rows[0])
    assert cells[1] == "spin"
    assert float(cells[2].rstrip("%")) > 1.0  # a busy loop
    assert cells[3].endswith(" / 67.1MB")
    assert int(cells[5]) >= 1
    cli.ok("rm", "-f", "-t", "0", "spin")
    cli.ok("create", "--name", "idle", IMAGE, "true")
    proc = cli("stats", "--no-stream", "idle")
    assert proc.returncode == 125 and "not running" in proc.stderr


def test_pause_unpause_restart_top_mount_export(cli: Cli, tmp_path: Path) -> None:
    cid = cli.ok("run", "-d", "--name", "verbs", "localhost/busybox", "sleep", "1000").strip()
    assert cli.ok("pause", "verbs").strip() == "verbs"
    assert "Paused" in cli.ok("ps")
    cli.ok("unpause", "verbs")
    top = cli.ok("top", "verbs").splitlines()
    assert top[0].split()[:3] == ["USER", "PID", "PPID"] and "sleep 1000" in top[1]
    pid_before = json.loads(cli.ok("inspect", "verbs"))[0]["State"]["Pid"]
    cli.ok("restart", "-t", "0", "verbs")
    assert json.loads(cli.ok("inspect", "verbs"))[0]["State"]["Pid"] != pid_before
    path = cli.ok("mount", "verbs").strip()
    assert path.endswith("/merged") and cid in path
    cli.ok("umount", "verbs")
    out = tmp_path / "fs.tar"
    cli.ok("export", "-o", str(out), "verbs")
    with tarfile.open(out) as tar:
        assert "./bin/busybox" in tar.getnames()
    res = cli("umount", "verbs")  # the running container's own mount stays
    assert res.returncode == 125 and "running" in res.stderr
    cli.ok("rm", "-f", "-t", "0", "verbs")


def test_requires_and_restart_policy(cli: Cli) -> None:
    cli.ok("create", "--name", "dep", "localhost/busybox", "sleep", "1000")
    cli.ok("run", "-d", "--name", "app", "--requires", "dep", "--restart", "on-failure:1",
           "localhost/busybox", "sleep", "1000")
    info = json.loads(cli.ok("inspect", "dep", "app"))
    assert info[0]["State"]["Status"] == "running"  # started for its dependent
    assert info[1]["HostConfig"]["RestartPolicy"]["Name"] == "on-failure"
    res = cli("rm", "dep")
    assert res.returncode == 125 and "app" in res.stderr
    res = cli("run", "-d", "--restart", "sometimes", "localhost/busybox", "true")
    assert res.returncode == 125 and "restart policy" in res.stderr


class Pty:
    """The CLI on a real pseudo-terminal, as a person at a terminal would run it."""

    def __init__(self, argv: list[str], rows: int = 24, cols: int = 80) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                                     start_new_session=True, env={**os.environ,
                                                                  "PYTHONPATH": str(REPO)})
        os.close(slave)
        self.buf = b""

    def expect(self, pattern: bytes, timeout: float = 10) -> bytes:
        deadline = time.monotonic() + timeout
        while pattern not in self.buf:
            left = deadline - time.monotonic()
            assert left > 0, f"{pattern!r} not seen in {self.buf[-500:]!r}"
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:
                    chunk = b""
                assert chunk, f"EOF before {pattern!r}: {self.buf[-500:]!r}"
                self.buf += chunk
        return self.buf

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def resize(self, rows: int, cols: int) -> None:
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.killpg(self.proc.pid, signal.SIGWINCH)

    def close(self) -> int:
        code = self.proc.wait(20)
        os.close(self.master)
        return code


def test_run_it_gives_an_interactive_shell(cli: Cli) -> None:
    term = Pty(cli.argv("run", "-it", "--rm", "--name", "shell", "localhost/busybox", "sh"),
               rows=30, cols=100)
    term.expect(b"# ")
    term.send(b"stty size; echo $TERM\r")
    term.expect(b"30 100")
    term.expect(b"xterm")
    term.resize(40, 120)
    time.sleep(0.5)
    term.send(b"stty size\r")
    term.expect(b"40 120")
    term.send(b"exit 3\r")
    assert term.close() == 3
    assert "shell" not in cli.ok("ps", "-a")


def test_run_it_detach_keys_then_attach(cli: Cli) -> None:
    term = Pty(cli.argv("run", "-it", "--name", "det", "localhost/busybox", "sh"))
    term.expect(b"# ")
    term.send(b"\x10\x11")  # ctrl-p ctrl-q
    assert term.close() == 0
    assert "Up" in cli.ok("ps")
    again = Pty(cli.argv("attach", "det"))
    again.send(b"echo back-again\r")
    again.expect(b"back-again\r\nback-again")  # the echoed line, then the output
    again.send(b"exit 0\r")
    assert again.close() == 0
    cli.ok("rm", "-f", "-t", "0", "det")


def test_exec(cli: Cli) -> None:
    cli.ok("run", "-d", "--name", "ex", "localhost/busybox", "sleep", "1000")
    res = cli("exec", "ex", "sh", "-c", "echo out; echo err >&2; exit 5")
    assert (res.returncode, res.stdout, res.stderr) == (5, "out\n", "err\n")
    res = subprocess.run(cli.argv("exec", "-i", "ex", "cat"), input="piped\n",
                         capture_output=True, text=True, timeout=30)
    assert (res.returncode, res.stdout) == (0, "piped\n")
    res = cli("exec", "-e", "A=b", "-w", "/tmp", "-u", "65534", "ex", "sh", "-c",
              "echo $A $(pwd) $(id -u)")
    assert res.stdout == "b /tmp 65534\n"
    res = cli("exec", "ex", "/no/such/thing")
    assert res.returncode == 127 and "no/such/thing" in res.stderr
    term = Pty(cli.argv("exec", "-it", "ex", "sh"), rows=33, cols=77)
    term.expect(b"# ")
    term.send(b"stty size\r")
    term.expect(b"33 77")
    term.send(b"exit 2\r")
    assert term.close() == 2
    cli.ok("pause", "ex")
    res = cli("exec", "ex", "true")
    assert res.returncode == 125 and "paused" in res.stderr
    cli.ok("rm", "-f", "-t", "0", "ex")


def test_container_checkpoint_and_restore(cli: Cli, tmp_path: Path) -> None:
    cli.ok("run", "-d", "--name", "count", "localhost/busybox", "sh", "-c",
           "i=0; while :; do echo $i; i=$((i+1)); sleep 0.1; done")
    time.sleep(0.8)
    archive = tmp_path / "count.tar.gz"
    cli.ok("container", "checkpoint", "--export", str(archive), "count")
    state = json.loads(cli.ok("inspect", "count"))[0]["State"]
    assert state["Status"] == "exited" and state["Checkpointed"] is True
    before = [int(x) for x in cli.ok("logs", "count").split()]
    cli.ok("container", "restore", "count")
    time.sleep(0.5)
    after = [int(x) for x in cli.ok("logs", "count").split()]
    assert after[:len(before)] == before and after[len(before)] == before[-1] + 1
    new_id = cli.ok("restore", "--import", str(archive), "--name", "count2").strip()
    assert len(new_id) == 64
    time.sleep(0.5)
    assert int(cli.ok("logs", "--tail", "1", "count2")) > before[-1]
    res = cli("container", "restore", "count")
    assert res.returncode == 125 and "running" in res.stderr
    res = cli("container", "checkpoint", "-P", "count")
    assert res.returncode == 125 and "soft-dirty" in res.stderr
    cli.ok("rm", "-f", "-t", "0", "count", "count2")


def test_info_reports_criu_check(cli: Cli) -> None:
    info = json.loads(cli.ok("info", "--format", "json"))
    assert info["ok"] is True
    # CRIU may print warnings before its verdict (seen on a loaded machine).
    assert info["criu"]["check"]["ok"] is True
    assert info["criu"]["check"]["output"].endswith("Looks good."), info["criu"]["check"]
    assert info["runtime"]["version"].startswith("runc version")
    assert info["conmon"]["ok"] and info["store"]["images"] >= 1
    assert "criu:" in cli.ok("info")
