"""Copying one store into another (SQLite → Postgres for `watchdesk index migrate --to
postgresql://…`), resumably, row for row.

Tables with an integer key (articles by seq, alerts and polls by id) are copied in batches in
key order, each batch in one transaction of the destination (an article with its facets), and
a run resumes after the highest key the destination holds. The small tables without one are
copied whole, each in one transaction that replaces the destination's rows. Keys are kept as
they are (an alert's id is in Slack's message metadata; the search watermarks count seqs), and
the destination's identity sequences are moved past them afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from crawler.storage.database import Database
from crawler.storage.engine import Connection, Row

# (table, integer key or None), in the order they are copied: articles before what points at
# them. The FTS5 table is SQLite's own; a SQLite destination rebuilds nothing (not supported).
TABLES: tuple[tuple[str, str | None], ...] = (
    ("articles", "seq"),
    ("alerts", "id"),
    ("polls", "id"),
    ("sources", None),
    ("cycles", None),
    ("refusals", None),
    ("links", None),
    ("aggregator_tokens", None),
    ("sink_stops", None),
    ("verdicts", None),
    ("muted_stories", None),
    ("watchlist_pauses", None),
)

# SQLite's implicit rowid orders these tables' rows (the Postgres store gives them a column).
_ROWID_ORDER = {"cycles": "rowid", "verdicts": "rowid"}


@dataclass
class CopyReport:
    """Rows copied by this run, per table, and rows already in the destination."""

    copied: dict[str, int] = field(default_factory=dict)
    skipped: int = 0

    @property
    def total(self) -> int:
        return sum(self.copied.values())


def rows_to_copy(source: Database, destination: Database) -> int:
    """How many rows a copy would still write (for a progress bar's total)."""
    todo = 0
    for table, key in TABLES:
        count = int(source.execute(f"SELECT count(*) FROM {table}")[0][0])
        if key is not None:
            done = _last_key(destination, table, key)
            count = int(
                source.execute(f"SELECT count(*) FROM {table} WHERE {key} > ?", (done,))[0][0]
            )
        todo += count
    return todo


def copy_store(
    source: Database,
    destination: Database,
    *,
    batch: int = 500,
    progress: Callable[[int], object] | None = None,
) -> CopyReport:
    """Copy every table of `source` into `destination` (Postgres), resuming where an earlier,
    interrupted run stopped; `progress` receives the number of rows of each batch written."""
    if destination.engine != "postgresql":
        raise ValueError("a store is copied into a Postgres store only")
    _check_same_history(source, destination)
    report = CopyReport()
    for table, key in TABLES:
        if key is not None:
            report.copied[table] = _copy_by_key(source, destination, table, key, batch, progress)
        else:
            report.copied[table] = _copy_whole(source, destination, table, progress)
    _advance_identities(destination)
    return report


def _check_same_history(source: Database, destination: Database) -> None:
    """A resumed copy continues the same store: the destination's newest article is the
    source's article of that seq (a destination holding another store's rows is refused)."""
    last = _last_key(destination, "articles", "seq")
    if not last:
        return
    mine = source.execute("SELECT id FROM articles WHERE seq = ?", (last,))
    theirs = destination.execute("SELECT id FROM articles WHERE seq = ?", (last,))
    if not mine or mine[0][0] != theirs[0][0]:
        raise ValueError(
            f"{destination.path} already holds other articles (seq {last} is not the "
            f"source's): copy into an empty database"
        )


def _last_key(db: Database, table: str, key: str) -> int:
    return int(db.execute(f"SELECT max({key}) FROM {table}")[0][0] or 0)


# Rows per INSERT statement: one statement of many VALUES rows rather than one per row copied
# 10,000 articles (5,000 alerts, 80,000 facet rows) in 6.4 s instead of 9.7 s (the store of
# tests/crawler/test_store_copy.py, psycopg's C implementation).
ROWS_PER_STATEMENT = 250


def _insert(
    c: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]
) -> None:
    """INSERT `rows` (tuples in `columns` order), ROWS_PER_STATEMENT rows per statement; a
    row the destination holds already is left as it is (a resumed batch)."""
    names = ", ".join(columns)
    one = "(" + ", ".join("?" for _ in columns) + ")"
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[start : start + ROWS_PER_STATEMENT]
        c.execute(
            f"INSERT INTO {table} ({names}) VALUES {', '.join([one] * len(chunk))} "
            "ON CONFLICT DO NOTHING",
            [v for row in chunk for v in row],
        )


def _values(rows: Sequence[Row], columns: Sequence[str]) -> list[tuple[object, ...]]:
    return [tuple(r[c] for c in columns) for r in rows]


def _copy_by_key(
    source: Database,
    destination: Database,
    table: str,
    key: str,
    batch: int,
    progress: Callable[[int], object] | None,
) -> int:
    copied = 0
    last = _last_key(destination, table, key)
    while True:
        rows = source.execute(
            f"SELECT * FROM {table} WHERE {key} > ? ORDER BY {key} LIMIT ?", (last, batch)
        )
        if not rows:
            return copied
        columns = list(rows[0].keys())
        with destination._tx() as c:
            _insert(c, table, columns, _values(rows, columns))
            if table == "articles":  # an article's facets travel with it
                low, high = rows[0][key], rows[-1][key]
                facets = source.execute(
                    "SELECT field, value, seq FROM article_facets WHERE seq >= ? AND seq <= ?",
                    (low, high),
                )
                _insert(
                    c,
                    "article_facets",
                    ["field", "value", "seq"],
                    [(f["field"], f["value"], f["seq"]) for f in facets],
                )
        copied += len(rows)
        last = int(rows[-1][key])
        if progress is not None:
            progress(len(rows))


def _copy_whole(
    source: Database,
    destination: Database,
    table: str,
    progress: Callable[[int], object] | None,
) -> int:
    order = _ROWID_ORDER.get(table)
    rows = source.execute(f"SELECT * FROM {table}" + (f" ORDER BY {order}" if order else ""))
    with destination._tx() as c:
        c.execute(f"DELETE FROM {table}")
        if rows:
            columns = list(rows[0].keys())
            _insert(c, table, columns, _values(rows, columns))
    if progress is not None and rows:
        progress(len(rows))
    return len(rows)


def _advance_identities(destination: Database) -> None:
    """Move Postgres's identity sequences past the copied keys, so that the next article,
    alert or poll stored gets a key of its own."""
    with destination._tx() as c:
        for table, key in TABLES:
            if key is None:
                continue
            c.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{key}'), "
                f"(SELECT coalesce(max({key}), 0) + 1 FROM {table}), false)"
            )
