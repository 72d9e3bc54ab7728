"""The embedded archive's full-text index: tantivy, beside the SQLite store of record.

Chosen by measurement over SQLite FTS5 (benchmarks/search.py; figures in benchmarks/README.md).
SQLite stays the truth: the index holds no article content, only what searching, ranking,
facets and the date histogram need, keyed by the store's `seq`. It is brought up to date from
the store by `sync`, which indexes every article above a **watermark**, the highest `seq` whose
index entry is committed. The watermark is written to a file beside the index only after the
index commit, so a crash between the two at worst re-indexes a few articles (their old entries
are deleted first: no duplicates), and a crash before the index commit loses nothing (the
articles are still in SQLite, above the watermark).

Text is indexed as the tokens `crawler.query` defines (folded, one token per Chinese character)
through a whitespace tokenizer, so positions, phrases and prefixes mean here exactly what they
mean to the in-process matcher.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import time
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import tantivy

from crawler.article import Article
from crawler.query import MatchDocument
from crawler.query.evaluate import present_fields
from crawler.search.facet_labels import ENTITY_BUCKETS
from crawler.search.request import outlet_of, sort_key, story_id
from crawler.search.tantivy_query import (
    FACET_INDEX_FIELDS,
    PRESENT_FIELD,
    cased_field,
    compile_tantivy,
    pairs_field,
    token_pairs,
)
from crawler.storage import Store

log = logging.getLogger(__name__)

# Bump when the schema or the tokenisation changes: an index of another version is rebuilt.
# 5: case-kept words (`case:`) and the fields present (`_exists_`); 6: the source's label,
# the story key (search by story) and each article's day on the one date basis (attention);
# 7: the title and outlet sort keys (the results table's column sorts)
INDEX_VERSION = 7
STATE_FILE = "watchdesk-index.json"
TOKENIZER = "watchdesk_tokens"
# Facet name (backend.FACET_FIELDS) -> index field counted for it. Entities are counted by id
# only (`entity` also holds folded names, for filtering by name).
FACET_COUNT_FIELDS = {
    "source": "source",
    "label": "label",
    "language": "language",
    "event": "event",
    "country": "country",
    "region": "region",
    "entity": "entity_id",
}
# Facet counts and the day histogram of a result set larger than FACET_SAMPLE_ABOVE are counted
# on a fixed random share of it (FACET_SAMPLE_SIZE articles or a few more) and scaled up, as
# Elasticsearch's `random_sampler` aggregation does, so that their cost stops growing with the
# archive. At 50,000 sampled articles a value holding 1 % of the matches is off by about 4 %,
# a larger one by less. Each article falls in one of SAMPLE_BUCKETS buckets by a hash of its id;
# a sample is the first few buckets, the same ones on every search.
SAMPLE_BUCKETS = 64
FACET_SAMPLE_ABOVE = 100_000
FACET_SAMPLE_SIZE = 50_000
# Articles read from SQLite per indexing batch: ~2 MB of rows at a time (2 KB articles), small
# beside the writer's heap; the query per batch is negligible against indexing the rows.
SYNC_BATCH = 1000
# Writer memory: tantivy flushes a segment when it is full. 64 MB keeps segments large enough
# that a 200,000-article index holds a handful (benchmarks/search.py) and stays modest beside
# the crawler (tantivy's own minimum is 15 MB per thread).
WRITER_HEAP = 64_000_000
# How often a long-lived archive checks for articles deleted from the store behind its back
# (retention runs daily; between checks such hits are skipped, totals may be a few too high).
RECONCILE_SECONDS = 60.0


STORY_FIELD = "story"
# A column sort of `SearchRequest` -> the fast field the index orders by (tantivy's
# `order_by_field`); articles without a value (undated, untitled) come last either way.
ORDER_FIELDS = {
    "date": "published",
    "title": "title_sort",
    "outlet": "outlet_sort",
    "domain": "relevance",
}


def story_key(story: str) -> int:
    """The index's key of a story id: 63 bits of its hash (tantivy reads only numbers from a
    fast field; any two of a million stories collide with odds of about 1 in 20 million)."""
    return int.from_bytes(hashlib.blake2b(story.encode(), digest_size=8).digest()) >> 1


def build_schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_integer_field("seq", indexed=True, fast=True)
    sb.add_integer_field("sample", indexed=True, fast=True)
    for name in ("title", "text"):
        sb.add_text_field(name, tokenizer_name=TOKENIZER, index_option="position")
        # Every pair of adjacent tokens as one term (Elasticsearch's `index_phrases`): a
        # two-word phrase becomes one term lookup and a longer one a phrase of pairs, instead
        # of intersecting the positions of common words over half the archive.
        sb.add_text_field(pairs_field(name), tokenizer_name=TOKENIZER, index_option="position")
        # The field's distinct words with their capitals kept, for `case:Bill`: presence only
        # (a cased phrase is checked by the matcher on the folded phrase's candidates).
        sb.add_text_field(cased_field(name), tokenizer_name=TOKENIZER, index_option="basic")
    sb.add_text_field(PRESENT_FIELD, tokenizer_name="raw", index_option="basic")
    for name in FACET_INDEX_FIELDS:
        sb.add_text_field(name, tokenizer_name="raw", index_option="basic", fast=True)
    sb.add_text_field("entity_id", tokenizer_name="raw", index_option="basic", fast=True)
    sb.add_date_field("published", indexed=True, fast=True)
    # when the article was stored: the window of a watchlist backtest (alerts/backtest.py)
    sb.add_date_field("fetched", indexed=True, fast=True)
    sb.add_float_field("relevance", indexed=True, fast=True)
    # the article's story (`story_key`): hits are grouped and stories counted on it, also per
    # bucket of attention over time (`story_counts`)
    sb.add_integer_field(STORY_FIELD, indexed=True, fast=True)
    # the day of the one date basis (published, else fetched): attention over time's buckets
    sb.add_date_field("day", indexed=True, fast=True)
    # `request.sort_key` of the title and of the outlet: the title and outlet sorts
    for name in ("title_sort", "outlet_sort"):
        sb.add_text_field(name, tokenizer_name="raw", index_option="basic", fast=True)
    # fold(title) + "\n" + fold(text), kept for non-ASCII articles only: folding Chinese
    # (OpenCC in Python) costs ~2 ms per article, which 20 highlighted hits would pay on every
    # search (measured on the synthetic corpus); ASCII text folds in microseconds.
    sb.add_bytes_field("match_text", stored=True, indexed=False)
    return sb.build()


@dataclass(slots=True)
class IndexPage:
    """One page of index hits (store seqs with scores) and the result-wide counts."""

    seqs: list[int]
    scores: list[float]
    total: int
    # seq -> Article.match_text for hits whose folded text the index keeps
    match_texts: dict[int, str] = field(default_factory=dict)
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    histogram: list[tuple[str, int]] = field(default_factory=list)
    # share of the matches the facets and histogram were counted on (below 1: estimates)
    facet_sample: float = 1.0
    # by story: the story key of each seq, and how many stories the matches hold (facets
    # then count stories too)
    story_keys: list[int] = field(default_factory=list)
    stories: int | None = None


def sample_bucket(article_id: str) -> int:
    """The sampling bucket of an article: stable across processes and re-indexing."""
    return zlib.crc32(article_id.encode()) % SAMPLE_BUCKETS


def sample_buckets(total: int) -> int:
    """How many of the SAMPLE_BUCKETS to count facets on for a result of `total` matches."""
    if total <= FACET_SAMPLE_ABOVE:
        return SAMPLE_BUCKETS
    return min(SAMPLE_BUCKETS, -(-SAMPLE_BUCKETS * FACET_SAMPLE_SIZE // total))


def article_document(seq: int, article: Article) -> tantivy.Document:
    """The index entry of one stored article (values exactly as MatchDocument holds them)."""
    doc = MatchDocument.from_article(article)
    out = tantivy.Document()
    out.add_integer("seq", seq)
    out.add_integer("sample", sample_bucket(article.id))
    out.add_integer(STORY_FIELD, story_key(story_id(article)))
    for name, tokens in (("title", doc.title.tokens), ("text", doc.text.tokens)):
        out.add_text(name, " ".join(tokens))
        out.add_text(pairs_field(name), " ".join(token_pairs(tokens)))
        cased = doc.field_text(name, cased=True)
        if cased is not doc.field_text(name):
            out.add_text(cased_field(name), " ".join(sorted(cased.distinct())))
        else:  # no capitals: the cased words are the folded ones
            out.add_text(cased_field(name), " ".join(sorted(set(tokens))))
    for name in present_fields(doc):
        out.add_text(PRESENT_FIELD, name)
    for name in FACET_INDEX_FIELDS:
        for value in sorted(doc.facet(name)):
            out.add_text(name, value)
    for ent_id in sorted({e.id for e in article.entities}):
        out.add_text("entity_id", ent_id)
    if doc.published is not None:
        out.add_date("published", doc.published.astimezone(UTC))
    if doc.relevance is not None:
        out.add_float("relevance", float(doc.relevance))
    fetched = article.fetched
    if fetched is not None:
        fetched = fetched if fetched.tzinfo else fetched.replace(tzinfo=UTC)  # naive means UTC
        out.add_date("fetched", fetched)
    day = doc.published.astimezone(UTC) if doc.published is not None else fetched
    if day is not None:
        out.add_date("day", day)
    for name, value in (("title_sort", article.title), ("outlet_sort", outlet_of(article))):
        key = sort_key(value)
        if key:
            out.add_text(name, key)
    if not (article.title.isascii() and article.text.isascii()):
        out.add_bytes("match_text", (doc.title.folded + "\n" + doc.text.folded).encode())
    return out


def read_index_state(path: Path) -> dict[str, Any]:
    """The committed state of the index at `path` (`version`, `watermark`), read without opening
    the index; {} when there is none or it is unreadable (the index is then rebuilt)."""
    state_path = path / STATE_FILE
    if not state_path.exists():
        return {}
    try:
        return dict(json.loads(state_path.read_text()))
    except (OSError, ValueError):
        return {}


class TantivyIndex:
    """The side index of one store. Thread-safe; one process writes at a time (tantivy's lock).

    `path=None` keeps the index in memory (for a `:memory:` store).
    """

    def __init__(self, store: Store, path: str | Path | None) -> None:
        self.store = store
        self.path = Path(path) if path is not None else None
        self.schema = build_schema()
        self._lock = threading.RLock()
        self._watermark = 0
        self._reconciled = float("-inf")
        self.index = self._open()
        self.repair()

    # -- opening and repair ----------------------------------------------------------------

    def _open(self) -> tantivy.Index:
        if self.path is None:
            index = tantivy.Index(self.schema)
        else:
            state = self._read_state()
            if state.get("version") != INDEX_VERSION and self.path.exists():
                log.info("search index %s: version changed, rebuilding", self.path)
                shutil.rmtree(self.path)
            self.path.mkdir(parents=True, exist_ok=True)
            try:
                index = tantivy.Index(self.schema, path=str(self.path), reuse=True)
            except (OSError, ValueError) as exc:  # unreadable or foreign: rebuild from SQLite
                log.warning("search index %s unreadable (%s): rebuilding", self.path, exc)
                shutil.rmtree(self.path)
                self.path.mkdir(parents=True)
                index = tantivy.Index(self.schema, path=str(self.path), reuse=False)
            self._watermark = int(self._read_state().get("watermark", 0))
        index.register_tokenizer(
            TOKENIZER, tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()
        )
        return index

    def _state_path(self) -> Path | None:
        return None if self.path is None else self.path / STATE_FILE

    def _read_state(self) -> dict[str, Any]:
        return read_index_state(self.path) if self.path is not None else {}

    def _write_state(self) -> None:
        state_path = self._state_path()
        if state_path is None:
            return
        tmp = state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"version": INDEX_VERSION, "watermark": self._watermark}))
        os.replace(tmp, state_path)  # atomic: the old or the new watermark, never half of one

    @property
    def watermark(self) -> int:
        return self._watermark

    def repair(self) -> int:
        """Make the index agree with the store; returns how many articles were (re)indexed.

        Beyond catching up above the watermark, entries below it are reconciled with the
        store: entries of rows deleted behind the index's back (retention, `delete_articles`
        in another process) are removed, rows the index lacks are indexed.
        """
        with self._lock:
            self.index.reload()
            return self.sync(reconcile=True)

    def _differences(self) -> tuple[list[int], list[int]]:
        """(seqs indexed but gone from the store, seqs stored but not indexed), up to the
        watermark. Counting first keeps the usual case (nothing to do) to two count queries."""
        mark = self._watermark
        stored = self.store.count_through(mark)
        below = tantivy.Query.range_query(self.schema, "seq", tantivy.FieldType.Integer, None, mark)
        searcher = self.index.searcher()
        indexed = _count(searcher.search(below, 1, count=True)) if mark > 0 else 0
        if stored == indexed:
            return [], []
        store_seqs = self.store.seqs_through(mark)
        index_seqs: set[int] = set()
        if indexed:
            hits = searcher.search(below, indexed, count=False).hits
            values = searcher.fast_field_values("seq", [address for _, address in hits])
            index_seqs = {int(v) for v in values if v is not None}
        log.info(
            "search index: %d entries of deleted articles, %d articles missing; reconciling",
            len(index_seqs - store_seqs),
            len(store_seqs - index_seqs),
        )
        return sorted(index_seqs - store_seqs), sorted(store_seqs - index_seqs)

    # -- writing ---------------------------------------------------------------------------

    def sync(self, full: bool = False, reconcile: bool = False) -> int:
        """Index every stored article above the watermark; returns how many were indexed.

        Entries above the watermark (left by a crash after an index commit) are deleted first,
        so re-indexing never duplicates. With `reconcile` (and by itself every
        RECONCILE_SECONDS) entries below the watermark are checked against the store too.
        When another process holds the index's write lock, nothing is written and searches
        see the index as last committed.
        """
        with self._lock:
            now = time.monotonic()
            if now - self._reconciled >= RECONCILE_SECONDS:
                reconcile = True
            stale: list[int] = []
            missing: list[int] = []
            if reconcile and not full:
                stale, missing = self._differences()
                self._reconciled = now
            newest = self.store.newest_seq()
            if newest <= self._watermark and not (full or stale or missing):
                return 0
            try:
                writer = self.index.writer(WRITER_HEAP, 1)
            except ValueError as exc:
                log.debug("search index busy (%s); searching it as last committed", exc)
                return 0
            try:
                if full:
                    writer.delete_all_documents()
                    self._watermark = 0
                else:
                    writer.delete_documents_by_query(
                        tantivy.Query.range_query(
                            self.schema,
                            "seq",
                            tantivy.FieldType.Integer,
                            self._watermark,
                            None,
                            include_lower=False,
                        )
                    )
                    for seq in stale:
                        writer.delete_documents_by_term("seq", seq)
                done = 0
                for seq, article in self.store.articles_at(missing).items():
                    writer.add_document(article_document(seq, article))
                    done += 1
                last = self._watermark
                while True:
                    rows = self.store.articles_after(last, SYNC_BATCH)
                    if not rows:
                        break
                    for seq, article in rows:
                        writer.add_document(article_document(seq, article))
                    last = rows[-1][0]
                    done += len(rows)
                writer.commit()
                writer.wait_merging_threads()
            except BaseException:
                writer.rollback()
                raise
            finally:
                del writer  # releases tantivy's write lock for other processes
            self._watermark = last
            self._write_state()
            self.index.reload()
            if done:
                log.debug("search index: %d articles indexed up to seq %d", done, last)
            return done

    def relabel(self, labels: Mapping[str, str]) -> int:
        """Give the stored articles without a label their source's label (`labels`: source
        name -> label, the config's), in the index and in the store; returns how many.

        For rows stored before labels were, or before their source had one. The index is
        written first and the store after: a crash between the two leaves rows that the next
        call labels again, never an index entry that disagrees with its row. While another
        process writes the index nothing changes; the next opening does it.
        """
        with self._lock:
            seqs = self.store.unlabelled_seqs(labels)
            if not seqs:
                return 0
            try:
                writer = self.index.writer(WRITER_HEAP, 1)
            except ValueError as exc:
                log.info("search index busy (%s); %d articles left unlabelled", exc, len(seqs))
                return 0
            try:
                for seq, article in self.store.articles_at(seqs).items():
                    if seq > self._watermark:
                        continue  # not indexed yet: the next sync reads it labelled
                    article.label = labels[article.source]
                    writer.delete_documents_by_term("seq", seq)
                    writer.add_document(article_document(seq, article))
                writer.commit()
                writer.wait_merging_threads()
            except BaseException:
                writer.rollback()
                raise
            finally:
                del writer
            self.index.reload()
            done = len(self.store.backfill_labels(labels))
            log.info("search index: %d articles labelled from the config", done)
            return done

    def delete(self, seqs: Iterable[int]) -> None:
        """Remove the entries of deleted articles (the store deletes the rows)."""
        seqs = list(seqs)
        if not seqs:
            return
        with self._lock:
            writer = self.index.writer(WRITER_HEAP, 1)
            try:
                for seq in seqs:
                    writer.delete_documents_by_term("seq", seq)
                writer.commit()
                writer.wait_merging_threads()
            finally:
                del writer
            self.index.reload()

    def count(self) -> int:
        return int(self.index.searcher().num_docs)

    def close(self) -> None:
        """Nothing to release (kept for the archive's close path)."""

    # -- searching -------------------------------------------------------------------------

    def search(
        self,
        tree: Any,
        *,
        sort: str,
        limit: int,
        offset: int,
        facet_size: int | None,
        histogram: bool,
        by_story: bool = False,
        descending: bool = True,
    ) -> tuple[IndexPage, bool]:
        """A page of hits for the tree; the flag says whether the index answer was exact.

        When it was not (see `search_index_query`), the page holds every candidate, unpaged,
        for the caller to check; facets and histogram are then left to the caller too.
        `by_story`: the page carries each hit's story key, `stories` counts the stories of
        the matches and the facet values count stories (the caller groups the hits).
        `sort` is "relevance" (the text score, best first) or a key of ORDER_FIELDS, ordered
        `descending` or not.
        """
        compiled = compile_tantivy(tree, self.schema)
        searcher = self.index.searcher()
        if not compiled.exact:
            total = _count(searcher.search(compiled.query, 1, count=True))
            page = self._page(
                searcher, compiled.query, sort, max(total, 1), 0, by_story, descending
            )
            return page, False
        page = self._page(searcher, compiled.query, sort, limit, offset, by_story, descending)
        if by_story and not page.total:
            page.stories = 0
        if not (facet_size or histogram):
            if by_story and page.total:
                page.stories = self._stories(searcher, compiled.query)
            return page, True
        # The page has counted the matches, which decides whether the counts are sampled.
        # (Counting beside the page in a second thread was measured too: on two shared cores
        # it was as often slower as faster.)
        # A histogram alone (the watchlists page's days) is cheap enough to count exactly.
        buckets = sample_buckets(page.total) if facet_size else SAMPLE_BUCKETS
        query = compiled.query
        if buckets < SAMPLE_BUCKETS:
            in_sample = tantivy.Query.range_query(
                self.schema, "sample", tantivy.FieldType.Integer, 0, buckets - 1
            )
            query = tantivy.Query.boolean_query(
                [
                    (tantivy.Occur.Must, query),
                    (tantivy.Occur.Must, tantivy.Query.const_score_query(in_sample, 0.0)),
                ]
            )
        page.facet_sample = buckets / SAMPLE_BUCKETS
        # unsampled, the stories are counted in the same pass as the facets
        count_here = by_story and page.total > 0 and buckets == SAMPLE_BUCKETS
        page.facets, page.histogram, stories = self._aggregate(
            searcher, query, facet_size, histogram, SAMPLE_BUCKETS / buckets, by_story, count_here
        )
        if count_here:
            page.stories = stories
        elif by_story and page.total:
            page.stories = self._stories(searcher, compiled.query)
        return page, True

    def ranked(self, tree: Any, *, sort: str, limit: int, descending: bool = True) -> IndexPage:
        """The first `limit` hits of an exact tree with their story keys, without counts: the
        deeper window a by-story page reads when its first one held too few stories."""
        compiled = compile_tantivy(tree, self.schema)
        searcher = self.index.searcher()
        return self._page(searcher, compiled.query, sort, limit, 0, True, descending)

    def story_members(
        self, tree: Any, keys: Iterable[int], per_story: int
    ) -> tuple[dict[int, int], dict[int, list[int]]]:
        """For each story key, how many articles of the story the tree matches, and the seqs
        of the first `per_story` of them, oldest first. Exact trees only."""
        keys = sorted(set(keys))
        if not keys:
            return {}, {}
        Q, Occur = tantivy.Query, tantivy.Occur
        compiled = compile_tantivy(tree, self.schema)
        # one term set, not a clause per story: an export's 10,000 stories take ~15 ms
        of_stories = Q.term_set_query(self.schema, STORY_FIELD, keys)
        query = Q.boolean_query([(Occur.Must, compiled.query), (Occur.Must, _filter(of_stories))])
        searcher = self.index.searcher()
        agg = {"s": {"terms": {"field": STORY_FIELD, "size": len(keys)}}}
        buckets = searcher.aggregate(query, agg).get("s", {}).get("buckets", [])
        counts = {int(b["key"]): int(b["doc_count"]) for b in buckets}
        total = sum(counts.values())
        members: dict[int, list[int]] = {}
        if total:
            hits = searcher.search(
                query, total, order_by_field="published", order=tantivy.Order.Asc
            ).hits
            addresses = [address for _, address in hits]
            seqs = searcher.fast_field_values("seq", addresses)
            story = searcher.fast_field_values(STORY_FIELD, addresses)
            for seq, key in zip(seqs, story, strict=True):
                if seq is None or key is None:
                    continue
                kept = members.setdefault(int(key), [])
                if len(kept) < per_story:
                    kept.append(int(seq))
        return counts, members

    def _stories(self, searcher: tantivy.Searcher, query: tantivy.Query) -> int:
        """How many stories the matches hold: HyperLogLog++ (tantivy's `cardinality`, as
        Elasticsearch's), exact in practice for the few thousand stories of a typical result."""
        result = searcher.aggregate(query, {"n": {"cardinality": {"field": STORY_FIELD}}})
        return round(float(result.get("n", {}).get("value") or 0))

    def matching_seqs(
        self, tree: Any, date_field: str, start: datetime | None, end: datetime
    ) -> list[int] | None:
        """Seqs of every indexed article the tree matches whose date is in [start, end).

        The date is `fetched`, or with `date_field="published"` the publication date, falling
        back to `fetched` for undated articles. None when the index can only give a superset
        for this tree (a long proximity clause): the caller then checks candidates itself.
        """
        self.sync()
        compiled = compile_tantivy(tree, self.schema)
        if not compiled.exact:
            return None
        Q, Occur = tantivy.Query, tantivy.Occur

        def window(name: str) -> tantivy.Query:
            return Q.range_query(
                self.schema, name, tantivy.FieldType.Date, start, end, include_upper=False
            )

        in_window = window("fetched")
        if date_field == "published":
            undated = Q.boolean_query(
                [(Occur.Must, in_window), (Occur.MustNot, Q.exists_query("published"))]
            )
            in_window = Q.boolean_query(
                [(Occur.Should, window("published")), (Occur.Should, undated)]
            )
        query = Q.boolean_query(
            [(Occur.Must, compiled.query), (Occur.Must, Q.const_score_query(in_window, 0.0))]
        )
        searcher = self.index.searcher()
        total = _count(searcher.search(query, 1, count=True))
        if not total:
            return []
        # ordered by a fast field: no scoring of what is not ranked
        hits = searcher.search(query, total, order_by_field="seq").hits
        values = searcher.fast_field_values("seq", [address for _, address in hits])
        return [int(v) for v in values if v is not None]

    def story_counts(
        self, tree: Any, start: datetime, end: datetime, interval: str
    ) -> dict[date, int] | None:
        """Distinct stories per day or ISO week (keyed by its Monday) among the articles the
        tree matches whose day (published, else fetched) is in [start, end): one
        `date_histogram` with a `cardinality` of the story, as on Elasticsearch.

        tantivy's cardinality is HyperLogLog++, exact for the few hundred stories of a day and
        within about 1 % beyond. None when the index can only give a superset for this tree
        (a long proximity clause): the caller then checks candidates itself."""
        self.sync()
        compiled = compile_tantivy(tree, self.schema)
        if not compiled.exact:
            return None
        Q, Occur = tantivy.Query, tantivy.Occur
        in_window = Q.range_query(
            self.schema, "day", tantivy.FieldType.Date, start, end, include_upper=False
        )
        query = Q.boolean_query(
            [(Occur.Must, compiled.query), (Occur.Must, Q.const_score_query(in_window, 0.0))]
        )
        # weeks from Monday: the epoch (1970-01-01) was a Thursday, four days before one
        step = {"fixed_interval": "1d"} if interval == "day" else {"fixed_interval": "7d"}
        if interval != "day":
            step["offset"] = "4d"
        histogram = {"field": "day", "min_doc_count": 1, **step}
        stories = {"cardinality": {"field": STORY_FIELD}}
        aggs = {"days": {"date_histogram": histogram, "aggs": {"stories": stories}}}
        result = self.index.searcher().aggregate(query, aggs)
        counts: dict[date, int] = {}
        for b in result.get("days", {}).get("buckets", []):
            n = round(b.get("stories", {}).get("value") or 0)
            if b["doc_count"] and n:
                counts[date.fromisoformat(str(b["key_as_string"])[:10])] = n
        return counts

    def _page(
        self,
        searcher: tantivy.Searcher,
        query: tantivy.Query,
        sort: str,
        limit: int,
        offset: int,
        by_story: bool = False,
        descending: bool = True,
    ) -> IndexPage:
        order_field = ORDER_FIELDS.get(sort)
        if order_field is not None:
            order = tantivy.Order.Desc if descending else tantivy.Order.Asc
            result = searcher.search(
                query, limit, order_by_field=order_field, offset=offset, order=order
            )
        else:
            result = searcher.search(query, limit, offset=offset)
        addresses = [address for _, address in result.hits]
        values = searcher.fast_field_values("seq", addresses) if addresses else []
        seqs = [int(s) for s in values if s is not None]
        # a field sort's key is the field's value, not a score
        scores = [float(key) if order_field is None else 0.0 for key, _ in result.hits]
        page = IndexPage(seqs, scores, _count(result))
        if by_story and addresses:
            keys = searcher.fast_field_values(STORY_FIELD, addresses)
            page.story_keys = [int(k) if k is not None else 0 for k in keys]
        for seq, address in zip(seqs, addresses, strict=True):
            kept = searcher.doc(address).get_first("match_text")
            if kept:
                page.match_texts[seq] = bytes(kept).decode()
        return page

    def _aggregate(
        self,
        searcher: tantivy.Searcher,
        query: tantivy.Query,
        size: int | None,
        histogram: bool,
        scale: float,
        by_story: bool = False,
        count_stories: bool = False,
    ) -> tuple[dict[str, list[tuple[str, int]]], list[tuple[str, int]], int]:
        """Facet counts and the day histogram in one pass, each count multiplied by `scale`;
        `by_story`: facet values count the stories they appear in, most stories first;
        `count_stories`: the matches' stories are counted too (the third value, else 0)."""
        aggs: dict[str, Any] = {}
        if count_stories:
            aggs["_stories"] = {"cardinality": {"field": STORY_FIELD}}
        if size:
            for name, index_field in FACET_COUNT_FIELDS.items():
                # per-segment candidates well above `size`, so that counts merged across
                # segments are exact for the values shown (tantivy's default is 1.5x + 10)
                # entities hold the places too (split off by the archive): read more of them
                wanted = size * ENTITY_BUCKETS if name == "entity" else size
                terms: dict[str, Any] = {
                    "field": index_field,
                    "size": wanted,
                    "segment_size": max(10 * wanted, 100),
                }
                aggs[name] = {"terms": terms}
                if by_story:
                    terms["order"] = {"stories": "desc"}
                    aggs[name]["aggs"] = {"stories": {"cardinality": {"field": STORY_FIELD}}}
        # By story, a day counts the stories that have a copy on it, as the facets do
        day_stories = {"stories": {"cardinality": {"field": STORY_FIELD}}} if by_story else None
        if histogram:
            aggs["_days"] = {"date_histogram": {"field": "published", "fixed_interval": "1d"}}
            if day_stories:
                aggs["_days"]["aggs"] = day_stories
        result = searcher.aggregate(query, aggs)
        undated: dict[str, Any] = {}
        if histogram:
            # The one date basis (issue 18): an article counts on its publication day, and an
            # undated one on the day it was fetched, as the backtest and the watchlists page
            # count it. Undated articles are few, so a second pass over them alone is cheap.
            Q, Occur = tantivy.Query, tantivy.Occur
            only_undated = Q.boolean_query(
                [(Occur.Must, query), (Occur.MustNot, Q.exists_query("published"))]
            )
            by_fetch: dict[str, Any] = {
                "date_histogram": {"field": "fetched", "fixed_interval": "1d"}
            }
            if day_stories:
                by_fetch["aggs"] = day_stories
            undated = searcher.aggregate(only_undated, {"_days": by_fetch})
        facets: dict[str, list[tuple[str, int]]] = {}
        if size:
            for name in FACET_COUNT_FIELDS:
                buckets = result.get(name, {}).get("buckets", [])
                pairs = [
                    (str(b["key"]), round(_bucket_count(b, by_story) * scale)) for b in buckets
                ]
                # count first, then value: a stable order for equal counts
                facets[name] = sorted(pairs, key=lambda p: (-p[1], p[0]))
        per_day: dict[str, int] = {}
        for part in (result, undated):
            for b in part.get("_days", {}).get("buckets", []):
                if b["doc_count"]:  # tantivy fills the gaps with empty days
                    day = str(b["key_as_string"])[:10]
                    per_day[day] = per_day.get(day, 0) + round(_bucket_count(b, by_story))
        days = [(day, round(n * scale)) for day, n in sorted(per_day.items())]
        stories = round(float(result.get("_stories", {}).get("value") or 0))
        return facets, days, stories


def _bucket_count(bucket: dict[str, Any], by_story: bool) -> float:
    """A facet bucket's count: its articles, or by story the stories among them."""
    if by_story:
        return float(bucket.get("stories", {}).get("value") or 0)
    return float(bucket["doc_count"])


def _filter(query: tantivy.Query) -> tantivy.Query:
    return tantivy.Query.const_score_query(query, 0.0)


def _count(result: tantivy.SearchResult) -> int:
    # `count` exists at run time (search(..., count=True)); the bundled stubs omit it
    return int(getattr(result, "count", 0) or 0)
