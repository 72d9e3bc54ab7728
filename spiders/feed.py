"""The feed spider: polls RSS/Atom sources with conditional GET and follows new entries.

One spider run polls a set of sources once. Each feed is requested with the ETag and
Last-Modified it answered last time; each new entry's link is canonicalised, checked against the
store and the address policy, and fetched; each fetched page becomes a `Page` item for the
pipeline. Every poll, good or bad, is recorded against its source; one failing source never
stops the others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import scrapy
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from crawler.article import FeedEntry, Page, article_id
from crawler.config import SourceConfig
from crawler.stats import Stats
from crawler.store import PollRecord, Store
from crawler.urls import canonicalize_url, refusal_reason
from spiders.feeds import parse_feed

if TYPE_CHECKING:
    from crawler.pipeline import Processor

log = logging.getLogger("watchdesk.poll")

_PERMANENT_REDIRECTS = {301, 308}


def describe_failure(failure: Failure) -> tuple[str, int | None]:
    """A short reason for a failed request, and the HTTP status when there was one."""
    exc = failure.value
    response = getattr(exc, "response", None)
    if response is not None:
        return f"HTTP {response.status}", response.status
    name = type(exc).__name__
    text = str(exc).strip()
    if "robots.txt" in text.lower() or name == "IgnoreRequest":
        return "forbidden by robots.txt", None
    return (f"{name}: {text}" if text else name)[:300], None


def log_poll(poll: PollRecord) -> None:
    """One structured line per poll: key=value pairs, quiet (DEBUG) when nothing happened."""
    level = logging.WARNING if poll.status == "error" else logging.INFO
    if poll.status == "not_modified":
        level = logging.DEBUG
    log.log(
        level,
        "poll source=%s status=%s http=%s items=%d new=%d duration=%.2fs%s",
        poll.source,
        poll.status,
        poll.http_status or "-",
        poll.items,
        poll.new,
        poll.duration,
        f" error={poll.error!r}" if poll.error else "",
        extra={"poll": poll},
    )


class FeedSpider(scrapy.Spider):
    """Polls `kind: feed` sources once. Arguments: sources, store, processor, stats."""

    name = "feeds"

    def __init__(
        self,
        sources: Iterable[SourceConfig],
        store: Store,
        processor: Processor,
        stats: Stats,
        allow_private: bool = False,
        max_entries: int = 200,
        in_flight: set[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.sources = list(sources)
        self.store = store
        self.processor = processor
        self.wd_stats = stats
        self.allow_private = allow_private
        self.max_entries = max_entries
        # Shared by every crawl of the process: two sources polled at the same moment can
        # link the same article, and it must be fetched once. Entries are released when this
        # spider closes, by which time each article is stored (or will be retried next poll).
        self.in_flight = in_flight if in_flight is not None else set()
        self.queued: set[str] = set()

    def closed(self, reason: str) -> None:
        self.in_flight.difference_update(self.queued)

    async def start(self) -> AsyncIterator[Any]:
        for source in self.sources:
            state = self.store.source_state(source.name, source.url)
            headers: dict[str, str] = {}
            if state.etag:
                headers["If-None-Match"] = state.etag
            if state.last_modified:
                headers["If-Modified-Since"] = state.last_modified
            yield scrapy.Request(
                state.moved_to or source.url,
                headers=headers,
                callback=self.parse_feed,
                errback=self.feed_failed,
                dont_filter=True,
                meta={
                    "source": source,
                    "started": time.monotonic(),
                    "handle_httpstatus_list": [304],
                },
            )

    # -- feeds -------------------------------------------------------------------------------

    def _record(self, source: SourceConfig, poll: PollRecord) -> None:
        self.store.record_poll(source.url, poll)
        self.wd_stats.inc(f"feed/{poll.status}")
        log_poll(poll)

    def parse_feed(self, response: Response) -> Iterable[scrapy.Request]:
        source: SourceConfig = response.meta["source"]
        duration = time.monotonic() - response.meta["started"]
        if response.status == 304:
            self._record(source, PollRecord(source.name, "not_modified", 304, duration=duration))
            return
        moved_to = None
        reasons = response.meta.get("redirect_reasons") or []
        if reasons and all(r in _PERMANENT_REDIRECTS for r in reasons):
            moved_to = response.url
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1") or None
        parsed = parse_feed(response.body, response.url, content_type)
        if not parsed.is_feed:
            self._record(
                source,
                PollRecord(
                    source.name,
                    "error",
                    response.status,
                    duration=duration,
                    error=f"not a feed ({content_type or 'no content type'})",
                ),
            )
            return
        state = self.store.source_state(source.name, source.url)
        bozo = None
        if parsed.bozo:
            self.wd_stats.inc("feed/bozo")
            # logged once per feed (and again only if the complaint changes), not on every poll
            if parsed.bozo != state.bozo_reported:
                log.warning("malformed feed source=%s problem=%r", source.name, parsed.bozo)
                bozo = parsed.bozo
        entries = parsed.entries[: self.max_entries]
        new = list(self._new_entries(source, response.url, entries))
        self._record(
            source,
            PollRecord(
                source.name,
                "ok",
                response.status,
                items=len(entries),
                new=len(new),
                duration=duration,
                etag=_header(response, b"ETag"),
                last_modified=_header(response, b"Last-Modified"),
                moved_to=moved_to,
                bozo=bozo,
            ),
        )
        for url, entry in new:
            yield scrapy.Request(
                url,
                callback=self.parse_article,
                errback=self.article_failed,
                meta={"source": source, "entry": entry},
            )

    def _new_entries(
        self, source: SourceConfig, feed_url: str, entries: list[FeedEntry]
    ) -> Iterable[tuple[str, FeedEntry]]:
        candidates: dict[str, tuple[str, FeedEntry]] = {}
        for entry in entries:
            link = entry.link
            if link.startswith("//"):
                link = "https:" + link
            elif not link.startswith(("http://", "https://")):
                link = urljoin(feed_url, link)
            reason = refusal_reason(link, feed_url, allow_private=self.allow_private)
            if reason:
                self.wd_stats.inc(f"link/refused/{reason}")
                log.info("refused link source=%s reason=%s url=%r", source.name, reason, link)
                continue
            canonical = canonicalize_url(link)
            aid = article_id(canonical)
            if aid in candidates or aid in self.in_flight:
                continue
            candidates[aid] = (link, entry)
        known = self.store.known_ids(candidates)
        self.wd_stats.inc("article/dropped/already_stored", len(known))
        for aid, (link, entry) in candidates.items():
            if aid not in known:
                self.queued.add(aid)
                self.in_flight.add(aid)
                yield link, entry

    def feed_failed(self, failure: Failure) -> None:
        source: SourceConfig = failure.request.meta["source"]  # type: ignore[attr-defined]
        duration = time.monotonic() - failure.request.meta["started"]  # type: ignore[attr-defined]
        reason, status = describe_failure(failure)
        self._record(
            source, PollRecord(source.name, "error", status, duration=duration, error=reason)
        )

    # -- articles ----------------------------------------------------------------------------

    def parse_article(self, response: Response) -> Iterable[Page]:
        source: SourceConfig = response.meta["source"]
        entry: FeedEntry = response.meta["entry"]
        html = response.text if isinstance(response, TextResponse) else ""
        if not html:
            self.wd_stats.inc("article/page_not_text")
        yield Page(
            url=entry.link if entry.link.startswith("http") else response.url,
            source=source.name,
            html=html,
            status=response.status,
            final_url=response.url,
            entry=entry,
            language_hint=source.language,
            source_tags=list(source.tags),
            fetched=datetime.now(UTC),
        )

    def article_failed(self, failure: Failure) -> Iterable[Page]:
        request = failure.request  # type: ignore[attr-defined]
        source: SourceConfig = request.meta["source"]
        entry: FeedEntry = request.meta["entry"]
        reason, status = describe_failure(failure)
        if status is not None and 400 <= status < 500 and status != 429:
            # The page refuses us for good (paywall, removed): the feed's own summary is all
            # there will be; keep it rather than lose the story. 5xx and timeouts are retried
            # next poll instead, since the article is not stored.
            self.wd_stats.inc("article/summary_only")
            yield Page(
                url=entry.link,
                source=source.name,
                html="",
                status=status,
                final_url=request.url,
                entry=entry,
                language_hint=source.language,
                source_tags=list(source.tags),
                fetched=datetime.now(UTC),
            )
            return
        self.wd_stats.inc("article/fetch_failed")
        log.warning(
            "article fetch failed source=%s url=%r reason=%s", source.name, request.url, reason
        )


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
