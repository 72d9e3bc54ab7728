"""compile_sqlite against a real SQLite database: it must select exactly what evaluate accepts."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC

import pytest
from hypothesis import HealthCheck, assume, given, settings

from crawler.article import Article
from crawler.query import (
    MatchDocument,
    QueryError,
    compile_sqlite,
    evaluate,
    parse_query,
    resolve_aliases,
)
from crawler.textnorm import fold, index_text
from tests.query.corpus import ARTICLES, resolve_alias
from tests.query.strategies import queries

# The schema of crawler/storage/store.py as agreed (only the columns queries read).
SCHEMA = """
CREATE TABLE articles (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE, source TEXT, language TEXT,
    published TEXT, relevance REAL, title TEXT, text TEXT, label TEXT NOT NULL DEFAULT ''
);
CREATE INDEX articles_published ON articles(published);
CREATE INDEX articles_source ON articles(source, published);
CREATE TABLE article_facets (
    field TEXT, value TEXT, seq INTEGER, PRIMARY KEY (field, value, seq)
) WITHOUT ROWID;
CREATE VIRTUAL TABLE articles_fts USING fts5(
    title, text, content='', tokenize='unicode61 remove_diacritics 2'
);
"""


def facets(article: Article) -> set[tuple[str, str]]:
    """The facet rows as the schema comment defines them (written independently of evaluate)."""
    out = {("country", c.upper()) for c in article.countries}
    out |= {("event", e) for e in article.events}
    for ent in article.entities:
        if ent.country:
            out.add(("country", ent.country.upper()))
        if ent.region:
            out.add(("region", fold(ent.region)))
        out |= {("entity", ent.id), ("entity", fold(ent.name))}
        if ent.type == "place":
            out |= {("place", ent.id), ("place", fold(ent.name))}
    return out


def build_db(articles: list[Article]) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.executescript(SCHEMA)
    for art in articles:
        published = None
        if art.published:
            published = art.published.astimezone(UTC).isoformat(timespec="seconds")
        cur = db.execute(
            "INSERT INTO articles (id, source, language, published, relevance, title, text, "
            "label) VALUES (?,?,?,?,?,?,?,?)",
            (
                art.id,
                art.source,
                art.language,
                published,
                art.relevance,
                art.title,
                art.text,
                art.label,
            ),
        )
        seq = cur.lastrowid
        db.executemany(
            "INSERT INTO article_facets (field, value, seq) VALUES (?,?,?)",
            [(f, v, seq) for f, v in facets(art)],
        )
        db.execute(
            "INSERT INTO articles_fts (rowid, title, text) VALUES (?,?,?)",
            (seq, index_text(art.title), index_text(art.text)),
        )
    return db


@pytest.fixture(scope="module")
def db() -> Iterator[sqlite3.Connection]:
    conn = build_db(ARTICLES)
    yield conn
    conn.close()


DOCS = [(a.id, MatchDocument.from_article(a)) for a in ARTICLES]
NUMBER = {a.id: i + 1 for i, a in enumerate(ARTICLES)}


def sql_numbers(db: sqlite3.Connection, text: str) -> set[int]:
    compiled = compile_sqlite(parse_query(text), aliases=resolve_alias)
    rows = db.execute(f"SELECT id FROM articles WHERE {compiled.where}", compiled.params)
    return {NUMBER[r[0]] for r in rows}


def eval_numbers(text: str) -> set[int]:
    query = resolve_aliases(parse_query(text), resolve_alias)
    return {NUMBER[i] for i, doc in DOCS if evaluate(query, doc)}


# Every operator and field; the expected sets of a few are pinned in test_evaluate.py.
# One list for every backend: the embedded index, SQLite/FTS5 here and Elasticsearch.
from tests.search.parity_queries import OPERATOR_QUERIES, PARITY_QUERIES  # noqa: E402


@pytest.mark.parametrize("text", PARITY_QUERIES)
def test_sqlite_selects_what_evaluate_accepts(db: sqlite3.Connection, text: str) -> None:
    assert sql_numbers(db, text) == eval_numbers(text)


@pytest.mark.parametrize("text", OPERATOR_QUERIES)
def test_sqlite_selects_a_superset_for_the_newer_operators(
    db: sqlite3.Connection, text: str
) -> None:
    # NEAR, wildcards, fuzzy, case:, date math: TRUE (FALSE under NOT) in SQL, so the backtest
    # preselection never loses a match (crawler/query/sqlite.py)
    assert sql_numbers(db, text) >= eval_numbers(text)


def test_label_selects_the_state_media_sources_only(db: sqlite3.Connection) -> None:
    state_media = {n for n, a in enumerate(ARTICLES, 1) if a.source in ("voa", "xinhua")}
    assert sql_numbers(db, "label:state_media") == state_media == eval_numbers("label:state_media")
    assert sql_numbers(db, "NOT label:state_media") == set(NUMBER.values()) - state_media


def test_parity_queries_are_not_trivial() -> None:
    # guard against a corpus where everything matches nothing (parity would be vacuous)
    sizes = [len(eval_numbers(q)) for q in PARITY_QUERIES]
    assert sum(1 for s in sizes if 0 < s < len(ARTICLES)) >= 0.9 * len(PARITY_QUERIES)


@given(queries())
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_random_queries_parity(db: sqlite3.Connection, text: str) -> None:
    try:
        parse_query(text)
    except QueryError:
        assume(False)
    assert sql_numbers(db, text) == eval_numbers(text), text


def test_rank_match_is_valid_fts5(db: sqlite3.Connection) -> None:
    for text in PARITY_QUERIES:
        compiled = compile_sqlite(parse_query(text), aliases=resolve_alias)
        if compiled.rank_match is None:
            continue
        rows = db.execute(
            "SELECT rowid, bm25(articles_fts, 3.0, 1.0) FROM articles_fts "
            "WHERE articles_fts MATCH ?",
            [compiled.rank_match],
        ).fetchall()
        assert all(score <= 0 for _, score in rows)


def test_rank_match_none_without_positive_text() -> None:
    assert compile_sqlite(parse_query("NOT city AND country:CN")).rank_match is None
    assert compile_sqlite(parse_query("city NOT china")).rank_match == '("city")'


def test_adjacent_text_clauses_merge_into_one_match() -> None:
    compiled = compile_sqlite(parse_query('"sister city" (china OR chinese) NOT taiwan country:CN'))
    assert compiled.where.count("MATCH ?") == 1
    assert compiled.params == [
        '(("sister city") AND (("china") OR ("chinese"))) NOT (("taiwan"))',
        "CN",
    ]


def test_negative_only_text_is_one_match() -> None:
    compiled = compile_sqlite(parse_query("NOT city AND NOT china"))
    assert compiled.where.count("MATCH ?") == 1
    assert compiled.params == ['("city") OR ("china")']


def test_fts_strings_are_quoted() -> None:
    # operators and column names as words stay words for FTS5
    compiled = compile_sqlite(parse_query('"and" "near" "title" "not"'))
    assert compiled.params == ['("and") AND ("near") AND ("title") AND ("not")']


def query_plan(db: sqlite3.Connection, where: str, params: list[object]) -> str:
    rows = db.execute(f"EXPLAIN QUERY PLAN SELECT id FROM articles WHERE {where}", params)
    return " | ".join(row[3] for row in rows)


def test_facet_filter_uses_primary_key(db: sqlite3.Connection) -> None:
    compiled = compile_sqlite(parse_query("country:TW AND event:sister_city"))
    plan = query_plan(db, compiled.where, compiled.params)
    assert "article_facets USING PRIMARY KEY (field=? AND value=?)" in plan, plan
    assert "SCAN article_facets" not in plan, plan


def test_published_range_uses_index(db: sqlite3.Connection) -> None:
    compiled = compile_sqlite(parse_query("published:[2024-01-01 TO 2024-01-31]"))
    plan = query_plan(db, compiled.where, compiled.params)
    assert "articles_published" in plan, plan


def test_null_columns_stay_false_under_not(db: sqlite3.Connection) -> None:
    # article 21 has no language, 15 no date: NOT x must include them, as evaluate does
    assert 21 in sql_numbers(db, "NOT language:en")
    assert 15 in sql_numbers(db, "NOT published:>=2000-01-01")
    assert sql_numbers(db, "NOT published:[* TO *]") == {15}


def test_aliases_are_resolved_at_compile_time() -> None:
    compiled = compile_sqlite(parse_query("entity:对外友协"), aliases=resolve_alias)
    assert compiled.params == ["对外友协", "org:cpaffc"]
    assert compile_sqlite(parse_query("entity:对外友协")).params == ["对外友协"]


def test_store_facets_agree_with_match_document() -> None:
    """crawler/storage/store.py writes the facets; MatchDocument must hold the same values."""
    from crawler.article import facets as store_facets

    for art in ARTICLES:
        doc = MatchDocument.from_article(art)
        held = (
            {("country", v) for v in doc.countries}
            | {("region", v) for v in doc.regions}
            | {("event", v) for v in doc.events}
            | {("entity", v) for v in doc.entities}
            | {("place", v) for v in doc.places}
        )
        assert store_facets(art) == held
        assert facets(art) == held
