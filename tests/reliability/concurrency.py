"""Concurrency fuzzer: several processes, each with its own Runtime (or the CLI), doing seeded
random verbs on a small set of container names at once; then the invariants of harness.py.

A verb may be refused (the container is in the wrong state, was removed by another worker,
its name is taken): that is the engine's lock and state table at work, counted as "refused".
Anything else is a finding: an unexpected error class (runc failed, a timeout, a Python
exception), a verb that hangs, an invariant broken at the end, a container ``rm -f`` cannot
finish. Each worker's verb sequence is fixed by the seed; the interleaving is not.
"""

from __future__ import annotations

import io
import multiprocessing as mp
import queue
import random
import re
import statistics
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .harness import (
    COMMAND,
    DEMO,
    Failure,
    Roots,
    Table,
    check_invariants,
    cli,
    settle,
)

#: verb -> weight: lifecycle verbs often, the slow CRIU ones less.
WEIGHTS = {"run": 4, "create": 2, "start": 4, "stop": 3, "kill": 2, "pause": 3, "unpause": 3,
           "restart": 2, "rm": 2, "exec": 3, "mount": 1, "umount": 1, "checkpoint": 1,
           "restore": 1, "inspect": 2}
HANG_S = 90.0
#: Verbs that make sense in a state (what a user would mostly do); read without the lock, so
#: another worker may change the state first: that race is the point.
SENSIBLE = {
    None: ("run", "create"),
    "configured": ("start", "rm", "mount", "umount", "restart", "inspect", "restore"),
    "created": ("start", "stop", "rm", "restart"),
    "running": ("stop", "kill", "pause", "restart", "exec", "checkpoint", "rm", "mount",
                "inspect"),
    "paused": ("unpause", "rm", "kill", "inspect"),
    "stopped": ("start", "rm", "restart"),
    "exited": ("start", "rm", "restore", "restart", "umount"),
    "stopping": ("stop", "kill", "rm"),
}
SENSIBLE_SHARE = 0.7

#: Engine error classes that are a verb correctly refused under concurrency.
REFUSALS = ("ContainerStateInvalidError", "ContainerRunningError", "ContainerStoppedError",
            "NoSuchContainerError", "ContainerRemovedError", "ContainerExistsError",
            "ExecSessionStateInvalidError", "NoSuchExecSessionError")
#: The CLI's words for the same refusals.
CLI_REFUSAL = re.compile(
    r"no container with name or ID|no such container|is in state|already in use|"
    r"already been removed|can only|is not running|is not paused|not paused|already paused|"
    r"is running|is stopped|no such exec session|container state improper|no such object")
#: ... except where the verb accepts that state: restart takes running containers.
NOT_A_REFUSAL = {"restart": re.compile(r"already running|ContainerRunningError")}


def _engine_op(rt: Any, verb: str, name: str, rng: random.Random) -> None:
    if verb == "create":
        rt.create_container(DEMO, COMMAND, name=name)
        return
    if verb == "run":
        rt.create_container(DEMO, COMMAND, name=name).start()
        return
    if verb == "rm":
        rt.remove_container(rt.lookup_container(name), force=True, timeout=0)
        return
    ctr = rt.lookup_container(name)
    if verb == "start":
        ctr.start()
    elif verb == "stop":
        ctr.stop(timeout=rng.choice([0, 1]))
    elif verb == "kill":
        ctr.kill()
    elif verb == "pause":
        ctr.pause()
    elif verb == "unpause":
        ctr.unpause()
    elif verb == "restart":
        ctr.restart(timeout=0)
    elif verb == "exec":
        ctr.exec(["true"]).start_and_attach(stdout=io.BytesIO(), stderr=io.BytesIO())
    elif verb == "mount":
        ctr.mount()
    elif verb == "umount":
        ctr.unmount()
    elif verb == "checkpoint":
        ctr.checkpoint()
    elif verb == "restore":
        ctr.restore()
    elif verb == "inspect":
        ctr.inspect()


def _cli_args(verb: str, name: str, rng: random.Random) -> list[str]:
    return {
        "create": ["create", "--name", name, DEMO, *COMMAND],
        "run": ["run", "-d", "--name", name, DEMO, *COMMAND],
        "rm": ["rm", "-f", "-t", "0", name],
        "start": ["start", name],
        "stop": ["stop", "-t", str(rng.choice([0, 1])), name],
        "kill": ["kill", name],
        "pause": ["pause", name],
        "unpause": ["unpause", name],
        "restart": ["restart", "-t", "0", name],
        "exec": ["exec", name, "true"],
        "mount": ["mount", name],
        "umount": ["umount", name],
        "checkpoint": ["container", "checkpoint", name],
        "restore": ["container", "restore", name],
        "inspect": ["inspect", name],
    }[verb]


def _worker(base: str, names: list[str], seed: int, index: int, ops: int, use_cli: bool,
            out: Any) -> None:
    """One fuzzing process: ``ops`` random verbs; reports (begin|end, ...) on ``out``."""
    from jupyter_ctr.engine import CtrError, Runtime

    root, run_root = Path(base) / "r", Path(base) / "x"
    rng = random.Random(f"{seed}/{index}")
    verbs, weights = zip(*WEIGHTS.items(), strict=True)
    rt = None if use_cli else Runtime(root, run_root)
    peek = Runtime(root, run_root) if rt is None else rt
    roots = _CliRoots(root, run_root)
    for i in range(ops):
        name = rng.choice(names)
        roll = rng.random()
        verb = rng.choices(verbs, weights)[0]
        if roll < SENSIBLE_SHARE:
            verb = rng.choice(SENSIBLE.get(_peek_state(peek, name), verbs))
        out.put(("begin", index, i, verb, name, time.time()))
        t0 = time.monotonic()
        outcome, detail = "ok", ""
        try:
            if rt is not None:
                _engine_op(rt, verb, name, rng)
            else:
                res = cli(roots, *_cli_args(verb, name, rng), timeout=HANG_S)  # type: ignore[arg-type]
                if res.rc != 0:
                    detail = res.text()
                    outcome = "refused" if CLI_REFUSAL.search(detail) else "error"
                    if verb in NOT_A_REFUSAL and NOT_A_REFUSAL[verb].search(detail):
                        outcome = "error"
        except CtrError as exc:
            kind = type(exc).__name__
            detail = f"{kind}: {exc}"
            outcome = "refused" if kind in REFUSALS else "error"
            if verb in NOT_A_REFUSAL and NOT_A_REFUSAL[verb].search(detail):
                outcome = "error"
        except Exception as exc:  # noqa: BLE001 - every other exception is a finding
            outcome = "error"
            detail = f"{type(exc).__name__}: {exc} | " + \
                traceback.format_exc().strip().splitlines()[-3].strip()
        out.put(("end", index, i, verb, name, outcome, detail[:500], time.monotonic() - t0))
    peek.close()
    out.put(("done", index))


def _peek_state(rt: Any, name: str) -> str | None:
    """The container's recorded state, without its lock (a hint, not a fact)."""
    from jupyter_ctr.engine import CtrError

    try:
        ctr_id, _ = rt.store.lookup_container(name)
        return str(rt.store.container_state(ctr_id)["state"])
    except CtrError:
        return None


class _CliRoots:
    """What harness.cli needs of Roots, in a worker process."""

    def __init__(self, root: Path, run_root: Path) -> None:
        self.root, self.run_root = root, run_root

    def cli_args(self) -> list[str]:
        return ["--root", str(self.root), "--runroot", str(self.run_root)]


@dataclass
class ConcurrencyReport:
    seed: int
    workers: int
    cli_workers: int
    seconds: float
    per_verb: dict[str, Counter[str]]
    latencies: dict[str, list[float]]
    failures: list[Failure] = field(default_factory=list)
    states: int = 0
    orphans: int = 0
    unrecoverable: int = 0
    leftovers: int = 0
    hangs: int = 0

    def render(self) -> str:
        t = Table(("verb", "ops", "ok", "refused", "errors", "p50 ms", "max ms"))
        total: Counter[str] = Counter()
        for verb in sorted(self.per_verb):
            c = self.per_verb[verb]
            lat = self.latencies[verb] or [0.0]
            t.add(verb, c["ops"], c["ok"], c["refused"], c["error"],
                  f"{statistics.median(lat) * 1000:.0f}", f"{max(lat) * 1000:.0f}")
            total.update(c)
        t.add("total", total["ops"], total["ok"], total["refused"], total["error"], "", "")
        lines = [f"concurrency fuzzer: seed {self.seed}, {self.workers} processes "
                 f"({self.cli_workers} CLI), {total['ops']} verbs in {self.seconds:.0f} s "
                 f"({total['ops'] / max(self.seconds, 1e-9):.1f}/s)", t.render(),
                 f"hangs {self.hangs}, state!=runc {self.states}, orphans {self.orphans}, "
                 f"unrecoverable {self.unrecoverable}, leftovers {self.leftovers}"]
        if self.failures:
            lines.append(f"{len(self.failures)} findings:")
            lines += [f.line() for f in self.failures]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "per_verb": {k: dict(v) for k, v in self.per_verb.items()},
                "failures": [f.__dict__ for f in self.failures]}


class ConcurrencyRun:
    def __init__(self, *, seed: int, workers: int = 4, cli_workers: int = 1, ops: int = 50,
                 containers: int = 3, log: Callable[[str], None] = print) -> None:
        self.seed, self.workers, self.cli_workers = seed, workers, min(cli_workers, workers)
        self.ops, self.log = ops, log
        self.names = [f"fz{i}" for i in range(containers)]

    def run(self) -> ConcurrencyReport:
        roots = Roots("jcc")
        ctx = mp.get_context("spawn")
        out = ctx.Queue()
        procs = [ctx.Process(target=_worker, args=(str(roots.base), self.names, self.seed, i,
                                                   self.ops, i < self.cli_workers, out),
                             daemon=True) for i in range(self.workers)]
        per_verb: dict[str, Counter[str]] = defaultdict(Counter)
        latencies: dict[str, list[float]] = defaultdict(list)
        report = ConcurrencyReport(self.seed, self.workers, self.cli_workers, 0.0, per_verb,
                                   latencies)
        current: dict[int, tuple[int, str, str, float]] = {}
        done: set[int] = set()
        started = time.monotonic()
        try:
            for p in procs:
                p.start()
            while len(done) < len(procs):
                try:
                    msg = out.get(timeout=1)
                except queue.Empty:
                    msg = None
                if msg is not None and msg[0] == "begin":
                    current[msg[1]] = (msg[2], msg[3], msg[4], time.monotonic())
                elif msg is not None and msg[0] == "end":
                    _, w, i, verb, name, outcome, detail, secs = msg
                    current.pop(w, None)
                    per_verb[verb]["ops"] += 1
                    per_verb[verb][outcome] += 1
                    latencies[verb].append(secs)
                    if outcome == "error":
                        f = Failure("error", verb, f"{name}: {detail}", self._repro(w, i))
                        report.failures.append(f)
                        self.log(f.line())
                elif msg is not None and msg[0] == "done":
                    done.add(msg[1])
                for w, (i, verb, name, t0) in list(current.items()):
                    if time.monotonic() - t0 > HANG_S:
                        report.hangs += 1
                        report.failures.append(Failure(
                            "hang", verb, f"{name}: no answer after {HANG_S:.0f} s",
                            self._repro(w, i)))
                        procs[w].kill()
                        current.pop(w)
                        done.add(w)
                for w, p in enumerate(procs):
                    if w not in done and not p.is_alive() and out.empty():
                        report.failures.append(Failure("crash", f"worker {w}",
                                                       f"exited with {p.exitcode}",
                                                       self._repro(w, -1)))
                        done.add(w)
            report.seconds = time.monotonic() - started
            self._check(roots, report)
        finally:
            for p in procs:
                if p.is_alive():
                    p.kill()
            roots.close(remove=True)
        return report

    def _repro(self, worker: int, op: int) -> str:
        return (f"python -m tests.reliability concurrency --seed {self.seed} --workers "
                f"{self.workers} --cli-workers {self.cli_workers} --ops {self.ops} "
                f"--containers {len(self.names)}  (worker {worker}, verb #{op})")

    def _check(self, roots: Roots, report: ConcurrencyReport) -> None:
        repro = self._repro(-1, -1)
        busy = settle(roots.run_root)
        if busy:
            report.failures.append(Failure("hang", "settle", f"still busy: {busy[:3]}", repro))
        for f in check_invariants(roots):
            if f.kind == "state":
                report.states += 1
            else:
                report.orphans += 1
            report.failures.append(Failure("state" if f.kind == "state" else "orphan",
                                           "end", str(f), repro))
        errors = []
        for ctr in roots.rt.list_containers(all=True):
            res = cli(roots, "rm", "-f", "-t", "0", ctr.id)
            if res.rc != 0:
                errors.append(f"rm -f {ctr.name}: {res.text()}")
        settle(roots.run_root)
        remaining = [c.name for c in roots.rt.list_containers(all=True)]
        if remaining or errors:
            report.unrecoverable += max(len(remaining), 1)
            report.failures.append(Failure("unrecoverable", "rm -f",
                                           f"left {remaining}: {'; '.join(errors)}", repro))
        else:
            for f in check_invariants(roots):
                report.leftovers += 1
                report.failures.append(Failure("leftover", "after rm -f", str(f), repro))
