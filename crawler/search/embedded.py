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
from collections.abc import Iterable, Sequence
from datetime import UTC, date
from pathlib import Path

from crawler.article import Article
from crawler.dates import parse_iso
from crawler.query import (
    AliasResolver,
    MatchDocument,
    Query,
    compile_sqlite,
    evaluate,
    resolve_aliases,
)
from crawler.query.syntax import has_text_clause
from crawler.search.attention import StoryCounts, count_stories
from crawler.search.facet_labels import ENTITY_BUCKETS, facet_labels, split_places
from crawler.search.request import (
    BEST_CANDIDATES,
    COPIES_SHOWN,
    FACET_FIELDS,
    SCORE_SORTS,
    Copy,
    Hit,
    SearchRequest,
    SearchResult,
    best_score,
    story_id,
)
from crawler.search.snippets import highlight
from crawler.search.tantivy_index import IndexPage, TantivyIndex
from crawler.search.tantivy_query import TITLE_WEIGHT
from crawler.storage import Store

TEXT_WEIGHT = 1.0
# A by-story page reads this many times its depth in ranked articles (and again this many
# times more while they hold too few stories): a story rarely has more than two or three
# matching copies, so the first window nearly always suffices.
STORY_WINDOW = 3


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

    def story_counts(self, request: StoryCounts) -> dict[date, int]:
        """Distinct stories per bucket, counted by the index (`TantivyIndex.story_counts`); for
        a query shape the index only narrows, the matcher confirms SQL's candidates and the
        store gives each its day and story."""
        tree = request.request().query_tree()
        if tree is not None:
            tree = resolve_aliases(tree, self.aliases)
        counts = self.index.story_counts(tree, request.start, request.end, request.interval)
        if counts is not None:
            return counts
        assert tree is not None  # "everything" is always exact
        rows = self.store.article_rows(
            self._confirmed(tree, request),
            "coalesce(published, fetched) AS day, coalesce(cluster_id, id) AS story",
        )
        return count_stories(((r["day"], r["story"]) for r in rows), request.interval)

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
        """Raises `crawler.query.QueryError` for a malformed query.

        By story (`request.by_story`), the hit of a story is its best-ranked copy under the
        request's sort (the one whose words match best, the newest by date, the first by
        title...), as Elasticsearch's field collapsing picks it, so both backends show the
        same copy. Column sorts (`date`, `title`, `outlet`, `domain`) order the whole result
        set on the index's fast fields, with or without words in the query."""
        started = time.perf_counter()
        tree = request.query_tree()
        if tree is not None:
            tree = resolve_aliases(tree, self.aliases)
        self.index.sync()
        # "Everything" has no text score to rank by: newest first.
        sort = request.sort
        descending = request.descending
        if sort in SCORE_SORTS and (tree is None or not has_text_clause(tree)):
            sort, descending = "date", True
        # the index's name for the text score
        index_sort = "relevance" if sort in SCORE_SORTS else sort
        # `best` re-ranks the top text-score candidates by the blend (request.best_score)
        best = sort == "best"
        by_story = request.by_story
        wanted = request.offset + request.limit
        limit = wanted
        if best:
            limit = max(BEST_CANDIDATES, wanted)
        if by_story:  # copies take places in the window: read a deeper one
            limit = max(limit, STORY_WINDOW * wanted)
        page, exact = self.index.search(
            tree,
            sort=index_sort,
            limit=limit if (best or by_story) else request.limit,
            offset=0 if (best or by_story) else request.offset,
            facet_size=request.facet_size if request.facets else None,
            histogram=request.histogram,
            by_story=by_story,
            descending=descending,
        )
        if by_story and exact:
            page = self._story_window(tree, page, sort, descending, limit, request)
        elif best:
            page = self._rerank(page, request if exact else None)
        articles = self._articles(page.seqs)
        for seq, match_text in page.match_texts.items():
            if seq in articles:  # MatchDocument reuses it instead of folding again
                articles[seq].match_text = match_text
        docs: dict[int, MatchDocument] = {}
        copies: dict[int, tuple[int, list[Copy]]] = {}
        if not exact:
            assert tree is not None
            page, docs, copies = self._verify(tree, page, articles, request)
        elif by_story:
            copies = self._copies(tree, page)
        result = SearchResult(hits=[], total=page.total, facets=page.facets)
        if by_story:
            result.articles = page.total
            result.total = page.stories or 0
        result.histogram = page.histogram
        result.facet_sample = page.facet_sample
        for seq, score in zip(page.seqs, page.scores, strict=True):
            article = articles.get(seq)
            if article is None:  # deleted from the store since the index saw it
                continue
            snippet, title, words = (
                highlight(tree, article, docs.get(seq)) if request.snippets else ("", "", [])
            )
            hit = Hit(article, score, snippet, words, title_highlighted=title)
            count, others = copies.get(seq, (0, []))
            hit.copy_count = count
            hit.copies = others
            result.hits.append(hit)
        if request.facets:
            result.facets = split_places(result.facets, request.facet_size)
            result.facet_labels = facet_labels(result.facets, self.store)
        result.took_ms = (time.perf_counter() - started) * 1000
        return result

    def _story_window(
        self,
        tree: Query | None,
        page: IndexPage,
        sort: str,
        descending: bool,
        limit: int,
        request: SearchRequest,
    ) -> IndexPage:
        """The request's page of stories: the window ranked (re-ranked for `best`), each
        story's first copy kept, read deeper while the window holds too few stories."""
        wanted = request.offset + request.limit
        while True:
            keys = dict(zip(page.seqs, page.story_keys, strict=True))
            ranked = self._rerank(page, None) if sort == "best" else page
            leads: list[tuple[int, float]] = []
            seen: set[int] = set()
            for seq, score in zip(ranked.seqs, ranked.scores, strict=True):
                key = keys.get(seq, 0)
                if key not in seen:
                    seen.add(key)
                    leads.append((seq, score))
            exhausted = len(keys) >= page.total
            if len(leads) >= wanted or exhausted or limit >= page.total:
                break
            limit *= STORY_WINDOW
            deeper = self.index.ranked(
                tree,
                sort="relevance" if sort in SCORE_SORTS else sort,
                limit=limit,
                descending=descending,
            )
            page.seqs, page.scores, page.story_keys = deeper.seqs, deeper.scores, deeper.story_keys
            page.match_texts = deeper.match_texts
        window = leads[request.offset : wanted]
        page.seqs = [seq for seq, _ in window]
        page.scores = [score for _, score in window]
        page.story_keys = [keys.get(seq, 0) for seq in page.seqs]
        return page

    def _copies(self, tree: Query | None, page: IndexPage) -> dict[int, tuple[int, list[Copy]]]:
        """For each hit of a by-story page: how many other articles of its story match, and
        the first COPIES_SHOWN of them, oldest first."""
        by_key = dict(zip(page.story_keys, page.seqs, strict=True))
        counts, members = self.index.story_members(tree, by_key, COPIES_SHOWN + 1)
        other_seqs = {s for key, seqs in members.items() for s in seqs if s != by_key.get(key)}
        # the few columns a copy shows, not whole articles (their text is most of a row)
        rows = self.store.article_rows(
            sorted(other_seqs), "seq, id, title, source, publisher, url, published"
        )
        others = {
            int(r["seq"]): Copy(
                r["id"],
                r["title"],
                r["source"],
                r["publisher"] or r["source"],
                r["url"],
                parse_iso(r["published"]),
            )
            for r in rows
        }
        out: dict[int, tuple[int, list[Copy]]] = {}
        for key, seq in by_key.items():
            copies = [others[s] for s in members.get(key, []) if s != seq and s in others]
            out[seq] = (max(counts.get(key, 1) - 1, 0), copies[:COPIES_SHOWN])
        return out

    # -- helpers ---------------------------------------------------------------------------

    def _articles(self, seqs: Sequence[int]) -> dict[int, Article]:
        return self.store.articles_at(seqs)

    def _confirmed(self, tree: Query, request: StoryCounts) -> list[int]:
        """The seqs in the window that the matcher accepts, from SQL's candidates."""
        candidates = self.store.seqs_matching(
            compile_sqlite(tree, aliases=self.aliases),
            date_field="published",
            start=request.start,
            end=request.end,
        )
        found = self.store.articles_at(candidates)
        return [s for s, a in found.items() if evaluate(tree, MatchDocument.from_article(a))]

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
    ) -> tuple[IndexPage, dict[int, MatchDocument], dict[int, tuple[int, list[Copy]]]]:
        """Check every candidate of an inexact index answer with the matcher; count and page
        (by story when the request asks: the first copy of each story in the ranked order
        stands for it, with the others as its copies).

        The slow path of a rare query shape (proximity over three or more words): its cost
        grows with the number of candidates the index returns.
        """
        kept: list[tuple[int, float]] = []
        docs: dict[int, MatchDocument] = {}
        by_story = request.by_story
        members: dict[str, list[int]] = {}
        facets: dict[str, dict[str, set[str]]] = {name: {} for name in FACET_FIELDS}
        days: dict[str, set[str]] = {}  # day -> the stories (or articles) with a copy on it
        for seq, score in zip(page.seqs, page.scores, strict=True):
            article = articles.get(seq)
            if article is None:
                continue
            doc = MatchDocument.from_article(article)
            if not evaluate(tree, doc):
                continue
            docs[seq] = doc
            story = story_id(article) if by_story else str(seq)
            if story not in members:
                kept.append((seq, score))
            members.setdefault(story, []).append(seq)
            for name in FACET_FIELDS:
                values = {e.id for e in article.entities} if name == "entity" else doc.facet(name)
                for value in values:
                    facets[name].setdefault(value, set()).add(story)
            # published day, or the fetch day for an undated article (the one date basis)
            when = doc.published or article.fetched
            if when is not None:
                when = when if when.tzinfo else when.replace(tzinfo=UTC)  # naive means UTC
                days.setdefault(when.astimezone(UTC).date().isoformat(), set()).add(story)
        window = kept[request.offset : request.offset + request.limit]
        out = IndexPage([s for s, _ in window], [sc for _, sc in window], len(docs))
        if by_story:
            out.stories = len(kept)
        if request.facets:
            size = request.facet_size
            out.facets = {
                name: sorted(((v, len(s)) for v, s in c.items()), key=lambda p: (-p[1], p[0]))[
                    : size * ENTITY_BUCKETS if name == "entity" else size
                ]
                for name, c in facets.items()
            }
        if request.histogram:
            out.histogram = sorted((day, len(stories)) for day, stories in days.items())
        copies: dict[int, tuple[int, list[Copy]]] = {}
        if by_story:
            for seq in out.seqs:
                group = members[story_id(articles[seq])]
                others = sorted((articles[s] for s in group if s != seq), key=_oldest_first)
                copies[seq] = (len(group) - 1, [Copy.of(a) for a in others[:COPIES_SHOWN]])
        return out, docs, copies


def _oldest_first(article: Article) -> tuple[bool, str]:
    """Sort key: dated articles by publication, undated ones after them."""
    published = article.published
    return published is None, published.isoformat() if published else ""


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
            snippet, title, words = highlight(tree, article) if request.snippets else ("", "", [])
            result.hits.append(Hit(article, score, snippet, words, title_highlighted=title))
        if request.facets:
            result.facets = self.store.fts_facets(where, FACET_FIELDS, request.facet_size)
        result.took_ms = (time.perf_counter() - started) * 1000
        return result
