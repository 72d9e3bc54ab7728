"""The HTML pages: search (with export), article, watchlists (backtest, explain), sources, alerts.

Handlers are plain `def`s: FastAPI runs them in its thread pool, where the store's blocking
SQLite calls belong. Every page is a GET and nothing writes.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from alerts.backtest import ArticleNotFound
from crawler.query import QueryError
from crawler.records import ALERT_STATUSES
from crawler.search.export import CSV_COLUMNS, UNSORTABLE_REASONS, csv_row
from crawler.search.facet_labels import facet_labels, shown_facets
from crawler.search.request import FACET_FIELDS
from watchdesk.web.desk import HIGHLIGHT_KINDS, Desk
from watchdesk.web.state import EXPORT_LIMIT, PAGE_SIZE, SearchState

router = APIRouter(include_in_schema=False)

BACKTEST_DAYS = (7, 30, 90, 365)


def _desk(request: Request) -> Desk:
    return request.app.state.desk  # type: ignore[no-any-return]


def _render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    templates = request.app.state.templates
    context.setdefault("nav", name.removesuffix(".html"))
    return templates.TemplateResponse(  # type: ignore[no-any-return]
        request, name, context, status_code=status_code
    )


def _state(request: Request) -> tuple[SearchState, list[str]]:
    params = {k: request.query_params.getlist(k) for k in request.query_params}
    return SearchState.from_params(params)


@router.get("/", response_class=HTMLResponse)
@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request) -> HTMLResponse:
    state, problems = _state(request)
    desk = _desk(request)
    error: QueryError | None = None
    result = None
    try:
        result = desk.search(state, limit=PAGE_SIZE)
    except QueryError as exc:
        error = exc
    names = dict(desk.entity_names)
    labels: dict[str, dict[str, str]] = {}
    if result is not None:
        for hit in result.hits:
            for ent in hit.article.entities:
                names.setdefault(ent.id, ent.name)
        labels = {k: dict(v) for k, v in result.facet_labels.items()}
    # the chips' values may be absent from the counts (an excluded value always is)
    chips: dict[str, list[tuple[str, int]]] = {}
    for name, values in state.filters.items():
        chips.setdefault(name, []).extend((v, 0) for v in values)
    for name, value in state.exclude:
        chips.setdefault(name, []).append((value, 0))
    for name, found in facet_labels(chips, desk.store).items():
        for value, label in found.items():
            labels.setdefault(name, {}).setdefault(value, label)
    pages = 1 if result is None else max(1, -(-result.total // PAGE_SIZE))
    return _render(
        request,
        "search.html",
        status_code=400 if error else 200,
        state=state,
        problems=problems,
        error=error,
        result=result,
        facet_fields=shown_facets(FACET_FIELDS),
        entity_names=names,
        facet_labels=labels,
        pages=pages,
        export_csv=state.url("/search.csv", page=1),
        export_json=state.url("/search.json", page=1),
        ranked=error is None and _ranked(state),
        column_sorted=_column_sorted(state),
        sort_labels=SORT_LABELS,
        direction_labels=DIRECTION_LABELS,
        unsortable=UNSORTABLE_REASONS,
        saved_searches=desk.saved_searches(),
    )


# A column sort as the summary names it, and its directions in words.
SORT_LABELS = {"date": "date", "title": "title", "outlet": "outlet", "domain": "relevance"}
DIRECTION_LABELS = {
    "date": {"desc": "newest first", "asc": "oldest first"},
    "title": {"asc": "A to Z", "desc": "Z to A"},
    "outlet": {"asc": "A to Z", "desc": "Z to A"},
    "domain": {"desc": "most relevant first", "asc": "least relevant first"},
}


def _column_sorted(state: SearchState) -> bool:
    """Whether the results follow a column sort rather than the text score or the default
    newest-first order (which the summary already names)."""
    return state.sort in ("title", "outlet", "domain") or (
        state.sort == "date" and state.direction == "asc"
    )


def _ranked(state: SearchState) -> bool:
    """Whether the results are in the state's sort: a query of filters alone (or none) has no
    text score to rank by, so the archive lists it newest first whatever the sort says."""
    from crawler.query import positive_literals

    try:
        tree = state.request().query_tree()
    except QueryError:
        return False
    return tree is not None and bool(positive_literals(tree))


def _export_hits(request: Request) -> tuple[SearchState, list[Any]] | Response:
    state, _ = _state(request)
    try:
        result = _desk(request).search(state, limit=EXPORT_LIMIT, offset=0, facets=False)
    except QueryError as exc:
        return Response(f"bad query: {exc}\n", status_code=400, media_type="text/plain")
    return state, result.hits


@router.get("/search.csv")
def export_csv(request: Request) -> Response:
    """The current result set (up to EXPORT_LIMIT rows) as CSV, safe to open in a spreadsheet."""
    found = _export_hits(request)
    if isinstance(found, Response):
        return found
    state, hits = found
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_row(hit, not state.copies) for hit in hits)
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="watchdesk-search.csv"'},
    )


@router.get("/search.json")
def export_json(request: Request) -> Response:
    """The current result set (up to EXPORT_LIMIT) as JSON Lines, one hit per line, the same
    objects as `watchdesk search --json`."""
    found = _export_hits(request)
    if isinstance(found, Response):
        return found
    _, hits = found
    body = "".join(json.dumps(h.to_dict(), ensure_ascii=False) + "\n" for h in hits)
    return Response(
        body,
        media_type="application/x-ndjson; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="watchdesk-search.jsonl"'},
    )


@router.get("/articles/{article_id}", response_class=HTMLResponse)
def article_page(request: Request, article_id: str, hide: str = "") -> HTMLResponse:
    hidden = frozenset(k for k in hide.split(",") if k in HIGHLIGHT_KINDS)
    view = _desk(request).article(article_id, hidden)
    if view is None:
        return _render(
            request, "error.html", 404, message=f"No article with id {article_id!r}.", nav=""
        )
    # each legend entry links to the page with that kind toggled (no script: the CSP forbids it)
    legend = [
        (kind, label, kind in hidden, "?" + urlencode({"hide": ",".join(sorted(hidden ^ {kind}))}))
        for kind, label in HIGHLIGHT_KINDS.items()
    ]
    return _render(request, "article.html", view=view, a=view.article, legend=legend, nav="search")


@router.get("/watchlists", response_class=HTMLResponse)
def watchlists_page(
    request: Request, draft: str = "", days: int = 30, base: str = ""
) -> HTMLResponse:
    desk = _desk(request)
    days = days if days in BACKTEST_DAYS else 30
    test = None
    comparison = None
    error: QueryError | None = None
    if draft.strip():
        try:
            test = desk.backtest(draft, days, base=base or None)
        except QueryError as exc:
            error = exc
        if test is not None and base:
            comparison = desk.compare_with_saved(test, base)
    return _render(
        request,
        "watchlists.html",
        status_code=400 if error else 200,
        overview=desk.watchlist_overview(),
        draft=draft,
        days=days,
        base=base,
        day_choices=BACKTEST_DAYS,
        test=test,
        comparison=comparison,
        error=error,
    )


@router.get("/watchlists/explain", response_class=HTMLResponse)
def explain_page(
    request: Request, article: str = "", watchlist: str = "", query: str = ""
) -> HTMLResponse:
    desk = _desk(request)
    why = None
    message = ""
    error: QueryError | None = None
    if article and (watchlist or query):
        try:
            if query.strip():
                why = desk.explain(query, article, draft=True)
            else:
                why = desk.explain(watchlist, article, draft=False)
        except QueryError as exc:
            error = exc
        except ArticleNotFound:
            message = f"No stored article with id or URL {article!r}."
        except KeyError:
            message = f"No watchlist named {watchlist!r}."
    status = 400 if error else (404 if message else 200)
    return _render(
        request,
        "explain.html",
        status_code=status,
        article=article,
        watchlist=watchlist,
        query=query,
        names=[w.name for w in desk.watchlists],
        why=why,
        message=message,
        error=error,
        nav="watchlists",
    )


@router.get("/sources", response_class=HTMLResponse)
def sources_page(request: Request) -> HTMLResponse:
    desk = _desk(request)
    return _render(
        request,
        "sources.html",
        sources=desk.sources(),
        articles=desk.archive.count(),
        counts=desk.alert_counts(),
    )


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, status: str = "") -> HTMLResponse:
    desk = _desk(request)
    chosen = status if status in ALERT_STATUSES else ""
    return _render(
        request,
        "alerts.html",
        alerts=desk.alerts(chosen or None),
        status=chosen,
        statuses=ALERT_STATUSES,
        counts=desk.alert_counts(),
    )
