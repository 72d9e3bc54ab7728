"""Hypothesis strategies: random query text over the fixture corpus's vocabulary."""

from __future__ import annotations

from hypothesis import strategies as st

from tests.query.corpus import FACETS, PREFIXES, VOCAB

_words = st.sampled_from(VOCAB)


def _quote(value: str) -> str:
    return '"' + value.replace('"', '\\"') + '"'


def text_leaves() -> st.SearchStrategy[str]:
    word = _words
    phrase = st.lists(_words, min_size=2, max_size=3).map(lambda ws: _quote(" ".join(ws)))
    prefix = st.sampled_from(PREFIXES).map(lambda p: p + "*")
    prefix_phrase = st.tuples(_words, st.sampled_from(PREFIXES)).map(
        lambda t: _quote(f"{t[0]} {t[1]}*")
    )
    near = st.tuples(st.lists(_words, min_size=2, max_size=3, unique=True), st.integers(0, 6)).map(
        lambda t: f"{_quote(' '.join(t[0]))}~{t[1]}"
    )
    base = st.one_of(word, phrase, prefix, prefix_phrase, near)
    fielded = st.tuples(st.sampled_from(["title", "text"]), base).map(lambda t: f"{t[0]}:{t[1]}")
    return st.one_of(base, fielded)


def facet_leaves() -> st.SearchStrategy[str]:
    return st.sampled_from(sorted(FACETS)).flatmap(
        lambda f: st.sampled_from(FACETS[f]).map(lambda v: f"{f}:{_quote(v)}")
    )


def range_leaves() -> st.SearchStrategy[str]:
    number = st.sampled_from(["0", "0.1", "0.3", "0.5", "0.8", "0.9", "*"])
    day = st.sampled_from(["2023-12-01", "2024-01-01", "2024-05-01", "2024-05-02", "*"])
    brackets = st.tuples(st.sampled_from("[{"), st.sampled_from("]}"))

    def rng(field: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.tuples(brackets, values, values).map(
            lambda t: f"{field}:{t[0][0]}{t[1]} TO {t[2]}{t[0][1]}"
        )

    cmp_ = st.sampled_from([">", ">=", "<", "<="])
    return st.one_of(
        rng("relevance", number),
        rng("published", day),
        st.tuples(cmp_, number.filter(lambda v: v != "*")).map(lambda t: f"relevance:{t[0]}{t[1]}"),
        st.tuples(cmp_, day.filter(lambda v: v != "*")).map(lambda t: f"published:{t[0]}{t[1]}"),
    )


def queries(max_leaves: int = 6) -> st.SearchStrategy[str]:
    """Query text: leaves of every kind joined by AND, OR, NOT, -, implicit AND, parentheses."""
    leaf = st.one_of(text_leaves(), text_leaves(), facet_leaves(), range_leaves())

    def combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        pair = st.tuples(children, children)
        return st.one_of(
            pair.map(lambda t: f"({t[0]} AND {t[1]})"),
            pair.map(lambda t: f"({t[0]} OR {t[1]})"),
            pair.map(lambda t: f"({t[0]} {t[1]})"),
            pair.map(lambda t: f"{t[0]} -({t[1]})"),
            children.map(lambda c: f"NOT ({c})"),
        )

    return st.recursive(leaf, combine, max_leaves=max_leaves)


def new_operator_leaves() -> st.SearchStrategy[str]:
    """The operators of issue 16 and 17: NEAR family, wildcards, fuzzy, boosts, _exists_, case."""
    words = st.lists(_words, min_size=2, max_size=2, unique=True)
    near = st.tuples(words, st.sampled_from(["NEAR", "ONEAR", "W", "PRE"]), st.integers(0, 6)).map(
        lambda t: f"{t[0][0]} {t[1]}/{t[2]} {t[0][1]}"
    )
    group_near = st.tuples(
        st.lists(_words, min_size=4, max_size=4, unique=True), st.integers(0, 8)
    ).map(lambda t: f"({t[0][0]} OR {t[0][1]}) NEAR/{t[1]} ({t[0][2]} OR {t[0][3]})")
    phrase_near = st.tuples(
        st.lists(_words, min_size=3, max_size=3, unique=True), st.integers(0, 5), st.booleans()
    ).map(lambda t: f'"{t[0][0]} {t[0][1]}" {"ONEAR" if t[2] else "NEAR"}/{t[1]} {t[0][2]}')
    long_words = [w for w in VOCAB if len(w) >= 4 and w.isascii()]
    fuzzy = st.tuples(st.sampled_from(long_words), st.integers(1, 2)).map(
        lambda t: f"{t[0][:-1]}~{t[1]}"
    )
    wildcard = st.sampled_from(long_words).map(lambda w: f"{w[:2]}?{w[3:]}")
    inner = st.sampled_from(long_words).map(lambda w: f"{w[:2]}*{w[-1]}")
    boosted = _words.map(lambda w: f"{w}^2")
    exists = st.sampled_from(["title", "language", "entity", "published", "event"]).map(
        lambda f: f"_exists_:{f}"
    )
    cased = _words.map(lambda w: f"case:{w.capitalize()}")
    return st.one_of(near, group_near, phrase_near, fuzzy, wildcard, inner, boosted, exists, cased)


def extended_queries(max_leaves: int = 5) -> st.SearchStrategy[str]:
    """`queries` with the new operators among the leaves (for the embedded index's parity)."""
    leaf = st.one_of(text_leaves(), new_operator_leaves(), new_operator_leaves(), facet_leaves())

    def combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        pair = st.tuples(children, children)
        return st.one_of(
            pair.map(lambda t: f"({t[0]} AND {t[1]})"),
            pair.map(lambda t: f"({t[0]} OR {t[1]})"),
            children.map(lambda c: f"NOT ({c})"),
        )

    return st.recursive(leaf, combine, max_leaves=max_leaves)
