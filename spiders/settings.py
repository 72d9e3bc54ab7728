"""Scrapy settings built from watchdesk's config: politeness, limits and the components."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from crawler.config import DEFAULT_USER_AGENT, CrawlConfig, SourceConfig

# The asyncio reactor lets Scrapy share one event loop with APScheduler in the long-running
# process (see watchdesk/service/monitor.py for why crawls run in-process).
REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"

# For `scrapy shell` / `scrapy list` through scrapy.cfg.
BOT_NAME = "watchdesk"
SPIDER_MODULES = ["spiders.feed_spider", "spiders.sitemap", "spiders.listing"]
TWISTED_REACTOR = REACTOR


def user_agent(crawl: CrawlConfig) -> str:
    """The configured User-Agent, carrying `crawl.contact_url` so site owners can reach us."""
    if not crawl.contact_url or crawl.contact_url in crawl.user_agent:
        return crawl.user_agent
    if crawl.user_agent == DEFAULT_USER_AGENT:
        return f"watchdesk/0.1 (+{crawl.contact_url}; media monitoring)"
    return f"{crawl.user_agent} (+{crawl.contact_url})"


def download_slots(crawl: CrawlConfig, sources: Iterable[SourceConfig]) -> dict[str, Any]:
    """Per-host politeness from the sources' overrides (Scrapy's DOWNLOAD_SLOTS, keyed by host).

    Two sources on one host with different wishes get the more careful of each: the longer
    delay and the lower concurrency.
    """
    slots: dict[str, dict[str, Any]] = {}
    for source in sources:
        if source.delay is None and source.concurrent_per_domain is None:
            continue
        host = (urlsplit(source.url).hostname or "").lower()
        # no jitter: a source's `delay` is a minimum the site asked for, not an average
        slot = slots.setdefault(
            host, {"delay": crawl.delay, "concurrency": crawl.concurrent_per_domain, "jitter": 0.0}
        )
        if source.delay is not None:
            slot["delay"] = max(slot["delay"], source.delay)
        if source.concurrent_per_domain is not None:
            slot["concurrency"] = min(slot["concurrency"], source.concurrent_per_domain)
    return slots


def build_settings(
    crawl: CrawlConfig, log_level: str = "WARNING", sources: Iterable[SourceConfig] = ()
) -> dict[str, Any]:
    """Scrapy settings for one crawl over `sources`."""
    return {
        "BOT_NAME": "watchdesk",
        "USER_AGENT": user_agent(crawl),
        # Obeyed for every source; a source opts out only with `obey_robots: false`
        # (request meta `dont_obey_robotstxt`, set in spiders/base.py).
        "ROBOTSTXT_OBEY": crawl.obey_robots,
        "ROBOTSTXT_USER_AGENT": "watchdesk",
        "DOWNLOAD_TIMEOUT": crawl.timeout,
        "DOWNLOAD_MAXSIZE": crawl.max_page_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "CONCURRENT_REQUESTS": crawl.concurrent_requests,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrent_per_domain,
        # Scrapy 2.19 starts one asyncio task per item slot of every response (default 100);
        # a page yields one item, so 8 is plenty. Issue #8's profile: a 1,000-feed cycle 8.1 s
        # -> 5.0 s; in benchmarks/polling.py's setting (50 ms answers, slow and failing feeds)
        # the cycle is bound by those feeds and the gain is within noise (19.3 vs 20.3 s median)
        "CONCURRENT_ITEMS": 8,
        "DOWNLOAD_DELAY": crawl.delay,
        "DOWNLOAD_SLOTS": download_slots(crawl, sources),
        "AUTOTHROTTLE_ENABLED": True,
        # AutoThrottle starts at DOWNLOAD_DELAY; 5 s is Scrapy's own default start delay and
        # would make a cycle over loopback fixtures crawl; the throttle still backs off slow sites.
        "AUTOTHROTTLE_START_DELAY": max(crawl.delay, 0.0),
        "AUTOTHROTTLE_MAX_DELAY": 30.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(crawl.concurrent_per_domain),
        "RETRY_ENABLED": True,
        "RETRY_TIMES": 2,
        # HTTP answers are retried by spiders.retry (which honours Retry-After); Scrapy's own
        # RetryMiddleware keeps retrying connection errors and timeouts.
        "RETRY_HTTP_CODES": [],
        "WATCHDESK_RETRY_BASE_DELAY": 1.0,
        # A poll waits at most a minute for one server's Retry-After; longer, and the source's
        # backoff between polls is the better tool.
        "WATCHDESK_RETRY_MAX_DELAY": 60.0,
        # The address policy (spiders/address_policy.py): every request checked first of all,
        # so a refused one is never sent and its host's robots.txt never asked for; redirect
        # and meta refresh targets checked before they are scheduled (Scrapy's middlewares,
        # subclassed, in their places); the connection check's refusals named before the
        # retry middlewares (550, 560) could retry them
        "WATCHDESK_ALLOW_PRIVATE_ADDRESSES": crawl.allow_private_addresses,
        "DOWNLOADER_MIDDLEWARES": {
            "spiders.address_policy.AddressPolicyMiddleware": 40,
            "spiders.address_policy.RefusedConnectionMiddleware": 595,
            "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
            "spiders.address_policy.PolicyMetaRefreshMiddleware": 580,
            "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
            "spiders.address_policy.PolicyRedirectMiddleware": 600,
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "spiders.robots.SharedRobotsTxtMiddleware": 100,
            "spiders.retry.RetryAfterMiddleware": 560,
        },
        "REDIRECT_MAX_TIMES": 10,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": log_level,
        "LOG_ENABLED": True,
        "TWISTED_REACTOR": REACTOR,
        "ITEM_PIPELINES": {"spiders.item_pipelines.ArticlePipeline": 300},
        "EXTENSIONS": {
            "scrapy.extensions.memusage.MemoryUsage": None,
            "scrapy.extensions.throttle.AutoThrottle": None,
            "spiders.throttle.SourceAutoThrottle": 0,
        },
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
    }
