"""Crash injection: SIGKILL the CLI or the service at a random point of every verb, then check
the invariants and that every container can still be finished.

One kill, for verb V on target T (``cli``: a ``jupyter-ctr`` process; ``service``:
``jupyter-ctr service --socket`` driven over HTTP):

1. set up the container(s) V needs with the engine API (e.g. a checkpointed one for restore);
2. start V on T, sleep a seeded random delay in [0, D] ms (D: V's measured duration on T,
   unless ``--max-delay-ms``), SIGKILL the CLI or the service (a killed service is restarted);
3. at once, as an unlucky user would: the next verb on T, a retry of V (or ``start`` when V
   created the container), unless the engine already shows V's end state; it must succeed
   and leave V's end state ("failure" otherwise);
4. once runc, CRIU and exit commands are done: the invariants (harness.check_invariants);
5. ``rm -f`` on T of every container; it must succeed and leave nothing behind
   ("unrecoverable" if a container stays, "leftover" for anything else).

After a finding the roots are scrubbed and replaced, so each kill starts clean.
"""

from __future__ import annotations

import contextlib
import random
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_ctr.engine import CtrError

from .harness import (
    COMMAND,
    DEMO,
    CliResult,
    Failure,
    Finding,
    HttpError,
    Roots,
    Service,
    Table,
    check_invariants,
    child_env,
    cli,
    cli_argv,
    request,
    settle,
)

S_NAME = "victim"
S_COPY = "victim-copy"
L = "/v4.0.0/libpod"

VERBS = ("create", "init", "start", "run", "stop", "kill", "pause", "unpause", "restart",
         "rm-f", "checkpoint", "restore", "checkpoint-export", "restore-import", "exec",
         "mount", "umount", "rm")
TARGETS = ("cli", "service")
#: A verb's usual duration in ms on the CLI and on the service (measured here, busy 2-core
#: machine): the kill delay range when calibration is off (the short pytest runs).
TYPICAL_MS = {"create": (110, 30), "init": (0, 40), "start": (110, 50), "run": (150, 80),
              "stop": (120, 110), "kill": (80, 10), "pause": (60, 5), "unpause": (60, 5),
              "restart": (200, 130), "rm-f": (180, 120), "checkpoint": (300, 220),
              "restore": (230, 150), "checkpoint-export": (380, 270),
              "restore-import": (260, 200), "exec": (110, 30), "mount": (70, 5),
              "umount": (60, 5), "rm": (75, 5)}


@dataclass
class Verb:
    """How to set a verb up, run it on each target, and what it leaves when it succeeds."""

    name: str
    setup: str                          # none, configured, running, paused, checkpointed,
    #                                     mounted, exited, archive
    cli: list[str] | None               # CLI args; {A} is the archive path
    rest: list[tuple[str, str]]         # (method, path) requests; {X}: the name, {E}: exec id
    goal: str | None                    # engine state when done; None: the container is gone
    creates: bool = False               # the verb creates the container (retry = start)
    target_name: str = S_NAME


def _verbs() -> dict[str, Verb]:
    c = f"{L}/containers/{{X}}"
    return {v.name: v for v in (
        Verb("create", "none", ["create", "--name", S_NAME, DEMO, *COMMAND],
             [("POST", f"{L}/containers/create")], "configured", creates=True),
        Verb("init", "configured", None, [("POST", f"{c}/init")], "created"),
        Verb("start", "configured", ["start", S_NAME], [("POST", f"{c}/start")], "running"),
        Verb("run", "none", ["run", "-d", "--name", S_NAME, DEMO, *COMMAND],
             [("POST", f"{L}/containers/create"), ("POST", f"{c}/start")], "running",
             creates=True),
        Verb("stop", "running", ["stop", "-t", "2", S_NAME], [("POST", f"{c}/stop?timeout=2")],
             "exited"),
        Verb("kill", "running", ["kill", S_NAME], [("POST", f"{c}/kill")], "exited"),
        Verb("pause", "running", ["pause", S_NAME], [("POST", f"{c}/pause")], "paused"),
        Verb("unpause", "paused", ["unpause", S_NAME], [("POST", f"{c}/unpause")], "running"),
        Verb("restart", "running", ["restart", "-t", "2", S_NAME],
             [("POST", f"{c}/restart?t=2")], "running"),
        Verb("rm-f", "running", ["rm", "-f", "-t", "2", S_NAME],
             [("DELETE", f"{c}?force=true&t=2")], None),
        Verb("checkpoint", "running", ["container", "checkpoint", S_NAME],
             [("POST", f"{c}/checkpoint")], "exited"),
        Verb("restore", "checkpointed", ["container", "restore", S_NAME],
             [("POST", f"{c}/restore")], "running"),
        Verb("checkpoint-export", "running",
             ["container", "checkpoint", "--export", "{A}", S_NAME],
             [("POST", f"{c}/checkpoint?export=true")], "exited"),
        Verb("restore-import", "archive",
             ["container", "restore", "--import", "{A}", "--name", S_COPY],
             [("POST", f"{L}/containers/{S_COPY}/restore?import=true&name={S_COPY}")],
             "running", creates=True, target_name=S_COPY),
        Verb("exec", "running", ["exec", S_NAME, "true"],
             [("POST", f"{c}/exec"), ("POST", f"{L}/exec/{{E}}/start")], "running"),
        Verb("mount", "configured", ["mount", S_NAME], [("POST", f"{c}/mount")],
             "configured"),
        Verb("umount", "mounted", ["umount", S_NAME], [("POST", f"{c}/unmount")],
             "configured"),
        Verb("rm", "exited", ["rm", S_NAME], [("DELETE", c)], None),
    )}


VERB_TABLE = _verbs()


def _body(verb: Verb, method: str, path: str, archive: Path) -> bytes | None:
    import json

    if path.endswith("/containers/create"):
        return json.dumps({"image": DEMO, "command": COMMAND, "name": S_NAME}).encode()
    if path.endswith("/exec"):
        return json.dumps({"Cmd": ["true"]}).encode()
    if "/exec/" in path and path.endswith("/start"):
        return json.dumps({"Detach": True}).encode()
    if "import=true" in path:
        return archive.read_bytes()
    return None if method == "DELETE" else b""


@dataclass
class KillResult:
    verb: str
    target: str
    delay_ms: float
    landed: bool                         # the process was still working when killed
    failures: list[Failure] = field(default_factory=list)
    unrecoverable: int = 0
    orphans: int = 0                     # found after the kill (rm -f may still clear them)
    leftovers: int = 0                   # still there after rm -f of every container
    states: int = 0


class CrashRun:
    """The crash-injection campaign on one pair of roots; ``run()`` returns the report."""

    def __init__(self, *, seed: int, kills_per_verb: int, verbs: Sequence[str] = VERBS,
                 targets: Sequence[str] = TARGETS, max_delay_ms: float | None = None,
                 delay_ms: float | None = None, calibrate: bool = True,
                 log: Callable[[str], None] = print) -> None:
        unknown = set(verbs) - set(VERB_TABLE)
        if unknown:
            raise ValueError(f"unknown verbs {sorted(unknown)}; known: {', '.join(VERBS)}")
        self.seed = seed
        self.kills = kills_per_verb
        self.verbs = list(verbs)
        self.targets = list(targets)
        self.max_delay_ms = max_delay_ms
        self.fixed_delay_ms = delay_ms
        self.calibrating = calibrate and delay_ms is None and max_delay_ms is None
        self.log = log
        self.rng = random.Random(seed)
        self.roots = Roots("jcr")
        self.service: Service | None = None
        self.archive = self.roots.base.parent / f"{self.roots.base.name}-ckpt.tar.gz"
        self.durations: dict[tuple[str, str], float] = {}
        self.results: list[KillResult] = []
        self.broken: dict[tuple[str, str], str] = {}

    # -- setup ----------------------------------------------------------------------------
    def _svc(self) -> Service:
        if self.service is None or not self.service.alive():
            self.service = Service(self.roots)
            self.service.start()
        return self.service

    def _ensure_archive(self) -> None:
        if self.archive.exists():
            return
        rt = self.roots.rt
        ctr = rt.create_container(DEMO, COMMAND, name="archive-src")
        ctr.start()
        ctr.checkpoint(target_file=str(self.archive))
        rt.remove_container(ctr, force=True, timeout=0)

    def _setup(self, verb: Verb) -> None:
        rt = self.roots.rt
        if verb.setup == "archive":
            self._ensure_archive()
            return
        if verb.setup == "none":
            return
        ctr = rt.create_container(DEMO, COMMAND, name=S_NAME)
        if verb.setup == "mounted":
            ctr.mount()
        if verb.setup in ("running", "paused", "checkpointed", "exited"):
            ctr.start()
        if verb.setup == "paused":
            ctr.pause()
        if verb.setup == "checkpointed":
            ctr.checkpoint()
        if verb.setup == "exited":
            ctr.stop(timeout=0)

    # -- one verb on a target, killable -----------------------------------------------------
    def _launch(self, verb: Verb, target: str, kill_after: float | None) -> tuple[bool, str]:
        """Run the verb; SIGKILL the CLI/service after ``kill_after`` s if it is still at
        work. Returns (killed while working, error text of an unkilled run or "")."""
        if verb.name == "checkpoint-export":
            with contextlib.suppress(FileNotFoundError):
                self.archive.unlink()
        if target == "cli":
            assert verb.cli is not None
            args = [str(self.archive) if a == "{A}" else a for a in verb.cli]
            proc = subprocess.Popen(cli_argv(self.roots, *args), env=child_env(),
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            try:
                proc.wait(kill_after)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.communicate()
                return True, ""
            out, err = proc.communicate()
            return False, "" if proc.returncode == 0 else f"exit {proc.returncode}: {err.strip()}"
        svc = self._svc()
        outcome: list[str] = []
        archive = self.archive if verb.name != "checkpoint-export" else None

        def client() -> None:
            try:
                outcome.append(self._rest_sequence(svc.path, verb, archive))
            except HttpError as exc:
                outcome.append(f"no response: {exc}")

        worker = threading.Thread(target=client, daemon=True)
        worker.start()
        worker.join(kill_after)
        if worker.is_alive():
            svc.kill()
            worker.join(30)
            self._svc()
            return True, ""
        return False, outcome[0] if outcome else "client thread died"

    def _rest_sequence(self, sock: Path, verb: Verb, archive: Path | None) -> str:
        """The verb's requests in order; "" on success, else the first error."""
        exec_id = ""
        for method, path in verb.rest:
            path = path.replace("{X}", S_NAME).replace("{E}", exec_id)
            body = _body(verb, method, path, archive or self.archive)
            out = None
            if "export=true" in path:
                # Not the archive that restore-import reads: a killed service leaves the
                # client's copy truncated, and that is the client's file, not the engine's.
                out = open(self.archive.with_name(self.archive.name + ".download"),  # noqa: SIM115
                           "wb")
            try:
                resp = request(sock, method, path, body, timeout=120, out=out)
            finally:
                if out is not None:
                    out.close()
            if resp.status >= 400:
                return f"HTTP {resp.status}: {resp.text()}"
            if path.endswith("/exec"):
                exec_id = str(resp.json().get("Id", ""))
        return ""

    # -- after the kill ---------------------------------------------------------------------
    def _engine_state(self, name: str) -> str | None:
        try:
            ctr = self.roots.rt.lookup_container(name)
            return ctr.state.value
        except CtrError:
            return None

    def _at_goal(self, verb: Verb, state: str | None) -> bool:
        if verb.goal is None:
            return state is None
        return state == verb.goal or (verb.goal == "exited" and state == "stopped")

    def _next_verb(self, verb: Verb, target: str) -> tuple[str, str] | None:
        """The user's next command: (description, error text or "") or None if nothing to do.
        A retry refused because the killed verb's orphaned work (runc, CRIU) finished it in
        the meantime is no failure: the container did reach the verb's end state."""
        state = self._engine_state(verb.target_name)
        if self._at_goal(verb, state) and verb.name not in ("exec", "mount", "umount"):
            return None
        if verb.creates and state is not None:
            desc, err = "start", self._start(verb, target)
        elif verb.name == "checkpoint-export" and state not in ("running", None):
            return None  # checkpointed (the archive may be lost: a killed export's right)
        else:
            desc, err = "retry " + verb.name, self._retry(verb, target)
        if err and desc != "start" and self._at_goal(verb, self._engine_state(verb.target_name)):
            return desc, ""
        return desc, err

    def _start(self, verb: Verb, target: str) -> str:
        if target == "cli":
            return _cli_err(cli(self.roots, "start", verb.target_name))
        return _rest_err(self._svc().path, "POST", f"{L}/containers/{verb.target_name}/start")

    def _retry(self, verb: Verb, target: str) -> str:
        if target == "cli":
            assert verb.cli is not None
            args = [str(self.archive) if a == "{A}" else a for a in verb.cli]
            if verb.name == "checkpoint-export":
                self.archive.unlink(missing_ok=True)
            return _cli_err(cli(self.roots, *args))
        try:
            return self._rest_sequence(self._svc().path, verb, None
                                       if verb.name == "checkpoint-export" else self.archive)
        except HttpError as exc:
            return f"no response: {exc}"

    def _finish(self, target: str) -> list[str]:
        """``rm -f`` of every container, on the target; the errors."""
        errors = []
        names = [c.name for c in self.roots.rt.list_containers(all=True)]
        for name in names:
            if target == "cli":
                err = _cli_err(cli(self.roots, "rm", "-f", "-t", "0", name))
            else:
                err = _rest_err(self._svc().path, "DELETE",
                                f"{L}/containers/{name}?force=true&t=0")
            if err:
                errors.append(f"rm -f {name}: {err}")
        return errors

    def kill_once(self, verb: Verb, target: str, delay_ms: float) -> KillResult:
        res = KillResult(verb.name, target, delay_ms, landed=False)
        self._setup(verb)
        repro = (f"python -m tests.reliability crash --seed {self.seed} --verbs {verb.name} "
                 f"--targets {target} --delay-ms {delay_ms:.1f}")
        killed, err = self._launch(verb, target, delay_ms / 1000)
        res.landed = killed
        if not killed and err:
            res.failures.append(Failure("failure", f"{verb.name}/{target}",
                                        f"the verb itself failed (not killed): {err}", repro))
        nxt = self._next_verb(verb, target)
        if nxt is not None:
            desc, err = nxt
            if err:
                res.failures.append(Failure("failure", f"{verb.name}/{target}",
                                            f"{desc} after the kill failed: {err}", repro))
            else:
                state = self._engine_state(verb.target_name)
                goal = "running" if desc == "start" else verb.goal
                if not (state == goal or (goal == "exited" and state == "stopped")):
                    res.failures.append(Failure(
                        "failure", f"{verb.name}/{target}",
                        f"{desc} after the kill succeeded but left {state}, not {goal}", repro))
        exclude = [self.service.pid] if self.service is not None else []
        busy = settle(self.roots.run_root, exclude=exclude)
        if busy:
            res.failures.append(Failure("hang", f"{verb.name}/{target}",
                                        f"still busy 30 s after the kill: {busy[:3]}", repro))
        findings = check_invariants(self.roots)
        for f in findings:
            if f.kind == "state":
                res.states += 1
            else:
                res.orphans += 1
            res.failures.append(Failure("state" if f.kind == "state" else "orphan",
                                        f"{verb.name}/{target}", f"after the kill: {f}", repro))
        if target == "service" and self.service is not None and any(
                "HTTP 5" in f.detail for f in res.failures):
            for f in res.failures:
                if "HTTP 5" in f.detail:
                    f.detail += f" [service log: {self.service.errors()}]"
        errors = self._finish(target)
        settle(self.roots.run_root, exclude=exclude)
        remaining = [c.name for c in self.roots.rt.list_containers(all=True)]
        after: list[Finding] = check_invariants(self.roots) if not remaining else []
        if remaining:
            res.unrecoverable += len(remaining)
            res.failures.append(Failure("unrecoverable", f"{verb.name}/{target}",
                                        f"rm -f left {remaining}: {'; '.join(errors)[:600]}",
                                        repro))
        elif errors:
            res.failures.append(Failure("failure", f"{verb.name}/{target}",
                                        f"rm -f failed (but removed it): "
                                        f"{'; '.join(errors)[:600]}", repro))
        for f in after:
            res.leftovers += 1
            res.failures.append(Failure("leftover", f"{verb.name}/{target}",
                                        f"after rm -f: {f}", repro))
        if remaining or after:
            self._restart_roots()
        return res

    def _restart_roots(self) -> None:
        if self.service is not None:
            self.service.kill()
            self.service = None
        self.roots.renew()
        self.archive.unlink(missing_ok=True)
        self.archive.with_name(self.archive.name + ".download").unlink(missing_ok=True)
        self.archive = self.roots.base.parent / f"{self.roots.base.name}-ckpt.tar.gz"

    # -- calibration and the campaign -------------------------------------------------------
    def calibrate(self, verb: Verb, target: str) -> float:
        """One uncut run: its duration in ms (the delay range), or -1 if the verb fails."""
        self._setup(verb)
        if target == "service":
            self._svc()
        t0 = time.monotonic()
        _, err = self._launch(verb, target, None)
        ms = (time.monotonic() - t0) * 1000
        if err:
            self.broken[(verb.name, target)] = err
        self._finish(target)
        settle(self.roots.run_root, exclude=[self.service.pid] if self.service else [])
        if self.roots.rt.list_containers(all=True):
            self._restart_roots()
        return -1 if err else ms

    def pairs(self) -> list[tuple[Verb, str]]:
        out = []
        for name in self.verbs:
            verb = VERB_TABLE[name]
            for target in self.targets:
                if target == "cli" and verb.cli is None:
                    continue  # no `jupyter-ctr init`: podman has one, ours not
                out.append((verb, target))
        return out

    def run(self) -> CrashReport:
        started = time.monotonic()
        try:
            pairs = self.pairs()
            for verb, target in pairs:
                if self.calibrating:
                    ms = self.calibrate(verb, target)
                    self.log(f"calibrated {verb.name}/{target}: {ms:.0f} ms")
                else:
                    ms = TYPICAL_MS[verb.name][TARGETS.index(target)]
                self.durations[(verb.name, target)] = ms
            # Kills spread over the targets: kills_per_verb in all, round robin.
            for verb, target in pairs:
                n_targets = sum(1 for v, _ in pairs if v is verb)
                # the first verb's odd kill goes to the first target, the next one's to the next
                idx = ([t for v, t in pairs if v is verb].index(target)
                       - self.verbs.index(verb.name)) % n_targets
                n = self.kills // n_targets + (1 if idx < self.kills % n_targets else 0)
                top = self.max_delay_ms or max(self.durations.get((verb.name, target), 300), 50)
                for _ in range(n):
                    delay = self.fixed_delay_ms if self.fixed_delay_ms is not None \
                        else self.rng.uniform(0, top)
                    res = self.kill_once(verb, target, delay)
                    self.results.append(res)
                    for f in res.failures:
                        self.log(f.line())
        finally:
            if self.service is not None:
                self.service.kill()
            self.roots.close(remove=True)
            self.archive.unlink(missing_ok=True)
            self.archive.with_name(self.archive.name + ".download").unlink(missing_ok=True)
        return CrashReport(self, time.monotonic() - started)


def _cli_err(res: CliResult) -> str:
    return "" if res.rc == 0 else f"`jupyter-ctr {' '.join(res.argv)}` exit {res.rc}: " \
                                  f"{res.text()}"


def _rest_err(sock: Path, method: str, path: str) -> str:
    try:
        resp = request(sock, method, path, None if method == "DELETE" else b"", timeout=120)
    except HttpError as exc:
        return f"{method} {path}: no response: {exc}"
    return "" if resp.status < 400 else f"{method} {path}: HTTP {resp.status}: {resp.text()}"


@dataclass
class CrashReport:
    run: CrashRun
    seconds: float

    def counts(self) -> dict[tuple[str, str], Counter[str]]:
        out: dict[tuple[str, str], Counter[str]] = {}
        for r in self.run.results:
            c = out.setdefault((r.verb, r.target), Counter())
            c["kills"] += 1
            c["landed"] += r.landed
            c["failures"] += any(f.what in ("failure", "hang") for f in r.failures)
            c["states"] += r.states
            c["unrecoverable"] += r.unrecoverable
            c["orphans"] += r.orphans
            c["leftovers"] += r.leftovers
        return out

    def totals(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for c in self.counts().values():
            total.update(c)
        return total

    def failures(self) -> list[Failure]:
        return [f for r in self.run.results for f in r.failures]

    def failing_verbs(self) -> set[str]:
        return {r.verb for r in self.run.results if r.failures}

    def render(self) -> str:
        t = Table(("verb", "target", "delay<=ms", "kills", "mid-verb", "failures", "state!=runc",
                   "orphans", "unrecoverable", "leftovers"))
        for (verb, target), c in self.counts().items():
            top = self.run.max_delay_ms or self.run.durations.get((verb, target), 0)
            t.add(verb, target, f"{top:.0f}", c["kills"], c["landed"], c["failures"],
                  c["states"], c["orphans"], c["unrecoverable"], c["leftovers"])
        tot = self.totals()
        t.add("total", "", "", tot["kills"], tot["landed"], tot["failures"], tot["states"],
              tot["orphans"], tot["unrecoverable"], tot["leftovers"])
        lines = [f"crash injection: seed {self.run.seed}, {tot['kills']} kills in "
                 f"{self.seconds:.0f} s", t.render()]
        for (verb, target), err in self.run.broken.items():
            lines.append(f"uncut run failed: {verb}/{target}: {err[:300]}")
        fails = self.failures()
        if fails:
            lines.append(f"{len(fails)} findings:")
            lines += [f.line() for f in fails]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {"seed": self.run.seed, "totals": dict(self.totals()),
                "failures": [f.__dict__ for f in self.failures()]}
