"""The desk's verdicts in the store: one per alert and user, the latest counting; muted
stories and paused watchlists make no alert (real SQLite)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alerts.watchlist import parse_watchlists
from crawler.storage import Store
from tests.alerts.helpers import ingest, make_article

WATCHLISTS = parse_watchlists(
    {"watchlists": [{"name": "sister-cities", "query": '"sister city"', "channel": "#desk"}]},
    "watchlists.yaml",
)


def _alert_ids(store: Store) -> list[int]:
    return [a.id for a in reversed(store.list_alerts()) if a.id is not None]


def test_a_later_click_by_the_same_user_replaces_the_earlier(store: Store) -> None:
    ingest(store, WATCHLISTS, make_article(1, "Oxford sister city"))
    (alert,) = _alert_ids(store)
    t0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
    assert store.record_verdict(alert, "U1", "relevant", t0)
    assert store.record_verdict(alert, "U2", "relevant", t0 + timedelta(seconds=1))
    assert store.record_verdict(alert, "U1", "not_relevant", t0 + timedelta(seconds=2))
    verdicts = store.alert_verdicts(alert)
    assert [(v.user, v.verdict) for v in verdicts] == [("U2", "relevant"), ("U1", "not_relevant")]
    # the alert counts once, by its latest verdict
    (judged,) = store.judged_alerts()
    assert judged.verdict == "not_relevant" and judged.user == "U1"
    counts = store.verdict_counts()["sister-cities"]
    assert (counts.alerts, counts.relevant, counts.not_relevant) == (1, 0, 1)
    assert counts.precision == 0.0


def test_a_verdict_on_no_alert_or_of_another_kind_is_refused(store: Store) -> None:
    assert not store.record_verdict(999, "U1", "relevant")
    ingest(store, WATCHLISTS, make_article(1, "Oxford sister city"))
    with pytest.raises(ValueError, match="verdict must be one of"):
        store.record_verdict(_alert_ids(store)[0], "U1", "maybe")  # type: ignore[arg-type]


def test_precision_counts_judged_alerts_in_the_window(store: Store) -> None:
    for n in range(4):
        ingest(store, WATCHLISTS, make_article(n, f"Sister city story {n}"))
    ids = _alert_ids(store)
    store.record_verdict(ids[0], "U1", "relevant")
    store.record_verdict(ids[1], "U1", "relevant")
    store.record_verdict(ids[2], "U1", "not_relevant")
    counts = store.verdict_counts(since=datetime.now(UTC) - timedelta(days=30))["sister-cities"]
    assert (counts.alerts, counts.judged, counts.relevant) == (4, 3, 2)
    assert counts.precision == pytest.approx(2 / 3)
    assert counts.judged_share == pytest.approx(3 / 4)
    assert store.verdict_counts(since=datetime.now(UTC) + timedelta(days=1)) == {}


def test_a_muted_story_gets_no_more_copies_in_its_channel(store: Store) -> None:
    ingest(store, WATCHLISTS, make_article(0, "Sister city signed", cluster="story-1"))
    store.mute_story("#desk", "story-1", "U1")
    assert store.is_story_muted("#desk", "story-1")
    copy = make_article(1, "Sister city signed", source="gazette", cluster="story-1")
    ingest(store, WATCHLISTS, copy)
    assert [a.kind for a in store.list_alerts()] == ["story"]
    other = make_article(2, "Another sister city", source="gazette", cluster="story-2")
    ingest(store, WATCHLISTS, other)
    assert len(store.list_alerts()) == 2


def test_a_paused_watchlist_makes_no_instant_alert_until_the_pause_ends(store: Store) -> None:
    until = datetime.now(UTC) + timedelta(hours=2)
    store.pause_watchlist("sister-cities", until, "U1")
    assert store.paused_until("sister-cities") == until.replace(microsecond=0)
    ingest(store, WATCHLISTS, make_article(1, "Sister city during the pause"))
    assert store.list_alerts() == []
    assert store.paused_until("sister-cities", now=until + timedelta(seconds=1)) is None
