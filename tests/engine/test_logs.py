"""The k8s-file log reader on synthetic logs (against a plain forward reading of the whole
file, and counting the bytes it reads), and --log-opt max-size with real conmon rotations."""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jupyter_ctr.engine import ContainerState, InvalidArgumentError, Runtime
from jupyter_ctr.engine.conmon_socket import AttachConnection
from jupyter_ctr.engine.logs import (
    LogLine,
    LogReader,
    human_size,
    log_complete_size,
    log_replay,
    parse_log_size,
    read_log,
    replay_then_live,
)
from tests.conftest import DEMO, wait_until

BASE = 1_796_000_000 * 10**9  # 2026-11-29
Rec = tuple[int, str, str, str]  # (time_ns, stream, "F"|"P", text)


def stamp(ns: int) -> str:
    """conmon's stamp: local wall time with its offset (here UTC, or a fixed other zone)."""
    dt = datetime.fromtimestamp(ns // 10**9, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{ns % 10**9:09d}+00:00"


def record(rec: Rec) -> bytes:
    ns, stream, tag, text = rec
    return f"{stamp(ns)} {stream} {tag} {text}\n".encode()


def write_log(path: Path, recs: list[Rec], prefix: bytes = b"") -> None:
    with open(path, "wb") as fh:
        fh.write(prefix)
        fh.write(b"".join(record(r) for r in recs))


def reference(recs: list[Rec], *, tail: int | None = None, since: int | None = None,
              until: int | None = None, writer_done: bool = True) -> list[LogLine]:
    """The plain reading: join each stream's P records into the F that ends them, in F order,
    a line's time being its first record's; then filter, then keep the last N."""
    pending: dict[str, list[Rec]] = {}
    out: list[LogLine] = []

    def line(chain: list[Rec], partial: bool) -> LogLine:
        return LogLine(chain[0][0], chain[0][1], "".join(r[3] for r in chain), partial)

    for rec in recs:
        pending.setdefault(rec[1], []).append(rec)
        if rec[2] == "F":
            out.append(line(pending.pop(rec[1]), False))
    trailing = [line(chain, True) for chain in pending.values()]
    if tail is None or writer_done or until is not None:
        out += trailing
    out = [x for x in out if (since is None or x.time_ns >= since)
           and (until is None or x.time_ns <= until)]
    return out if tail is None else out[-tail:] if tail else []


def random_log(rng: random.Random, n: int) -> list[Rec]:
    """Records as conmon writes them: time ordered (often several per ns stamp), two streams,
    lines split into P records, sometimes interleaved with the other stream's records."""
    recs: list[Rec] = []
    ns = BASE
    open_: dict[str, int] = {}
    for i in range(n):
        ns += rng.choice((0, 0, 1, 7, 1000, 10**6))
        stream = "stderr" if rng.random() < 0.3 else "stdout"
        partial = rng.random() < 0.25 or (stream in open_ and rng.random() < 0.3)
        text = rng.choice(["", "x", "é", f"line {i}", "a b  c ", "P F stdout "])
        recs.append((ns, stream, "P" if partial else "F", text))
        if partial:
            open_[stream] = i
        else:
            open_.pop(stream, None)
    return recs


# -- the reader against the plain reading --------------------------------------------------------
@pytest.mark.parametrize("seed", range(40))
def test_reader_matches_a_plain_reading(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    recs = random_log(rng, rng.choice((0, 1, 3, 50, 400)))
    log = tmp_path / "ctr.log"
    write_log(log, recs)
    times = [r[0] for r in recs] or [BASE]
    for _ in range(25):
        tail = rng.choice((None, None, 0, 1, 2, 5, 30, 1000))
        since = rng.choice((None, None, rng.choice(times), rng.choice(times) + 1, BASE - 1))
        until = rng.choice((None, None, rng.choice(times), rng.choice(times) - 1))
        done = rng.random() < 0.5
        got = list(read_log(log, tail=tail, since_ns=since, until_ns=until,
                            still_running=lambda d=done: not d))  # type: ignore[misc]
        want = reference(recs, tail=tail, since=since, until=until, writer_done=done)
        assert got == want, (seed, tail, since, until, done)


def test_partial_lines_join_and_count_as_one(tmp_path: Path) -> None:
    log = tmp_path / "ctr.log"
    write_log(log, [
        (BASE + 1, "stdout", "F", "one"),
        (BASE + 2, "stdout", "P", "tw"),
        (BASE + 3, "stderr", "F", "err"),
        (BASE + 4, "stdout", "P", "o-"),
        (BASE + 5, "stdout", "F", "two"),
        (BASE + 6, "stdout", "F", "three"),
        (BASE + 7, "stdout", "P", "fo"),    # conmon is still writing this line
    ])
    running = list(read_log(log, tail=3, still_running=lambda: True))
    assert [x.text for x in running] == ["err", "two-two", "three"]
    assert running[1].time_ns == BASE + 2 and not any(x.partial for x in running)
    # The container has stopped: the P records are its last line.
    done = list(read_log(log, tail=3))
    assert [(x.text, x.partial) for x in done] == [("two-two", False), ("three", False),
                                                   ("fo", True)]
    assert list(read_log(log, tail=0)) == []
    whole = list(read_log(log, still_running=lambda: True))
    assert [x.text for x in whole] == ["one", "err", "two-two", "three", "fo"]


def test_since_and_until_boundaries(tmp_path: Path) -> None:
    log = tmp_path / "ctr.log"
    write_log(log, [
        (BASE + 10, "stdout", "F", "a"),
        (BASE + 20, "stdout", "P", "b1"),   # a line begun before since: not shown
        (BASE + 30, "stdout", "F", "b2"),
        (BASE + 30, "stderr", "F", "c"),
        (BASE + 40, "stderr", "P", "d1"),   # begun before until, ended after: shown whole
        (BASE + 50, "stdout", "F", "e"),
        (BASE + 60, "stderr", "F", "d2"),
    ])

    def texts(**kw: int) -> list[str]:
        return [x.text for x in read_log(log, **kw)]  # type: ignore[arg-type]

    assert texts(since_ns=BASE + 30) == ["c", "e", "d1d2"]
    assert texts(since_ns=BASE + 20) == ["b1b2", "c", "e", "d1d2"]
    assert texts(since_ns=BASE + 10, until_ns=BASE + 10) == ["a"]
    assert texts(until_ns=BASE + 40) == ["a", "b1b2", "c", "d1d2"]
    assert texts(until_ns=BASE + 39) == ["a", "b1b2", "c"]
    assert texts(since_ns=BASE + 61) == []
    assert texts(until_ns=BASE) == []
    assert texts(tail=2, until_ns=BASE + 45) == ["c", "d1d2"]
    assert texts(tail=1, since_ns=BASE + 25) == ["d1d2"]


def test_garbage_and_empty_files(tmp_path: Path) -> None:
    log = tmp_path / "ctr.log"
    log.write_bytes(b"")
    assert list(read_log(log, tail=5)) == []
    assert list(read_log(tmp_path / "missing", tail=5, since_ns=1)) == []
    write_log(log, [(BASE, "stdout", "F", "ok")], prefix=b"not a record\n\xff\xfe\n")
    log.write_bytes(log.read_bytes() + b"2026-11-29T00:00:00.1+00:00 stdout F half-writ")
    assert [x.text for x in read_log(log, tail=5)] == ["ok"]
    assert [x.text for x in read_log(log, since_ns=BASE)] == ["ok"]


def test_huge_tail_is_all(tmp_path: Path) -> None:
    log = tmp_path / "ctr.log"
    write_log(log, [(BASE + i, "stdout", "F", str(i)) for i in range(3)])
    assert [x.text for x in read_log(log, tail=10**30)] == ["0", "1", "2"]


# -- cost grows with what is asked, not with the file --------------------------------------------
def big_log(path: Path, megabytes: int) -> int:
    """A log of ``megabytes`` whose first quarter is unreadable garbage (no newline, no
    record): a reader that went through it would fail the tests (a binary search for a time
    in the second half never probes it). Then one record per microsecond, a P line every 100
    records. Returns the number of records."""
    garbage = megabytes // 4 << 20
    line = 70
    count = (megabytes << 20) // line - garbage // line
    with open(path, "wb") as fh:
        fh.write(b"\xff" * (garbage - 1) + b"\n")
        chunk = []
        for i in range(count):
            ns = BASE + i * 1000
            tag = "P" if i % 100 == 99 and i < count - 1 else "F"
            chunk.append(record((ns, "stdout", tag, f"record {i:09d}")))
            if len(chunk) == 10000:
                fh.write(b"".join(chunk))
                chunk.clear()
        fh.write(b"".join(chunk))
    return count


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    path = tmp_path_factory.mktemp("biglog") / "ctr.log"
    count = big_log(path, 64)
    yield path, count
    path.unlink()


def test_tail_reads_from_the_end(big: tuple[Path, int]) -> None:
    path, count = big
    size = path.stat().st_size
    for n in (1, 5, 150):
        reader = LogReader(path)
        lines = list(reader.lines(tail=n))
        assert len(lines) == n and not any(x.partial for x in lines)
        assert lines[-1].text == f"record {count - 1:09d}"
        assert reader.bytes_read < 200_000 < size // 100, reader.bytes_read
    # a joined line counts once: the last 150 lines hold a P record or two joined to its F
    joined = [x.text for x in lines if len(x.text) > 16]
    assert joined and joined == [f"record {i:09d}record {i + 1:09d}"
                                 for i in range(count - 152, count - 1) if i % 100 == 99]
    assert lines[0].text.startswith(f"record {count - 150 - len(joined):09d}")


def test_since_and_until_seek(big: tuple[Path, int]) -> None:
    path, count = big
    at = count - 50_000 + 17  # a record in the last quarter
    reader = LogReader(path)
    lines = list(reader.lines(since_ns=BASE + at * 1000, until_ns=BASE + (at + 9) * 1000))
    assert [x.text for x in lines] == [f"record {i:09d}" for i in range(at, at + 10)]
    assert reader.bytes_read < 600_000, reader.bytes_read
    reader = LogReader(path)
    lines = list(reader.lines(tail=3, until_ns=BASE + at * 1000))
    assert [x.text for x in lines] == [f"record {i:09d}" for i in range(at - 2, at + 1)]
    assert reader.bytes_read < 600_000, reader.bytes_read


# -- follow across a rotation (as conmon's --log-size-max does it) -------------------------------
def test_follow_reopens_a_rotated_log(tmp_path: Path) -> None:
    log = tmp_path / "ctr.log"
    write_log(log, [(BASE, "stdout", "F", "first")])
    seen: dict[str, threading.Event] = {t: threading.Event() for t in ("first", "a", "bc")}
    finished = threading.Event()

    def rotate(recs: list[Rec]) -> None:
        tmp = tmp_path / "ctr.log.tmp"
        write_log(tmp, recs)
        os.rename(tmp, log)

    def writer() -> None:
        assert seen["first"].wait(10)
        with open(log, "ab") as fh:
            fh.write(record((BASE + 1, "stdout", "F", "a")) +
                     record((BASE + 2, "stdout", "P", "b")))   # the line goes on in the next file
        assert seen["a"].wait(10)
        rotate([(BASE + 3, "stdout", "F", "c"), (BASE + 4, "stderr", "F", "d")])
        assert seen["bc"].wait(10)
        rotate([(BASE + 5, "stdout", "F", "e")])
        finished.set()

    thread = threading.Thread(target=writer)
    thread.start()
    got = []
    reader = LogReader(log, poll_interval=0.01)
    for line in reader.lines(follow=True, still_running=lambda: not finished.is_set()):
        got.append(line.text)
        if line.text in seen:
            seen[line.text].set()
    thread.join()
    assert got == ["first", "a", "bc", "d", "e"]
    assert reader.rotations == 2


def test_follow_after_tail_finishes_the_line_being_written(tmp_path: Path) -> None:
    log = tmp_path / "ctr.log"
    write_log(log, [(BASE, "stdout", "F", "one"), (BASE + 1, "stdout", "P", "tw")])
    shown = threading.Event()
    done = threading.Event()

    def writer() -> None:
        assert shown.wait(10)
        with open(log, "ab") as fh:
            fh.write(record((BASE + 2, "stdout", "F", "o")))
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    got = []
    for line in read_log(log, tail=1, follow=True, poll_interval=0.01,
                         still_running=lambda: not done.is_set()):
        got.append((line.text, line.partial))
        shown.set()
    thread.join()
    assert got == [("one", False), ("two", False)]


# -- --log-opt max-size ----------------------------------------------------------------------------
def test_log_size_values() -> None:
    assert parse_log_size(None) is None and parse_log_size(0) is None
    assert parse_log_size("0") is None and parse_log_size("") is None
    assert parse_log_size("10m") == 10_000_000 == parse_log_size("10MB")  # podman: decimal
    assert parse_log_size("15.5k") == 15_500 and parse_log_size(8192) == 8192
    for bad in ("-1", -5, "abc", "10x", "1e9", True, "8k", 100, "9" * 30):
        with pytest.raises(InvalidArgumentError, match="log size"):
            parse_log_size(bad)  # type: ignore[arg-type]
    assert [human_size(x) for x in (0, 8192, 10**7, 1_500_000, 123_456)] == [
        "0B", "8.192kB", "10MB", "1.5MB", "123.5kB"]


@pytest.mark.parametrize("size", ["-1", "abc", "4k", 100, "12q"])
def test_bad_log_size_is_refused_at_create(rt: Runtime, size: object) -> None:
    before = {c.id for c in rt.list_containers(all=True)}
    with pytest.raises(InvalidArgumentError, match="invalid log size"):
        rt.create_container(DEMO, ["true"], log_size_max=size)  # type: ignore[arg-type]
    assert {c.id for c in rt.list_containers(all=True)} == before
    assert not [p for p in (rt.root / "containers").iterdir() if p.name not in before]


PRINT = ("i=0; while [ $i -lt {n} ]; do echo line-$i-................................; "
         "{pause}i=$((i+1)); done")


def test_log_size_max_rotates_and_logs_read_on(rt: Runtime) -> None:
    ctr = rt.create_container(DEMO, ["sh", "-c", PRINT.format(n=400, pause="")],
                              log_size_max="10k")
    ctr.init()
    ino = ctr.log_path.stat().st_ino
    ctr.start()
    assert ctr.wait() == 0
    assert ctr.inspect()["HostConfig"]["LogConfig"]["Size"] == "10kB"
    # 400 records of 87 bytes are 35 kB: conmon replaced the file when it was full
    assert ctr.log_path.stat().st_ino != ino and ctr.log_path.stat().st_size <= 10_000
    lines = [x.text for x in ctr.logs()]
    first = int(lines[0].split("-")[1])
    assert 0 < first and lines == [f"line-{i}-" + "." * 32 for i in range(first, 400)]
    assert [x.text for x in ctr.logs(tail=2)] == lines[-2:]


def test_logs_follow_across_rotations(rt: Runtime) -> None:
    # One line every 10 ms or so: the follower (polling every 50 ms) sees each file before
    # conmon replaces it (about 110 lines per file).
    ctr = rt.create_container(DEMO, ["sh", "-c", PRINT.format(n=300, pause="usleep 10000; ")],
                              log_size_max=10_000)
    ctr.start()
    lines = [x.text for x in ctr.logs(follow=True)]
    assert lines == [f"line-{i}-" + "." * 32 for i in range(300)]
    assert wait_until(lambda: ctr.state is ContainerState.EXITED)
    assert ctr.config.log_size_max == 10_000


def test_reading_ends_at_the_size_it_began_with(tmp_path: Path) -> None:
    # A flood must not keep a reading without --follow going: it stops where the log ended
    # when it began.
    log = tmp_path / "ctr.log"
    write_log(log, [(BASE + i, "stdout", "F", str(i)) for i in range(3)])
    lines = read_log(log)
    first = next(lines)
    with open(log, "ab") as fh:
        fh.write(b"".join(record((BASE + i, "stdout", "F", str(i))) for i in range(3, 100)))
    assert [first.text, *(x.text for x in lines)] == ["0", "1", "2"]


def test_tail_of_a_flood_is_whole_lines(rt: Runtime) -> None:
    # The repro: `logs --tail 5` of a container printing as fast as it can gave 4 whole
    # lines and a piece of the line conmon was writing. (max-size keeps the flood's log small.)
    text = "0123456789abcdefghij"
    ctr = rt.create_container(DEMO, ["yes", text], log_size_max="20m")
    ctr.start()
    try:
        assert wait_until(lambda: ctr.log_path.stat().st_size > 1 << 20)
        for _ in range(3):
            lines = list(ctr.logs(tail=5))
            assert [(x.text, x.partial) for x in lines] == [(text, False)] * 5
    finally:
        ctr.stop(timeout=0)


# -- replay for attach -------------------------------------------------------------------
def test_log_replay(tmp_path: Path) -> None:
    log = tmp_path / "ctr.log"
    log.write_bytes(
        b"2026-01-01T00:00:00.000000001+00:00 stdout F one\n"
        b"2026-01-01T00:00:00.000000002+00:00 stdout P par\n"
        b"2026-01-01T00:00:00.000000003+00:00 stdout F t \xff\n"
        b"2026-01-01T00:00:00.000000004+00:00 stderr F err\n"
        b"2026-01-01T00:00:00.000000005+00:00 stdout F\n"
        b"2026-01-01T00:00:00.000000006+00:00 stdout F not yet compl")
    assert list(log_replay(log)) == [(1, b"one\n"), (1, b"par"), (1, b"t \xff\n"),
                                     (2, b"err\n"), (1, b"\n")]
    first_two = len(b"2026-01-01T00:00:00.000000001+00:00 stdout F one\n") * 2
    assert list(log_replay(log, first_two)) == [(1, b"one\n"), (1, b"par")]
    assert log_complete_size(log) == log.read_bytes().rfind(b"\n") + 1
    assert list(log_replay(tmp_path / "missing")) == []



def test_replay_then_live(rt: Runtime) -> None:
    ctr = rt.create_container(
        DEMO, ["sh", "-c", "echo one; printf part; echo e1 >&2; sleep 0.5; echo live; "
               "echo e2 >&2"])
    ctr.start()
    assert wait_until(lambda: b"e1" in ctr.log_path.read_bytes())
    got: dict[int, bytes] = {1: b"", 2: b""}
    with AttachConnection.connect(ctr.bundle) as conn:
        for stream, data in replay_then_live(ctr.log_path, conn):
            got[stream] += data
    assert got == {1: b"one\npartlive\n", 2: b"e1\ne2\n"}
