"""From a fetched page to a stored, matched article: the plain-Python pipeline.

Knows nothing of Scrapy, so `watchdesk extract`, backtests, benchmarks and the crawler all run
the same code. Every outcome is counted by name in `Stats`.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from alerts.matcher import WatchlistMatcher
from alerts.policy import alert_kind
from alerts.watchlist import WatchlistSet
from crawler.article import Article, Page
from crawler.records import StoryMatch
from crawler.stats import Stats
from crawler.storage import Store
from crawler.urls import canonicalize_url
from enrich.chain import enrich
from enrich.context import EnrichContext

log = logging.getLogger(__name__)


def article_from_page(page: Page) -> Article:
    """The article record for a fetched page, before enrichment: keyed and linked on the URL it
    lives at (the crawler's `canonical_url`, after redirects), not on the link that led there."""
    url = page.final_url or page.url
    return Article(
        url=url,
        canonical_url=page.canonical_url or canonicalize_url(url),
        source=page.source,
        publisher=page.publisher,
        unresolved=page.unresolved,
        html=page.html,
        entry=page.entry,
        source_tags=list(page.source_tags),
        fetched=page.fetched or datetime.now(UTC),
        language_hint=page.language_hint,
    )


class Processor:
    """Enriches, matches and stores pages; one instance per process, reused across cycles."""

    def __init__(
        self,
        store: Store,
        context: EnrichContext,
        watchlists: WatchlistSet,
        stats: Stats | None = None,
        *,
        max_age: timedelta | None = None,
        seed_first_poll: bool = False,
    ) -> None:
        self.store = store
        self.context = context
        self.stats = stats or context.stats
        self.max_age = max_age
        self.seed_first_poll = seed_first_poll
        # articles stored without alerts by a source's first poll, per source (the monitor
        # logs "seeded N items from SOURCE, no alerts" and resets it)
        self.seeded: Counter[str] = Counter()
        self.set_watchlists(watchlists)

    def set_watchlists(self, watchlists: WatchlistSet) -> None:
        self.watchlists = watchlists
        self.matcher = WatchlistMatcher(
            watchlists.watchlists, aliases=self.context.entities.ids_for_name
        )

    def match(self, article: Article) -> list[StoryMatch]:
        out = []
        for m in self.matcher.match(article):
            wl = m.watchlist
            out.append(
                StoryMatch(
                    watchlist=wl.name,
                    channel=wl.channel,
                    terms=list(m.terms),
                    digest=wl.is_digest,
                )
            )
        return out

    def process(self, page: Page) -> Article | None:
        """Enrich, match and store one page; returns the stored article, or None if it was not new.

        Never raises for a bad page: the failure is logged and counted, and the cycle goes on.
        """
        article = article_from_page(page)
        if self.store.has_article(article.id):
            # another link to a stored article (a redirect, an aggregator, the outlet's own
            # feed): remembered, so the next poll needs no fetch
            for lid, url in page.links:
                self.store.record_link(lid, url, page.source, "stored", article_id=article.id)
            self.stats.inc("article/dropped/duplicate")
            return None
        try:
            enrich(article, self.context)
        except Exception:
            self.stats.inc("article/error/enrich")
            log.exception("enrichment failed url=%r", article.url)
            return None
        if not article.text and not article.title:
            self.stats.inc("article/dropped/no_text")
            return None
        if not article.publisher:
            article.publisher = article.site_name or publisher_from_host(article.url)
        matches = self.match(article)
        seeding = self.seed_first_poll and page.first_poll
        if matches and (seeding or self.too_old(article)):
            self.stats.inc("alert/skipped/seed" if seeding else "alert/skipped/too_old")
            matches = []
        if not self.store.save_article(article, matches, alert_kind, links=page.links):
            self.stats.inc("article/dropped/duplicate")
            return None
        if seeding:
            self.seeded[page.source] += 1
        self.stats.inc("article/stored")
        self.stats.inc("alert/queued", len(matches))
        return article

    def too_old(self, article: Article, now: datetime | None = None) -> bool:
        """Published longer ago than `alerts.max_age` (undated: first seen, which is now)."""
        if self.max_age is None:
            return False
        when = article.published or article.fetched
        return when is not None and when < (now or datetime.now(UTC)) - self.max_age


def publisher_from_host(url: str) -> str:
    """The outlet when a page names none: its host without `www.` (`www.voanews.com` ->
    `voanews.com`)."""
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")
