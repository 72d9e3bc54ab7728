"""Links in the store: what became of each link a source listed, and resolved aggregator tokens.

A link is "settled" when watchdesk will never fetch it again: its article is stored (under this
URL or, after a redirect or `rel=canonical`, under another), or it was refused (robots.txt, the
address policy). A feed's validators are saved once every link of its poll is settled, so a
refused link no longer turns every poll into a full GET, and it is listed (`sources check`,
`status`) instead of vanishing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from crawler.dates import iso, utcnow
from crawler.storage.database import Database
from crawler.storage.engine import Connection

# SQLite's default limit of bound parameters is 999; chunks of 500 leave room.
_CHUNK = 500


def add_link_rows(
    conn: Connection,
    links: Sequence[tuple[str, str]],
    source: str,
    article_id: str,
    now: str,
) -> None:
    """Record `(link_id, url)` pairs as other URLs of a stored article (inside its transaction:
    a link is never settled without its article)."""
    conn.executemany(
        """INSERT INTO links (id, url, source, outcome, reason, article_id, seen)
           VALUES (?, ?, ?, 'stored', NULL, ?, ?)
           ON CONFLICT (id) DO UPDATE SET outcome = 'stored', reason = NULL,
               article_id = excluded.article_id, seen = excluded.seen""",
        [(lid, url, source, article_id, now) for lid, url in links if lid != article_id],
    )


class LinkRows(Database):
    """The `links` and `aggregator_tokens` tables."""

    def settled_links(self, ids: Iterable[str]) -> set[str]:
        """The ids (hashes of canonical link URLs) that need no fetch: a stored article, a link
        recorded as another URL of one, or a refused link."""
        ids = list(ids)
        found: set[str] = set()
        with self._lock:
            for i in range(0, len(ids), _CHUNK):
                chunk = ids[i : i + _CHUNK]
                marks = ",".join("?" * len(chunk))
                for table in ("articles", "links"):
                    rows = self._conn.execute(
                        f"SELECT id FROM {table} WHERE id IN ({marks})", chunk
                    )
                    found.update(r[0] for r in rows)
        return found

    def refused_reasons(self, ids: Iterable[str]) -> dict[str, str]:
        """Of these link ids, the refused ones with their reason."""
        ids = list(ids)
        out: dict[str, str] = {}
        with self._lock:
            for i in range(0, len(ids), _CHUNK):
                chunk = ids[i : i + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
                    f"""SELECT id, reason FROM links
                        WHERE outcome = 'refused' AND id IN ({marks})""",
                    chunk,
                )
                out.update((r[0], r[1] or "") for r in rows)
        return out

    def record_link(
        self,
        link_id: str,
        url: str,
        source: str,
        outcome: str,
        reason: str | None = None,
        article_id: str | None = None,
        at: datetime | None = None,
    ) -> None:
        """Remember what became of one link: `refused` (with the reason) or `stored` (another
        URL of `article_id`). A later outcome replaces an earlier one."""
        with self._tx() as c:
            c.execute(
                """INSERT INTO links (id, url, source, outcome, reason, article_id, seen)
                   VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (id) DO UPDATE SET outcome = excluded.outcome,
                       reason = excluded.reason, article_id = excluded.article_id,
                       seen = excluded.seen""",
                (link_id, url, source, outcome, reason, article_id, iso(at or utcnow())),
            )

    def refused_links(self, source: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Refused links, newest first: `url`, `source`, `reason`, `seen`."""
        where, params = ("AND source = ?", [source]) if source else ("", [])
        rows = self.execute(
            f"""SELECT url, source, reason, seen FROM links WHERE outcome = 'refused' {where}
                ORDER BY seen DESC LIMIT ?""",
            (*params, limit),
        )
        return [dict(r) for r in rows]

    def refused_counts(self) -> dict[str, int]:
        """Refused links per source (for `watchdesk status`)."""
        rows = self.execute(
            "SELECT source, count(*) AS n FROM links WHERE outcome = 'refused' GROUP BY source"
        )
        return {r["source"]: int(r["n"]) for r in rows}

    def resolved_tokens(self, aggregator: str, tokens: Iterable[str]) -> dict[str, str]:
        """Aggregator tokens already resolved to their publisher URL: token -> URL."""
        tokens = list(tokens)
        out: dict[str, str] = {}
        with self._lock:
            for i in range(0, len(tokens), _CHUNK):
                chunk = tokens[i : i + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
                    f"""SELECT token, url FROM aggregator_tokens
                        WHERE aggregator = ? AND token IN ({marks})""",
                    (aggregator, *chunk),
                )
                out.update((r[0], r[1]) for r in rows)
        return out

    def save_tokens(
        self, aggregator: str, resolved: Mapping[str, str], at: datetime | None = None
    ) -> None:
        """Cache resolved tokens (token -> publisher URL) so each is resolved once."""
        if not resolved:
            return
        when = iso(at or utcnow())
        with self._tx() as c:
            c.executemany(
                """INSERT INTO aggregator_tokens (aggregator, token, url, resolved)
                   VALUES (?, ?, ?, ?) ON CONFLICT (aggregator, token)
                   DO UPDATE SET url = excluded.url, resolved = excluded.resolved""",
                [(aggregator, t, u, when) for t, u in resolved.items()],
            )
