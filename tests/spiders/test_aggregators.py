"""Aggregators (issue 12): Google News tokens resolved to the publisher (both generations),
Bing and Google Alerts links unwrapped, against loopback stand-ins speaking the real formats,
beside the publisher's own feed."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.site import FixtureArticle, FixtureServer
from spiders import aggregators
from tests.conftest import run_cli
from tests.spiders.cycle import aid
from tests.spiders.standins import (
    NOSCRIPT,
    SCRIPT_PATH,
    GoogleNewsStandIn,
    Story,
    bing_feed,
    make_token,
    token_for,
)

PUBLISHER = "Heartland Ledger"


# -- the protocol, offline -----------------------------------------------------------------


def test_older_tokens_decode_offline_and_newer_ones_do_not() -> None:
    url = "https://www.publisher.example/2024/05/sister-city-review.html"
    assert aggregators.decode_token_offline(make_token(url.encode())) == url
    new = token_for(Story(url, "t", "p", None, new_token=True))  # type: ignore[arg-type]
    assert aggregators.token_payload(
        new,
    ).startswith(b"AU_yqL")  # type: ignore[union-attr]
    assert aggregators.decode_token_offline(new) is None
    assert aggregators.decode_token_offline("not-a-token!") is None


def test_google_links_resolve_only_on_the_source_origin() -> None:
    feed = "https://news.google.com/rss/search?q=x&hl=en-US&gl=US&ceid=US:en"
    link = "https://news.google.com/rss/articles/CBMiQmh0dHBzOi8vZXhhbXBsZQ?oc=5"
    assert aggregators.google_token(link, feed) == "CBMiQmh0dHBzOi8vZXhhbXBsZQ"
    assert aggregators.google_token(link.replace("news.google", "evil"), feed) is None
    page = aggregators.signature_page_url("https://news.google.com", "CBMi1", feed)
    assert page == "https://news.google.com/rss/articles/CBMi1?hl=en-US&gl=US&ceid=US%3Aen"


def test_bing_and_google_alerts_links_unwrap() -> None:
    bing = (
        "https://www.bing.com/news/apiclick.aspx?ref=FexRss&aid=&tid=66E3A2&url=https%3a%2f%2f"
        "www.example.com%2fnews%2fsister-city%3fid%3d7&c=1234&mkt=en-us"
    )
    assert aggregators.unwrap_redirect(bing) == "https://www.example.com/news/sister-city?id=7"
    alerts = (
        "https://www.google.com/url?rct=j&sa=t&url=https://local.example/story-1&ct=ga"
        "&cd=CAIyGjM4&usg=AOvVaw0"
    )
    assert aggregators.unwrap_redirect(alerts) == "https://local.example/story-1"
    assert aggregators.unwrap_redirect("https://www.bing.com/news?q=x") is None


def test_batchexecute_answers_in_both_framings() -> None:
    inner = json.dumps(["garturlres", "https://a.example/1", 1])
    rows = [["wrb.fr", "Fbv4je", inner, None, None, None, "0"], ["di", 9]]
    plain = ")]}'\n\n" + json.dumps(rows)
    chunk = json.dumps(rows)
    chunked = f")]}}'\n\n{len(chunk)}\n{chunk}\n25\n" + json.dumps([["e", 4, None, None, 141]])
    failed = ")]}'\n\n" + json.dumps([["wrb.fr", "Fbv4je", None, None, None, [3], "1"]])
    assert aggregators.parse_batchexecute(plain) == {"0": "https://a.example/1"}
    assert aggregators.parse_batchexecute(chunked) == {"0": "https://a.example/1"}
    assert aggregators.parse_batchexecute(failed) == {}
    assert aggregators.parse_batchexecute("<html>sorry</html>") == {}


def test_body_carries_each_token_with_its_request_id() -> None:
    body = aggregators.batchexecute_body([("0", "CBMiA", "1716000000", "AV_x")])
    from urllib.parse import parse_qs

    envelopes = json.loads(parse_qs(body)["f.req"][0])[0]
    assert envelopes[0][0] == "Fbv4je" and envelopes[0][3] == "0"
    inner = json.loads(envelopes[0][1])
    assert inner[0] == "garturlreq" and inner[2:] == ["CBMiA", 1716000000, "AV_x"]


# -- the real crawl --------------------------------------------------------------------------


def stories_of(site: FixtureServer) -> list[Story]:
    arts: list[FixtureArticle] = site.articles  # type: ignore[attr-defined]
    # both token generations: every other story has an older (offline) token
    return [
        Story(
            f"{site.base_url}/articles/{a.slug}.html", a.title, PUBLISHER, a.published, i % 2 == 0
        )
        for i, a in enumerate(arts)
    ]


@pytest.fixture
def google(site: FixtureServer) -> Iterator[GoogleNewsStandIn]:
    with GoogleNewsStandIn(stories_of(site)) as gn:
        yield gn


def write_config(tmp_path: Path, google: GoogleNewsStandIn, site: FixtureServer) -> Path:
    config = tmp_path / "watchdesk.yaml"
    config.write_text(
        f"""store: {{path: test.db}}
crawl: {{allow_private_addresses: true}}
alerts: {{sink: jsonl, jsonl_path: alerts.jsonl, first_poll: alert, max_age: none}}
sources:
  - {{name: gnews-sister-city, url: "{google.feed_url}", aggregator: google_news}}
  - {{name: bing-sister-city, url: "{site.base_url}/news/search?q=sister+city&format=rss",
     aggregator: bing}}
  - {{name: ledger, url: "{site.base_url}/feeds/ledger.xml"}}
  - {{name: ledger-atom, url: "{site.base_url}/feeds/atom.xml"}}
watchlists:
  - {{name: everything, query: 'country:CN OR country:US OR country:TW', channel: "#x"}}
""",
        encoding="utf-8",
    )
    return config


def run(config: Path) -> str:
    result = run_cli("--config", str(config), "-v", "run", "--once")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr


def rows(config: Path, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    conn = sqlite3.connect(config.parent / "test.db")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_every_story_is_stored_once_under_the_publisher_url(
    tmp_path: Path, site: FixtureServer, google: GoogleNewsStandIn
) -> None:
    stories = stories_of(site)
    site.site.add("/news/search", bing_feed(site.base_url, stories), content_type="text/xml")
    config = write_config(tmp_path, google, site)
    started = time.monotonic()
    log = run(config)
    elapsed = time.monotonic() - started

    stored = {
        r[0]: r
        for r in rows(
            config,
            "SELECT id, canonical_url, title, publisher, extractor, unresolved FROM articles",
        )
    }
    assert set(stored) == {aid(s.url) for s in stories}
    arts: list[FixtureArticle] = site.articles  # type: ignore[attr-defined]
    for a in arts:
        _, url, title, publisher, extractor, unresolved = stored[
            aid(f"{site.base_url}/articles/{a.slug}.html")
        ]
        assert url == f"{site.base_url}/articles/{a.slug}.html"
        assert title == a.title  # the publisher's headline, not "Google News"
        assert publisher == PUBLISHER
        assert extractor == "trafilatura" and not unresolved
    texts = " ".join(r[0] for r in rows(config, "SELECT text FROM articles"))
    assert NOSCRIPT not in texts
    # each story's page fetched once, whichever source listed it first
    for a in arts:
        assert len(site.site.hits(f"/articles/{a.slug}.html")) == 1
    # only the newer tokens cost a signature page; one batchexecute POST; never the script
    new_tokens = [token_for(s) for s in stories if s.new_token]
    assert len(google.hits("/rss/articles/")) == len(new_tokens)
    assert len(google.hits("/_/DotsSplashUi/data/batchexecute")) == 1
    assert google.hits(SCRIPT_PATH.split("/js/")[0]) == []
    # one top-level alert per story across the three sources
    stories_alerted = rows(config, "SELECT article_id FROM alerts WHERE kind = 'story'")
    assert len(stories_alerted) == len({r[0] for r in stories_alerted})
    clusters = rows(config, "SELECT count(DISTINCT cluster_id) FROM articles")[0][0]
    assert len(stories_alerted) == clusters
    line = next(x for x in log.splitlines() if "kind=google_news resolved=" in x)
    print(
        f"\ngoogle news stand-in: {line.split('logger=watchdesk.poll ')[-1]}; cycle {elapsed:.1f}s"
    )

    # later polls: Bing's tid changes, Google's tokens are cached; nothing new
    site.site.add("/news/search", bing_feed(site.base_url, stories), content_type="text/xml")
    alerts_before = rows(config, "SELECT count(*) FROM alerts")[0][0]
    signature_pages = len(google.hits("/rss/articles/"))
    run(config)
    assert rows(config, "SELECT count(*) FROM articles")[0][0] == len(stories)
    assert rows(config, "SELECT count(*) FROM alerts")[0][0] == alerts_before
    assert len(google.hits("/rss/articles/")) == signature_pages  # resolved tokens are cached
    for a in arts:
        assert len(site.site.hits(f"/articles/{a.slug}.html")) == 1

    # people see the outlet as the source, the configured feed as "via"
    found = run_cli("--config", str(config), "search", "", "--json", "--limit", "50")
    assert found.returncode == 0, found.stderr
    hits = [json.loads(line) for line in found.stdout.splitlines()]
    assert hits and all(h["publisher"] == PUBLISHER for h in hits)
    assert {h["via"] for h in hits} <= {
        "gnews-sister-city",
        "bing-sister-city",
        "ledger",
        "ledger-atom",
    }
    exported = run_cli("--config", str(config), "search", "", "--csv").stdout
    header, *lines = csv.reader(io.StringIO(exported))  # cells hold the text: commas, lines
    assert header[2:4] == ["source", "publisher"]
    assert lines and all(line[3] == PUBLISHER for line in lines)


def test_unresolvable_items_fall_back_to_the_feed_entry(
    tmp_path: Path, site: FixtureServer
) -> None:
    stories = stories_of(site)
    with GoogleNewsStandIn(stories, refuse=True) as google:
        config = tmp_path / "watchdesk.yaml"
        config.write_text(
            f"""store: {{path: test.db}}
crawl: {{allow_private_addresses: true}}
alerts: {{sink: jsonl, jsonl_path: alerts.jsonl, first_poll: alert, max_age: none}}
sources:
  - {{name: gnews, url: "{google.feed_url}", aggregator: google_news}}
watchlists: []
""",
            encoding="utf-8",
        )
        log = run(config)
        assert "unresolved=" in log
        got = rows(config, "SELECT url, title, publisher, unresolved, text FROM articles")
        unresolved = [r for r in got if r[3]]
        assert len(unresolved) == sum(s.new_token for s in stories)
        for url, title, publisher, _, text in unresolved:
            assert url.startswith(google.base_url + "/rss/articles/")
            assert publisher == PUBLISHER
            assert title in {s.title for s in stories}  # " - Heartland Ledger" taken off
            assert NOSCRIPT not in text and title != "Google News"
        # the interstitial was read for its signature only, never as an article
        assert all(r["full"].find("hl=") > 0 for r in google.hits("/rss/articles/"))
        # the older tokens still resolved offline and were fetched from the publisher
        assert sum(not r[3] for r in got) == sum(not s.new_token for s in stories)
