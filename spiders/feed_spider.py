"""The feed spider: RSS 0.9x/1.0/2.0 and Atom sources, polled with conditional GET.

Each feed is requested with the ETag and Last-Modified it answered last time (spiders/base.py);
a feed that is not a feed (HTML, JSON) is an error of its source; a malformed feed still yields
whatever entries feedparser recovered, the problem logged once per feed, not per poll. An
aggregator's links are resolved to the publisher before they are keyed or fetched
(spiders/aggregators.py): Bing and Google Alerts links are unwrapped, Google News tokens decoded
offline or through the article page's signature and one batchexecute call per 50 tokens, all
as Scrapy requests to the source's own origin, and cached in the store.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import scrapy
from scrapy.http import Response, TextResponse

from crawler.article import FeedEntry
from crawler.config import SourceConfig
from spiders import aggregators
from spiders.base import SourceProblem, SourceSpider, content_type, describe_failure, log_poll
from spiders.feed_parser import parse_feed

__all__ = ["FeedSpider", "describe_failure", "log_poll"]

log = logging.getLogger("watchdesk.poll")

# Tokens per batchexecute POST. googlenewsdecoder sends a whole list in one; 50 keeps a feed of
# 100 items (Google's most per query) to two POSTs while a refused batch costs at most 50
# resolutions for one poll (they are retried on the next).
BATCH_SIZE = 50


@dataclass
class _GoogleResolution:
    """One poll's Google News tokens on their way to publisher URLs."""

    feed_url: str
    origin: str
    entries: list[FeedEntry]
    pending: dict[int, str]  # entry index -> token still to resolve
    started: float = field(default_factory=time.monotonic)
    params: dict[str, tuple[str, str]] = field(default_factory=dict)  # token -> (ts, sig)
    resolved: dict[str, str] = field(default_factory=dict)  # token -> publisher URL
    waiting: int = 0  # requests of the current step not yet answered


class FeedSpider(SourceSpider):
    """Polls `kind: feed` sources once (arguments: see SourceSpider)."""

    name = "feeds"
    kind = "feed"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.google: dict[str, _GoogleResolution] = {}

    def parse_source(self, response: Response, source: SourceConfig) -> Iterable[Any]:
        step = response.meta.get("aggregator_step")
        if step == "signature":
            return self._on_signature(response, source)
        if step == "batch":
            return self._on_batch(response, source)
        ctype = content_type(response) or None
        zone = ZoneInfo(source.timezone) if source.timezone != "UTC" else None
        parsed = parse_feed(response.body, response.url, ctype, zone)
        tally = self.tallies[source.name]
        if not parsed.is_feed:
            raise SourceProblem(f"not a feed ({ctype or 'no content type'})")
        tally.ttl_minutes = parsed.ttl_minutes
        if parsed.bozo:
            self.wd_stats.inc("feed/bozo")
            # logged once per feed (and again only if the complaint changes), not on every poll
            if parsed.bozo != self.states[source.name].bozo_reported:
                log.warning("malformed feed source=%s problem=%r", source.name, parsed.bozo)
                tally.bozo = parsed.bozo
        entries = parsed.entries[: self.max_entries]
        kind = source.aggregator_kind
        if kind in ("bing", "google_alerts"):
            for entry in entries:
                target = aggregators.unwrap_redirect(entry.link)
                if target:
                    entry.aggregator_link, entry.link = entry.link, target
                    self.wd_stats.inc(f"aggregator/{kind}/unwrapped")
        elif kind == "google_news":
            return self._resolve_google(response, source, entries)
        return self.follow(source, response.url, entries)

    # -- Google News -------------------------------------------------------------------------

    def _resolve_google(
        self, response: Response, source: SourceConfig, entries: list[FeedEntry]
    ) -> Iterator[Any]:
        parts = urlsplit(response.url)
        origin = f"{parts.scheme}://{parts.netloc}"
        tokens: dict[int, str] = {}
        for i, entry in enumerate(entries):
            entry.title = aggregators.strip_publisher_suffix(entry.title, entry.publisher)
            token = aggregators.google_token(entry.link, response.url)
            if token:
                entry.aggregator_link = entry.link
                tokens[i] = token
            elif urlsplit(entry.link).netloc.lower() == parts.netloc.lower():
                # another page of the aggregator itself: its interstitial is never an article
                entry.unresolved = True
        cached = self.store.resolved_tokens("google_news", set(tokens.values()))
        pending: dict[int, str] = {}
        for i, token in tokens.items():
            url = cached.get(token) or aggregators.decode_token_offline(token)
            if url:
                entries[i].link = url
                self.wd_stats.inc(
                    "aggregator/google_news/cached"
                    if token in cached
                    else "aggregator/google_news/offline"
                )
            else:
                pending[i] = token
        if not pending:
            yield from self.follow(source, response.url, entries)
            return
        state = _GoogleResolution(response.url, origin, entries, pending)
        self.google[source.name] = state
        unique = sorted(set(pending.values()))
        state.waiting = len(unique)
        for token in unique:
            yield self.source_request(
                source,
                aggregators.signature_page_url(origin, token, response.url),
                aggregator_step="signature",
                token=token,
            )

    def _on_signature(self, response: Response, source: SourceConfig) -> Iterator[Any]:
        state = self.google[source.name]
        html = response.text if isinstance(response, TextResponse) else ""
        params = aggregators.parse_signature(html)
        if params:
            state.params[response.meta["token"]] = (params[1], params[0])
        else:
            self.wd_stats.inc("aggregator/google_news/no_signature")
        state.waiting -= 1
        if state.waiting <= 0:
            yield from self._batches(source, state)

    def _batches(self, source: SourceConfig, state: _GoogleResolution) -> Iterator[Any]:
        tokens = sorted(state.params)
        if not tokens:
            yield from self._finish_google(source, state)
            return
        chunks = [tokens[i : i + BATCH_SIZE] for i in range(0, len(tokens), BATCH_SIZE)]
        state.waiting = len(chunks)
        url = f"{state.origin}{aggregators.BATCHEXECUTE_PATH}?rpcids={aggregators.RPC_ID}"
        for chunk in chunks:
            items = [(str(n), t, *state.params[t]) for n, t in enumerate(chunk)]
            yield self.source_request(
                source,
                url,
                method="POST",
                body=aggregators.batchexecute_body(items),
                headers={"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"},
                aggregator_step="batch",
                batch=chunk,
            )

    def _on_batch(self, response: Response, source: SourceConfig) -> Iterator[Any]:
        state = self.google[source.name]
        text = response.text if isinstance(response, TextResponse) else ""
        answers = aggregators.parse_batchexecute(text)
        chunk: list[str] = response.meta["batch"]
        for req_id, url in answers.items():
            if req_id.isdigit() and int(req_id) < len(chunk):
                state.resolved[chunk[int(req_id)]] = url
        state.waiting -= 1
        if state.waiting <= 0:
            yield from self._finish_google(source, state)

    def source_document_failed(
        self, request: scrapy.Request, source: SourceConfig, reason: str
    ) -> Iterable[Any]:
        step = request.meta.get("aggregator_step")
        state = self.google.get(source.name)
        if step is None or state is None:
            return ()
        self.wd_stats.inc(f"aggregator/google_news/{step}_failed")
        state.waiting -= 1
        if state.waiting > 0:
            return ()
        return (
            self._batches(source, state)
            if step == "signature"
            else self._finish_google(source, state)
        )

    def _finish_google(self, source: SourceConfig, state: _GoogleResolution) -> Iterator[Any]:
        """Every token answered or failed: resolved entries link the publisher, the others
        fall back to their feed entry (title, `<source>`), never the interstitial."""
        if not self.dry_run:
            self.store.save_tokens("google_news", state.resolved)
        unresolved = 0
        for i, token in state.pending.items():
            url = state.resolved.get(token)
            if url:
                state.entries[i].link = url
            else:
                state.entries[i].unresolved = True
                unresolved += 1
        seconds = time.monotonic() - state.started
        self.wd_stats.inc("aggregator/google_news/resolved", len(state.pending) - unresolved)
        self.wd_stats.inc("aggregator/google_news/unresolved", unresolved)
        self.wd_stats.inc("aggregator/google_news/resolve_ms", int(seconds * 1000))
        log.log(
            logging.WARNING if unresolved else logging.INFO,
            "aggregator source=%s kind=google_news resolved=%d unresolved=%d duration=%.2fs",
            source.name,
            len(state.pending) - unresolved,
            unresolved,
            seconds,
        )
        del self.google[source.name]
        yield from self.follow(source, state.feed_url, state.entries)
