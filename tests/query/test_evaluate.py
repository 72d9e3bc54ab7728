"""evaluate / explain / find_hits: the reference meaning of the query language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.article import Article, Entity
from crawler.query import (
    MatchDocument,
    evaluate,
    explain,
    find_hits,
    parse_query,
    resolve_aliases,
)
from crawler.query.evaluate import FieldText, phrase_spans
from crawler.query.syntax import TOKEN_RE, token_pattern
from tests.query.corpus import ARTICLES, resolve_alias

DOCS = [MatchDocument.from_article(a) for a in ARTICLES]


def numbers(text: str) -> set[int]:
    query = resolve_aliases(parse_query(text), resolve_alias)
    return {i + 1 for i, doc in enumerate(DOCS) if evaluate(query, doc)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # whole words: "city" is not in "ethnicity" (3, 31) nor in "cities"
        ("city", {1, 2, 4, 10, 12, 16, 17, 22, 25, 26, 28}),
        ("cit*", {1, 2, 3, 4, 10, 12, 13, 16, 17, 20, 22, 25, 26, 28, 31}),
        # punctuation between words does not break a phrase (as in FTS5 and Lucene)
        ('"sister city"', {1, 2, 12, 22, 25}),
        ("sister-city", {1, 2, 12, 22, 25}),
        ('"sister city"~3', {1, 2, 12, 22, 25, 26}),
        ('"city sister"~0', {1, 2, 12, 22, 25, 26}),
        ('title:"sister city"', {1, 2, 12, 22, 25}),
        # Chinese: no word boundaries, traditional folded to simplified (6 and 8 are traditional)
        ("友好城市", {5, 6}),
        ("孔子學院", {8}),
        ("代表团", {5, 6, 14}),
        ("Québec", {11}),
        ("quebec", {11}),
        ('"sao paulo"', {23}),
        ("u.s.", {24}),
        ("entity:cpaffc", {1, 5, 30}),
        ("entity:對外友協", {1, 5, 30}),
        ("entity:org:cpaffc", {1, 5, 30}),
        ('entity:"zhou zheng"', {13, 14}),
        ("place:canton", {10, 27}),
        ("place:武漢", {6}),
        ("region:hubei", {1, 5, 6, 22}),
        ("country:TW", {12}),
        ("event:termination AND event:education", {7, 8}),
        ("language:zh", {5, 6, 8, 14, 18, 30}),
        ("source:voa AND relevance:>=0.8", {2, 7}),
        # the sources' labels (corpus.LABELS): VOA and Xinhua are state media, the blog has none
        ("label:state_media", {2, 3, 5, 7, 14, 17, 20, 29, 30}),
        ("label:State_Media AND language:zh", {5, 14, 30}),
        ("label:wire OR label:official", {23, 27}),
        ("NOT _exists_:label", {25, 26}),
        ("published:[2024-01-01 TO 2024-01-31]", {4, 19, 31}),
        ("published:2024-05-01", {1, 21}),
        ("published:>2024-11-11", {29}),
        ("NOT published:[* TO *]", {15}),
        ("relevance:{0.9 TO *]", {1, 5}),
    ],
)
def test_meaning(text: str, expected: set[int]) -> None:
    assert numbers(text) == expected


def test_not_and_minus_agree() -> None:
    assert numbers("city -sister") == numbers("city AND NOT sister") == {4, 10, 16, 17, 28}


def test_an_article_without_a_label_matches_no_label() -> None:
    assert not numbers("label:state_media") & {25, 26}
    assert {25, 26} <= numbers("NOT label:state_media")


def test_missing_language_counts_as_not_matching() -> None:
    assert 21 in numbers("NOT language:en")
    assert 21 not in numbers("language:en")


def test_published_uses_the_utc_day() -> None:
    beijing = timezone(timedelta(hours=8))
    art = Article(url="u", canonical_url="u", published=datetime(2024, 5, 2, 7, 0, tzinfo=beijing))
    doc = MatchDocument.from_article(art)
    assert evaluate(parse_query("published:2024-05-01"), doc)  # 23:00 UTC on 1 May
    naive = Article(url="u", canonical_url="u", published=datetime(2024, 5, 2, 0, 30))
    assert evaluate(parse_query("published:2024-05-02"), MatchDocument.from_article(naive))


def test_relevance_bounds() -> None:
    doc = MatchDocument.from_article(Article(url="u", canonical_url="u", relevance=0.5))
    assert evaluate(parse_query("relevance:>=0.5"), doc)
    assert not evaluate(parse_query("relevance:>0.5"), doc)
    assert evaluate(parse_query("relevance:[0.5 TO 0.5]"), doc)
    assert not evaluate(parse_query("relevance:{0.5 TO 1]"), doc)


def test_prefix_phrase_and_near_prefix() -> None:
    doc = MatchDocument.from_article(
        Article(url="u", canonical_url="u", text="Sister cities and a citizens' sister group")
    )
    assert evaluate(parse_query('"sister cit*"'), doc)
    assert not evaluate(parse_query('"sister citizens"'), doc)
    assert evaluate(parse_query('"group citi*"~1'), doc)
    assert not evaluate(parse_query('"group cities"~1'), doc)


def test_hits_point_into_the_original_text() -> None:
    doc = DOCS[5]  # traditional Chinese
    hits = find_hits(parse_query("友好城市"), doc)
    assert [(h.field, doc.text.original[h.start : h.end]) for h in hits] == [("text", "友好城市")]
    doc = DOCS[15]
    hits = find_hits(parse_query("cit*"), doc)
    words = [doc.field_text(h.field).original[h.start : h.end] for h in hits]
    assert words == ["Citizens", "city", "Citizens", "city", "citation", "cited"]
    assert {h.term for h in hits} == {"cit*"}


def test_hits_of_a_phrase_span_the_whole_phrase() -> None:
    doc = DOCS[1]
    hits = find_hits(parse_query("sister-city"), doc)
    assert [(h.field, doc.field_text(h.field).original[h.start : h.end]) for h in hits] == [
        ("title", "sister-city"),
        ("text", "sister-city"),
    ]


def test_hits_leave_out_negated_and_false_branches() -> None:
    doc = DOCS[0]
    query = parse_query('(wuhan AND nosuchword) OR "sister city" NOT taiwan')
    assert {h.term for h in find_hits(query, doc)} == {'"sister city"'}
    assert find_hits(parse_query("city AND country:TW"), doc) == []


def test_hits_of_proximity_are_the_words_in_the_window() -> None:
    doc = DOCS[25]  # "A city sister arrangement is sister in name only."
    hits = find_hits(parse_query('"sister city"~0'), doc)
    assert [doc.field_text(h.field).original[h.start : h.end] for h in hits] == [
        "City",
        "sister",
        "city",
        "sister",
    ]


def test_explain_says_which_clause_failed() -> None:
    doc = DOCS[21]  # suspended sister city in Hubei
    text = str(explain(parse_query('"sister city" AND country:CN AND NOT event:termination'), doc))
    assert text.splitlines() == [
        "✗ AND (all of) — 1 of 3 clauses false",
        "  ✓ \"sister city\" — found at title[32:43] 'sister city', text[72:83] 'sister city'",
        "  ✓ country:CN — article country: CN, US",
        "  ✗ NOT",
        "    ✓ event:termination — article event: sister_city, termination",
    ]


def test_explain_of_field_and_range_clauses() -> None:
    doc = DOCS[14]  # no published date
    text = str(explain(parse_query("title:kong OR published:>=2024-01-01"), doc))
    assert "✓ OR (any of)" in text
    assert "kong (in title only) — found at title[" in text
    assert "✗ published:>=2024-01-01 — article published: none" in text


def test_explain_resolves_aliases() -> None:
    exp = explain(parse_query("entity:对外友协"), DOCS[0], aliases=resolve_alias)
    assert exp.value


def test_entity_names_without_ids() -> None:
    art = Article(
        url="u",
        canonical_url="u",
        entities=[Entity("org:x", "Zürich Chamber of Commerce", "org", "CH")],
    )
    doc = MatchDocument.from_article(art)
    assert evaluate(parse_query('entity:"zurich chamber of commerce"'), doc)
    assert evaluate(parse_query("country:ch"), doc)
    assert not evaluate(parse_query("place:org:x"), doc)


def test_empty_article() -> None:
    doc = MatchDocument.from_article(Article(url="u", canonical_url="u"))
    assert not evaluate(parse_query("city"), doc)
    assert evaluate(parse_query("NOT city"), doc)
    assert not evaluate(parse_query("country:CN"), doc)


def test_match_document_sets() -> None:
    doc = DOCS[0]
    assert doc.countries == {"US", "CN"}
    assert doc.regions == {"indiana", "hubei"}
    assert "org:cpaffc" in doc.entities and "wuhan" in doc.places
    assert "eric holcomb" in doc.entities and "eric holcomb" not in doc.places
    assert doc.published == datetime(2024, 5, 1, 12, tzinfo=UTC)


_PIECES = [
    "sister",
    "city",
    "cities",
    "cit",
    "a",
    "友",
    "好",
    "城",
    "中国",
    "_",
    "-",
    " ",
    ", ",
    "é",
    "Sister",
    "\n",
    "ethnicity",
    "x1",
    "城市",
]


@given(
    st.lists(st.sampled_from(_PIECES), max_size=25).map("".join),
    st.lists(
        st.sampled_from(["sister", "city", "cit", "a", "友", "好", "城", "x1"]),
        min_size=1,
        max_size=3,
    ),
    st.booleans(),
)
@settings(max_examples=300, deadline=None)
def test_phrase_spans_follow_the_tokens(text: str, words: list[str], prefix: bool) -> None:
    """The fast scanner and the substring test agree with a plain token-by-token oracle."""
    tokens = tuple(words)
    ft = FieldText(text)
    spans = [m.span() for m in TOKEN_RE.finditer(ft.folded)]
    expected = []
    n = len(tokens)
    for p in range(len(ft.tokens) - n + 1):
        window = ft.tokens[p : p + n]
        head_ok = all(window[i] == tokens[i] for i in range(n - 1))
        last_ok = window[-1].startswith(tokens[-1]) if prefix else window[-1] == tokens[-1]
        if head_ok and last_ok:
            expected.append((spans[p][0], spans[p + n - 1][1]))
    assert phrase_spans(ft.folded, tokens, prefix) == expected
    assert (token_pattern(tokens, prefix) in ft.joined) == bool(expected)


@given(
    st.lists(st.sampled_from(_PIECES), max_size=25).map("".join),
    st.sampled_from(["sister", "city", "cit", "a", "友", "城", "x1", "s"]),
    st.booleans(),
)
@settings(max_examples=200, deadline=None)
def test_positions_follow_the_tokens(text: str, token: str, prefix: bool) -> None:
    ft = FieldText(text)
    expected = [
        i for i, t in enumerate(ft.tokens) if (t.startswith(token) if prefix else t == token)
    ]
    assert ft.positions(token, prefix) == expected


@pytest.mark.parametrize("comments", [None, "", "Comment: 友好城市"])
def test_match_text_from_the_language_step_is_reused_exactly(comments: str | None) -> None:
    from crawler.textnorm import fold

    for art in ARTICLES:
        plain = MatchDocument.from_article(art)
        tail = "" if comments is None else "\n" + comments
        art.match_text = fold(art.title + "\n" + art.text + tail)
        try:
            reused = MatchDocument.from_article(art)
        finally:
            art.match_text = ""
        assert reused.title.folded == plain.title.folded
        assert reused.text.folded == plain.text.folded
    # a match_text that does not fit the fields is ignored, not cut wrongly
    art = Article(url="u", canonical_url="u", title="City", text="Text", match_text="other")
    assert MatchDocument.from_article(art).title.folded == "city"
