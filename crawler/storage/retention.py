"""Retention: pruning old articles from the embedded store, never the alert history.

`prune(store, older_than)` deletes articles fetched (and, when dated, published) before the
cutoff, with their facets and full-text index rows, and the poll history, recorded links and
resolved aggregator tokens of the same age. Rows of the `alerts` table are never touched: the
desk's record of what was sent stays whole. An article whose alert is still waiting (pending,
or held for a digest) is kept until it is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from crawler.config import parse_interval
from crawler.dates import iso, utcnow
from crawler.storage import Store
from crawler.storage.engine import Row
from crawler.textnorm import index_text

log = logging.getLogger("watchdesk.retention")

# Articles deleted per transaction: small enough that the crawler's writes (which wait on the
# same lock) are held up for milliseconds, not seconds, when a first prune meets a big backlog.
BATCH = 500


@dataclass
class PruneReport:
    """What one prune removed; `articles` are the article rows (with their index rows)."""

    cutoff: datetime
    articles: int = 0
    facets: int = 0
    fts_rows: int = 0
    polls: int = 0
    links: int = 0  # recorded links (refused, or other URLs of an article) last seen earlier
    kept_for_alerts: int = 0  # old articles kept because an alert for them is still waiting

    def to_dict(self) -> dict[str, object]:
        return {
            "cutoff": iso(self.cutoff),
            "articles": self.articles,
            "facets": self.facets,
            "fts_rows": self.fts_rows,
            "polls": self.polls,
            "links": self.links,
            "kept_for_alerts": self.kept_for_alerts,
        }


def retention_cutoff(retention: str | None, now: datetime | None = None) -> datetime | None:
    """The cutoff for a `store.retention` setting like "365d"; None keeps everything."""
    if not retention:
        return None
    return (now or utcnow()) - parse_interval(retention)


_OLD = """FROM articles a WHERE a.fetched < ?
    AND (a.published IS NULL OR a.published < ?)"""
_WAITING = """EXISTS (SELECT 1 FROM alerts l WHERE l.article_id = a.id
    AND l.status IN ('pending', 'held'))"""


def prune(
    store: Store,
    older_than: datetime | timedelta,
    *,
    on_deleted: Callable[[list[str]], object] | None = None,
) -> PruneReport:
    """Delete articles older than `older_than` (a cutoff time, or an age before now).

    "Older" means fetched before the cutoff and, when the article has a publication date,
    published before it too: an old story found today is kept for the full period, so it is
    not deleted and then fetched again on the next poll. `on_deleted` receives each batch of
    deleted article ids (for a search index kept beside the store). Idempotent; safe to run
    while the crawler writes (each batch is one short transaction).
    """
    cutoff = utcnow() - older_than if isinstance(older_than, timedelta) else older_than
    report = PruneReport(cutoff=cutoff)
    params = (iso(cutoff), iso(cutoff))
    report.kept_for_alerts = int(
        store.execute(f"SELECT count(*) {_OLD} AND {_WAITING}", params)[0][0]
    )
    while True:
        rows = store.execute(
            f"SELECT a.seq, a.id, a.title, a.text {_OLD} AND NOT {_WAITING} "
            f"ORDER BY a.seq LIMIT {BATCH}",
            params,
        )
        if not rows:
            break
        _delete_batch(store, rows, report)
        if on_deleted is not None:
            on_deleted([r["id"] for r in rows])
    with store._tx() as c:
        report.polls = c.execute("DELETE FROM polls WHERE at < ?", (iso(cutoff),)).rowcount
        c.execute("DELETE FROM cycles WHERE at < ?", (iso(cutoff),))
        # links and resolved aggregator tokens last seen before the cutoff: a link listed
        # again later is settled again on its next poll
        report.links = c.execute("DELETE FROM links WHERE seen < ?", (iso(cutoff),)).rowcount
        c.execute("DELETE FROM aggregator_tokens WHERE resolved < ?", (iso(cutoff),))
    if report.articles or report.polls:
        log.info(
            "retention pruned articles=%d polls=%d kept_for_alerts=%d cutoff=%s",
            report.articles,
            report.polls,
            report.kept_for_alerts,
            iso(cutoff),
        )
    return report


def _delete_batch(store: Store, rows: Sequence[Row], report: PruneReport) -> None:
    with store._tx() as c:
        for row in rows:
            seq = row["seq"]
            report.facets += c.execute("DELETE FROM article_facets WHERE seq = ?", (seq,)).rowcount
            if store.full_text:
                # A contentless FTS5 table forgets a row only through its 'delete' command,
                # given the very values that were indexed: the store indexes index_text(…).
                c.execute(
                    "INSERT INTO articles_fts (articles_fts, rowid, title, text) "
                    "VALUES ('delete', ?, ?, ?)",
                    (seq, index_text(row["title"]), index_text(row["text"])),
                )
                report.fts_rows += 1
            report.articles += c.execute("DELETE FROM articles WHERE seq = ?", (seq,)).rowcount


__all__ = ["BATCH", "PruneReport", "prune", "retention_cutoff"]
