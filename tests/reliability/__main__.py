"""``python -m tests.reliability {crash,concurrency,rest,all} --seed S ...``: the reliability
runs at any length, with their tables. Exit status 1 when a run found something."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path


def _csv(text: str) -> list[str]:
    return [t for t in text.split(",") if t]


def main(argv: list[str] | None = None) -> int:
    from .crash import TARGETS, VERBS

    p = argparse.ArgumentParser(prog="python -m tests.reliability", description=__doc__)
    p.add_argument("what", choices=("crash", "concurrency", "rest", "all", "scrub"),
                   help="a run, or scrub: clean up the roots (BASE...) a killed run left")
    p.add_argument("bases", nargs="*", type=Path, metavar="BASE",
                   help="for scrub: /tmp/jcr..., /tmp/jcc..., /tmp/jrf... directories")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: time-based)")
    g = p.add_argument_group("crash injection")
    g.add_argument("--kills-per-verb", type=int, default=10,
                   help="kills per verb, spread over the targets (default 10)")
    g.add_argument("--verbs", type=_csv, default=list(VERBS),
                   help=f"comma-separated (default all: {','.join(VERBS)})")
    g.add_argument("--targets", type=_csv, default=list(TARGETS), help="cli,service")
    g.add_argument("--max-delay-ms", type=float, default=None,
                   help="kill delays in [0, this] (default: each verb's measured duration)")
    g.add_argument("--delay-ms", type=float, default=None,
                   help="one fixed delay (to reproduce a finding)")
    g.add_argument("--no-calibrate", action="store_true",
                   help="delays from the table of usual durations, not from one uncut run")
    g = p.add_argument_group("concurrency fuzzer")
    g.add_argument("--workers", type=int, default=4, help="processes (default 4)")
    g.add_argument("--cli-workers", type=int, default=1,
                   help="of which drive the CLI instead of the engine API (default 1)")
    g.add_argument("--ops", type=int, default=50, help="verbs per worker (default 50)")
    g.add_argument("--containers", type=int, default=3, help="container names (default 3)")
    g = p.add_argument_group("REST fuzzer")
    g.add_argument("--requests", type=int, default=1000, help="requests (default 1000)")
    g.add_argument("--timeout", type=float, default=20.0,
                   help="a request without an answer after this is a hang (default 20 s)")
    p.add_argument("--json", type=Path, default=None, help="also write the findings here")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        p.error("the runs drive real runc, conmon and CRIU: run them as root")
    # SIGTERM (make, a CI timeout) unwinds like ^C: every run scrubs its roots on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.what == "scrub":
        from .harness import Roots

        for base in args.bases:
            Roots.adopt(base).close(remove=True)
            print(f"scrubbed {base}")
        return 0
    seed = args.seed if args.seed is not None else int(time.time()) % 100000
    found = 0
    out: dict[str, object] = {"seed": seed}
    if args.what in ("crash", "all"):
        from .crash import CrashRun

        report = CrashRun(seed=seed, kills_per_verb=args.kills_per_verb, verbs=args.verbs,
                          targets=args.targets, max_delay_ms=args.max_delay_ms,
                          delay_ms=args.delay_ms, calibrate=not args.no_calibrate,
                          log=_log).run()
        print(report.render(), flush=True)
        found += len(report.failures())
        out["crash"] = report.as_dict()
    if args.what in ("concurrency", "all"):
        from .concurrency import ConcurrencyRun

        creport = ConcurrencyRun(seed=seed, workers=args.workers, cli_workers=args.cli_workers,
                                 ops=args.ops, containers=args.containers, log=_log).run()
        print(creport.render(), flush=True)
        found += len(creport.failures)
        out["concurrency"] = creport.as_dict()
    if args.what in ("rest", "all"):
        from .restfuzz import RestFuzz

        rreport = RestFuzz(seed=seed, requests=args.requests, timeout=args.timeout,
                           log=_log).run()
        print(rreport.render(), flush=True)
        found += len(rreport.failures)
        out["rest"] = rreport.as_dict()
    if args.json is not None:
        args.json.write_text(json.dumps(out, indent=1, default=str))
    return 1 if found else 0


def _log(line: str) -> None:
    print(f"  {line}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
