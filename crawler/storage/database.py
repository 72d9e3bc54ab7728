"""The SQLite database under the store: one connection behind a lock, WAL, transactions,
migrations. The other storage modules add their tables' methods on top of it."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

from crawler.storage.schema import migrate


class Database:
    """The SQLite store's connection. Safe to share between threads (one connection behind a lock).

    `execute` runs one read query; it is for the storage package (and tests): the rest of the
    code asks the store's named methods.
    """

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

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions ------------------------------------------------------------------------

    def _tx(self) -> _Transaction:
        return _Transaction(self)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Run one read query (inside the storage package, and in tests)."""
        with self._lock:
            return self._conn.execute(sql, params).fetchall()


class _Transaction:
    """`with store._tx() as conn:` — BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on error."""

    def __init__(self, store: Database) -> None:
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
