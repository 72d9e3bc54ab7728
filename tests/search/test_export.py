"""The one CSV writer of both exports and the results table's columns
(`crawler.search.export`), the column sorts a request takes (`crawler.search.request`)."""

from __future__ import annotations

import pytest

from crawler.article import Article
from crawler.search.export import CSV_COLUMNS, csv_cell, csv_row, parse_columns
from crawler.search.request import Hit, SearchRequest, parse_sort, sort_key
from crawler.urls import without_tracking


def test_csv_cells_never_start_a_formula() -> None:
    hostile = ('=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "\n=1")
    for value in hostile:
        assert csv_cell(value).startswith("'")
    assert csv_cell("Mayor signs MOU") == "Mayor signs MOU"
    assert csv_cell(0.5) == "0.5"
    assert csv_cell(None) == ""
    assert csv_cell("\rone\r\ntwo") == "'\none\ntwo"  # never a bare \r to split a row


def test_a_row_carries_the_text_and_the_canonical_url_defused_and_untracked() -> None:
    article = Article(
        url="https://ex.example/a?id=7&utm_source=rss&fbclid=x",
        canonical_url="https://ex.example/a?id=7",
        source="feed",
        title="Ties renewed",
        text='=HYPERLINK("http://evil.example")\nsecond paragraph',
    )
    row = dict(zip(CSV_COLUMNS, csv_row(Hit(article, 1.0, "snip"), by_story=True), strict=True))
    assert row["text"] == '\'=HYPERLINK("http://evil.example")\nsecond paragraph'
    assert row["url"] == "https://ex.example/a?id=7"
    assert row["canonical_url"] == "https://ex.example/a?id=7"
    assert row["publisher"] == "feed" and row["copies"] == "0"


def test_without_tracking_changes_nothing_else() -> None:
    assert without_tracking("https://ex.example/a?b=2&a=1") == "https://ex.example/a?b=2&a=1"
    assert without_tracking("https://ex.example/a?utm_medium=x") == "https://ex.example/a"
    assert without_tracking("https://ex.example/a?a=1&UTM_X=2#p") == "https://ex.example/a?a=1#p"


def test_columns_are_read_in_the_tables_order_unknown_ones_named() -> None:
    assert parse_columns("title, date,BOGUS") == (["date", "title"], ["bogus"])
    assert parse_columns(["copies", "outlet"]) == (["outlet", "copies"], [])
    chosen, unknown = parse_columns("")
    assert len(chosen) == 7 and unknown == []


def test_sorts_and_their_directions() -> None:
    assert parse_sort("relevance") == ("best", None)  # the old name of the default ranking
    assert parse_sort("-title") == ("title", "desc")
    assert parse_sort("date", "asc") == ("date", "asc")
    assert SearchRequest(sort="title").descending is False
    assert SearchRequest(sort="domain").descending is True
    assert SearchRequest(sort="-outlet").order == "desc"
    assert SearchRequest(sort="date", order="asc").descending is False
    for bad in (("best", "asc"), ("text", "asc"), ("title", "up"), ("-title", "asc")):
        with pytest.raises(ValueError):
            parse_sort(*bad)
    with pytest.raises(ValueError):
        SearchRequest(sort="places")
    assert sort_key("  The   Mayor\tSIGNS ") == "the mayor signs"
