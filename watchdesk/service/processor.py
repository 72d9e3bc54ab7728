"""An article's journey, from a fetched page to alerts queued for delivery: the `PIPELINE` list.

The one place that orders the journey. Each step is a plain function over the `Journey` (the
page, its article, the watchlists it matched) that either lets it go on or drops it with a
named reason, counted as `article/dropped/<reason>`. Knows nothing of Scrapy, so the crawler
(through `spiders.item_pipelines`), `watchdesk extract` (`Processor.preview`), benchmarks and
tests all run the same steps. The last step writes the article and its alerts to the outbox in
one transaction; the outbox's sender (`alerts.outbox`, on the monitor's tick) delivers them.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from alerts.learned_relevance import LearnedRelevance, rescore
from alerts.matcher import WatchlistMatcher
from alerts.policy import alert_kind
from alerts.watchlist import WatchlistSet
from crawler.article import Article, Page
from crawler.records import StoryMatch
from crawler.stats import Stats
from crawler.storage import Store
from crawler.urls import canonicalize_url
from enrich.chain import EnrichmentStep, run_enrichment_step
from enrich.clustering import cluster_story
from enrich.context import EnrichContext
from enrich.entities import tag_entities
from enrich.events import classify_events
from enrich.extraction import extract_article
from enrich.language import identify_language
from enrich.places import tag_places
from enrich.relevance import score_relevance

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
        label=page.label,
        unresolved=page.unresolved,
        html=page.html,
        entry=page.entry,
        source_tags=list(page.source_tags),
        fetched=page.fetched or datetime.now(UTC),
        language_hint=page.language_hint,
    )


@dataclass
class Journey:
    """One page on its way through the pipeline."""

    page: Page
    article: Article
    matches: list[StoryMatch] = field(default_factory=list)
    seeding: bool = False  # a first poll storing its backlog without alerts


@dataclass(frozen=True)
class Step:
    """A named step: `run(processor, journey)` returns None to go on, or the drop reason.

    `enrichment` marks the steps that only fill the article's fields (what `extract` shows);
    `writes` marks those that need the store (skipped by a preview)."""

    name: str
    run: Callable[[Processor, Journey], str | None]
    enrichment: bool = False
    writes: bool = False


def skip_known(processor: Processor, journey: Journey) -> str | None:
    """An article already stored is not processed again (its id is its canonical URL's hash).

    The links that led to it (a redirect, an aggregator, the outlet's own feed) are remembered,
    so the next poll needs no fetch."""
    article, page = journey.article, journey.page
    if not processor.store.has_article(article.id):
        return None
    for lid, url in page.links:
        processor.store.record_link(lid, url, page.source, "stored", article_id=article.id)
    return "duplicate"


def enrichment(step: EnrichmentStep) -> Callable[[Processor, Journey], str | None]:
    """An enrichment step as a pipeline step: it fills fields and never drops the article."""

    def run(processor: Processor, journey: Journey) -> str | None:
        run_enrichment_step(step, journey.article, processor.context)
        return None

    run.__name__ = step.__name__
    return run


def score_learned(processor: Processor, journey: Journey) -> str | None:
    """With `relevance.learned` and a fitted model, the desk's learned score replaces the
    hand-set one (which stays in the reasons); nothing otherwise."""
    if processor.learned is not None:
        rescore(journey.article, processor.learned)
    return None


def require_text(processor: Processor, journey: Journey) -> str | None:
    """An article with neither text nor title has nothing to search, match or show."""
    return None if journey.article.text or journey.article.title else "no_text"


def name_publisher(processor: Processor, journey: Journey) -> str | None:
    """The outlet, when neither the feed nor the page named it: the page's site name, or its
    host."""
    article = journey.article
    if not article.publisher:
        article.publisher = article.site_name or publisher_from_host(article.url)
    return None


def match_watchlists(processor: Processor, journey: Journey) -> str | None:
    """The watchlists the article matches, with the terms to highlight."""
    journey.matches = processor.match(journey.article)
    return None


def hold_first_day(processor: Processor, journey: Journey) -> str | None:
    """No alerts from a source's first poll when `alerts.first_poll: seed` (its backlog is
    stored and searchable), nor for articles older than `alerts.max_age`."""
    seeding = processor.seed_first_poll and journey.page.first_poll
    journey.seeding = seeding
    if journey.matches and (seeding or processor.too_old(journey.article)):
        processor.stats.inc("alert/skipped/seed" if seeding else "alert/skipped/too_old")
        journey.matches = []
    return None


def store_with_alerts(processor: Processor, journey: Journey) -> str | None:
    """Store the article and queue its alerts (as `alerts.policy` decides) in one transaction."""
    page = journey.page
    if not processor.store.save_article(
        journey.article, journey.matches, alert_kind, links=page.links
    ):
        return "duplicate"  # stored meanwhile by another worker
    if journey.seeding:
        processor.seeded[page.source] += 1
    processor.stats.inc("article/stored")
    processor.stats.inc("alert/queued", len(journey.matches))
    return None


# The journey of every article, in order. Enrichment steps read what the ones before them set:
# language needs the extracted text, relevance reads places, entities and events, and the
# story step goes last because it needs the final text.
PIPELINE: list[Step] = [
    Step("known", skip_known),
    # html -> title, text, date, author, site name (or the feed summary)
    Step("extract", enrichment(extract_article), enrichment=True),
    # language, and match_text folded for matching
    Step("language", enrichment(identify_language), enrichment=True),
    # countries, states, cities, provinces, with coordinates
    Step("places", enrichment(tag_places), enrichment=True),
    # organisations and watched people, exact and explainable
    Step("entities", enrichment(tag_entities), enrichment=True),
    # exchange kinds with their evidence phrases
    Step("events", enrichment(classify_events), enrichment=True),
    # 0..1 with reasons; reads places, entities and events
    Step("relevance", enrichment(score_relevance), enrichment=True),
    # the desk's learned score in its place, when switched on (alerts.learned_relevance)
    Step("learned", score_learned, enrichment=True),
    # syndicated copies share a cluster_id
    Step("story", enrichment(cluster_story), enrichment=True),
    Step("text", require_text),
    Step("publisher", name_publisher),
    Step("match", match_watchlists),
    Step("first_day", hold_first_day),
    Step("store", store_with_alerts, writes=True),
]

# The enrichment steps alone, in their pipeline order (benchmarks time them one by one).
ENRICHMENT_STEPS: list[EnrichmentStep] = [
    extract_article,
    identify_language,
    tag_places,
    tag_entities,
    classify_events,
    score_relevance,
    cluster_story,
]


class Processor:
    """Runs pages through the `PIPELINE`; one instance per process, reused across cycles."""

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
        # the desk's model (`relevance.learned`), set and refitted by the monitor; None: the
        # hand-set score alone
        self.learned: LearnedRelevance | None = None
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
        """Take one page through the whole pipeline; returns the stored article, or None when a
        step dropped it.

        Never raises for a bad page: the failure is logged and counted, and the cycle goes on.
        """
        journey = Journey(page, article_from_page(page))
        return journey.article if self._run(journey, PIPELINE) else None

    def preview(self, page: Page) -> Journey:
        """The journey without the store: enriched and matched, nothing written or skipped as
        known (what `watchdesk extract` shows)."""
        journey = Journey(page, article_from_page(page))
        self._run(journey, [s for s in PIPELINE if not s.writes and s.name != "known"])
        return journey

    def _run(self, journey: Journey, steps: list[Step]) -> bool:
        for step in steps:
            try:
                reason = step.run(self, journey)
            except Exception:
                self.stats.inc(f"article/error/{step.name}")
                log.exception("pipeline step failed step=%s url=%r", step.name, journey.article.url)
                return False
            if reason is not None:
                self.stats.inc(f"article/dropped/{reason}")
                return False
        return True

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
