"""The desk's verdicts on alerts, muted stories and paused watchlists, as the store keeps them.

A verdict is one Slack user's judgement of one alert ("relevant" or "not_relevant"); a later
click by the same user replaces the earlier, so an alert has at most one verdict per user.
An alert counts as judged by its latest verdict. Muting a story (a cluster, in one channel)
and pausing a watchlist are data too: the outbox rows consult them when a match is saved
(`story_muted`, `watchlist_paused`), so no alert is ever made for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from crawler.dates import iso, parse_iso, utcnow
from crawler.records import Alert
from crawler.storage.database import Database
from crawler.storage.engine import Connection, Row
from crawler.storage.rows import row_to_alert

VerdictKind = Literal["relevant", "not_relevant"]
VERDICTS: tuple[VerdictKind, ...] = ("relevant", "not_relevant")


@dataclass(frozen=True, slots=True)
class Verdict:
    """One user's verdict on one alert, with the alert's watchlist and article."""

    alert_id: int
    watchlist: str
    article_id: str
    verdict: VerdictKind
    user: str
    at: datetime


@dataclass(frozen=True, slots=True)
class VerdictCounts:
    """A watchlist's alerts in a window and how the desk judged them (latest verdict each)."""

    watchlist: str
    alerts: int
    relevant: int
    not_relevant: int

    @property
    def judged(self) -> int:
        return self.relevant + self.not_relevant

    @property
    def precision(self) -> float | None:
        """relevant / judged; None when nothing was judged."""
        return self.relevant / self.judged if self.judged else None

    @property
    def judged_share(self) -> float | None:
        return self.judged / self.alerts if self.alerts else None


def story_muted(c: Connection, channel: str, cluster_id: str) -> bool:
    """True when the desk muted this story in this channel (read inside the saving
    transaction)."""
    row = c.execute(
        "SELECT 1 FROM muted_stories WHERE channel = ? AND cluster_id = ?", (channel, cluster_id)
    ).fetchone()
    return row is not None


def watchlist_paused(c: Connection, watchlist: str, now: str | None) -> bool:
    """True when the watchlist's instant alerts are paused at `now` (ISO, UTC)."""
    row = c.execute(
        "SELECT 1 FROM watchlist_pauses WHERE watchlist = ? AND until > ?",
        (watchlist, now or iso(utcnow())),
    ).fetchone()
    return row is not None


def _verdict(row: Row) -> Verdict:
    at = parse_iso(row["at"])
    assert at is not None  # NOT NULL column
    return Verdict(
        row["alert_id"], row["watchlist"], row["article_id"], row["verdict"], row["user_id"], at
    )


_LATEST = """
    SELECT v.alert_id, a.watchlist, a.article_id, v.verdict, v.user_id, v.at
    FROM verdicts v JOIN alerts a ON a.id = v.alert_id
    WHERE v.rowid = (SELECT v2.rowid FROM verdicts v2 WHERE v2.alert_id = v.alert_id
                     ORDER BY v2.at DESC, v2.rowid DESC LIMIT 1)
"""


class VerdictRows(Database):
    """The `verdicts`, `muted_stories` and `watchlist_pauses` tables."""

    def record_verdict(
        self, alert_id: int, user: str, verdict: VerdictKind, at: datetime | None = None
    ) -> bool:
        """Record `user`'s verdict on an alert, replacing their earlier one; False when there is
        no such alert. Raises ValueError for a verdict other than VERDICTS."""
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
        if not user:
            raise ValueError("a verdict needs the Slack user id")
        with self._tx() as c:
            if c.execute("SELECT 1 FROM alerts WHERE id = ?", (alert_id,)).fetchone() is None:
                return False
            # DELETE + INSERT rather than an upsert: the new rowid orders the click last
            c.execute("DELETE FROM verdicts WHERE alert_id = ? AND user_id = ?", (alert_id, user))
            c.execute(
                "INSERT INTO verdicts (alert_id, user_id, verdict, at) VALUES (?,?,?,?)",
                (alert_id, user, verdict, iso(at or utcnow())),
            )
        return True

    def alert_verdicts(self, alert_id: int) -> list[Verdict]:
        """Every user's verdict on one alert, oldest first."""
        rows = self.execute(
            "SELECT v.alert_id, a.watchlist, a.article_id, v.verdict, v.user_id, v.at "
            "FROM verdicts v JOIN alerts a ON a.id = v.alert_id WHERE v.alert_id = ? "
            "ORDER BY v.at, v.rowid",
            (alert_id,),
        )
        return [_verdict(r) for r in rows]

    def article_verdicts(self, article_id: str) -> list[Verdict]:
        """Every verdict on the alerts of one article (any watchlist), oldest first."""
        rows = self.execute(
            "SELECT v.alert_id, a.watchlist, a.article_id, v.verdict, v.user_id, v.at "
            "FROM verdicts v JOIN alerts a ON a.id = v.alert_id WHERE a.article_id = ? "
            "ORDER BY v.at, v.rowid",
            (article_id,),
        )
        return [_verdict(r) for r in rows]

    def judged_alerts(
        self, watchlist: str | None = None, since: datetime | None = None
    ) -> list[Verdict]:
        """Each judged alert once, with its latest verdict (optionally of one watchlist, and
        of alerts created since a time), oldest alert first."""
        rows = self.execute(
            f"""SELECT * FROM ({_LATEST}) AS latest
                WHERE (? IS NULL OR watchlist = ?)
                AND (? IS NULL OR alert_id IN (SELECT id FROM alerts WHERE created >= ?))
                ORDER BY alert_id""",
            (watchlist, watchlist, iso(since), iso(since)),
        )
        return [_verdict(r) for r in rows]

    def judged_relevant_scores(self, watchlist: str, since: datetime | None = None) -> list[float]:
        """The relevance stored with the article of each alert of the watchlist the desk judged
        relevant (latest verdict; optionally of alerts created since a time), lowest first."""
        rows = self.execute(
            f"""SELECT ar.relevance AS relevance FROM ({_LATEST}) AS latest
                JOIN articles ar ON ar.id = latest.article_id
                WHERE latest.watchlist = ? AND latest.verdict = 'relevant'
                AND (? IS NULL OR latest.alert_id IN (SELECT id FROM alerts WHERE created >= ?))
                ORDER BY ar.relevance""",
            (watchlist, iso(since), iso(since)),
        )
        return [float(r["relevance"]) for r in rows]

    def verdicts_version(self) -> tuple[int, int]:
        """(how many verdicts, the newest's rowid): changes with every click, a replaced one
        included (it is deleted and inserted again), in one cheap query."""
        row = self.execute("SELECT count(*) AS n, coalesce(max(rowid), 0) AS last FROM verdicts")
        return int(row[0]["n"]), int(row[0]["last"])

    def verdict_counts(self, since: datetime | None = None) -> dict[str, VerdictCounts]:
        """Per watchlist: story and digest-item alerts created since `since`, and how many of
        them the desk judged relevant / not relevant (latest verdict of each)."""
        rows = self.execute(
            f"""SELECT a.watchlist AS watchlist, count(*) AS alerts,
                       sum(CASE WHEN l.verdict = 'relevant' THEN 1 ELSE 0 END) AS relevant,
                       sum(CASE WHEN l.verdict = 'not_relevant' THEN 1 ELSE 0 END)
                           AS not_relevant
                FROM alerts a LEFT JOIN ({_LATEST}) AS l ON l.alert_id = a.id
                WHERE a.kind IN ('story', 'digest_item') AND (? IS NULL OR a.created >= ?)
                GROUP BY a.watchlist ORDER BY a.watchlist""",
            (iso(since), iso(since)),
        )
        return {
            r["watchlist"]: VerdictCounts(
                r["watchlist"], r["alerts"], r["relevant"] or 0, r["not_relevant"] or 0
            )
            for r in rows
        }

    def mute_story(
        self, channel: str, cluster_id: str, user: str, at: datetime | None = None
    ) -> None:
        """Mute a story (cluster) in a channel: no later copy of it becomes an alert there."""
        with self._tx() as c:
            c.execute(
                "INSERT INTO muted_stories (channel, cluster_id, user_id, at) VALUES (?,?,?,?) "
                "ON CONFLICT (channel, cluster_id) DO UPDATE SET user_id = excluded.user_id, "
                "at = excluded.at",
                (channel, cluster_id, user, iso(at or utcnow())),
            )

    def is_story_muted(self, channel: str, cluster_id: str) -> bool:
        with self._lock:
            return story_muted(self._conn, channel, cluster_id)

    def pause_watchlist(self, watchlist: str, until: datetime, user: str) -> None:
        """Pause a watchlist's instant alerts until a time (matches meanwhile make no alert;
        digest items are still collected)."""
        with self._tx() as c:
            c.execute(
                "INSERT INTO watchlist_pauses (watchlist, until, user_id, at) VALUES (?,?,?,?) "
                "ON CONFLICT (watchlist) DO UPDATE SET until = excluded.until, "
                "user_id = excluded.user_id, at = excluded.at",
                (watchlist, iso(until), user, iso(utcnow())),
            )

    def paused_until(self, watchlist: str, now: datetime | None = None) -> datetime | None:
        """When the watchlist's pause ends, or None if it is not paused."""
        rows = self.execute(
            "SELECT until FROM watchlist_pauses WHERE watchlist = ? AND until > ?",
            (watchlist, iso(now or utcnow())),
        )
        return parse_iso(rows[0]["until"]) if rows else None

    def alert_by_id(self, alert_id: int) -> Alert | None:
        """One alert of the outbox, or None."""
        rows = self.execute("SELECT * FROM alerts WHERE id = ?", (alert_id,))
        return row_to_alert(rows[0]) if rows else None
