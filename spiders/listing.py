"""The listing spider: a page listing article links, for official sites without feeds.

`link_selector` (CSS or XPath) picks the article links, `next_selector` the link to the next
page, followed up to `max_pages` pages while pages still bring new links (deeper pages of a news
listing are archive already seen). `allow` / `deny` patterns filter the article URLs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from parsel import Selector, SelectorList
from scrapy.http import Response, TextResponse

from crawler.article import FeedEntry
from crawler.config import SourceConfig, selector_kind
from crawler.urls import refusal_reason
from spiders.base import SourceProblem, SourceSpider, content_type


def select(page: Selector, selector: str) -> SelectorList[Selector]:
    """Apply a config selector, CSS or XPath (told apart as crawler.config does)."""
    return page.xpath(selector) if selector_kind(selector) == "xpath" else page.css(selector)


def extract_links(page: Selector, selector: str) -> Iterator[tuple[str, str]]:
    """(href, anchor text) for each match: an `<a>` element, an element containing one, or an
    attribute / text node selected directly (`a::attr(href)`, `//a/@href`)."""
    for match in select(page, selector):
        root = match.root
        if isinstance(root, str):  # an attribute or text node: the value is the link
            yield root.strip(), ""
            continue
        href = match.attrib.get("href")
        anchor = match
        if href is None:
            inner = match.css("a[href]")
            if not inner:
                continue
            anchor = inner[0]
            href = anchor.attrib["href"]
        text = " ".join(" ".join(anchor.css("::text").getall()).split())
        yield href.strip(), text


class ListingSpider(SourceSpider):
    """Polls `kind: listing` sources once (arguments: see SourceSpider)."""

    name = "listings"
    kind = "listing"

    def parse_source(self, response: Response, source: SourceConfig) -> Iterable[Any]:
        if not isinstance(response, TextResponse) or "html" not in (
            content_type(response).lower() or "html"
        ):
            raise SourceProblem(f"not an HTML page ({content_type(response) or 'no type'})")
        page = Selector(text=response.text, base_url=response.url)
        seen_links = self.tallies[source.name].items
        new_before = self.tallies[source.name].new
        entries = [
            FeedEntry(link=response.urljoin(href), title=text)
            for href, text in extract_links(page, source.link_selector or "a")
            if href and not href.startswith(("#", "javascript:", "mailto:"))
        ]
        requests: list[Any] = self.follow(source, response.url, entries[: self.max_entries])
        if not entries and not seen_links:
            # the first page matched nothing: the layout changed or the selector is wrong
            self.wd_stats.inc("listing/no_links")
        page_no = int(response.meta.get("page", 1))
        found_new = self.tallies[source.name].new > new_before
        if source.next_selector and page_no < source.pages and found_new:
            nxt = next(iter(extract_links(page, source.next_selector)), None)
            if nxt:
                url = response.urljoin(nxt[0])
                if url != response.url and not refusal_reason(
                    url, response.url, allow_private=self.allow_private
                ):
                    requests.append(self.source_request(source, url, page=page_no + 1))
        return requests
