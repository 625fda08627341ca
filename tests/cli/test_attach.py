"""run, attach and exec (cli/commands/attach.py) as the command line: foreground runs, their
output and exit codes, Ctrl-C, and a real terminal (raw mode, detach keys, resize)."""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import termios
import time

from tests.cli.conftest import FULL_ID, IMAGE, REPO, Cli
from tests.conftest import wait_until


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


def test_ctrl_c_stops_and_removes_a_foreground_run(cli: Cli) -> None:
    proc = cli.popen("run", "--rm", "--stop-timeout", "1", IMAGE, "sh", "-c",
                     "echo started; sleep 100")
    assert proc.stdout is not None and proc.stdout.readline() == "started\n"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 137, err  # SIGTERM ignored by pid 1, killed after 1 s
    assert cli.all_ids() == []


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
