"""The magics in a real kernel (jupyter_client): output streams live into the cell, in order,
coalesced and bounded; exit codes and --check; interrupts during ``logs -f`` and a foreground
``run`` leave the container as podman would; bad input is one line, never a traceback."""

from __future__ import annotations

import os
import re
import threading

from jupyter_ctr.engine import ContainerState, NoSuchContainerError, Runtime
from tests.conftest import wait_until
from tests.magics.conftest import IMAGE, InterruptOn, Kernel, Message, streams, texts

#: A container that prints "first", then waits for a marker file that the test creates.
WAIT_FOR_MARKER = "sh -c 'echo first; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo last'"


def _state(rt: Runtime, name: str) -> ContainerState | None:
    try:
        return rt.lookup_container(name).state
    except NoSuchContainerError:
        return None


def test_first_line_arrives_while_the_container_still_runs(kernel: Kernel, rt: Runtime) -> None:
    seen: dict[str, object] = {}

    def on_message(msg: Message) -> None:
        if msg["msg_type"] == "stream" and "first" in msg["content"]["text"] and not seen:
            # The container cannot end before the marker exists: it is running now, and
            # "last" has not been printed.
            seen["state"] = _state(rt, "mfirst")
            ctr = rt.lookup_container("mfirst")
            seen["touch"] = ctr.exec(["touch", "/tmp/go"]).start_and_attach()

    msgs, reply = kernel.execute(f"%ctr run --name mfirst {IMAGE} {WAIT_FOR_MARKER}",
                                 on_message)
    assert seen == {"state": ContainerState.RUNNING, "touch": 0}
    assert reply["content"]["status"] == "ok"
    assert streams(msgs, "stdout") == "first\nlast\n"
    texts_in_order = [m["content"]["text"] for m in msgs if m["msg_type"] == "stream"]
    assert texts_in_order == ["first\n", "last\n"]  # two messages: "first" came alone
    assert "exit 0" in texts(msgs)


def test_exit_codes_stderr_and_check(kernel: Kernel) -> None:
    msgs, reply = kernel.execute(f"%ctr run --rm {IMAGE} sh -c 'echo out; echo err >&2; "
                                 "exit 3'")
    assert reply["content"]["status"] == "ok"
    assert (streams(msgs, "stdout"), streams(msgs, "stderr")) == ("out\n", "err\n")
    result = [m for m in msgs if m["msg_type"] == "execute_result"]
    assert "exit 3" in result[0]["content"]["data"]["text/plain"]
    assert "jctr-failed" in result[0]["content"]["data"]["text/html"]

    msgs, reply = kernel.execute(f"%%ctr run --rm --check {IMAGE} --out r\necho partial\n"
                                 "exit 4\n")
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "CtrMagicError"
    errors = [m for m in msgs if m["msg_type"] == "error"]
    assert len(errors) == 1 and len(errors[0]["content"]["traceback"]) == 1
    assert "exited with code 4" in errors[0]["content"]["traceback"][0]
    msgs, _ = kernel.execute("print(r.exit_code, repr(r.stdout))")
    assert streams(msgs) == "4 'partial\\n'\n"


def test_bad_input_is_one_line_without_traceback(kernel: Kernel) -> None:
    for line, message in [
        ("%ctr frob", "unknown verb 'frob'"),
        ("%ctr run --rm no-such-image", "no-such-image: image not known"),
        ("%ctr run --no-such-flag " + IMAGE, "unrecognized arguments: --no-such-flag"),
        ("%ctr stop no-such-ctr", "no container with name or ID 'no-such-ctr' found"),
    ]:
        msgs, reply = kernel.execute(line)
        assert reply["content"]["status"] == "ok"
        out = [m for m in msgs if m["msg_type"] in ("stream", "error", "execute_result",
                                                    "display_data")]
        assert len(out) == 1 and out[0]["content"]["name"] == "stderr", out
        text = out[0]["content"]["text"]
        assert text.startswith("Error: ") and text.count("\n") == 1 and message in text


def test_interrupt_during_logs_follow_leaves_the_container_running(kernel: Kernel,
                                                                   rt: Runtime) -> None:
    kernel.execute(f"%ctr run -d --name mfollow {IMAGE} sh -c 'while true; do echo tick; "
                   "sleep 0.1; done'")
    interrupt = InterruptOn(kernel, "tick")
    msgs, reply = kernel.execute("%ctr logs -f mfollow", interrupt)
    assert interrupt.done and reply["content"]["status"] == "ok"
    assert "[stopped following mfollow: it keeps running]" in streams(msgs, "stderr")
    assert "Traceback" not in texts(msgs)
    assert _state(rt, "mfollow") is ContainerState.RUNNING
    msgs, _ = kernel.execute("print('still alive')")  # the kernel goes on
    assert streams(msgs) == "still alive\n"


def test_interrupt_during_foreground_run(kernel: Kernel, rt: Runtime) -> None:
    """--rm: stopped and removed (as podman); without --rm: it keeps running, detached."""
    for rm, name in ((True, "mrm"), (False, "mkeep")):
        interrupt = InterruptOn(kernel, "started")
        msgs, reply = kernel.execute(
            f"%ctr run {'--rm ' if rm else ''}--name {name} --stop-timeout 1 {IMAGE} "
            "sh -c 'echo started; while true; do sleep 0.1; done'", interrupt)
        assert interrupt.done and reply["content"]["status"] == "ok"
        assert "Traceback" not in texts(msgs)
        if rm:
            assert "[interrupted: mrm was stopped and removed]" in streams(msgs, "stderr")
            assert _state(rt, name) is None
        else:
            assert "[interrupted: mkeep keeps running" in streams(msgs, "stderr")
            assert _state(rt, name) is ContainerState.RUNNING
        assert "interrupted" in texts([m for m in msgs if m["msg_type"] == "execute_result"])


def test_interrupt_during_exec_cell_leaves_the_session(kernel: Kernel, rt: Runtime) -> None:
    kernel.execute(f"%ctr run -d --name mexec {IMAGE} sleep 1000")
    interrupt = InterruptOn(kernel, "in exec")
    msgs, reply = kernel.execute("%%ctr exec mexec\necho in exec\nsleep 1000\n", interrupt)
    assert interrupt.done and reply["content"]["status"] == "ok"
    assert "keeps running in mexec" in streams(msgs, "stderr")
    sessions = rt.lookup_container("mexec").exec_sessions()
    assert [s.command for s in sessions] == [["sh"]]


def test_100000_lines_are_coalesced_and_elided(kernel: Kernel) -> None:
    kernel.execute("%config CtrMagics.capture_limit = 100000")  # the result keeps 2 x 50 kB
    msgs, reply = kernel.execute(f"%%ctr run --name mflood {IMAGE} --out flood\n"
                                 "seq 1 100000\n")
    assert reply["content"]["status"] == "ok"
    n_streams = sum(1 for m in msgs if m["msg_type"] == "stream")
    n_displays = sum(1 for m in msgs if m["msg_type"] in ("display_data",
                                                          "update_display_data"))
    assert n_streams + n_displays < 200, (n_streams, n_displays)
    shown = streams(msgs, "stdout")
    head = shown.splitlines()
    assert head[:3] == ["1", "2", "3"] and len(head) == 5000  # CtrMagics.output_limit
    final = [m for m in msgs if m["msg_type"] in ("display_data", "update_display_data")][-1]
    tail = final["content"]["data"]["text/plain"]
    note = re.match(r"\[\.\.\. ([\d,]+) lines elided: see %ctr logs mflood \.\.\.\]\n", tail)
    assert note, tail[:200]
    kept = tail[note.end():].splitlines()
    assert kept[-2:] == ["99999", "100000"]
    assert int(note.group(1).replace(",", "")) + 5000 + len(kept) == 100000
    msgs, _ = kernel.execute("print(flood.exit_code, flood.stdout.startswith('1\\n2\\n'), "
                             "flood.stdout.endswith('99999\\n100000\\n'), "
                             "flood.stdout_elided, 'bytes elided' in flood.stdout)")
    assert streams(msgs) == f"0 True True {588895 - 100000} True\n"
    kernel.execute("%config CtrMagics.capture_limit = 1048576")
    msgs, _ = kernel.execute("%ctr logs --tail 2 mflood")  # the full output is in the log
    assert streams(msgs, "stdout") == "99999\n100000\n"


def test_progress_lines_and_colours_are_kept(kernel: Kernel) -> None:
    msgs, _ = kernel.execute(f"%%ctr run --rm {IMAGE}\nprintf '10%%\\r50%%\\r100%%\\n'\n"
                             "printf '\\033[31mred\\033[0m\\n'\n")
    assert streams(msgs, "stdout") == "10%\r50%\r100%\n\x1b[31mred\x1b[0m\n"


def test_interrupt_during_events_stops_following(kernel: Kernel) -> None:
    kernel.execute(f"%ctr run --rm {IMAGE} true")
    interrupt = InterruptOn(kernel, "container")  # the stored events come first
    msgs, reply = kernel.execute("%ctr events --since 10m", interrupt)
    assert interrupt.done and reply["content"]["status"] == "ok"
    assert "[stopped following events]" in streams(msgs, "stderr")
    assert "Traceback" not in texts(msgs)


def _fds_and_threads(pid: int) -> tuple[list[str], int]:
    fds = sorted(os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd"))
    return fds, len(os.listdir(f"/proc/{pid}/task"))


def test_no_fd_or_thread_left_in_the_kernel(kernel: Kernel, rt: Runtime) -> None:
    pid = kernel.km.provisioner.pid  # type: ignore[union-attr]
    kernel.execute(f"%ctr run --rm {IMAGE} echo warm")
    before = _fds_and_threads(pid)
    kernel.execute(f"%ctr run -d --name mleak {IMAGE} sh -c 'while true; do echo x; "
                   "sleep 0.1; done'")
    steps = [  # (code, the stream text on which to interrupt it, or None)
        (f"%ctr run --rm {IMAGE} echo hi", None), ("%%ctr exec mleak\necho in\n", None),
        (f"%%ctr run --rm {IMAGE}\nseq 1 20000\n", None), ("%ctr logs mleak", None),
        ("%ctr attach mleak", "x"), ("%ctr logs -f mleak", "x"),
        ("%ctr exec mleak sh -c 'echo exec-started; sleep 100'", "exec-started"),
        (f"%ctr run --rm {IMAGE} sh -c 'echo run-started; sleep 100'", "run-started"),
    ]
    for code, text in steps:
        interrupt = InterruptOn(kernel, text) if text else None
        msgs, reply = kernel.execute(code, interrupt)
        assert reply["content"]["status"] == "ok", (code, reply["content"])
        assert interrupt is None or interrupt.done, code
    kernel.execute("%ctr rm -f -t 0 mleak")
    assert wait_until(lambda: _fds_and_threads(pid) == before, 10), \
        (before, _fds_and_threads(pid))


def test_interrupt_outside_streaming_is_one_line(kernel: Kernel, rt: Runtime) -> None:
    """An interrupt while a verb waits without streaming (``wait``) is one line, no
    traceback; the container is untouched."""
    kernel.execute(f"%ctr run -d --name mwait {IMAGE} sleep 100")
    timer = threading.Timer(1.5, kernel.km.interrupt_kernel)
    timer.start()
    try:
        msgs, reply = kernel.execute("%ctr wait mwait")
    finally:
        timer.cancel()
    assert reply["content"]["status"] == "ok"
    assert "[interrupted]" in streams(msgs, "stderr")
    assert "Traceback" not in texts(msgs)
    assert rt.lookup_container("mwait").state is ContainerState.RUNNING
