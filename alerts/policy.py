"""What a watchlist match becomes: a story, a copy, a digest item, or nothing.

The only statement of the rule. Live alerting applies it inside the transaction that saves an
article (the store reads the story's history and asks `alert_kind`); backtests apply it to the
matches they replay, so a backtest counts stories and copies exactly as the desk would get them.
When a digest is sent, the outbox asks `digest_listing` for each held item: one message per
story per channel holds for digests too.
"""

from __future__ import annotations

from typing import Literal

from crawler.records import StoryHistory

MatchOutcome = Literal["story", "copy", "digest_item"]
# What a held digest item becomes when its digest is sent; the second is also the name of its
# counter (`digest/skipped/already_in_channel`).
DigestListing = Literal["listed", "already_in_channel"]


def alert_kind(history: StoryHistory, source: str, digest: bool) -> MatchOutcome | None:
    """The alert a match of a story (cluster) from `source` becomes, given what the watchlist
    already holds for that story; None when it becomes no alert.

    - Instant watchlists: the first match of a story is a "story" alert; a later match from
      another source is a "copy" (a threaded "also reported by" reply), at most one per source.
    - Digest watchlists: a story is listed once per digest; a copy joins its story while both
      are held (shown as "+N copies", at most one per source), never a later digest; and a
      held item whose story reached the channel meanwhile is not listed (`digest_listing`).
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


def digest_listing(history: StoryHistory) -> DigestListing:
    """Whether a held digest item is listed in the digest now sent to its channel.

    One message per story per channel: an item whose story already reached the channel
    (`history.in_channel`: an instant alert of any watchlist posted it there, or an earlier
    digest there listed it or an earlier copy of it) is not listed again, not even as a "new
    copy of ..." line. The desk has the story; a syndicated copy tells it nothing new (an
    instant watchlist's own copies thread under its message, see `alert_kind`). The outbox
    settles such an item as delivered by the message the story is already in: neither held
    for ever nor dropped without a trace.

    Only a delivered message counts: a story still pending as an instant alert (Slack down,
    the alert backing off) is listed, since that alert may yet fail for good.
    """
    return "already_in_channel" if history.in_channel else "listed"
