"""The `watchlist` commands: validate, backtest and explain watchlists."""

from __future__ import annotations

import typer
from rich.markup import escape

from crawler.cli import err, out, state, watchlist_app
from crawler.config import ConfigError, config_path, load_config


@watchlist_app.command("validate")
def watchlist_validate() -> None:
    """Check the config's watchlists: exit 0, or 1 with every error (file:line, watchlist)."""
    path = config_path(state.config)
    if not path.exists():
        err.print(f"error: config file not found: {path}")
        raise typer.Exit(2)
    try:
        loaded = load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            err.print(escape(problem))
        err.print(f"{len(exc.problems)} problem(s)")
        raise typer.Exit(1) from None
    n = len(loaded.watchlists.watchlists)
    out.print(f"ok: {n} watchlist(s), {len(loaded.watchlists.entities)} watched entit(ies)")
