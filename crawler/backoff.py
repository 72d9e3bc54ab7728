"""The one exponential backoff: sources that fail, alerts that fail to send, HTTP retries."""

from __future__ import annotations


def exponential_backoff(base: float, attempt: int, cap: float) -> float:
    """`base * 2**attempt` seconds, at most `cap`; an attempt below 0 counts as 0.

    The exponent is bounded so that a huge attempt count (a source failing for months) stays a
    small multiplication: past 2**30 any cap this project uses has long been reached.
    """
    return min(base * (2 ** min(max(attempt, 0), 30)), cap)
