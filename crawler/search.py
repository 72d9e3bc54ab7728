"""Full-text search over the embedded store, in the watchdesk query language.

The query is compiled to SQL + FTS5 by `crawler.query.sqlite`; ranking is BM25 with the title
weighted above the text; snippets are cut from the original text around the first match, so
they show the article as written (not the folded index form).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from crawler.article import Article
from crawler.backend import FACET_FIELDS, Hit, SearchRequest, SearchResult
from crawler.query import compile_sqlite, parse_query, positive_literals
from crawler.store import Store, _row_to_article
from crawler.textnorm import at_word_boundary, fold

# BM25 column weights (title, text): a term in the headline says more about what the article
# is about than one in the body; 3:1 is the usual newsroom-search weighting (Elasticsearch
# multi_match "title^3").
TITLE_WEIGHT = 3.0
TEXT_WEIGHT = 1.0
SNIPPET_CHARS = 240


def make_snippet(text: str, terms: list[str], width: int = SNIPPET_CHARS) -> tuple[str, list[str]]:
    """A window of `text` around the first whole-word match of any term, and the terms found.

    Matched spans are wrapped in `[[` `]]` markers, which the CLI renders bold and `--json`
    keeps as plain markers (no HTML: the text is untrusted).
    """
    folded = fold(text)
    spans: list[tuple[int, int]] = []
    found: list[str] = []
    for term in terms:
        t = fold(term)
        if not t:
            continue
        start = folded.find(t)
        while start != -1:
            end = start + len(t)
            if at_word_boundary(folded, start, end):
                spans.append((start, end))
                if term not in found:
                    found.append(term)
            start = folded.find(t, end)
    if not spans:
        return text[:width].strip() + ("…" if len(text) > width else ""), []
    spans.sort()
    first = spans[0][0]
    lo = max(0, first - width // 3)
    hi = min(len(text), lo + width)
    out = []
    pos = lo
    for s, e in spans:
        if s < pos or e > hi:
            continue
        out.append(text[pos:s])
        out.append("[[" + text[s:e] + "]]")
        pos = e
    out.append(text[pos:hi])
    snippet = "".join(out).replace("\n", " ").strip()
    return ("…" if lo > 0 else "") + snippet + ("…" if hi < len(text) else ""), found


def search(
    store: Store,
    query: str,
    *,
    limit: int = 20,
    offset: int = 0,
    sort: str = "relevance",
    aliases: Any = None,
) -> list[Hit]:
    """Articles matching `query`, best first (or newest first with sort="date")."""
    return _search_tree(store, parse_query(query), limit, offset, sort, aliases)


def _search_tree(
    store: Store, parsed: Any, limit: int, offset: int, sort: str, aliases: Any = None
) -> list[Hit]:
    sql = compile_sqlite(parsed, aliases=aliases)
    params: list[Any] = []
    if sql.rank_match:
        rank_join = (
            "LEFT JOIN (SELECT rowid AS r, bm25(articles_fts, ?, ?) AS score FROM articles_fts "
            "WHERE articles_fts MATCH ?) ranked ON ranked.r = articles.seq"
        )
        params += [TITLE_WEIGHT, TEXT_WEIGHT, sql.rank_match]
        score = "COALESCE(ranked.score, 0.0)"
    else:
        rank_join = ""
        score = "0.0"
    order = (
        "articles.published DESC, articles.seq DESC"
        if sort == "date"
        else f"{score}, articles.published DESC"
    )
    rows = store.execute(
        f"SELECT articles.*, {score} AS score FROM articles {rank_join} WHERE ({sql.where}) "
        f"ORDER BY {order} LIMIT ? OFFSET ?",
        [*params, *sql.params, limit, offset],
    )
    terms = positive_literals(parsed)
    hits = []
    for row in rows:
        article = _row_to_article(row)
        snippet, found = make_snippet(article.text or article.title, terms)
        # bm25() is negative, smaller = better; report it as a positive score
        hits.append(Hit(article, -float(row["score"]), snippet, found))
    return hits


def hit_json(hit: Hit) -> str:
    return json.dumps(hit.to_dict(), ensure_ascii=False)


class EmbeddedArchive:
    """The default archive: the SQLite store's FTS5 index and facet table."""

    name = "embedded"

    def __init__(self, store: Store, aliases: Any = None) -> None:
        self.store = store
        self.aliases = aliases

    def index_articles(self, articles: Iterable[Article]) -> int:
        return sum(1 for a in articles if self.store.save_article(a))

    def get_article(self, article_id: str) -> Article | None:
        return self.store.get_article(article_id)

    def delete_articles(self, article_ids: Iterable[str]) -> int:
        raise NotImplementedError("deleting from the embedded store comes with retention")

    def count(self) -> int:
        return self.store.count_articles()

    def close(self) -> None:
        self.store.close()

    def search(self, request: SearchRequest) -> SearchResult:
        started = time.perf_counter()
        tree = request.query_tree()
        if tree is None:
            where, params = "1", []
            hits = self._latest(request)
        else:
            sql = compile_sqlite(tree, aliases=self.aliases)
            where, params = sql.where, sql.params
            hits = _search_tree(
                self.store, tree, request.limit, request.offset, request.sort, self.aliases
            )
        total = self.store.execute(f"SELECT count(*) FROM articles WHERE ({where})", params)[0][0]
        result = SearchResult(hits, int(total))
        if request.facets:
            result.facets = self._facets(where, params, request.facet_size)
        if request.histogram:
            rows = self.store.execute(
                f"SELECT substr(published, 1, 10) AS day, count(*) AS n FROM articles "
                f"WHERE ({where}) AND published IS NOT NULL GROUP BY day ORDER BY day",
                params,
            )
            result.histogram = [(r["day"], r["n"]) for r in rows]
        result.took_ms = (time.perf_counter() - started) * 1000
        return result

    def _latest(self, request: SearchRequest) -> list[Hit]:
        rows = self.store.execute(
            "SELECT * FROM articles ORDER BY published DESC, seq DESC LIMIT ? OFFSET ?",
            [request.limit, request.offset],
        )
        return [
            Hit(a, 0.0, make_snippet(a.text or a.title, [])[0]) for a in map(_row_to_article, rows)
        ]

    def _facets(self, where: str, params: list[Any], size: int) -> dict[str, list[tuple[str, int]]]:
        out: dict[str, list[tuple[str, int]]] = {}
        for name in FACET_FIELDS:
            if name in ("source", "language"):
                rows = self.store.execute(
                    f"SELECT {name} AS value, count(*) AS n FROM articles WHERE ({where}) "
                    f"AND {name} IS NOT NULL GROUP BY {name} ORDER BY n DESC, value LIMIT ?",
                    [*params, size],
                )
            else:
                rows = self.store.execute(
                    "SELECT value, count(*) AS n FROM article_facets WHERE field = ? AND seq IN "
                    f"(SELECT seq FROM articles WHERE ({where})) "
                    + ("AND value LIKE '%:%' " if name == "entity" else "")
                    + "GROUP BY value ORDER BY n DESC, value LIMIT ?",
                    [name, *params, size],
                )
            out[name] = [(r["value"], r["n"]) for r in rows]
        return out
