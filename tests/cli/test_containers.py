"""Container lifecycle commands (cli/commands/containers.py) as the command line."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

from tests.cli.conftest import IMAGE, Cli


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
