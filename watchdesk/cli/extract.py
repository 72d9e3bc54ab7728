"""The `extract` command: what watchdesk sees in one page, nothing stored."""

from __future__ import annotations

import html as htmllib
import json
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from alerts.watchlist import WatchlistSet
from crawler.config import CrawlConfig, config_path
from watchdesk.cli.app import _load, app, err, out, state

if TYPE_CHECKING:
    from crawler.article import FeedEntry

# The header of a plain-text story (`demo/articles/*.txt`): `key: value` lines, then a blank
# line, then the paragraphs; only these keys are read, so a story starting "Note: ..." is text.
_HEADER_LINE = re.compile(r"^(title|date|author): (.*)$")


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


def plain_text_entry(text: str, title: str | None, url: str) -> FeedEntry:
    """A plain-text story as the feed entry the pipeline reads when a page has no HTML.

    A `title:`/`date:`/`author:` header (the seed stories' format) is read; `title` overrides
    it; without either, the first line is the title. The text is escaped so that a `<` in it
    stays text (the entry's summary is read as HTML when it has tags)."""
    from crawler.article import FeedEntry

    meta: dict[str, str] = {}
    lines = text.lstrip("\ufeff").splitlines()
    i = 0
    while i < len(lines) and (m := _HEADER_LINE.match(lines[i])):
        meta[m.group(1)] = m.group(2).strip()
        i += 1
    body = "\n".join(lines[i:]).strip()
    heading = title or meta.get("title")
    if heading is None:
        first, _, rest = body.partition("\n")
        heading, body = first.strip(), rest.strip()
    published = None
    if meta.get("date"):
        try:
            published = datetime.fromisoformat(meta["date"])
        except ValueError:
            published = None  # a malformed date: the story stays undated, as a page would
    return FeedEntry(
        link=url,
        title=htmllib.escape(heading),
        summary=htmllib.escape(body).replace("\n", "<br>\n"),
        published=published,
        author=meta.get("author", ""),
    )


@app.command()
def extract(
    path_or_url: Annotated[
        str,
        typer.Argument(
            help="An HTML file, an http(s) URL, a plain-text .txt file, or - for plain text "
            "on stdin."
        ),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the enriched article as JSON.")
    ] = False,
    source: Annotated[
        str, typer.Option("--source", help="Source name to attribute it to.")
    ] = "cli",
    title: Annotated[
        str | None,
        typer.Option("--title", help="The headline of plain text (else its first line)."),
    ] = None,
) -> None:
    """Extract and enrich one page and print what watchdesk sees in it (nothing is stored)."""
    from crawler.article import Page
    from crawler.storage import Store
    from watchdesk.service.config import enrich_context
    from watchdesk.service.processor import Processor

    path = config_path(state.config)
    loaded = _load() if path.exists() else None
    crawl = loaded.config.crawl if loaded else CrawlConfig()
    entry = None
    if path_or_url == "-" or path_or_url.lower().endswith(".txt"):
        if path_or_url == "-":
            text, url = sys.stdin.read(), "stdin:"
        else:
            text, url = _read_page(path_or_url, crawl)
        # plain text goes the way of a feed item whose page has no HTML: the same steps
        html, entry = "", plain_text_entry(text, title, url)
    else:
        # a URL is fetched under the address policy; a failure is one line and exit 1
        html, url = _read_page(path_or_url, crawl)
    context = enrich_context(loaded)
    # The service's own pipeline, without its store: an in-memory one nothing is written to.
    watchlists = loaded.watchlists if loaded else WatchlistSet([], [])
    processor = Processor(Store(":memory:"), context, watchlists)
    # a source of the config brings its label, as the crawler's pages do
    label = loaded.config.source_labels().get(source, "") if loaded else ""
    page = Page(url=url, source=source, html=html, entry=entry, label=label)
    journey = processor.preview(page)
    article = journey.article
    if entry is not None and article.text:
        article.extractor, article.fallback = "plain_text", False  # shown, never stored
    if not article.text and not article.title:
        err.print(f"error: {path_or_url}: no text found", markup=False, highlight=False)
        raise typer.Exit(1)
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
        # the id in brackets as text: `[geonames:4736286]` is valid Rich markup and vanished
        out.print(
            f"  {ent.type:7} {escape(ent.name)}{escape(where)} ×{ent.mentions}  "
            + escape(f"[{ent.id}]")
        )
    out.print(f"watchlists: {escape(', '.join(m['watchlist'] for m in matches)) or '-'}")
    out.print(f"\n{escape(article.text[:1500])}{'…' if len(article.text) > 1500 else ''}")
