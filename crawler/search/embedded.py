"""The embedded archive: search over the SQLite store of record through its tantivy side index.

`EmbeddedArchive` answers `crawler.search.request.Archive`. The index (`tantivy_index`) finds,
ranks by text score, counts and facets; the `best` sort re-ranks its top candidates here by the
blend with the domain relevance (`crawler.search.request.best_score`); SQLite supplies the
articles of the page; snippets are cut from the original text around the spans the in-process
matcher finds (`crawler.query.find_hits`), so a phrase highlights as a phrase, `cit*`
highlights "cities", and Chinese highlights by character.

The first version of this module ran on SQLite FTS5; it is kept as `Fts5Search`, the baseline
benchmarks/search.py measures the index against.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC
from pathlib import Path

from crawler.article import Article
from crawler.query import (
    AliasResolver,
    MatchDocument,
    Query,
    compile_sqlite,
    evaluate,
    resolve_aliases,
)
from crawler.query.syntax import has_text_clause
from crawler.search.request import (
    BEST_CANDIDATES,
    FACET_FIELDS,
    Hit,
    SearchRequest,
    SearchResult,
    best_score,
)
from crawler.search.snippets import highlight
from crawler.search.tantivy_index import IndexPage, TantivyIndex
from crawler.search.tantivy_query import TITLE_WEIGHT
from crawler.storage import Store

TEXT_WEIGHT = 1.0


def default_index_path(store: Store) -> Path | None:
    """Where a store's side index lives: beside the database file (none for `:memory:`); for a
    Postgres store, in this host's `var/` folder (each host keeps its own index, rebuilt
    from the shared store by watermark), named after the database."""
    if store.path == ":memory:":
        return None
    if store.engine == "postgresql":
        database = store.path.rsplit("/", 1)[-1].split("?", 1)[0] or "watchdesk"
        return Path("var") / f"{database}.index"
    db = Path(store.path)
    return db.with_name(db.name + ".index")


class EmbeddedArchive:
    """The default archive: the SQLite store, searched through its tantivy side index.

    Opening it repairs the index from the store; every search first indexes articles the
    pipeline stored since (one `max(seq)` lookup when there are none).
    """

    name = "embedded"

    def __init__(
        self,
        store: Store,
        aliases: AliasResolver | None = None,
        index_path: str | Path | None = None,
    ) -> None:
        self.store = store
        self.aliases = aliases
        path = index_path if index_path is not None else default_index_path(store)
        self.index = TantivyIndex(store, path)

    # -- Archive ---------------------------------------------------------------------------

    def index_articles(self, articles: Iterable[Article]) -> int:
        written = sum(1 for a in articles if self.store.save_article(a))
        self.index.sync()
        return written

    def get_article(self, article_id: str) -> Article | None:
        return self.store.get_article(article_id)

    def delete_articles(self, article_ids: Iterable[str]) -> int:
        seqs = self.store.delete_articles(list(article_ids))
        self.index.delete(seqs)
        return len(seqs)

    def count(self) -> int:
        return self.store.count_articles()

    def close(self) -> None:
        self.index.close()
        self.store.close()

    def search(self, request: SearchRequest) -> SearchResult:
        """Raises `crawler.query.QueryError` for a malformed query."""
        started = time.perf_counter()
        tree = request.query_tree()
        if tree is not None:
            tree = resolve_aliases(tree, self.aliases)
        self.index.sync()
        # "Everything" has no text score to rank by: newest first.
        sort = "date" if tree is None or not has_text_clause(tree) else request.sort
        # `best` re-ranks the top text-score candidates by the blend (request.best_score)
        best = sort == "best"
        limit = max(BEST_CANDIDATES, request.offset + request.limit) if best else request.limit
        page, exact = self.index.search(
            tree,
            sort="date" if sort == "date" else "relevance",
            limit=limit,
            offset=0 if best else request.offset,
            facet_size=request.facet_size if request.facets else None,
            histogram=request.histogram,
        )
        if best:
            page = self._rerank(page, request if exact else None)
        articles = self._articles(page.seqs)
        for seq, match_text in page.match_texts.items():
            if seq in articles:  # MatchDocument reuses it instead of folding again
                articles[seq].match_text = match_text
        docs: dict[int, MatchDocument] = {}
        if not exact:
            assert tree is not None
            page, docs = self._verify(tree, page, articles, request)
        result = SearchResult(hits=[], total=page.total, facets=page.facets)
        result.histogram = page.histogram
        result.facet_sample = page.facet_sample
        for seq, score in zip(page.seqs, page.scores, strict=True):
            article = articles.get(seq)
            if article is None:  # deleted from the store since the index saw it
                continue
            snippet, title, words = highlight(tree, article, docs.get(seq))
            result.hits.append(Hit(article, score, snippet, words, title_highlighted=title))
        if request.facets:
            result.facet_labels = self._facet_labels(result.facets.get("entity", []))
        result.took_ms = (time.perf_counter() - started) * 1000
        return result

    # -- helpers ---------------------------------------------------------------------------

    def _articles(self, seqs: Sequence[int]) -> dict[int, Article]:
        return self.store.articles_at(seqs)

    def _rerank(self, page: IndexPage, request: SearchRequest | None) -> IndexPage:
        """The candidates in `best` order (text score × (floor + relevance)), ties kept in
        text-score order; cut to the request's page when one is given (an exact answer)."""
        rows = self.store.article_rows(page.seqs, "seq, relevance") if page.seqs else []
        relevance = {int(r["seq"]): float(r["relevance"] or 0.0) for r in rows}
        ranked = sorted(
            zip(page.seqs, page.scores, strict=True),
            key=lambda pair: -best_score(pair[1], relevance.get(pair[0], 0.0)),
        )
        if request is not None:
            ranked = ranked[request.offset : request.offset + request.limit]
        page.seqs = [seq for seq, _ in ranked]
        page.scores = [best_score(score, relevance.get(seq, 0.0)) for seq, score in ranked]
        return page

    def _verify(
        self, tree: Query, page: IndexPage, articles: dict[int, Article], request: SearchRequest
    ) -> tuple[IndexPage, dict[int, MatchDocument]]:
        """Check every candidate of an inexact index answer with the matcher; count and page.

        The slow path of a rare query shape (proximity over three or more words): its cost
        grows with the number of candidates the index returns.
        """
        kept: list[tuple[int, float]] = []
        docs: dict[int, MatchDocument] = {}
        facets: dict[str, Counter[str]] = {name: Counter() for name in FACET_FIELDS}
        days: Counter[str] = Counter()
        for seq, score in zip(page.seqs, page.scores, strict=True):
            article = articles.get(seq)
            if article is None:
                continue
            doc = MatchDocument.from_article(article)
            if not evaluate(tree, doc):
                continue
            kept.append((seq, score))
            docs[seq] = doc
            for name in FACET_FIELDS:
                if name == "entity":
                    facets[name].update({e.id for e in article.entities})
                else:
                    facets[name].update(doc.facet(name))
            # published day, or the fetch day for an undated article (the one date basis)
            when = doc.published or article.fetched
            if when is not None:
                when = when if when.tzinfo else when.replace(tzinfo=UTC)  # naive means UTC
                days[when.astimezone(UTC).date().isoformat()] += 1
        window = kept[request.offset : request.offset + request.limit]
        out = IndexPage([s for s, _ in window], [sc for _, sc in window], len(kept))
        if request.facets:
            out.facets = {
                name: sorted(c.items(), key=lambda p: (-p[1], p[0]))[: request.facet_size]
                for name, c in facets.items()
            }
        if request.histogram:
            out.histogram = sorted(days.items())
        return out, docs

    def _facet_labels(self, entity_counts: list[tuple[str, int]]) -> dict[str, dict[str, str]]:
        """Display names of the entity ids in the facet counts (from one article naming each)."""
        names: dict[str, str] = {}
        for ent_id, _ in entity_counts:
            name = self.store.entity_name(ent_id)
            if name is not None:
                names[ent_id] = name
        return {"entity": names} if names else {}


class Fts5Search:
    """The FTS5 engine of the first version: the baseline of benchmarks/search.py.

    Same request, same answer set (crawler.query.compile_sqlite), ranked by FTS5's bm25();
    facets and histogram in SQL. Not used by the product.
    """

    def __init__(self, store: Store, aliases: AliasResolver | None = None) -> None:
        self.store = store
        self.aliases = aliases

    def search(self, request: SearchRequest) -> SearchResult:
        started = time.perf_counter()
        tree = request.query_tree()
        where = compile_sqlite(tree, aliases=self.aliases) if tree is not None else None
        page, total = self.store.fts_page(
            where,
            by_date=request.sort == "date",
            limit=request.limit,
            offset=request.offset,
            weights=(TITLE_WEIGHT, TEXT_WEIGHT),
        )
        result = SearchResult(hits=[], total=total)
        for article, score in page:
            snippet, title, words = highlight(tree, article)
            result.hits.append(Hit(article, score, snippet, words, title_highlighted=title))
        if request.facets:
            result.facets = self.store.fts_facets(where, FACET_FIELDS, request.facet_size)
        result.took_ms = (time.perf_counter() - started) * 1000
        return result
