"""The store of record: SQLite tables for articles, crawl state and the outbox.

The only package that speaks SQL to the store.
"""

from crawler.storage.store import Store

__all__ = ["Store"]
