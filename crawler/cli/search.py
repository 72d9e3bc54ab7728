"""The `search` command: full-text search of the archive for analysts."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from crawler.cli import _load, app, err, out


def _bold_markers(snippet: str) -> str:
    return escape(snippet).replace("[[", "[bold yellow]").replace("]]", "[/]")


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Query, e.g. '\"sister city\" AND country:CN'.")],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10000)] = 20,
    page: Annotated[int, typer.Option("--page", min=1)] = 1,
    sort: Annotated[str, typer.Option("--sort", help="relevance or date")] = "relevance",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Full-text search of the archive."""
    from crawler.query import QueryError
    from crawler.search import hit_json
    from crawler.search import search as do_search
    from crawler.store import Store

    if sort not in ("relevance", "date"):
        err.print("error: --sort must be 'relevance' or 'date'")
        raise typer.Exit(2)
    loaded = _load()
    with Store(loaded.store_path) as store:
        try:
            hits = do_search(store, query, limit=limit, offset=(page - 1) * limit, sort=sort)
        except QueryError as exc:
            err.print(f"error: bad query: {escape(str(exc))}")
            err.print(f"  {escape(query)}\n  {' ' * exc.position}^")
            raise typer.Exit(2) from None
    if as_json:
        for hit in hits:
            print(hit_json(hit))
        return
    if not hits:
        err.print("no articles found")
        return
    table = Table(show_lines=True)
    for col in ("title", "source", "published", "snippet"):
        table.add_column(col, overflow="fold")
    for hit in hits:
        a = hit.article
        table.add_row(
            escape(a.title),
            escape(a.source),
            a.published.date().isoformat() if a.published else "-",
            _bold_markers(hit.snippet),
        )
    out.print(table)
