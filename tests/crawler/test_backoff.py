from __future__ import annotations

from datetime import timedelta

from watchdesk.service.monitor import BACKOFF_CAP, source_backoff


def test_backoff_doubles_and_caps() -> None:
    every = timedelta(minutes=15)
    assert source_backoff(every, 0) == timedelta(0)
    assert source_backoff(every, 1) == timedelta(0)  # one failure: just the next scheduled poll
    assert source_backoff(every, 2) == timedelta(minutes=30)
    assert source_backoff(every, 3) == timedelta(hours=1)
    assert source_backoff(every, 50) == BACKOFF_CAP  # never given up for good


def test_backoff_cap_never_below_interval() -> None:
    daily = timedelta(days=1)
    assert source_backoff(daily, 10) == daily
