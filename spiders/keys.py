"""The key an article is stored under: the URL it really lives at, not the link that led there.

After redirects the page's own URL; its `rel=canonical` instead when that stays on the same
registered domain (a publisher's other host is still the publisher; another site's claim is not
trusted: it could steal another article's id). Tracking parameters are dropped, except those
the source keeps (`keep_params`).
"""

from __future__ import annotations

from urllib.parse import urljoin

from scrapy.http import Response, TextResponse

from crawler.article import article_id
from crawler.urls import canonicalize_url, same_registered_domain


def canonical_link(response: Response) -> str | None:
    """The page's `<link rel="canonical">` as an absolute URL on the same registered domain as
    the page, else None. Never raises."""
    if not isinstance(response, TextResponse):
        return None
    try:
        hrefs = response.xpath(
            "//head/link[contains(concat(' ', normalize-space(translate(@rel,"
            " 'CANONICAL', 'canonical')), ' '), ' canonical ')]/@href"
        ).getall()
    except Exception:  # an undecodable or hostile page: no canonical, never a crash
        return None
    for href in hrefs:
        href = href.strip()
        if not href:
            continue
        try:
            absolute = urljoin(response.url, href)
        except ValueError:
            return None
        if absolute.startswith(("http://", "https://")) and same_registered_domain(
            absolute, response.url
        ):
            return absolute
        return None
    return None


def page_key(response: Response, keep_params: list[str]) -> str:
    """The canonical URL an article fetched as `response` is stored under."""
    return canonicalize_url(canonical_link(response) or response.url, keep_params)


def link_id(url: str, keep_params: list[str]) -> str:
    """The id of a listed link (and of the article, when it lives at that very URL)."""
    return article_id(canonicalize_url(url, keep_params))
