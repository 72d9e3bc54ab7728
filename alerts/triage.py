"""The triage buttons on a story alert: what they are and whether messages carry them.

Used by the message layout (`alerts.message`), which appends `triage_blocks`, and by the desk
(`alerts.desk`), which handles the clicks; neither imports the other for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from crawler.records import Alert

ACTION_RELEVANT = "watchdesk_relevant"
ACTION_NOT_RELEVANT = "watchdesk_not_relevant"
ACTION_MUTE_STORY = "watchdesk_mute_story"
ACTION_EXPLAIN = "watchdesk_explain"  # a link button: Slack still sends a click, acked only
TRIAGE_BLOCK_ID = "watchdesk_triage"


@dataclass(slots=True)
class TriageLayout:
    """Whether story alerts carry the triage buttons (only when Socket Mode runs: a button
    nobody listens to shows the desk an error), and the web page for the Explain link."""

    enabled: bool = False
    explain_base: str = ""  # `web.base_url`; "" leaves the Explain link out


# Set by the service when it starts the Socket Mode client (`watchdesk.service.socket_mode`).
triage = TriageLayout()


def triage_blocks(alert: Alert) -> list[dict[str, Any]]:
    """The actions block for a story alert's message ([] when the desk is not listening).

    The hook `alerts.message.render_story` appends. Each button's value is the alert id, the
    only thing a click needs to find the alert again (and to check it against the envelope).
    """
    if not triage.enabled or alert.id is None:
        return []
    value = str(alert.id)
    elements: list[dict[str, Any]] = [
        _button("Relevant", ACTION_RELEVANT, value, style="primary"),
        _button("Not relevant", ACTION_NOT_RELEVANT, value),
        _button("Mute story", ACTION_MUTE_STORY, value),
    ]
    url = explain_url(alert)
    if url:
        elements.append({**_button("Explain", ACTION_EXPLAIN, value), "url": url})
    return [{"type": "actions", "block_id": TRIAGE_BLOCK_ID, "elements": elements}]


def explain_url(alert: Alert) -> str:
    """The web page's explain view of the alert's article and watchlist ("" without
    `web.base_url`)."""
    base = triage.explain_base.rstrip("/")
    if not base:
        return ""
    return (
        f"{base}/watchlists/explain?watchlist={quote(alert.watchlist)}"
        f"&article={quote(alert.article_id)}"
    )


def _button(label: str, action_id: str, value: str, style: str = "") -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button
