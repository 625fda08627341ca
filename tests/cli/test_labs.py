"""``jupyter-ctr lab ls|start|stop|reset|rm`` and ``run --lab``: a per-container table, exit
125 when any container failed (the others are still done). Run remotely too
(tests/client/test_cli_remote.py)."""

from __future__ import annotations

import json

from jupyter_ctr.engine import Runtime

from .conftest import IMAGE, Cli


def states(cli: Cli, *names: str) -> list[str]:
    return [cli.ok("inspect", "--type", "container", "-f", "{{.State.Status}}", n).strip()
            for n in names]


def test_lab_ls_stop_start_rm(cli: Cli) -> None:
    for name in ("la-1", "la-2"):
        cli.ok("run", "-d", "--name", name, "--lab", "cli-lab", IMAGE, "sleep", "1000")
    cli.ok("run", "-d", "--name", "lb-1", "-l", "jupyter-ctr.lab=cli-other", IMAGE,
           "sleep", "1000")
    # la-3 needs dep running: its start fails, and says why
    cli.ok("create", "--name", "dep", IMAGE, "sleep", "1000")
    cli.ok("create", "--name", "la-3", "--lab", "cli-lab", "--requires", "dep", IMAGE,
           "sleep", "1000")
    labs = json.loads(cli.ok("lab", "ls", "--format", "json"))
    assert {"Name": "cli-lab", "Containers": 3, "Running": 2, "Owners": ["root"]} in labs
    table = cli.ok("lab", "ls").splitlines()
    assert table[0].split() == ["LAB", "CONTAINERS", "RUNNING", "OWNERS"]
    assert ["cli-lab", "3", "2", "root"] in [line.split() for line in table[1:]]

    out = cli.ok("lab", "stop", "-t", "0", "cli-lab").splitlines()
    assert out[0].split() == ["CONTAINER", "ID", "NAME", "OWNER", "RESULT"]
    rows = {line.split()[1]: line.split()[3:] for line in out[1:]}
    assert rows == {"la-1": ["ok"], "la-2": ["ok"], "la-3": ["ok"]}
    assert states(cli, "la-1", "la-2", "lb-1") == ["exited", "exited", "running"]

    proc = cli("lab", "start", "cli-lab")
    assert proc.returncode == 125, proc
    rows = {line.split()[1]: " ".join(line.split()[3:]) for line in proc.stdout.splitlines()[1:]}
    assert rows["la-1"] == rows["la-2"] == "ok"
    assert rows["la-3"].startswith("error: ") and "dependencies" in rows["la-3"]
    assert states(cli, "la-1", "la-2") == ["running", "running"]

    results = json.loads(cli.ok("lab", "rm", "-t", "0", "--format", "json", "cli-lab"))
    assert sorted(r["Name"] for r in results) == ["la-1", "la-2", "la-3"]
    assert all(r["Ok"] for r in results)
    assert "la-1" not in cli.ok("ps", "-a", "--format", "{{.Names}}").split()


def test_lab_errors(cli: Cli) -> None:
    proc = cli("lab", "stop", "no-such-lab")
    assert proc.returncode == 125 and "no-such-lab" in proc.stderr and proc.stdout == ""
    cli.ok("create", "--name", "lc-1", "--lab", "cli-err", IMAGE, "sleep", "1000")
    proc = cli("lab", "reset", "cli-err")  # a reset needs --step
    assert proc.returncode == 125 and "step" in proc.stderr and proc.stdout == ""


def test_lab_reset(cli: Cli) -> None:
    for name in ("lr-1", "lr-2"):
        cli.ok("run", "-d", "--name", name, "--lab", "cli-reset", IMAGE, "sleep", "1000")
    rt = Runtime(cli.root, cli.run_root)
    try:
        for name in ("lr-1", "lr-2"):
            rt.lookup_container(name).snapshot("s1")
    finally:
        rt.close()
    for name in ("lr-1", "lr-2"):
        cli.ok("exec", name, "touch", "/changed")
    out = cli.ok("lab", "reset", "--step", "s1", "cli-reset", timeout=180).splitlines()
    assert [line.split()[-1] for line in out[1:]] == ["ok", "ok"], out
    for name in ("lr-1", "lr-2"):
        assert cli("exec", name, "test", "-e", "/changed").returncode == 1
    proc = cli("lab", "reset", "--step", "nosuch", "cli-reset", timeout=180)
    assert proc.returncode == 125 and proc.stdout.count("error: ") == 2, proc
