"""Tests of the backend's API, services and database, on the embedded chain, SQLite and PostgreSQL.

Fixtures used only here go in this file; shared ones stay in tests/conftest.py and the support
modules beside it."""

from types import SimpleNamespace

import pytest

from backend.api import ratelimit


@pytest.fixture
def still_rate_window(monkeypatch):
    """The rate limits count in fixed one-minute windows of the monotonic clock: this stops that clock
    mid-window, so that no window ends between a test's requests (one did, and a limited request got
    through)."""
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(monotonic=lambda: 30.0))
