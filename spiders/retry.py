"""Retries with backoff for 429 and 5xx answers, honouring the server's Retry-After.

Scrapy's RetryMiddleware retries at once, ignoring Retry-After; a site that says "come back in
30 seconds" and is hit again in 30 milliseconds is how crawlers get blocked. This middleware
takes over the HTTP-status retries (Scrapy's keeps retrying connection errors and timeouts):
it waits what the server asked, or an exponential backoff when it did not say, then retries.
A wait longer than WATCHDESK_RETRY_MAX_DELAY gives up for this poll: the source's own backoff
between polls (watchdesk/service/monitor.py) takes over from there.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.http import Request, Response

from crawler.backoff import exponential_backoff

log = logging.getLogger("watchdesk.poll")

# Scrapy's default RETRY_HTTP_CODES: the answers that mean "not now" rather than "never".
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 522, 524})


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date (RFC 9110 10.2.3); None if absent
    or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class RetryAfterMiddleware:
    """Downloader middleware: waits Retry-After (or backs off) before retrying 429/5xx."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.max_retries = settings.getint("RETRY_TIMES", 2)
        self.base_delay = settings.getfloat("WATCHDESK_RETRY_BASE_DELAY", 1.0)
        self.max_delay = settings.getfloat("WATCHDESK_RETRY_MAX_DELAY", 60.0)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        return cls(crawler)

    def delay_for(self, response: Response, retries: int) -> float | None:
        """Seconds to wait before the next try, or None to give up now."""
        raw = response.headers.get(b"Retry-After")
        asked = retry_after_seconds(raw.decode("latin-1") if raw else None)
        if asked is not None:
            return asked if asked <= self.max_delay else None
        return exponential_backoff(self.base_delay, retries, self.max_delay)

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        if response.status not in RETRY_STATUSES or request.meta.get("dont_retry"):
            return response
        retries = int(request.meta.get("retry_times", 0))
        wait = self.delay_for(response, retries)
        stats = self.crawler.stats
        if wait is None:
            if stats:
                stats.inc_value("retry/retry_after_too_long")
            log.info(
                "not retrying url=%r status=%d: Retry-After beyond %.0fs",
                request.url,
                response.status,
                self.max_delay,
            )
            return response
        retry: Any = get_retry_request(
            request,
            spider=self.crawler.spider,  # type: ignore[arg-type]
            reason=f"HTTP {response.status}",
            max_retry_times=self.max_retries,
        )
        if retry is None:
            return response
        if stats:
            stats.inc_value("retry/waited_seconds", int(round(wait)))
        # The crawl runs on the asyncio reactor (spiders/settings.py), so awaiting here holds
        # only this request; the other sources' requests go on meanwhile.
        await asyncio.sleep(wait)
        return retry  # type: ignore[no-any-return]
