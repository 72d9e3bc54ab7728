"""Choosing the archive a config asks for: the embedded index or Elasticsearch."""

from __future__ import annotations

from typing import Any

from crawler.search.request import Archive


def open_archive(loaded: Any, store: Any = None, aliases: Any = None) -> Archive:
    """The archive the config asks for: Elasticsearch when `store.elasticsearch` is set, else
    the embedded index over the SQLite store (opened here unless `store` is given).

    `aliases` resolves entity/place names in queries to ids (`EntityMatcher.ids_for_name`)."""
    es = loaded.config.store.elasticsearch
    if es is not None:
        from crawler.search.elastic import ElasticsearchArchive

        return ElasticsearchArchive.from_config(es, aliases=aliases)
    from crawler.search.embedded import EmbeddedArchive
    from crawler.storage import Store

    store = store if store is not None else Store(loaded.store_path)
    archive = EmbeddedArchive(store, aliases, index_path=getattr(loaded, "index_path", None))
    # articles stored before their source had a label (or before labels were stored) get it
    # from the config, in the index and the store; one indexed lookup once all are labelled
    archive.index.relabel(loaded.config.source_labels())
    return archive
