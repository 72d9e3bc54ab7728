"""WatchlistMatcher: presearch + exact evaluation must equal naive evaluation of every watchlist."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.matcher import WatchlistMatcher, required_features, required_literals
from alerts.watchlist import Watchlist
from crawler.article import Article
from crawler.query import (
    MatchDocument,
    Query,
    QueryError,
    evaluate,
    find_hits,
    parse_query,
    resolve_aliases,
)
from crawler.records import MatchedTerm
from tests.query.corpus import ARTICLES, FACETS, PREFIXES, VOCAB, resolve_alias
from tests.query.strategies import queries


def naive(
    watchlists: list[Watchlist], queries: list[Query], article: Article
) -> list[tuple[str, list[MatchedTerm]]]:
    """Every watchlist evaluated in full: the reference the matcher must reproduce."""
    doc = MatchDocument.from_article(article, name_guard=True)  # as the live matcher
    out = []
    for wl, query in zip(watchlists, queries, strict=True):
        if wl.muted:
            continue
        if wl.languages and doc.language not in [x.lower() for x in wl.languages]:
            continue
        if wl.sources and doc.source not in wl.sources:
            continue
        if article.relevance < wl.min_relevance:
            continue
        if evaluate(query, doc):
            hits = sorted(
                set(find_hits(query, doc)), key=lambda h: (h.field != "title", h.start, h.end)
            )
            out.append((wl.name, [MatchedTerm(h.term, h.field, h.start, h.end) for h in hits]))
    return out


def assert_same_as_naive(watchlists: list[Watchlist]) -> int:
    matcher = WatchlistMatcher(watchlists, aliases=resolve_alias)
    parsed = [resolve_aliases(parse_query(wl.query), resolve_alias) for wl in watchlists]
    total = 0
    for article in ARTICLES:
        got = [(m.watchlist.name, m.terms) for m in matcher.match(article)]
        assert got == naive(watchlists, parsed, article), article.title
        total += len(got)
    return total


def random_query(rng: random.Random) -> str:
    """A watchlist-like query: phrases, prefixes, proximity, facets, booleans."""

    def leaf() -> str:
        kind = rng.random()
        if kind < 0.3:
            return rng.choice(VOCAB)
        if kind < 0.45:
            return '"' + " ".join(rng.sample(VOCAB, 2)) + '"'
        if kind < 0.55:
            return rng.choice(PREFIXES) + "*"
        if kind < 0.62:
            return '"' + " ".join(rng.sample(VOCAB, 2)) + f'"~{rng.randint(0, 5)}'
        if kind < 0.9:
            name = rng.choice(sorted(FACETS))
            return f'{name}:"{rng.choice(FACETS[name])}"'
        return rng.choice(["relevance:>=0.5", "published:>=2024-03-01", "relevance:<0.3"])

    def node(depth: int) -> str:
        if depth == 0 or rng.random() < 0.35:
            return leaf()
        op = rng.choice([" AND ", " OR ", " ", " AND NOT "])
        return f"({node(depth - 1)}{op}{node(depth - 1)})"

    return node(3)


def make_watchlists(n: int, seed: int) -> list[Watchlist]:
    rng = random.Random(seed)
    out: list[Watchlist] = []
    while len(out) < n:
        query = random_query(rng)
        try:
            parse_query(query)
        except QueryError:
            continue
        extra: dict[str, object] = {}
        roll = rng.random()
        if roll < 0.1:
            extra["languages"] = [rng.choice(["en", "ZH", "fr"])]
        elif roll < 0.2:
            extra["sources"] = [rng.choice(FACETS["source"])]
        elif roll < 0.3:
            extra["min_relevance"] = rng.choice([0.3, 0.6, 0.85])
        elif roll < 0.35:
            extra["muted"] = True
        out.append(Watchlist(name=f"wl-{len(out)}", query=query, **extra))  # type: ignore[arg-type]
    return out


def test_large_generated_set_equals_naive() -> None:
    watchlists = make_watchlists(600, seed=20240501)
    # the same query text twice shares one compiled entry: both must still be reported
    watchlists.append(Watchlist(name="dup-a", query='"sister city"'))
    watchlists.append(Watchlist(name="dup-b", query='"sister city"', languages=["en"]))
    matched = assert_same_as_naive(watchlists)
    assert matched > 500  # the comparison is not vacuous


@given(st.lists(queries(max_leaves=5), min_size=1, max_size=12))
@settings(max_examples=60, deadline=None)
def test_random_watchlists_equal_naive(texts: list[str]) -> None:
    watchlists = []
    for i, text in enumerate(texts):
        try:
            watchlists.append(Watchlist(name=f"w{i}", query=text))
        except ValueError:
            continue
    assert_same_as_naive(watchlists)


def test_presearch_prunes_candidates() -> None:
    watchlists = make_watchlists(600, seed=7)
    matcher = WatchlistMatcher(watchlists, aliases=resolve_alias)
    stats = matcher.stats
    assert stats["always_candidates"] < stats["queries"] * 0.4
    doc = MatchDocument.from_article(ARTICLES[22])  # unrelated São Paulo pact
    assert len(matcher.candidates(doc)) < stats["queries"] * 0.6


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"sister city" AND wuhan', {"wuhan"}),  # the rarer of two required clauses
        ("wuhan OR 武汉", {"wuhan", "武 汉"}),
        ("cit*", {"cit*"}),
        ('"sister cit*"', {"sister cit*"}),
        ('"sister wuhan"~3', {"wuhan"}),
        ("title:hubei", {"hubei"}),
        ("country:CN", None),
        ("NOT wuhan", None),
        ("wuhan OR (NOT hubei)", None),
        ("relevance:>0.5", None),
        ("hubei AND NOT wuhan AND relevance:>0.5", {"hubei"}),
    ],
)
def test_required_literals(text: str, expected: set[str] | None) -> None:
    assert required_literals(parse_query(text)) == expected


def test_required_features_include_facets() -> None:
    assert required_features(parse_query("country:TW")) == {"country=TW"}
    assert required_features(parse_query("wuhan OR country:TW")) == {" wuhan ", "country=TW"}
    # country:CN is broad: a rare word is the better key
    assert required_features(parse_query("country:CN AND hubei")) == {" hubei "}


def test_matched_terms_point_into_original_text() -> None:
    wl = Watchlist(name="friendship", query="友好城市 OR 姐妹城市")
    matcher = WatchlistMatcher([wl])
    article = ARTICLES[5]  # traditional characters
    (match,) = matcher.match(article)
    spans = [(t.field, getattr(article, t.field)[t.start : t.end]) for t in match.terms]
    assert spans == [("title", "姐妹城市"), ("text", "友好城市")]


def test_filters_apply() -> None:
    watchlists = [
        Watchlist(name="muted", query="wuhan", muted=True),
        Watchlist(name="zh-only", query="country:CN", languages=["ZH"]),
        Watchlist(name="voa-only", query="country:CN", sources=["voa"]),
        Watchlist(name="high", query="country:CN", min_relevance=0.9),
    ]
    matcher = WatchlistMatcher(watchlists)
    assert [m.watchlist.name for m in matcher.match(ARTICLES[0])] == ["high"]
    assert [m.watchlist.name for m in matcher.match(ARTICLES[4])] == ["zh-only", "high"]
    assert [m.watchlist.name for m in matcher.match(ARTICLES[1])] == ["voa-only"]


def test_aliases_resolve_in_watchlists() -> None:
    wl = Watchlist(name="cpaffc", query="entity:对外友协")
    assert [m.watchlist.name for m in WatchlistMatcher([wl], resolve_alias).match(ARTICLES[0])]
    assert WatchlistMatcher([wl]).match(ARTICLES[0]) == []


def test_explain_covers_filters_presearch_and_query() -> None:
    wl = Watchlist(
        name="hubei-ties",
        query='"sister city" AND region:hubei NOT event:termination',
        min_relevance=0.5,
        languages=["en"],
    )
    matcher = WatchlistMatcher([wl])
    text = str(matcher.explain(wl, ARTICLES[21]))
    assert text.splitlines() == [
        "watchlist 'hubei-ties': no match",
        "  ✓ not muted",
        "  ✓ language en in ['en']",
        "  ✓ relevance 0.90 >= 0.5",
        "  presearch: candidate: found region=hubei",
        "  query:",
        "    ✗ AND (all of) — 1 of 3 clauses false",
        "      ✓ \"sister city\" — found at title[32:43] 'sister city', text[72:83] 'sister city'",
        "      ✓ region:hubei — article region: hubei",
        "      ✗ NOT",
        "        ✓ event:termination — article event: sister_city, termination",
    ]
    skipped = str(matcher.explain("hubei-ties", ARTICLES[22]))
    assert "presearch: skipped: the article has no region=hubei; no 'sister city'" in skipped
    assert "✗ language pt in ['en']" in skipped
    with pytest.raises(KeyError):
        matcher.explain("nosuch", ARTICLES[0])


def test_explain_of_always_candidate_and_muted() -> None:
    wl = Watchlist(name="not-taiwan", query="NOT country:TW", muted=True)
    exp = WatchlistMatcher([wl]).explain(wl, ARTICLES[0])
    assert not exp.matched and exp.query is not None and exp.query.value
    assert "always a candidate" in exp.presearch
    assert str(exp).splitlines()[1] == "  ✗ muted"


def test_no_watchlists() -> None:
    assert WatchlistMatcher([]).match(ARTICLES[0]) == []


def test_facet_conjunctions_are_keyed_on_pairs() -> None:
    wl = Watchlist(name="ties", query="region:indiana AND region:hubei AND event:sister_city")
    matcher = WatchlistMatcher([wl])
    assert matcher.stats["key_pairs"] == 1 and matcher.stats["key_features"] == 0
    hubei_only = MatchDocument.from_article(ARTICLES[21])  # Hubei, no Indiana
    assert matcher.candidates(hubei_only) == []
    assert [m.watchlist.name for m in matcher.match(ARTICLES[0])] == ["ties"]
    assert [m.watchlist.name for m in matcher.match(ARTICLES[4])] == ["ties"]
