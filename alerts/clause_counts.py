"""How common each watchlist clause is in the archive: what a story alert's passage is picked by.

A story alert shows the sentences around its rarest matched clause (`alerts.message`), the one
that says most about why the story matched: "farmland", not "Chinese". Rarest by document
frequency: how many stored articles the clause matches, counted by the store's FTS5 index
(which every store has, whatever the search backend). Counted once per watchlist set (a reload
makes a new one) and again after REFRESH_SECONDS, never per message; a clause without a count
(a wildcard or fuzzy word, an alias, an expression FTS5 refuses) falls back on the message's
own ranking.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Mapping

from alerts.watchlist import WatchlistSet
from crawler.query import QueryError, Text, parse_query, to_query_text
from crawler.query.sqlite import fts_leaf
from crawler.query.syntax import positive_leaves
from crawler.storage import Store

log = logging.getLogger("watchdesk.alerts")

# Which clause of a query is rarest changes only as fast as the archive's make-up: hours to
# days (a desk's archive grows by hundreds of articles a day, DOMAIN.md's sources), so
# counting once an hour is fresh, and costs one FTS5 count per clause an hour.
REFRESH_SECONDS = 3600.0


def clause_key(leaf: Text) -> str:
    """The clause as a match names it (`MatchedTerm.term`: as written in the query)."""
    return leaf.source or to_query_text(leaf)


def watchlist_clauses(watchlists: WatchlistSet) -> dict[str, str]:
    """Every text clause that can make a watchlist match (none under a NOT), by its key, with
    its FTS5 expression. Case-sensitive clauses (`case:Bill`) are counted without case: an
    upper bound, which is as good for telling rare from common."""
    out: dict[str, str] = {}
    for watchlist in watchlists.watchlists:
        try:
            query = parse_query(watchlist.query)
        except QueryError:  # validated when loaded; an unchecked one simply has no counts
            continue
        for leaf in positive_leaves(query):
            if isinstance(leaf, Text):
                out.setdefault(clause_key(leaf), fts_leaf(leaf))
    return out


class ClauseCounts:
    """The archive's document count of every watchlist clause, cached per watchlist set.

    `counts(watchlists)` recounts when it is given another `WatchlistSet` object (the service
    swaps in a new one on reload) or when the last count is `refresh` seconds old."""

    def __init__(
        self,
        store: Store,
        refresh: float = REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.refresh = refresh
        self.clock = clock
        self._for: WatchlistSet | None = None
        self._at = 0.0
        self._counts: dict[str, int] = {}

    def counts(self, watchlists: WatchlistSet) -> Mapping[str, int]:
        """Clause key -> how many stored articles it matches (clauses not counted: absent)."""
        now = self.clock()
        if watchlists is self._for and now - self._at < self.refresh:
            return self._counts
        clauses = watchlist_clauses(watchlists)
        try:
            found = self.store.text_match_counts(clauses.values())
        except sqlite3.Error as exc:  # the passage falls back; the alert must still go out
            log.warning("cannot count watchlist clauses in the archive: %s", exc)
            found = {}
        self._counts = {key: found[expr] for key, expr in clauses.items() if expr in found}
        self._for, self._at = watchlists, now
        return self._counts


__all__ = ["REFRESH_SECONDS", "ClauseCounts", "clause_key", "watchlist_clauses"]
