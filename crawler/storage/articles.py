"""Articles in the store: saving one with its facets, index entry and alerts in one
transaction, and reading them back."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from crawler.article import Article, facets
from crawler.dates import iso, utcnow
from crawler.records import (
    StoryMatch,
)
from crawler.storage.database import Database
from crawler.storage.links import add_link_rows
from crawler.storage.outbox import AlertPolicy, add_alert
from crawler.storage.rows import row_to_article
from crawler.textnorm import index_text


class ArticleRows(Database):
    """The `articles`, `article_facets` and `articles_fts` tables."""

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
        links: Sequence[tuple[str, str]] = (),
    ) -> bool:
        """Store a new article with its index entry and its alerts, in one transaction.

        `links` are `(link_id, url)` of the feed links that led to it under another URL (a
        redirect, `rel=canonical`, an aggregator): they are recorded in the same transaction,
        so the next poll knows them without a fetch, and never before the article is stored.
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
                    source_tags, cluster_id, is_cluster_lead, content_hash, fingerprint,
                    publisher, unresolved)
                   VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
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
                    article.publisher,
                    int(article.unresolved),
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
            add_link_rows(c, links, article.source, article.id, now or "")
            for match in matches:
                add_alert(c, article, match, now, decide)  # type: ignore[arg-type]
        return True

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
