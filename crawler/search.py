"""Full-text search over the embedded store, in the watchdesk query language.

The query is compiled to SQL + FTS5 by `crawler.query.sqlite`; ranking is BM25 with the title
weighted above the text; snippets are cut from the original text around the first match, so
they show the article as written (not the folded index form).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from crawler.article import Article
from crawler.query import compile_sqlite, parse_query, positive_literals
from crawler.store import Store, _row_to_article
from crawler.textnorm import at_word_boundary, fold

# BM25 column weights (title, text): a term in the headline says more about what the article
# is about than one in the body; 3:1 is the usual newsroom-search weighting (Elasticsearch
# multi_match "title^3").
TITLE_WEIGHT = 3.0
TEXT_WEIGHT = 1.0
SNIPPET_CHARS = 240


@dataclass
class Hit:
    article: Article
    score: float
    snippet: str
    highlights: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        a = self.article
        return {
            "id": a.id,
            "url": a.url,
            "title": a.title,
            "source": a.source,
            "published": a.published.isoformat() if a.published else None,
            "language": a.language,
            "score": round(self.score, 4),
            "snippet": self.snippet,
            "highlights": self.highlights,
            "countries": a.countries,
            "events": a.events,
            "relevance": round(a.relevance, 4),
            "cluster_id": a.cluster_id,
            "entities": [
                {
                    "id": e.id,
                    "name": e.name,
                    "type": e.type,
                    "country": e.country,
                    "region": e.region,
                }
                for e in a.entities
            ],
        }


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
    parsed = parse_query(query)
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
