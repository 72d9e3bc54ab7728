"""Time spans and days: the one grammar of durations, in the config and on the command line.

Every setting that is a duration (`every: 15m`, `store.retention: 90d`, `silent_after: 2d`) and
every option that looks back in time (`watchdesk search --since/--until`, `watchdesk watchlist
test --since`) reads spans here, so `15m` means the same everywhere: fifteen minutes, as in
Elasticsearch's date math, Go and Prometheus durations.

Contract:

- `parse_span(text) -> timedelta`: `<N><unit>`, N a positive whole number, unit one of
  s (seconds), m (minutes), h (hours), d (days), w (weeks), mo or M (months, counted as
  30 days) or y (years, counted as 365 days). Surrounding and inner whitespace and the case of
  the other units are ignored: ` 30 D ` = `30d`. Anything else (empty, 0, negative, a
  fraction, an unknown unit) raises `ValueError` whose message names the accepted forms.
- `parse_day(text, today=None) -> date`: `YYYY-MM-DD`, `today`, `yesterday`, or a span back
  from now, as the day that moment falls in (so hours round down to their day: at 10:00,
  `12h` is yesterday and `6h` is today). `today` defaults to the current UTC time; a
  `datetime` is used as the exact "now", a plain `date` as the start (00:00) of that day.
  Anything else raises `ValueError` naming the accepted forms.

Months and years are fixed lengths, not calendar arithmetic: "the last 6mo" is a window size,
and a fixed length never fails on 31 March minus one month.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

# ASCII digits only: `\d` would also take other scripts' digits, which nobody types on purpose.
_SPAN = re.compile(r"([0-9]+)\s*(mo|[smhdwy])")
_UNIT = {
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
    "mo": timedelta(days=30),
    "y": timedelta(days=365),
}
SPAN_FORMS = (
    "a positive whole number followed by s (seconds), m (minutes), h (hours), d (days), "
    "w (weeks), mo (months of 30 days) or y (years of 365 days), like 15m, 12h, 30d, 2w, 6mo, 1y"
)


def parse_span(text: str) -> timedelta:
    """`15m`, `12h`, `30d`, `2w`, `6mo`, `1y` as a timedelta; ValueError on anything else."""
    raw = str(text).strip()
    # `M` is months in Elasticsearch's date math, `m` minutes: the one letter whose case counts
    word = re.sub(r"(?<=[0-9\s])M$", "mo", raw).lower()
    match = _SPAN.fullmatch(word)
    n = int(match.group(1)) if match else 0
    if not match or n == 0:
        raise ValueError(f"{text!r} is not a time span: use {SPAN_FORMS}")
    try:
        return n * _UNIT[match.group(2)]
    except OverflowError:  # past timedelta's ~2.7 million years: a typo, not a request
        raise ValueError(f"{text!r} is too long a time span") from None


def parse_day(text: str, today: date | None = None) -> date:
    """`YYYY-MM-DD`, `today`, `yesterday` or a span back from now; ValueError otherwise."""
    if today is None:
        now = datetime.now(UTC)
    elif isinstance(today, datetime):
        now = today
    else:
        # A bare day has no time of day; its start keeps `24h` and `1d` the same day.
        now = datetime.combine(today, time())
    word = text.strip().lower()
    if word == "today":
        return now.date()
    if word == "yesterday":
        return now.date() - timedelta(days=1)
    try:
        span = parse_span(word)
    except ValueError:
        pass
    else:
        try:
            return (now - span).date()
        except OverflowError:
            raise ValueError(f"{text!r} reaches back before the year 1") from None
    try:
        return date.fromisoformat(word)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a date: use YYYY-MM-DD, today, yesterday, or a span back from "
            f"today: {SPAN_FORMS}"
        ) from None
