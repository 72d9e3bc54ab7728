"""`ElasticsearchArchive`: the archive interface over an Elasticsearch cluster.

Writes go through the write alias (rolled over by ILM) with `helpers.streaming_bulk`, each
document keyed by the article id; reads go through the read alias that every article index
joins. `setup` installs the ILM policy, templates and aliases idempotently.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError, helpers

from crawler.article import Article
from crawler.config import ElasticsearchConfig
from crawler.query import AliasResolver, Query, positive_literals
from crawler.query.elasticsearch import compile_search
from crawler.search.attention import StoryCounts
from crawler.search.elastic.attention import counts_from_response, story_counts_body
from crawler.search.elastic.client import connect, redact_url
from crawler.search.elastic.document import article_document, article_from_source
from crawler.search.elastic.results import result_from_response
from crawler.search.elastic.templates import IndexNames, Resources, render_resources
from crawler.search.facet_labels import ENTITY_BUCKETS, facet_labels, split_places
from crawler.search.request import (
    BEST_FLOOR,
    COPIES_SHOWN,
    SCORE_SORTS,
    SearchRequest,
    SearchResult,
)

log = logging.getLogger(__name__)

# Documents per bulk request: Elastic's sizing advice is 5-15 MB per request; watchdesk
# documents are ~5-20 KB (text twice: folded for the index, as written for display).
BULK_CHUNK = 500
# Retries of documents rejected with 429 (the cluster's write queue is full), waiting 2 s, 4 s,
# 8 s, 16 s: about half a minute of back-pressure before they are reported as failed.
BULK_RETRIES = 4
BULK_BACKOFF = 2.0

# The errors of a document the cluster refuses for good: the same document, sent again, is
# refused again (a value its mapping cannot parse, a term past Lucene's limit). Anything else
# (429 after the retries, a blocked index, a shard not available, a strict mapping that
# `index setup` has not updated yet) may pass later and is retried.
PERMANENT_ERRORS = frozenset(
    {"mapper_parsing_exception", "document_parsing_exception", "illegal_argument_exception"}
)


@dataclass
class BulkFailure:
    """One document Elasticsearch did not take, with its reason; `permanent` when the cluster
    would refuse it again (a 400 with one of PERMANENT_ERRORS)."""

    article_id: str
    status: int
    reason: str
    permanent: bool = False


@dataclass
class BulkReport:
    indexed: list[str] = field(default_factory=list)
    failed: list[BulkFailure] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Change:
    """One thing `setup` looked at: what it is, its name, and what was done."""

    kind: str  # "ilm policy", "component template", "index template", "index", "mapping"
    name: str
    action: str  # "created", "updated", "unchanged"

    def __str__(self) -> str:
        return f"{self.kind} {self.name}: {self.action}"


def _failure(item: dict[str, Any]) -> BulkFailure:
    op = next(iter(item.values()))
    error = op.get("error") or op.get("exception") or "unknown error"
    status = int(op.get("status") or 0)
    kind = ""
    if isinstance(error, dict):
        kind = str(error.get("type", "error"))
        reason = f"{kind}: {error.get('reason', '')}".strip()
    else:
        reason = str(error)
    permanent = status == 400 and kind in PERMANENT_ERRORS
    return BulkFailure(str(op.get("_id", "")), status, reason[:500], permanent)


def _bulk_lines(
    action: bytes | str | dict[str, Any],
) -> tuple[dict[str, Any], bytes | dict[str, Any] | None]:
    """The action line and source of one of `bulk_index`'s actions (the helpers' own expansion
    would put `require_alias` in the source: it is a per-action flag of the bulk API)."""
    assert isinstance(action, dict)  # bulk_index makes every action
    meta: dict[str, Any] = {"_index": action["_index"], "_id": action["_id"]}
    if action.get("require_alias"):
        meta["require_alias"] = True
    if action["_op_type"] == "delete":
        return {"delete": meta}, None
    return {"index": meta}, action["_source"]


class ElasticsearchArchive:
    """The archive on an Elasticsearch cluster (see module docstring)."""

    name = "elasticsearch"

    def __init__(
        self,
        client: Elasticsearch,
        cfg: ElasticsearchConfig,
        aliases: AliasResolver | None = None,
        *,
        bulk_retries: int = BULK_RETRIES,
        bulk_backoff: float = BULK_BACKOFF,
    ) -> None:
        self.client = client
        self.cfg = cfg
        self.names = IndexNames(cfg.index_prefix)
        self.aliases = aliases
        self.bulk_retries = bulk_retries
        self.bulk_backoff = bulk_backoff

    @classmethod
    def from_config(
        cls, cfg: ElasticsearchConfig, aliases: AliasResolver | None = None, **client_options: Any
    ) -> ElasticsearchArchive:
        """An archive for the configured cluster; credentials from the environment."""
        return cls(connect(cfg, **client_options), cfg, aliases)

    def __repr__(self) -> str:
        return f"ElasticsearchArchive({redact_url(self.cfg.url)!r}, {self.cfg.index_prefix!r})"

    # -- writing -----------------------------------------------------------------------------

    def bulk_index(self, items: Iterable[tuple[Article, int | None]]) -> BulkReport:
        """Index (article, store seq) pairs; per-document outcomes.

        An article already in an article index (an older one, after a rollover) is written
        there again, its copies in other indices deleted, so that it exists once
        (`locate`); a new one goes through the write alias. Documents rejected with 429 are
        retried with backoff; other rejections are reported, not raised. A cluster that
        cannot be reached raises (elasticsearch.ConnectionError, TransportError), so that
        callers keep their place and try again later.
        """
        report = BulkReport()
        for ok, item in helpers.streaming_bulk(
            self.client,
            self._actions(items),
            chunk_size=BULK_CHUNK,
            max_retries=self.bulk_retries,
            initial_backoff=self.bulk_backoff,
            raise_on_error=False,
            raise_on_exception=True,
            expand_action_callback=_bulk_lines,
        ):
            ((op_type, result),) = item.items()
            if op_type == "delete":
                if not ok and result.get("status") != 404:
                    log.warning("elasticsearch: a second copy not deleted: %s", _failure(item))
            elif ok:
                report.indexed.append(str(result.get("_id", "")))
            else:
                report.failed.append(_failure(item))
        if report.failed:
            # one line per bulk, not per document: the report carries every reason
            first = report.failed[0]
            log.warning(
                "elasticsearch rejected=%d indexed=%d first_id=%s status=%d reason=%s",
                len(report.failed),
                len(report.indexed),
                first.article_id,
                first.status,
                first.reason,
            )
        return report

    def _actions(self, items: Iterable[tuple[Article, int | None]]) -> Iterator[dict[str, Any]]:
        """Bulk actions, BULK_CHUNK articles at a time, each routed to the index holding it."""
        pairs = iter(items)
        while batch := list(islice(pairs, BULK_CHUNK)):
            held = self.locate([article.id for article, _ in batch])
            for article, seq in batch:
                indices = held.get(article.id, [])
                action: dict[str, Any] = {
                    "_op_type": "index",
                    "_id": article.id,
                    "_source": article_document(article, seq),
                }
                if indices:
                    action["_index"] = indices[0]
                else:
                    # never let a missing alias auto-create a stray index named like it
                    action["_index"] = self.names.write_alias
                    action["require_alias"] = True
                yield action
                for extra in indices[1:]:
                    yield {"_op_type": "delete", "_index": extra, "_id": article.id}

    def locate(self, article_ids: list[str]) -> dict[str, list[str]]:
        """The article indices that hold each of these articles, oldest first (an index's
        rollover number grows). Looked up by id through the read alias, as a GET by id cannot
        span several indices; it sees what the last refresh (1 s) made searchable."""
        if not article_ids:
            return {}
        try:
            resp = self.client.search(
                index=self.names.read_alias,
                query={"ids": {"values": article_ids}},
                # two copies at most are expected, more are possible only after several
                # rollovers with the same article resent: room for all of them
                size=min(10 * len(article_ids), 10_000),
                source=False,
                track_total_hits=False,
            )
        except NotFoundError:  # no read alias yet: nothing is held anywhere
            return {}
        held: dict[str, list[str]] = {}
        for hit in resp["hits"]["hits"]:
            held.setdefault(str(hit["_id"]), []).append(str(hit["_index"]))
        return {article_id: sorted(indices) for article_id, indices in held.items()}

    def index_articles(self, articles: Iterable[Article]) -> int:
        return len(self.bulk_index((a, None) for a in articles).indexed)

    def delete_articles(self, article_ids: Iterable[str]) -> int:
        ids = list(article_ids)
        if not ids:
            return 0
        resp = self.client.delete_by_query(
            index=self.names.read_alias, query={"ids": {"values": ids}}, refresh=True
        )
        return int(resp.get("deleted", 0))

    def refresh(self) -> None:
        """Make everything indexed so far searchable now (tests and migrations)."""
        self.client.indices.refresh(index=self.names.read_alias)

    # -- reading -----------------------------------------------------------------------------

    def get_article(self, article_id: str) -> Article | None:
        # a GET by id cannot go through an alias over several indices: search by id instead
        resp = self.client.search(
            index=self.names.read_alias,
            query={"ids": {"values": [article_id]}},
            size=1,
            source_includes=["article"],
        )
        hits = resp["hits"]["hits"]
        return article_from_source(hits[0]["_source"]) if hits else None

    def count(self) -> int:
        return int(self.client.count(index=self.names.read_alias)["count"])

    def search(self, request: SearchRequest) -> SearchResult:
        started = time.perf_counter()
        tree = request.query_tree()
        body = search_body(request, tree, self.aliases)
        resp = self.client.search(index=self.names.read_alias, body=body)
        result = result_from_response(
            resp.body, positive_literals(tree) if tree else [], by_story=request.by_story
        )
        if request.facets:
            result.facets = split_places(result.facets, request.facet_size)
            result.facet_labels = facet_labels(result.facets)
        result.took_ms = (time.perf_counter() - started) * 1000
        return result

    def story_counts(self, request: StoryCounts) -> dict[date, int]:
        """Stories per bucket, counted by the cluster (`crawler.search.elastic.attention`)."""
        body = story_counts_body(request, self.aliases)
        resp = self.client.search(index=self.names.read_alias, body=body)
        return counts_from_response(resp.body)

    def close(self) -> None:
        self.client.close()

    # -- installation ------------------------------------------------------------------------

    def setup(self, *, with_ilm: bool = True) -> list[Change]:
        """Install the ILM policy, templates, first index and aliases; report what changed.

        `with_ilm=False` skips the policy, for clusters without ILM (Elastic serverless,
        API emulators); rollover and retention are then the operator's business.

        Idempotent: a resource whose content hash (in its `_meta`) matches is left alone.
        A changed mapping is also applied to the current write index and the percolator
        index (additive changes only; a conflicting one raises with Elasticsearch's reason).
        Analysis changes reach only indices created after the next rollover.
        """
        res = render_resources(self.cfg)
        names = res.names
        es = self.client
        changes: list[Change] = []

        def record(
            kind: str, name: str, existing: dict[str, Any] | None, body: dict[str, Any]
        ) -> str:
            want = body["_meta"]["watchdesk_hash"]
            if existing is None:
                action = "created"
            elif (existing.get("_meta") or {}).get("watchdesk_hash") == want:
                action = "unchanged"
            else:
                action = "updated"
            changes.append(Change(kind, name, action))
            return action

        if with_ilm:
            try:
                policies = es.ilm.get_lifecycle(name=names.ilm_policy)
                current = policies[names.ilm_policy]["policy"]
            except NotFoundError:
                current = None
            if record("ilm policy", names.ilm_policy, current, res.ilm_policy) != "unchanged":
                es.ilm.put_lifecycle(name=names.ilm_policy, policy=res.ilm_policy)

        mappings_changed = False
        for name, body in (
            (names.analysis_component, res.analysis_component),
            (names.mappings_component, res.mappings_component),
        ):
            try:
                found = es.cluster.get_component_template(name=name)["component_templates"]
                existing = found[0]["component_template"] if found else None
            except NotFoundError:
                existing = None
            action = record("component template", name, existing, body)
            if action != "unchanged":
                es.cluster.put_component_template(name=name, body=body)
                mappings_changed |= action == "updated" and name == names.mappings_component

        for name, body in (
            (names.articles_template, res.articles_template),
            (names.watchlists_template, res.watchlists_template),
        ):
            try:
                found = es.indices.get_index_template(name=name)["index_templates"]
                existing = found[0]["index_template"] if found else None
            except NotFoundError:
                existing = None
            if record("index template", name, existing, body) != "unchanged":
                es.indices.put_index_template(name=name, body=body)

        changes += self._bootstrap(res, mappings_changed)
        return changes

    def _bootstrap(self, res: Resources, mappings_changed: bool) -> list[Change]:
        names = res.names
        es = self.client
        changes: list[Change] = []
        if es.indices.exists_alias(name=names.write_alias):
            changes.append(Change("write alias", names.write_alias, "unchanged"))
        else:
            # the index template adds the read alias; the write alias is set here, once
            es.indices.create(
                index=names.first_index, aliases={names.write_alias: {"is_write_index": True}}
            )
            changes.append(Change("index", f"{names.first_index} (+ aliases)", "created"))
        if es.indices.exists(index=names.watchlists_index):
            changes.append(Change("index", names.watchlists_index, "unchanged"))
        else:
            es.indices.create(index=names.watchlists_index)
            changes.append(Change("index", names.watchlists_index, "created"))
        if mappings_changed:
            mappings = res.mappings_component["template"]["mappings"]
            for target in (names.write_alias, names.watchlists_index):
                # index by index: after a rollover the write alias also names older indices,
                # and each keeps the fixed parameters it was created with
                current = es.indices.get_mapping(index=target).body
                for index, found in sorted(current.items()):
                    existing = (found.get("mappings") or {}).get("properties") or {}
                    properties = keep_fixed_parameters(mappings["properties"], existing)
                    es.indices.put_mapping(index=index, properties=properties)
                    changes.append(Change("mapping", index, "updated"))
        return changes


# Mapping parameters an existing field cannot change (put_mapping refuses with "Cannot update
# parameter"): a change to them reaches the indices created after the next rollover only.
FIXED_PARAMETERS = ("analyzer", "index_phrases", "index_prefixes")


def keep_fixed_parameters(properties: dict[str, Any], existing: dict[str, Any]) -> dict[str, Any]:
    """`properties` with the FIXED_PARAMETERS of every field the index already maps as they
    are there, so that put_mapping applies the rest (new fields, `ignore_above`) in place."""
    out: dict[str, Any] = {}
    for name, spec in properties.items():
        have = existing.get(name)
        if not isinstance(have, dict):
            out[name] = spec
            continue
        spec = {k: v for k, v in spec.items() if k not in FIXED_PARAMETERS}
        spec.update({k: have[k] for k in FIXED_PARAMETERS if k in have})
        if "properties" in spec:
            spec["properties"] = keep_fixed_parameters(
                spec["properties"], have.get("properties") or {}
            )
        out[name] = spec
    return out


__all__ = [
    "PERMANENT_ERRORS",
    "BulkFailure",
    "BulkReport",
    "Change",
    "ElasticsearchArchive",
    "keep_fixed_parameters",
]


def undated_histogram(histogram: dict[str, Any]) -> dict[str, Any]:
    """The day histogram of the undated matches, by the day they were fetched.

    With the published-day histogram it makes the one date basis of every count (issue 18):
    the publication day, or the fetch day for an article that has none, as the embedded index
    and the backtest count. `result_from_response` adds the two.
    """
    by_fetch = {**histogram["date_histogram"], "field": "fetched"}
    return {
        "filter": {"bool": {"must_not": [{"exists": {"field": "published"}}]}},
        "aggs": {"days": {"date_histogram": by_fetch}},
    }


def search_body(
    request: SearchRequest, tree: Query | None, aliases: AliasResolver | None
) -> dict[str, Any]:
    """The Elasticsearch body of a search: the compiled query, page, highlights, aggregations,
    with the `best` sort as a `function_score` and the undated matches' fetch-day histogram.

    `best` is text score × (BEST_FLOOR + relevance), as the embedded archive re-ranks
    (`crawler.search.request.best_score`): a `weight` function and a `field_value_factor` of
    `relevance`, summed (`score_mode: sum`) and multiplied into the query's score
    (`boost_mode: multiply`)."""
    sort = "date" if request.sort == "date" else "relevance"
    body = compile_search(
        tree,
        aliases=aliases,
        sort=sort,
        offset=request.offset,
        limit=request.limit,
        facets=request.facets,
        facet_size=request.facet_size,
        histogram=request.histogram,
    )
    if not request.snippets:
        body.pop("highlight", None)
    # as the embedded archive: a query of filters alone has no text score to blend
    if request.sort == "best" and tree is not None and positive_literals(tree):
        if "highlight" in body:
            # marks come from the text query itself, not from its scoring wrapper
            body["highlight"]["highlight_query"] = body["query"]
        body["query"] = best_function_score(body["query"])
    column = column_sort(request)
    if column is not None:
        body["sort"] = column
        body["track_scores"] = True  # hits in a column's order still report their text score
    if request.histogram:
        body["aggs"]["histogram_undated"] = undated_histogram(body["aggs"]["histogram"])
    if request.facets and "facet_entity" in body.get("aggs", {}):
        # entities hold the places too, split off by `split_places`: read more of them
        body["aggs"]["facet_entity"]["terms"]["size"] = request.facet_size * ENTITY_BUCKETS
    if request.by_story:
        by_story(body)
    return body


STORY_FIELD = "story_id"
COPIES_HITS = "copies"
# A column sort of `SearchRequest` -> the document field it orders by, as the embedded
# index's ORDER_FIELDS (`title_sort` and `outlet_sort` hold `request.sort_key`).
ORDER_FIELDS = {
    "date": "published",
    "title": "title_sort",
    "outlet": "outlet_sort",
    "domain": "relevance",
}
# The sort fields added after the first indices were made: `setup` maps them on the write
# index only, and documents indexed before have no value (they sort last, as untitled ones)
# until they are written again.
UNMAPPED_BEFORE = ("title_sort", "outlet_sort")
# Ties under a column sort: newest first, then by id, so that pages never overlap.
COLUMN_TIES: list[dict[str, Any]] = [
    {"published": {"order": "desc", "missing": "_last"}},
    {"fetched": {"order": "desc", "missing": "_last"}},
    {"id": "asc"},
]


def column_sort(request: SearchRequest) -> list[dict[str, Any]] | None:
    """The `sort` clause of a column sort in the request's direction (articles without the
    field last, as on the embedded index), or None for the text-score sorts and for the
    default newest-first date order that `compile_search` already writes."""
    if request.sort in SCORE_SORTS or (request.sort == "date" and request.descending):
        return None
    field = ORDER_FIELDS[request.sort]
    order = "desc" if request.descending else "asc"
    first: dict[str, Any] = {"order": order, "missing": "_last"}
    if field in UNMAPPED_BEFORE:
        # an index rolled over before the field existed (its mapping never got it) sorts as
        # if none of its articles had one, instead of failing the search
        first["unmapped_type"] = "keyword"
    return [{field: first}, *(tie for tie in COLUMN_TIES if field not in tie)]


def by_story(body: dict[str, Any]) -> None:
    """Turn a search body into one that answers by story, as the embedded archive does.

    - Hits: field collapsing on `story_id` keeps the top hit of each story under the body's
      sort (the best-ranked copy); its `inner_hits` bring the story's other matching copies,
      oldest first, themselves collapsed on `id` (a copy left in an older index after a
      rollover is listed once) and counted by their `hits.total`.
    - Totals: collapsing leaves `hits.total` counting articles and "the total number of
      distinct groups is unknown" (Elasticsearch's reference), so a `cardinality` aggregation
      counts the stories.
    - Facets: collapsing does not reach aggregations; each facet's terms count the stories in
      a `cardinality` sub-aggregation and are ordered by it. The day histogram likewise counts
      the stories with a copy on each day.
    """
    body["collapse"] = {
        "field": STORY_FIELD,
        "inner_hits": {
            "name": COPIES_HITS,
            "size": COPIES_SHOWN + 1,  # the lead is among them
            "sort": [{"published": {"order": "asc", "missing": "_last"}}, {"id": "asc"}],
            "_source": {"includes": ["article"]},
            "collapse": {"field": "id"},
        },
    }
    aggs = body.setdefault("aggs", {})
    stories = {"cardinality": {"field": STORY_FIELD}}
    for name, agg in aggs.items():
        if name.startswith("facet_"):
            agg["terms"]["order"] = [{"stories": "desc"}, {"_key": "asc"}]
            agg["aggs"] = {"stories": stories}
    # a histogram day counts the stories with a copy on it, as the embedded index counts
    if "histogram" in aggs:
        aggs["histogram"]["aggs"] = {"stories": stories}
    if "histogram_undated" in aggs:
        aggs["histogram_undated"]["aggs"]["days"]["aggs"] = {"stories": stories}
    aggs["stories"] = stories


def best_function_score(query: dict[str, Any]) -> dict[str, Any]:
    """`query`'s score × (BEST_FLOOR + relevance): the `best` blend on the cluster."""
    return {
        "function_score": {
            "query": query,
            "functions": [
                {"weight": BEST_FLOOR},
                # relevance is clamped to 0..1 by the enrichment; a missing one counts as 0
                {"field_value_factor": {"field": "relevance", "factor": 1.0, "missing": 0.0}},
            ],
            "score_mode": "sum",
            "boost_mode": "multiply",
        }
    }
