"""The `extract` command: what watchdesk sees in one page, nothing stored."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from alerts.watchlist import WatchlistSet
from crawler.cli.app import _load, app, err, out, state
from crawler.config import config_path


def _read_page(path_or_url: str, user_agent: str) -> tuple[str, str]:
    if path_or_url.startswith(("http://", "https://")):
        req = urllib.request.Request(path_or_url, headers={"User-Agent": user_agent})
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - http(s) only, checked above
            charset = resp.headers.get_content_charset() or "utf-8"
            return resp.read().decode(charset, errors="replace"), resp.geturl()
    p = Path(path_or_url)
    if not p.exists():
        err.print(f"error: no such file: {p}")
        raise typer.Exit(2)
    return p.read_text(encoding="utf-8", errors="replace"), p.resolve().as_uri()


@app.command()
def extract(
    path_or_url: Annotated[str, typer.Argument(help="An HTML file or an http(s) URL.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the enriched article as JSON.")
    ] = False,
    source: Annotated[
        str, typer.Option("--source", help="Source name to attribute it to.")
    ] = "cli",
) -> None:
    """Extract and enrich one page and print what watchdesk sees in it (nothing is stored)."""
    from crawler.article import Page
    from crawler.config import DEFAULT_USER_AGENT
    from crawler.service.config import enrich_context
    from crawler.service.processor import Processor
    from crawler.storage import Store

    path = config_path(state.config)
    loaded = _load() if path.exists() else None
    ua = loaded.config.crawl.user_agent if loaded else DEFAULT_USER_AGENT
    html, url = _read_page(path_or_url, ua)
    context = enrich_context(loaded)
    # The service's own pipeline, without its store: an in-memory one nothing is written to.
    watchlists = loaded.watchlists if loaded else WatchlistSet([], [])
    processor = Processor(Store(":memory:"), context, watchlists)
    journey = processor.preview(Page(url=url, source=source, html=html))
    article = journey.article
    matches: list[dict[str, Any]] = [
        {"watchlist": m.watchlist, "terms": sorted({t.term for t in m.terms})}
        for m in journey.matches
    ]
    data = article.to_dict()
    data["watchlists"] = matches
    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return
    out.print(f"[bold]{escape(article.title)}[/bold]")
    out.print(f"url: {escape(article.url)}")
    for key in (
        "published",
        "author",
        "site_name",
        "language",
        "extractor",
        "relevance",
        "cluster_id",
    ):
        out.print(f"{key}: {escape(str(data[key]))}")
    out.print(f"countries: {', '.join(article.countries) or '-'}")
    out.print(f"events: {escape(json.dumps(article.evidence, ensure_ascii=False))}")
    out.print(f"relevance reasons: {escape('; '.join(article.relevance_reasons))}")
    for ent in article.entities:
        where = (
            f" ({ent.region}, {ent.country})"
            if ent.region
            else (f" ({ent.country})" if ent.country else "")
        )
        out.print(
            f"  {ent.type:7} {escape(ent.name)}{escape(where)} ×{ent.mentions}  [{escape(ent.id)}]"
        )
    out.print(f"watchlists: {escape(', '.join(m['watchlist'] for m in matches)) or '-'}")
    out.print(f"\n{escape(article.text[:1500])}{'…' if len(article.text) > 1500 else ''}")
