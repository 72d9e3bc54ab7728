"""The `watchdesk` command line: each command is a thin layer over a library function.

One module per command group (init, run, search, extract, watchlist, alerts, status, ...); the app,
the shared options and consoles, and the config loader are in `watchdesk.cli.app`.

Exit codes: 0 success, 1 a check failed (watchlist errors, `slack check` problems, nothing
found where asked), 2 bad usage or an invalid config, 3 `run --once` found deliveries stopped
by a permanent failure (bad token, unknown channel), 4 `run --once` polled no source
successfully.
"""

from __future__ import annotations

import sys

# Command modules register themselves on `app` when imported.
from watchdesk.cli import (  # noqa: F401
    alerts,
    chart,
    extract,
    index,
    init,
    run,
    search,
    serve,
    slack,
    sources,
    status,
    watchlist,
)
from watchdesk.cli.app import app


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
