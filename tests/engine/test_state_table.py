"""Every verb in every state: allowed (and the state it leaves), or exactly which error."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from jupyter_ctr.engine import (
    Container,
    ContainerRunningError,
    ContainerState,
    ContainerStateInvalidError,
    ContainerStoppedError,
    Runtime,
)
from tests.conftest import DEMO, wait_until

S = ContainerState


class NoExitCommandRuntime(Runtime):
    """Fault injection: no conmon exit command, so an exited container stays STOPPED."""

    def exit_command(self, ctr_id: str, run_token: str = "") -> list[str]:
        return []


def _make(rt: Runtime, state: ContainerState) -> Iterator[Container]:
    """Yield a container in ``state`` (STOPPING is held by a stop running in a thread)."""
    cmd = ["sh", "-c", "trap '' TERM; sleep 1000"] if state is S.STOPPING else ["sleep", "1000"]
    ctr = rt.create_container(DEMO, cmd)
    stopper = None
    if state is S.CREATED:
        ctr.init()
    elif state is S.RUNNING:
        ctr.start()
    elif state is S.PAUSED:
        ctr.start()
        ctr.pause()
    elif state is S.EXITED:
        ctr.start()
        ctr.stop(timeout=0)
    elif state is S.STOPPED:
        ctr.start()
        rt.oci.kill(ctr.id, 9)
        assert wait_until(lambda: ctr.state is S.STOPPED)
    elif state is S.STOPPING:
        ctr.start()
        stopper = threading.Thread(target=ctr.stop, kwargs={"timeout": 3})
        stopper.start()
        assert wait_until(lambda: ctr.state is S.STOPPING)
    assert ctr.state is state
    yield ctr
    if stopper is not None:
        stopper.join()


# (verb, state) -> expected: a ContainerState it leaves, or the exception type.
OK, E_INV, E_RUN, E_STOP = "ok", ContainerStateInvalidError, ContainerRunningError, \
    ContainerStoppedError

TABLE: dict[str, dict[ContainerState, object]] = {
    "init": {S.CONFIGURED: S.CREATED, S.CREATED: E_INV, S.RUNNING: E_INV, S.PAUSED: E_INV,
             S.STOPPED: S.CREATED, S.EXITED: S.CREATED, S.STOPPING: E_INV},
    "start": {S.CONFIGURED: S.RUNNING, S.CREATED: S.RUNNING, S.RUNNING: E_RUN,
              S.PAUSED: E_INV, S.STOPPED: S.RUNNING, S.EXITED: S.RUNNING, S.STOPPING: E_INV},
    "stop": {S.CONFIGURED: E_INV, S.CREATED: S.EXITED, S.RUNNING: S.EXITED, S.PAUSED: S.EXITED,
             S.STOPPED: E_STOP, S.EXITED: E_STOP, S.STOPPING: S.EXITED},
    "kill": {S.CONFIGURED: E_INV, S.CREATED: E_INV, S.RUNNING: OK, S.PAUSED: OK,
             S.STOPPED: E_INV, S.EXITED: E_INV, S.STOPPING: OK},
    "cleanup": {S.CONFIGURED: S.CONFIGURED, S.CREATED: S.CONFIGURED, S.RUNNING: E_INV,
                S.PAUSED: E_INV, S.STOPPED: S.EXITED, S.EXITED: S.EXITED, S.STOPPING: OK},
    "remove": {S.CONFIGURED: OK, S.CREATED: OK, S.RUNNING: E_INV, S.PAUSED: E_INV,
               S.STOPPED: OK, S.EXITED: OK, S.STOPPING: E_INV},
    "remove_force": {s: OK for s in (S.CONFIGURED, S.CREATED, S.RUNNING, S.PAUSED, S.STOPPED,
                                     S.EXITED, S.STOPPING)},
    "stats": {S.CONFIGURED: E_INV, S.CREATED: E_INV, S.RUNNING: OK, S.PAUSED: OK,
              S.STOPPED: E_INV, S.EXITED: E_INV, S.STOPPING: E_INV},
    "pause": {S.CONFIGURED: E_INV, S.CREATED: E_INV, S.RUNNING: S.PAUSED, S.PAUSED: E_INV,
              S.STOPPED: E_INV, S.EXITED: E_INV, S.STOPPING: E_INV},
    "unpause": {S.CONFIGURED: E_INV, S.CREATED: E_INV, S.RUNNING: E_INV, S.PAUSED: S.RUNNING,
                S.STOPPED: E_INV, S.EXITED: E_INV, S.STOPPING: E_INV},
    "restart": {S.CONFIGURED: S.RUNNING, S.CREATED: S.RUNNING, S.RUNNING: S.RUNNING,
                S.PAUSED: E_INV, S.STOPPED: S.RUNNING, S.EXITED: S.RUNNING, S.STOPPING: E_INV},
    "mount": {s: OK for s in (S.CONFIGURED, S.CREATED, S.RUNNING, S.PAUSED, S.STOPPED,
                              S.EXITED, S.STOPPING)},
    "unmount": {S.CONFIGURED: S.CONFIGURED, S.CREATED: E_INV, S.RUNNING: E_INV,
                S.PAUSED: E_INV, S.STOPPED: E_INV, S.EXITED: S.EXITED, S.STOPPING: E_INV},
    "export": {s: OK for s in (S.CONFIGURED, S.CREATED, S.RUNNING, S.PAUSED, S.STOPPED,
                               S.EXITED, S.STOPPING)},
    "inspect": {s: OK for s in (S.CONFIGURED, S.CREATED, S.RUNNING, S.PAUSED, S.STOPPED,
                                S.EXITED, S.STOPPING)},
    "sync": {s: OK for s in (S.CONFIGURED, S.CREATED, S.RUNNING, S.PAUSED, S.STOPPED,
                             S.EXITED, S.STOPPING)},
}

VERBS: dict[str, Callable[[Runtime, Container], object]] = {
    "init": lambda rt, c: c.init(),
    "start": lambda rt, c: c.start(),
    "stop": lambda rt, c: c.stop(timeout=0),
    "kill": lambda rt, c: c.kill("SIGKILL"),
    "cleanup": lambda rt, c: c.cleanup(),
    "remove": lambda rt, c: rt.remove_container(c),
    "remove_force": lambda rt, c: rt.remove_container(c, force=True, timeout=0),
    "stats": lambda rt, c: c.stats(),
    "inspect": lambda rt, c: c.inspect(),
    "pause": lambda rt, c: c.pause(),
    "unpause": lambda rt, c: c.unpause(),
    "restart": lambda rt, c: c.restart(timeout=0),
    "mount": lambda rt, c: c.mount(),
    "unmount": lambda rt, c: c.unmount(),
    "export": lambda rt, c: c.export(io.BytesIO()),
    "sync": lambda rt, c: c.sync(),
}

CASES = [(verb, state) for verb, row in TABLE.items() for state in row]


@pytest.mark.parametrize(("verb", "state"), CASES, ids=[f"{v}-{s.value}" for v, s in CASES])
def test_verb_in_state(engine_roots, verb: str, state: ContainerState) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import leftovers

    rt = NoExitCommandRuntime(*engine_roots)
    expected = TABLE[verb][state]
    gen = _make(rt, state)
    ctr = next(gen)
    try:
        before = ctr.inspect()["State"]["Status"]
        if isinstance(expected, type) and issubclass(expected, Exception):
            with pytest.raises(expected) as info:
                VERBS[verb](rt, ctr)
            msg = str(info.value)
            assert ctr.id[:12] in msg, msg  # the message names the container...
            assert state.value in msg or before in msg, msg  # ...and its state
            if state is not S.STOPPING:
                assert ctr.state is state  # a refused verb changes nothing
        else:
            VERBS[verb](rt, ctr)
            if verb.startswith("remove"):
                assert all(c.id != ctr.id for c in rt.list_containers(all=True))
            elif isinstance(expected, ContainerState):
                assert ctr.state is expected
    finally:
        for _ in gen:
            pass
        ids = {ctr.id}
        for c in rt.list_containers(all=True):
            rt.remove_container(c, force=True, timeout=0)
        assert wait_until(lambda: not any(leftovers(rt, ids).values())), leftovers(rt, ids)
        rt.close()


def test_stop_default_timeout_escalates_to_sigkill(rt: Runtime) -> None:
    """busybox sh as PID 1 ignores SIGTERM: stop waits the timeout, then kills."""
    ctr = rt.create_container(DEMO, ["sh", "-c", "trap '' TERM; sleep 1000"], stop_timeout=1)
    ctr.start()
    t0 = time.monotonic()
    ctr.stop()
    elapsed = time.monotonic() - t0
    assert 0.9 < elapsed < 5
    info = ctr.inspect()["State"]
    assert info["Status"] == "exited" and info["ExitCode"] == 137


def test_stop_signal_honoured(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sh", "-c", "trap 'exit 7' USR1; while :; do sleep 0.1; done"],
                              stop_signal="SIGUSR1")
    ctr.start()
    time.sleep(0.3)  # let the shell install its trap
    ctr.stop(timeout=10)
    assert ctr.wait() == 7
