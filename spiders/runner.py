"""Running Scrapy crawls inside this process: the runner, one crawl per kind of source, the reactor.

Crawls run in-process (not as `scrapy crawl` subprocesses) so that one process keeps its store
connection, its enrichment resources and its coordinator across polls; the service (the monitor,
`watchdesk sources check`) calls `crawl_sources` once per poll round.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, cast

from crawler.config import CrawlConfig, SourceConfig
from crawler.coordination import Coordinator
from crawler.stats import Stats
from crawler.storage import Store
from spiders.base import PageProcessor, SourceSpider


def make_runner(crawl: CrawlConfig) -> Any:
    """A Scrapy runner for crawl after crawl in this process (on the asyncio reactor)."""
    from scrapy.crawler import AsyncCrawlerRunner

    from spiders.settings import REACTOR

    # Only what every crawl shares: the runner's settings are merged into each crawl's own
    # (built per poll by crawl_sources, with the sources' politeness overrides).
    return AsyncCrawlerRunner({"TWISTED_REACTOR": REACTOR, "LOG_LEVEL": _scrapy_log_level()})


def _scrapy_log_level() -> str:
    level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
    return "ERROR" if level not in ("DEBUG",) else "INFO"


def spider_classes() -> dict[str, type[SourceSpider]]:
    """The spider of each source kind."""
    from spiders.feed_spider import FeedSpider
    from spiders.listing import ListingSpider
    from spiders.sitemap import SitemapSpider

    return {"feed": FeedSpider, "sitemap": SitemapSpider, "listing": ListingSpider}


async def crawl_sources(
    runner: Any,
    crawl: CrawlConfig,
    sources: list[SourceConfig],
    *,
    store: Store,
    processor: PageProcessor | None,
    stats: Stats,
    in_flight: Coordinator | None = None,
    dry_run: bool = False,
) -> list[SourceSpider]:
    """Crawl `sources` once, one Scrapy crawl per kind, side by side; returns the spiders
    (their `polls` and, in a dry run, their `tallies` with what each source would yield)."""
    from scrapy.crawler import Crawler

    from spiders.settings import build_settings

    classes = spider_classes()
    crawlers = []
    jobs = []
    for kind, cls in classes.items():
        group = [s for s in sources if s.kind == kind]
        if not group:
            continue
        # per-crawl settings: the sources' own politeness overrides become download slots
        crawler = Crawler(cls, build_settings(crawl, _scrapy_log_level(), group))
        crawlers.append(crawler)
        jobs.append(
            runner.crawl(
                crawler,
                sources=group,
                store=store,
                processor=processor,
                stats=stats,
                allow_private=crawl.allow_private_addresses,
                max_entries=crawl.max_entries_per_feed,
                in_flight=in_flight,
                dry_run=dry_run,
            )
        )
    await asyncio.gather(*jobs)
    return [cast("SourceSpider", c.spider) for c in crawlers if c.spider is not None]


def run_in_reactor(main: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """Run a coroutine on Scrapy's asyncio reactor, to completion; returns its result.

    The reactor can run once per process, which is all the CLI needs.
    """
    from scrapy.utils.reactor import install_reactor

    from spiders.settings import REACTOR

    install_reactor(REACTOR)
    from twisted.internet import reactor as _reactor
    from twisted.internet.defer import Deferred

    # twisted types the module attribute as its narrowest interface; the installed reactor
    # has stop/run/callWhenRunning
    reactor: Any = _reactor

    outcome: dict[str, Any] = {}

    def start() -> None:
        task = asyncio.ensure_future(main())
        d = Deferred.fromFuture(task)

        def done(result: Any) -> None:
            outcome["result"] = result

        def failed(failure: Any) -> None:
            outcome["error"] = failure.value

        d.addCallbacks(done, failed)
        d.addBoth(lambda _: reactor.stop())

    reactor.callWhenRunning(start)
    reactor.run(installSignalHandlers=False)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("result")
