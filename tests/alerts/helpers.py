"""Shared pieces of the delivery tests: a controllable clock, articles, and live ingestion
(match + store in one transaction, exactly as `watchdesk.service.processor.Processor` does it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from alerts.matcher import WatchlistMatcher
from alerts.policy import alert_kind
from alerts.watchlist import WatchlistSet
from crawler.article import Article, Entity
from crawler.records import StoryMatch
from crawler.storage import Store

OXFORD = Entity("geonames:4440076", "Oxford", "place", "US", "Mississippi", kind="city")
WUHAN = Entity("geonames:1791247", "Wuhan", "place", "CN", "Hubei", kind="city")


@dataclass
class Clock:
    """The outbox's `clock`: time moves only when a test says so."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def make_article(
    n: int,
    title: str,
    text: str = "",
    *,
    source: str = "clarion",
    cluster: str | None = None,
    relevance: float = 0.7,
    published: datetime | None = None,
) -> Article:
    url = f"https://news.example/{source}/{n}"
    return Article(
        url=url,
        canonical_url=url,
        source=source,
        title=title,
        text=text or f"{title}. The sister city agreement with Wuhan was signed on Monday.",
        language="en",
        entities=[OXFORD, WUHAN],
        countries=["US", "CN"],
        events=["sister_city"],
        relevance=relevance,
        published=published or datetime(2026, 11, 2, 14, 0, tzinfo=UTC),
        cluster_id=cluster,
        is_cluster_lead=cluster is None or n == 0,
    )


def ingest(store: Store, watchlists: WatchlistSet, article: Article) -> int:
    """Match and store one article with its alerts; returns how many watchlists matched."""
    matcher = WatchlistMatcher(watchlists.watchlists)
    matches = [
        StoryMatch(m.watchlist.name, m.watchlist.channel, list(m.terms), m.watchlist.is_digest)
        for m in matcher.match(article)
    ]
    assert store.save_article(article, matches, alert_kind)
    return len(matches)
