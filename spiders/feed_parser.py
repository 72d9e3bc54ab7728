"""Feed parsing: feedparser's dicts become watchdesk's `FeedEntry` records here, and only here.

Like feedparser itself, this never raises on a bad feed: a malformed ("bozo") feed yields
whatever entries could be recovered, and the problem is reported alongside them.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

import feedparser

from crawler.article import FeedEntry

# Dates before this are placeholders (1970 epochs, 1900 defaults) rather than publication
# dates; the first news feeds appeared in the late 1990s.
_EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)
# A little slack for clock skew and time-zone mistakes in feeds; beyond it a date is absurd.
_FUTURE_SLACK = timedelta(days=2)


@dataclass
class ParsedFeed:
    entries: list[FeedEntry] = field(default_factory=list)
    title: str = ""
    bozo: str | None = None  # the parser's complaint about a malformed feed
    ttl_minutes: int | None = None  # the feed's own polling hint (RSS ttl, sy:updatePeriod)
    is_feed: bool = True  # False when the document was not a feed at all (HTML, JSON, ...)


# A date with a zone: an offset, Z, or a zone name (GMT, UTC, EST, ...) after the time.
_HAS_ZONE = re.compile(r"(?:[+-]\d{2}:?\d{2}|\bZ|[A-Za-z]{2,5})\s*$")


def _date(
    parsed: object, now: datetime, raw: str = "", zone: tzinfo | None = None
) -> datetime | None:
    if not parsed:
        return None
    try:
        dt = datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    if zone is not None and raw and not _HAS_ZONE.search(raw.strip()):
        # feedparser reads a date without a zone as UTC; the source says what its clock is
        # (People's Daily writes `2024-05-16 16:25:03`, Beijing time)
        dt = dt.replace(tzinfo=zone).astimezone(UTC)
    if dt < _EARLIEST or dt > now + _FUTURE_SLACK:
        return None
    return dt


# feedparser flags these as bozo, yet the feed parsed fully: a wrong or missing Content-Type,
# or an encoding declared one way and served another. Not worth telling anyone about.
_BENIGN = {"NonXMLContentType", "CharacterEncodingOverride"}

_PERIOD_MINUTES = {"hourly": 60, "daily": 1440, "weekly": 10080, "monthly": 43200, "yearly": 525600}


def _ttl(feed: dict[str, object]) -> int | None:
    try:
        if feed.get("ttl"):
            return max(1, int(str(feed["ttl"])))
        period = str(feed.get("sy_updateperiod", "")).strip().lower()
        if period in _PERIOD_MINUTES:
            freq = int(str(feed.get("sy_updatefrequency", "1")) or 1)
            return max(1, _PERIOD_MINUTES[period] // max(freq, 1))
    except ValueError:
        return None
    return None


def parse_feed(
    body: bytes, url: str = "", content_type: str | None = None, zone: tzinfo | None = None
) -> ParsedFeed:
    """Parse RSS 0.9x/1.0/2.0 or Atom bytes into FeedEntry records; never raises.

    `zone` is the time zone of dates written without one (the source's `timezone`)."""
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    try:
        d = feedparser.parse(body, response_headers=headers, sanitize_html=True)
    except Exception as exc:  # feedparser promises not to raise; a bug there must not stop a cycle
        return ParsedFeed(bozo=f"parser crashed: {type(exc).__name__}: {exc}", is_feed=False)
    now = datetime.now(UTC)
    result = ParsedFeed(title=str(d.feed.get("title", "")), ttl_minutes=_ttl(d.feed))
    problem = d.get("bozo_exception")
    if d.get("bozo") and type(problem).__name__ not in _BENIGN:
        result.bozo = f"{type(problem).__name__}: {problem}" if problem else "malformed feed"
    result.is_feed = bool(d.get("version")) or bool(d.entries)
    seen: set[str] = set()
    for e in d.entries:
        link = str(e.get("link") or "").strip()
        if not link:
            # some feeds put the article URL only in the guid
            guid = str(e.get("id") or "")
            if guid.startswith(("http://", "https://")):
                link = guid
        if not link:
            continue
        guid = str(e.get("id") or link)
        if guid in seen or link in seen:
            continue
        seen.update((guid, link))
        # Google News names the outlet as <source url="...">Name</source>, Bing News as
        # <News:Source>Name</News:Source>
        origin = e.get("source") or {}
        publisher = str(origin.get("title") or e.get("news_source") or "").strip()
        result.entries.append(
            FeedEntry(
                link=link,
                title=str(e.get("title") or ""),
                summary=str(e.get("summary") or ""),
                guid=guid,
                published=_date(
                    e.get("published_parsed"), now, str(e.get("published") or ""), zone
                ),
                updated=_date(e.get("updated_parsed"), now, str(e.get("updated") or ""), zone),
                author=str(e.get("author") or ""),
                publisher=publisher,
                publisher_url=str(origin.get("href") or "").strip(),
            )
        )
    return result
