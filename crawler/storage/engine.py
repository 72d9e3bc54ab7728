"""The two engines of the store of record: SQLite (the zero-setup default) and PostgreSQL.

The storage modules hold one text of each query, written in the SQL both engines speak
(`INSERT … ON CONFLICT`, `RETURNING`, `CASE`, columns of the row being updated named with their
table); `crawler.storage.postgres` turns that text into Postgres's own (placeholders, the few
functions SQLite names otherwise) and renders the migrations' DDL. What only one engine has
(FTS5, PRAGMAs) is branched on `Database.full_text` in the one place it is used.

The protocols below are what the storage modules need of a connection, a cursor and a row:
`sqlite3` satisfies them as it is, and the Postgres adapter does too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

# The URL a Postgres store is opened with; the config's `store.url` or this variable (which
# wins, so the credentials can stay out of the config file).
DB_URL_ENV = "WATCHDESK_DB_URL"

_SCHEMES = ("postgresql://", "postgres://")


class Row(Protocol):
    """A result row, by position or by column name (as sqlite3.Row)."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> list[str]: ...


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """What the storage modules call on the connection inside a transaction."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor: ...


def is_postgres_url(location: object) -> bool:
    """True when a store location is a PostgreSQL URL rather than a SQLite file."""
    return isinstance(location, str) and location.startswith(_SCHEMES)


def masked_url(url: str) -> str:
    """The URL with its password replaced by `***`: the only form that is logged or shown."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
