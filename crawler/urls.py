"""URL canonicalisation: one article is stored once.

Tracking parameters, fragments, default ports, host case and trailing slashes do not make a new
URL. Which URLs may be requested at all is the address policy's (`crawler.addresses`).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import tldextract
from w3lib.url import canonicalize_url as _w3_canonicalize
from w3lib.url import safe_url_string

# The address policy lives in crawler.addresses; these names stay importable from here.
from crawler.addresses import is_public_ip, origin, refusal_reason, same_origin

__all__ = [
    "canonicalize_url",
    "is_public_ip",
    "is_tracking_param",
    "without_tracking",
    "origin",
    "refusal_reason",
    "registered_domain",
    "same_origin",
    "same_registered_domain",
    "same_site",
]

# Parameters that only track the reader and are never an article's id. utm_* is Google
# Analytics' family; the rest are the click ids and campaign markers of Facebook, Google Ads,
# Microsoft, Mailchimp, HubSpot, Twitter/X, Yandex, Instagram, Adobe, Piano, Outbrain and
# Taboola. Generic names that some CMSs use as the article id itself (`cid`, `share`, `rss`,
# `cmp`, `id`, `p`) are deliberately absent: two different articles must never collapse into
# one (issue 12). A source's `keep_params` keeps any of these it needs.
_TRACKING_PREFIXES = ("utm_", "hsa_", "pk_", "mtm_")
_TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "hsctatracking",
        "igshid",
        "yclid",
        "twclid",
        "ttclid",
        "s_cid",
        "cmpid",
        "ocid",
        "ncid",
        "sr_share",
        "smid",
        "ref_src",
        "ref_url",
        "intcmp",
        "xtor",
        "at_medium",
        "at_campaign",
        "__twitter_impression",
    }
)


def is_tracking_param(name: str, keep: frozenset[str] = frozenset()) -> bool:
    """True for a query parameter that only tracks the reader (unless listed in `keep`)."""
    low = name.lower()
    if low in keep:
        return False
    return low in _TRACKING_PARAMS or low.startswith(_TRACKING_PREFIXES)


def canonicalize_url(url: str, keep_params: Iterable[str] = ()) -> str:
    """The form of a URL under which an article is stored.

    Lowercases scheme and host, drops default ports, fragments and tracking parameters (except
    those in `keep_params`, a source's own list), sorts the remaining query, percent-encodes
    consistently (w3lib), and removes a trailing slash from non-root paths (news CMSs serve
    `/story/` and `/story` as the same page).
    """
    keep = frozenset(p.lower() for p in keep_params)
    url = safe_url_string(url.strip())
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    port = parts.port
    if (scheme == "http" and port == 80) or (scheme == "https" and port == 443):
        port = None
    netloc = host if port is None else f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not is_tracking_param(k, keep)
        ]
    )
    path = parts.path or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    rebuilt = urlunsplit((scheme, netloc, path, query, ""))
    return _w3_canonicalize(rebuilt, keep_fragments=False)


def without_tracking(url: str) -> str:
    """`url` with its tracking parameters (`utm_*`, `fbclid`, ...) dropped and nothing else
    changed: what an export shows, a link the reader can follow as the outlet wrote it."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if not is_tracking_param(k)]
    if len(kept) == len(pairs):
        return url
    return urlunsplit(parts._replace(query=urlencode(kept)))


def same_site(a: str, b: str) -> bool:
    """Same host, ignoring a leading `www.`: enough for trusting `rel=canonical`."""
    ha, hb = origin(a)[1], origin(b)[1]
    return ha.removeprefix("www.") == hb.removeprefix("www.")


# The Public Suffix List snapshot bundled with tldextract, never fetched at run time: the
# crawler must not make requests of its own outside Scrapy's politeness.
# Private suffixes count too: two blogs on github.io or blogspot.com are two publishers.
_SUFFIXES = tldextract.TLDExtract(
    suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True
)


@lru_cache(maxsize=8192)
def registered_domain(url: str) -> str:
    """The domain a publisher registered (`www.bbc.co.uk` -> `bbc.co.uk`); the host itself for
    IP addresses, `localhost` and names outside the Public Suffix List."""
    host = origin(url)[1]
    parts = _SUFFIXES(host)
    if parts.domain and parts.suffix:
        return f"{parts.domain}.{parts.suffix}"
    return host


def same_registered_domain(a: str, b: str) -> bool:
    """Both URLs under one registered domain: `rel=canonical` is trusted within it (a
    publisher moving a story from `www.` to `news.` is still the publisher)."""
    return bool(origin(a)[1]) and registered_domain(a) == registered_domain(b)
