from __future__ import annotations

import contextlib
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alerts.policy import alert_kind
from crawler.article import Article, Entity
from crawler.records import MatchedTerm, PollRecord, StoryMatch
from crawler.storage import Store
from crawler.storage.schema import SCHEMA_VERSION


def make_article(n: int, cluster: str | None = None, source: str = "s1") -> Article:
    a = Article(
        url=f"https://news.example/{n}", canonical_url=f"https://news.example/{n}", source=source
    )
    a.title = f"Sister city story {n}"
    a.text = "Oxford, Mississippi and Wuhan renewed their sister city ties."
    a.published = datetime(2024, 5, n % 28 + 1, tzinfo=UTC)
    a.language = "en"
    a.countries = ["CN", "US"]
    a.events = ["sister_city"]
    a.entities = [
        Entity(
            "geonames:1791247",
            "Wuhan",
            "place",
            "CN",
            "Hubei",
            30.58,
            114.27,
            1,
            [(30, 35)],
            "city",
        )
    ]
    a.cluster_id = cluster or a.id
    return a


def test_schema_version_and_wal(tmp_path: Path) -> None:
    with Store(tmp_path / "w.db") as store:
        assert store.execute("PRAGMA user_version")[0][0] == SCHEMA_VERSION
        assert store.execute("PRAGMA journal_mode")[0][0] == "wal"
    # reopening an up-to-date store migrates nothing and keeps data
    with Store(tmp_path / "w.db") as store:
        assert store.count_articles() == 0


def test_save_is_idempotent_and_round_trips(store_at: str) -> None:
    with Store(store_at) as store:
        a = make_article(1)
        assert store.save_article(a) is True
        assert store.save_article(make_article(1)) is False
        assert store.count_articles() == 1
        back = store.get_article(a.id)
        assert back is not None
        assert back.title == a.title and back.published == a.published
        assert back.entities[0].region == "Hubei" and back.entities[0].offsets == [(30, 35)]
        assert store.find_article("https://news.example/1?utm_source=x") is not None
        facets = {tuple(r) for r in store.execute("SELECT field, value FROM article_facets")}
        assert ("country", "CN") in facets and ("region", "hubei") in facets
        assert ("event", "sister_city") in facets and ("place", "wuhan") in facets
        if store.full_text:  # SQLite's FTS5 baseline index (Postgres has none)
            fts = store.execute("SELECT rowid FROM articles_fts WHERE articles_fts MATCH 'wuhan'")
            assert len(fts) == 1


def test_alerts_written_with_article_once_per_story(store_at: str) -> None:
    with Store(store_at) as store:
        lead = make_article(1)
        match = StoryMatch("sister-cities", "#sc", [MatchedTerm("sister city", "title", 0, 11)])
        store.save_article(lead, [match], alert_kind)
        # a syndicated copy from another source: a threaded "copy" alert
        copy = make_article(2, cluster=lead.id, source="s2")
        store.save_article(copy, [match], alert_kind)
        # another copy from the same second source: nothing more
        store.save_article(make_article(3, cluster=lead.id, source="s2"), [match], alert_kind)
        kinds = [(a.kind, a.article_id) for a in reversed(store.list_alerts())]
        assert kinds == [("story", lead.id), ("copy", copy.id)]
        due = store.due_alerts(datetime.now(UTC) + timedelta(seconds=1))
        assert [a.kind for a in due] == ["story", "copy"]
        assert due[0].payload["terms"] == [["sister city", "title", 0, 11]]


def test_failed_transaction_writes_nothing(store_at: str) -> None:
    with Store(store_at) as store:
        a = make_article(1)
        bad = StoryMatch("w", "#c")
        bad.terms = [object()]  # type: ignore[list-item]  # not JSON-serialisable: fails mid-transaction
        with contextlib.suppress(TypeError, AttributeError):
            store.save_article(a, [bad], alert_kind)
        assert store.count_articles() == 0
        if store.full_text:
            assert store.execute("SELECT count(*) FROM articles_fts")[0][0] == 0
        assert store.list_alerts() == []


def test_outbox_state_transitions(store_at: str) -> None:
    with Store(store_at) as store:
        store.save_article(make_article(1), [StoryMatch("w", "#c")], alert_kind)
        (alert,) = store.due_alerts()
        assert alert.id is not None
        later = datetime.now(UTC) + timedelta(minutes=5)
        store.mark_retry(alert.id, "HTTP 500", later)
        assert store.due_alerts() == []
        assert len(store.due_alerts(later)) == 1
        store.mark_failed(alert.id, "channel_not_found")
        assert store.alert_counts() == {"failed": 1}
        assert store.retry_failed() == 1
        store.mark_delivered(alert.id, "1700000000.000100")
        assert store.list_alerts("delivered")[0].delivered_ts == "1700000000.000100"


def test_source_state_and_health(store_at: str) -> None:
    with Store(store_at) as store:
        url = "http://127.0.0.1:1/feed"
        store.record_poll(
            url, PollRecord("feed", "ok", 200, items=5, new=3, etag='"a"', last_modified="x")
        )
        store.record_poll(url, PollRecord("feed", "error", 500, error="HTTP 500"))
        store.record_poll(url, PollRecord("feed", "error", None, error="timeout"))
        state = store.source_state("feed", url)
        assert (
            state.etag == '"a"'
            and state.consecutive_failures == 2
            and state.last_error == "timeout"
        )
        (health,) = store.source_health()
        assert health["items_24h"] == 5 and health["new_24h"] == 3 and health["polls_24h"] == 3
        store.record_poll(url, PollRecord("feed", "not_modified", 304))
        assert store.source_state("feed", url).consecutive_failures == 0
        # a source whose URL changed in the config starts afresh (old validators do not apply)
        assert store.source_state("feed", "http://127.0.0.1:1/other").etag is None


def test_store_file_is_plain_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    with Store(path) as store:
        store.save_article(make_article(1))
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_window_bound_with_a_fraction_of_a_second_keeps_what_it_holds(tmp_path: Path) -> None:
    """Stored dates are whole seconds: an article fetched at 12:00:05 is inside a window
    ending at 12:00:05.8 (a backtest run in the same second as the import left it out) and
    outside one starting at 12:00:05.8."""
    at = datetime(2026, 5, 1, 12, 0, 5, tzinfo=UTC)
    with Store(tmp_path / "w.db") as store:
        article = make_article(1)
        article.published, article.fetched = None, at
        store.save_article(article)
        later = at + timedelta(microseconds=800_000)
        for basis in ("published", "fetched"):
            ending = store.seqs_matching(None, date_field=basis, start=None, end=later)
            starting = store.seqs_matching(
                None, date_field=basis, start=later, end=at + timedelta(seconds=9)
            )
            assert len(ending) == 1 and starting == [], basis
