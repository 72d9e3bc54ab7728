"""Crawl state in the store: each source's validators, health and poll history, and cycles."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from crawler.dates import iso, parse_iso, utcnow
from crawler.records import (
    PollRecord,
    PollSummary,
    SourceState,
)
from crawler.storage.database import Database


class CrawlStateRows(Database):
    """The `sources`, `polls` and `cycles` tables."""

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

    def poll_totals(self) -> dict[str, tuple[int, int]]:
        """Per source: (polls recorded, failed polls)."""
        rows = self.execute(
            "SELECT source, count(*) AS polls, "
            "sum(CASE WHEN status = 'error' THEN 1 ELSE 0 END) AS failures FROM polls "
            "GROUP BY source ORDER BY source"
        )
        return {r["source"]: (int(r["polls"]), int(r["failures"] or 0)) for r in rows}

    def last_poll_seconds(self) -> dict[str, float]:
        """Per source: how long its last poll took."""
        rows = self.execute(
            "SELECT source, duration FROM polls WHERE id IN "
            "(SELECT max(id) FROM polls GROUP BY source) ORDER BY source"
        )
        return {r["source"]: float(r["duration"]) for r in rows}

    def last_cycle_seconds(self) -> float | None:
        """How long the monitor's last recorded cycle took (None before the first)."""
        rows = self.execute("SELECT duration FROM cycles ORDER BY rowid DESC LIMIT 1")
        return float(rows[0][0]) if rows and rows[0][0] is not None else None

    def record_refusal(
        self, source: str, url: str, hop_url: str, reason: str, at: datetime | None = None
    ) -> None:
        """Remember that the address policy refused `url` (found in `source`) at `hop_url`."""
        with self._tx() as c:
            c.execute(
                """INSERT INTO refusals (source, url, hop_url, reason, at) VALUES (?,?,?,?,?)
                   ON CONFLICT (source, url) DO UPDATE SET hop_url = excluded.hop_url,
                   reason = excluded.reason, at = excluded.at, times = refusals.times + 1""",
                (source, url, hop_url, reason, iso(at or utcnow())),
            )

    def recent_refusals(self, since: datetime) -> dict[str, list[dict[str, Any]]]:
        """Per source, the links refused since `since` (url, hop_url, reason, at), newest first."""
        rows = self.execute("SELECT * FROM refusals WHERE at >= ? ORDER BY at DESC", (iso(since),))
        out: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            out.setdefault(r["source"], []).append(dict(r))
        return out
