"""Search by story on the embedded archive: syndicated copies collapse under their story.

Issue 18's case: three copies of one story and one other story; by story the search shows two
hits, the story's with `+2 copies`; with copies it shows four; totals and facets count stories.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.article import Article, Entity
from crawler.search.embedded import EmbeddedArchive
from crawler.search.request import SearchRequest
from crawler.storage import Store
from tests.conftest import run_cli

HUBEI = Entity("geonames:1806949", "Hubei", "place", "CN", "Hubei", kind="province")
TAIPEI = Entity("geonames:1668341", "Taipei", "place", "TW", "Taipei", kind="city")


def article(n: int, title: str, text: str, cluster: str | None, day: int, **kw: object) -> Article:
    url = f"https://news{n}.example.org/story/{n}"
    return Article(
        url=url,
        canonical_url=url,
        source=f"outlet{n}",
        title=title,
        text=text,
        language="en",
        published=datetime(2026, 5, day, 12, tzinfo=UTC),
        cluster_id=cluster,
        **kw,  # type: ignore[arg-type]
    )


LEAD = article(
    1,
    "Indiana signs sister city pact with Wuhan",
    "Indiana and Hubei province signed a sister city agreement in Wuhan on Monday.",
    None,
    1,
    entities=[HUBEI],
    relevance=0.9,
)
COPIES = [
    article(
        n,
        "Indiana signs sister city pact with Wuhan",
        "Indiana and Hubei province signed a sister city agreement in Wuhan on Monday. "
        f"Reported by outlet {n}.",
        LEAD.id,
        day,
        entities=[HUBEI],
        relevance=0.9,
    )
    for n, day in ((2, 2), (3, 3))
]
OTHER = article(
    4,
    "Taipei delegation visits Ohio",
    "A Taipei delegation discussed a sister city agreement with Ohio officials.",
    None,
    4,
    entities=[TAIPEI],
    relevance=0.4,
)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedArchive]:
    store = Store(tmp_path_factory.mktemp("stories") / "watchdesk.db")
    for a in (LEAD, *COPIES, OTHER):
        assert store.save_article(a)
    archive = EmbeddedArchive(store)
    yield archive
    archive.close()


@pytest.mark.parametrize("sort", ["best", "text", "date"])
def test_by_story_shows_each_story_once_with_its_copies(
    archive: EmbeddedArchive, sort: str
) -> None:
    result = archive.search(
        SearchRequest(query='"sister city"', by_story=True, sort=sort, facets=True)  # type: ignore[arg-type]
    )
    assert result.total == 2 and result.articles == 4 and result.by_story
    assert len(result.hits) == 2
    by_story = {hit.story_id: hit for hit in result.hits}
    assert set(by_story) == {LEAD.id, OTHER.id}
    story = by_story[LEAD.id]
    assert story.copy_count == 2
    shown = {story.article.id, *(c.id for c in story.copies)}
    assert shown == {LEAD.id, *(c.id for c in COPIES)}
    assert story.article.id not in {c.id for c in story.copies}
    assert by_story[OTHER.id].copy_count == 0 and by_story[OTHER.id].copies == []
    # facets count stories: three Hubei articles are one story
    assert dict(result.facets["country"]) == {"CN": 1, "TW": 1}
    assert dict(result.facets["source"]) == {
        "outlet1": 1,
        "outlet2": 1,
        "outlet3": 1,
        "outlet4": 1,
    }
    data = story.to_dict()
    assert data["story_id"] == LEAD.id and data["copy_count"] == 2
    assert len(data["copies"]) == 2


def test_by_date_the_newest_copy_stands_for_the_story(archive: EmbeddedArchive) -> None:
    result = archive.search(SearchRequest(query='"sister city"', by_story=True, sort="date"))
    assert [h.article.id for h in result.hits] == [OTHER.id, COPIES[1].id]
    # the copies are listed oldest first
    assert [c.id for c in result.hits[1].copies] == [LEAD.id, COPIES[0].id]


def test_with_copies_every_article_is_a_hit(archive: EmbeddedArchive) -> None:
    result = archive.search(SearchRequest(query='"sister city"', facets=True))
    assert result.total == 4 and len(result.hits) == 4
    assert result.articles is None and not result.by_story
    assert all(h.copy_count == 0 for h in result.hits)
    assert dict(result.facets["country"]) == {"CN": 3, "TW": 1}


def test_pages_are_pages_of_stories(archive: EmbeddedArchive) -> None:
    first = archive.search(SearchRequest(query='"sister city"', by_story=True, limit=1))
    second = archive.search(SearchRequest(query='"sister city"', by_story=True, limit=1, offset=1))
    assert first.total == second.total == 2
    assert {first.hits[0].story_id, second.hits[0].story_id} == {LEAD.id, OTHER.id}


def test_everything_by_story(archive: EmbeddedArchive) -> None:
    result = archive.search(SearchRequest(by_story=True))
    assert (result.total, result.articles, len(result.hits)) == (2, 4, 2)


def test_inexact_queries_group_too(archive: EmbeddedArchive) -> None:
    # a proximity over three words is checked by the matcher (the index's inexact path)
    result = archive.search(
        SearchRequest(query='"sister city agreement"~2', by_story=True, facets=True)
    )
    assert (result.total, result.articles) == (2, 4)
    counts = {h.story_id: h.copy_count for h in result.hits}
    assert counts == {LEAD.id: 2, OTHER.id: 0}
    assert dict(result.facets["country"]) == {"CN": 1, "TW": 1}


def test_an_unclustered_article_is_its_own_story(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    store.save_article(OTHER)
    archive = EmbeddedArchive(store)
    try:
        hit = archive.search(SearchRequest(query="taipei", by_story=True)).hits[0]
        assert hit.story_id == OTHER.id and hit.copy_count == 0
    finally:
        archive.close()


def test_the_histogram_counts_stories_per_day(tmp_path: Path) -> None:
    # two copies of one story on 1 May beside the other story: 2 stories that day, 3 articles
    same_day = article(
        5,
        LEAD.title,
        LEAD.text + " Reported by outlet 5.",
        LEAD.id,
        1,
        entities=[HUBEI],
        relevance=0.9,
    )
    other = article(6, OTHER.title, OTHER.text, None, 1, entities=[TAIPEI], relevance=0.4)
    store = Store(tmp_path / "w.db")
    for a in (LEAD, same_day, other, COPIES[0]):
        store.save_article(a)
    archive = EmbeddedArchive(store)
    try:
        for query in ('"sister city"', '"sister city agreement"~2'):  # index and matcher paths
            stories = archive.search(SearchRequest(query=query, by_story=True, histogram=True))
            articles = archive.search(SearchRequest(query=query, histogram=True))
            assert stories.histogram == [("2026-05-01", 2), ("2026-05-02", 1)], query
            assert articles.histogram == [("2026-05-01", 3), ("2026-05-02", 1)], query
    finally:
        archive.close()


# -- the command -----------------------------------------------------------------------------


SOURCE_CELL = re.compile(r"│ outlet\d +│")


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("stories-cli")
    (root / "watchdesk.yaml").write_text(
        "store: {path: var/watchdesk.db}\nsources: []\nwatchlists: []\n", encoding="utf-8"
    )
    with Store(root / "var" / "watchdesk.db") as store:
        for a in (LEAD, *COPIES, OTHER):
            store.save_article(a)
    return root / "watchdesk.yaml"


def _search(config: Path, *args: str) -> str:
    proc = run_cli("--config", str(config), "search", '"sister city"', *args)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_cli_shows_two_stories_and_the_copies(config: Path) -> None:
    out = _search(config, "--facets")
    assert "+2 copies" in out
    assert "2 stories (4 articles), page 1 of 1" in out
    assert "facet counts are stories" in out
    assert len(SOURCE_CELL.findall(_search(config))) == 2  # a row per story


def test_cli_copies_lists_every_article(config: Path) -> None:
    out = _search(config, "--copies")
    assert "+2 copies" not in out and "4 articles, page 1 of 1" in out
    assert len(SOURCE_CELL.findall(out)) == 4


def test_cli_json_and_csv_carry_the_story_and_its_copies(config: Path) -> None:
    rows = [json.loads(line) for line in _search(config, "--json", "--facets").splitlines()]
    hits, summary = rows[:-1], rows[-1]
    assert {(h["story_id"], h["copy_count"]) for h in hits} == {(LEAD.id, 2), (OTHER.id, 0)}
    assert (summary["unit"], summary["total"], summary["articles"]) == ("stories", 2, 4)
    assert dict(summary["facets"]["country"]) == {"CN": 1, "TW": 1}
    table = list(csv.DictReader(io.StringIO(_search(config, "--csv"))))
    assert {(r["story_id"], r["copies"]) for r in table} == {(LEAD.id, "2"), (OTHER.id, "0")}
    every = list(csv.DictReader(io.StringIO(_search(config, "--csv", "--copies"))))
    assert len(every) == 4 and {r["story_id"] for r in every} == {LEAD.id, OTHER.id}
