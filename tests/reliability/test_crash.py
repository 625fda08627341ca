"""A short seeded crash-injection run per verb: two SIGKILLs (one of the CLI, one of the
service, at a random point of the verb), then the invariants. ``make stress`` runs the long one.

Verbs that still fail because of a known issue-9 item are xfail (not strict: the kill lands at
a random point, so a short run may miss the bug); drop a verb from KNOWN once its fix lands.
"""

from __future__ import annotations

import pytest

from .crash import VERBS, CrashRun

SEED = 9009
#: verb -> the issue-9 item that still breaks it (remove the entry once the fix is merged).
KNOWN = {
    "start": "issue 9 item 1: a killed start: the retry runs under a live runc create "
             "('container with given ID already exists')",
    "run": "issue 9 item 1: a killed run -d (start): 'container with given ID already exists'",
    "restart": "issue 9 item 1: a killed restart (start): 'container with given ID already "
               "exists'",
    "restore": "issue 9 item 1 (killed restore: unrecoverable, criu-root mount and runc dir "
               "left) and item 6 (the service spools every restore body, left when killed)",
    "restore-import": "issue 9 item 1 (runc restore already exists, criu-root mount left), "
                      "item 6 (spooled upload left) and a .restore-* staging directory left "
                      "in <root>/containers",
    "checkpoint-export": "issue 9 item 6: a killed service leaves the export's temporary "
                         "archive in <runroot>/uploads",
    "checkpoint": "issue 9 item 1 (mechanism): the next verb reconciles under a live runc "
                  "checkpoint and finds the container paused (CRIU's freeze)",
    "create": "issue 9 item 7: a killed create can leave <root>/containers/<id> without a row",
    "pause": "issue 9 item 2: a killed pause can leave the container frozen but 'running'",
}


@pytest.mark.parametrize("verb", [
    pytest.param(v, marks=pytest.mark.xfail(reason=KNOWN[v], strict=False)) if v in KNOWN
    else v for v in VERBS])
def test_killed_verb_leaves_a_finishable_container(verb: str) -> None:
    report = CrashRun(seed=SEED, kills_per_verb=2, verbs=[verb], calibrate=False,
                      log=lambda line: None).run()
    assert report.totals()["kills"] == 2
    assert not report.failures(), report.render()
