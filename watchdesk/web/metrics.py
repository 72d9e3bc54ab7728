"""`/metrics` in the Prometheus text exposition format (version 0.0.4), from store figures."""

from __future__ import annotations

from typing import Any

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _label(value: str) -> str:
    # the exposition format's label escaping: backslash, double quote and newline
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_metrics(figures: dict[str, Any]) -> str:
    """The text for `Desk.metrics()` figures; one HELP/TYPE header per metric family."""
    lines: list[str] = []

    def family(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            lines.append(f"{name}{labels} {_number(value)}")

    family(
        "watchdesk_articles_stored",
        "gauge",
        "Articles in the archive.",
        [("", figures["articles"])],
    )
    polls = figures["polls"]
    family(
        "watchdesk_source_polls_total",
        "counter",
        "Polls recorded per source.",
        [(f'{{source="{_label(s)}"}}', n) for s, (n, _) in sorted(polls.items())],
    )
    family(
        "watchdesk_source_poll_failures_total",
        "counter",
        "Failed polls recorded per source.",
        [(f'{{source="{_label(s)}"}}', f) for s, (_, f) in sorted(polls.items())],
    )
    family(
        "watchdesk_source_last_poll_seconds",
        "gauge",
        "Duration of the latest poll per source.",
        [(f'{{source="{_label(s)}"}}', d) for s, d in sorted(figures["last_poll_seconds"].items())],
    )
    family(
        "watchdesk_sources_failing",
        "gauge",
        "Configured sources whose latest poll failed.",
        [("", figures["failing_sources"])],
    )
    counts = dict(figures["alerts"])
    for status in ("pending", "delivered", "failed", "held"):
        counts.setdefault(status, 0)
    family(
        "watchdesk_alerts",
        "gauge",
        "Alerts in the outbox by status.",
        [(f'{{status="{_label(s)}"}}', n) for s, n in sorted(counts.items())],
    )
    if figures.get("last_cycle_seconds") is not None:
        family(
            "watchdesk_last_cycle_seconds",
            "gauge",
            "Duration of the monitor's latest poll cycle.",
            [("", figures["last_cycle_seconds"])],
        )
    return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
