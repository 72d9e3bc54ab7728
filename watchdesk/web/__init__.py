"""The web page (`watchdesk serve`): server-rendered search, articles, watchlists, sources, alerts.

`create_app(loaded)` builds the ASGI application; everything it shows comes through the archive
interface and the store, read-only.
"""

from watchdesk.web.app import create_app

__all__ = ["create_app"]
