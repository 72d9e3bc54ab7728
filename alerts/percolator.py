"""Watchlists as percolator queries: match articles on the cluster (`alerts.matcher: percolator`).

Each watchlist that is not muted is stored in the `{prefix}-watchlists` index as one document
whose `query` is its query compiled to Query DSL, with its language, source and relevance
conditions ANDed in (built like a search's filters, `SearchRequest.query_tree`). `match` asks
the cluster which stored queries an article satisfies, then finds the matched terms in-process
(`alerts.matcher.matched_terms`), so alerts highlight exactly what the in-process matcher would.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from elasticsearch import Elasticsearch

from alerts.matcher import WatchlistMatch, matched_terms
from alerts.watchlist import Watchlist
from crawler.article import Article
from crawler.config import ElasticsearchConfig
from crawler.query import AliasResolver, MatchDocument, Query, compile_elasticsearch, evaluate
from crawler.query.syntax import resolve_aliases
from crawler.search.elastic.client import connect
from crawler.search.elastic.document import article_document
from crawler.search.elastic.templates import IndexNames
from crawler.search.request import SearchRequest


def watchlist_tree(wl: Watchlist, aliases: AliasResolver | None = None) -> Query:
    """The watchlist's query with its own conditions (languages, sources, min_relevance)."""
    request = SearchRequest(
        query=wl.query,
        languages=wl.languages,
        sources=wl.sources,
        min_relevance=wl.min_relevance or None,
    )
    tree = request.query_tree()
    assert tree is not None  # a watchlist always has a query (the loader requires one)
    return resolve_aliases(tree, aliases)


def percolator_document(wl: Watchlist, order: int, aliases: AliasResolver | None = None) -> dict:
    """The document stored for one watchlist in the percolator index."""
    return {
        "query": compile_elasticsearch(watchlist_tree(wl, aliases)),
        "watchlist": {"name": wl.name, "order": order, "query_text": wl.query},
    }


class PercolatorMatcher:
    """`WatchlistMatcher`'s `match` contract, answered by the cluster's percolator.

    Call `sync_watchlists` after building it (and after every watchlist reload) so that the
    stored queries are the current ones.
    """

    def __init__(
        self,
        client: Elasticsearch,
        cfg: ElasticsearchConfig,
        watchlists: Sequence[Watchlist],
        aliases: AliasResolver | None = None,
    ) -> None:
        self.client = client
        self.names = IndexNames(cfg.index_prefix)
        self.watchlists = list(watchlists)
        self.aliases = aliases
        self._by_name = {wl.name: wl for wl in self.watchlists}
        # the in-process query per watchlist, for matched terms (aliases resolved once)
        self._trees: dict[str, Query] = {
            wl.name: watchlist_tree(wl, aliases)
            for wl in self.watchlists
            if not (wl.muted or wl.is_saved_search)
        }

    @classmethod
    def from_config(
        cls,
        cfg: ElasticsearchConfig,
        watchlists: Sequence[Watchlist],
        aliases: AliasResolver | None = None,
    ) -> PercolatorMatcher:
        return cls(connect(cfg), cfg, watchlists, aliases)

    def sync_watchlists(self) -> dict[str, int]:
        """Store every active watchlist's query, drop stored ones no longer active.

        Returns counts: {"stored": n, "removed": m}. The index is refreshed, so the next
        `match` sees the new queries.
        """
        index = self.names.watchlists_index
        operations: list[dict[str, Any]] = []
        order = {wl.name: i for i, wl in enumerate(self.watchlists)}
        for name in self._trees:
            wl = self._by_name[name]
            operations.append({"index": {"_index": index, "_id": name}})
            operations.append(percolator_document(wl, order[name], self.aliases))
        if operations:
            resp = self.client.bulk(operations=operations, refresh=True)
            if resp.get("errors"):
                reasons = [
                    f"{item['index'].get('_id')}: {item['index']['error'].get('reason', '')}"
                    for item in resp["items"]
                    if "error" in item["index"]
                ]
                raise ValueError("watchlists rejected by the percolator: " + "; ".join(reasons))
        removed = self.client.delete_by_query(
            index=index,
            query={"bool": {"must_not": [{"ids": {"values": sorted(self._trees)}}]}},
            refresh=True,
        )
        return {"stored": len(self._trees), "removed": int(removed.get("deleted", 0))}

    def matching_names(self, article: Article) -> set[str]:
        """Names of the stored watchlists the article satisfies, as the cluster says."""
        resp = self.client.search(
            index=self.names.watchlists_index,
            query={"percolate": {"field": "query", "document": article_document(article)}},
            size=max(10, len(self.watchlists)),
            source_includes=["watchlist.name"],
        )
        return {hit["_source"]["watchlist"]["name"] for hit in resp["hits"]["hits"]}

    def match(self, article: Article) -> list[WatchlistMatch]:
        """The watchlists the article matches, in watchlist order, with their matched terms."""
        names = self.matching_names(article)
        doc = MatchDocument.from_article(article, name_guard=True)
        return [
            WatchlistMatch(wl, matched_terms(self._trees[wl.name], doc))
            for wl in self.watchlists
            if wl.name in names
            and wl.name in self._trees
            # the proper-noun guard, which the cluster cannot apply (no sentences there)
            and (not doc.guards or evaluate(self._trees[wl.name], doc))
        ]

    def close(self) -> None:
        self.client.close()


__all__ = ["PercolatorMatcher", "percolator_document", "watchlist_tree"]
