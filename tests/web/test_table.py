"""The results table (issue 18): chosen columns, each sortable over the whole result set
(not just the page shown), the cards | table toggle, and the fuller CSV, on the embedded
archive through the real web app."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from crawler.article import Article
from crawler.storage import Store
from tests.web.archive import FixtureArchive
from tests.web.conftest import running
from watchdesk.service.config import load_config
from watchdesk.web import create_app
from watchdesk.web.state import PAGE_SIZE

DAY = datetime(2024, 3, 1, tzinfo=UTC)
# 26 articles, one title per letter, in a scrambled order of dates and relevance: more than
# one page, so a sort that only ordered the page shown would show the same first page twice
LETTERS = "QWERTYUIOPASDFGHJKLZXCVBNM"


def _article(i: int, letter: str) -> Article:
    return Article(
        url=f"https://ex{i % 3}.example/budget/{i}?utm_source=rss",
        canonical_url=f"https://ex{i % 3}.example/budget/{i}",
        source=f"feed{i % 3}",
        title=f"{letter} council budget {i}",
        text=f"The council adopted its budget, item {i}.",
        language="en",
        relevance=round((i * 7 % 26) / 26, 3),
        published=DAY + timedelta(days=i),
        events=["agreement"] if i % 2 else [],
    )


@pytest.fixture(scope="module")
def table_http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    root: Path = tmp_path_factory.mktemp("table")
    (root / "watchdesk.yaml").write_text(
        "store: {path: store.db}\nsources: []\nwatchlists: []\n", encoding="utf-8"
    )
    loaded = load_config(root / "watchdesk.yaml")
    with Store(loaded.store_path) as store:
        for i, letter in enumerate(LETTERS):
            store.save_article(_article(i, letter))
        # one story, two copies: "Able" and "Zulu" (which copy stands for it depends on the sort)
        for title, n in (("Able council budget copy", 100), ("Zulu council budget copy", 101)):
            copy = _article(n, "x")
            copy.title, copy.cluster_id = title, "story-budget"
            copy.text = '=HYPERLINK("http://evil.example","budget")'
            store.save_article(copy)
    with running(create_app(loaded)) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def _titles(page: str) -> list[str]:
    """The title cells of the table, as read (highlight marks dropped)."""
    body = page[page.index("<tbody>") : page.index("</tbody>")]
    cells = re.findall(r'<td class="col-title"><a [^>]*>(.*?)</a></td>', body)
    return [re.sub(r"</?mark>", "", cell) for cell in cells]


def test_the_table_shows_only_the_chosen_columns(
    http: httpx.Client, archive: FixtureArchive
) -> None:
    page = http.get(
        "/search", params={"q": "sister city", "view": "table", "columns": "title,kinds,date"}
    ).text
    head = page[page.index("<thead>") : page.index("</thead>")]
    assert [h.split('"', 1)[0] for h in head.split('class="col-')[1:]] == [
        "date",
        "title",
        "kinds",
    ]
    assert 'class="hit"' not in page  # no cards beside the table
    # crawled markup stays text in a cell; kinds use the event labels of the cards
    assert "&lt;script&gt;window.__pwned" in page and "<script>window" not in page
    assert '<span class="tag tag-sister_city">sister city</span>' in page
    # the other view keeps every other parameter
    assert 'view: <a href="/search?q=sister+city&amp;columns=date%2Ctitle%2Ckinds">cards' in page
    assert 'name="view" value="table"' in page  # a new query stays in the table


def test_an_unknown_column_is_ignored_with_a_message(http: httpx.Client) -> None:
    page = http.get("/search", params={"q": "city", "view": "table", "columns": "title,nope"})
    assert page.status_code == 200
    assert "Ignored columns: no column nope" in page.text
    assert page.text.count('<th scope="col"') == 1


def test_title_sort_orders_the_whole_set_both_ways(table_http: httpx.Client) -> None:
    params = {"q": "budget", "view": "table", "columns": "title,outlet,relevance,copies"}
    up = table_http.get("/search", params={**params, "sort": "title"}).text
    down = table_http.get("/search", params={**params, "sort": "title", "order": "desc"}).text
    first_up, first_down = _titles(up), _titles(down)
    assert len(first_up) == len(first_down) == PAGE_SIZE
    # the story's copy under the sort stands for it: "Able" going up, "Zulu" going down
    assert first_up[:3] == [
        "A council budget 10",
        "Able council budget copy",
        "B council budget 23",
    ]
    assert first_down[:3] == [
        "Zulu council budget copy",
        "Z council budget 19",
        "Y council budget 5",
    ]
    assert first_up == sorted(first_up, key=str.casefold)
    # the second page goes on where the first stopped; descending is the whole set reversed
    # (but for the story, which its other copy stands for)
    rest = _titles(table_http.get("/search", params={**params, "sort": "title", "page": 2}).text)
    assert len(first_up) + len(rest) == 27  # 26 + one story
    every = first_up + rest
    assert every == sorted(every, key=str.casefold)
    assert first_down[1:] == every[::-1][: PAGE_SIZE - 1]
    # the active header says its direction and links to the reverse; copies show as +N
    head = up[up.index("<thead>") : up.index("</thead>")]
    assert 'class="col-title" aria-sort="ascending"' in head and "order=desc" in head
    assert head.count("aria-sort") == 1
    assert "title ▼" in down and 'aria-sort="descending"' in down
    assert '<td class="col-copies num">+1</td>' in up
    assert 'title="not sortable: copies are counted for the stories shown only"' in head


def test_relevance_and_date_sorts(table_http: httpx.Client) -> None:
    params = {"q": "budget", "view": "table", "columns": "date,relevance", "copies": "1"}
    page = table_http.get("/search", params={**params, "sort": "domain"}).text
    cells = page.split('<td class="col-relevance num">')[1:]
    shown = [float(c.split("<", 1)[0]) for c in cells]
    assert shown == sorted(shown, reverse=True) and shown[0] == pytest.approx(25 / 26, abs=0.01)
    assert "sorted by <strong>relevance</strong>, most relevant first" in page
    oldest = table_http.get("/search", params={**params, "sort": "date", "order": "asc"}).text
    assert oldest.index("2024-03-01") < oldest.index("2024-03-02")
    assert "oldest first" in oldest


def test_a_bad_order_is_ignored_with_a_message(table_http: httpx.Client) -> None:
    page = table_http.get("/search", params={"q": "budget", "sort": "title", "order": "up"})
    assert page.status_code == 200
    assert "Ignored sort: order must be one of asc, desc, not &#39;up&#39;" in page.text
    assert "sorted by <strong>title</strong>, A to Z" in page.text  # the sort itself kept


def test_csv_has_the_text_and_the_canonical_url_defused(table_http: httpx.Client) -> None:
    body = table_http.get("/search.csv", params={"q": "budget", "sort": "title"}).text
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 27 and rows[1]["title"] == "Able council budget copy"
    assert rows[1]["text"] == '\'=HYPERLINK("http://evil.example","budget")'
    assert rows[1]["canonical_url"] == "https://ex1.example/budget/100"
    assert rows[1]["url"] == "https://ex1.example/budget/100"  # utm_* stripped
    assert rows[1]["copies"] == "1"
    assert rows[0]["text"] == "The council adopted its budget, item 10."


def test_the_api_takes_the_column_sorts(table_http: httpx.Client) -> None:
    down = table_http.get("/api/search", params={"q": "budget", "sort": "-title", "limit": 3})
    assert [h["title"] for h in down.json()["hits"]][1:] == [
        "Z council budget 19",
        "Y council budget 5",
    ]
    bad = table_http.get("/api/search", params={"q": "budget", "sort": "best", "order": "asc"})
    assert bad.status_code == 400 and "no ascending order" in bad.json()["problems"][0]
