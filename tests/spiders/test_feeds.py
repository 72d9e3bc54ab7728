from __future__ import annotations

from datetime import UTC, datetime

from spiders.feed_parser import parse_feed

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><ttl>30</ttl>
<item><title>A</title><link>https://x.example/a</link><guid>1</guid>
<pubDate>Mon, 06 May 2024 10:00:00 GMT</pubDate></item>
<item><title>dup guid</title><link>https://x.example/a2</link>
<guid>1</guid></item>
<item><title>no link</title><description>nothing to fetch</description></item>
<item><title>guid link</title><guid>https://x.example/g</guid>
<pubDate>Thu, 01 Jan 1970 00:00:00 GMT</pubDate></item>
<item><title>future</title><link>https://x.example/f</link>
<pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate></item>
</channel></rss>"""


def test_rss_entries_dates_and_dedupe() -> None:
    feed = parse_feed(RSS, "https://x.example/feed")
    links = [e.link for e in feed.entries]
    assert links == ["https://x.example/a", "https://x.example/g", "https://x.example/f"]
    assert feed.entries[0].published == datetime(2024, 5, 6, 10, tzinfo=UTC)
    assert feed.entries[1].published is None  # 1970 is a placeholder, not a date
    assert feed.entries[2].published is None  # absurd future date
    assert feed.ttl_minutes == 30
    assert feed.bozo is None


def test_atom() -> None:
    atom = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>x</id>
<entry><title>E</title><link href="https://x.example/e"/><id>urn:e</id><updated>2024-05-01T00:00:00Z</updated>
<summary>S</summary></entry></feed>"""
    feed = parse_feed(atom)
    assert [(e.link, e.guid, e.summary) for e in feed.entries] == [
        ("https://x.example/e", "urn:e", "S")
    ]


def test_malformed_feed_recovers_entries() -> None:
    bad = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Bad &nbsp; feed</title>
<item><title>Kept</title><link>https://x.example/k</link>
<description>unclosed <b>x</description></item>"""
    feed = parse_feed(bad)
    assert feed.bozo
    assert [e.title for e in feed.entries] == ["Kept"]


def test_html_is_not_a_feed() -> None:
    feed = parse_feed(b"<html><body><p>Hello</p></body></html>", content_type="text/html")
    assert not feed.is_feed and feed.entries == []


def test_garbage_never_raises() -> None:
    for blob in (b"", b"\x00\xff\xfe" * 100, b"<rss", "<rss>\u2028</rss>".encode("utf-16")):
        parse_feed(blob)
