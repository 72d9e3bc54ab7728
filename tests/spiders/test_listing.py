"""Listing sources: an official press page without a feed, with a pager, crawled by the real
monitor over loopback HTTP; only new links are fetched, each once, up to `max_pages`."""

from __future__ import annotations

from pathlib import Path

from parsel import Selector

from demo.site import FixtureServer, listing_page
from spiders.listing import extract_links
from tests.spiders.cycle import (
    aid,
    other_loopback_server,
    polls,
    run_once,
    stored_ids,
    write_config,
)

PAGE = listing_page([("/a.html", "First story"), ("b.html", "Second")], "/press/2")


def test_css_and_xpath_selectors_find_the_same_links() -> None:
    page = Selector(text=PAGE)
    css = list(extract_links(page, "ul.news a"))
    assert css == [("/a.html", "First story"), ("b.html", "Second")]
    assert list(extract_links(page, "//ul[@class='news']//a")) == css
    assert [h for h, _ in extract_links(page, "//ul[@class='news']//a/@href")] == [
        "/a.html",
        "b.html",
    ]
    assert list(extract_links(page, "ul.news li")) == css  # the <a> inside a container
    assert list(extract_links(page, "a.next")) == [("/press/2", "Next page")]


def test_listing_yields_exactly_the_new_articles(tmp_path: Path, site: FixtureServer) -> None:
    base = site.base_url
    arts = site.articles  # type: ignore[attr-defined]

    def href(i: int, suffix: str = "") -> str:
        return f"/articles/{arts[i].slug}.html{suffix}"

    with other_loopback_server() as other:
        site.site.add("/private/memo.html", "<html><body>not for crawlers</body></html>")
        page1 = [
            (href(0), arts[0].title),
            (href(0, "?utm_campaign=press&gclid=1"), arts[0].title),  # the same story
            (href(1), arts[1].title),
            ("/private/memo.html", "disallowed by robots.txt"),
            (f"{other.base_url}/articles/internal.html", "refused address"),
            ("/articles/skip-me.html?print=1", "denied by pattern"),
        ]
        site.site.add("/press/", listing_page(page1, "/press/page2.html"))
        site.site.add(
            "/press/page2.html", listing_page([(href(2), ""), (href(3), "")], "page3.html")
        )
        site.site.add("/press/page3.html", listing_page([(href(4), "")], None))
        config = write_config(
            tmp_path,
            f'  - name: press\n    kind: listing\n    url: "{base}/press/"\n'
            '    link_selector: "ul.news a"\n    next_selector: "a.next"\n    max_pages: 2\n'
            '    deny: ["print=1"]\n    obey_robots: true',
        )
        run_once(config)
        assert stored_ids(config) == {aid(f"{base}{href(i)}") for i in range(4)}

        # second cycle: one new story on top of page one; page two has nothing new
        site.site.add(
            "/press/", listing_page([(href(5), arts[5].title), *page1], "/press/page2.html")
        )
        run_once(config)
        assert stored_ids(config) == {aid(f"{base}{href(i)}") for i in range(4)} | {
            aid(f"{base}{href(5)}")
        }
        for i in range(6):
            assert len(site.site.hits(f"/articles/{arts[i].slug}.html")) <= 1, arts[i].slug
        assert site.site.hits(f"/articles/{arts[4].slug}.html") == []  # beyond max_pages
        assert site.site.hits("/press/page3.html") == []
        assert site.site.hits("/private/memo.html") == []
        assert site.site.hits("/articles/skip-me.html") == []
        assert site.site.hits("/about") == [] and site.site.hits("/contact") == []
        assert other.site.requests == []
        # page two is read again only because page one still brought something new
        assert len(site.site.hits("/press/page2.html")) == 2
    assert [p[0] for p in polls(config, "press")] == ["ok", "ok"]


def test_listing_with_nothing_new_stops_at_page_one(tmp_path: Path, site: FixtureServer) -> None:
    base = site.base_url
    slug = site.articles[0].slug  # type: ignore[attr-defined]
    site.site.add("/news/", listing_page([(f"/articles/{slug}.html", "x")], "/news/2.html"))
    site.site.add("/news/2.html", listing_page([], None))
    config = write_config(
        tmp_path,
        f'  - {{name: n, kind: listing, url: "{base}/news/", link_selector: "ul.news a",'
        ' next_selector: "a.next"}',
    )
    run_once(config)
    run_once(config)
    assert len(site.site.hits("/news/")) == 2
    assert len(site.site.hits("/news/2.html")) == 1  # the second poll found nothing new
    assert len(site.site.hits(f"/articles/{slug}.html")) == 1
