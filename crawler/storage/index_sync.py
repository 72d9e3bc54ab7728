"""What an external search index (Elasticsearch) holds of the store: a watermark per target and
the articles the index rejected, kept for a retry, in the store's own database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from crawler.dates import iso, utcnow
from crawler.storage.database import Database

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
    # articles the index refused for good (the same document would be refused again): not
    # retried, not in the backlog, shown by `watchdesk index status`
    """CREATE TABLE IF NOT EXISTS elastic_rejected (
        target TEXT NOT NULL,
        seq INTEGER NOT NULL,
        article_id TEXT NOT NULL,
        status INTEGER NOT NULL,
        reason TEXT NOT NULL,
        rejected_at TEXT NOT NULL,
        PRIMARY KEY (target, seq)
    )""",
)


@dataclass(frozen=True, slots=True)
class PendingArticle:
    """An article the index rejected: its store seq, id, HTTP status and reason, attempts."""

    seq: int
    article_id: str
    status: int
    reason: str
    attempts: int


@dataclass(frozen=True, slots=True)
class Rejection:
    """One article the index refused in a bulk request."""

    seq: int
    article_id: str
    status: int
    reason: str


class IndexSyncState:
    """The watermark and the rejected articles of one target (cluster URL and write alias)."""

    def __init__(self, store: Database, target: str) -> None:
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
               ON CONFLICT (target) DO UPDATE SET
               seq = CASE WHEN excluded.seq > elastic_sync.seq THEN excluded.seq
               ELSE elastic_sync.seq END,
               updated = excluded.updated""",
            (self.target, seq, iso(utcnow())),
        )

    def hold(self, rejected: Sequence[Rejection]) -> None:
        """Keep rejected articles (with their seq) for a later retry, counting attempts."""
        now = iso(utcnow())
        for r in rejected:
            self.store.execute(
                """INSERT INTO elastic_pending
                   (target, seq, article_id, status, reason, attempts, last_attempt)
                   VALUES (?, ?, ?, ?, ?, 1, ?)
                   ON CONFLICT (target, seq) DO UPDATE SET status = excluded.status,
                   reason = excluded.reason, attempts = elastic_pending.attempts + 1,
                   last_attempt = excluded.last_attempt""",
                (self.target, r.seq, r.article_id, r.status, r.reason, now),
            )

    def reject(self, rejected: Sequence[Rejection]) -> None:
        """Record articles the index refused for good; they leave the retry queue."""
        now = iso(utcnow())
        with self.store._tx() as conn:  # moved, never in both tables nor in neither
            for r in rejected:
                conn.execute(
                    """INSERT INTO elastic_rejected
                       (target, seq, article_id, status, reason, rejected_at)
                       VALUES (?, ?, ?, ?, ?, ?)
                       ON CONFLICT (target, seq) DO UPDATE SET status = excluded.status,
                       reason = excluded.reason, rejected_at = excluded.rejected_at""",
                    (self.target, r.seq, r.article_id, r.status, r.reason, now),
                )
                conn.execute(
                    "DELETE FROM elastic_pending WHERE target = ? AND seq = ?",
                    (self.target, r.seq),
                )

    def rejected(self, limit: int | None = None) -> list[Rejection]:
        """The articles refused for good, oldest first."""
        rows = self.store.execute(
            """SELECT seq, article_id, status, reason FROM elastic_rejected
               WHERE target = ? ORDER BY seq LIMIT ?""",
            (self.target, -1 if limit is None else limit),
        )
        return [Rejection(r[0], r[1], r[2], r[3]) for r in rows]

    def requeue_rejected(self) -> int:
        """Put every rejected article back in the retry queue (after the cause was fixed, e.g.
        a mapping updated by `index setup`); returns how many."""
        now = iso(utcnow())
        with self.store._tx() as conn:
            moved = conn.execute(
                """INSERT INTO elastic_pending
                   (target, seq, article_id, status, reason, attempts, last_attempt)
                   SELECT target, seq, article_id, status, reason, 0, ? FROM elastic_rejected
                   WHERE target = ? ORDER BY seq
                   ON CONFLICT (target, seq) DO NOTHING""",
                (now, self.target),
            ).rowcount
            conn.execute("DELETE FROM elastic_rejected WHERE target = ?", (self.target,))
        return int(moved)

    def rejected_count(self) -> int:
        rows = self.store.execute(
            "SELECT count(*) FROM elastic_rejected WHERE target = ?", (self.target,)
        )
        return int(rows[0][0])

    def release(self, seqs: Sequence[int]) -> None:
        """Forget held articles that were indexed at last."""
        for i in range(0, len(seqs), 500):
            chunk = list(seqs[i : i + 500])
            marks = ",".join("?" * len(chunk))
            self.store.execute(
                f"DELETE FROM elastic_pending WHERE target = ? AND seq IN ({marks})",
                (self.target, *chunk),
            )

    def pending(self, limit: int | None = None) -> list[PendingArticle]:
        rows = self.store.execute(
            """SELECT seq, article_id, status, reason, attempts FROM elastic_pending
               WHERE target = ? ORDER BY seq LIMIT ?""",
            (self.target, 2**63 - 1 if limit is None else limit),  # no limit: -1 is SQLite's only
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
