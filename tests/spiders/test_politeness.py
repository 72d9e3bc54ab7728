"""Politeness against a real loopback server: robots.txt, Retry-After, backoff, per-source
delay, the contact User-Agent, and one broken source never stopping the others."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from demo.site import FixtureServer, rss_feed
from spiders.retry import retry_after_seconds
from tests.spiders.cycle import polls, run_once, stored_ids, write_config


def test_retry_after_forms() -> None:
    now = datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds("Wed, 01 May 2024 12:00:30 GMT", now) == 30
    assert retry_after_seconds("Wed, 01 May 2024 11:00:00 GMT", now) == 0  # in the past
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_politeness_over_http(tmp_path: Path, site: FixtureServer) -> None:
    base = site.base_url
    arts = site.articles  # type: ignore[attr-defined]
    # rate limited once, asking for 2 s; then fine
    site.site.add(
        "/feeds/limited.xml",
        rss_feed(arts[:1], base),
        content_type="application/rss+xml",
        fail_first=1,
        fail_status=429,
        retry_after="2",
    )
    # a 503 without Retry-After: retried after the exponential backoff's first step (1 s)
    site.site.add(
        "/feeds/flaky.xml",
        rss_feed(arts[1:2], base),
        content_type="application/rss+xml",
        fail_first=1,
        fail_status=503,
    )
    # asks for longer than a poll may wait: not retried now, the source backs off instead
    site.site.add(
        "/feeds/patient.xml",
        "",
        fail_first=100,
        fail_status=429,
        retry_after="3600",
    )
    # a feed under a robots.txt-disallowed path: read only by the source that opts out
    site.site.add(
        "/private/feed.xml", rss_feed(arts[2:3], base), content_type="application/rss+xml"
    )
    # a slow site with its own delay between requests
    # (reached as localhost: its own host, so its own download slot and robots.txt)
    port = base.rsplit(":", 1)[1]
    local = f"http://localhost:{port}"
    site.site.add("/slow/feed.xml", rss_feed(arts[3:6], local), content_type="application/rss+xml")
    site.site.add("/feeds/loop-a.xml", "", status=302, headers={"Location": "/feeds/loop-b.xml"})
    site.site.add("/feeds/loop-b.xml", "", status=302, headers={"Location": "/feeds/loop-a.xml"})
    site.site.add("/feeds/slow.xml", rss_feed(arts[6:], base), delay=3.0)
    config = write_config(
        tmp_path,
        f"""  - {{name: limited, url: "{base}/feeds/limited.xml"}}
  - {{name: flaky, url: "{base}/feeds/flaky.xml"}}
  - {{name: patient, url: "{base}/feeds/patient.xml"}}
  - {{name: private, url: "{base}/private/feed.xml"}}
  - {{name: optout, url: "{base}/private/feed.xml?x=1", obey_robots: false}}
  - {{name: loop, url: "{base}/feeds/loop-a.xml"}}
  - {{name: timeout, url: "{base}/feeds/slow.xml"}}
  - {{name: careful, url: "{local}/slow/feed.xml", delay: 1.0, concurrent_per_domain: 1}}""",
        crawl='{timeout: 1.5, contact_url: "https://desk.example.org/crawler"}',
    )
    run_once(config)

    limited = site.site.hits("/feeds/limited.xml")
    assert len(limited) == 2
    assert limited[1]["at"] - limited[0]["at"] >= 1.9  # Retry-After: 2 honoured
    flaky = site.site.hits("/feeds/flaky.xml")
    assert len(flaky) == 2 and flaky[1]["at"] - flaky[0]["at"] >= 0.9
    assert len(site.site.hits("/feeds/patient.xml")) == 1
    assert polls(config, "limited")[0][0] == "ok"
    assert polls(config, "flaky")[0][0] == "ok"
    assert polls(config, "patient")[0][:1] == ("error",)

    # robots.txt: the obeying source never fetched its feed; the opted-out one did
    private = site.site.hits("/private/feed.xml")
    assert [r["full_path"] for r in private] == ["/private/feed.xml?x=1"]
    assert "robots" in (polls(config, "private")[0][3] or "")

    # the redirect loop and the timeout are recorded against their sources only
    assert polls(config, "loop")[0][0] == "error"
    assert polls(config, "timeout")[0][0] == "error"

    # per-source delay: the careful source's host saw its requests at least 1 s apart
    careful = sorted(
        r["at"]
        for r in site.site.requests
        if r["headers"].get("Host", "").startswith("localhost") and r["path"] != "/robots.txt"
    )
    assert len(careful) == 4  # the feed and three articles
    gaps = [b - a for a, b in zip(careful, careful[1:], strict=False)]
    assert min(gaps) >= 0.9, gaps

    # every request carried the contact URL
    agents = {r["headers"].get("User-Agent", "") for r in site.site.requests}
    assert agents and all("+https://desk.example.org/crawler" in a for a in agents)
    # the good sources' articles are in, whatever happened to the others
    # (limited, flaky, optout, and careful's three)
    assert len(stored_ids(config)) == 6


def test_failed_source_backs_off_and_recovers() -> None:
    from watchdesk.service.monitor import source_backoff

    every = timedelta(minutes=10)
    waits = [source_backoff(every, n) for n in range(1, 8)]
    assert waits == sorted(waits) and waits[-1] <= timedelta(hours=6)
    assert source_backoff(every, 100) == timedelta(hours=6)  # capped, never given up
