"""A short seeded concurrency-fuzzer run: three processes (one on the CLI) doing random verbs on
two containers at once; each invariant is its own test so a known failure hides no other."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .concurrency import ConcurrencyReport, ConcurrencyRun

SEED = 9009


@pytest.fixture(scope="module")
def report() -> Iterator[ConcurrencyReport]:
    yield ConcurrencyRun(seed=SEED, workers=3, cli_workers=1, ops=20, containers=2,
                         log=lambda line: None).run()


def _kinds(report: ConcurrencyReport, *kinds: str) -> list[str]:
    return [f.line() for f in report.failures if f.what in kinds]


def test_every_verb_ran(report: ConcurrencyReport) -> None:
    assert sum(c["ops"] for c in report.per_verb.values()) == 3 * 20, report.render()


def test_no_verb_fails_unexpectedly_or_hangs(report: ConcurrencyReport) -> None:
    assert not _kinds(report, "error", "hang", "crash"), report.render()


def test_state_agrees_with_runc_and_nothing_orphaned(report: ConcurrencyReport) -> None:
    assert not _kinds(report, "state", "orphan"), report.render()


def test_every_container_can_be_finished(report: ConcurrencyReport) -> None:
    assert not _kinds(report, "unrecoverable", "leftover"), report.render()
