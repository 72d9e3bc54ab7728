"""The outbox in the store: alert rows, written with their article and read by the sender.

What a match becomes (story, copy, digest item, nothing) is not decided here: the store reads
the story's history in the saving transaction and asks the policy the service passes in
(`alerts.policy.alert_kind`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from crawler.article import Article
from crawler.dates import iso, parse_iso, utcnow
from crawler.records import (
    Alert,
    AlertKind,
    SinkStop,
    StoryHistory,
    StoryMatch,
)
from crawler.storage.database import Database
from crawler.storage.engine import Connection
from crawler.storage.rows import row_to_alert
from crawler.storage.verdicts import story_muted, watchlist_paused

# What a match becomes, given the story's history: `alerts.policy.alert_kind`, passed in by
# the service (the store records alerts; the alerting stage owns the rule).
AlertPolicy = Callable[[StoryHistory, str, bool], AlertKind | None]


def _story_history(c: Connection, match: StoryMatch, cluster: str, now: str | None) -> StoryHistory:
    rows = c.execute(
        "SELECT kind, status, source FROM alerts WHERE watchlist = ? AND cluster_id = ?",
        (match.watchlist, cluster),
    ).fetchall()
    return StoryHistory(
        story=any(r["kind"] == "story" for r in rows),
        sources={r["source"] for r in rows},
        released=any(r["status"] != "held" for r in rows),
        muted=story_muted(c, match.channel, cluster),
        paused=watchlist_paused(c, match.watchlist, now),
    )


def add_alert(
    c: Connection,
    article: Article,
    match: StoryMatch,
    now: str | None,
    decide: AlertPolicy,
) -> None:
    cluster = article.cluster_id or article.id
    history = _story_history(c, match, cluster, now)
    kind = decide(history, article.source, match.digest)
    if kind is None:
        return
    status = "held" if kind == "digest_item" else "pending"
    terms = [[t.term, t.field, t.start, t.end] for t in match.terms]
    c.execute(
        """INSERT INTO alerts (watchlist, article_id, cluster_id, source, kind,
                channel, status, terms, created, next_attempt) VALUES (?,?,?,?,?,?,?,?,?,?)
           ON CONFLICT DO NOTHING""",
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


# A Postgres session, named so that a later session reusing the pid is another name.
_PG_SESSION_OF_S = "s.pid::text || ':' || s.backend_start::text"
_PG_SESSION = f"SELECT {_PG_SESSION_OF_S} FROM pg_stat_activity s WHERE s.pid = pg_backend_pid()"


class OutboxRows(Database):
    """The `alerts` table."""

    def due_alerts(
        self,
        now: datetime | None = None,
        limit: int = 100,
        *,
        skip_channels: Sequence[str] = (),
    ) -> list[Alert]:
        """Pending alerts whose next attempt is due, oldest first (delivery order = story order).

        Per channel, only the alerts before the first one still waiting for a retry: a later
        alert must not overtake one that is backing off (after an outage, a channel's alerts
        arrive in the order their stories were found). Alerts to `skip_channels` (channels a
        permanent failure stopped) are left out, so they do not crowd out the others.
        """
        when = iso(now or utcnow())
        skip = json.dumps(list(skip_channels))
        # One pass for each channel's first waiting alert, then a join: a NOT EXISTS per row
        # measured 0.67 s with 10,000 pending alerts behind a waiting one, this 0.02 s.
        rows = self.execute(
            """WITH waiting AS (
                   SELECT channel, min(id) AS first FROM alerts
                   WHERE status = 'pending' AND next_attempt > ? GROUP BY channel)
               SELECT a.* FROM alerts a LEFT JOIN waiting w ON w.channel = a.channel
               WHERE a.status = 'pending' AND (a.next_attempt IS NULL OR a.next_attempt <= ?)
               AND (w.first IS NULL OR a.id < w.first)
               AND a.channel NOT IN (SELECT value FROM json_each(?))
               ORDER BY a.id LIMIT ?""",
            (when, when, skip, limit),
        )
        return [row_to_alert(r) for r in rows]

    def next_attempt_at(self, *, skip_channels: Sequence[str] = ()) -> datetime | None:
        """The earliest next attempt of a pending alert (outside `skip_channels`), or None."""
        rows = self.execute(
            """SELECT min(next_attempt) FROM alerts WHERE status = 'pending'
               AND channel NOT IN (SELECT value FROM json_each(?))""",
            (json.dumps(list(skip_channels)),),
        )
        return parse_iso(rows[0][0]) if rows else None

    def make_pending_due(self, now: datetime | None = None) -> int:
        """Every pending alert becomes due at `now` (the sink is back after failures, or a
        new `run --once` starts: its cron interval was the wait); returns how many moved."""
        when = iso(now or utcnow())
        with self._tx() as c:
            cur = c.execute(
                "UPDATE alerts SET next_attempt = ? WHERE status = 'pending' AND next_attempt > ?",
                (when, when),
            )
            return cur.rowcount

    def pending_story_group(self, alert: Alert) -> list[Alert]:
        """The other pending story alerts of `alert`'s story (cluster) to its channel, from
        other watchlists: they go out as one message (one message per story per channel)."""
        rows = self.execute(
            """SELECT * FROM alerts WHERE status = 'pending' AND kind = ? AND cluster_id = ?
               AND channel = ? AND id != ? ORDER BY id""",
            (alert.kind, alert.cluster_id or "", alert.channel, alert.id),
        )
        return [row_to_alert(r) for r in rows]

    def alerts_by_id(self, alert_ids: Sequence[int]) -> dict[int, Alert]:
        """The alerts with these ids, as stored now (absent ids are left out)."""
        if not alert_ids:
            return {}
        marks = ",".join("?" * len(alert_ids))
        rows = self.execute(f"SELECT * FROM alerts WHERE id IN ({marks})", list(alert_ids))
        return {int(r["id"]): row_to_alert(r) for r in rows}

    def channel_story_message(self, cluster_id: str, channel: str) -> Alert | None:
        """The first delivered story alert of a story in a channel (whichever watchlist sent
        it): a later watchlist's alert of the same story threads under it."""
        rows = self.execute(
            """SELECT * FROM alerts WHERE status = 'delivered' AND kind = 'story'
               AND cluster_id = ? AND channel = ? AND delivered_ts != '' ORDER BY id LIMIT 1""",
            (cluster_id, channel),
        )
        return row_to_alert(rows[0]) if rows else None

    def story_alert(self, watchlist: str, cluster_id: str) -> Alert | None:
        rows = self.execute(
            "SELECT * FROM alerts WHERE watchlist = ? AND cluster_id = ? AND kind = 'story'",
            (watchlist, cluster_id),
        )
        return row_to_alert(rows[0]) if rows else None

    def claim_alerts(self, alert_ids: Sequence[int], *, held: bool = False) -> set[int]:
        """Of these alerts, the pending ones (with `held`, the held digest items) this store's
        session now holds for sending: none held by another live sender. Held until
        `release_claims`, or until this session ends (the process exits or is killed): a dead
        sender's alerts are free at once, and its `sending` marks make the next sender ask the
        sink before sending them again (the sender re-reads an alert once it holds it).

        Postgres only, where senders on several machines share the outbox: the rows are
        picked with FOR UPDATE SKIP LOCKED, so two senders claiming at the same moment neither
        take the same alert nor wait for each other. On SQLite (one machine's file, whose
        senders the Redis outbox lease serialises) every id is returned as it is.
        """
        if self.engine != "postgresql" or not alert_ids:
            return set(alert_ids)
        marks = ",".join("?" * len(alert_ids))
        with self._tx() as c:
            me = c.execute(_PG_SESSION).fetchone()[0]
            rows = c.execute(
                f"""UPDATE alerts SET claimed_by = ? WHERE id IN (
                        SELECT a.id FROM alerts a WHERE a.id IN ({marks})
                        AND a.status = ? AND (a.claimed_by IS NULL OR a.claimed_by = ?
                            OR NOT EXISTS (SELECT 1 FROM pg_stat_activity s
                                           WHERE {_PG_SESSION_OF_S} = a.claimed_by))
                        ORDER BY a.id FOR UPDATE OF a SKIP LOCKED)
                    RETURNING id""",
                (me, *alert_ids, "held" if held else "pending", me),
            ).fetchall()
        return {int(r[0]) for r in rows}

    def release_claims(self, alert_ids: Sequence[int]) -> None:
        """Give back alerts `claim_alerts` took (their outcome is recorded)."""
        if self.engine != "postgresql" or not alert_ids:
            return
        marks = ",".join("?" * len(alert_ids))
        with self._tx() as c:
            me = c.execute(_PG_SESSION).fetchone()[0]
            c.execute(
                f"UPDATE alerts SET claimed_by = NULL WHERE claimed_by = ? AND id IN ({marks})",
                (me, *alert_ids),
            )

    def mark_sending(self, alert_ids: Sequence[int], at: datetime | None) -> None:
        """Mark alerts as being sent since `at` (committed before the sink is called), or
        clear the mark (`at` None). A mark still set at the next attempt means the outcome of
        the last send is unknown (see `alerts.sinks.base.Reconcilable`)."""
        with self._tx() as c:
            c.executemany(
                "UPDATE alerts SET sending_at = ?, last_attempt = coalesce(?, last_attempt) "
                "WHERE id = ?",
                [(iso(at), iso(at), i) for i in alert_ids],
            )

    def mark_delivered(self, alert_id: int, message_id: str, now: datetime | None = None) -> None:
        with self._tx() as c:
            c.execute(
                """UPDATE alerts SET status = 'delivered', delivered_ts = ?, delivered_at = ?,
                    attempts = attempts + 1, last_error = '', sending_at = NULL,
                    last_attempt = coalesce(last_attempt, ?) WHERE id = ?""",
                (message_id, iso(now or utcnow()), iso(now or utcnow()), alert_id),
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
        return self.requeue_alerts(watchlist)[0]

    def requeue_alerts(
        self, watchlist: str | None = None, now: datetime | None = None
    ) -> tuple[int, int]:
        """`alerts retry`: failed alerts back in the queue and backing-off ones due now, and
        the sinks' stops lifted (the user says the cause is fixed); returns (failed,
        backing off) re-queued."""
        when = iso(now or utcnow())
        with self._tx() as c:
            failed = c.execute(
                """UPDATE alerts SET status = 'pending', next_attempt = ?, attempts = 0
                   WHERE status = 'failed' AND (? IS NULL OR watchlist = ?)""",
                (when, watchlist, watchlist),
            ).rowcount
            waiting = c.execute(
                """UPDATE alerts SET next_attempt = ? WHERE status = 'pending'
                   AND next_attempt > ? AND (? IS NULL OR watchlist = ?)""",
                (when, when, watchlist, watchlist),
            ).rowcount
            c.execute("DELETE FROM sink_stops")
        return failed, waiting

    # -- sink stops ---------------------------------------------------------------------

    def stop_sink(
        self, sink: str, channel: str, error: str, remedy: str, now: datetime | None = None
    ) -> bool:
        """Record that a permanent failure stopped `sink` (channel "*": all of it); False when
        it was stopped already (so the caller logs the failure once)."""
        with self._tx() as c:
            cur = c.execute(
                """INSERT INTO sink_stops (sink, channel, error, remedy, since)
                   VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING""",
                (sink, channel, error, remedy, iso(now or utcnow())),
            )
            return cur.rowcount > 0

    def sink_stops(self, sink: str | None = None) -> list[SinkStop]:
        rows = self.execute(
            "SELECT * FROM sink_stops WHERE (? IS NULL OR sink = ?) ORDER BY since, channel",
            (sink, sink),
        )
        return [
            SinkStop(r["sink"], r["channel"], r["error"], r["remedy"], parse_iso(r["since"]))
            for r in rows
        ]

    def clear_sink_stops(self, sink: str | None = None) -> int:
        with self._tx() as c:
            cur = c.execute("DELETE FROM sink_stops WHERE (? IS NULL OR sink = ?)", (sink, sink))
            return cur.rowcount

    def backing_off_count(self, now: datetime | None = None) -> int:
        """Pending alerts waiting for a retry (their next attempt is later than `now`)."""
        rows = self.execute(
            "SELECT count(*) FROM alerts WHERE status = 'pending' AND next_attempt > ?",
            (iso(now or utcnow()),),
        )
        return int(rows[0][0])

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
        *,
        note: str = "",
    ) -> None:
        """Mark digest items delivered together under one message (at `now`, the digest time).

        `note` says why, when the items were not listed in that message but settled by it (the
        story was already in the channel); `alerts list` shows it in place of an error."""
        when = iso(now or utcnow())
        with self._tx() as c:
            c.executemany(
                """UPDATE alerts SET status = 'delivered', delivered_ts = ?, delivered_at = ?,
                   attempts = attempts + 1, sending_at = NULL, last_error = ?
                   WHERE id = ? AND watchlist = ? AND status = 'held'""",
                [(message_id, when, note, i, watchlist) for i in item_ids],
            )

    def channel_story_messages(self, channel: str, cluster_ids: Sequence[str]) -> dict[str, str]:
        """For each of the stories (clusters) that already reached `channel`, the first message
        that took it there: a delivered story alert of any watchlist, or a digest that listed
        it. Stories not yet there are absent."""
        rows = self.execute(
            """SELECT cluster_id, delivered_ts FROM alerts WHERE channel = ?
               AND status = 'delivered' AND kind IN ('story', 'digest_item') AND delivered_ts != ''
               AND cluster_id IN (SELECT value FROM json_each(?)) ORDER BY id""",
            (channel, json.dumps(list(dict.fromkeys(cluster_ids)))),
        )
        out: dict[str, str] = {}
        for r in rows:
            out.setdefault(r["cluster_id"], r["delivered_ts"])
        return out

    def alert_counts(self) -> dict[str, int]:
        return {
            r[0]: r[1] for r in self.execute("SELECT status, count(*) FROM alerts GROUP BY status")
        }

    def outbox_watchlists(self) -> set[str]:
        """The watchlists that have alerts in the outbox (removed ones included)."""
        return {r[0] for r in self.execute("SELECT DISTINCT watchlist FROM alerts")}

    def digest_times(self, watchlist: str) -> tuple[datetime | None, datetime | None]:
        """(when the oldest held digest item was created, when the last digest was sent)."""
        rows = self.execute(
            """SELECT (SELECT min(created) FROM alerts WHERE watchlist = ? AND status = 'held'),
                      (SELECT max(delivered_at) FROM alerts WHERE watchlist = ?
                       AND kind = 'digest_item' AND status = 'delivered')""",
            (watchlist, watchlist),
        )
        return parse_iso(rows[0][0]), parse_iso(rows[0][1])

    def article_alerts(self, watchlist: str, article_id: str) -> list[dict[str, Any]]:
        """The outbox's alerts of one article on one watchlist (id, kind, status, delivered_ts,
        last_error), oldest first."""
        rows = self.execute(
            "SELECT id, kind, status, delivered_ts, last_error FROM alerts "
            "WHERE watchlist = ? AND article_id = ? ORDER BY id",
            (watchlist, article_id),
        )
        return [dict(r) for r in rows]

    def story_alert_rows(self, article_id: str, cluster_id: str) -> list[dict[str, Any]]:
        """Every alert row of an article or of its story, oldest first."""
        rows = self.execute(
            "SELECT * FROM alerts WHERE article_id = ? OR cluster_id = ? ORDER BY id",
            (article_id, cluster_id),
        )
        return [dict(r) for r in rows]

    def alert_rows_with_articles(self, status: str | None, limit: int) -> list[dict[str, Any]]:
        """The outbox, newest first, each alert row with its article's title and url."""
        rows = self.execute(
            "SELECT alerts.*, articles.title AS title, articles.url AS url FROM alerts "
            "LEFT JOIN articles ON articles.id = alerts.article_id "
            "WHERE (? IS NULL OR alerts.status = ?) ORDER BY alerts.id DESC LIMIT ?",
            (status, status, limit),
        )
        return [dict(r) for r in rows]

    def delivered_since(self, since: datetime) -> list[dict[str, Any]]:
        """Alerts delivered at or after `since`, oldest first, with their article's title and
        publication time (`id`, `watchlist`, `channel`, `kind`, `title`, `published`): the
        service logs one line for each it delivered."""
        rows = self.execute(
            """SELECT l.id, l.watchlist, l.channel, l.kind, a.title, a.published
               FROM alerts l LEFT JOIN articles a ON a.id = l.article_id
               WHERE l.status = 'delivered' AND l.delivered_at >= ? ORDER BY l.delivered_at""",
            (iso(since),),
        )
        return [{**dict(r), "published": parse_iso(r["published"])} for r in rows]
