"""The web page in a real browser: Debian's Chromium driven by Playwright, headless.

Search, click a facet, open an article, backtest a draft watchlist, and check that a hostile
headline is shown as text with no script run. With WATCHDESK_SCREENSHOT=1 it refreshes
docs/search.png for the README (otherwise the screenshot goes to the test's temporary folder, so
a test run leaves the working tree as it found it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alerts.backtest import backtest
from crawler.storage import Store
from tests.web.archive import XSS_TITLE
from tests.web.conftest import LiveServer

CHROMIUM = "/usr/bin/chromium"
DOCS = Path(__file__).resolve().parents[2] / "docs"

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM),
    reason=f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install -y chromium)",
)
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need the playwright package (test extras)"
)

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    context = browser.new_context(
        base_url=live_server.base_url, viewport={"width": 1280, "height": 900}
    )
    pg = context.new_page()
    dialogs: list[str] = []
    requests: list[str] = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pg.on("request", lambda r: requests.append(r.url))
    pg.seen_dialogs = dialogs  # for the no-script test
    yield pg
    # nothing the page loaded may come from anywhere but the server under test
    assert all(u.startswith(live_server.base_url) for u in requests), requests
    context.close()


def test_search_facet_article(page: Any, live_server: LiveServer, tmp_path: Path) -> None:
    page.goto("/")
    page.fill("input[name=q]", "sister")
    page.click("button[type=submit]")
    page.wait_for_url("**/search?q=sister**")
    total = int(page.locator(".summary strong").first.inner_text().replace(",", ""))
    assert total > 5
    assert page.locator(".hit").count() == min(total, 20)
    assert page.locator(".hit mark").count() > 0
    shots = DOCS if os.environ.get("WATCHDESK_SCREENSHOT") else tmp_path
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / "search.png"), full_page=False)
    assert (shots / "search.png").stat().st_size > 10_000

    # facets read as names, the code on hover
    taiwan = page.locator('section[data-facet=country] a:text-is("Taiwan")')
    assert taiwan.get_attribute("title") == "country:TW"
    # "exclude" beside a value: -country:TW, shown as a chip that takes it back
    page.locator('section[data-facet=country] li:has(a:text-is("Taiwan")) a.exclude').click()
    page.wait_for_url("**exclude=country%3ATW**")
    without = int(page.locator(".summary strong").first.inner_text().replace(",", ""))
    assert 0 < without < total
    chip = page.locator(".chip.not", has_text="not country: Taiwan")
    assert chip.count() == 1
    chip.click()
    page.wait_for_url("**/search?q=sister")

    taiwan.click()
    page.wait_for_url("**country=TW**")
    narrowed = int(page.locator(".summary strong").first.inner_text().replace(",", ""))
    assert 0 < narrowed < total
    assert page.locator(".chip", has_text="country: Taiwan").count() == 1
    assert page.locator("section[data-facet=country] li.on").count() == 1

    page.locator(".hit h2 a").first.click()
    page.wait_for_url("**/articles/**")
    assert page.locator("article.story h1").inner_text()
    assert page.locator("text=Other copies of this story").count() == 1


def test_hostile_headline_is_text_and_no_script_runs(page: Any, live_server: LiveServer) -> None:
    page.goto("/search?q=mayor")
    link = page.locator(".hit h2 a", has_text="window.__pwned")
    assert link.count() == 1
    assert link.inner_text() == XSS_TITLE  # shown exactly as written
    page.goto(f"/articles/{live_server.archive.xss_id}")
    assert page.locator("article.story h1").inner_text() == XSS_TITLE
    assert "onerror=" in page.locator(".story .text").inner_text()
    assert page.locator(".story img").count() == 0
    assert page.evaluate("window.__pwned === undefined")
    assert page.seen_dialogs == []


def test_backtest_a_draft_watchlist_and_explain(page: Any, live_server: LiveServer) -> None:
    page.goto("/watchlists")
    assert page.locator("section.watchlist").count() == 2
    page.fill("textarea[name=draft]", "mayor AND MOU")
    page.click(".draft button[type=submit]")
    page.wait_for_url("**draft=mayor**")
    summary = " ".join(page.locator(".backtest-result .bt-summary").inner_text().split())
    with Store(live_server.archive.loaded.store_path) as store:
        expected = backtest(store, "mayor AND MOU")
    assert expected.matches >= 1
    assert summary.startswith(f"{expected.matches} matching article")
    assert f"{expected.stories} alert" in summary
    page.locator(".backtest-result a", has_text="explain").first.click()
    page.wait_for_url("**/watchlists/explain**")
    assert page.locator("h2.yes").inner_text().startswith("Match: draft query")

    page.goto("/watchlists")
    page.fill("textarea[name=draft]", "mayor AND (")
    page.click(".draft button[type=submit]")
    assert "position 10" in page.locator(".error").inner_text()


def test_phone_width_is_readable(browser: Any, live_server: LiveServer) -> None:
    context = browser.new_context(
        base_url=live_server.base_url, viewport={"width": 390, "height": 844}
    )
    pg = context.new_page()
    pg.goto("/search?q=sister")
    # no horizontal scrolling of the page itself at phone width
    assert pg.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    context.close()


def test_attention_chart(page: Any, live_server: LiveServer, tmp_path: Path) -> None:
    """The chart page draws its SVG with no script, no console error (a CSP violation is one)
    and nothing loaded from beyond the server (the `page` fixture checks every request)."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on(
        "response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None
    )
    page.goto("/search?q=sister")
    page.click("text=chart this query")
    page.wait_for_url("**/chart?q=sister**")
    page.fill("input[name=q] >> nth=1", "mayor")
    page.fill("input[name=since]", "2024-01-01")  # the year most of the corpus is from
    page.fill("input[name=until]", "2024-12-31")
    page.select_option("select[name=interval]", "week")
    page.click(".chart-form button[type=submit]")
    page.wait_for_url("**interval=week**")
    svg = page.locator("svg.attention")
    assert svg.count() == 1 and svg.bounding_box()["width"] > 300
    assert page.locator("svg.attention path.series").count() == 2
    legend = page.locator("svg.attention .chart-key text")
    assert legend.evaluate_all("els => els.map(e => e.firstChild.nodeValue)") == ["sister", "mayor"]
    assert page.locator("svg.attention circle").count() == 2 * 53  # a marker a week a line
    shots = DOCS if os.environ.get("WATCHDESK_SCREENSHOT") else tmp_path
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / "chart.png"), full_page=False)
    assert (shots / "chart.png").stat().st_size > 10_000
    assert problems == []


def test_places_on_a_map(page: Any, live_server: LiveServer, tmp_path: Path) -> None:
    """The map page draws the states, provinces and pairs of a result set from the shipped base
    map: no console error, nothing loaded from beyond the server (no tile server)."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto("/search?q=sister+OR+mayor+OR+delegation")
    page.click(".views a:text-is('map')")
    page.wait_for_url("**/map?q=sister**")
    svg = page.locator("svg.places-map")
    assert svg.count() == 1 and svg.bounding_box()["width"] > 600
    assert page.locator("svg.places-map path.region").count() == 82
    assert page.locator("svg.places-map line.pair").count() >= 1
    pairs = page.locator("table.pairs tbody tr").all_inner_texts()
    assert any("Indiana" in row and "Hubei" in row for row in pairs), pairs
    shots = DOCS if os.environ.get("WATCHDESK_SCREENSHOT") else tmp_path
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / "map.png"), full_page=False)
    assert (shots / "map.png").stat().st_size > 10_000
    assert problems == []


def test_results_table_sorts_by_a_column(
    page: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    """The table view beside the cards: chosen columns, a header click sorts the whole result
    set by that column and a second click reverses it, with no script on the page."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto("/search?q=sister")
    page.click(".view a:text-is('table')")
    page.wait_for_url("**view=table**")
    headers = page.locator("table.results-table thead th").all_inner_texts()
    assert [h.strip() for h in headers] == [
        "date", "outlet", "title", "places", "kinds", "relevance", "copies"
    ]  # fmt: skip
    page.click("table.results-table th.col-title a")
    page.wait_for_url("**sort=title**")
    assert page.locator("th.col-title").get_attribute("aria-sort") == "ascending"
    titles = page.locator("table.results-table td.col-title").all_inner_texts()
    assert len(titles) > 5 and titles == sorted(
        titles, key=lambda t: " ".join(t.casefold().split())
    )
    page.click("table.results-table th.col-title a")
    page.wait_for_url("**order=desc**")
    assert page.locator("th.col-title").get_attribute("aria-sort") == "descending"
    reverse = page.locator("table.results-table td.col-title").all_inner_texts()
    assert reverse[0] != titles[0]
    shots = DOCS if os.environ.get("WATCHDESK_SCREENSHOT") else tmp_path
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / "table.png"), full_page=False)
    assert (shots / "table.png").stat().st_size > 10_000
    assert page.evaluate("document.scripts.length") == 0
    assert problems == []
