"""Slack mrkdwn for untrusted text: escaping, safe links, bold spans and limit-aware truncation.

Everything crawled (titles, text, source names, entity names) is hostile until it has been
through `escape_mrkdwn`; the only markup in a rendered message is markup this module wrote.
Reference: https://docs.slack.dev/messaging/formatting-message-text (escaping, links, dates).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

ELLIPSIS = "…"
# U+200B ZERO WIDTH SPACE: Slack only opens/closes `*bold*` at a word boundary, so a match
# inside a word (or in Chinese text, which has no spaces) needs an invisible boundary. The same
# workaround is used by jsx-slack's "exact mode" (yhatt/jsx-slack docs/about-escape-and-exact-mode).
ZWSP = "\u200b"

# C0/C1 controls (ESC starts terminal escape sequences), bidi embedding/override/isolate marks
# (they can visually reorder a headline: "Trojan Source", CVE-2021-42574) and lone surrogates
# (not encodable as UTF-8, Slack rejects them). Newline and tab are kept: they are layout.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")

# Slack has no escape for its formatting characters (only &, < and > have entities), so in
# untrusted text they are replaced by look-alikes, as jsx-slack's <Escape> does: a stray `*` in a
# headline can then never pair with the `*` of our own bold markers.
_FORMATTING_LOOKALIKES = str.maketrans(
    {
        "*": "\u2217",  # ∗ ASTERISK OPERATOR
        "_": "\u02cd",  # ˍ MODIFIER LETTER LOW MACRON
        "~": "\u223c",  # ∼ TILDE OPERATOR
        "`": "\u02cb",  # ˋ MODIFIER LETTER GRAVE ACCENT
    }
)

# A URL longer than this is shown as text without a link: 3,000 is Slack's cap for a button
# URL (the only URL length Block Kit documents); past 2,000 a link eats too much of a section.
MAX_LINK_URL = 2000

# Characters that would end or split a `<url|label>` token, or that no valid URL contains raw.
_URL_UNSAFE = re.compile(r"[\x00-\x20\x7f<>|\"`{}\\^]")

# Indivisible pieces of rendered mrkdwn: an entity, a `<...>` token (link, date), one character.
_ATOM = re.compile(r"&[#A-Za-z0-9]+;|<[^<>]*>|.", re.DOTALL)


def strip_control(text: str) -> str:
    """Remove control, bidi-override and surrogate characters; keeps newlines and tabs."""
    return _CONTROL.sub("", text)


def escape_mrkdwn(text: str) -> str:
    """Make untrusted text inert in mrkdwn: no mentions, links, entities or formatting.

    `&`, `<`, `>` become entities (Slack's documented escaping), so `<!channel>`, `<@U123>` and
    `<https://evil|click>` render as the literal text; formatting characters become look-alikes.
    """
    text = strip_control(text).translate(_FORMATTING_LOOKALIKES)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def safe_url(url: str) -> str | None:
    """The URL ready to sit inside `<...|label>`, or None when it must not be linked.

    Only absolute http(s) URLs with a host are linked (no `javascript:`, `file:`, `slack:`);
    characters that would close or split the link token are percent-encoded and `&` becomes
    `&amp;`, which Slack decodes back in link targets.
    """
    url = strip_control(url).strip()
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    encoded = _URL_UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m[0].encode()), url)
    encoded = encoded.replace("&", "&amp;")
    if len(encoded) > MAX_LINK_URL:
        return None
    return encoded


def link(url: str, label: str) -> str:
    """`<url|label>` with the label escaped; only the escaped label when the URL is unsafe."""
    label_md = escape_mrkdwn(label) or escape_mrkdwn(url)
    target = safe_url(url)
    if target is None:
        return label_md
    return f"<{target}|{label_md}>"


def bold(text: str, *, before: str = "", after: str = "") -> str:
    """`*text*` for untrusted text, with zero-width boundaries where Slack needs them.

    `before`/`after` are the raw characters next to the span in the original text: when they are
    letters or digits (a match inside a word, or CJK text) Slack would not see a word boundary.
    """
    inner = escape_mrkdwn(text).strip()
    if not inner:
        return ""
    left = ZWSP if before[-1:].isalnum() else ""
    right = ZWSP if after[:1].isalnum() else ""
    return f"{left}*{inner}*{right}"


def date_token(when: datetime) -> str:
    """Slack's date token: shown in each reader's time zone, with a UTC fallback text."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    fallback = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def truncate_mrkdwn(text: str, limit: int) -> str:
    """Cut rendered mrkdwn to at most `limit` characters, ending in "…" when it was cut.

    Never cuts inside an entity (`&amp;`) or a `<...>` token (a partial link would swallow the
    rest of the message); a `*bold*` span left open by the cut is closed. All `*` in rendered
    mrkdwn are ours (untrusted `*` became look-alikes), so they pair up.
    """
    if len(text) <= limit:
        return text
    out: list[str] = []
    size = 0
    bold_open = False
    budget = limit - len(ELLIPSIS)
    for atom in _ATOM.findall(text):
        closing = 1 if (bold_open or atom == "*") else 0
        if size + len(atom) + closing > budget:
            break
        out.append(atom)
        size += len(atom)
        if atom == "*":
            bold_open = not bold_open
    if bold_open:
        # Drop whitespace (a closing `*` after a space does not close) and an empty bold.
        while out and out[-1].isspace():
            out.pop()
        if out and out[-1] == "*":
            out.pop()
        else:
            out.append("*")
    while out and out[-1].isspace():
        out.pop()
    return "".join(out) + ELLIPSIS


def truncate_plain(text: str, limit: int) -> str:
    """Cut plain text to at most `limit` characters at a word boundary when one is near."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - len(ELLIPSIS), 0)]
    space = cut.rfind(" ")
    if space >= len(cut) - 20 and space > 0:  # within the last word: do not leave a half word
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


_LINK = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")


def mrkdwn_to_plain(text: str) -> str:
    """Readable plain text of rendered mrkdwn (for terminals and logs); controls stripped.

    Links become "label (url)", date tokens their fallback, our bold markers disappear and the
    entities are decoded last, so decoded `<` cannot start a new token.
    """

    def _token(m: re.Match[str]) -> str:
        target, label = m[1], m[2]
        if target.startswith("!date^"):
            return label or ""
        if target.startswith(("!", "@", "#")):
            return label or target
        if label is None:
            return target
        return f"{label} ({target})"

    text = _LINK.sub(_token, text).replace("*", "").replace(ZWSP, "")
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return strip_control(text)
