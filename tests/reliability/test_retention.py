"""Retention (`store.retention`, crawler/retention.py): old articles leave the store with their
facets and full-text rows; the alert history stays whole; an alert still waiting keeps its
article; a prune is idempotent and leaves a store that passes SQLite's integrity checks."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

from alerts.policy import alert_kind
from crawler.article import Article, Entity, article_id
from crawler.records import PollRecord, StoryMatch
from crawler.storage import Store
from crawler.storage.retention import prune, retention_cutoff

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def _article(n: int, fetched: datetime, published: datetime | None) -> Article:
    url = f"https://news.example/{n}"
    art = Article(url=url, canonical_url=url, source="ledger", fetched=fetched)
    art.title = f"Story {n} about Hebei and Iowa"
    # a word of its own per article, to find (or not find) it in the full-text index
    art.text = f"Delegation report number {n} with marker word quokka{n}x."
    art.published = published
    art.countries = ["CN", "US"]
    art.entities = [Entity(id="hebei", name="Hebei", type="place", country="CN")]
    assert art.id == article_id(url)
    return art


def _fts(db: str, word: str) -> list[int]:
    conn = sqlite3.connect(db)
    try:
        return [
            r[0]
            for r in conn.execute(
                "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?", (word,)
            )
        ]
    finally:
        conn.close()


def test_prune_removes_old_articles_and_keeps_alert_history(store_at: str) -> None:
    db = store_at
    store = Store(db)
    sqlite = store.full_text  # the FTS5 table and the file's integrity are SQLite's
    old = NOW - timedelta(days=400)
    match = [StoryMatch(watchlist="desk", channel="#desk")]
    # 0-2 old and alerted (delivered); 3 old with a pending alert; 4 old, published long ago but
    # fetched recently (kept); 5-6 recent; 7 old without alert
    plan = [
        (old, old, True),
        (old, None, True),
        (old, old - timedelta(days=30), True),
        (old, old, True),
        (NOW - timedelta(days=1), old, False),
        (NOW, NOW, True),
        (NOW, None, False),
        (old, old, False),
    ]
    arts = []
    for n, (fetched, published, alerted) in enumerate(plan):
        art = _article(n, fetched, published)
        assert store.save_article(art, match if alerted else [], alert_kind)
        arts.append(art)
        store.record_poll("https://news.example/feed", PollRecord("ledger", "ok"), at=fetched)
    for alert in store.list_alerts(status="pending", limit=100):
        if alert.article_id != arts[3].id:
            store.mark_delivered(alert.id, f"ts-{alert.id}")  # type: ignore[arg-type]
    alerts_before = store.execute("SELECT * FROM alerts ORDER BY id")
    assert not sqlite or (_fts(db, "quokka0x") and _fts(db, "quokka7x"))

    report = prune(store, NOW - timedelta(days=365))

    kept = {r[0] for r in store.execute("SELECT id FROM articles")}
    assert kept == {arts[i].id for i in (3, 4, 5, 6)}
    assert report.articles == 4 and report.fts_rows == (4 if sqlite else 0)
    assert report.kept_for_alerts == 1
    assert report.polls == 5  # the polls recorded at the old time
    # the alert history is untouched, row for row
    assert [tuple(r) for r in store.execute("SELECT * FROM alerts ORDER BY id")] == [
        tuple(r) for r in alerts_before
    ]
    # index and facets follow the articles
    for i in (0, 1, 2, 7):
        assert not sqlite or _fts(db, f"quokka{i}x") == []
    for i in (3, 4, 5, 6):
        assert not sqlite or len(_fts(db, f"quokka{i}x")) == 1
    seqs = {r[0] for r in store.execute("SELECT seq FROM articles")}
    facet_seqs = {r[0] for r in store.execute("SELECT DISTINCT seq FROM article_facets")}
    assert facet_seqs == seqs
    store.close()

    if sqlite:
        conn = sqlite3.connect(db)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.execute("INSERT INTO articles_fts(articles_fts) VALUES ('integrity-check')")
        conn.close()

    # idempotent, and the pending story goes once its alert is sent
    store = Store(db)
    again = prune(store, NOW - timedelta(days=365))
    assert (again.articles, again.polls, again.kept_for_alerts) == (0, 0, 1)
    pending = store.list_alerts(status="pending")
    assert [a.article_id for a in pending] == [arts[3].id]
    store.mark_delivered(pending[0].id, "ts-late")  # type: ignore[arg-type]
    assert prune(store, NOW - timedelta(days=365)).articles == 1
    assert len(store.execute("SELECT * FROM alerts")) == len(alerts_before)
    store.close()


def test_pruned_story_is_not_alerted_again_when_a_feed_still_lists_it(store_at: str) -> None:
    store = Store(store_at)
    old = NOW - timedelta(days=400)
    art = _article(1, old, old)
    match = [StoryMatch(watchlist="desk", channel="#desk")]
    assert store.save_article(art, match, alert_kind)
    alert = store.list_alerts()[0]
    store.mark_delivered(alert.id, "ts-1")  # type: ignore[arg-type]
    assert prune(store, NOW - timedelta(days=365)).articles == 1
    # the crawler meets the same URL again: stored again, but the desk is not alerted twice
    assert store.save_article(_article(1, NOW, old), match, alert_kind)
    assert store.due_alerts(NOW + timedelta(days=1)) == []
    store.close()


def test_retention_cutoff() -> None:
    assert retention_cutoff(None, NOW) is None
    assert retention_cutoff("30d", NOW) == NOW - timedelta(days=30)
