"""A short seeded REST-fuzzer run against ``jupyter-ctr service --socket``; each invariant is its
own test, so one kind of finding hides no other."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .restfuzz import RestFuzz, RestReport

SEED = 9009


@pytest.fixture(scope="module")
def report() -> Iterator[RestReport]:
    yield RestFuzz(seed=SEED, requests=150, timeout=5, fixture_s=5, log=lambda line: None).run()


def _kinds(report: RestReport, *kinds: str) -> list[str]:
    return [f.line() for f in report.failures if f.what in kinds]


def test_every_request_answered(report: RestReport) -> None:
    assert sum(report.fuzz.codes.values()) + report.fuzz.slow + len(
        _kinds(report, "hang", "no-answer")) == 150


def test_never_a_5xx(report: RestReport) -> None:
    assert not _kinds(report, "5xx"), report.render()


def test_never_a_hang_and_no_lock_kept(report: RestReport) -> None:
    assert not _kinds(report, "hang", "no-answer", "wedged"), report.render()


def test_service_stays_alive(report: RestReport) -> None:
    assert not _kinds(report, "service-died"), report.render()


def test_nothing_leaked(report: RestReport) -> None:
    assert not _kinds(report, "spool", "leftover", "unrecoverable", "fixtures"), \
        report.render()
