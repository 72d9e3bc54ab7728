"""Attention over time on the embedded archive: distinct stories per day and per week, on the
one date basis (published, or fetched when undated), over a real store and its index."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from crawler.query import QueryError
from crawler.search.attention import (
    MAX_QUERIES,
    StoryCounts,
    attention,
    bucket_of,
    buckets,
    series_rows,
)
from crawler.search.embedded import EmbeddedArchive
from crawler.search.request import Archive, SearchRequest
from crawler.storage import Store
from tests.search.attention_corpus import FIRST, LAST, build_store, expected

SISTER = '"sister city"'
TRADE = '"trade mission"'


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedArchive]:
    folder = tmp_path_factory.mktemp("attention")
    build_store(folder)
    arch = EmbeddedArchive(Store(folder / "store.db"))
    yield arch
    arch.close()


def test_the_embedded_archive_counts_stories(archive: EmbeddedArchive) -> None:
    assert isinstance(archive, Archive)


def test_stories_per_day_not_copies(archive: EmbeddedArchive) -> None:
    got = archive.story_counts(StoryCounts(SearchRequest(query=SISTER), FIRST, LAST, "day"))
    want = expected("sister city", "day")
    assert got == want
    # the figures that make it a test of stories: copies would give 3 on day 2, and the
    # late copy makes the day after day 10 count two stories
    assert got[LAST - timedelta(days=2)] == 1
    assert got[LAST - timedelta(days=9)] == 2
    assert got[LAST] == 2  # day 0: its story and the one-article note


def test_stories_per_week(archive: EmbeddedArchive) -> None:
    got = archive.story_counts(StoryCounts(SearchRequest(query=SISTER), FIRST, LAST, "week"))
    assert got == expected("sister city", "week")
    assert all(day.weekday() == 0 for day in got)  # buckets are named by their Monday


def test_the_window_bounds_the_count(archive: EmbeddedArchive) -> None:
    first, last = LAST - timedelta(days=6), LAST - timedelta(days=2)
    got = archive.story_counts(StoryCounts(SearchRequest(query=TRADE), first, last, "day"))
    want = {d: n for d, n in expected("trade mission", "day").items() if first <= d <= last}
    assert got == want and len(got) == 3  # days 2, 4, 6


def test_the_search_requests_filters_apply(archive: EmbeddedArchive) -> None:
    # only the wire carries copies of every third story (and day 10's late one)
    request = SearchRequest(query=SISTER, sources=["wire"])
    got = archive.story_counts(StoryCounts(request, FIRST, LAST, "day"))
    assert sum(got.values()) == len([i for i in range(60) if i % 3 == 2]) + 1


def test_attention_fills_every_bucket_for_each_query(archive: EmbeddedArchive) -> None:
    series = attention(archive, [SISTER, TRADE], first=FIRST, last=LAST, interval="day")
    assert [s.label for s in series] == [SISTER, TRADE]
    days = [FIRST + timedelta(days=i) for i in range(60)]
    for s, key in zip(series, ("sister city", "trade mission"), strict=True):
        assert [d for d, _ in s.points] == days
        want = expected(key, "day")
        assert s.points == [(d, want.get(d, 0)) for d in days]
    assert series[1].points[-2][1] == 0  # odd days: no trade mission, a zero, not a gap
    rows = series_rows(series, "day")
    assert rows[0] == ["day", SISTER, TRADE]
    assert len(rows) == 1 + 60 and rows[-1][0] == LAST.isoformat()


def test_weeks_start_on_monday() -> None:
    assert bucket_of(date(2026, 4, 2), "week") == date(2026, 3, 30)  # a Thursday
    assert buckets(date(2026, 4, 2), date(2026, 4, 14), "week") == [
        date(2026, 3, 30),
        date(2026, 4, 6),
        date(2026, 4, 13),
    ]


def test_bad_requests(archive: EmbeddedArchive) -> None:
    with pytest.raises(ValueError, match="at most 5 queries"):
        attention(archive, ["a"] * (MAX_QUERIES + 1), first=FIRST, last=LAST)
    with pytest.raises(ValueError, match="interval must be one of day, week"):
        StoryCounts(SearchRequest(query="a"), FIRST, LAST, "month")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ends"):
        StoryCounts(SearchRequest(query="a"), LAST, FIRST)
    with pytest.raises(QueryError):
        attention(archive, ["sister AND ("], first=FIRST, last=LAST)


def test_an_inexact_query_is_confirmed_by_the_matcher(archive: EmbeddedArchive) -> None:
    # a proximity over three words: the index only narrows it, the matcher decides
    query = '"sister delegation mayor"~6'
    got = archive.story_counts(StoryCounts(SearchRequest(query=query), FIRST, LAST, "day"))
    assert sum(got.values()) == 60 + 1  # every day's story, and day 10's late copy


def test_the_store_is_the_truth_for_counts(tmp_path: Path) -> None:
    """A story found by two queries counts once in each, not once in all."""
    build_store(tmp_path)
    with Store(tmp_path / "store.db") as store:
        arch = EmbeddedArchive(store)
        both = attention(arch, [f"{SISTER} OR {TRADE}"], first=LAST, last=LAST)[0]
        assert both.points == [(LAST, 3)]  # day 0: its story, the note, a trade mission
        arch.index.close()
