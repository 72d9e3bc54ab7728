"""`min_relevance: auto`: a watchlist's relevance floor set by the desk's verdicts, the highest
threshold that keeps 95 % of the alerts the desk judged relevant.

It is read from the relevance each judged-relevant alert's article was stored with (the score
in force when it alerted). With fewer than `MIN_RELEVANT` of them the watchlist has no floor
(0.0) and its reason says how many are missing. `AutoRelevance.refresh` recomputes the floors
when the verdicts changed (one cheap query to find out), so the monitor calls it every tick.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from alerts.learned_relevance import KEEP_RELEVANT, threshold_keeping
from alerts.watchlist import WatchlistSet
from crawler.storage import Store

log = logging.getLogger("watchdesk.watchlists")

# Below 20 judged relevant, "keep 95 %" keeps them all (ceil(0.95 n) = n for n < 20): the
# floor would be the single lowest score, which one stray click sets. From 20 on, one verdict
# in twenty may fall under the floor, which is what 95 % means.
MIN_RELEVANT = 20


@dataclass(frozen=True, slots=True)
class AutoFloor:
    """The floor `min_relevance: auto` gives one watchlist, and what it was computed from."""

    watchlist: str
    threshold: float
    relevant: int  # alerts judged relevant (latest verdict), with their stored score
    kept: int  # of those, how many score at or above the threshold

    @property
    def learned(self) -> bool:
        """False while there are too few verdicts (then there is no floor)."""
        return self.relevant >= MIN_RELEVANT

    def reason(self) -> str:
        """One line for `watchlist stats`/`explain`, the web page and the log."""
        if not self.learned:
            return (
                f"min_relevance auto: no floor (0.00) yet: {self.relevant} alert(s) judged "
                f"relevant, {MIN_RELEVANT} needed"
            )
        return (
            f"min_relevance auto: {self.threshold:.2f}, keeps {self.kept} of the "
            f"{self.relevant} alerts judged relevant ({KEEP_RELEVANT:.0%} wanted)"
        )


def auto_floor(store: Store, watchlist: str) -> AutoFloor:
    """The floor of one watchlist from all of its judged-relevant alerts."""
    scores = store.judged_relevant_scores(watchlist)
    if len(scores) < MIN_RELEVANT:
        return AutoFloor(watchlist, 0.0, len(scores), len(scores))
    threshold = threshold_keeping(scores)
    return AutoFloor(watchlist, threshold, len(scores), sum(s >= threshold for s in scores))


def resolve_auto_relevance(
    watchlists: WatchlistSet, store: Store
) -> tuple[WatchlistSet, dict[str, AutoFloor]]:
    """The watchlists with each `min_relevance: auto` set to its floor, and the floors by
    watchlist; the same set when none is auto."""
    floors = {w.name: auto_floor(store, w.name) for w in watchlists.watchlists if w.auto_relevance}
    if not floors:
        return watchlists, {}
    resolved = [
        w.model_copy(update={"min_relevance": floors[w.name].threshold}) if w.name in floors else w
        for w in watchlists.watchlists
    ]
    return WatchlistSet(resolved, watchlists.entities), floors


class AutoRelevance:
    """The floors in force in a running service, recomputed only when the verdicts change."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.floors: dict[str, AutoFloor] = {}
        self._seen: tuple[int, int] | None = None

    def refresh(self, watchlists: WatchlistSet, *, force: bool = False) -> WatchlistSet | None:
        """The watchlists with their floors when a floor moved since the last call (or
        `force`: the watchlists themselves changed); None when nothing is to be done. The
        floors are recomputed only when the verdicts changed; each that changed is logged
        with its reason."""
        if not any(w.auto_relevance for w in watchlists.watchlists):
            self.floors = {}
            return None
        version = self.store.verdicts_version()
        if version == self._seen and not force:
            return None
        self._seen = version
        resolved, floors = resolve_auto_relevance(watchlists, self.store)
        before = {n: f.threshold for n, f in self.floors.items()}
        for name, floor in floors.items():
            if self.floors.get(name) != floor:
                log.info("watchlist %s: %s", name, floor.reason())
        self.floors = floors
        # a click that moves no floor needs no new matcher
        if not force and before == {n: f.threshold for n, f in floors.items()}:
            return None
        return resolved
