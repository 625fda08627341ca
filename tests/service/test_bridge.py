"""The websocket attach bridge (service/bridge.py): the replay ring, and one bridge shared by
clients on a scripted source (no container: the source is a stand-in)."""

from __future__ import annotations

import asyncio

import pytest

from jupyter_ctr.service.bridge import (
    OWNER,
    TYPING,
    WATCHING,
    AttachBridge,
    BridgeLimits,
    ReplayRing,
    get_bridge,
)
from jupyter_ctr.service.policy import NotAuthorizedError


# -- the replay ring ---------------------------------------------------------------------------
def test_ring_keeps_the_last_bytes_across_chunks() -> None:
    ring = ReplayRing(10)
    ring.append(1, b"abcd")
    ring.append(2, b"efgh")
    assert ring.snapshot() == [(1, b"abcd"), (2, b"efgh")] and ring.size == 8
    ring.append(1, b"ijkl")  # 12 bytes: the oldest two go, from the front of the first chunk
    assert ring.snapshot() == [(1, b"cd"), (2, b"efgh"), (1, b"ijkl")] and ring.size == 10
    ring.append(2, b"mnop")  # drops "cd" whole and "ef"
    assert ring.snapshot() == [(2, b"gh"), (1, b"ijkl"), (2, b"mnop")] and ring.size == 10
    ring.append(1, b"qrstuv")  # drops whole chunks only
    assert ring.snapshot() == [(2, b"mnop"), (1, b"qrstuv")] and ring.size == 10


def test_ring_chunk_larger_than_the_limit_keeps_its_tail() -> None:
    ring = ReplayRing(4)
    ring.append(1, b"x")
    ring.append(2, b"0123456789")
    assert ring.snapshot() == [(2, b"6789")] and ring.size == 4


def test_ring_of_zero_keeps_nothing() -> None:
    ring = ReplayRing(0)
    ring.append(1, b"abc")
    assert ring.snapshot() == [] and ring.size == 0


def test_ring_exact_fit_and_empty_chunks() -> None:
    ring = ReplayRing(6)
    ring.append(1, b"abc")
    ring.append(1, b"")
    ring.append(2, b"def")
    assert b"".join(d for _, d in ring.snapshot()) == b"abcdef" and ring.size == 6
    ring.append(1, b"g")
    assert b"".join(d for _, d in ring.snapshot()) == b"bcdefg"


# -- a bridge on a scripted source -------------------------------------------------------------
class ScriptedSource:
    """Output chunks fed by the test (None ends the output), stdin recorded."""

    tty = False

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue()
        self.stdin: list[bytes] = []
        self.stdin_closed = False
        self.closed = False

    async def recv(self) -> tuple[int, bytes] | None:
        return await self.queue.get()

    def recv_ready(self) -> tuple[int, bytes] | None:
        try:
            item = self.queue.get_nowait()
        except asyncio.QueueEmpty:
            return None
        if item is None:
            self.queue.put_nowait(None)  # the end stays for recv()
        return item

    async def send(self, data: bytes) -> None:
        self.stdin.append(data)

    def close_stdin(self) -> None:
        self.stdin_closed = True

    async def resize(self, height: int, width: int) -> None:
        pass

    async def exit_code(self) -> int | None:
        return 7

    def close(self) -> None:
        self.closed = True


class Collector:
    """A bridge client that keeps what it is given."""

    backlog = 0

    def __init__(self) -> None:
        self.got: list[tuple[int, bytes]] = []
        self.exit: list[int | None] = []
        self.errors: list[str] = []
        self.exited = asyncio.Event()

    def deliver(self, stream: int, data: bytes) -> None:
        self.got.append((stream, data))

    def deliver_exit(self, code: int | None) -> None:
        self.exit.append(code)
        self.exited.set()

    def deliver_error(self, message: str) -> None:
        self.errors.append(message)

    def drop(self, reason: str) -> None:
        self.errors.append(reason)


def joined(chunks: list[tuple[int, bytes]]) -> bytes:
    return b"".join(d for _, d in chunks)


def test_bridge_shares_output_replays_and_reports_the_exit() -> None:
    async def main() -> None:
        limits = BridgeLimits(replay_bytes=5, linger=60.0)
        bridges: dict[str, AttachBridge] = {}
        source = ScriptedSource()
        opened = 0

        async def open_source() -> ScriptedSource:
            nonlocal opened
            opened += 1
            return source

        bridge = await get_bridge(bridges, "ctr:x", open_source, limits)
        first = Collector()
        bridge.attach(first, replay=False)
        await source.queue.put((1, b"hello "))
        await source.queue.put((2, b"world"))
        while joined(first.got) != b"hello world":
            await asyncio.sleep(0)
        # a second client on the same key shares the bridge and gets the last 5 bytes first
        again = await get_bridge(bridges, "ctr:x", open_source, limits)
        assert again is bridge and opened == 1
        late = Collector()
        bridge.attach(late, replay=True)
        assert late.got == [(2, b"world")]
        await bridge.send(b"in")
        bridge.close_stdin()
        assert source.stdin == [b"in"] and source.stdin_closed
        await source.queue.put(None)
        await first.exited.wait()
        await late.exited.wait()
        assert first.exit == late.exit == [7] and bridge.ended
        # after the end, a new client still gets the replay and the exit code
        third = Collector()
        bridge.attach(third, replay=True)
        assert third.got == [(2, b"world")] and third.exit == [7]
        bridge.close()
        assert source.closed and "ctr:x" not in bridges

    asyncio.run(main())


def test_bridge_lingers_after_its_last_client_then_closes() -> None:
    async def main() -> None:
        bridges: dict[str, AttachBridge] = {}
        source = ScriptedSource()

        async def open_source() -> ScriptedSource:
            return source

        bridge = await get_bridge(bridges, "exec:y", open_source, BridgeLimits(linger=0.01))
        client = Collector()
        bridge.attach(client, replay=False)
        bridge.detach(client)
        assert not source.closed  # lingering: a reconnecting client would find it
        while "exec:y" in bridges:
            await asyncio.sleep(0.01)
        while not source.closed:  # the reader task is cancelled first, then the source closed
            await asyncio.sleep(0.01)

    asyncio.run(main())


# -- sessions: roles, shadowing, recording -----------------------------------------------------
class SessionCollector(Collector):
    """A JSON client: also keeps its session messages."""

    def __init__(self) -> None:
        super().__init__()
        self.sessions: list[dict[str, object]] = []

    def deliver_session(self, info: dict[str, object]) -> None:
        self.sessions.append(info)


class FakeRecorder:
    """What the bridge feeds a recorder with."""

    def __init__(self, rows: int, cols: int, user: str) -> None:
        self.id = "r" * 32
        self.start = (rows, cols, user)
        self.out: list[bytes] = []
        self.resizes: list[tuple[int, int]] = []
        self.closed = False
        self.stopped = ""

    def output(self, data: bytes) -> None:
        self.out.append(data)
        if sum(map(len, self.out)) > 100:
            self.stopped = "size cap"

    def resize(self, rows: int, cols: int) -> None:
        self.resizes.append((rows, cols))

    def close(self) -> None:
        self.closed = True


def test_bridge_roles_viewers_and_session_messages() -> None:
    async def main() -> None:
        bridges: dict[str, AttachBridge] = {}
        source = ScriptedSource()

        async def open_source() -> ScriptedSource:
            return source

        bridge = await get_bridge(bridges, "exec:s", open_source, BridgeLimits(linger=60.0))
        student, teacher, docker = SessionCollector(), SessionCollector(), Collector()
        bridge.attach(student, replay=False, user="alice")
        assert student.sessions == [{"recording": False, "required": False,
                                     "recording_id": None, "role": OWNER, "viewers": []}]
        bridge.attach(docker, replay=False, user="alice")  # no session messages: no error
        bridge.attach(teacher, replay=False, user="bob", role=WATCHING)
        assert teacher.sessions[-1]["role"] == WATCHING
        assert student.sessions[-1]["viewers"] == [{"user": "bob", "role": WATCHING}]
        assert student.sessions[-1]["role"] == OWNER
        assert not bridge.may_type(teacher) and bridge.may_type(student)
        await source.queue.put((1, b"$ ls\n"))
        while joined(teacher.got) != b"$ ls\n":  # the watcher sees the owner's output
            await asyncio.sleep(0)
        bridge.take_over(teacher)
        assert bridge.may_type(teacher) and bridge.may_type(student)
        assert student.sessions[-1]["viewers"] == [{"user": "bob", "role": TYPING}]
        assert teacher.sessions[-1]["role"] == TYPING
        bridge.take_over(student)  # an owner stays an owner
        assert bridge.role(student) == OWNER
        bridge.release(teacher)
        assert teacher.sessions[-1]["role"] == WATCHING and not bridge.may_type(teacher)
        count = len(student.sessions)
        bridge.detach(teacher)
        assert len(student.sessions) == count + 1
        assert student.sessions[-1]["viewers"] == []
        bridge.close()

    asyncio.run(main())


def test_bridge_recorder_is_fed_and_stopped() -> None:
    async def main() -> None:
        bridges: dict[str, AttachBridge] = {}
        source = ScriptedSource()
        made: list[FakeRecorder] = []

        async def open_source() -> ScriptedSource:
            return source

        def setup(bridge: AttachBridge) -> None:
            def start(rows: int, cols: int, user: str) -> FakeRecorder:
                made.append(FakeRecorder(rows, cols, user))
                return made[-1]

            bridge.start_recorder = start  # type: ignore[assignment]
            bridge.size = (30, 100)

        bridge = await get_bridge(bridges, "exec:r", open_source, BridgeLimits(linger=60.0),
                                  setup)
        client = SessionCollector()
        bridge.attach(client, replay=False, user="alice")
        await source.queue.put((1, b"not recorded\n"))
        while not client.got:
            await asyncio.sleep(0)
        bridge.record(True, "alice")
        assert made[0].start == (30, 100, "alice")
        assert client.sessions[-1]["recording"] is True
        assert client.sessions[-1]["recording_id"] == "r" * 32
        await source.queue.put((1, b"recorded\n"))
        while len(client.got) < 2:
            await asyncio.sleep(0)
        await bridge.resize(40, 120)
        assert made[0].out == [b"recorded\n"] and made[0].resizes == [(40, 120)]
        bridge.record(False)
        assert made[0].closed and client.sessions[-1]["recording"] is False
        # required by policy: stopping is refused
        bridge.required = True
        bridge.record(True, "alice")
        with pytest.raises(NotAuthorizedError, match="record_labs"):
            bridge.record(False)
        # the size cap ends the recording (the recorder wrote its marker)
        await source.queue.put((1, b"x" * 200))
        while not made[1].closed:
            await asyncio.sleep(0)
        assert client.sessions[-1]["recording"] is False
        # the end of output closes an ongoing recording
        bridge.record(True, "alice")
        await source.queue.put(None)
        await client.exited.wait()
        assert made[2].closed and bridge.recorder is None

    asyncio.run(main())


def test_a_failing_recording_stops_but_the_session_goes_on() -> None:
    async def main() -> None:
        bridges: dict[str, AttachBridge] = {}
        source = ScriptedSource()

        class FullDisk(FakeRecorder):
            def output(self, data: bytes) -> None:
                raise OSError(28, "No space left on device")

        async def open_source() -> ScriptedSource:
            return source

        def setup(bridge: AttachBridge) -> None:
            bridge.start_recorder = FullDisk  # type: ignore[assignment]

        bridge = await get_bridge(bridges, "exec:f", open_source, BridgeLimits(linger=60.0),
                                  setup)
        client = SessionCollector()
        bridge.attach(client, replay=False, user="alice")
        bridge.record(True, "alice")
        rec = bridge.recorder
        assert isinstance(rec, FullDisk) and client.sessions[-1]["recording"] is True
        await source.queue.put((1, b"still here\n"))
        while not client.got:
            await asyncio.sleep(0)
        assert client.got == [(1, b"still here\n")] and rec.closed
        assert bridge.recorder is None and client.sessions[-1]["recording"] is False
        bridge.close()

    asyncio.run(main())
