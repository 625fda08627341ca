"""Reliability suite (issue 9): crash injection, a concurrency fuzzer and a REST fuzzer.

``python -m tests.reliability --help`` runs them at any length; ``tests/reliability/test_*.py``
run short seeded versions in the normal test suite; ``make stress`` runs the long ones.
"""
