"""The embedded store of record: articles, their full-text index, crawl state and the outbox.

SQLite in WAL mode. An article, its facets, its index entry and the alerts it triggers are
written in one transaction, so a crash leaves either all of them or none; writes are keyed by
the article id (hash of the canonical URL), so re-processing a page never makes a second copy.
Each concern's tables have their own module (`articles`, `crawl_state`, `outbox`, `retention`,
`verdicts`);
`Store` is all of them over one connection.
"""

from __future__ import annotations

from crawler.storage.articles import ArticleRows
from crawler.storage.crawl_state import CrawlStateRows
from crawler.storage.links import LinkRows
from crawler.storage.outbox import AlertPolicy, OutboxRows
from crawler.storage.verdicts import VerdictRows

__all__ = ["AlertPolicy", "Store"]


class Store(ArticleRows, CrawlStateRows, LinkRows, OutboxRows, VerdictRows):
    """The SQLite store. Safe to share between threads (one connection behind a lock)."""
