"""The Elasticsearch backend: archive, index templates, store-to-index sync, percolator.

Only this package imports the `elasticsearch` client. The percolator matcher is imported from
`alerts.percolator` (it depends on the alerts package).
"""

from crawler.search.elastic.archive import BulkFailure, BulkReport, Change, ElasticsearchArchive
from crawler.search.elastic.client import (
    ElasticsearchSetupError,
    connect,
    credentials,
    redact_url,
)
from crawler.search.elastic.document import article_document, article_from_source
from crawler.search.elastic.sync import ArchiveSync, SyncReport, SyncState
from crawler.search.elastic.templates import TEMPLATES_DIR, IndexNames, render_resources

__all__ = [
    "TEMPLATES_DIR",
    "ArchiveSync",
    "BulkFailure",
    "BulkReport",
    "Change",
    "ElasticsearchArchive",
    "ElasticsearchSetupError",
    "IndexNames",
    "SyncReport",
    "SyncState",
    "article_document",
    "article_from_source",
    "connect",
    "credentials",
    "redact_url",
    "render_resources",
]
