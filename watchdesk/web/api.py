"""The JSON API behind the pages (described at /api/openapi.json), `/healthz` and `/metrics`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from crawler.query import QueryError
from watchdesk.web.desk import Desk
from watchdesk.web.metrics import CONTENT_TYPE, render_metrics
from watchdesk.web.state import FILTERS, SearchState

router = APIRouter()
Many = Annotated[list[str], Query()]


def _desk(request: Request) -> Desk:
    return request.app.state.desk  # type: ignore[no-any-return]


def _query_error(exc: QueryError) -> JSONResponse:
    return JSONResponse(
        {"error": "bad query", "message": exc.message, "position": exc.position}, status_code=400
    )


@router.get("/api/search", tags=["search"])
def api_search(
    request: Request,
    q: str = "",
    source: Many = [],  # noqa: B006 - FastAPI copies defaults per request
    label: Many = [],  # noqa: B006
    language: Many = [],  # noqa: B006
    event: Many = [],  # noqa: B006
    country: Many = [],  # noqa: B006
    region: Many = [],  # noqa: B006
    entity: Many = [],  # noqa: B006
    exclude: Many = [],  # noqa: B006
    since: str = "",
    until: str = "",
    sort: str = "best",
    order: str = "",
    min_relevance: str = "",
    page: Annotated[int, Query(ge=1)] = 1,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    facets: bool = True,
    copies: bool = False,
) -> Any:
    """Search the archive in the watchdesk query language, with the page's filters.

    Filters repeat (`country=CN&country=TW` = either); `exclude=country:TW` (repeating) leaves
    out the articles with that value (`-country:TW`); since/until are YYYY-MM-DD;
    `min_relevance` (0..1) is the floor of the domain relevance; `sort` is `best` (the text
    score blended with the domain relevance), `text` (the text score alone), or a column sort
    over the whole result set, `date`, `title`, `outlet` or `domain` (the domain relevance),
    in its own direction unless `order` is `asc` or `desc` (`-title`: descending). Returns
    `total`, `hits` (as `watchdesk search --json`, snippets marked with `[[ ]]`), `facets`
    and a per-day `histogram`, counted on the share `facet_sample` of the matches (1.0 =
    exact; below it, estimates); a malformed query is a 400 with the `position` it points at.

    Syndicated copies are grouped under their story: one hit per story (its best-ranked copy,
    with `story_id`, `copy_count` and the other `copies`), `total` and the facets count
    stories (`unit: "stories"`) and `articles` is how many articles they hold. `copies=1`
    lists every article (`unit: "articles"`).
    """
    values = {"source": source, "label": label, "language": language, "event": event}
    values |= {"country": country}
    values |= {"region": region, "entity": entity}
    params: dict[str, list[str]] = {name: values[name] for name in FILTERS}
    params |= {"q": [q], "since": [since], "until": [until], "sort": [sort], "page": [str(page)]}
    params["min_relevance"] = [min_relevance]
    params["order"] = [order]
    params["copies"] = ["1" if copies else "0"]
    params["exclude"] = exclude
    state, problems = SearchState.from_params(params)
    if problems:
        return JSONResponse({"error": "bad parameter", "problems": problems}, status_code=400)
    try:
        result = _desk(request).search(state, limit=limit, offset=(page - 1) * limit, facets=facets)
    except QueryError as exc:
        return _query_error(exc)
    return {
        "query": q,
        "total": result.total,
        "unit": "stories" if result.by_story else "articles",
        "articles": result.articles if result.by_story else result.total,
        "page": page,
        "limit": limit,
        "took_ms": round(result.took_ms, 2),
        "hits": [h.to_dict() for h in result.hits],
        "facets": {k: [[v, n] for v, n in vals] for k, vals in result.facets.items()},
        "histogram": [[d, n] for d, n in result.histogram],
        "facet_sample": result.facet_sample,
        # value -> how it reads, per facet: `{"country": {"BD": "Bangladesh"}, "region":
        # {"hubei": "Hubei (CN)"}}` (the value is the code a query or filter takes)
        "facet_labels": result.facet_labels,
    }


@router.get("/api/articles/{article_id}", tags=["articles"])
def api_article(request: Request, article_id: str) -> Any:
    """One article as stored, with the watchlists it matches now (and the terms), the other
    copies of its story and the alerts sent for it or its story."""
    view = _desk(request).article(article_id)
    if view is None:
        raise HTTPException(404, f"no article with id {article_id!r}")
    return view.to_dict()


@router.get("/api/watchlists", tags=["watchlists"])
def api_watchlists(request: Request) -> Any:
    """Every watchlist with its settings, matches per day over the last 30 days and the
    latest matches (the same backtest as `watchdesk watchlist test`)."""
    return {"watchlists": [v.to_dict() for v in _desk(request).watchlist_overview()]}


@router.get("/api/backtest", tags=["watchlists"])
def api_backtest(
    request: Request,
    q: str,
    days: Annotated[int, Query(ge=1, le=3650)] = 30,
    base: str = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Any:
    """What a draft query would have matched over the last `days` days (`base`: take the
    languages, sources and min_relevance of an existing watchlist, and compare the draft with
    its saved query: `compare` holds the stories gained, lost and kept)."""
    desk = _desk(request)
    if base and desk.by_name(base) is None:
        raise HTTPException(404, f"no watchlist named {base!r}")
    try:
        result = desk.backtest(q, days, base=base or None, limit=limit)
    except QueryError as exc:
        return _query_error(exc)
    doc = result.to_dict()
    comparison = desk.compare_with_saved(result, base) if base else None
    if comparison is not None:
        doc["compare"] = comparison.to_dict()
    return doc


@router.get("/api/sources", tags=["sources"])
def api_sources(request: Request) -> Any:
    """Source health as `watchdesk status --json`, failing and silent sources first."""
    desk = _desk(request)
    return {
        "articles": desk.archive.count(),
        "alerts": desk.alert_counts(),
        "sources": [s.to_dict() for s in desk.sources()],
    }


@router.get("/api/alerts", tags=["alerts"])
def api_alerts(
    request: Request,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Any:
    """The outbox, newest first: pending, delivered (with the message ts), failed with why."""
    return {"alerts": _desk(request).alerts(status, limit)}


@router.get("/healthz", tags=["operations"])
def healthz(request: Request) -> Any:
    """200 with the article count while the store answers."""
    return {"status": "ok", "articles": _desk(request).archive.count()}


@router.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
def metrics(request: Request) -> PlainTextResponse:
    """Prometheus text format: articles stored, polls and failures per source, alerts by
    status, the latest cycle's duration when the monitor records it."""
    text = render_metrics(_desk(request).metrics())
    return PlainTextResponse(text, media_type=CONTENT_TYPE)
