"""Every default source in `watchdesk.yaml` has a recorded fixture of its format, run through
the code the crawler uses, so that a format the parser does not handle fails here."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

import pytest
from parsel import Selector

from crawler.config import SourceConfig
from spiders import aggregators
from spiders.feed_parser import parse_feed
from spiders.listing import extract_links
from tests.conftest import ROOT
from watchdesk.cli.init import STARTER
from watchdesk.service.config import load_config

FIXTURES = ROOT / "tests" / "fixtures" / "feeds"
FORMATS = {
    "gnews-sister-city": "google-news-search.xml",
    "gnews-friendship-city": "google-news-search.xml",
    "gnews-mayor-delegation": "google-news-search.xml",
    "gnews-confucius": "google-news-search.xml",
    "gnews-land-bill": "google-news-search.xml",
    "gnews-youfu-chengshi": "google-news-search-zh.xml",
    "bing-sister-city": "bing-news-search.xml",
    "voa-china": "voa.xml",
    "rfa-china": "rfa.xml",
    "scmp-china": "scmp.xml",
    "chinadaily-china": "chinadaily.xml",
    "peoples-daily-politics": "peoples-daily-politics.xml",
    "mfa-news": "mfa-news.html",
    "cpaffc-news": "cpaffc-news.html",
}
DEFAULTS = load_config(ROOT / "watchdesk.yaml").config.sources


def test_every_default_source_has_a_fixture_and_a_label() -> None:
    assert {s.name for s in DEFAULTS} == set(FORMATS)
    assert all(s.label for s in DEFAULTS)
    assert all((FIXTURES / name).exists() for name in FORMATS.values())


def test_the_shipped_config_is_the_starter_of_watchdesk_init() -> None:
    for name in ("watchdesk.yaml", "watchlists.yaml"):
        assert (ROOT / name).read_text("utf-8") == (STARTER / name).read_text("utf-8")
    # the default config no longer depends on the demo's watchlists
    assert "demo/" not in (ROOT / "watchdesk.yaml").read_text("utf-8")


@pytest.mark.parametrize("source", [s for s in DEFAULTS if s.kind == "feed"], ids=lambda s: s.name)
def test_feed_format(source: SourceConfig) -> None:
    body = (FIXTURES / FORMATS[source.name]).read_bytes()
    zone = ZoneInfo(source.timezone) if source.timezone != "UTC" else None
    feed = parse_feed(body, source.url, "application/rss+xml", zone)
    assert feed.is_feed and feed.bozo is None
    assert len(feed.entries) >= 2
    for entry in feed.entries:
        assert entry.title.strip()
        assert entry.link.startswith(("http://", "https://"))
        # every default's date form is read, to the right instant (zone included)
        assert entry.published is not None
        assert datetime(2024, 5, 1, tzinfo=UTC) < entry.published < datetime(2024, 6, 1, tzinfo=UTC)
    kind = source.aggregator_kind
    if kind == "google_news":
        assert all(e.publisher for e in feed.entries)
        tokens = [aggregators.google_token(e.link, source.url) for e in feed.entries]
        assert all(tokens)
        # both generations: some decode offline, the others go to batchexecute
        offline = [aggregators.decode_token_offline(t) for t in tokens if t]
        assert any(offline) and not all(offline)
        assert all(u.startswith("http") for u in offline if u)
        for entry in feed.entries:
            headline = aggregators.strip_publisher_suffix(entry.title, entry.publisher)
            assert not headline.endswith(entry.publisher)
    elif kind == "bing":
        assert all(e.publisher for e in feed.entries)
        for entry in feed.entries:
            target = aggregators.unwrap_redirect(entry.link)
            assert target and "bing.com" not in target and "tid=" not in target
    else:
        assert kind == "none"


def test_dates_without_a_zone_are_read_in_the_sources_clock() -> None:
    body = (FIXTURES / "peoples-daily-politics.xml").read_bytes()
    feed = parse_feed(body, zone=ZoneInfo("Asia/Shanghai"))
    # <pubDate>2024-05-16 16:25:03</pubDate>, Beijing time
    assert feed.entries[0].published == datetime(2024, 5, 16, 8, 25, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    "source", [s for s in DEFAULTS if s.kind == "listing"], ids=lambda s: s.name
)
def test_listing_format(source: SourceConfig) -> None:
    html = (FIXTURES / FORMATS[source.name]).read_text("utf-8")
    page = Selector(text=html, base_url=source.url)
    links = [
        (urljoin(source.url, h), t) for h, t in extract_links(page, source.link_selector or "a")
    ]
    assert len(links) >= 3
    for url, text in links:
        assert url.startswith(source.url.split("/")[0] + "//" + source.url.split("/")[2])
        assert text.strip()
    # navigation and pager links are not picked
    assert not any(t in ("首页", "下一页") for _, t in links)


def test_init_writes_the_starter_files_and_refuses_to_overwrite(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    target = tmp_path / "desk"
    first = run_cli("init", str(target))
    assert first.returncode == 0, first.stderr
    assert (target / "watchdesk.yaml").read_text("utf-8") == (STARTER / "watchdesk.yaml").read_text(
        "utf-8"
    )
    (target / "watchlists.yaml").write_text("watchlists: []\n", encoding="utf-8")
    again = run_cli("init", str(target))
    assert again.returncode == 1 and "already exists" in again.stderr
    assert (target / "watchlists.yaml").read_text("utf-8") == "watchlists: []\n"  # untouched
    loaded = load_config(target / "watchdesk.yaml")
    assert loaded.config.alerts.first_poll == "seed" and loaded.config.alerts.max_age == "7d"
    check = run_cli("--config", str(target / "watchdesk.yaml"), "watchlist", "validate")
    assert check.returncode == 0, check.stdout + check.stderr
