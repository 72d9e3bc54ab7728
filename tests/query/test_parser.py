"""parse_query: the trees it builds, its precedence rules, and errors that point at the problem."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from crawler.query import (
    EVENT_LABELS,
    And,
    Facet,
    Not,
    Or,
    QueryError,
    Range,
    Text,
    parse_query,
    positive_literals,
    to_query_text,
)
from tests.query.strategies import queries


def t(*tokens: str, **kw: object) -> Text:
    return Text(tuple(tokens), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("city", t("city")),
        ("City", t("city")),
        ('"Sister City"', t("sister", "city")),
        ("sister-city", t("sister", "city")),
        ("cit*", t("cit", prefix=True)),
        ('"sister cit*"', t("sister", "cit", prefix=True)),
        ('"sister city"~3', t("sister", "city", slop=3)),
        ('"city"~3', t("city")),
        ("title:city", t("city", fields=("title",))),
        ("text:(a OR b)", Or((t("a", fields=("text",)), t("b", fields=("text",))))),
        ("友好城市", t("友", "好", "城", "市")),
        ("友好城市", t("友", "好", "城", "市")),  # traditional folds to simplified
        ("Québec", t("quebec")),
        ("sister city", And((t("sister"), t("city")))),
        ("a OR b c", And((Or((t("a"), t("b"))), t("c")))),
        ("a b OR c", And((t("a"), Or((t("b"), t("c")))))),
        ("a OR b -c", And((Or((t("a"), t("b"))), Not(t("c"))))),
        ("a OR b NOT c", And((Or((t("a"), t("b"))), Not(t("c"))))),
        ("a OR b OR c -d", And((Or((t("a"), t("b"), t("c"))), Not(t("d"))))),
        ("+a +b", And((t("a"), t("b")))),
        ("-a", Not(t("a"))),
        ("NOT NOT a", Not(Not(t("a")))),
        ("(a AND b) AND c", And((t("a"), t("b"), t("c")))),
        ("country:cn", Facet("country", ("CN",))),
        ("language:ZH", Facet("language", ("zh",))),
        ("region:Québec", Facet("region", ("quebec",))),
        ("event:Sister_City", Facet("event", ("sister_city",))),
        ("source:VOA", Facet("source", ("VOA",))),
        ("entity:org:cpaffc", Facet("entity", ("org:cpaffc",))),
        ('entity:"org:cpaffc"', Facet("entity", ("org:cpaffc",))),
        ("entity:person\\:zhou-zheng", Facet("entity", ("person:zhou-zheng",))),
        ('entity:"Zhou Zheng"', Facet("entity", ("Zhou Zheng", "zhou zheng"))),
        ('place:"Hong Kong"', Facet("place", ("Hong Kong", "hong kong"))),
        ("country:(CN OR TW)", Or((Facet("country", ("CN",)), Facet("country", ("TW",))))),
        ("relevance:>=0.5", Range("relevance", 0.5, None)),
        ("relevance:>0.5", Range("relevance", 0.5, None, include_low=False)),
        ("relevance:<0.5", Range("relevance", None, 0.5, include_high=False)),
        ("relevance:{0.3 TO 1]", Range("relevance", 0.3, 1.0, include_low=False)),
        ("published:[2024-01-01 TO *]", Range("published", date(2024, 1, 1), None)),
        ("published:>=2024-01-01", Range("published", date(2024, 1, 1), None)),
        ("published:2024-05-01", Range("published", date(2024, 5, 1), date(2024, 5, 1))),
        ("Title:city", t("city", fields=("title",))),
    ],
)
def test_parse_builds_tree(text: str, tree: object) -> None:
    assert parse_query(text) == tree


@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [
        ("", 0, "empty query"),
        ("   ", 0, "empty query"),
        ('"sister city" AND titel:china', 18, "unknown field 'titel' (known fields: title, text"),
        ('"sister city', 0, "unclosed quote"),
        ('china "sister city', 6, "unclosed quote"),
        ("(a OR b", 0, "'(' is never closed"),
        ("a OR b)", 6, "')' without a matching '('"),
        ("a AND", 2, "'AND' needs a term after it"),
        ("AND a", 0, "'AND' needs a term on both sides"),
        ("a OR OR b", 5, "'OR' needs a term on both sides"),
        ("a NOT", 2, "'NOT' needs a term after it"),
        ("title:", 0, "field 'title' needs a value"),
        ("relevance:[1 TO 0.5]", 10, "empty range"),
        ("relevance:[0.3 TO", 15, "unfinished range"),
        ("relevance:[x TO 1]", 11, "relevance wants a number"),
        ("relevance:0.5", 10, "wants a comparison or a range"),
        ("published:>=2024-13-01", 12, "not a calendar date"),
        ("published:>=yesterday", 12, "published wants a date (YYYY-MM-DD)"),
        # issue 16: explicit AND and OR at one level are read differently by Lucene
        ("a AND b OR c", 0, "AND and OR mixed without parentheses"),
        ("published:[2024-01-01 TO 2023-01-01]", 10, "empty range"),
        ("event:visit", 6, "unknown event 'visit' (known events: sister_city"),
        ("country:China", 8, "two-letter ISO code"),
        ("title:(text:a)", 7, "field 'text' inside field 'title'"),
        # issue 16: boosts and fuzzy words are accepted; their malformed forms are not
        ("city^0", 0, "a boost needs a positive number"),
        ("city~3", 0, "at most 2 edits"),
        ("/cit.*/", 0, "regular expressions"),
        ("c?ty", 0, "a wildcard needs at least 2 letters"),
        ("*city", 0, "a wildcard needs at least 2 letters"),
        ('"cit* hall"', 0, "wildcards work only as a trailing *"),
        ("country:C*", 8, "wildcards only work on text fields"),
        ("a OR -b", 5, "'-' inside OR is ambiguous"),
        ("a OR +b", 5, "'+' inside OR is ambiguous"),
        ("a && b", 2, "not an operator here"),
        ("!a", 0, "not an operator here"),
        ("china or taiwan", 6, "'or' would be searched as a word"),
        ('"sister sister"~2', 0, "match the same word twice"),
        ('"city cit*"~2', 0, "match the same word twice"),
        ("...", 0, "no letters or digits"),
        ('""', 0, "no letters or digits"),
        ("a\\", 1, "backslash"),
        ('"a b"~1.5', 5, "whole number"),
        ("a" * 10_001, 10_000, "longer than"),
    ],
)
def test_errors_point_at_the_problem(text: str, position: int, reason: str) -> None:
    with pytest.raises(QueryError) as info:
        parse_query(text)
    assert info.value.position == position, str(info.value)
    assert reason in info.value.message
    assert str(info.value).startswith(f"position {position}: ")


def test_error_message_format() -> None:
    with pytest.raises(QueryError) as info:
        parse_query("china AND titel:x")
    assert str(info.value).startswith("position 10: unknown field 'titel' (known fields: title,")


def test_positive_literals_skip_negations() -> None:
    query = parse_query('("sister city" OR 友好城市 OR cit*) NOT taiwan country:CN')
    assert positive_literals(query) == ["sister city", "友好城市", "cit"]


@given(queries())
@settings(max_examples=150, deadline=None)
def test_canonical_text_round_trips(text: str) -> None:
    try:
        query = parse_query(text)
    except QueryError:
        assume(False)
    assert parse_query(to_query_text(query)) == query


_NOISE = st.lists(
    st.sampled_from(
        list('ab 中"()[]{}:*?~^\\/+-!&|<>=.0')
        + [" AND ", " OR ", "NOT ", " TO ", "title:", "relevance:", "published:", "entity:"]
        + ["country:", "1", "2024-01-01"]
    ),
    max_size=20,
).map("".join)


@given(_NOISE)
@settings(max_examples=500, deadline=None)
def test_any_text_parses_or_raises_query_error(text: str) -> None:
    try:
        parse_query(text)
    except QueryError as exc:
        assert 0 <= exc.position <= len(text)


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(QueryError, match="nests too deeply") as caught:
        parse_query("(" * 3000 + "a" + ")" * 3000)
    assert caught.value.position == 0


def test_event_labels_match_the_enrichment_step() -> None:
    from enrich import events

    assert set(events.LABELS) == set(EVENT_LABELS)
