"""Tests of engine/checkpoint/: options, CRIU helpers and archives (unit tests, no container)."""
