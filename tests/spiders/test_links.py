"""What becomes of each listed link: refused links recorded (and no longer blocking the feed's
validators), articles keyed on the URL they live at (after redirects, `rel=canonical` on the
same registered domain), over the loopback fixture site with the real CLI."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from demo.site import FixtureServer, article_page
from tests.conftest import run_cli
from tests.spiders.cycle import (
    aid,
    other_loopback_server,
    polls,
    run_once,
    stored_ids,
    write_config,
)


def _rss(items: list[tuple[str, str]]) -> str:
    body = "\n".join(
        f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
        "<pubDate>Mon, 06 May 2024 10:00:00 GMT</pubDate></item>"
        for link, title in items
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Mixed</title>'
        f"<link>/</link>{body}</channel></rss>"
    )


def _links(config: Path) -> dict[str, tuple[str, str | None, str | None]]:
    conn = sqlite3.connect(config.parent / "test.db")
    try:
        rows = conn.execute("SELECT url, outcome, reason, article_id FROM links").fetchall()
    finally:
        conn.close()
    return {url: (outcome, reason, article) for url, outcome, reason, article in rows}


def test_refused_links_are_recorded_and_the_next_poll_is_conditional(
    tmp_path: Path, site: FixtureServer
) -> None:
    base = site.base_url
    good = site.articles[0]  # type: ignore[attr-defined]
    with other_loopback_server() as other:
        internal = f"{other.base_url}/articles/internal.html"
        site.site.add("/private/secret.html", "<html><body>secret</body></html>")
        site.site.add(
            "/feeds/mixed.xml",
            _rss(
                [
                    (f"{base}/articles/{good.slug}.html", good.title),
                    (f"{base}/private/secret.html", "Disallowed by robots.txt"),
                    (internal, "Another loopback host"),
                ]
            ),
            content_type="application/rss+xml",
            etag=True,
        )
        config = write_config(tmp_path, f'  - {{name: mixed, url: "{base}/feeds/mixed.xml"}}')
        first = run_once(config)
        assert stored_ids(config) == {aid(f"{base}/articles/{good.slug}.html")}
        links = _links(config)
        assert links[f"{base}/private/secret.html"][:2] == ("refused", "robots")
        assert links[internal][:2] == ("refused", "refused_address")
        assert "Traceback" not in first

        second = run_once(config)
        feed_hits = site.site.hits("/feeds/mixed.xml")
        assert len(feed_hits) == 2
        assert feed_hits[1]["headers"].get("If-None-Match")  # the validators were saved
        assert [p[0] for p in polls(config, "mixed")] == ["ok", "not_modified"]
        # new on the first poll (the good one, and the one robots.txt then refused), never again
        assert polls(config, "mixed")[0][2] == 2
        assert "refused link" not in second  # logged once, when first refused
        assert site.site.hits("/private/secret.html") == []
        assert other.site.hits("/articles/internal.html") == []

        # `sources check` lists both refused links with their reasons
        check = run_cli("--config", str(config), "sources", "check", "mixed", "--json")
        assert check.returncode == 0, check.stderr
        outcomes = {d["url"]: d["outcome"] for d in json.loads(check.stdout)["links"]}
        assert outcomes[f"{base}/private/secret.html"] == "refused:robots"
        assert outcomes[internal] == "refused:refused_address"
        assert outcomes[f"{base}/articles/{good.slug}.html"] == "stored"
        status = run_cli("--config", str(config), "status", "--json")
        by_name = {s["source"]: s for s in json.loads(status.stdout)["sources"]}
        assert by_name["mixed"]["refused_links"] == 2


def test_articles_are_keyed_on_the_url_they_live_at(tmp_path: Path, site: FixtureServer) -> None:
    base = site.base_url
    one, two, three = site.articles[:3]  # type: ignore[attr-defined]
    # one: the feed links an old URL that redirects to the article
    site.site.add("/old/one", "", status=301, headers={"Location": f"/articles/{one.slug}.html"})
    # two: its canonical points at another registered domain: not trusted
    site.site.add(
        "/two.html",
        article_page(two, base).replace(
            f'href="{base}/articles/{two.slug}.html"', 'href="https://elsewhere.example/two"'
        ),
    )
    # three: its canonical is another path of the same site
    site.site.add(
        "/print/three.html",
        article_page(three, base).replace(
            f'href="{base}/articles/{three.slug}.html"', f'href="{base}/news/three"'
        ),
    )
    site.site.add(
        "/feeds/moves.xml",
        _rss(
            [
                (f"{base}/old/one", one.title),
                (f"{base}/two.html", two.title),
                (f"{base}/print/three.html", three.title),
            ]
        ),
        content_type="application/rss+xml",
    )
    # the outlet's own feed lists the same stories under their own URLs
    site.site.add(
        "/feeds/own.xml",
        _rss(
            [(f"{base}/articles/{one.slug}.html", one.title), (f"{base}/news/three", three.title)]
        ),
        content_type="application/rss+xml",
    )
    config = write_config(
        tmp_path,
        f'  - {{name: moves, url: "{base}/feeds/moves.xml"}}\n'
        f'  - {{name: own, url: "{base}/feeds/own.xml"}}',
    )
    run_once(config)
    assert stored_ids(config) == {
        aid(f"{base}/articles/{one.slug}.html"),
        aid(f"{base}/two.html"),
        aid(f"{base}/news/three"),
    }
    conn = sqlite3.connect(config.parent / "test.db")
    urls = dict(conn.execute("SELECT id, url FROM articles").fetchall())
    conn.close()
    assert urls[aid(f"{base}/articles/{one.slug}.html")] == f"{base}/articles/{one.slug}.html"

    # a later poll fetches none of them again, through either feed
    before = len(site.site.requests)
    run_once(config)
    again = [r["path"] for r in site.site.requests[before:] if r["path"] != "/robots.txt"]
    assert sorted(again) == ["/feeds/moves.xml", "/feeds/own.xml"]
    assert len(stored_ids(config)) == 3
