"""OutputSink and Capture (magics/output.py) without containers: coalescing, the head limit,
the elided middle with its note, the tail, and the bounded capture."""

from __future__ import annotations

import io
import signal
import threading

import pytest

from jupyter_ctr.magics import output
from jupyter_ctr.magics.output import STDERR, STDOUT, Capture, OutputSink


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Recorder(io.StringIO):
    """A stream that counts its flushes (one flush = one message in a kernel)."""

    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(output.time, "monotonic", c)
    return c


def sink(out: Recorder, err: Recorder, **kw: object) -> OutputSink:
    options: dict[str, object] = dict(limit_lines=10, limit_bytes=1 << 20, tail_lines=3,
                                      interval=0.1, capture_limit=1 << 20, hint="see here",
                                      live_tail=False, stdout=out, stderr=err)
    options.update(kw)
    return OutputSink(**options)  # type: ignore[arg-type]


def test_first_write_goes_out_at_once_then_coalesced(clock: Clock) -> None:
    out, err = Recorder(), Recorder()
    s = sink(out, err)
    s.write(STDOUT, b"first\n")
    assert out.getvalue() == "first\n"  # after a quiet spell: at once
    for i in range(5):
        s.write(STDOUT, f"{i}\n".encode())
    assert out.getvalue() == "first\n" and s.timeout() == pytest.approx(0.1)
    clock.now += 0.1
    s.tick()
    assert out.getvalue() == "first\n0\n1\n2\n3\n4\n" and out.flushes == 2
    assert s.timeout() is None  # nothing waits


def test_stdout_and_stderr_keep_their_order_and_streams(clock: Clock) -> None:
    out, err = Recorder(), Recorder()
    s = sink(out, err)
    s.write(STDOUT, b"x")
    s.write(STDERR, b"e1\n")
    s.write(STDOUT, b"y\n")
    s.close()
    assert (out.getvalue(), err.getvalue()) == ("xy\n", "e1\n")


def test_utf8_split_across_packets_and_ansi_kept(clock: Clock) -> None:
    out, err = Recorder(), Recorder()
    s = sink(out, err)
    data = "é\x1b[31mred\x1b[0m\r50%\r".encode()
    for i in range(len(data)):
        s.write(STDOUT, data[i:i + 1])
        clock.now += 1
    s.close()
    assert out.getvalue() == "é\x1b[31mred\x1b[0m\r50%\r"


def test_past_the_limit_the_middle_is_elided_with_one_note(clock: Clock) -> None:
    out, err = Recorder(), Recorder()
    s = sink(out, err)
    for i in range(1, 1001):
        s.write(STDOUT, f"{i}\n".encode())
    s.close()
    lines = out.getvalue().splitlines()
    assert lines[:10] == [str(i) for i in range(1, 11)]
    assert lines[10:] == ["[... 987 lines elided: see here ...]", "998", "999", "1000"]
    assert out.flushes <= 3  # head, then the note and the tail


def test_a_chunk_crossing_the_limit_is_cut_at_a_line(clock: Clock) -> None:
    out, err = Recorder(), Recorder()
    s = sink(out, err, limit_lines=2, tail_lines=1)
    s.write(STDOUT, b"a\nb\nc\nd\ne")
    s.close()
    assert out.getvalue() == "a\nb\n[... 1 line elided: see here ...]\nd\ne"


def test_byte_limit_for_output_without_newlines(clock: Clock) -> None:
    out, err = Recorder(), Recorder()
    s = sink(out, err, limit_bytes=100, tail_lines=1)
    for _ in range(100):
        s.write(STDOUT, b"x" * 50)
    s.close()
    text = out.getvalue()
    assert text.startswith("x" * 100 + "[... 0 lines elided")
    assert len(text) < 100 + 100 + output.PARTIAL_MAX  # the endless line stays bounded


def test_live_tail_is_one_display_updated_in_place(clock: Clock,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[tuple[str, str]] = []

    class Handle:
        def update(self, data: dict[str, str], raw: bool) -> None:
            shown.append(("update", data["text/plain"]))

    def display(data: dict[str, str], raw: bool, display_id: bool) -> Handle:
        shown.append(("display", data["text/plain"]))
        return Handle()

    monkeypatch.setattr(output, "display", display)
    out, err = Recorder(), Recorder()
    s = sink(out, err, live_tail=True, limit_lines=2, tail_lines=2)
    for i in range(100):
        s.write(STDOUT, f"{i}\n".encode())
        if i % 10 == 0:
            clock.now += 0.1
    s.close()
    assert out.getvalue() == "0\n1\n"
    assert [kind for kind, _ in shown][:2] == ["display", "update"]
    assert all(kind == "update" for kind, _ in shown[1:])
    assert shown[-1][1] == "[... 96 lines elided: see here ...]\n98\n99"
    assert "so far" in shown[0][1]


def test_capture_keeps_head_and_tail() -> None:
    cap = Capture(10)
    for i in range(100):
        cap.add(f"{i % 10}".encode())
    assert (cap.total, cap.elided) == (100, 90)
    assert cap.text("see logs") == "01234\n[... 90 bytes elided: see logs ...]\n56789"
    small = Capture(10)
    small.add(b"abc")
    assert (small.text(), small.elided) == ("abc", 0)


class InterruptedFlush(Recorder):
    """A kernel's stream whose flush the user interrupts half-way: SIGINT comes while it
    waits (as ipykernel's flush waits for the IOPub thread to send the output), and the
    rest of it, which an interrupt there would cut short (leaving the Event's lock held, the
    IOPub thread then blocked for good), must still run."""

    def __init__(self) -> None:
        super().__init__()
        self.completed = 0

    def flush(self) -> None:
        super().flush()
        signal.raise_signal(signal.SIGINT)  # the handler runs before the next line
        done = threading.Event()
        done.set()
        done.wait(1)
        self.completed += 1


def test_an_interrupt_during_a_write_is_raised_after_it(clock: Clock) -> None:
    """The flaky kernel test (an interrupt right after the first output line): the
    KeyboardInterrupt reaches the caller (pump's) once the write is whole, not inside the
    kernel's flush; the default handler is back after."""
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    out, err = InterruptedFlush(), Recorder()
    s = sink(out, err, limit_lines=1)
    with pytest.raises(KeyboardInterrupt):
        s.write(STDOUT, b"first\n")
    assert (out.getvalue(), out.flushes, out.completed) == ("first\n", 1, 1)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    s.write(STDOUT, b"2\n3\n")  # past the head: to the tail, written by close
    with pytest.raises(KeyboardInterrupt):
        s.close()
    assert out.getvalue().startswith("first\n[... 0 lines elided: see here ...]\n2\n3")
    assert out.completed == out.flushes == 2
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_interrupts_deferred_nests_and_leaves_other_handlers_alone() -> None:
    with pytest.raises(KeyboardInterrupt):
        with output.interrupts_deferred():
            with output.interrupts_deferred():
                signal.raise_signal(signal.SIGINT)
                held = True
            assert held  # the inner block did not raise it: the outer one does
    seen: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: seen.append(signum))
    try:
        with output.interrupts_deferred():  # not Python's default handler: not ours to hold
            signal.raise_signal(signal.SIGINT)
        assert seen == [signal.SIGINT]
    finally:
        signal.signal(signal.SIGINT, previous)
