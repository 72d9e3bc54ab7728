"""The database under the store: one connection behind a lock, transactions, migrations.

SQLite (a file, in WAL mode) by default; PostgreSQL when the location is a `postgresql://` URL
(`crawler.storage.postgres`). The other storage modules add their tables' methods on top of it,
in one text of SQL for both engines (`crawler.storage.engine`)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

from crawler.storage.engine import Connection, Row, is_postgres_url, masked_url
from crawler.storage.schema import migrate


class Database:
    """The store's connection. Safe to share between threads (statements behind one lock).

    `path` is a SQLite file (or ":memory:") or a PostgreSQL URL; `path` keeps the file, or
    the URL with its password masked (the only form logged). `full_text` says whether the
    engine keeps the FTS5 table (SQLite only: the baseline search and backtest preselection).
    `execute` runs one read query; it is for the storage package (and tests): the rest of the
    code asks the store's named methods.
    """

    _conn: Connection

    def __init__(self, path: str | Path) -> None:
        self._lock = threading.RLock()
        if is_postgres_url(path):
            from crawler.storage.postgres import PostgresConnection

            self.path = masked_url(str(path))
            self.engine = "postgresql"
            self.full_text = False
            pg = PostgresConnection(str(path))
            self._conn, self._close = pg, pg.close
            with self._lock:
                pg.migrate()
            return
        self.path = str(path)
        self.engine = "sqlite"
        self.full_text = True
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        conn.row_factory = sqlite3.Row
        self._conn, self._close = conn, conn.close
        # WAL lets readers (search, status) run while the crawler writes; synchronous=NORMAL in
        # WAL mode survives a killed process (only an OS crash can lose the last commits).
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute("PRAGMA foreign_keys=ON")
        with self._lock:
            migrate(conn)

    def close(self) -> None:
        with self._lock:
            self._close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions ------------------------------------------------------------------------

    def _tx(self) -> _Transaction:
        return _Transaction(self)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one read query (inside the storage package, and in tests)."""
        with self._lock:
            return self._conn.execute(sql, params).fetchall()


class _Transaction:
    """`with store._tx() as conn:` — BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on error."""

    def __init__(self, store: Database) -> None:
        self.store = store

    def __enter__(self) -> Connection:
        self.store._lock.acquire()
        try:
            # IMMEDIATE: SQLite takes the write lock now, not at the first write (Postgres: BEGIN)
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
