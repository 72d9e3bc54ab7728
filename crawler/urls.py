"""URL canonicalisation: one article is stored once.

Tracking parameters, fragments, default ports, host case and trailing slashes do not make a new
URL. Which URLs may be requested at all is the address policy's (`crawler.addresses`).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url as _w3_canonicalize
from w3lib.url import safe_url_string

# The address policy lives in crawler.addresses; these names stay importable from here.
from crawler.addresses import is_public_ip, origin, refusal_reason, same_origin

__all__ = [
    "canonicalize_url",
    "is_public_ip",
    "is_tracking_param",
    "origin",
    "refusal_reason",
    "same_origin",
    "same_site",
]

# Parameters that only track the reader. utm_* is Google Analytics' family; the rest are the
# click ids and share markers seen on news links (Facebook, Google Ads, Microsoft, Mailchimp,
# HubSpot, Twitter/X, Yandex, Instagram, Adobe, Piano, Outbrain, Taboola).
_TRACKING_PREFIXES = ("utm_", "hsa_", "pk_", "mtm_", "at_")
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
        "cid",
        "outbrain",
        "taboola",
        "ref_src",
        "ref_url",
        "share",
        "rss",
        "cmp",
        "intcmp",
        "xtor",
        "__twitter_impression",
    }
)


def is_tracking_param(name: str) -> bool:
    low = name.lower()
    return low in _TRACKING_PARAMS or low.startswith(_TRACKING_PREFIXES)


def canonicalize_url(url: str) -> str:
    """The form of a URL under which an article is stored.

    Lowercases scheme and host, drops default ports, fragments and tracking parameters, sorts
    the remaining query, percent-encodes consistently (w3lib), and removes a trailing slash from
    non-root paths (news CMSs serve `/story/` and `/story` as the same page).
    """
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
            if not is_tracking_param(k)
        ]
    )
    path = parts.path or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    rebuilt = urlunsplit((scheme, netloc, path, query, ""))
    return _w3_canonicalize(rebuilt, keep_fragments=False)


def same_site(a: str, b: str) -> bool:
    """Same host, ignoring a leading `www.`: enough for trusting `rel=canonical`."""
    ha, hb = origin(a)[1], origin(b)[1]
    return ha.removeprefix("www.") == hb.removeprefix("www.")
