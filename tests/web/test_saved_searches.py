"""Saved searches on the web page: listed beside the search box and on the watchlists page,
each linking to its results (a live server on 127.0.0.1 over a real store)."""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from crawler.storage import Store
from tests.query.corpus import ARTICLES
from tests.web.conftest import running
from watchdesk.service.config import load_config
from watchdesk.web import create_app

CONFIG = """\
store: {path: store.db}
sources: []
watchlists:
  - {name: sister-cities, query: '"sister city"', channel: "#desk"}
  - name: wuhan-en
    query: 'wuhan OR 武汉'
    languages: [en]
    delivery: none
"""


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    root = tmp_path_factory.mktemp("saved-web")
    (root / "watchdesk.yaml").write_text(CONFIG, encoding="utf-8")
    loaded = load_config(root / "watchdesk.yaml")
    with Store(loaded.store_path) as store:
        for article in ARTICLES:
            store.save_article(article)
    with running(create_app(loaded)) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def test_the_search_page_lists_saved_searches_linking_to_their_results(
    http: httpx.Client,
) -> None:
    page = http.get("/search").text
    nav = page[page.index('<nav class="saved"') :]
    nav = nav[: nav.index("</nav>")]
    assert ">wuhan-en</a>" in nav and "sister-cities" not in nav  # watchlists are not listed
    href = html.unescape(nav.split('href="', 1)[1].split('"', 1)[0])
    assert href.startswith("/search?q=")
    results = http.get(href).text
    api = http.get("/api/search", params={"q": "wuhan OR 武汉", "language": "en"}).json()
    assert api["total"] >= 1
    assert f"<strong>{api['total']}</strong> stor" in results
    assert 'class="chip"' in results and "language: en" in results  # its filter, removable


def test_the_watchlists_page_marks_a_saved_search(http: httpx.Client) -> None:
    page = http.get("/watchlists").text
    section = page[page.index('id="wl-wuhan-en"') :]
    section = section[: section.index("</section>")]
    assert '<span class="tag">saved search</span>' in section
    assert "never alerts" in section and "open in search" in section
    views = {v["name"]: v for v in http.get("/api/watchlists").json()["watchlists"]}
    saved = views["wuhan-en"]
    assert saved["saved_search"] and saved["delivery"] == "none (saved search)"
    assert not views["sister-cities"]["saved_search"]
    assert views["wuhan-en"]["search_url"].startswith("/search?q=wuhan")


def test_no_saved_searches_no_list(tmp_path: Path) -> None:
    (tmp_path / "watchdesk.yaml").write_text(
        "store: {path: s.db}\nsources: []\nwatchlists: []\n", encoding="utf-8"
    )
    loaded = load_config(tmp_path / "watchdesk.yaml")
    Store(loaded.store_path).close()
    with running(create_app(loaded)) as url:
        assert 'class="saved"' not in httpx.get(url + "/search", timeout=30).text
