"""The sitemap spider: news sitemaps and sitemap indexes, read with Scrapy's sitemap support.

Only URLs newer than the source's last successful poll are taken (by `news:publication_date`,
else `lastmod`); undated URLs are taken too and left to the store's dedupe. A sitemap index is
followed into its child sitemaps that changed since the last poll. The URL patterns `allow` /
`deny` filter article URLs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import lxml.etree
from scrapy.http import Response
from scrapy.utils.gz import gunzip, gzip_magic_number
from scrapy.utils.sitemap import Sitemap
from w3lib.html import replace_entities

from crawler.article import FeedEntry
from crawler.config import SourceConfig
from crawler.urls import refusal_reason
from spiders.base import SourceProblem, SourceSpider

log = logging.getLogger("watchdesk.poll")

# A site's clock and ours disagree, and a CMS may date a story a little before it publishes it;
# an hour of overlap costs nothing (already stored URLs are never fetched again).
OVERLAP = timedelta(hours=1)
# Child sitemaps followed per poll: news sites keep one per day or per section; 50 covers a
# busy site's changes between two polls, and bounds a poll of a huge archive index.
MAX_CHILD_SITEMAPS = 50


class NewsSitemap(Sitemap):
    """Scrapy's Sitemap, also keeping the nested `news:publication_date` and `news:title`."""

    def _process_sitemap_element(self, elem: lxml.etree._Element) -> dict[str, Any] | None:
        news: dict[str, str] = {}
        for el in elem.iter():
            name = self._get_tag_name(el)
            if name in ("publication_date", "title") and el.text and el.text.strip():
                news[name] = el.text.strip()
        d = super()._process_sitemap_element(elem)
        if d is not None:
            d.update({f"news_{k}": v for k, v in news.items()})
        return d


def parse_w3c_date(text: str | None) -> datetime | None:
    """W3C datetime as sitemaps use it (`2024-05-01`, `2024-05-01T10:00:00+08:00`), in UTC."""
    if not text:
        return None
    value = text.strip().replace("Z", "+00:00")
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def sitemap_body(response: Response, max_size: int) -> bytes:
    """The sitemap XML of a response: gunzipped for `.xml.gz` files (the HTTP layer already
    undid `Content-Encoding: gzip`). Raises SourceProblem when it is not a sitemap."""
    body = response.body
    if gzip_magic_number(response):
        try:
            body = gunzip(body, max_size=max_size)
        except Exception as exc:  # truncated archive, or a bomb beyond DOWNLOAD_MAXSIZE
            raise SourceProblem(f"bad gzipped sitemap: {type(exc).__name__}") from None
    # the root element comes after at most an XML declaration, comments and a stylesheet PI
    head = body[:65536].lower()
    if b"<urlset" not in head and b"<sitemapindex" not in head:
        raise SourceProblem("not a sitemap (no <urlset> or <sitemapindex>)")
    return body


class SitemapSpider(SourceSpider):
    """Polls `kind: sitemap` sources once (arguments: see SourceSpider)."""

    name = "sitemaps"
    kind = "sitemap"

    def parse_source(self, response: Response, source: SourceConfig) -> Iterable[Any]:
        max_size = int(self.settings.getint("DOWNLOAD_MAXSIZE") or 0) if self.settings else 0
        sitemap = NewsSitemap(sitemap_body(response, max_size))
        since = self.since(source)
        cutoff = since - OVERLAP if since else None
        if sitemap.type == "sitemapindex":
            return list(self._children(response, source, sitemap, cutoff))
        if sitemap.type != "urlset":
            raise SourceProblem(f"not a sitemap (root element <{sitemap.type}>)")
        entries = []
        for d in sitemap:
            loc = replace_entities(str(d.get("loc", ""))).strip()
            if not loc:
                continue
            when = parse_w3c_date(d.get("news_publication_date")) or parse_w3c_date(
                d.get("lastmod")
            )
            if cutoff and when and when < cutoff:
                self.wd_stats.inc("sitemap/skipped_old")
                continue
            entries.append(FeedEntry(link=loc, title=d.get("news_title", ""), published=when))
        # newest first, so that a first poll of a large sitemap takes the latest stories
        oldest = datetime.min.replace(tzinfo=UTC)
        entries.sort(key=lambda e: e.published or oldest, reverse=True)
        return self.follow(source, response.url, entries[: self.max_entries])

    def _children(
        self,
        response: Response,
        source: SourceConfig,
        sitemap: Sitemap,
        cutoff: datetime | None,
    ) -> Iterator[Any]:
        taken = 0
        for d in sitemap:
            loc = urljoin(response.url, str(d.get("loc", "")).strip())
            when = parse_w3c_date(d.get("lastmod"))
            if cutoff and when and when < cutoff:
                continue
            reason = refusal_reason(loc, response.url, allow_private=self.allow_private)
            if reason:
                self.wd_stats.inc(f"link/refused/{reason}")
                log.info("refused sitemap source=%s reason=%s url=%r", source.name, reason, loc)
                continue
            if taken >= MAX_CHILD_SITEMAPS:
                self.wd_stats.inc("sitemap/children_capped")
                break
            taken += 1
            yield self.source_request(source, loc, child=True)
