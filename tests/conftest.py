"""Shared fixtures. A test that logs an unexpected warning fails (as qutebrowser's logfail does)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _fail_on_warning_logs(caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test whose code logs a warning or worse, unless it is marked ``allow_warning_logs``."""
    caplog.set_level(logging.INFO, logger="deskline")
    yield
    if request.node.get_closest_marker("allow_warning_logs"):
        return
    bad = [r for r in caplog.get_records("call") if r.levelno >= logging.WARNING and r.name.startswith("deskline")]
    if bad:
        pytest.fail("unexpected log messages: " + "; ".join(f"{r.name}: {r.getMessage()}" for r in bad))
