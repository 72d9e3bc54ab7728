"""Scrapy settings built from watchdesk's config: politeness, limits and the item pipeline."""

from __future__ import annotations

from typing import Any

from crawler.config import CrawlConfig

# The asyncio reactor lets Scrapy share one event loop with APScheduler in the long-running
# process (see crawler/monitor.py for why crawls run in-process).
REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"

# For `scrapy shell` / `scrapy list` through scrapy.cfg.
BOT_NAME = "watchdesk"
SPIDER_MODULES = ["spiders.feed"]
TWISTED_REACTOR = REACTOR


def build_settings(crawl: CrawlConfig, log_level: str = "WARNING") -> dict[str, Any]:
    """Scrapy settings for one crawl cycle."""
    return {
        "BOT_NAME": "watchdesk",
        "USER_AGENT": crawl.user_agent,
        "ROBOTSTXT_OBEY": crawl.obey_robots,
        "ROBOTSTXT_USER_AGENT": "watchdesk",
        "DOWNLOAD_TIMEOUT": crawl.timeout,
        "DOWNLOAD_MAXSIZE": crawl.max_page_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "CONCURRENT_REQUESTS": crawl.concurrent_requests,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrent_per_domain,
        "DOWNLOAD_DELAY": crawl.delay,
        "AUTOTHROTTLE_ENABLED": True,
        # AutoThrottle starts at DOWNLOAD_DELAY; 5 s is Scrapy's own default start delay and
        # would make a cycle over loopback fixtures crawl; the throttle still backs off slow sites.
        "AUTOTHROTTLE_START_DELAY": max(crawl.delay, 0.0),
        "AUTOTHROTTLE_MAX_DELAY": 30.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(crawl.concurrent_per_domain),
        "RETRY_ENABLED": True,
        "RETRY_TIMES": 2,
        "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408, 429],
        "REDIRECT_MAX_TIMES": 10,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": log_level,
        "LOG_ENABLED": True,
        "TWISTED_REACTOR": REACTOR,
        "ITEM_PIPELINES": {"spiders.pipelines.ArticlePipeline": 300},
        "EXTENSIONS": {"scrapy.extensions.memusage.MemoryUsage": None},
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
    }
