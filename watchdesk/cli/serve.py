"""The `serve` command: the read-only web page over the archive."""

from __future__ import annotations

from typing import Annotated

import typer

from watchdesk.cli.app import _load, app, err


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option("--host", help="Address to bind (default: web.host, 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", min=0, max=65535, help="Port (default: web.port, 8080)."),
    ] = None,
) -> None:
    """Serve the web page: search, articles, watchlists, sources, alerts (read-only).

    Binding to anything but loopback needs WATCHDESK_WEB_TOKEN, which every request must then
    carry (Authorization: Bearer, or ?token= once per browser).
    """
    import uvicorn

    from watchdesk.web import create_app
    from watchdesk.web.security import TOKEN_ENV, is_loopback, token_from_env

    loaded = _load()
    bind = host or loaded.config.web.host
    chosen_port = loaded.config.web.port if port is None else port
    token = token_from_env()
    if not is_loopback(bind) and not token:
        err.print(
            f"error: refusing to serve on {bind}: binding to anything but loopback needs an "
            f"access token in ${TOKEN_ENV}"
        )
        raise typer.Exit(2)
    err.print(f"watchdesk web page on http://{bind}:{chosen_port}/ (Ctrl-C stops it)")
    uvicorn.run(
        create_app(loaded, token=token),
        host=bind,
        port=chosen_port,
        log_level="warning",
        access_log=False,
        server_header=False,
    )
