"""From a fetched page to a stored, matched article: the plain-Python pipeline.

Knows nothing of Scrapy, so `watchdesk extract`, backtests, benchmarks and the crawler all run
the same code. Every outcome is counted by name in `Stats`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

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
    """The article record for a fetched page, before enrichment."""
    url = page.url or page.final_url
    return Article(
        url=url,
        canonical_url=canonicalize_url(url),
        source=page.source,
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
    ) -> None:
        self.store = store
        self.context = context
        self.stats = stats or context.stats
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
        matches = self.match(article)
        if not self.store.save_article(article, matches, alert_kind):
            self.stats.inc("article/dropped/duplicate")
            return None
        self.stats.inc("article/stored")
        self.stats.inc("alert/queued", len(matches))
        return article
