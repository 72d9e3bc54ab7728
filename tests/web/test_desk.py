"""The desk's watchlist overview: computed from the archive, kept until the archive changes."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.query.corpus import ARTICLES
from tests.web.archive import build_archive
from watchdesk.web.desk import Desk


def test_overview_follows_new_articles(tmp_path: Path) -> None:
    fixture = build_archive(tmp_path)
    desk = Desk.open(fixture.loaded)
    try:
        before = {v.watchlist.name: v for v in desk.watchlist_overview()}
        again = {v.watchlist.name: v for v in desk.watchlist_overview()}
        assert again["sister-cities"] is before["sister-cities"]  # kept while nothing changed
        fresh = copy.deepcopy(ARTICLES[0])  # a sister-city story with Wuhan
        fresh.url = fresh.canonical_url = "https://example.org/fresh"
        fresh.published = datetime.now(UTC) - timedelta(hours=1)
        assert desk.store.save_article(fresh)
        after = {v.watchlist.name: v for v in desk.watchlist_overview()}
        for name in ("sister-cities", "wuhan-daily"):
            assert after[name].total == before[name].total + 1
            assert after[name].latest[0].article.id == fresh.id
            day = fresh.published.date().isoformat()
            assert dict(after[name].days)[day] == dict(before[name].days)[day] + 1
    finally:
        desk.close()
