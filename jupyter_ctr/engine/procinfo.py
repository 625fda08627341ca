"""Processes as /proc shows them: rows for ``top`` like podman's psgo (user, pids, cpu, times),
and the liveness checks used on conmon and container pids."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

_CLK_TCK = os.sysconf("SC_CLK_TCK")


def _boot_time() -> float:
    with open("/proc/stat") as fh:
        for line in fh:
            if line.startswith("btime "):
                return float(line.split()[1])
    return 0.0


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m}m{s}s" if h else (f"{m}m{s}s" if m else f"{s}s")


def _user_name(uid: int, passwd: dict[int, str] | None = None) -> str:
    return (passwd or {}).get(uid, str(uid))


def ps_row(pid: int, passwd: dict[int, str] | None = None) -> list[str] | None:
    """USER, PID, PPID, %CPU, ELAPSED, TTY, TIME, COMMAND of one host pid (None if gone).

    PID and PPID are the ids inside the container's pid namespace, as podman shows them.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode(errors="replace")
        with open(f"/proc/{pid}/status") as fh:
            status = fh.read()
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmdline = fh.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    comm = stat[stat.index("(") + 1:stat.rindex(")")]
    utime, stime = int(fields[11]), int(fields[12])
    start_ticks = int(fields[19])
    tty_nr = int(fields[4])
    uid, nspid, nsppid = 0, pid, 0
    for line in status.splitlines():
        if line.startswith("Uid:"):
            uid = int(line.split()[1])
        elif line.startswith("NSpid:"):
            nspid = int(line.split()[-1])
    ppid_host = int(fields[1])
    try:
        with open(f"/proc/{ppid_host}/status") as fh:
            for line in fh:
                if line.startswith("NSpid:"):
                    parts = line.split()
                    nsppid = int(parts[-1]) if len(parts) > 2 else 0
    except OSError:
        nsppid = 0
    elapsed = max(time.time() - (_boot_time() + start_ticks / _CLK_TCK), 0.001)
    cpu_seconds = (utime + stime) / _CLK_TCK
    tty = "?" if tty_nr == 0 else f"pts/{(tty_nr & 0xFF) | ((tty_nr >> 12) & 0xFFF00)}"
    return [_user_name(uid, passwd), str(nspid), str(nsppid),
            f"{100.0 * cpu_seconds / elapsed:.3f}", _duration(elapsed), tty,
            _duration(cpu_seconds), cmdline or f"[{comm}]"]


# -- pid helpers ------------------------------------------------------------------------------
def alive(pid: int) -> bool:
    """True for a live process; pid 0, a gone pid and a zombie (exited, not reaped) are not."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = read_small(f"/proc/{pid}/stat")
        return stat.rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


def read_small(path: str) -> bytes:
    """The first 4 KiB of a small kernel file (/proc, /sys), without Python's buffered file
    objects: a list checks a few of these per container."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return os.read(fd, 4096)
    finally:
        os.close(fd)


def is_conmon(pid: int, ident: str) -> bool:
    """Whether ``pid``'s command line names ``ident`` (a container or exec session id): the
    conmon we started, not a process that got its pid after it was gone."""
    return _proc_file_has(pid, "cmdline", ident)


def kill_and_wait(pids: list[int], timeout: float) -> None:
    """SIGKILL each of ``pids``, then wait up to ``timeout`` seconds until all are gone."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.002)


def kill_conmon(pid: int, ident: str, timeout: float = 2.0) -> bool:
    """SIGKILL the conmon ``pid`` if it still is the monitor of ``ident`` (a container or exec
    session id: not a process that got the pid after it) and wait for it to go. False when
    there was none to kill."""
    if not pid or not alive(pid) or not is_conmon(pid, ident):
        return False
    kill_and_wait([pid], timeout)
    return True


def in_cgroup_of(pid: int, ctr_id: str) -> bool:
    """Whether ``pid`` still is a process of the container (guards against pid reuse)."""
    return _proc_file_has(pid, "cgroup", ctr_id)


def start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (``/proc/PID/stat`` field 22), as
    text: with the pid it names one process, pid reuse or not. "" when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return ""


def signal_if_in_cgroup(pid: int, ctr_id: str, signum: int) -> bool:
    """Send ``signum`` to ``pid`` through a pidfd if the process belongs to the container's
    cgroup: what ``runc kill`` does for the init process, without a runtime exec. The pidfd
    pins the process, so the cgroup check cannot be fooled by pid reuse. False when the
    process is gone or is not the container's (the caller asks the runtime then)."""
    if not pid:
        return False
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return False
    try:
        if not in_cgroup_of(pid, ctr_id):
            return False
        signal.pidfd_send_signal(fd, signum)
        return True
    except ProcessLookupError:
        return False
    finally:
        os.close(fd)


def _proc_file_has(pid: int, name: str, text: str) -> bool:
    try:
        with open(f"/proc/{pid}/{name}", "rb") as fh:
            return text.encode() in fh.read()
    except OSError:
        return False


def read_int(path: Path) -> int:
    """The integer in a file such as a pidfile; 0 when it is missing, empty or garbled."""
    try:
        return int(path.read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def _cmdline(pid: int) -> list[bytes]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().split(b"\0")[:-1]
    except OSError:
        return []


def runtime_helpers(ctr_id: str, runtime_name: str) -> tuple[list[int], list[int]]:
    """Processes outside the container that work on it: its conmon monitors (not exec
    sessions') and runtime commands (``runc create|start|restore ... ID``).

    A verb killed mid-way leaves these running; the runtime command's children (CRIU) end
    with it. Reads every ``/proc/PID/cmdline``: meant for recovery, not for the fast path.
    """
    ident = ctr_id.encode()
    runtime = runtime_name.encode()
    me = os.getpid()
    conmons: list[int] = []
    commands: list[int] = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        if pid == me:
            continue
        argv = _cmdline(pid)
        if not argv or ident not in argv:
            continue
        prog = os.path.basename(argv[0])
        if prog == b"conmon":
            if b"-e" not in argv and b"--exec" not in argv and alive(pid):
                conmons.append(pid)
        elif prog == runtime and argv[-1] == ident and alive(pid):
            commands.append(pid)
    return conmons, commands


def owner_tag(sep: str = "-") -> str:
    """``PID-STARTTIME`` of this process: put in the name of a file or directory it owns (or,
    with ``sep=" "``, in a claim or record), so that whoever finds it knows, with no timing
    guess, when its owner is gone (``owner_alive``)."""
    pid = os.getpid()
    return f"{pid}{sep}{start_time(pid)}"


def owner_alive(pid: int | str, start: str) -> bool:
    """Whether the process named by an owner tag lives (a reused pid has another start)."""
    try:
        return bool(start) and start_time(int(pid)) == start.strip()
    except ValueError:
        return False


def age(pid: int) -> float:
    """Seconds since ``pid`` started (0.0 when it is gone)."""
    ticks = start_time(pid)
    if not ticks:
        return 0.0
    with open("/proc/uptime") as fh:
        uptime = float(fh.read().split()[0])
    return max(uptime - int(ticks) / _CLK_TCK, 0.0)


def host_memory() -> int:
    """The host's memory in bytes (``MemTotal`` of /proc/meminfo); 0 if unreadable."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def host_cpu_ns() -> int:
    """Host CPU time in ns since boot (the sum of /proc/stat's ``cpu`` line: Docker's
    ``system_cpu_usage``); 0 if unreadable."""
    try:
        with open("/proc/stat") as fh:
            fields = fh.readline().split()
    except OSError:
        return 0
    if not fields or fields[0] != "cpu":
        return 0
    try:
        return sum(int(v) for v in fields[1:9]) * 1_000_000_000 // _CLK_TCK
    except ValueError:
        return 0
