"""Rows of the SQLite store turned back into records (the only place that reads their columns)."""

from __future__ import annotations

import json

from crawler.article import Article, Entity
from crawler.dates import parse_iso
from crawler.records import Alert
from crawler.storage.engine import Row


def row_to_article(row: Row) -> Article:
    art = Article(url=row["url"], canonical_url=row["canonical_url"], source=row["source"])
    art.title = row["title"]
    art.text = row["text"]
    art.comments = row["comments"]
    art.author = row["author"]
    art.site_name = row["site_name"]
    art.published = parse_iso(row["published"])
    art.fetched = parse_iso(row["fetched"])
    art.language = row["language"]
    art.extractor = row["extractor"]
    art.fallback = bool(row["fallback"])
    art.relevance = row["relevance"]
    art.relevance_reasons = json.loads(row["relevance_reasons"])
    art.entities = [Entity.from_dict(e) for e in json.loads(row["entities"])]
    art.countries = json.loads(row["countries"])
    art.events = json.loads(row["events"])
    art.evidence = json.loads(row["evidence"])
    art.source_tags = json.loads(row["source_tags"])
    art.cluster_id = row["cluster_id"]
    art.is_cluster_lead = bool(row["is_cluster_lead"])
    art.content_hash = row["content_hash"]
    art.fingerprint = row["fingerprint"]
    art.publisher = row["publisher"]
    art.unresolved = bool(row["unresolved"])
    art.label = row["label"]
    return art


def row_to_alert(row: Row) -> Alert:
    return Alert(
        id=row["id"],
        watchlist=row["watchlist"],
        article_id=row["article_id"],
        cluster_id=row["cluster_id"],
        channel=row["channel"],
        kind=row["kind"],
        status=row["status"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        delivered_ts=row["delivered_ts"],
        thread_ts=row["thread_ts"],
        created=parse_iso(row["created"]),
        payload={"terms": json.loads(row["terms"]), "source": row["source"]},
        sending_at=parse_iso(row["sending_at"]),
        last_attempt=parse_iso(row["last_attempt"]),
        next_attempt=parse_iso(row["next_attempt"]),
        delivered_at=parse_iso(row["delivered_at"]),
    )
