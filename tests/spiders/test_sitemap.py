"""Sitemap sources: a sitemap index with a news sitemap, served over loopback HTTP, crawled by
the real monitor; only the new articles are fetched, each once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from demo.site import FixtureServer, news_sitemap, sitemap_index
from spiders.sitemap import NewsSitemap, parse_w3c_date
from tests.spiders.cycle import (
    aid,
    other_loopback_server,
    polls,
    run_once,
    stored_ids,
    write_config,
)

OLD = datetime(2020, 1, 1, tzinfo=UTC)


def test_news_sitemap_fields_are_read() -> None:
    xml = news_sitemap(
        [
            ("https://x.example/a", datetime(2024, 5, 1, 8, tzinfo=UTC), "A & B"),
            ("https://x.example/b", None, ""),
        ]
    )
    rows = list(NewsSitemap(xml.encode()))
    assert rows[0]["loc"] == "https://x.example/a"
    assert parse_w3c_date(rows[0]["news_publication_date"]) == datetime(2024, 5, 1, 8, tzinfo=UTC)
    assert rows[0]["news_title"] == "A & B"
    assert "news_publication_date" not in rows[1]


def test_w3c_dates() -> None:
    assert parse_w3c_date("2024-05-01") == datetime(2024, 5, 1, tzinfo=UTC)
    assert parse_w3c_date("2024-05-01T10:00:00+08:00") == datetime(2024, 5, 1, 2, tzinfo=UTC)
    assert parse_w3c_date("yesterday") is None and parse_w3c_date(None) is None


def test_sitemap_index_yields_exactly_the_new_articles(tmp_path: Path, site: FixtureServer) -> None:
    base = site.base_url
    arts = site.articles  # type: ignore[attr-defined]
    now = datetime.now(UTC)

    def url(i: int, suffix: str = "") -> str:
        return f"{base}/articles/{arts[i].slug}.html{suffix}"

    with other_loopback_server() as other:
        site.site.add("/private/secret.html", "<html><body>not for crawlers</body></html>")
        site.site.add(
            "/sitemap_index.xml",
            sitemap_index([(f"{base}/news.xml", now), (f"{base}/archive.xml", OLD)]),
            content_type="application/xml",
        )
        fresh = now - timedelta(minutes=10)
        site.site.add(
            "/news.xml",
            news_sitemap(
                [
                    (url(0), fresh, arts[0].title),
                    (url(0, "?utm_source=sitemap&fbclid=x"), fresh, arts[0].title),  # same story
                    (url(1), fresh, arts[1].title),
                    (url(2), None, ""),  # undated: taken, the store decides
                    (f"{base}/private/secret.html", fresh, "robots.txt says no"),
                    (f"{other.base_url}/articles/internal.html", fresh, "refused address"),
                ]
            ),
            content_type="application/xml",
            gzip=True,
        )
        site.site.add(
            "/archive.xml", news_sitemap([(url(3), OLD, arts[3].title)]), content_type="text/xml"
        )
        config = write_config(
            tmp_path,
            f'  - {{name: sm, kind: sitemap, url: "{base}/sitemap_index.xml", deny: ["/tag/"]}}',
        )
        run_once(config)
        # a first poll has no "last poll": everything listed is taken
        assert stored_ids(config) == {aid(url(i)) for i in range(4)}

        # second cycle: one new story, one old story newly listed (older than the last poll)
        site.site.add(
            "/news.xml",
            news_sitemap(
                [
                    (url(0), fresh, arts[0].title),
                    (url(1), fresh, arts[1].title),
                    (url(4), datetime.now(UTC), arts[4].title),
                    (url(5), OLD, arts[5].title),
                ]
            ),
            content_type="application/xml",
        )
        run_once(config)
        assert stored_ids(config) == {aid(url(i)) for i in range(5)}

        # nothing stored is fetched again; the old entry and the unchanged archive are skipped
        for i in range(5):
            assert len(site.site.hits(f"/articles/{arts[i].slug}.html")) == 1, arts[i].slug
        assert site.site.hits(f"/articles/{arts[5].slug}.html") == []
        assert len(site.site.hits("/archive.xml")) == 1
        assert site.site.hits("/private/secret.html") == []
        assert other.site.requests == []
    history = polls(config, "sm")
    assert [p[0] for p in history] == ["ok", "ok"]
    # new links queued per poll: the first counts the robots-disallowed link too, which
    # Scrapy's robots.txt middleware then drops before any request is made
    assert history[0][2] == 5 and history[1][2] == 1


def test_html_where_a_sitemap_should_be_is_an_error(tmp_path: Path, site: FixtureServer) -> None:
    slug = site.articles[0].slug  # type: ignore[attr-defined]
    config = write_config(
        tmp_path,
        f'  - {{name: sm, kind: sitemap, url: "{site.base_url}/articles/{slug}.html"}}\n'
        f'  - {{name: ok, kind: feed, url: "{site.base_url}/feeds/ledger.xml"}}',
    )
    run_once(config)
    [(status, _, _, error)] = polls(config, "sm")
    assert status == "error" and error is not None and "not a sitemap" in error
    assert polls(config, "ok")[0][0] == "ok"  # the other source went on
