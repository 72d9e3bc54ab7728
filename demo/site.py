"""A small news site served on 127.0.0.1: article pages, RSS and Atom feeds, and bad feeds.

Used by `make demo` and by the test suite. The server counts and logs every request, answers
conditional requests with 304, and can be told to fail, so tests can assert on what the
crawler really asked for.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ARTICLES_DIR = Path(__file__).parent / "articles"


@dataclass
class FixtureArticle:
    slug: str
    title: str
    published: datetime
    author: str
    paragraphs: list[str]
    language: str = "en"


def load_articles(directory: Path = ARTICLES_DIR) -> list[FixtureArticle]:
    """Read `demo/articles/*.txt`: `key: value` header lines, a blank line, then paragraphs."""
    out = []
    for path in sorted(directory.glob("*.txt")):
        head, _, body = path.read_text(encoding="utf-8").partition("\n\n")
        meta = dict(line.split(": ", 1) for line in head.splitlines() if ": " in line)
        paragraphs = [p.strip() for p in body.split("\n") if p.strip()]
        lang = "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in meta["title"]) else "en"
        out.append(
            FixtureArticle(
                path.stem,
                meta["title"],
                datetime.fromisoformat(meta["date"]),
                meta.get("author", ""),
                paragraphs,
                lang,
            )
        )
    return out


def article_page(a: FixtureArticle, base: str) -> str:
    """A realistic article page: navigation, related links and a cookie banner around the body."""
    e = html.escape
    body = "\n".join(f"<p>{e(p)}</p>" for p in a.paragraphs)
    return f"""<!DOCTYPE html>
<html lang="{a.language}"><head><meta charset="utf-8">
<title>{e(a.title)} | Heartland Ledger</title>
<link rel="canonical" href="{base}/articles/{a.slug}.html">
<meta property="og:site_name" content="Heartland Ledger">
<meta name="author" content="{e(a.author)}">
<meta property="article:published_time" content="{a.published.isoformat()}">
</head><body>
<header><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/china">China</a>
<a href="/politics">Politics</a></nav></header>
<div class="cookie-banner">We use cookies to improve your experience. Accept all cookies.</div>
<main><article>
<h1>{e(a.title)}</h1>
<p class="byline">By {e(a.author)} ·
<time datetime="{a.published.isoformat()}">{a.published.date()}</time></p>
{body}
</article>
<aside class="related"><h3>Related</h3><ul>
<li><a href="/articles/other-1.html">China trade talks resume in Geneva</a></li>
<li><a href="/articles/other-2.html">Beijing announces new export rules</a></li>
</ul></aside></main>
<footer>© Heartland Ledger. Share on Facebook · Share on X</footer>
</body></html>"""


def rss_feed(
    articles: list[FixtureArticle],
    base: str,
    title: str = "Heartland Ledger",
    link_suffix: str = "",
) -> str:
    e = html.escape
    items = "\n".join(
        f"""<item><title>{e(a.title)}</title>
<link>{base}/articles/{a.slug}.html{e(link_suffix)}</link>
<guid isPermaLink="false">ledger-{a.slug}</guid>
<pubDate>{format_datetime(a.published)}</pubDate>
<description>{e(a.paragraphs[0][:300])}</description></item>"""
        for a in articles
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>{e(title)}</title><link>{base}/</link>
<description>Local ties with China</description><ttl>15</ttl>
{items}
</channel></rss>"""


def atom_feed(articles: list[FixtureArticle], base: str, link_suffix: str = "") -> str:
    e = html.escape
    entries = "\n".join(
        f"""<entry><title>{e(a.title)}</title>
<link href="{base}/articles/{a.slug}.html{e(link_suffix)}"/>
<id>urn:ledger:{a.slug}</id><updated>{a.published.isoformat()}</updated>
<summary>{e(a.paragraphs[0][:300])}</summary></entry>"""
        for a in articles
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Ledger Atom</title>
<id>urn:ledger</id><updated>2024-06-01T00:00:00Z</updated>
{entries}
</feed>"""


@dataclass
class Route:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    etag: bool = False  # answer If-None-Match with 304
    gzip: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (a slow site)
    # the first `fail_first` requests get `fail_status` (with Retry-After when set), then the
    # route answers normally: a rate-limited or briefly broken site
    fail_first: int = 0
    fail_status: int = 429
    retry_after: str | None = None
    served: int = 0


class FixtureSite:
    """Routes of the fixture site; tests may add or replace routes while it runs."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def add(self, path: str, body: str | bytes, **kwargs: Any) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = Route(data, **kwargs)

    def hits(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["path"] == path]


def build_demo_site(site: FixtureSite, base: str) -> list[FixtureArticle]:
    """The demo/test site: two good feeds sharing a story, a broken one, a malformed one."""
    articles = load_articles()
    for a in articles:
        site.add(f"/articles/{a.slug}.html", article_page(a, base))
    half = len(articles) // 2 + 1
    # the RSS feed links with tracking parameters; the Atom feed repeats one story without them
    site.add(
        "/feeds/ledger.xml",
        rss_feed(articles[:half], base, link_suffix="?utm_source=rss&utm_medium=feed"),
        content_type="application/rss+xml",
        etag=True,
    )
    site.add(
        "/feeds/atom.xml",
        atom_feed(articles[half - 1 :], base),
        content_type="application/atom+xml",
        etag=True,
        gzip=True,
    )
    site.add("/feeds/broken.xml", "Internal Server Error", status=500, content_type="text/plain")
    # malformed: an undefined entity and an unclosed element; feedparser still recovers the item
    site.add(
        "/feeds/malformed.xml",
        f"""<?xml version="1.0"?><rss version="2.0"><channel><title>Bad &nbsp; feed</title>
<item><title>Recovered item</title><link>{base}/articles/{articles[0].slug}.html</link>
<description>unclosed <b>bold</description></item></channel>""",
        content_type="application/rss+xml",
    )
    site.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    return articles


def news_sitemap(urls: list[tuple[str, datetime | None, str]]) -> str:
    """A Google News sitemap: (loc, publication date, title) per URL."""
    e = html.escape
    items = []
    for loc, when, title in urls:
        news = ""
        if when is not None:
            news = f"""<news:news><news:publication><news:name>Heartland Ledger</news:name>
<news:language>en</news:language></news:publication>
<news:publication_date>{when.isoformat()}</news:publication_date>
<news:title>{e(title)}</news:title></news:news>"""
        items.append(f"<url><loc>{e(loc)}</loc>{news}</url>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n'
        + "\n".join(items)
        + "\n</urlset>"
    )


def sitemap_index(children: list[tuple[str, datetime | None]]) -> str:
    """A sitemap index: (loc, lastmod) per child sitemap."""
    e = html.escape
    items = "\n".join(
        f"<sitemap><loc>{e(loc)}</loc>"
        + (f"<lastmod>{when.isoformat()}</lastmod>" if when else "")
        + "</sitemap>"
        for loc, when in children
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        f"{items}\n</sitemapindex>"
    )


def listing_page(links: list[tuple[str, str]], next_href: str | None = None) -> str:
    """An official press page without a feed: article links in `ul.news`, navigation links
    around them (which the link selector must not pick), and a `a.next` pager link."""
    e = html.escape
    items = "\n".join(
        f'<li><h3><a href="{e(href)}">{e(text)}</a></h3><span class="date">2024</span></li>'
        for href, text in links
    )
    pager = f'<a class="next" href="{e(next_href)}">Next page</a>' if next_href else ""
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>Press releases</title>
</head><body><nav><a href="/">Home</a> <a href="/about">About</a></nav>
<main><h1>Press releases</h1><ul class="news">
{items}
</ul><div class="pager">{pager}</div></main>
<footer><a href="/contact">Contact</a></footer></body></html>"""


class _Handler(BaseHTTPRequestHandler):
    site: FixtureSite
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        path = self.path.split("?", 1)[0]
        failing = False
        with self.site.lock:
            self.site.requests.append(
                {
                    "path": path,
                    "full_path": self.path,
                    "headers": dict(self.headers.items()),
                    "at": time.monotonic(),
                }
            )
            route = self.site.routes.get(path)
            if route is not None:
                route.served += 1
                failing = route.served <= route.fail_first
        if route is None:
            self._send(404, b"not found", "text/plain")
            return
        if route.delay:
            time.sleep(route.delay)
        if failing:
            extra = {"Retry-After": route.retry_after} if route.retry_after else {}
            self._send(route.fail_status, b"try again later", "text/plain", extra)
            return
        headers = dict(route.headers)
        if route.etag:
            tag = '"' + hashlib.sha1(route.body).hexdigest()[:16] + '"'
            headers["ETag"] = tag
            if self.headers.get("If-None-Match") == tag:
                self._send(304, b"", None, headers)
                return
        body = route.body
        if route.gzip and "gzip" in (self.headers.get("Accept-Encoding") or ""):
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        self._send(route.status, body, route.content_type, headers)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str | None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that gave up (a timeout test) resets the connection; that is expected
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FixtureServer:
    """`with FixtureServer() as server:` serves `server.site` on 127.0.0.1:<ephemeral port>."""

    def __init__(
        self, site: FixtureSite | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.site = site or FixtureSite()
        handler = type("Handler", (_Handler,), {"site": self.site})
        self.httpd = _QuietServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://{host}:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FixtureServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
