"""The embedded store of record: articles, their full-text index, crawl state and the outbox.

SQLite in WAL mode. An article, its facets, its index entry and the alerts it triggers are
written in one transaction, so a crash leaves either all of them or none; writes are keyed by
the article id (hash of the canonical URL), so re-processing a page never makes a second copy.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from crawler.article import Article, facets
from crawler.dates import iso, parse_iso, utcnow
from crawler.records import (
    Alert,
    AlertKind,
    PollRecord,
    PollSummary,
    SourceState,
    StoryHistory,
    StoryMatch,
)
from crawler.storage.rows import row_to_alert, row_to_article
from crawler.storage.schema import migrate
from crawler.textnorm import index_text

# What a match becomes, given the story's history: `alerts.policy.alert_kind`, passed in by
# the service (the store records alerts; the alerting stage owns the rule).
AlertPolicy = Callable[[StoryHistory, str, bool], AlertKind | None]


class Store:
    """The SQLite store. Safe to share between threads (one connection behind a lock)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        # WAL lets readers (search, status) run while the crawler writes; synchronous=NORMAL in
        # WAL mode survives a killed process (only an OS crash can lose the last commits).
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA busy_timeout=10000")
        self._conn.execute("PRAGMA foreign_keys=ON")
        with self._lock:
            migrate(self._conn)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions ------------------------------------------------------------------------

    def _tx(self) -> _Transaction:
        return _Transaction(self)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Run one read query (used by search, status and tests)."""
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    # -- articles ----------------------------------------------------------------------------

    def known_ids(self, ids: Iterable[str]) -> set[str]:
        ids = list(ids)
        found: set[str] = set()
        with self._lock:
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(f"SELECT id FROM articles WHERE id IN ({marks})", chunk)
                found.update(r[0] for r in rows)
        return found

    def article_rows(self, seqs: Sequence[int], columns: str = "*") -> list[sqlite3.Row]:
        """The `articles` rows with these seqs (deleted ones skipped), in no set order.

        Asked in chunks of 500: SQLite's default limit of bound parameters is 999.
        """
        rows: list[sqlite3.Row] = []
        with self._lock:
            for i in range(0, len(seqs), 500):
                chunk = list(seqs[i : i + 500])
                marks = ",".join("?" * len(chunk))
                sql = f"SELECT {columns} FROM articles WHERE seq IN ({marks})"
                rows += self._conn.execute(sql, chunk).fetchall()
        return rows

    def has_article(self, article_id: str) -> bool:
        return bool(self.known_ids([article_id]))

    def save_article(
        self,
        article: Article,
        matches: Sequence[StoryMatch] = (),
        decide: AlertPolicy | None = None,
    ) -> bool:
        """Store a new article with its index entry and its alerts, in one transaction.

        Returns False (and writes nothing) when the article is already stored. What each match
        becomes (a story, a copy, a digest item, nothing) is `decide`'s call, given the story's
        history read in the same transaction: `alerts.policy.alert_kind` in the service.
        """
        if matches and decide is None:
            raise ValueError("save_article: matches need an alert policy (decide=alert_kind)")
        now = iso(utcnow())
        with self._tx() as c:
            if c.execute("SELECT 1 FROM articles WHERE id = ?", (article.id,)).fetchone():
                return False
            cur = c.execute(
                """INSERT INTO articles (id, canonical_url, url, source, title, text, comments,
                    author, site_name, published, fetched, language, extractor, fallback,
                    relevance, relevance_reasons, entities, countries, events, evidence,
                    source_tags, cluster_id, is_cluster_lead, content_hash, fingerprint)
                   VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
                (
                    article.id,
                    article.canonical_url,
                    article.url,
                    article.source,
                    article.title,
                    article.text,
                    article.comments,
                    article.author,
                    article.site_name,
                    iso(article.published),
                    iso(article.fetched) or now,
                    article.language,
                    article.extractor,
                    int(article.fallback),
                    article.relevance,
                    json.dumps(article.relevance_reasons),
                    json.dumps([e.to_dict() for e in article.entities], ensure_ascii=False),
                    json.dumps(article.countries),
                    json.dumps(article.events),
                    json.dumps(article.evidence, ensure_ascii=False),
                    json.dumps(article.source_tags),
                    article.cluster_id,
                    int(article.is_cluster_lead),
                    article.content_hash,
                    article.fingerprint,
                ),
            )
            seq = cur.lastrowid
            c.executemany(
                "INSERT OR IGNORE INTO article_facets (field, value, seq) VALUES (?,?,?)",
                [(f, v, seq) for f, v in facets(article)],
            )
            c.execute(
                "INSERT INTO articles_fts (rowid, title, text) VALUES (?,?,?)",
                (seq, index_text(article.title), index_text(article.text)),
            )
            for match in matches:
                self._add_alert(c, article, match, now, decide)  # type: ignore[arg-type]
        return True

    @staticmethod
    def _story_history(
        c: sqlite3.Connection, watchlist: str, cluster: str, digest: bool
    ) -> StoryHistory:
        rows = c.execute(
            "SELECT kind, status, source FROM alerts WHERE watchlist = ? AND cluster_id = ?",
            (watchlist, cluster),
        ).fetchall()
        return StoryHistory(
            story=any(r["kind"] == "story" for r in rows),
            sources={r["source"] for r in rows},
            released=any(r["status"] != "held" for r in rows),
        )

    def _add_alert(
        self,
        c: sqlite3.Connection,
        article: Article,
        match: StoryMatch,
        now: str | None,
        decide: AlertPolicy,
    ) -> None:
        cluster = article.cluster_id or article.id
        history = self._story_history(c, match.watchlist, cluster, match.digest)
        kind = decide(history, article.source, match.digest)
        if kind is None:
            return
        status = "held" if kind == "digest_item" else "pending"
        terms = [[t.term, t.field, t.start, t.end] for t in match.terms]
        c.execute(
            """INSERT OR IGNORE INTO alerts (watchlist, article_id, cluster_id, source, kind,
                channel, status, terms, created, next_attempt) VALUES (?,?,?,?,?,?,?,?,?,?)""",
            (
                match.watchlist,
                article.id,
                cluster,
                article.source,
                kind,
                match.channel,
                status,
                json.dumps(terms, ensure_ascii=False),
                now,
                now,
            ),
        )

    def get_article(self, article_id: str) -> Article | None:
        rows = self.execute("SELECT * FROM articles WHERE id = ?", (article_id,))
        return row_to_article(rows[0]) if rows else None

    def find_article(self, url_or_id: str) -> Article | None:
        """By id, by canonical URL, or by the URL as first fetched."""
        from crawler.urls import canonicalize_url

        found = self.get_article(url_or_id)
        if found or "://" not in url_or_id:
            return found
        rows = self.execute(
            "SELECT * FROM articles WHERE canonical_url = ? OR url = ? LIMIT 1",
            (canonicalize_url(url_or_id), url_or_id),
        )
        return row_to_article(rows[0]) if rows else None

    def iter_articles(self, since: datetime | None = None, batch: int = 500) -> Iterator[Article]:
        """Articles fetched since a time, oldest first (for backtests and migrations)."""
        last = 0
        while True:
            rows = self.execute(
                "SELECT * FROM articles WHERE seq > ? AND fetched >= ? ORDER BY seq LIMIT ?",
                (last, iso(since) or "", batch),
            )
            if not rows:
                return
            for row in rows:
                yield row_to_article(row)
            last = rows[-1]["seq"]

    def story_index_rows(self, limit: int) -> list[tuple[str, str | None, str, bytes | None]]:
        """(id, cluster_id, content_hash, fingerprint) of the newest stories, oldest first."""
        rows = self.execute(
            """SELECT id, cluster_id, content_hash, fingerprint FROM articles
               ORDER BY seq DESC LIMIT ?""",
            (limit,),
        )
        return [(r[0], r[1], r[2], r[3]) for r in reversed(rows)]

    def count_articles(self) -> int:
        return int(self.execute("SELECT count(*) FROM articles")[0][0])

    def delete_articles(self, article_ids: Sequence[str]) -> list[int]:
        """Delete articles with their facets and FTS5 entries; returns the seqs deleted.

        The alerts they raised stay (the outbox is a record of what was sent).
        """
        deleted: list[int] = []
        with self._tx() as c:
            for article_id in article_ids:
                row = c.execute(
                    "SELECT seq, title, text FROM articles WHERE id = ?", (article_id,)
                ).fetchone()
                if row is None:
                    continue
                seq = row["seq"]
                # a contentless FTS5 table deletes by being handed the values it indexed
                c.execute(
                    "INSERT INTO articles_fts (articles_fts, rowid, title, text) "
                    "VALUES ('delete', ?, ?, ?)",
                    (seq, index_text(row["title"]), index_text(row["text"])),
                )
                c.execute("DELETE FROM article_facets WHERE seq = ?", (seq,))
                c.execute("DELETE FROM articles WHERE seq = ?", (seq,))
                deleted.append(seq)
        return deleted

    # -- sources -----------------------------------------------------------------------------

    def source_state(self, name: str, url: str) -> SourceState:
        rows = self.execute("SELECT * FROM sources WHERE name = ?", (name,))
        if not rows:
            return SourceState(name=name, url=url)
        r = rows[0]
        state = SourceState(
            name=name,
            url=r["url"],
            moved_to=r["moved_to"],
            etag=r["etag"],
            last_modified=r["last_modified"],
            last_attempt=parse_iso(r["last_attempt"]),
            last_success=parse_iso(r["last_success"]),
            last_new=parse_iso(r["last_new"]),
            last_error=r["last_error"],
            last_status=r["last_status"],
            consecutive_failures=r["consecutive_failures"],
            bozo_reported=r["bozo_reported"],
            ttl_minutes=r["ttl_minutes"],
            health=r["health"],
            health_since=parse_iso(r["health_since"]),
        )
        if state.url != url:
            # the config now points somewhere else: old validators and redirects do not apply
            state = SourceState(name=name, url=url)
        return state

    def record_cycle(
        self,
        duration: float,
        sources: int,
        stored: int,
        alerts_sent: int,
        at: datetime | None = None,
    ) -> None:
        """Remember one poll cycle of `run --once` (shown by /metrics)."""
        with self._tx() as c:
            c.execute(
                "INSERT INTO cycles (at, duration, sources, stored, alerts_sent)"
                " VALUES (?, ?, ?, ?, ?)",
                (iso(at or utcnow()), duration, sources, stored, alerts_sent),
            )

    def record_poll(self, url: str, poll: PollRecord, at: datetime | None = None) -> None:
        """Update a source's crawl state and append the poll to its history."""
        when = iso(at or utcnow())
        ok = poll.status in ("ok", "not_modified")
        with self._tx() as c:
            row = c.execute("SELECT url FROM sources WHERE name = ?", (poll.source,)).fetchone()
            if row is None or row[0] != url:
                c.execute("DELETE FROM sources WHERE name = ?", (poll.source,))
                c.execute("INSERT INTO sources (name, url) VALUES (?, ?)", (poll.source, url))
            if ok:
                c.execute(
                    """UPDATE sources SET last_attempt = ?, last_success = ?, last_status = ?,
                        consecutive_failures = 0, last_error = NULL,
                        etag = COALESCE(?, etag), last_modified = COALESCE(?, last_modified),
                        moved_to = COALESCE(?, moved_to),
                        ttl_minutes = COALESCE(?, ttl_minutes),
                        last_new = CASE WHEN ? > 0 THEN ? ELSE last_new END
                       WHERE name = ?""",
                    (
                        when,
                        when,
                        poll.http_status,
                        poll.etag,
                        poll.last_modified,
                        poll.moved_to,
                        poll.ttl_minutes,
                        poll.new,
                        when,
                        poll.source,
                    ),
                )
            else:
                c.execute(
                    """UPDATE sources SET last_attempt = ?, last_status = ?, last_error = ?,
                        consecutive_failures = consecutive_failures + 1 WHERE name = ?""",
                    (when, poll.http_status, poll.error, poll.source),
                )
            if poll.bozo:
                c.execute(
                    "UPDATE sources SET bozo_reported = ? WHERE name = ?", (poll.bozo, poll.source)
                )
            c.execute(
                """INSERT INTO polls (source, at, status, http_status, items, new, duration, error)
                   VALUES (?,?,?,?,?,?,?,?)""",
                (
                    poll.source,
                    when,
                    poll.status,
                    poll.http_status,
                    poll.items,
                    poll.new,
                    round(poll.duration, 3),
                    poll.error,
                ),
            )

    def recent_polls(
        self, source: str, limit: int = 20, since: datetime | None = None
    ) -> list[PollSummary]:
        """A source's last `limit` polls (newer than `since` when given), oldest first."""
        rows = self.execute(
            """SELECT at, status, items, new FROM polls WHERE source = ? AND at >= ?
               ORDER BY id DESC LIMIT ?""",
            (source, iso(since) or "", limit),
        )
        return [
            PollSummary(parse_iso(r["at"]) or utcnow(), r["status"], r["items"], r["new"])
            for r in reversed(rows)
        ]

    def set_source_health(self, name: str, health: str, at: datetime | None = None) -> None:
        """Remember the health last announced for a source (ok, failing, silent)."""
        with self._tx() as c:
            c.execute(
                "UPDATE sources SET health = ?, health_since = ? WHERE name = ?",
                (health, iso(at or utcnow()), name),
            )

    def save_validators(self, name: str, etag: str | None, last_modified: str | None) -> None:
        """Record a feed's ETag / Last-Modified once the articles of its poll are stored."""
        with self._tx() as c:
            c.execute(
                """UPDATE sources SET etag = COALESCE(?, etag),
                    last_modified = COALESCE(?, last_modified) WHERE name = ?""",
                (etag, last_modified, name),
            )

    def source_health(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Per source: last attempt/success/error, consecutive failures, items found/new in 24 h."""
        since = iso((now or utcnow()) - timedelta(hours=24))
        rows = self.execute(
            """SELECT s.*, COALESCE(p.items, 0) AS items_24h, COALESCE(p.new, 0) AS new_24h,
                      COALESCE(p.polls, 0) AS polls_24h
               FROM sources s LEFT JOIN (
                   SELECT source, sum(items) AS items, sum(new) AS new, count(*) AS polls
                   FROM polls WHERE at >= ? GROUP BY source) p ON p.source = s.name
               ORDER BY s.name""",
            (since,),
        )
        return [dict(r) for r in rows]

    def record_refusal(
        self, source: str, url: str, hop_url: str, reason: str, at: datetime | None = None
    ) -> None:
        """Remember that the address policy refused `url` (found in `source`) at `hop_url`."""
        with self._tx() as c:
            c.execute(
                """INSERT INTO refusals (source, url, hop_url, reason, at) VALUES (?,?,?,?,?)
                   ON CONFLICT (source, url) DO UPDATE SET hop_url = excluded.hop_url,
                   reason = excluded.reason, at = excluded.at, times = times + 1""",
                (source, url, hop_url, reason, iso(at or utcnow())),
            )

    def recent_refusals(self, since: datetime) -> dict[str, list[dict[str, Any]]]:
        """Per source, the links refused since `since` (url, hop_url, reason, at), newest first."""
        rows = self.execute("SELECT * FROM refusals WHERE at >= ? ORDER BY at DESC", (iso(since),))
        out: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            out.setdefault(r["source"], []).append(dict(r))
        return out

    # -- outbox ------------------------------------------------------------------------------

    def due_alerts(self, now: datetime | None = None, limit: int = 100) -> list[Alert]:
        """Pending alerts whose next attempt is due, oldest first (delivery order = story order).

        Per channel, only the alerts before the first one still waiting for a retry: a later
        alert must not overtake one that is backing off (after an outage, a channel's alerts
        arrive in the order their stories were found).
        """
        when = iso(now or utcnow())
        # One pass for each channel's first waiting alert, then a join: a NOT EXISTS per row
        # measured 0.67 s with 10,000 pending alerts behind a waiting one, this 0.02 s.
        rows = self.execute(
            """WITH waiting AS (
                   SELECT channel, min(id) AS first FROM alerts
                   WHERE status = 'pending' AND next_attempt > ? GROUP BY channel)
               SELECT a.* FROM alerts a LEFT JOIN waiting w ON w.channel = a.channel
               WHERE a.status = 'pending' AND (a.next_attempt IS NULL OR a.next_attempt <= ?)
               AND (w.first IS NULL OR a.id < w.first)
               ORDER BY a.id LIMIT ?""",
            (when, when, limit),
        )
        return [row_to_alert(r) for r in rows]

    def story_alert(self, watchlist: str, cluster_id: str) -> Alert | None:
        rows = self.execute(
            "SELECT * FROM alerts WHERE watchlist = ? AND cluster_id = ? AND kind = 'story'",
            (watchlist, cluster_id),
        )
        return row_to_alert(rows[0]) if rows else None

    def mark_sending(self, alert_ids: Sequence[int], at: datetime | None) -> None:
        """Mark alerts as being sent since `at` (committed before the sink is called), or
        clear the mark (`at` None). A mark still set at the next attempt means the outcome of
        the last send is unknown (see `alerts.sinks.base.Reconcilable`)."""
        with self._tx() as c:
            c.executemany(
                "UPDATE alerts SET sending_at = ? WHERE id = ?",
                [(iso(at), i) for i in alert_ids],
            )

    def mark_delivered(self, alert_id: int, message_id: str, now: datetime | None = None) -> None:
        with self._tx() as c:
            c.execute(
                """UPDATE alerts SET status = 'delivered', delivered_ts = ?, delivered_at = ?,
                    attempts = attempts + 1, last_error = '', sending_at = NULL WHERE id = ?""",
                (message_id, iso(now or utcnow()), alert_id),
            )

    def mark_retry(
        self, alert_id: int, error: str, next_attempt: datetime, *, maybe_sent: bool = False
    ) -> None:
        """Schedule another attempt; `maybe_sent` keeps the `sending` mark (the last send may
        have arrived), so the sink is asked before the alert is sent again."""
        with self._tx() as c:
            c.execute(
                """UPDATE alerts SET attempts = attempts + 1, last_error = ?, next_attempt = ?,
                   sending_at = CASE WHEN ? THEN sending_at END WHERE id = ?""",
                (error, iso(next_attempt), maybe_sent, alert_id),
            )

    def mark_failed(self, alert_id: int, error: str) -> None:
        with self._tx() as c:
            c.execute(
                "UPDATE alerts SET status = 'failed', attempts = attempts + 1, last_error = ?, "
                "sending_at = NULL WHERE id = ?",
                (error, alert_id),
            )

    def set_thread(self, alert_id: int, thread_ts: str) -> None:
        with self._tx() as c:
            c.execute("UPDATE alerts SET thread_ts = ? WHERE id = ?", (thread_ts, alert_id))

    def retry_failed(self, watchlist: str | None = None) -> int:
        """Put failed alerts back in the queue; returns how many."""
        with self._tx() as c:
            cur = c.execute(
                """UPDATE alerts SET status = 'pending', next_attempt = ?, attempts = 0
                   WHERE status = 'failed' AND (? IS NULL OR watchlist = ?)""",
                (iso(utcnow()), watchlist, watchlist),
            )
            return cur.rowcount

    def list_alerts(self, status: str | None = None, limit: int = 50) -> list[Alert]:
        rows = self.execute(
            "SELECT * FROM alerts WHERE (? IS NULL OR status = ?) ORDER BY id DESC LIMIT ?",
            (status, status, limit),
        )
        return [row_to_alert(r) for r in rows]

    def held_digest_items(self, watchlist: str) -> list[Alert]:
        rows = self.execute(
            "SELECT * FROM alerts WHERE watchlist = ? AND status = 'held' ORDER BY id", (watchlist,)
        )
        return [row_to_alert(r) for r in rows]

    def release_digest(
        self,
        watchlist: str,
        item_ids: Sequence[int],
        message_id: str,
        now: datetime | None = None,
    ) -> None:
        """Mark digest items delivered together under one message (at `now`, the digest time)."""
        when = iso(now or utcnow())
        with self._tx() as c:
            c.executemany(
                """UPDATE alerts SET status = 'delivered', delivered_ts = ?, delivered_at = ?,
                   attempts = attempts + 1, sending_at = NULL
                   WHERE id = ? AND watchlist = ? AND status = 'held'""",
                [(message_id, when, i, watchlist) for i in item_ids],
            )

    def alert_counts(self) -> dict[str, int]:
        return {
            r[0]: r[1] for r in self.execute("SELECT status, count(*) FROM alerts GROUP BY status")
        }


class _Transaction:
    """`with store._tx() as conn:` — BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on error."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def __enter__(self) -> sqlite3.Connection:
        self.store._lock.acquire()
        try:
            self.store._conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.store._lock.release()
            raise
        return self.store._conn

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is None:
                self.store._conn.execute("COMMIT")
            else:
                self.store._conn.execute("ROLLBACK")
        finally:
            self.store._lock.release()
