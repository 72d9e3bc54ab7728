"""Fixtures shared by the delivery tests: the loopback Slack stub, a store, the outbox clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from crawler.storage import Store
from tests.alerts.helpers import Clock
from tests.slack_stub import SlackStub


@pytest.fixture
def stub() -> Iterator[SlackStub]:
    with SlackStub() as s:
        yield s


@pytest.fixture
def store(store_at: str) -> Iterator[Store]:
    """The store on each engine (SQLite, Postgres): the outbox behaves the same on both."""
    with Store(store_at) as s:
        yield s


@pytest.fixture
def clock() -> Clock:
    """Starts at the wall clock: the store stamps new alerts with it (due at once)."""
    return Clock(datetime.now(UTC) + timedelta(seconds=1))
