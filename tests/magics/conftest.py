"""The magics' test harness: an in-process IPython shell with ``%load_ext jupyter_ctr`` on
the tests' engine roots (``ip``), and a real kernel started through jupyter_client with the
roots in its environment (``kernel``: execute code, collect its iopub messages)."""

from __future__ import annotations

import os
import queue
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from jupyter_client.manager import KernelManager

from jupyter_ctr import kernel as kernel_engine
from jupyter_ctr.engine import Runtime
from jupyter_ctr.magics import CtrMagics, registered

REPO = Path(__file__).resolve().parents[2]
IMAGE = "localhost/busybox:latest"

Message = dict[str, Any]


@pytest.fixture
def ip(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    """IPython's shell in this process with the magics, the kernel's engine being the ``rt``
    fixture's (whose teardown removes every container and checks that nothing is left)."""
    monkeypatch.setattr(kernel_engine, "_current", None)
    kernel_engine.use(rt)
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "jupyter_ctr")
    assert isinstance(registered(shell), CtrMagics)
    yield shell


class Kernel:
    """A python3 kernel of this venv, running this checkout, on the tests' engine roots."""

    def __init__(self, roots: tuple[Path, Path]) -> None:
        env = dict(os.environ, JUPYTER_CTR_ROOT=str(roots[0]), JUPYTER_CTR_RUNROOT=str(roots[1]),
                   PYTHONPATH=str(REPO))
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(env=env)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)
        self.execute("%load_ext jupyter_ctr")

    def execute(self, code: str, on_message: Callable[[Message], None] | None = None,
                timeout: float = 90) -> tuple[list[Message], Message]:
        """Run ``code``; its iopub messages (``on_message`` sees each as it arrives) until
        the kernel is idle again, and the execute_reply."""
        msg_id = self.kc.execute(code)
        msgs: list[Message] = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                msg = self.kc.get_iopub_msg(timeout=max(deadline - time.monotonic(), 0.1))
            except queue.Empty:
                self.km.interrupt_kernel()  # leave it usable for the next test
                raise AssertionError(f"no idle after {timeout} s: {msgs[-5:]}") from None
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            msgs.append(msg)
            if on_message is not None:
                on_message(msg)
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        reply = self.kc.get_shell_msg(timeout=30)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.kc.get_shell_msg(timeout=30)
        return msgs, reply

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


@pytest.fixture(scope="module")
def kernel(engine_roots: tuple[Path, Path]) -> Iterator[Kernel]:
    k = Kernel(engine_roots)
    yield k
    k.close()


def streams(msgs: list[Message], name: str | None = None) -> str:
    """The text of the stream messages (of one stream, if ``name``)."""
    return "".join(m["content"]["text"] for m in msgs if m["msg_type"] == "stream"
                   and (name is None or m["content"]["name"] == name))


def texts(msgs: list[Message]) -> str:
    """Every text the messages carry (streams, displays, results, errors)."""
    out = []
    for m in msgs:
        c = m["content"]
        if m["msg_type"] == "stream":
            out.append(c["text"])
        elif m["msg_type"] in ("display_data", "update_display_data", "execute_result"):
            out.append(c["data"].get("text/plain", ""))
        elif m["msg_type"] == "error":
            out.append("\n".join(c["traceback"]))
    return "\n".join(out)


class InterruptOn:
    """An ``on_message`` that interrupts the kernel once, when a stream shows ``text``."""

    def __init__(self, kernel: Kernel, text: str) -> None:
        self.kernel, self.text, self.done = kernel, text, False

    def __call__(self, msg: Message) -> None:
        if msg["msg_type"] == "stream" and self.text in msg["content"]["text"] and not self.done:
            self.done = True
            self.kernel.km.interrupt_kernel()
