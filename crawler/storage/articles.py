"""Articles in the store: saving one with its facets, index entry and alerts in one
transaction, and reading them back."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from crawler.article import Article, facets
from crawler.dates import iso, utcnow
from crawler.query import SqlQuery
from crawler.records import (
    StoryMatch,
)
from crawler.storage.database import Database
from crawler.storage.engine import Row
from crawler.storage.links import add_link_rows
from crawler.storage.outbox import AlertPolicy, add_alert
from crawler.storage.rows import row_to_article
from crawler.textnorm import fold, index_text


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

    def article_rows(self, seqs: Sequence[int], columns: str = "*") -> list[Row]:
        """The `articles` rows with these seqs (deleted ones skipped), in no set order.

        Asked in chunks of 500: SQLite's default limit of bound parameters is 999.
        """
        rows: list[Row] = []
        with self._lock:
            for i in range(0, len(seqs), 500):
                chunk = list(seqs[i : i + 500])
                marks = ",".join("?" * len(chunk))
                sql = f"SELECT {columns} FROM articles WHERE seq IN ({marks})"
                rows += self._conn.execute(sql, chunk).fetchall()
        return rows

    def articles_at(self, seqs: Sequence[int]) -> dict[int, Article]:
        """The stored articles with these seqs, by seq (deleted ones absent)."""
        return {int(row["seq"]): row_to_article(row) for row in self.article_rows(seqs)}

    def articles_after(self, seq: int, limit: int) -> list[tuple[int, Article]]:
        """Up to `limit` articles stored after `seq`, in store order, with their seqs."""
        rows = self.execute(
            "SELECT * FROM articles WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
        )
        return [(int(row["seq"]), row_to_article(row)) for row in rows]

    def newest_seq(self) -> int:
        """The seq of the newest stored article (0 for an empty store)."""
        return int(self.execute("SELECT max(seq) FROM articles")[0][0] or 0)

    def archive_mark(self) -> tuple[int, int]:
        """(newest seq, article count): changes whenever an article is stored or deleted."""
        row = self.execute("SELECT max(seq), count(*) FROM articles")[0]
        return int(row[0] or 0), int(row[1])

    def count_through(self, seq: int) -> int:
        """How many stored articles have a seq up to `seq`."""
        return int(self.execute("SELECT count(*) FROM articles WHERE seq <= ?", (seq,))[0][0])

    def seqs_through(self, seq: int) -> set[int]:
        """The seqs of the stored articles up to `seq`."""
        return {int(r[0]) for r in self.execute("SELECT seq FROM articles WHERE seq <= ?", (seq,))}

    def entity_name(self, entity_id: str) -> str | None:
        """The display name of an entity id, from one stored article that names it."""
        rows = self.execute(
            "SELECT entities FROM articles WHERE seq = (SELECT seq FROM article_facets "
            "WHERE field = 'entity' AND value = ? LIMIT 1)",
            (entity_id,),
        )
        for row in rows:
            for ent in json.loads(row["entities"]):
                if ent.get("id") == entity_id:
                    return str(ent.get("name") or entity_id)
        return None

    def region_place(self, region: str) -> tuple[str, str] | None:
        """(name as written, country code) of a region facet value (folded, `hubei`), from
        one stored article that names a place in it."""
        rows = self.execute(
            "SELECT entities FROM articles WHERE seq = (SELECT seq FROM article_facets "
            "WHERE field = 'region' AND value = ? LIMIT 1)",
            (region,),
        )
        for row in rows:
            for ent in json.loads(row["entities"]):
                written = ent.get("region")
                if written and fold(written) == region:
                    return str(written), str(ent.get("country") or "").upper()
        return None

    def story_copies(
        self, cluster_id: str, except_id: str, limit: int = 50
    ) -> list[dict[str, Any]]:
        """The other articles of a story (id, title, source, url, published), oldest first."""
        rows = self.execute(
            "SELECT id, title, source, url, published FROM articles WHERE cluster_id = ? "
            "AND id != ? ORDER BY published, seq LIMIT ?",
            (cluster_id, except_id, limit),
        )
        return [dict(r) for r in rows]

    def seqs_matching(
        self,
        where: SqlQuery | None,
        *,
        date_field: str,
        start: datetime | None,
        end: datetime,
        sources: Sequence[str] = (),
        languages: Sequence[str] = (),
        min_relevance: float | None = None,
    ) -> list[int]:
        """The seqs of articles dated in [start, end) that match a compiled query and the
        filters, in the order they were fetched. `date_field` "published" dates an undated
        article by when it was fetched; "fetched" uses the fetch time alone."""
        if date_field == "published":
            column = "coalesce(articles.published, articles.fetched)"
        elif date_field == "fetched":
            column = "articles.fetched"
        else:
            raise ValueError(f"not a date field: {date_field!r}")
        conds: list[str] = []
        params: list[Any] = []
        # Stored dates are whole seconds (`iso`): a bound with a fraction is rounded up, so
        # that an article stored at 12:00:05 is before an end of 12:00:05.8 (truncating the
        # bound to 12:00:05 left it out) and not after a start of 12:00:05.8
        if start is not None:
            conds.append(f"{column} >= ?")
            params.append(iso(_whole_second_up(start)))
        conds.append(f"{column} < ?")
        params.append(iso(_whole_second_up(end)))
        if where is not None:
            conds.append(where.where)
            params.extend(where.params)
        if sources:
            conds.append(f"articles.source IN ({', '.join('?' for _ in sources)})")
            params.extend(sources)
        if languages:
            marks = ", ".join("?" for _ in languages)
            conds.append(f"lower(articles.language) IN ({marks})")
            params.extend(lang.lower() for lang in languages)
        if min_relevance:
            conds.append("articles.relevance >= ?")
            params.append(min_relevance)
        rows = self.execute(
            f"SELECT seq FROM articles WHERE {' AND '.join(conds)} ORDER BY articles.fetched, seq",
            params,
        )
        return [int(r[0]) for r in rows]

    def fts_page(
        self,
        where: SqlQuery | None,
        *,
        by_date: bool,
        limit: int,
        offset: int,
        weights: tuple[float, float],
    ) -> tuple[list[tuple[Article, float]], int]:
        """One page of a search answered by SQLite FTS5 (the baseline engine), with the total.

        Ranked by bm25() with (title, text) `weights` unless `by_date` or the query has no text
        clause; newest first otherwise. SQLite only (FTS5)."""
        self._need_full_text()
        clause, params = ("1", []) if where is None else (where.where, list(where.params))
        rank = where.rank_match if where is not None else None
        join, score, rank_params = "", "0.0", []
        if rank:
            join = (
                "LEFT JOIN (SELECT rowid AS r, bm25(articles_fts, ?, ?) AS score FROM "
                "articles_fts WHERE articles_fts MATCH ?) ranked ON ranked.r = articles.seq"
            )
            rank_params = [*weights, rank]
            score = "COALESCE(ranked.score, 0.0)"
        # `+` keeps the planner off the published index when text decides (the FTS5 trap)
        order = (
            "+articles.published DESC, articles.seq DESC"
            if by_date or not rank
            else f"{score}, +articles.published DESC"
        )
        rows = self.execute(
            f"SELECT articles.*, {score} AS score FROM articles {join} WHERE ({clause}) "
            f"ORDER BY {order} LIMIT ? OFFSET ?",
            [*rank_params, *params, limit, offset],
        )
        total = self.execute(f"SELECT count(*) FROM articles WHERE ({clause})", params)[0][0]
        return [(row_to_article(row), -float(row["score"])) for row in rows], int(total)

    def fts_facets(
        self, where: SqlQuery | None, fields: Sequence[str], size: int
    ) -> dict[str, list[tuple[str, int]]]:
        """Facet counts over the articles a compiled query matches (the FTS5 baseline)."""
        self._need_full_text()
        clause, params = ("1", []) if where is None else (where.where, list(where.params))
        out: dict[str, list[tuple[str, int]]] = {}
        for name in fields:
            if name in ("source", "label", "language"):
                # a column; "" is no label, as NULL is no language
                blank = "AND label != '' " if name == "label" else ""
                sql = (
                    f"SELECT {name} AS value, count(*) AS n FROM articles WHERE ({clause}) "
                    f"AND {name} IS NOT NULL {blank}"
                    f"GROUP BY {name} ORDER BY n DESC, value LIMIT ?"
                )
                args = [*params, size]
            else:
                sql = (
                    "SELECT value, count(*) AS n FROM article_facets WHERE field = ? AND seq IN "
                    f"(SELECT seq FROM articles WHERE ({clause})) "
                    + ("AND value LIKE '%:%' " if name == "entity" else "")
                    + "GROUP BY value ORDER BY n DESC, value LIMIT ?"
                )
                args = [name, *params, size]
            out[name] = [(r["value"], r["n"]) for r in self.execute(sql, args)]
        return out

    def unlabelled_seqs(self, labels: Mapping[str, str]) -> list[int]:
        """The seqs of the stored articles without a label whose source has one in `labels`
        (source name -> label), in store order: what `backfill_labels` would label."""
        names = [name for name, label in labels.items() if label]
        if not names:
            return []
        marks = ",".join("?" * len(names))
        sql = f"SELECT seq FROM articles WHERE label = '' AND source IN ({marks}) ORDER BY seq"
        return [int(r[0]) for r in self.execute(sql, names)]

    def backfill_labels(self, labels: Mapping[str, str]) -> list[int]:
        """Label the stored articles that have no label from `labels` (source name -> label,
        the config's); returns the seqs labelled, for the search index to re-read.

        For rows stored before labels were stored (schema 9) or before their source was
        given a label. A label already stored is never changed: an article keeps the label
        its source had when it was fetched.
        """
        labels = {name: label for name, label in labels.items() if label}
        if not labels:
            return []
        with self._tx() as c:
            seqs = self.unlabelled_seqs(labels)
            c.executemany(
                "UPDATE articles SET label = ? WHERE label = '' AND source = ?",
                [(label, name) for name, label in labels.items()],
            )
        return seqs

    def _need_full_text(self) -> None:
        if not self.full_text:
            raise RuntimeError(
                f"the FTS5 baseline search needs a SQLite store ({self.engine} has no FTS5)"
            )

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
            # keyed by the id: when another process stored it first (Postgres, several
            # crawler hosts), the insert does nothing and returns no seq
            cur = c.execute(
                """INSERT INTO articles (id, canonical_url, url, source, title, text, comments,
                    author, site_name, published, fetched, language, extractor, fallback,
                    relevance, relevance_reasons, entities, countries, events, evidence,
                    source_tags, cluster_id, is_cluster_lead, content_hash, fingerprint,
                    publisher, unresolved, label)
                   VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
                   ON CONFLICT (id) DO NOTHING RETURNING seq""",
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
                    article.label,
                ),
            )
            inserted = cur.fetchone()
            if inserted is None:
                return False
            seq = inserted[0]
            c.executemany(
                "INSERT INTO article_facets (field, value, seq) VALUES (?,?,?) "
                "ON CONFLICT DO NOTHING",
                [(f, v, seq) for f, v in facets(article)],
            )
            if self.full_text:
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

    def text_match_counts(self, expressions: Iterable[str]) -> dict[str, int]:
        """How many stored articles each FTS5 expression matches (a text clause compiled by
        `crawler.query.sqlite.fts_leaf`): the clause's document frequency in the archive. An
        expression FTS5 refuses is left out, for the caller to fall back on; a store without
        FTS5 (Postgres) counts none, and the passage falls back on the text's own ranking."""
        out: dict[str, int] = {}
        if not self.full_text:
            return out
        for expr in dict.fromkeys(expressions):
            try:
                rows = self.execute(
                    "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH ?", (expr,)
                )
            except sqlite3.OperationalError:  # e.g. "fts5: syntax error near ..."
                continue
            out[expr] = int(rows[0][0])
        return out

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
                if self.full_text:
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


def _whole_second_up(when: datetime) -> datetime:
    """`when` rounded up to a whole second (stored dates have no fraction)."""
    if not when.microsecond:
        return when
    return when.replace(microsecond=0) + timedelta(seconds=1)
