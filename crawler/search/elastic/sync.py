"""Ship articles from the SQLite store of record to Elasticsearch, losing nothing.

The store numbers articles by `seq` as it commits them. A committed watermark (table
`elastic_sync`) says up to which `seq` every article was sent; an article Elasticsearch
rejected is kept in `elastic_pending` with its reason and retried on every later run. So:

- cluster unreachable: the bulk raises, the watermark stays where it was, the next run sends
  the same articles again (idempotent: the document id is the article id);
- some documents rejected: the watermark moves on, the rejected ones wait in `elastic_pending`
  until the cluster takes them;
- crash between a bulk and the watermark update: the batch is sent again, harmlessly.

The same watermark makes `watchdesk index migrate` resumable.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from elasticsearch import ApiError, TransportError

from crawler.search.elastic.archive import BulkFailure, ElasticsearchArchive
from crawler.search.elastic.client import redact_url
from crawler.storage import Store
from crawler.storage.rows import row_to_article as _row_to_article

log = logging.getLogger(__name__)

# Articles per bulk: one store read and one bulk request (see archive.BULK_CHUNK).
BATCH = 500

_TABLES = (
    """CREATE TABLE IF NOT EXISTS elastic_sync (
        target TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        updated TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS elastic_pending (
        target TEXT NOT NULL,
        seq INTEGER NOT NULL,
        article_id TEXT NOT NULL,
        status INTEGER NOT NULL,
        reason TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 1,
        last_attempt TEXT NOT NULL,
        PRIMARY KEY (target, seq)
    )""",
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def sync_target(archive: ElasticsearchArchive) -> str:
    """The key of a watermark: cluster URL (no credentials) and write alias, so that pointing
    watchdesk at another cluster or prefix starts that one from the beginning."""
    return f"{redact_url(archive.cfg.url)}/{archive.names.write_alias}"


@dataclass(frozen=True, slots=True)
class PendingArticle:
    seq: int
    article_id: str
    status: int
    reason: str
    attempts: int


class SyncState:
    """The watermark and the rejected articles of one target, in the store's database."""

    def __init__(self, store: Store, target: str) -> None:
        self.store = store
        self.target = target
        for sql in _TABLES:
            store.execute(sql)

    def watermark(self) -> int:
        rows = self.store.execute("SELECT seq FROM elastic_sync WHERE target = ?", (self.target,))
        return int(rows[0][0]) if rows else 0

    def advance(self, seq: int) -> None:
        """Record that every article up to `seq` was sent (never moves backwards)."""
        self.store.execute(
            """INSERT INTO elastic_sync (target, seq, updated) VALUES (?, ?, ?)
               ON CONFLICT (target) DO UPDATE SET seq = max(seq, excluded.seq),
               updated = excluded.updated""",
            (self.target, seq, _now()),
        )

    def hold(self, rejected: list[tuple[int, BulkFailure]]) -> None:
        """Keep rejected articles (with their seq) for a later retry, counting attempts."""
        now = _now()
        for seq, failure in rejected:
            self.store.execute(
                """INSERT INTO elastic_pending
                   (target, seq, article_id, status, reason, attempts, last_attempt)
                   VALUES (?, ?, ?, ?, ?, 1, ?)
                   ON CONFLICT (target, seq) DO UPDATE SET status = excluded.status,
                   reason = excluded.reason, attempts = attempts + 1,
                   last_attempt = excluded.last_attempt""",
                (self.target, seq, failure.article_id, failure.status, failure.reason, now),
            )

    def release(self, seqs: list[int]) -> None:
        """Forget held articles that were indexed at last."""
        for i in range(0, len(seqs), 500):
            chunk = seqs[i : i + 500]
            marks = ",".join("?" * len(chunk))
            self.store.execute(
                f"DELETE FROM elastic_pending WHERE target = ? AND seq IN ({marks})",
                (self.target, *chunk),
            )

    def pending(self, limit: int | None = None) -> list[PendingArticle]:
        rows = self.store.execute(
            """SELECT seq, article_id, status, reason, attempts FROM elastic_pending
               WHERE target = ? ORDER BY seq LIMIT ?""",
            (self.target, -1 if limit is None else limit),
        )
        return [PendingArticle(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    def backlog(self) -> int:
        """Articles not in the index yet: beyond the watermark, plus those held back."""
        beyond = self.store.execute(
            "SELECT count(*) FROM articles WHERE seq > ?", (self.watermark(),)
        )[0][0]
        held = self.store.execute(
            "SELECT count(*) FROM elastic_pending WHERE target = ?", (self.target,)
        )[0][0]
        return int(beyond) + int(held)


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

    def _send(self, rows: list[sqlite3.Row], report: SyncReport) -> tuple[list[int], list[int]]:
        """Bulk-index store rows; hold the rejected ones. Returns (indexed seqs, rejected)."""
        seq_of = {row["id"]: int(row["seq"]) for row in rows}
        bulk = self.archive.bulk_index((_row_to_article(r), int(r["seq"])) for r in rows)
        rejected = [(seq_of[f.article_id], f) for f in bulk.failed if f.article_id in seq_of]
        self.state.hold(rejected)
        report.rejected += [f for _, f in rejected]
        report.indexed += len(bulk.indexed)
        return [seq_of[i] for i in bulk.indexed if i in seq_of], [s for s, _ in rejected]

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
                marks = ",".join("?" * len(seqs))
                rows = self.store.execute(f"SELECT * FROM articles WHERE seq IN ({marks})", seqs)
                indexed, _ = self._send(rows, report)
                report.retried += len(indexed)
                # held articles pruned from the store meanwhile have nothing left to send
                gone = set(seqs) - {int(r["seq"]) for r in rows}
                self.state.release(indexed + sorted(gone))
                if progress:
                    progress(len(seqs))
            batches = 0
            while max_batches is None or batches < max_batches:
                rows = self.store.execute(
                    "SELECT * FROM articles WHERE seq > ? ORDER BY seq LIMIT ?",
                    (self.state.watermark(), self.batch),
                )
                if not rows:
                    break
                self._send(rows, report)
                self.state.advance(int(rows[-1]["seq"]))
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
