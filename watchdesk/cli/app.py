"""The Typer app every command registers on, the shared options and consoles, the config loader.

A module of its own so that the command modules import it without importing the package that
imports them.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperOption

from crawler.config import ConfigError, config_path
from watchdesk.cli.logs import configure_logging
from watchdesk.service.config import LoadedConfig, load_config


def _flag_type(self: TyperOption, ctx: Any) -> str | None:
    # Typer 0.29's rich help prints the type of every option, `<bool>` beside flags (`--json`,
    # even `--help`) that take no value: a flag shows no type, as in click's own help.
    return None if self.is_flag else _option_type(self, ctx)


_option_type = TyperOption.display_type_rich
TyperOption.display_type_rich = _flag_type  # type: ignore[method-assign,assignment]

app = typer.Typer(
    help="watchdesk: monitor coverage of US state and local ties with China, and alert on it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
watchlist_app = typer.Typer(help="Check, backtest and explain watchlists.", no_args_is_help=True)
alerts_app = typer.Typer(help="Inspect and retry the alert outbox.", no_args_is_help=True)
slack_app = typer.Typer(help="Check the Slack app's setup.", no_args_is_help=True)
app.add_typer(watchlist_app, name="watchlist")
app.add_typer(alerts_app, name="alerts")
app.add_typer(slack_app, name="slack")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class State:
    config: str | None = None
    verbose: int = 0
    log_format: str = "auto"


state = State()


@app.callback()
def main_options(
    config: Annotated[
        str | None,
        typer.Option(
            "--config", "-c", help="Config file (default: $WATCHDESK_CONFIG or ./watchdesk.yaml)."
        ),
    ] = None,
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose", "-v", count=True, help="-v: debug for watchdesk; -vv: for Scrapy too."
        ),
    ] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only warnings and errors.")] = False,
    log_format: Annotated[
        str,
        typer.Option(
            "--log-format",
            help="auto (Rich on a terminal, else plain key=value lines), rich, text or json.",
        ),
    ] = "auto",
) -> None:
    state.config = config
    state.verbose = verbose
    state.log_format = log_format
    if log_format not in ("auto", "rich", "text", "json"):
        err.print(f"error: --log-format: not one of auto, rich, text, json: {escape(log_format)}")
        raise typer.Exit(2)
    configure_logging(verbose, quiet, log_format)  # type: ignore[arg-type]


def _load() -> LoadedConfig:
    path = config_path(state.config)
    if not path.exists():
        err.print(f"error: config file not found: {path}")
        raise typer.Exit(2)
    try:
        return load_config(path)
    except ConfigError as exc:
        err.print("error: invalid config")
        for problem in exc.problems:
            err.print(f"  {escape(problem)}")
        raise typer.Exit(2) from None
