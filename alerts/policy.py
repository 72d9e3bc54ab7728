"""What a watchlist match becomes: a story, a copy, a digest item, or nothing.

The only statement of the rule. Live alerting applies it inside the transaction that saves an
article (the store reads the story's history and asks `alert_kind`); backtests apply it to the
matches they replay, so a backtest counts stories and copies exactly as the desk would get them.
"""

from __future__ import annotations

from typing import Literal

from crawler.records import StoryHistory

MatchOutcome = Literal["story", "copy", "digest_item"]


def alert_kind(history: StoryHistory, source: str, digest: bool) -> MatchOutcome | None:
    """The alert a match of a story (cluster) from `source` becomes, given what the watchlist
    already holds for that story; None when it becomes no alert.

    - Instant watchlists: the first match of a story is a "story" alert; a later match from
      another source is a "copy" (a threaded "also reported by" reply), at most one per source.
    - Digest watchlists: a story is listed once per digest; a copy joins its story while both
      are held (shown as "+N copies", at most one per source), never a later digest.
    - The desk's word: a story muted in the channel, or a watchlist whose instant alerts are
      paused, makes no instant alert (digests still collect it).
    """
    if not digest and (history.muted or history.paused):
        return None
    if digest:
        if history.released or source in history.sources:
            return None
        return "digest_item"
    if not history.story:
        return "story"
    if source in history.sources:
        return None
    return "copy"
