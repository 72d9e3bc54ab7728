"""The analysts' views: attention over time (`/chart`, `/chart.csv`) and places on a map (`/map`).

`/map` takes the search page's parameters and draws the US states and Chinese provinces of the
result set (its first MAP_LIMIT hits in the search's order), with their pairs, on the shipped
base map (`watchdesk.web.mapview`, `watchdesk.web.basemap`).

`/chart?q=...&q=...&interval=day|week&since=90d&until=today` compares up to five queries as
stories per day or week (`crawler.search.attention`), drawn as SVG on the server
(`watchdesk.web.chart`): no script. The search page's filters (`source=`, `country=`, ...,
`min_relevance=`) apply to every query. `since`/`until` take what `--since` takes on the
command line (`2024-05-01`, `today`, `90d`, `6mo`); `until` is included.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, cast

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from crawler import timespan
from crawler.query import QueryError, parse_query
from crawler.search.attention import INTERVALS, MAX_QUERIES, Interval, Series, attention
from watchdesk.web.chart import chart_svg, series_csv
from watchdesk.web.mapview import map_svg, pair_rows, places_of
from watchdesk.web.state import SearchState

router = APIRouter(include_in_schema=False)

DEFAULT_SINCE = "90d"
# Hits the map reads (in the search's order): enough for a beat's month, bounded in cost.
MAP_LIMIT = 1000
# A year of days is 365 points a line; longer windows are read by the week.
MAX_DAYS = 5 * 366


@dataclass(frozen=True)
class ChartState:
    """The chart page's state, all of it in the URL (as the search page's)."""

    queries: tuple[str, ...] = ()
    interval: Interval = "day"
    since: str = DEFAULT_SINCE
    until: str = ""
    first: date = date.min
    last: date = date.min
    filters: SearchState = field(default_factory=SearchState)

    @classmethod
    def from_params(
        cls, params: Mapping[str, Sequence[str]], today: date
    ) -> tuple[ChartState, list[str]]:
        """The state and a message per unusable parameter (dropped, as the search page does)."""
        problems: list[str] = []
        queries = [q.strip() for q in params.get("q", []) if q.strip()]
        if len(queries) > MAX_QUERIES:
            problems.append(f"q: at most {MAX_QUERIES} queries on one chart; the rest left out")
            queries = queries[:MAX_QUERIES]
        interval = (params.get("interval") or ["day"])[-1].strip() or "day"
        if interval not in INTERVALS:
            problems.append(f"interval: must be one of {', '.join(INTERVALS)}, not {interval!r}")
            interval = "day"
        since = (params.get("since") or [DEFAULT_SINCE])[-1].strip() or DEFAULT_SINCE
        until = (params.get("until") or [""])[-1].strip()
        last = _day("until", until, today, problems) if until else today
        if last is None:
            last, until = today, ""
        first = _day("since", since, last, problems)
        if first is None:
            first, since = timespan.parse_day(DEFAULT_SINCE, last), DEFAULT_SINCE
        if first > last:
            problems.append(f"since: {first} is after {last}; showing {DEFAULT_SINCE} instead")
            first, since = timespan.parse_day(DEFAULT_SINCE, last), DEFAULT_SINCE
        if (last - first).days > MAX_DAYS:
            problems.append(f"since: at most {MAX_DAYS} days on one chart")
            first = last - timedelta(days=MAX_DAYS)
        # the filters as the search page reads them; its own dates are this page's window
        rest = {k: v for k, v in params.items() if k not in ("q", "since", "until", "interval")}
        filters, more = SearchState.from_params(rest)
        problems += more
        chosen = cast(Interval, interval)  # one of INTERVALS now
        state = cls(tuple(queries), chosen, since, until, first, last, filters)
        return state, problems

    def series(self, archive: Any) -> list[Series]:
        """Raises QueryError for a malformed query."""
        return attention(
            archive,
            self.queries,
            first=self.first,
            last=self.last,
            interval=self.interval,
            filters=self.filters.request(facets=False),
        )


def _day(name: str, value: str, today: date, problems: list[str]) -> date | None:
    try:
        return timespan.parse_day(value, today)
    except ValueError as exc:
        problems.append(f"{name}: {exc}")
        return None


def _state(request: Request) -> tuple[ChartState, list[str]]:
    params = {k: request.query_params.getlist(k) for k in request.query_params}
    today = request.app.state.desk.clock().date()
    return ChartState.from_params(params, today)


@router.get("/chart", response_class=HTMLResponse)
def chart_page(request: Request) -> HTMLResponse:
    state, problems = _state(request)
    series: list[Series] = []
    error: QueryError | None = None
    failed = ""
    for query in state.queries:  # each on its own first, so the message names the one
        try:
            parse_query(query)
        except QueryError as exc:
            error, failed = exc, query
            break
    if error is None:
        try:
            series = state.series(request.app.state.desk.archive)
        except QueryError as exc:  # a filter value the query language refuses
            error = exc
    templates = request.app.state.templates
    slots = [*state.queries, *([""] * (MAX_QUERIES - len(state.queries)))]
    return templates.TemplateResponse(  # type: ignore[no-any-return]
        request,
        "chart.html",
        {
            "nav": "search",
            "state": state,
            "slots": slots,
            "problems": problems,
            "error": error,
            "failed": failed,
            "series": series,
            "svg": chart_svg(series, state.interval) if series and error is None else "",
            "csv_url": "/chart.csv" + (f"?{request.url.query}" if request.url.query else ""),
            "hidden": [(k, v) for k, v in state.filters.params() if k not in ("sort", "page")],
            "intervals": INTERVALS,
        },
        status_code=400 if error else 200,
    )


@router.get("/chart.csv")
def chart_csv(request: Request) -> Response:
    """The chart's series as CSV: a header (`day` or `week`, then each query), a row a bucket."""
    state, _ = _state(request)
    try:
        series = state.series(request.app.state.desk.archive)
    except QueryError as exc:
        return Response(f"bad query: {exc}\n", status_code=400, media_type="text/plain")
    return Response(
        series_csv(series, state.interval),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="watchdesk-attention.csv"'},
    )


@router.get("/map", response_class=HTMLResponse)
def map_page(request: Request) -> HTMLResponse:
    params = {k: request.query_params.getlist(k) for k in request.query_params}
    state, problems = SearchState.from_params(params)
    desk = request.app.state.desk
    error: QueryError | None = None
    result = None
    try:
        result = desk.search(state, limit=MAP_LIMIT, offset=0, facets=False, snippets=False)
    except QueryError as exc:
        error = exc
    counts = places_of(h.article for h in result.hits) if result is not None else None
    templates = request.app.state.templates
    return templates.TemplateResponse(  # type: ignore[no-any-return]
        request,
        "map.html",
        {
            "nav": "search",
            "state": state,
            "problems": problems,
            "error": error,
            "result": result,
            "counts": counts,
            "svg": map_svg(counts) if counts is not None else "",
            "pairs": pair_rows(counts) if counts is not None else [],
            "limit": MAP_LIMIT,
        },
        status_code=400 if error else 200,
    )
