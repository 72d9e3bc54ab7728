"""Copying a SQLite store into Postgres (`watchdesk index migrate --to postgresql://…`, issue
15): interrupted and resumed, the copy equals the source row for row, and the copied store
goes on storing and alerting with keys of its own."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts.policy import alert_kind
from crawler.records import MatchedTerm, PollRecord, StoryMatch
from crawler.storage import Store
from crawler.storage.copy import TABLES, copy_store, rows_to_copy
from tests.conftest import run_cli
from tests.crawler.test_store import make_article

# The size: 10,000 articles with 5,000 alerts (and 80,000 facet rows) (issue 15).
ARTICLES = 10_000
BATCH = 500
AT = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def fill(path: Path, n: int = ARTICLES) -> None:
    """A SQLite store with articles (facets, fingerprints), alerts in every state, polls,
    verdicts, mutes, pauses, refusals, links, tokens and cycles."""
    match = StoryMatch("sister", "#sc", [MatchedTerm("sister city", "title", 0, 11)])
    with Store(path) as store:
        for i in range(n):
            art = make_article(i, source=f"s{i % 7}")
            art.fingerprint = bytes([i % 256]) * 16
            links = [(f"link-{i}", f"https://news.example/amp/{i}")] if i % 10 == 0 else []
            assert store.save_article(art, [match] if i % 2 == 0 else [], alert_kind, links)
        for alert in store.list_alerts(limit=n)[: n // 4]:
            assert alert.id is not None
            store.mark_delivered(alert.id, f"17000.{alert.id:06d}", AT)
            store.record_verdict(alert.id, "U1", "relevant", AT)
        store.mark_failed(store.list_alerts("pending", limit=1)[0].id or 0, "channel_not_found")
        for k in range(40):
            store.record_poll(
                f"https://feeds.example/{k % 5}",
                PollRecord(f"s{k % 5}", "ok", 200, items=3, new=1, etag=f'"{k}"'),
                at=AT + timedelta(minutes=k),
            )
        store.record_cycle(1.25, 5, 10, 2, at=AT)
        store.record_refusal("s1", "http://127.0.0.2/x", "http://127.0.0.2/x", "private", at=AT)
        store.record_link("gone-1", "https://news.example/robots", "s2", "refused", "robots")
        store.save_tokens("gnews", {"tok1": "https://pub.example/1"}, at=AT)
        store.mute_story("#sc", "cluster-x", "U2", at=AT)
        store.pause_watchlist("sister", AT + timedelta(days=1), "U3")
        store.stop_sink("slack", "#gone", "channel_not_found", "invite the bot", now=AT)


def table_rows(store: Store, table: str, columns: list[str]) -> Counter[str]:
    rows = store.execute(f"SELECT {', '.join(columns)} FROM {table}")
    return Counter(repr(tuple(r)) for r in rows)


def columns_of(source: Store, table: str) -> list[str]:
    return [r["name"] for r in source.execute(f"SELECT name FROM pragma_table_info('{table}')")]


def assert_equal(source: Store, copy: Store) -> None:
    for table in [t for t, _ in TABLES] + ["article_facets"]:
        columns = columns_of(source, table)
        assert table_rows(copy, table, columns) == table_rows(source, table, columns), table


def test_copy_interrupted_and_resumed_equals_the_source(
    tmp_path: Path, postgres_store: str
) -> None:
    path = tmp_path / "watchdesk.db"
    fill(path)
    with Store(path) as source, Store(postgres_store) as copy:
        todo = rows_to_copy(source, copy)
        written: list[int] = []

        def interrupt(n: int) -> None:
            written.append(n)
            if sum(written) >= ARTICLES // 2 - BATCH // 2:
                raise KeyboardInterrupt  # Ctrl-C in the middle of the articles

        with pytest.raises(KeyboardInterrupt):
            copy_store(source, copy, batch=BATCH, progress=interrupt)
        half = ARTICLES // 2
        assert copy.count_articles() == half  # the batches committed, each whole
        assert rows_to_copy(source, copy) == todo - half
        report = copy_store(source, copy, batch=BATCH)
        assert report.copied["articles"] == ARTICLES - half
        assert_equal(source, copy)
        assert rows_to_copy(source, copy) == sum(
            n for t, n in report.copied.items() if t not in ("articles", "alerts", "polls")
        )  # only the small tables are copied again: nothing is missing
        again = copy_store(source, copy, batch=BATCH)  # a third run adds nothing
        assert again.copied["articles"] == again.copied["alerts"] == again.copied["polls"] == 0
        assert copy.count_articles() == ARTICLES

        # the copy goes on: a new article and its alert get keys of their own
        new = make_article(ARTICLES + 1)
        match = StoryMatch("sister", "#sc")
        assert copy.save_article(new, [match], alert_kind)
        assert copy.execute("SELECT seq FROM articles WHERE id = ?", (new.id,))[0][0] == (
            ARTICLES + 1
        )
        ids = [a.id for a in copy.list_alerts(limit=ARTICLES)]
        assert len(ids) == len(set(ids)) == ARTICLES // 2 + 1


def test_copy_refuses_a_database_holding_another_store(tmp_path: Path, postgres_store: str) -> None:
    path = tmp_path / "watchdesk.db"
    fill(path, 5)
    with Store(postgres_store) as other:
        other.save_article(make_article(99))
    with (
        Store(path) as source,
        Store(postgres_store) as copy,
        pytest.raises(ValueError, match="already holds other articles"),
    ):
        copy_store(source, copy)


def test_index_migrate_to_postgres_command(tmp_path: Path, postgres_store: str) -> None:
    fill(tmp_path / "var" / "watchdesk.db", 30)
    config = tmp_path / "watchdesk.yaml"
    config.write_text("store: {path: var/watchdesk.db}\nsources: []\n", encoding="utf-8")
    result = run_cli("--config", str(config), "index", "migrate", "--to", postgres_store)
    assert result.returncode == 0, result.stderr
    assert "copied" in result.stdout and "articles 30" in result.stdout
    with Store(tmp_path / "var" / "watchdesk.db") as source, Store(postgres_store) as copy:
        assert_equal(source, copy)
    bad = run_cli("--config", str(config), "index", "migrate", "--to", "mysql://x/y")
    assert bad.returncode == 2 and "postgresql:// URL" in bad.stderr
