"""Copying an attached container's (or exec session's) output into a cell, in the kernel's
main thread.

The engine's ``attach_streams`` loop waits without a timeout; a cell needs a loop that wakes
when coalesced output is due (``OutputSink.timeout``) and that a kernel interrupt
(KeyboardInterrupt in the main thread) leaves at once, with no thread to stop: this one polls
conmon's attach socket itself, through the connection's public non-blocking calls, and never
for longer than SIGNAL_CHECK (see there).
"""

from __future__ import annotations

import select

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..engine.conmon_socket import AttachConnection
    from .output import OutputSink

#: The longest the pump sleeps in poll(): a SIGINT whose C handler ran just before poll()
#: began (the interrupt came while this thread waited for the GIL after its last check) or
#: on another thread does not end poll() with EINTR; Python raises the KeyboardInterrupt
#: only when poll() returns, so a silent container would keep the cell for good.
SIGNAL_CHECK = 0.5


def pump(conn: AttachConnection, body: bytes | None, sink: OutputSink) -> None:
    """Send ``body`` as the process's stdin (then end it: conmon closes the stdin) while the
    output goes to ``sink``, until the output ends (the process exited). ``body`` None sends
    nothing and leaves the stdin alone. A KeyboardInterrupt leaves from the wait; the caller
    then detaches (``AttachStream.detach`` / ``ExecStream.detach``)."""
    pending = bytearray(body or b"")
    sending = body is not None
    fd = conn.fileno()
    poller = select.poll()
    while True:
        if sending:
            if pending:
                try:
                    del pending[:conn.send_nowait(pending)]
                except OSError:  # conmon shut our input: the process is gone or closed it
                    pending.clear()
            if not pending:
                conn.close_stdin()
                sending = False
        poller.register(fd, select.POLLIN | (select.POLLOUT if sending else 0))
        timeout = sink.timeout()
        wait = SIGNAL_CHECK if timeout is None else min(timeout, SIGNAL_CHECK)
        ready = poller.poll(int(wait * 1000) + 1)
        if ready:
            while True:
                packet = conn.recv_nowait()
                if packet is None:
                    return
                if not packet:
                    break
                sink.write(*packet)
        sink.tick()
