"""Where the engine does what the runtime would, without exec'ing it: pause/unpause through
the cgroup freezer, signals through a pidfd, and the stopper's claim that spares conmon's exit
command a Python start. Each must agree with runc's own view and fall back to runc."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from jupyter_ctr.engine import ContainerState, Runtime, cgroups, procinfo
from jupyter_ctr.engine.config import EngineConfig
from jupyter_ctr.engine.runtime import EXIT_SCRIPT
from tests.conftest import DEMO, wait_until

S = ContainerState
COUNTER = ["sh", "-c", "i=0; while :; do echo $i; i=$((i+1)); sleep 0.02; done"]


def runc_status(rt: Runtime, ctr_id: str) -> str | None:
    state = rt.oci.state(ctr_id)
    return None if state is None else str(state.get("status"))


def log_lines(ctr_id: str, rt: Runtime) -> int:
    return len(list(rt.lookup_container(ctr_id).logs()))


def test_pause_freezes_the_cgroup_and_runc_agrees(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, COUNTER)
    ctr.start()
    assert wait_until(lambda: log_lines(ctr.id, rt) > 2)
    ctr.pause()
    assert cgroups.is_frozen(ctr.cgroups_path)
    assert runc_status(rt, ctr.id) == "paused"
    frozen_at = log_lines(ctr.id, rt)
    time.sleep(0.3)
    assert log_lines(ctr.id, rt) == frozen_at, "a paused container kept printing"
    ctr.unpause()
    assert runc_status(rt, ctr.id) == "running"
    assert wait_until(lambda: log_lines(ctr.id, rt) > frozen_at + 2)
    # runc's own verbs work on what the engine froze, and the reverse.
    ctr.pause()
    subprocess.run(["runc", "--root", str(rt.run_root / "runc"), "resume", ctr.id], check=True)
    ctr.sync()
    assert ctr.state is S.RUNNING
    ctr.stop(timeout=0)
    assert ctr.state is S.EXITED


def test_the_runtime_does_it_when_shortcuts_are_off(engine_roots: tuple[Path, Path],
                                                    rt: Runtime) -> None:
    plain = Runtime(*engine_roots, config=EngineConfig(runtime_shortcuts=False))
    try:
        ctr = plain.create_container(DEMO, ["sleep", "1000"])
        ctr.start()
        ctr.pause()
        assert runc_status(plain, ctr.id) == "paused"
        ctr.unpause()
        assert runc_status(plain, ctr.id) == "running"
        ctr.kill("SIGKILL")
        assert ctr.state in (S.STOPPED, S.EXITED)
        ctr.start()
        ctr.stop(timeout=0)
        assert ctr.state is S.EXITED
    finally:
        plain.close()


def test_a_pause_of_a_gone_cgroup_asks_runc_which_says_why(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sleep", "1000"])
    ctr.start()
    # Gone behind the engine's back: the freezer is no more, so runc answers.
    subprocess.run(["runc", "--root", str(rt.run_root / "runc"), "kill", ctr.id, "9"],
                   check=True)
    assert wait_until(lambda: not procinfo.alive(ctr.inspect()["State"]["Pid"] or 0)
                      or ctr.state is not S.RUNNING)
    with pytest.raises(Exception) as info:
        ctr.pause()
    assert "running" in str(info.value)


def test_signals_reach_only_the_containers_own_process(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sleep", "1000"])
    ctr.start()
    pid = ctr.inspect()["State"]["Pid"]
    assert procinfo.signal_if_in_cgroup(pid, ctr.id, 0)
    # Our own process is not the container's: refused, and not signalled.
    assert not procinfo.signal_if_in_cgroup(os.getpid(), ctr.id, 15)
    assert not procinfo.signal_if_in_cgroup(0, ctr.id, 15)
    ctr.stop(timeout=0)
    assert not procinfo.signal_if_in_cgroup(pid, ctr.id, 0)


def test_a_stale_pid_in_the_record_is_never_signalled(rt: Runtime) -> None:
    """A pid that now names another process (here: this test) falls back to runc kill."""
    ctr = rt.create_container(DEMO, ["sleep", "1000"])
    ctr.start()
    state = rt.store.container_state(ctr.id)
    state["pid"] = os.getpid()
    rt.store.save_container_state(ctr.id, state)
    ctr.stop(timeout=0)  # we are still alive to see it
    assert ctr.state is S.EXITED


def _exit_script(claim: Path) -> int:
    return subprocess.run(["/bin/sh", "-c", EXIT_SCRIPT, "jupyter-ctr-exit", str(claim),
                           "/bin/false"]).returncode


def test_start_reads_the_exec_fifo_as_runc_start_does(rt: Runtime,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    ctr = rt.create_container(DEMO, ["sh", "-c", "echo up; sleep 1000"])
    ctr.init()
    fifo = rt.run_root / "runc" / ctr.id / "exec.fifo"
    assert fifo.is_fifo() and runc_status(rt, ctr.id) == "created"
    with caplog.at_level(logging.DEBUG, logger="jupyter_ctr.engine"):
        ctr.start()
    assert not [r for r in caplog.records if " start " in r.getMessage()], "runc start ran"
    assert not fifo.exists() and runc_status(rt, ctr.id) == "running"
    assert wait_until(lambda: [line.text for line in ctr.logs()] == ["up"])
    ctr.stop(timeout=0)
    assert ctr.state is S.EXITED


def test_the_exec_fifo_start_leaves_a_dead_init_to_runc(rt: Runtime) -> None:
    assert rt.oci._start_by_exec_fifo("0" * 64) is False  # no such container: runc says so
    ctr = rt.create_container(DEMO, ["sleep", "1000"])
    ctr.init()
    pid = ctr.inspect()["State"]["Pid"]
    os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: not procinfo.alive(pid))
    assert rt.oci._start_by_exec_fifo(ctr.id) is False
    rt.remove_container(ctr, force=True, timeout=0)


def test_exit_command_waits_for_a_live_claimer_and_runs_otherwise(tmp_path: Path) -> None:
    claim = tmp_path / "claim"
    assert _exit_script(claim) == 1, "no claim: the cleanup must run"
    # A live claimer that cleans up removes its claim: nothing left to do.
    claim.write_text(f"{os.getpid()} {procinfo.start_time(os.getpid())}\n")
    prelude = subprocess.Popen(["/bin/sh", "-c", EXIT_SCRIPT, "jupyter-ctr-exit", str(claim),
                                "/bin/false"])
    time.sleep(0.2)
    assert prelude.poll() is None, "the prelude must wait while the claimer lives"
    claim.unlink()
    assert prelude.wait(5) == 0
    # A claimer that gives up marks the claim released: the cleanup runs.
    claim.write_text(f"{os.getpid()} {procinfo.start_time(os.getpid())}\n")
    prelude = subprocess.Popen(["/bin/sh", "-c", EXIT_SCRIPT, "jupyter-ctr-exit", str(claim),
                                "/bin/false"])
    time.sleep(0.1)
    claim.write_text("released\n")
    assert prelude.wait(5) == 1
    # A dead claimer, or a garbled claim: the cleanup runs.
    dead = subprocess.Popen(["true"])
    dead.wait()
    claim.write_text(f"{dead.pid} 0\n")
    assert _exit_script(claim) == 1
    claim.write_text("")
    assert _exit_script(claim) == 1


def test_stop_claims_the_cleanup_and_does_it(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sleep", "1000"])
    ctr.start()
    token = rt.store.container_state(ctr.id)["run_token"]
    claims = rt.claim_path(ctr.id, token).parent
    ctr.stop(timeout=0)
    assert ctr.state is S.EXITED
    assert not list(claims.glob(f"{ctr.id}-*")), "a finished stop drops its claim"
    actions = [e.action for e in rt.events(filters={"container": [ctr.id]})]
    assert actions.count("cleanup") == 1, actions
    # The exit command's prelude (waiting on the claim) is gone: no Python cleanup ran.
    assert wait_until(lambda: not _exit_commands(ctr.id), 5), _exit_commands(ctr.id)


def test_a_stop_that_fails_hands_the_cleanup_back(rt: Runtime,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A stop that raises after its claim marks it released: the exit command cleans up."""
    from jupyter_ctr.engine import container as container_mod

    ctr = rt.create_container(DEMO, ["sleep", "1000"])
    ctr.start()

    def broken(self: object, run_token: str) -> None:
        raise RuntimeError("injected: the stopper fails after the exit")

    monkeypatch.setattr(container_mod.Container, "_finish_stop", broken)
    with pytest.raises(RuntimeError, match="injected"):
        ctr.stop(timeout=0)
    monkeypatch.undo()
    assert wait_until(lambda: rt.store.container_state(ctr.id)["state"] == "exited", 15)


def _exit_commands(ctr_id: str) -> list[str]:
    out = subprocess.run(["pgrep", "-af", f"jupyter-ctr-exit.*{ctr_id}"], capture_output=True,
                         text=True).stdout
    return out.splitlines()


def test_an_auto_remove_container_is_never_claimed(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sleep", "1000"], auto_remove=True)
    ctr.start()
    ctr_id = ctr.id
    ctr.stop(timeout=0)
    assert not list(rt.claims_dir.glob(f"{ctr_id}-*"))
    # The exit command removes it, as podman's cleanup process does with --rm.
    assert wait_until(lambda: ctr_id not in {c.id for c in rt.list_containers(all=True)}, 15)


def test_the_exit_command_gets_the_engines_settings(engine_roots: tuple[Path, Path],
                                                    rt: Runtime) -> None:
    """conmon's exit command runs without the engine's config: it gets the settings it needs
    (here a cgroup parent of its own) on its command line, and cleans up under them."""
    parent = f"/jupyter-ctr-t{os.getpid()}"
    custom = Runtime(*engine_roots, config=EngineConfig(cgroup_parent=parent,
                                                        runtime_shortcuts=False))
    try:
        argv = custom.exit_command("x" * 64, "tok")
        assert argv[argv.index("--cgroup-parent") + 1] == parent
        assert "--no-runtime-shortcuts" in argv
        ctr = custom.create_container(DEMO, ["sh", "-c", "exit 3"])
        ctr.start()
        cg = Path("/sys/fs/cgroup/memory") / parent.lstrip("/") / ctr.id
        assert wait_until(lambda: ctr.state is S.EXITED, 15), ctr.state
        assert ctr.inspect()["State"]["ExitCode"] == 3
        assert not cg.exists(), "the exit command left the container's cgroup"
    finally:
        custom.close()
        for hierarchy in Path("/sys/fs/cgroup").iterdir():
            with contextlib.suppress(OSError):
                (hierarchy / parent.lstrip("/")).rmdir()


def test_cleanup_deletes_a_dead_container_as_runc_delete_would(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sleep", "1000"])
    ctr.start()
    state_dir = rt.oci.state_dir / ctr.id
    assert state_dir.is_dir() and runc_status(rt, ctr.id) == "running"
    ctr.stop(timeout=0)
    assert not state_dir.exists()
    assert runc_status(rt, ctr.id) is None  # runc no longer knows it
    assert not cgroups.container_cgroup_dirs(ctr.cgroups_path)[0].exists()
    # ...and it starts again as if runc had deleted it.
    ctr.start()
    assert runc_status(rt, ctr.id) == "running"
    ctr.stop(timeout=0)


def test_plain_settings_and_engine_config_agree() -> None:
    """The CLI and the exit command use Settings, the server EngineConfig: same defaults."""
    from jupyter_ctr.engine.settings import Settings

    plain, configured = Settings(), EngineConfig()
    for name in ("root", "run_root", "runtime", "conmon", "criu", "cgroup_parent",
                 "runtime_shortcuts"):
        assert getattr(plain, name) == getattr(configured, name), name
