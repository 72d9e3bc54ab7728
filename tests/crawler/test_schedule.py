"""Adaptive polling and source health: pure rules over a poll history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crawler.config import SourceConfig
from crawler.records import PollSummary, SourceState
from crawler.schedule import adaptive_interval, assess_health, next_interval, silent_after

T0 = datetime(2024, 5, 1, tzinfo=UTC)
MIN, MAX = timedelta(minutes=5), timedelta(hours=4)


def history(*outcomes: tuple[str, int, int], every: timedelta = MIN) -> list[PollSummary]:
    return [
        PollSummary(T0 + i * every, s, items, new) for i, (s, items, new) in enumerate(outcomes)
    ]


def test_quiet_source_slows_down_to_the_bound() -> None:
    base = adaptive_interval([], MIN, MAX)
    quiet = adaptive_interval(history(*[("ok", 20, 0)] * 3), MIN, MAX)
    assert quiet > base
    assert adaptive_interval(history(*[("not_modified", 0, 0)] * 40), MIN, MAX) == MAX


def test_busy_source_speeds_up_to_the_bound() -> None:
    busy = adaptive_interval(history(*[("ok", 10, 8)] * 2), MIN, MAX)
    assert busy < adaptive_interval([], MIN, MAX)
    assert adaptive_interval(history(*[("ok", 10, 9)] * 40), MIN, MAX) == MIN


def test_a_few_new_items_or_failures_keep_the_pace() -> None:
    base = adaptive_interval([], MIN, MAX)
    assert adaptive_interval(history(("ok", 20, 2), ("error", 0, 0)), MIN, MAX) == base


def test_feed_ttl_hint_raises_the_floor_but_not_past_max() -> None:
    busy = history(*[("ok", 10, 9)] * 40)
    assert adaptive_interval(busy, MIN, MAX, hint=timedelta(hours=1)) == timedelta(hours=1)
    assert adaptive_interval(busy, MIN, MAX, hint=timedelta(days=1)) == MAX


def test_fixed_sources_keep_their_interval() -> None:
    src = SourceConfig(name="a", url="https://x.example/f", every="10m")
    assert next_interval(src, history(*[("ok", 1, 0)] * 10)) == timedelta(minutes=10)
    auto = SourceConfig(name="b", url="https://x.example/f", every="auto", min_every="1m")
    assert next_interval(auto, history(*[("ok", 10, 9)] * 40), ttl_minutes=30) == timedelta(
        minutes=30
    )


def test_silence_threshold_learnt_from_rhythm() -> None:
    src = SourceConfig(name="a", url="https://x.example/f", every="15m")
    daily = history(*[("ok", 5, 1)] * 6, every=timedelta(days=1))
    assert silent_after(src, daily) == timedelta(days=3)
    assert silent_after(src, []) == timedelta(hours=24)
    set_ = SourceConfig(name="a", url="https://x.example/f", silent_after="2h")
    assert silent_after(set_, daily) == timedelta(hours=2)


def state(**kw: object) -> SourceState:
    return SourceState(name="a", url="https://x.example/f", **kw)  # type: ignore[arg-type]


def test_health_failing_silent_ok() -> None:
    src = SourceConfig(name="a", url="https://x.example/f", every="15m", silent_after="6h")
    now = T0 + timedelta(days=1)
    assert assess_health(src, state(), [], now)[0] == "ok"  # never polled
    one_failure = state(
        last_attempt=now,
        last_success=now - timedelta(minutes=15),
        consecutive_failures=1,
        last_error="HTTP 500",
    )
    assert assess_health(src, one_failure, [], now)[0] == "ok"  # a blip
    failing = state(
        last_attempt=now,
        last_success=now - timedelta(hours=2),
        consecutive_failures=4,
        last_error="HTTP 500",
    )
    health, why = assess_health(src, failing, [], now)
    assert health == "failing" and "HTTP 500" in why
    quiet = state(last_attempt=now, last_success=now, last_new=now - timedelta(hours=7))
    assert assess_health(src, quiet, [], now)[0] == "silent"
    fresh = state(last_attempt=now, last_success=now, last_new=now - timedelta(hours=1))
    assert assess_health(src, fresh, [], now) == ("ok", "")
