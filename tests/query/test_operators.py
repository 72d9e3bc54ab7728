"""The operators of issue 16 on single articles: NEAR family, wildcards, fuzzy words, boosts,
`_exists_`, date math, escapes, and the refusals that end silent misreadings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crawler.article import Article
from crawler.query import MatchDocument, QueryError, evaluate, find_hits, parse_query
from crawler.query.parser import parse_query_with_warnings
from crawler.query.syntax import DateMath, Range, Text, time_span


def doc(text: str, title: str = "", **kw: object) -> MatchDocument:
    article = Article(url="https://example.org/a", canonical_url="https://example.org/a")
    article.title, article.text = title, text
    for key, value in kw.items():
        setattr(article, key, value)
    return MatchDocument.from_article(article)


def matches(query: str, text: str, **kw: object) -> bool:
    return evaluate(parse_query(query), doc(text, **kw))


# -- NEAR, ONEAR, W/n, PRE/n ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        # at the edges of n: n words between is in, n + 1 is out
        ("apple NEAR/2 watch", "apple one two watch", True),
        ("apple NEAR/2 watch", "apple one two three watch", False),
        ("apple NEAR/0 watch", "apple watch", True),
        ("apple NEAR/0 watch", "apple x watch", False),
        # either order for NEAR and W/n, only left-first for ONEAR and PRE/n
        ("apple NEAR/2 watch", "watch one two apple", True),
        ("apple W/2 watch", "watch one two apple", True),
        ("apple ONEAR/2 watch", "watch one two apple", False),
        ("apple PRE/2 watch", "watch apple", False),
        ("apple ONEAR/2 watch", "apple one watch", True),
        # bare NEAR/ONEAR: Meltwater's default of 4 words between
        ("apple NEAR watch", "apple 1 2 3 4 watch", True),
        ("apple NEAR watch", "apple 1 2 3 4 5 watch", False),
        ("apple ONEAR watch", "watch 1 apple", False),
        # phrases count as one unit; the words between are counted from the phrase's ends
        ('"sister city" NEAR/2 wuhan', "wuhan and its sister city", True),
        ('"sister city" NEAR/1 wuhan', "sister city pact with wuhan", False),
        ('"sister city" ONEAR/2 wuhan', "sister city pact with wuhan", True),
        ('"sister city" NEAR/3 wuhan', "sister pact city wuhan", False),
        # parenthesised OR-groups on both sides
        ("(shop OR shopping) NEAR/5 (center OR centre)", "a shopping mall centre", True),
        (
            "(shop OR shopping) NEAR/5 (center OR centre)",
            "shop far far far far far far centre",
            False,
        ),
        ("(shop OR shopping) NEAR/1 (center OR centre)", "center shop", True),
        # trailing wildcards inside NEAR
        ("deleg* NEAR/2 mayor*", "the mayors led delegations", True),
        # Chinese: one token per character, a word is a phrase of characters
        ("友好 NEAR/2 协议", "友好城市协议", True),
        ("友好 NEAR/1 协议", "友好城市协议", False),
        ("协议 ONEAR/3 友好", "友好城市协议", False),
        ("協議 NEAR/3 友好", "友好城市协议", True),  # traditional folded to simplified
        # each side needs its own word: one occurrence never counts for both
        ("city NEAR/3 (sister OR cities)", "city", False),
    ],
)
def test_near_family(query: str, text: str, expected: bool) -> None:
    assert matches(query, text) is expected


def test_near_in_one_field_only() -> None:
    assert not matches("apple NEAR/3 watch", "watch", title="apple")
    assert matches("title:(apple NEAR/3 watch)", "", title="apple and watch")


def test_near_highlights_both_sides() -> None:
    d = doc("far away apple and a watch, another watch much later")
    hits = find_hits(parse_query("apple NEAR/2 watch"), d)
    assert [d.text.original[h.start : h.end] for h in hits] == ["apple", "watch"]


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("apple NEAR/3", "needs a clause on both sides"),
        ("NEAR/3 watch", "needs a clause on both sides"),
        ("apple near/3 watch", "write NEAR/3"),
        ("apple Near watch", "write NEAR"),
        ("apple NEAR/3 watch NEAR/3 band", "chained proximity"),
        ("a OR b NEAR/3 c", "in parentheses"),
        ("city NEAR/3 city", "same word on both sides"),
        ("cit* NEAR/3 city", "same word on both sides"),
        ('apple NEAR/3 "watch band"~2', "works between words, phrases"),
        ("title:apple NEAR/3 watch", "must search the same field"),
        ("apple NEAR/101 watch", "at most 100 words"),
    ],
)
def test_near_refusals(query: str, reason: str) -> None:
    with pytest.raises(QueryError, match=reason):
        parse_query(query)


def test_w_and_pre_without_a_number_are_words() -> None:
    assert matches("vitamin w", "vitamin w is not a thing")
    assert matches("pre school", "pre school")


# -- proximity in quotes: documented difference from Lucene ----------------------------------


def test_quoted_proximity_ignores_order_unlike_lucene() -> None:
    # Lucene's sloppy phrase counts a reversal as 2 edits, so Elasticsearch needs "a b"~2 for
    # "b a"; watchdesk's "a b"~n is unordered (docs/queries.md, "Proximity"). For order, ONEAR.
    assert matches('"city sister"~0', "sister city")
    assert not matches("city ONEAR/0 sister", "sister city")


# -- mixed operators, NOT in OR, case of operators -------------------------------------------


@pytest.mark.parametrize(
    ("query", "position", "readings"),
    [
        ("this AND that OR thus", 0, ("(this AND that) OR thus", "+this that thus")),
        ("china OR taiwan AND trade", 9, ("china OR (taiwan AND trade)", "china +taiwan +trade")),
    ],
)
def test_mixed_and_or_shows_both_readings(
    query: str, position: int, readings: tuple[str, str]
) -> None:
    with pytest.raises(QueryError) as exc:
        parse_query(query)
    assert exc.value.position == position
    for reading in readings:
        assert reading in exc.value.message


@pytest.mark.parametrize("query", ["a OR NOT b", "NOT b OR a", "a OR b OR NOT c"])
def test_or_not_is_refused(query: str) -> None:
    with pytest.raises(QueryError, match="NOT inside OR is ambiguous"):
        parse_query(query)


def test_or_with_a_parenthesised_not_is_accepted() -> None:
    assert matches("a OR (NOT b)", "c")


@pytest.mark.parametrize("word", ["Not", "nOT", "Or", "And", "aNd", "near", "Near", "oNEAR"])
def test_operators_in_other_cases_are_refused(word: str) -> None:
    with pytest.raises(QueryError, match="would be searched as a word"):
        parse_query(f"china {word} taiwan")


def test_quoted_operator_words_are_words() -> None:
    assert matches('china "not" taiwan', "china is not taiwan")


def test_implicit_and_next_to_or_is_read_and_warned() -> None:
    tree, warnings = parse_query_with_warnings('"sister city" China OR Chinese')
    assert matches('"sister city" China OR Chinese', "a chinese sister city")
    assert not matches('"sister city" China OR Chinese', "a sister city")
    assert len(warnings) == 1
    assert '"sister city" AND (China OR Chinese)' in warnings[0].message


def test_punctuation_only_tokens_are_ignored_with_a_warning() -> None:
    tree, warnings = parse_query_with_warnings("sister , city")
    assert tree == parse_query("sister city")
    assert [w.position for w in warnings] == [7]
    with pytest.raises(QueryError, match="no letters or digits"):
        parse_query(", ;")


# -- escapes ---------------------------------------------------------------------------------


def test_an_escaped_character_is_that_character() -> None:
    assert parse_query(r"cit\*") == parse_query("cit")  # not a prefix: "*" is punctuation
    assert not matches(r"cit\*", "cities")
    assert not matches(r'"sister city\*"', "sister cities")
    assert matches(r"te\?t", "te?t")  # a literal ?, which splits the word like any punctuation
    assert isinstance(parse_query(r"te\?t"), Text)


# -- wildcards and fuzzy words -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("wom?n", "women and men", True),
        ("wom?n", "woman", True),
        ("wom?n", "wooman", False),
        ("organi*ation", "organisation", True),
        ("organi*ation", "organization", True),
        ("organi*ation", "organisations", False),
        ("beijng~1", "visit beijing", True),
        ("beijng~1", "bejing", True),
        ("biejing~1", "beijing", True),  # a transposition is one edit
        ("bjng~1", "beijing", False),
        ("bjing~2", "beijing", True),
        ("bejng~", "beijing", True),  # a bare ~ is 2 edits (Lucene's default)
        ("bjng~", "beijing", False),
        ("title:beijng~1", "beijing", False),
    ],
)
def test_wildcards_and_fuzzy(query: str, text: str, expected: bool) -> None:
    assert matches(query, text) is expected


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("*ing", "at least 2 letters before the first"),
        ("w?man", "at least 2 letters before the first"),
        ("ab?c?d?e?f?g", "at most 4 wildcard characters"),
        ("beijng~3", "at most 2 edits"),
        ("beijng~0.8", "whole number of edits"),
        ('"wom?n rights"', "wildcards work only as a trailing"),
        ("country:c?", "wildcards only work on text fields"),
        ("city^", "a boost needs a positive number"),
    ],
)
def test_pattern_refusals(query: str, reason: str) -> None:
    with pytest.raises(QueryError, match=reason):
        parse_query(query)


def test_boosts_never_change_matching() -> None:
    assert parse_query("quick^2 fox") == parse_query("quick fox")
    tree = parse_query("(quick OR fast)^3 fox^0.5")
    assert [leaf.boost for leaf in tree.children[0].children] == [3.0, 3.0]  # type: ignore[union-attr]
    assert tree.children[1].boost == 0.5  # type: ignore[union-attr]


# -- _exists_, field groups, one-sided ranges, date math ---------------------------------------


def test_exists() -> None:
    assert matches("_exists_:title", "", title="Headline")
    assert not matches("_exists_:title", "body")
    assert matches("_exists_:published", "x", published=datetime(2024, 1, 1, tzinfo=UTC))
    assert not matches("_exists_:published", "x")
    assert matches("NOT _exists_:language", "x")
    with pytest.raises(QueryError, match="_exists_ wants a field name"):
        parse_query("_exists_:colour")


def test_field_groups_and_one_sided_ranges() -> None:
    assert matches("title:(china OR taiwan)", "", title="Taiwan ties")
    assert not matches("title:(china OR taiwan)", "taiwan", title="ties")
    assert matches("relevance:>=0.5", "x", relevance=0.5)
    assert not matches("relevance:>0.5", "x", relevance=0.5)


NOW = datetime(2024, 5, 15, 10, 30, tzinfo=UTC)


def span(query: str) -> tuple[datetime | None, datetime | None, bool, bool]:
    tree = parse_query(query)
    assert isinstance(tree, Range)
    s = time_span(tree, NOW)
    return s.start, s.stop, s.start_open, s.stop_closed


def test_date_math_rounds_as_elasticsearch() -> None:
    day = datetime(2024, 5, 15, tzinfo=UTC)
    assert span("published:[now-7d TO now]") == (NOW - timedelta(days=7), NOW, False, True)
    # rounded: gte/lt round down, gt/lte round up (Elasticsearch's date math in ranges)
    assert span("published:[now/d TO now/d]") == (day, day + timedelta(days=1), False, False)
    assert span("published:{now/d TO now/d}") == (day + timedelta(days=1), day, False, False)
    assert span("published:>=now-1M/M")[0] == datetime(2024, 4, 1, tzinfo=UTC)
    assert span("published:<now/w")[1] == datetime(2024, 5, 13, tzinfo=UTC)  # a Monday
    at = datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert span('published:>"2024-05-01T12:00:00"') == (at, None, True, False)
    assert span("published:<=2024-05-01")[1] == datetime(2024, 5, 2, tzinfo=UTC)


def test_date_math_moves_with_the_clock() -> None:
    tree = parse_query("published:>=now-1d")
    assert isinstance(tree, Range) and isinstance(tree.low, DateMath)
    recent = datetime.now(UTC) - timedelta(hours=2)
    assert evaluate(tree, doc("x", published=recent))
    assert not evaluate(tree, doc("x", published=recent - timedelta(days=2)))


def test_fetched_is_a_date_field() -> None:
    assert matches(
        "fetched:[2024-01-01 TO 2024-01-31]", "x", fetched=datetime(2024, 1, 31, 23, tzinfo=UTC)
    )
    with pytest.raises(QueryError, match="date math works from now only"):
        parse_query("published:>2024-01-01||+1M")
