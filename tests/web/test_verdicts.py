"""The desk's verdicts on the web page: precision on the watchlists page and the labelled
backtest of a draft, over HTTP and in a real browser (Chromium, when installed)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from crawler.storage import Store
from tests.alerts.helpers import ingest, make_article
from tests.web.archive import build_archive
from tests.web.conftest import running
from watchdesk.web import create_app

RELEVANT = [f"Oxford signs sister city agreement {n}" for n in range(6)]
NOT_RELEVANT = [f"Sister city festival parade {n}" for n in range(3)] + ["Sister city essay"]
DRAFT = '"sister city" AND country:CN AND NOT festival'
SUMMARY = "Desk verdicts: drops 3 of 4 marked not relevant, keeps 6 of 6 marked relevant."


@pytest.fixture(scope="module")
def judged_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    archive = build_archive(tmp_path_factory.mktemp("verdicts"))
    with Store(archive.loaded.store_path) as store:
        for n, title in enumerate(RELEVANT + NOT_RELEVANT):
            article = make_article(100 + n, title)
            ingest(store, archive.loaded.watchlists, article)
            (alert,) = [
                a
                for a in store.list_alerts(limit=5)
                if a.article_id == article.id and a.watchlist == "sister-cities"
            ]
            assert alert.id is not None
            verdict = "relevant" if title in RELEVANT else "not_relevant"
            store.record_verdict(alert.id, "U0EDITOR1", verdict)  # type: ignore[arg-type]
    with running(create_app(archive.loaded)) as url:
        yield url


def test_the_watchlists_page_shows_precision(judged_server: str) -> None:
    html = httpx.get(f"{judged_server}/watchlists", timeout=30).text
    assert "precision 60%: 6 relevant of 10 judged" in html


def test_the_draft_backtest_reports_the_judged_alerts(judged_server: str) -> None:
    params = {"draft": DRAFT, "days": "30", "base": "sister-cities"}
    html = httpx.get(f"{judged_server}/watchlists", params=params, timeout=30).text
    assert SUMMARY in html
    assert html.count('<span class="tag">drops</span>') == 3
    assert "Sister city festival parade 2" in html


CHROMIUM = "/usr/bin/chromium"


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"needs Debian's Chromium at {CHROMIUM}")
def test_in_the_browser(judged_server: str, tmp_path: Path) -> None:
    sync_api: Any = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(base_url=judged_server)
        page.goto("/watchlists")
        assert "precision 60%" in page.locator("#wl-sister-cities .precision").inner_text()
        page.fill("textarea[name=draft]", DRAFT)
        page.select_option("select[name=base]", "sister-cities")
        page.click(".draft button[type=submit]")
        page.wait_for_url("**draft=**")
        labels = " ".join(page.locator(".bt-verdicts .bt-labels").inner_text().split())
        assert labels == SUMMARY
        assert page.locator(".bt-lost li").count() == 3
        browser.close()
