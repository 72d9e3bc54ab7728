"""Ship articles from the SQLite store of record to Elasticsearch, losing nothing.

The store numbers articles by `seq` as it commits them. A committed watermark (table
`elastic_sync`) says up to which `seq` every article was sent; an article Elasticsearch
rejected is kept in `elastic_pending` with its reason and retried on every later run, unless
the cluster refused it for good (a 400 parsing error: `archive.PERMANENT_ERRORS`), which is
kept in `elastic_rejected` with its reason instead, shown by `index status`. So:

- cluster unreachable: the bulk raises, the watermark stays where it was, the next run sends
  the same articles again (idempotent: the document id is the article id);
- some documents rejected: the watermark moves on, the rejected ones wait in `elastic_pending`
  until the cluster takes them;
- crash between a bulk and the watermark update: the batch is sent again, harmlessly.

The same watermark makes `watchdesk index migrate` resumable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from elasticsearch import ApiError, TransportError

from crawler.article import Article
from crawler.search.elastic.archive import BulkFailure, ElasticsearchArchive
from crawler.search.elastic.client import redact_url
from crawler.storage import Store
from crawler.storage.index_sync import IndexSyncState, PendingArticle, Rejection

log = logging.getLogger(__name__)

# Articles per bulk: one store read and one bulk request (see archive.BULK_CHUNK).
BATCH = 500


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def sync_target(archive: ElasticsearchArchive) -> str:
    """The key of a watermark: cluster URL (no credentials) and write alias, so that pointing
    watchdesk at another cluster or prefix starts that one from the beginning."""
    return f"{redact_url(archive.cfg.url)}/{archive.names.write_alias}"


class SyncState(IndexSyncState):
    """The watermark and the rejected articles of one target, in the store's database."""

    def hold(self, rejected: Sequence[tuple[int, BulkFailure]]) -> None:  # type: ignore[override]
        """Keep articles the cluster rejected (seq, failure) for a later retry, or, refused for
        good (`BulkFailure.permanent`), as rejected: shown by `index status`, not retried."""
        rows = [
            (f.permanent, Rejection(seq, f.article_id, f.status, f.reason)) for seq, f in rejected
        ]
        super().hold([r for permanent, r in rows if not permanent])
        super().reject([r for permanent, r in rows if permanent])


@dataclass
class SyncReport:
    """What one `sync` run did. `error` is set when the cluster stopped answering."""

    indexed: int = 0
    rejected: list[BulkFailure] = field(default_factory=list)
    retried: int = 0
    watermark: int = 0
    backlog: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not self.rejected


class ArchiveSync:
    """Sends what the store holds beyond the watermark (and held articles) to the archive."""

    def __init__(self, store: Store, archive: ElasticsearchArchive, batch: int = BATCH) -> None:
        self.store = store
        self.archive = archive
        self.batch = batch
        self.state = SyncState(store, sync_target(archive))

    def _send(
        self, rows: list[tuple[int, Article]], report: SyncReport
    ) -> tuple[list[int], list[int]]:
        """Bulk-index stored articles; hold the rejected ones. Returns (indexed seqs, rejected)."""
        seq_of = {article.id: seq for seq, article in rows}
        bulk = self.archive.bulk_index((article, seq) for seq, article in rows)
        rejected = [(seq_of[f.article_id], f) for f in bulk.failed if f.article_id in seq_of]
        self.state.hold(rejected)
        report.rejected += [f for _, f in rejected]
        report.indexed += len(bulk.indexed)
        return [seq_of[i] for i in bulk.indexed if i in seq_of], [s for s, _ in rejected]

    def resend(self, seqs: Sequence[int], reason: str) -> int:
        """Send these stored articles again on the next `sync` (changed in the store since
        they were sent: labels filled in by `Store.backfill_labels`); returns how many.

        They are held like rejected articles (status 0, `reason`), so the next sync retries
        them first and a crash before it loses nothing; those beyond the watermark are sent
        anyway."""
        mark = self.state.watermark()
        rows = self.store.article_rows([s for s in seqs if s <= mark], "seq, id")
        self.state.hold([(int(r["seq"]), BulkFailure(r["id"], 0, reason)) for r in rows])
        return len(rows)

    def sync(
        self, progress: Callable[[int], None] | None = None, max_batches: int | None = None
    ) -> SyncReport:
        """Retry held articles, then send everything beyond the watermark, batch by batch.

        Never raises for an unreachable or failing cluster: the report's `error` says what
        happened and nothing past the last acknowledged batch is marked as sent.
        `progress(n)` is called after each batch with the number of articles handled.
        """
        report = SyncReport()
        try:
            held = self.state.pending()
            for i in range(0, len(held), self.batch):
                seqs = [p.seq for p in held[i : i + self.batch]]
                rows = sorted(self.store.articles_at(seqs).items())
                indexed, _ = self._send(rows, report)
                report.retried += len(indexed)
                # held articles pruned from the store meanwhile have nothing left to send
                gone = set(seqs) - {seq for seq, _ in rows}
                self.state.release(indexed + sorted(gone))
                if progress:
                    progress(len(seqs))
            batches = 0
            while max_batches is None or batches < max_batches:
                rows = self.store.articles_after(self.state.watermark(), self.batch)
                if not rows:
                    break
                self._send(rows, report)
                self.state.advance(rows[-1][0])
                batches += 1
                if progress:
                    progress(len(rows))
        except (ApiError, TransportError) as exc:
            report.error = (
                f"elasticsearch at {redact_url(self.archive.cfg.url)}: {type(exc).__name__}: "
                f"{_short(exc)}"
            )
            log.warning("elasticsearch sync stopped: %s", report.error)
        report.watermark = self.state.watermark()
        report.backlog = self.state.backlog()
        return report


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) <= 300 else text[:300] + "…"


__all__ = ["BATCH", "ArchiveSync", "PendingArticle", "SyncReport", "SyncState", "sync_target"]
