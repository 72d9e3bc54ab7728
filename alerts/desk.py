"""The two-way desk: triage buttons on story alerts, the desk's clicks, and `/watchdesk`.

Everything here is plain Python over Slack's payloads (dicts) and the store: what a click
records and what the message then says, what a slash command answers. The Socket Mode loop
(`watchdesk.service.socket_mode`) acknowledges each envelope and does the Slack I/O.

A click is refused unless it comes from the alert's own workspace, channel and message: the
button's value names an alert, and the envelope must carry that alert's message ts and channel
(a forged or replayed envelope for another channel's alert records nothing). All text that
reaches Slack is escaped (`alerts.mrkdwn`), user ids included.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from alerts.backtest import ArticleNotFound, explain_article
from alerts.clause_counts import ClauseCounts
from alerts.mrkdwn import date_token, escape_mrkdwn, link, truncate_mrkdwn, truncate_plain

# The buttons themselves (and the module-level `triage` switch) live in alerts/triage.py, so
# that the message layout can add them without importing the desk that handles their clicks.
from alerts.triage import (  # noqa: E402, F401  (re-exported: the desk's public names)
    ACTION_EXPLAIN,
    ACTION_MUTE_STORY,
    ACTION_NOT_RELEVANT,
    ACTION_RELEVANT,
    TRIAGE_BLOCK_ID,
    TriageLayout,
    explain_url,
    triage,
    triage_blocks,
)
from alerts.watchlist import Watchlist, WatchlistSet
from crawler import timespan
from crawler.query import AliasResolver, QueryError
from crawler.records import Alert, MatchedTerm
from crawler.search.request import Archive, SearchRequest
from crawler.storage import Store
from crawler.storage.verdicts import VerdictKind

# --- the buttons ------------------------------------------------------------------------------

VERDICT_BLOCK_ID = "watchdesk_verdicts"
_VERDICT_ACTIONS: dict[str, VerdictKind] = {
    ACTION_RELEVANT: "relevant",
    ACTION_NOT_RELEVANT: "not_relevant",
}
_VERDICT_WORDS = {"relevant": "relevant", "not_relevant": "not relevant"}

# Slack user ids: U… (users), W… (Enterprise Grid users); anything else is shown escaped.
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")

# Slash command answers: "/watchdesk search" lists the top 5 hits (the number: a
# screenful in an ephemeral message); each answer is one section, cut at its 3,000 limit.
SEARCH_HITS = 5
MAX_SECTION_TEXT = 3000  # https://docs.slack.dev/reference/block-kit/blocks/section-block
STATS_WINDOW = timedelta(days=30)
# A pause longer than a week is a watchlist edit (`muted: true`), not a desk decision.
MAX_PAUSE = timedelta(days=7)


def user_mention(user: str) -> str:
    """`<@U…>` for a well-formed user id; anything else as escaped text."""
    return f"<@{user}>" if _USER_ID.match(user) else escape_mrkdwn(user)


# --- a click ----------------------------------------------------------------------------------

Outcome = Literal["recorded", "muted", "ignored", "refused"]


@dataclass(slots=True)
class ClickResult:
    """What a click did: `recorded` a verdict, `muted` the story, `ignored` (the Explain link,
    another app's button) or `refused` (with the reason, and a line for the clicking user).
    `update` is the chat.update to make (channel, ts, text, blocks), when the message changes."""

    outcome: Outcome
    reason: str = ""
    alert_id: int | None = None
    update: dict[str, Any] | None = None
    notice: str = ""  # an ephemeral line for the user (refusals)


@dataclass(slots=True)
class Desk:
    """What the desk's handlers need: the store, the current watchlists, the workspace the bot
    belongs to, the archive for `/watchdesk search`, and the renderer of a story message."""

    store: Store
    watchlists: Callable[[], WatchlistSet]
    team_id: str
    archive: Callable[[], Archive] | None = None
    aliases: AliasResolver | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # the archive counts a story's passage is picked by, as the outbox counts them, so that a
    # message updated after a click keeps the passage it was posted with
    _clause_counts: ClauseCounts = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._clause_counts = ClauseCounts(self.store)

    def handle_click(self, payload: Mapping[str, Any]) -> ClickResult:
        """Record a triage click from a `block_actions` payload; never raises for bad input."""
        actions = payload.get("actions") or []
        action = actions[0] if actions and isinstance(actions[0], Mapping) else {}
        action_id = str(action.get("action_id") or "")
        if action_id not in (ACTION_RELEVANT, ACTION_NOT_RELEVANT, ACTION_MUTE_STORY):
            return ClickResult("ignored", "not a triage button")
        team = _get(payload, "team", "id") or _get(payload, "user", "team_id")
        if team != self.team_id:
            return ClickResult("refused", "another workspace")
        user = str(_get(payload, "user", "id") or "")
        if not _USER_ID.match(user):
            return ClickResult("refused", "no user")
        try:
            alert_id = int(str(action.get("value") or ""))
        except ValueError:
            return ClickResult("refused", "bad button value")
        alert = self.store.alert_by_id(alert_id)
        if alert is None or alert.kind != "story":
            return ClickResult("refused", "no such story alert", alert_id)
        channel_id = str(_get(payload, "channel", "id") or _get(payload, "container", "channel_id"))
        channel_name = str(_get(payload, "channel", "name") or "")
        message_ts = str(_get(payload, "container", "message_ts") or "")
        if not same_channel(alert.channel, channel_id, channel_name) or (
            not message_ts or message_ts != alert.delivered_ts
        ):
            return ClickResult(
                "refused",
                "another channel's alert",
                alert_id,
                notice="This button does not belong to an alert of this channel; nothing recorded.",
            )
        now = self.clock()
        if action_id == ACTION_MUTE_STORY:
            self.store.mute_story(alert.channel, alert.cluster_id or alert.article_id, user, now)
            outcome: Outcome = "muted"
        else:
            self.store.record_verdict(alert_id, user, _VERDICT_ACTIONS[action_id], now)
            outcome = "recorded"
        return ClickResult(
            outcome, alert_id=alert_id, update=self._update(alert, channel_id, message_ts)
        )

    def _update(self, alert: Alert, channel_id: str, ts: str) -> dict[str, Any] | None:
        message = story_message(self.store, self.watchlists(), alert, self._clause_counts)
        if message is None:
            return None
        marker = verdict_marker(self.store, alert)
        blocks = list(message.get("blocks") or [])
        if marker:
            blocks.append(
                {
                    "type": "context",
                    "block_id": VERDICT_BLOCK_ID,
                    "elements": [{"type": "mrkdwn", "text": marker}],
                }
            )
        return {
            "channel": channel_id,
            "ts": ts,
            "text": message.get("text") or "",
            "blocks": blocks,
        }

    # --- /watchdesk ------------------------------------------------------------------------

    def handle_command(self, payload: Mapping[str, Any]) -> CommandAnswer:
        """Answer a `/watchdesk` slash command payload; never raises for bad input."""
        if str(payload.get("team_id") or "") != self.team_id:
            return CommandAnswer("This workspace is not the one watchdesk posts to.")
        text = str(payload.get("text") or "").strip()
        channel_id = str(payload.get("channel_id") or "")
        channel_name = str(payload.get("channel_name") or "")
        user = str(payload.get("user_id") or "")
        sub, _, rest = text.partition(" ")
        rest = rest.strip()
        sub = sub.lower()
        mine = [
            w
            for w in self.watchlists().watchlists
            if same_channel(w.channel, channel_id, channel_name)
        ]
        if sub == "search" and rest:
            return self._search(rest)
        if sub == "explain" and rest:
            return self._explain(rest, mine)
        if sub == "watchlists":
            return self._watchlists(mine)
        if sub == "mute" and rest:
            return self._mute(rest, mine, user)
        return CommandAnswer(HELP)

    def _search(self, query: str) -> CommandAnswer:
        if self.archive is None:
            return CommandAnswer("Search is not available on this desk.")
        try:
            # by story, as the web page and the CLI answer: a syndicated story is one line
            result = self.archive().search(
                SearchRequest(query=query, limit=SEARCH_HITS, by_story=True)
            )
        except QueryError as exc:
            caret = " " * exc.position + "^"
            return CommandAnswer(
                f"Bad query: {escape_mrkdwn(exc.message)} (at position {exc.position})\n"
                f"```{escape_mrkdwn(query)}\n{caret}```"
            )
        if not result.hits:
            return CommandAnswer(f"No articles match `{escape_mrkdwn(query)}`.")
        unit = "story" if result.total == 1 else "stories"
        lines = [f"Top {len(result.hits)} of {result.total:,} {unit} for `{escape_mrkdwn(query)}`:"]
        for hit in result.hits:
            art = hit.article
            title = truncate_plain(art.title or art.url, 150)
            parts = [escape_mrkdwn(art.source or art.site_name or "")]
            when = art.published or art.fetched
            if when is not None:
                parts.append(date_token(when))
            places = [e.name for e in art.entities if e.type == "place"][:4]
            if places:
                parts.append(escape_mrkdwn(", ".join(dict.fromkeys(places))))
            if hit.copy_count:
                parts.append(f"+{hit.copy_count} {'copy' if hit.copy_count == 1 else 'copies'}")
            lines.append(f"• {link(art.canonical_url or art.url, title)}\n   " + " · ".join(parts))
        return CommandAnswer("\n".join(lines))

    def _explain(self, url: str, mine: Sequence[Watchlist]) -> CommandAnswer:
        url = url.strip("<>").split("|", 1)[0]  # Slack sends a pasted URL as <url> or <url|x>
        if not mine:
            return CommandAnswer("No watchlist posts to this channel.")
        lines: list[str] = []
        for watchlist in mine:
            try:
                why = explain_article(self.store, watchlist, url, self.aliases)
            except ArticleNotFound:
                return CommandAnswer(f"No stored article with id or URL {escape_mrkdwn(url)}.")
            if why.matched:
                terms = ", ".join(dict.fromkeys(t.term for t in why.terms)) or "-"
                lines.append(f"*{escape_mrkdwn(watchlist.name)}*: matched ({escape_mrkdwn(terms)})")
            else:
                failed = why.failed_filters()
                if not why.query_matched:
                    failed.insert(0, "the query does not match")
                lines.append(
                    f"*{escape_mrkdwn(watchlist.name)}*: no match — "
                    + escape_mrkdwn("; ".join(failed))
                )
        article = self.store.find_article(url)
        if article is not None:
            for v in self.store.article_verdicts(article.id):
                lines.append(
                    f"verdict on {escape_mrkdwn(v.watchlist)}: {_VERDICT_WORDS[v.verdict]} "
                    f"by {user_mention(v.user)}"
                )
        return CommandAnswer("\n".join(lines))

    def _watchlists(self, mine: Sequence[Watchlist]) -> CommandAnswer:
        if not mine:
            return CommandAnswer("No watchlist posts to this channel.")
        counts = self.store.verdict_counts(since=self.clock() - STATS_WINDOW)
        lines = ["Watchlists of this channel (last 30 days):"]
        for w in mine:
            c = counts.get(w.name)
            alerts = c.alerts if c else 0
            line = f"• *{escape_mrkdwn(w.name)}*: {alerts} alert(s)"
            if c and c.precision is not None:
                line += f", precision {c.precision:.0%} ({c.relevant}/{c.judged} judged)"
            else:
                line += ", none judged"
            paused = self.store.paused_until(w.name, self.clock())
            if paused is not None:
                line += f", paused until {date_token(paused)}"
            lines.append(line)
        return CommandAnswer("\n".join(lines))

    def _mute(self, rest: str, mine: Sequence[Watchlist], user: str) -> CommandAnswer:
        try:
            name, span_text = shlex.split(rest)
        except ValueError:
            return CommandAnswer("Usage: `/watchdesk mute WATCHLIST 2h`")
        watchlist = next((w for w in mine if w.name == name), None)
        if watchlist is None:
            names = ", ".join(w.name for w in mine) or "none"
            return CommandAnswer(
                f"No watchlist {escape_mrkdwn(name)} posts to this channel (this channel's: "
                f"{escape_mrkdwn(names)})."
            )
        try:
            span = timespan.parse_span(span_text)
        except ValueError as exc:
            return CommandAnswer(f"Bad duration: {escape_mrkdwn(str(exc))}")
        if span > MAX_PAUSE:
            return CommandAnswer("At most 7d; to silence a watchlist for good, set `muted: true`.")
        until = self.clock() + span
        self.store.pause_watchlist(watchlist.name, until, user)
        announce = (
            f"{user_mention(user)} paused the instant alerts of *{escape_mrkdwn(watchlist.name)}* "
            f"until {date_token(until)} (digests still collect them)."
        )
        return CommandAnswer(f"Paused {escape_mrkdwn(watchlist.name)}.", announce=announce)


HELP = (
    "Usage: `/watchdesk search QUERY` · `/watchdesk explain URL` · `/watchdesk watchlists` · "
    "`/watchdesk mute WATCHLIST 2h`"
)


@dataclass(slots=True)
class CommandAnswer:
    """An ephemeral answer to the user who asked (mrkdwn), and a line to announce in the
    channel (the `mute` subcommand)."""

    text: str
    announce: str = ""

    def message(self) -> dict[str, Any]:
        """The response_url body: ephemeral, within a section's 3,000 characters."""
        text = truncate_mrkdwn(self.text, MAX_SECTION_TEXT)
        return {
            "response_type": "ephemeral",
            "text": text,
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
        }


def story_message(
    store: Store,
    watchlists: WatchlistSet,
    alert: Alert,
    clause_counts: ClauseCounts | None = None,
) -> dict[str, Any] | None:
    """The story alert's message as first posted (buttons included), or None when its article
    or watchlist is gone. `clause_counts`: as the outbox picked the passage by (without, the
    passage may differ from the posted one)."""
    from alerts.message import render_story  # message.py imports this module for the hook

    article = store.get_article(alert.article_id)
    watchlist = watchlists.by_name(alert.watchlist)
    if article is None or watchlist is None:
        return None
    terms = [MatchedTerm(*t) for t in alert.payload.get("terms", [])]
    counts = clause_counts.counts(watchlists) if clause_counts is not None else None
    return render_story(alert, article, watchlist, terms, clause_counts=counts)


def verdict_marker(store: Store, alert: Alert) -> str:
    """ "marked relevant by <@U1> · marked not relevant by <@U2> · story muted in this channel"
    ("" when nothing was clicked)."""
    assert alert.id is not None
    parts = [
        f"marked {_VERDICT_WORDS[v.verdict]} by {user_mention(v.user)}"
        for v in store.alert_verdicts(alert.id)
    ]
    if store.is_story_muted(alert.channel, alert.cluster_id or alert.article_id):
        parts.append("story muted in this channel")
    return truncate_mrkdwn(" · ".join(parts), MAX_SECTION_TEXT)


def same_channel(configured: str, channel_id: str, channel_name: str) -> bool:
    """Whether a watchlist's `channel` (an id or `#name`) is the channel Slack names."""
    if not configured:
        return False
    if _CHANNEL_ID.match(configured):
        return configured == channel_id
    return bool(channel_name) and configured.removeprefix("#").lower() == channel_name.lower()


def _get(payload: Mapping[str, Any], *keys: str) -> Any:
    value: Any = payload
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value
