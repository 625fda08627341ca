"""procinfo's kill helpers: conmon is killed only while the pid still is that monitor."""

from __future__ import annotations

import subprocess
import sys

from jupyter_ctr.engine import procinfo

IDENT = "f" * 64


def sleeper(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", *args])


def test_kill_conmon_only_kills_the_named_monitor() -> None:
    other, monitor = sleeper(), sleeper("-c", IDENT)  # the id on its command line
    try:
        assert not procinfo.kill_conmon(other.pid, IDENT)  # a reused pid: left alone
        assert procinfo.alive(other.pid)
        assert procinfo.kill_conmon(monitor.pid, IDENT)
        assert not procinfo.alive(monitor.pid)  # waited for (a zombie until reaped)
        assert not procinfo.kill_conmon(monitor.pid, IDENT)  # gone: nothing to do
        assert not procinfo.kill_conmon(0, IDENT)
    finally:
        for proc in (other, monitor):
            proc.kill()
            proc.wait()


def test_kill_and_wait() -> None:
    procs = [sleeper(), sleeper()]
    try:
        procinfo.kill_and_wait([p.pid for p in procs], 5.0)
        assert not any(procinfo.alive(p.pid) for p in procs)
    finally:
        for proc in procs:
            proc.wait()
