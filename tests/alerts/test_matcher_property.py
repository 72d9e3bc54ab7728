"""Property: the compiled matcher (Aho-Corasick presearch, shared query entries, filter
targets) answers exactly what the straightforward evaluator does, watchlist by watchlist,
for random watchlists (queries, filters, mutes, repeated queries) over the fixture corpus.

tests/alerts/test_matcher.py has the same check for random query texts alone; here hypothesis
also draws each watchlist's filters, and the reference is written out in full below rather
than shared with the matcher (no presence cache, no candidates, no shared entries).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.matcher import WatchlistMatcher
from alerts.watchlist import Watchlist
from crawler.article import Article
from crawler.query import MatchDocument, evaluate, find_hits, parse_query
from tests.query.corpus import ARTICLES, FACETS, resolve_alias
from tests.query.strategies import queries

filters = st.fixed_dictionaries(
    {},
    optional={
        "languages": st.lists(st.sampled_from(["en", "ZH", "fr", "pt"]), min_size=1, max_size=2),
        "sources": st.lists(st.sampled_from(FACETS["source"]), min_size=1, max_size=2),
        "min_relevance": st.sampled_from([0.0, 0.3, 0.5, 0.85, 1.0]),
        "muted": st.booleans(),
    },
)


def reference(watchlist: Watchlist, article: Article) -> list[tuple[str, int, int]] | None:
    """Straightforward: filters, then the whole query evaluated on a fresh document."""
    if watchlist.muted:
        return None
    doc = MatchDocument.from_article(article)
    if watchlist.languages and (article.language or "").lower() not in {
        x.lower() for x in watchlist.languages
    }:
        return None
    if watchlist.sources and article.source not in watchlist.sources:
        return None
    if (article.relevance or 0.0) < watchlist.min_relevance:
        return None
    query = parse_query(watchlist.query)
    if not evaluate(query, doc, aliases=resolve_alias):
        return None
    return sorted({(h.field, h.start, h.end) for h in find_hits(query, doc, aliases=resolve_alias)})


@st.composite
def watchlist_sets(draw: st.DrawFn) -> list[Watchlist]:
    texts = draw(st.lists(queries(max_leaves=5), min_size=1, max_size=8))
    out: list[Watchlist] = []
    for i, text in enumerate(texts):
        # sometimes reuse an earlier query: watchlists sharing one compiled entry
        reuse = draw(st.booleans())
        if out and reuse:
            text = out[draw(st.integers(0, len(out) - 1))].query
        try:
            out.append(Watchlist(name=f"w{i}", query=text, **draw(filters)))
        except ValueError:
            continue
    return out


@given(watchlist_sets())
@settings(max_examples=80, deadline=None)
def test_compiled_matcher_equals_straightforward_evaluation(watchlists: list[Watchlist]) -> None:
    matcher = WatchlistMatcher(watchlists, aliases=resolve_alias)
    for article in ARTICLES:
        got = {
            m.watchlist.name: sorted({(t.field, t.start, t.end) for t in m.terms})
            for m in matcher.match(article)
        }
        expected = {}
        for wl in watchlists:
            spans = reference(wl, article)
            if spans is not None:
                expected[wl.name] = spans
        assert got == expected, article.title
