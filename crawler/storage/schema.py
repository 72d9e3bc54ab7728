"""The embedded store's schema and its migrations, numbered from day one.

`PRAGMA user_version` holds the schema version; `migrate` applies every migration above it, each
in its own transaction, so an old database is upgraded in place on open.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: list[str] = [
    # 1: articles with facets and a full-text index, per-source crawl state, the alert outbox
    """
    CREATE TABLE articles (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        canonical_url TEXT NOT NULL,
        url TEXT NOT NULL,
        source TEXT NOT NULL,
        title TEXT NOT NULL DEFAULT '',
        text TEXT NOT NULL DEFAULT '',
        comments TEXT NOT NULL DEFAULT '',
        author TEXT NOT NULL DEFAULT '',
        site_name TEXT NOT NULL DEFAULT '',
        published TEXT,
        fetched TEXT NOT NULL,
        language TEXT,
        extractor TEXT NOT NULL DEFAULT '',
        fallback INTEGER NOT NULL DEFAULT 0,
        relevance REAL NOT NULL DEFAULT 0,
        relevance_reasons TEXT NOT NULL DEFAULT '[]',
        entities TEXT NOT NULL DEFAULT '[]',
        countries TEXT NOT NULL DEFAULT '[]',
        events TEXT NOT NULL DEFAULT '[]',
        evidence TEXT NOT NULL DEFAULT '{}',
        source_tags TEXT NOT NULL DEFAULT '[]',
        cluster_id TEXT,
        is_cluster_lead INTEGER NOT NULL DEFAULT 1,
        content_hash TEXT NOT NULL DEFAULT '',
        fingerprint BLOB
    );
    CREATE INDEX articles_published ON articles(published);
    CREATE INDEX articles_source ON articles(source, published);
    CREATE INDEX articles_cluster ON articles(cluster_id);
    CREATE INDEX articles_hash ON articles(content_hash);

    CREATE TABLE article_facets (
        field TEXT NOT NULL,
        value TEXT NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (field, value, seq)
    ) WITHOUT ROWID;
    CREATE INDEX article_facets_seq ON article_facets(seq);

    CREATE VIRTUAL TABLE articles_fts USING fts5(
        title, text, content='', tokenize='unicode61 remove_diacritics 2'
    );

    CREATE TABLE sources (
        name TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        moved_to TEXT,
        etag TEXT,
        last_modified TEXT,
        last_attempt TEXT,
        last_success TEXT,
        last_new TEXT,
        last_error TEXT,
        last_status INTEGER,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        bozo_reported TEXT
    );

    CREATE TABLE polls (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        at TEXT NOT NULL,
        status TEXT NOT NULL,
        http_status INTEGER,
        items INTEGER NOT NULL DEFAULT 0,
        new INTEGER NOT NULL DEFAULT 0,
        duration REAL NOT NULL DEFAULT 0,
        error TEXT
    );
    CREATE INDEX polls_source_at ON polls(source, at);

    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        watchlist TEXT NOT NULL,
        article_id TEXT NOT NULL,
        cluster_id TEXT,
        source TEXT NOT NULL DEFAULT '',
        kind TEXT NOT NULL DEFAULT 'story',
        channel TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt TEXT,
        last_error TEXT NOT NULL DEFAULT '',
        delivered_ts TEXT NOT NULL DEFAULT '',
        thread_ts TEXT NOT NULL DEFAULT '',
        terms TEXT NOT NULL DEFAULT '[]',
        created TEXT NOT NULL,
        delivered_at TEXT,
        UNIQUE (watchlist, article_id)
    );
    CREATE INDEX alerts_status ON alerts(status, id);
    CREATE INDEX alerts_story ON alerts(watchlist, cluster_id, kind);
    """,
    # 2: a feed's own polling hint (RSS ttl / sy:updatePeriod, minutes) for adaptive polling,
    # and the source-health state last announced to the desk (ok, failing, silent), so a
    # transition is announced once, across restarts
    """
    ALTER TABLE sources ADD COLUMN ttl_minutes INTEGER;
    ALTER TABLE sources ADD COLUMN health TEXT NOT NULL DEFAULT 'ok';
    ALTER TABLE sources ADD COLUMN health_since TEXT;
    """,
    # 3: an alert is marked `sending` (the attempt time, committed) before the sink is called
    # and unmarked when the outcome is recorded; a mark left by a crash or a lost answer makes
    # the outbox ask the sink whether the message arrived before sending it again (issue #9)
    """
    ALTER TABLE alerts ADD COLUMN sending_at TEXT;
    """,
    # 4: one row per `run --once` cycle, for /metrics and for operators asking "how long does a
    # cycle take"; pruned with the poll history
    """
    CREATE TABLE cycles (
        at TEXT NOT NULL,
        duration REAL NOT NULL,
        sources INTEGER NOT NULL,
        stored INTEGER NOT NULL,
        alerts_sent INTEGER NOT NULL
    );
    """,
    # 5: links the address policy refused (issue #19), one row per source and link with the
    # hop that was refused (the link itself, a redirect or refresh target) and when last, so
    # `watchdesk status` can count them
    """
    CREATE TABLE refusals (
        source TEXT NOT NULL,
        url TEXT NOT NULL,
        hop_url TEXT NOT NULL,
        reason TEXT NOT NULL,
        at TEXT NOT NULL,
        times INTEGER NOT NULL DEFAULT 1,
        PRIMARY KEY (source, url)
    ) WITHOUT ROWID;
    """,
    # 6 (issue 12): the publisher (outlet) of each article, shown to people with the feed as
    # "via", and whether an aggregator's link could not be resolved to it; every link a source
    # listed that did not become an article of its own (refused by robots.txt or the address
    # policy, or another URL of a stored article), so it costs no fetch next time and no
    # longer blocks the feed's validators; aggregator tokens already resolved to their
    # publisher URL
    """
    ALTER TABLE articles ADD COLUMN publisher TEXT NOT NULL DEFAULT '';
    ALTER TABLE articles ADD COLUMN unresolved INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE links (
        id TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        source TEXT NOT NULL,
        outcome TEXT NOT NULL,
        reason TEXT,
        article_id TEXT,
        seen TEXT NOT NULL
    );
    CREATE INDEX links_source ON links(source, outcome);
    CREATE TABLE aggregator_tokens (
        aggregator TEXT NOT NULL,
        token TEXT NOT NULL,
        url TEXT NOT NULL,
        resolved TEXT NOT NULL,
        PRIMARY KEY (aggregator, token)
    ) WITHOUT ROWID;
    """,
    # 7: delivery a desk can trust (issue #17): when each alert was last tried (for `alerts
    # list`), and the sinks' stops: a permanent failure (bad token, unknown channel) stops a
    # sink, or one of its channels, until `alerts retry`; `watchdesk status` shows it
    """
    ALTER TABLE alerts ADD COLUMN last_attempt TEXT;
    CREATE TABLE sink_stops (
        sink TEXT NOT NULL,
        channel TEXT NOT NULL,
        error TEXT NOT NULL,
        remedy TEXT NOT NULL DEFAULT '',
        since TEXT NOT NULL,
        PRIMARY KEY (sink, channel)
    );
    """,
    # 8: the desk's verdicts from Slack (one per alert and user, a later click replacing the
    # earlier), stories muted in a channel, and watchlists whose instant alerts are paused
    # (issue #13)
    """
    CREATE TABLE verdicts (
        alert_id INTEGER NOT NULL,
        user_id TEXT NOT NULL,
        verdict TEXT NOT NULL CHECK (verdict IN ('relevant', 'not_relevant')),
        at TEXT NOT NULL,
        UNIQUE (alert_id, user_id)
    );
    CREATE INDEX verdicts_alert ON verdicts(alert_id, at);

    CREATE TABLE muted_stories (
        channel TEXT NOT NULL,
        cluster_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (channel, cluster_id)
    );

    CREATE TABLE watchlist_pauses (
        watchlist TEXT PRIMARY KEY,
        until TEXT NOT NULL,
        user_id TEXT NOT NULL,
        at TEXT NOT NULL
    );
    """,
    # 9 (issue 12): the label of the source each article came through (state_media, wire, ...),
    # stored with it so that `label:` and the label facet read it like the source; rows stored
    # before are labelled from the config by `ArticleRows.backfill_labels` (the migration
    # cannot see the config)
    """
    ALTER TABLE articles ADD COLUMN label TEXT NOT NULL DEFAULT '';
    CREATE INDEX articles_label ON articles(label, source);
    """,
    # 10 (issue 15): which sender holds an alert it is sending, so that several senders (on
    # several machines sharing a Postgres store) never send one twice: the database session
    # that claimed it (pid:start), valid while that session lives. SQLite's store is one
    # machine's file, whose senders the Redis outbox lease serialises: it leaves it empty.
    """
    ALTER TABLE alerts ADD COLUMN claimed_by TEXT;
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to SCHEMA_VERSION; returns the version it found."""
    found = conn.execute("PRAGMA user_version").fetchone()[0]
    if found > SCHEMA_VERSION:
        raise RuntimeError(
            f"database schema version {found} is newer than this watchdesk ({SCHEMA_VERSION})"
        )
    for version in range(found, SCHEMA_VERSION):
        conn.executescript(
            "BEGIN;\n" + MIGRATIONS[version] + f"\nPRAGMA user_version = {version + 1};\nCOMMIT;"
        )
    return found
