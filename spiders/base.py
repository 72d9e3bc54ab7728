"""What every source spider shares: one poll per source, link vetting, article fetching.

A kind of source (feed, sitemap, listing) only says how to read its own documents into
`FeedEntry` links (`parse_source`) and which further documents of the source to fetch (a child
sitemap, the next listing page). This base class does the rest: conditional GET of the source's
entry URL, the address policy and `allow`/`deny` patterns on discovered links, dedupe by
canonical URL against the store and the process-wide in-flight set, the article fetch into a
`Page`, summary-only pages for articles that refuse us, and exactly one `PollRecord` per source
and poll, however many documents the poll took.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from crawler.article import FeedEntry, Page, article_id
from crawler.config import SourceConfig
from crawler.coordination import Coordinator, LocalCoordinator
from crawler.records import PollRecord, SourceState
from crawler.stats import Stats
from crawler.storage import Store
from crawler.urls import canonicalize_url
from spiders.address_policy import HopRefused, crawl_policy
from spiders.keys import link_id, page_key

log = logging.getLogger("watchdesk.poll")

_PERMANENT_REDIRECTS = {301, 308}
# Article bodies watchdesk parses; anything else (PDF, images, JSON) is not read as a page.
_PAGE_TYPES = re.compile(r"^\s*(text/html|application/xhtml\+xml|text/xml|application/xml)\b", re.I)


class PageProcessor(Protocol):
    """Whatever takes a fetched page from here (the service's processor): the spiders hand every
    `Page` to it and know nothing of what happens after."""

    def process(self, page: Page) -> object: ...


def describe_failure(failure: Failure) -> tuple[str, int | None]:
    """A short reason for a failed request, in words, and the HTTP status when there was one.

    Network failures read like `dns: no such host news.google.com`, `connection refused:
    127.0.0.1:9`, `timeout after 30s`: what a person needs, without a traceback.
    """
    exc = failure.value
    if isinstance(exc, HopRefused):  # "refused_address: <the hop's URL> (resolves to ...)"
        return str(exc), None
    response = getattr(exc, "response", None)
    if response is not None:
        return f"HTTP {response.status}", response.status
    text = str(exc).strip()
    if "robots.txt" in text.lower():
        return "forbidden by robots.txt", None
    request = getattr(failure, "request", None)
    host = urlsplit(request.url).hostname if request is not None else ""
    port = urlsplit(request.url).port if request is not None else None
    where = f"{host}:{port}" if port else (host or "")
    for kind, words in _NETWORK_FAILURES:
        if failure.check(kind):
            if words == "dns":
                return f"dns: no such host {host}", None
            if words == "timeout":
                timeout = request.meta.get("download_timeout") if request is not None else None
                return (f"timeout after {timeout:.0f}s" if timeout else "timeout"), None
            return f"{words}: {where}" if where else words, None
    name = type(exc).__name__
    return (f"{name}: {text}" if text else name)[:300], None


def _network_failures() -> tuple[tuple[type[BaseException], str], ...]:
    from scrapy import exceptions as scrapy_errors
    from twisted.internet import error
    from twisted.web._newclient import ResponseFailed, ResponseNeverReceived

    # Scrapy 2.13+ wraps Twisted's errors in its own types; both are listed, older first
    wrapped: list[tuple[type[BaseException], str]] = [
        (getattr(scrapy_errors, name), words)
        for name, words in (
            ("CannotResolveHostError", "dns"),
            ("DownloadConnectionRefusedError", "connection refused"),
            ("DownloadTimeoutError", "timeout"),
            ("ResponseDataLossError", "answer cut off"),
            ("DownloadFailedError", "download failed"),
        )
        if hasattr(scrapy_errors, name)
    ]
    return (
        *wrapped,
        (error.DNSLookupError, "dns"),
        (error.ConnectionRefusedError, "connection refused"),
        (error.TimeoutError, "timeout"),
        (error.TCPTimedOutError, "timeout"),
        (error.ConnectionLost, "connection lost"),
        (error.ConnectionDone, "connection closed"),
        (error.ConnectError, "cannot connect"),
        (ResponseNeverReceived, "connection lost before an answer"),
        (ResponseFailed, "answer cut off"),
    )


_NETWORK_FAILURES = _network_failures()


def log_poll(poll: PollRecord, kind: str = "feed") -> None:
    """One key=value line per poll outcome (INFO), a failed poll at WARNING with its reason in
    words: a healthy steady state prints one line per poll and nothing else."""
    level = logging.WARNING if poll.status == "error" else logging.INFO
    log.log(
        level,
        "poll source=%s kind=%s status=%s http=%s items=%d new=%d duration=%.2fs%s",
        poll.source,
        kind,
        poll.status,
        poll.http_status or "-",
        poll.items,
        poll.new,
        poll.duration,
        f' error="{poll.error}"' if poll.error else "",
        extra={"poll": poll},
    )


def absolute_link(link: str, base_url: str) -> str:
    """A listed link made absolute against the document it was found in."""
    link = link.strip()
    if link.startswith("//"):
        return "https:" + link
    if not link.startswith(("http://", "https://")):
        return urljoin(base_url, link)
    return link


def header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def content_type(response: Response) -> str:
    return header(response, b"Content-Type") or ""


class SourceProblem(Exception):
    """The source answered, but not with what it should (HTML where a feed should be, ...)."""


@dataclass(slots=True)
class Discovery:
    """A link a source would yield, and what watchdesk would do with it (`sources check`)."""

    url: str
    outcome: str  # new, stored, duplicate, refused:<reason>, filtered
    title: str = ""
    published: datetime | None = None


@dataclass
class _Tally:
    """One poll of one source while it is under way (several documents for a sitemap index
    or a paginated listing); becomes one PollRecord when its last document is in."""

    started: float
    pending: int = 0
    responses: int = 0  # documents answered 200 (parsed)
    not_modified: int = 0
    http_status: int | None = None
    error: str | None = None
    error_status: int | None = None
    items: int = 0
    new: int = 0
    etag: str | None = None
    last_modified: str | None = None
    moved_to: str | None = None
    bozo: str | None = None
    ttl_minutes: int | None = None
    done: bool = False
    discoveries: list[Discovery] = field(default_factory=list)
    queued: set[str] = field(default_factory=set)  # ids of the articles requested this poll


class SourceSpider(scrapy.Spider):
    """Polls a set of sources of one kind once. Subclasses implement `parse_source`.

    Arguments: sources, store, processor, stats, allow_private, max_entries, in_flight, and
    dry_run (fetch the sources but store nothing and fetch no article: `sources check`).
    """

    kind: ClassVar[str] = ""

    def __init__(
        self,
        sources: Iterable[SourceConfig],
        store: Store,
        processor: PageProcessor | None,
        stats: Stats,
        allow_private: bool = False,
        max_entries: int = 200,
        in_flight: Coordinator | None = None,
        dry_run: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.sources = list(sources)
        self.store = store
        self.processor = processor
        self.wd_stats = stats
        self.allow_private = allow_private
        self.max_entries = max_entries
        self.dry_run = dry_run
        # Shared by every crawl of the process: two sources polled at the same moment can
        # link the same article, and it must be fetched once. Entries are released when this
        # spider closes, by which time each article is stored (or will be retried next poll).
        self.in_flight: Coordinator = in_flight if in_flight is not None else LocalCoordinator()
        self.queued: set[str] = set()
        self.tallies: dict[str, _Tally] = {}
        self.states: dict[str, SourceState] = {}
        self.polls: list[PollRecord] = []

    def closed(self, reason: str) -> None:
        self.in_flight.release(self.queued)
        # a poll cut short (shutdown, a crashed callback) is still recorded
        for source in self.sources:
            tally = self.tallies.get(source.name)
            if tally is not None and not tally.done:
                tally.error = tally.error or f"poll interrupted ({reason})"
                self._finish(source)
        if not self.dry_run:
            self._save_validators()

    def _save_validators(self) -> None:
        """Keep a feed's ETag/Last-Modified only once every link it listed is settled: its
        article stored, or the link refused for good (robots.txt, the address policy).

        Saved earlier, a crash (or a 5xx on an article page) between the feed and its articles
        would turn the next poll into a 304 and the missing stories would never be fetched
        (found by tests/reliability/test_crash.py). Withheld, the next poll costs one full GET
        and fetches only what is missing.
        """
        for source in self.sources:
            tally = self.tallies.get(source.name)
            if tally is None or not tally.queued or not (tally.etag or tally.last_modified):
                continue
            if self.store.settled_links(tally.queued) >= tally.queued:
                self.store.save_validators(source.name, tally.etag, tally.last_modified)
            else:
                self.wd_stats.inc(f"{self.kind}/validators_withheld")

    # -- the source's own documents ----------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        for source in self.sources:
            self.states[source.name] = self.store.source_state(source.name, source.url)
            self.tallies[source.name] = _Tally(started=time.monotonic())
            state = self.states[source.name]
            headers: dict[str, str] = {}
            if not self.dry_run:
                if state.etag:
                    headers["If-None-Match"] = state.etag
                if state.last_modified:
                    headers["If-Modified-Since"] = state.last_modified
            yield self.source_request(source, state.moved_to or source.url, headers=headers)

    def source_request(
        self,
        source: SourceConfig,
        url: str,
        headers: dict[str, str] | None = None,
        method: str = "GET",
        body: bytes | str | None = None,
        **meta: Any,
    ) -> scrapy.Request:
        """A request for one of the source's own documents (counted until it is answered)."""
        self.tallies[source.name].pending += 1
        return scrapy.Request(
            url,
            method=method,
            body=body,
            headers=headers or {},
            callback=self._on_source_response,
            errback=self._on_source_failure,
            dont_filter=True,
            meta={
                "source": source,
                "handle_httpstatus_list": [304],
                "entry_document": not meta,
                **self._politeness_meta(source),
                **meta,
            },
        )

    def _politeness_meta(self, source: SourceConfig) -> dict[str, Any]:
        return {"dont_obey_robotstxt": True} if source.obey_robots is False else {}

    def _on_source_response(self, response: Response) -> Iterator[Any]:
        source: SourceConfig = response.meta["source"]
        tally = self.tallies[source.name]
        tally.pending -= 1
        if tally.http_status is None:
            tally.http_status = response.status
        out: list[Any] = []
        if response.status == 304:
            tally.not_modified += 1
        else:
            reasons = response.meta.get("redirect_reasons") or []
            if response.meta.get("entry_document"):
                tally.etag = header(response, b"ETag")
                tally.last_modified = header(response, b"Last-Modified")
                if reasons and all(r in _PERMANENT_REDIRECTS for r in reasons):
                    tally.moved_to = response.url
            try:
                out = list(self.parse_source(response, source))
                tally.responses += 1
            except SourceProblem as exc:
                tally.error, tally.error_status = str(exc), response.status
            except Exception as exc:  # one odd document must not stop the other sources
                log.exception("source parse crashed source=%s url=%r", source.name, response.url)
                tally.error = f"{type(exc).__name__}: {exc}"[:300]
        if tally.pending <= 0:
            self._finish(source)
        yield from out

    def _on_source_failure(self, failure: Failure) -> Iterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        source: SourceConfig = request.meta["source"]
        tally = self.tallies[source.name]
        tally.pending -= 1
        reason, status = describe_failure(failure)
        if tally.error is None:
            tally.error, tally.error_status = reason, status
        if isinstance(failure.value, HopRefused):  # the source redirected somewhere refused
            first = (request.meta.get("redirect_urls") or [request.url])[0]
            self._record_refusal(source, first, failure.value.url, failure.value.reason)
        if not request.meta.get("entry_document"):
            log.info(
                'source document failed source=%s url=%s reason="%s"',
                source.name,
                request.url,
                reason,
            )
        try:
            out = list(self.source_document_failed(request, source, reason))
        except Exception as exc:  # one odd document must not stop the other sources
            log.exception("source failure handling crashed source=%s", source.name)
            tally.error = f"{type(exc).__name__}: {exc}"[:300]
            out = []
        if tally.pending <= 0:
            self._finish(source)
        yield from out

    def source_document_failed(
        self, request: scrapy.Request, source: SourceConfig, reason: str
    ) -> Iterable[Any]:
        """A request of `source_request` failed: what to do instead (nothing by default)."""
        return ()

    def _finish(self, source: SourceConfig) -> None:
        tally = self.tallies[source.name]
        tally.done = True
        duration = time.monotonic() - tally.started
        if tally.responses:
            status = "ok"
        elif tally.not_modified and tally.error is None:
            status = "not_modified"
        else:
            status = "error"
        poll = PollRecord(
            source.name,
            status,
            tally.error_status if status == "error" else tally.http_status,
            items=tally.items,
            new=tally.new,
            duration=duration,
            error=tally.error if status == "error" else None,
            # with articles still to fetch, the validators wait for them (_save_validators)
            etag=None if tally.queued else tally.etag,
            last_modified=None if tally.queued else tally.last_modified,
            moved_to=tally.moved_to,
            bozo=tally.bozo,
            ttl_minutes=tally.ttl_minutes,
        )
        self.polls.append(poll)
        self.wd_stats.inc(f"{self.kind}/{poll.status}")
        if status == "ok" and tally.error:
            # a child sitemap or a later listing page failed: the poll still counts
            self.wd_stats.inc(f"{self.kind}/partial")
        if not self.dry_run:
            self.store.record_poll(source.url, poll)
        log_poll(poll, self.kind)

    def parse_source(self, response: Response, source: SourceConfig) -> Iterable[Any]:
        """Read one of the source's documents: return `self.follow(...)` requests for its
        article links and `self.source_request(...)` for more of the source's documents;
        raise SourceProblem when the document is not what the source should serve."""
        raise NotImplementedError

    # -- discovered links --------------------------------------------------------------------

    def since(self, source: SourceConfig) -> datetime | None:
        """The source's last successful poll (links dated before it were seen then)."""
        return self.states[source.name].last_success

    def wanted(self, source: SourceConfig, url: str) -> bool:
        """The source's `allow` / `deny` patterns (regular expressions searched in the URL)."""
        if source.allow and not any(re.search(p, url) for p in source.allow):
            return False
        return not any(re.search(p, url) for p in source.deny)

    def follow(
        self, source: SourceConfig, base_url: str, entries: Iterable[FeedEntry]
    ) -> list[Any]:
        """Vet the links found in one document and return requests for the new articles.

        Refused addresses, unwanted patterns, repeats (by canonical URL) within the poll or
        already in flight in another crawl, and links already settled (an article stored, a
        link refused before) are dropped, each counted by reason; a refused link is recorded
        with its reason. In a dry run nothing is requested or recorded and the verdicts are
        kept.
        """
        tally = self.tallies[source.name]
        candidates: dict[str, tuple[str, FeedEntry]] = {}
        verdicts: list[Discovery] = []
        for entry in entries:
            tally.items += 1
            link = absolute_link(entry.link, base_url)
            entry.link = link
            found = Discovery(link, "new", entry.title, entry.published or entry.updated)
            verdicts.append(found)
            reason = crawl_policy(self.crawler).refusal_reason(link, base_url)
            if reason:
                self.refuse(source, link, reason, found)
                self._record_refusal(source, link, link, reason)
                continue
            if not self.wanted(source, link):
                self.wd_stats.inc("link/filtered")
                found.outcome = "filtered"
                continue
            aid = link_id(link, source.keep_params)
            if aid in candidates:
                found.outcome = "duplicate"
                continue
            candidates[aid] = (link, entry)
        known = self.store.settled_links(candidates)
        refused_before = self.store.refused_reasons(known) if known else {}
        self.wd_stats.inc("article/dropped/already_stored", len(known) - len(refused_before))
        self.wd_stats.inc("link/refused_before", len(refused_before))
        fresh = [aid for aid in candidates if aid not in known]
        # Claimed before fetching: another source polled at the same moment, here or in
        # another process, may link the same article; whoever claims it first fetches it.
        if self.dry_run:
            claimed = {aid for aid in fresh if aid not in self.in_flight}
        else:
            claimed = self.in_flight.claim(fresh)
        requests = []
        for aid, (link, entry) in candidates.items():
            outcome = "stored" if aid in known else None if aid in claimed else "duplicate"
            if aid in refused_before:
                outcome = f"refused:{refused_before[aid]}"
            if outcome is not None:
                for found in verdicts:
                    if found.url == link:
                        found.outcome = outcome
                continue
            tally.new += 1
            if self.dry_run:
                continue
            self.queued.add(aid)
            tally.queued.add(aid)
            requests.append(self.article_request(source, entry, aid))
        tally.discoveries.extend(verdicts)
        return requests

    def _record_refusal(self, source: SourceConfig, url: str, hop_url: str, reason: str) -> None:
        """Keep the address policy's verdict for `watchdesk status` (not in a dry run)."""
        if not self.dry_run:
            self.store.record_refusal(source.name, url, hop_url, reason)

    def refuse(
        self, source: SourceConfig, link: str, reason: str, found: Discovery | None = None
    ) -> None:
        """A link that must not be fetched: counted, logged once, recorded with its reason
        (so the next poll skips it without a word and the feed's validators are kept)."""
        self.wd_stats.inc(f"link/refused/{reason}")
        if found is not None:
            found.outcome = f"refused:{reason}"
        if self.dry_run:
            return
        lid = link_id(link, source.keep_params)
        if lid in self.store.settled_links([lid]):
            return
        log.info("refused link source=%s reason=%s url=%s", source.name, reason, link)
        self.store.record_link(lid, link, source.name, "refused", reason)

    def article_request(self, source: SourceConfig, entry: FeedEntry, aid: str) -> Any:
        """The request for one new article (`aid`: the id of the listed link); for an
        aggregator link that could not be resolved, the page of its feed entry alone."""
        if entry.unresolved:
            self.wd_stats.inc("article/unresolved")
            page = self._page(source, entry, "", 200, entry.link, "", aid)
            page.unresolved = True
            return page
        # dont_filter: links are deduplicated by their claims above; Scrapy's own filter would
        # silently drop a link that redirects to an article another link already fetched,
        # and that link would never be settled (found by tests/spiders/test_links.py)
        return scrapy.Request(
            entry.link,
            callback=self.parse_article,
            errback=self.article_failed,
            dont_filter=True,
            meta={
                "source": source,
                "entry": entry,
                "link_id": aid,
                **self._politeness_meta(source),
            },
        )

    # -- articles ----------------------------------------------------------------------------

    def _page(
        self,
        source: SourceConfig,
        entry: FeedEntry,
        html: str,
        status: int,
        url: str,
        key: str = "",
        aid: str = "",
    ) -> Page:
        key = key or canonicalize_url(url or entry.link, source.keep_params)
        links = [(aid, entry.link)] if aid and aid != article_id(key) else []
        return Page(
            url=entry.link,
            source=source.name,
            html=html,
            status=status,
            final_url=url,
            entry=entry,
            language_hint=source.language,
            source_tags=list(source.tags),
            fetched=datetime.now(UTC),
            canonical_url=key,
            links=links,
            first_poll=self.states[source.name].last_success is None,
            publisher=entry.publisher,
            label=source.label or "",
        )

    def parse_article(self, response: Response) -> Iterable[Page]:
        source: SourceConfig = response.meta["source"]
        entry: FeedEntry = response.meta["entry"]
        aid: str = response.meta.get("link_id", "")
        ctype = content_type(response)
        if ctype and not _PAGE_TYPES.match(ctype):
            # a PDF or an image is not parsed as a page; the entry's own text is kept
            self.wd_stats.inc("article/not_html")
            key = canonicalize_url(response.url, source.keep_params)
            yield self._page(source, entry, "", response.status, response.url, key, aid)
            return
        html = response.text if isinstance(response, TextResponse) else ""
        if not html:
            self.wd_stats.inc("article/page_not_text")
        key = page_key(response, source.keep_params)
        yield self._page(source, entry, html, response.status, response.url, key, aid)

    def article_failed(self, failure: Failure) -> Iterable[Page]:
        request = failure.request  # type: ignore[attr-defined]
        source: SourceConfig = request.meta["source"]
        entry: FeedEntry = request.meta["entry"]
        aid: str = request.meta.get("link_id", "")
        reason, status = describe_failure(failure)
        refused = failure.value
        if isinstance(refused, HopRefused):
            # a redirect, a meta refresh or the connection went somewhere refused: the article
            # is not fetched, and (a verdict, not an outage) does not hold the feed's validators
            self.wd_stats.inc(f"article/dropped/{refused.reason}")
            log.info(
                "refused hop source=%s reason=%s url=%r hop=%r",
                source.name,
                refused.reason,
                entry.link,
                refused.url,
            )
            self._record_refusal(source, entry.link, refused.url, refused.reason)
            # settled: the next poll skips the link, and the feed's validators are kept
            self.refuse(source, entry.link, refused.reason)
            return
        if reason == "forbidden by robots.txt":
            self.wd_stats.inc("article/dropped/robots")
            self.refuse(source, entry.link, "robots")
            return
        if status is not None and 400 <= status < 500 and status != 429:
            # The page refuses us for good (paywall, removed): the source's own summary is all
            # there will be; keep it rather than lose the story. 5xx and timeouts are retried
            # next poll instead, since the article is not stored.
            self.wd_stats.inc("article/summary_only")
            yield self._page(source, entry, "", status, request.url, "", aid)
            return
        self.wd_stats.inc("article/fetch_failed")
        log.warning(
            'article fetch failed source=%s url=%s reason="%s"', source.name, request.url, reason
        )
