"""The `extract` command: what watchdesk sees in one page, nothing stored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from alerts.watchlist import WatchlistSet
from crawler.cli.app import _load, app, err, out, state
from crawler.config import CrawlConfig, config_path


def fetch_for_cli(url: str, crawl: CrawlConfig, failed: str = "") -> tuple[str, str]:
    """(html, final URL) of `url` through `spiders.fetch.fetch_page`, under the crawl's address
    policy: the URL given is trusted, every redirect away from its origin is checked. A refused
    hop or a failed fetch is one line on stderr and exit 1 (`failed` opens the latter)."""
    from crawler.addresses import AddressPolicy, AddressRefused
    from spiders.fetch import FetchError, fetch_page
    from spiders.settings import user_agent

    try:
        page = fetch_page(
            url,
            policy=AddressPolicy(allow_private=crawl.allow_private_addresses),
            user_agent=user_agent(crawl),
            timeout=crawl.timeout,
            max_bytes=crawl.max_page_bytes,
        )
    except AddressRefused as refused:
        why = (
            " (crawl.allow_private_addresses is false)"
            if refused.reason == "refused_address"
            else ""
        )
        err.print(f"error: {escape(str(refused))}; not fetched{why}")
        raise typer.Exit(1) from None
    except FetchError as exc:
        err.print(f"error: {escape(failed + str(exc))}")
        raise typer.Exit(1) from None
    return page.text, page.url


def _read_page(path_or_url: str, crawl: CrawlConfig) -> tuple[str, str]:
    if path_or_url.startswith(("http://", "https://")):
        return fetch_for_cli(path_or_url, crawl)
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
    from crawler.service.config import enrich_context
    from crawler.service.processor import Processor
    from crawler.storage import Store

    path = config_path(state.config)
    loaded = _load() if path.exists() else None
    html, url = _read_page(path_or_url, loaded.config.crawl if loaded else CrawlConfig())
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
