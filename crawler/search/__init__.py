"""Full-text search over the archive: the request/result types, the embedded tantivy index over
the store, and Elasticsearch."""
