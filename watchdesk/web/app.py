"""The application factory: routes, templates, static files and the security middleware."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from crawler.article import Article
from watchdesk.web.desk import Desk
from watchdesk.web.markup import facet_label, highlight_html, histogram_bars, snippet_html
from watchdesk.web.security import SecurityMiddleware, token_from_env

HERE = Path(__file__).parent
# Where a delivered alert's Slack message can be opened: the workspace URL
# (https://yourteam.slack.com). Without it, the page shows the message ts only.
SLACK_URL_ENV = "WATCHDESK_SLACK_WORKSPACE_URL"


def create_app(loaded: Any, *, desk: Desk | None = None, token: str | None = None) -> FastAPI:
    """The watchdesk web application for a loaded config.

    `desk` defaults to one opened on the config's store and archive (closed on shutdown);
    `token` defaults to `$WATCHDESK_WEB_TOKEN`, and when set every request must carry it.
    """
    owned = desk is None
    the_desk = desk or Desk.open(loaded)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if owned:
            the_desk.close()

    app = FastAPI(
        title="watchdesk",
        summary="Search the archive, read articles, check watchlists, sources and alerts.",
        version="0.1.0",
        # Swagger UI and ReDoc load their scripts from a CDN, which the CSP (and the rule of
        # shipping nothing from elsewhere) forbids; the OpenAPI description itself is served.
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.state.desk = the_desk
    app.state.templates = _templates()
    app.add_middleware(SecurityMiddleware, token=token or token_from_env())
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    from watchdesk.web import api, pages, views

    app.include_router(pages.router)
    app.include_router(views.router)
    app.include_router(api.router)
    return app


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every template, whatever its extension
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        snippet_html=snippet_html,
        highlight_html=highlight_html,
        histogram_bars=histogram_bars,
        safe_url=safe_url,
        slack_link=slack_link,
        sides=sides,
        day=day,
        day_points=day_points,
        hit_title=hit_title,
        facet_label=facet_label,
    )
    return Jinja2Templates(env=env)


def safe_url(url: str | None) -> str | None:
    """`url` if it is http(s), else None: a crawled `javascript:` link must never be a link."""
    if not url:
        return None
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None


def slack_link(channel: str, ts: str) -> str | None:
    """A link to a delivered Slack message when the workspace URL is configured and the
    channel is an ID (C..., G...); Slack permalinks need both."""
    base = os.environ.get(SLACK_URL_ENV, "").rstrip("/")
    if not base or not ts or not channel or channel.startswith("#"):
        return None
    if not safe_url(base) or not channel.isalnum():
        return None
    return f"{base}/archives/{quote(channel)}/p{ts.replace('.', '')}"


def sides(article: Article) -> list[tuple[str, list[str]]]:
    """The places an article names, per country, US first then China then the rest."""
    by_country: dict[str, list[str]] = {}
    for ent in article.entities:
        if ent.type != "place" or not ent.country:
            continue
        names = by_country.setdefault(ent.country, [])
        if ent.name not in names:
            names.append(ent.name)
    order = {"US": 0, "CN": 1}
    return sorted(by_country.items(), key=lambda kv: (order.get(kv[0], 2), kv[0]))


def day(value: object) -> str:
    """A date for display: YYYY-MM-DD, or an en dash when unknown."""
    if value is None or value == "":
        return "–"
    if hasattr(value, "date"):
        return value.date().isoformat()  # type: ignore[no-any-return]
    return str(value)[:10]


def day_points(days: Any) -> list[tuple[str, int]]:
    """A backtest's `DayCount`s as histogram points (day, matches)."""
    return [(d.day.isoformat(), d.matches) for d in days]


def hit_title(hit: Any) -> Markup:
    """A hit's headline as HTML: with the backend's `[[ ]]` marks when it gives them."""
    marked = getattr(hit, "title_highlighted", "")
    if marked:
        return snippet_html(marked)
    return escape(hit.article.title or "(no title)")
