"""Attention over time: how many stories a query found per day or per week (issue 18).

Media Cloud's headline view, for up to MAX_QUERIES queries side by side. A **story** is what
syndicated copies share (`Article.cluster_id`, the article's own id when it has none), so a
wire story carried by ten outlets counts once on its day. Each story counts on the day of the
one date basis: published, or fetched for an undated article (as histograms and backtests
count); a story whose copies fall on two days counts on both.

Contract:

- `StoryCounts`: the question (the query and filters of a `SearchRequest`, whose own dates,
  sort and page are not used; a window of whole UTC days, both ends included; an interval).
- `Archive.story_counts(StoryCounts) -> dict[date, int]`: stories per bucket, buckets with none
  left out. A bucket is named by its first day: the day itself, or the Monday of its ISO week
  (Elasticsearch's `calendar_interval: week`), so a window starting mid-week has a first bucket
  that counts only the days inside the window.
- `attention(archive, queries, ...) -> list[Series]`: one series per query, every bucket of the
  window present (zeros included), in the order given.
- `series_rows(series)`: the CSV table of the series: a header, then one row per bucket.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Protocol

from crawler.search.request import INTERVALS, Interval, SearchRequest, StoryCounts

# Media Cloud's limit too: more lines than five on one chart stop being readable.
MAX_QUERIES = 5


class CountsStories(Protocol):
    """The part of `crawler.search.request.Archive` this module needs."""

    def story_counts(self, request: StoryCounts) -> dict[date, int]: ...


@dataclass
class Series:
    """One query's stories per bucket, every bucket of the window, oldest first."""

    label: str
    query: str
    points: list[tuple[date, int]] = field(default_factory=list)

    @property
    def peak(self) -> int:
        return max((n for _, n in self.points), default=0)


def bucket_of(day: date, interval: Interval) -> date:
    """The first day of the bucket `day` falls in: itself, or the Monday of its ISO week."""
    return day if interval == "day" else day - timedelta(days=day.weekday())


def buckets(first: date, last: date, interval: Interval) -> list[date]:
    """Every bucket of [first, last], oldest first."""
    step = timedelta(days=1 if interval == "day" else 7)
    out = []
    at = bucket_of(first, interval)
    while at <= last:
        out.append(at)
        at += step
    return out


def count_stories(pairs: Iterable[tuple[str | None, str]], interval: Interval) -> dict[date, int]:
    """Distinct stories per bucket from (UTC ISO timestamp or None, story id) pairs, one per
    article; an article with no date at all is left out."""
    seen: set[tuple[date, str]] = set()
    for when, story in pairs:
        if when:
            seen.add((bucket_of(date.fromisoformat(when[:10]), interval), story))
    counts: dict[date, int] = {}
    for bucket, _ in seen:
        counts[bucket] = counts.get(bucket, 0) + 1
    return counts


def attention(
    archive: CountsStories,
    queries: Sequence[str],
    *,
    first: date,
    last: date,
    interval: Interval = "day",
    filters: SearchRequest | None = None,
) -> list[Series]:
    """One series per query (at most MAX_QUERIES), each with the filters of `filters` (its
    query, dates, sort and page are not used). Raises `crawler.query.QueryError` for a
    malformed query, ValueError for more than MAX_QUERIES queries or a bad window."""
    if len(queries) > MAX_QUERIES:
        raise ValueError(f"at most {MAX_QUERIES} queries on one chart, not {len(queries)}")
    base = filters or SearchRequest()
    out = []
    for query in queries:
        request = StoryCounts(replace(base, query=query), first, last, interval)
        counts = archive.story_counts(request)
        points = [(b, counts.get(b, 0)) for b in buckets(first, last, interval)]
        out.append(Series(label=query.strip() or "everything", query=query, points=points))
    return out


def series_rows(series: Sequence[Series], interval: Interval) -> list[list[str]]:
    """The series as a table: `day` (or `week`, its Monday) then one column per query, named
    by its label; one row per bucket. Cells are plain text: the writer escapes them."""
    rows = [[interval, *(s.label for s in series)]]
    if series:
        for i, (bucket, _) in enumerate(series[0].points):
            rows.append([bucket.isoformat(), *(str(s.points[i][1]) for s in series)])
    return rows


# StoryCounts and its intervals belong to the archive interface (crawler.search.request), which
# the backends implement; the chart's callers find them here too.
__all__ = [
    "INTERVALS",
    "MAX_QUERIES",
    "CountsStories",
    "Interval",
    "Series",
    "StoryCounts",
    "attention",
    "bucket_of",
    "buckets",
    "count_stories",
    "series_rows",
]
