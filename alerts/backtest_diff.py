"""A draft against the saved query: what the draft gains and loses, counted by story.

Editors tune a watchlist by trying a draft (`watchlist test NAME --query DRAFT`, the web page's
draft box with a watchlist chosen); the draft's own backtest says what it would alert, this
says what changes: the stories only the draft matches (gained), the ones only the saved query
matches (lost) and the ones both do (kept). Both backtests run over the same window on the same
date basis; stories, not articles, as the alerts count them (a syndicated story is one alert).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from alerts.backtest import Backtest, BacktestHit, story_hits
from crawler.storage import Store

# Articles listed on each side (the counts are always complete).
LISTED = 20


@dataclass(slots=True)
class BacktestComparison:
    """Stories the draft gains, loses and keeps against the saved watchlist `saved`; the
    gained and lost ones' newest articles listed (newest first, at most LISTED each)."""

    saved: str
    saved_query: str
    gained: int = 0
    lost: int = 0
    kept: int = 0
    gained_hits: list[BacktestHit] = field(default_factory=list)
    lost_hits: list[BacktestHit] = field(default_factory=list)

    def summary(self) -> str:
        """ "+3 gained, -1 lost, 12 kept (stories)" """
        return f"+{self.gained} gained, -{self.lost} lost, {self.kept} kept (stories)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "saved": self.saved,
            "saved_query": self.saved_query,
            "gained": self.gained,
            "lost": self.lost,
            "kept": self.kept,
            "gained_hits": [h.to_dict() for h in self.gained_hits],
            "lost_hits": [h.to_dict() for h in self.lost_hits],
        }


def compare_backtests(
    store: Store, draft: Backtest, saved: Backtest, *, listed: int = LISTED
) -> BacktestComparison:
    """`draft` against `saved` (the same window and date basis): stories only the draft
    matches, only the saved query matches, and both; ValueError when the windows differ."""
    if (draft.start, draft.end, draft.date_field) != (saved.start, saved.end, saved.date_field):
        raise ValueError("a draft is compared with the saved query over the same window")
    mine, theirs = set(draft.story_newest), set(saved.story_newest)
    gained, lost = mine - theirs, theirs - mine
    return BacktestComparison(
        saved=saved.watchlist.name,
        saved_query=saved.watchlist.query,
        gained=len(gained),
        lost=len(lost),
        kept=len(mine & theirs),
        gained_hits=story_hits(store, draft, gained, listed),
        lost_hits=story_hits(store, saved, lost, listed),
    )
