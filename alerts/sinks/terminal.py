"""The terminal sink: prints each alert as plain readable text (for `watchdesk run` without Slack).

Crawled text is hostile to terminals too: an ESC in a headline could recolour, move the cursor
or retitle the window. Everything printed goes through `strip_control` and is printed as rich
`Text` (never parsed as rich markup), so "[bold]" or ":emoji:" in a title stay literal.

At-least-once: what was printed cannot be read back, so an alert whose send was interrupted by
a crash is printed again after the restart.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any, ClassVar

from rich.console import Console
from rich.text import Text

from alerts.mrkdwn import mrkdwn_to_plain, strip_control
from alerts.sinks.base import DeliveryResult
from crawler.records import Alert


class TerminalSink:
    """Prints each rendered message: a rule naming watchlist, kind and channel, then the
    blocks as plain lines (or the fallback text when there are no blocks)."""

    name: str = "terminal"
    option_types: ClassVar[Mapping[str, type]] = {"color": bool}
    required_options: ClassVar[tuple[str, ...]] = ()
    option_hints: ClassVar[Mapping[str, str]] = {}

    def __init__(self, console: Console | None = None, *, color: bool = True) -> None:
        self.console = console or Console(highlight=False, no_color=not color)
        self._ids = itertools.count(1)

    @classmethod
    def from_options(cls, options: Mapping[str, Any], environ: Mapping[str, str]) -> TerminalSink:
        return cls(color=bool(options.get("color", True)))

    def __repr__(self) -> str:
        return "TerminalSink()"

    def deliver(self, alert: Alert, message: dict[str, Any]) -> DeliveryResult:
        """Print the message; fails (retryable) only when the terminal cannot be written."""
        title = f"{alert.watchlist} · {alert.kind} → {alert.channel or '(no channel)'}"
        if alert.thread_ts:
            title += f" (thread {alert.thread_ts})"
        lines = message_lines(message)
        try:
            self.console.rule(Text(_plain(title)), style="dim")
            for line in lines:
                self.console.print(Text(line), markup=False, highlight=False, emoji=False)
        except OSError as exc:  # closed pipe, full disk behind a redirect
            return DeliveryResult(ok=False, error=f"terminal: {type(exc).__name__}: {exc}")
        return DeliveryResult(ok=True, message_id=f"terminal-{next(self._ids)}")


def message_lines(message: Mapping[str, Any]) -> list[str]:
    """Plain, control-free lines of a rendered message (blocks first, else the fallback)."""
    lines: list[str] = []
    for block in message.get("blocks") or []:
        if not isinstance(block, Mapping):
            continue
        kind = block.get("type")
        if kind == "divider":
            lines.append("─" * 20)
            continue
        texts = []
        if isinstance(block.get("text"), Mapping):
            texts.append(block["text"])
        texts.extend(f for f in block.get("fields") or [] if isinstance(f, Mapping))
        if kind == "context":
            parts = [_text(e) for e in block.get("elements") or [] if isinstance(e, Mapping)]
            lines.append(" · ".join(p for p in parts if p))
            continue
        for obj in texts:
            lines.extend(_text(obj).splitlines())
    if not lines:
        lines = mrkdwn_to_plain(str(message.get("text") or "")).splitlines()
    return [line for line in (_plain(x) for x in lines) if line.strip()]


def _text(obj: Mapping[str, Any]) -> str:
    text = str(obj.get("text") or "")
    return mrkdwn_to_plain(text) if obj.get("type") == "mrkdwn" else strip_control(text)


def _plain(line: str) -> str:
    # Tabs expand unpredictably; controls were stripped already but messages may come from
    # an old outbox payload, so strip again right before the terminal.
    return strip_control(line).replace("\t", " ")
