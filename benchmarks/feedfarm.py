"""Many news feeds on loopback: the feed side of the polling and end-to-end benchmarks.

`FeedFarm` serves `n` RSS feeds and their article pages from several HTTP servers, each on its
own loopback address (127.0.0.2, 127.0.0.3, ...), `feeds_per_host` feeds per address, the way
real feeds are spread over many sites (Scrapy limits concurrency per host, so 1,000 feeds on one
address would measure that limit, not the crawler). Every answer waits `latency` seconds first,
standing in for the round trip and server time of a real site; both sides of a comparison see
the same farm. Feeds answer conditional requests with 304, and each can be made slow or failing.
Only 127.0.0.0/8 is ever bound.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

from demo.site import FixtureArticle, article_page, load_articles, rss_feed

FeedKind = Literal["quiet", "new", "slow", "failing"]

# Lead sentences: every generated article is a sister-city story, so one watchlist matches each
US_TOWNS = ["Carmel, Indiana", "Muscatine, Iowa", "Bloomington, Illinois", "Tacoma, Washington"]
CN_CITIES = ["Xiangyang", "Wuhan", "Chengdu", "Hangzhou", "Qingdao", "Kunming"]


@dataclass
class FarmFeed:
    """One feed of the farm: where it lives, what it answers and the items it lists."""

    index: int
    host: str
    kind: FeedKind = "quiet"
    items: list[FixtureArticle] = field(default_factory=list)
    body: bytes = b""
    etag: str = ""

    @property
    def path(self) -> str:
        return f"/feeds/{self.index}.xml"


@dataclass
class FarmItem:
    """An item published into a feed: its page URL and when it appeared (monotonic clock)."""

    feed: int
    slug: str
    url: str
    title: str
    appeared: float


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # the default backlog of 5 drops connections when a crawler opens 16 at once
    request_queue_size = 256
    farm: FeedFarm


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        status, body, headers, delay = self.server.farm.answer(
            str(self.server.server_address[0]), self.path, dict(self.headers.items())
        )
        if delay:
            time.sleep(delay)
        try:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)
        except OSError:  # the client gave up (timeout): nothing to answer to
            self.close_connection = True


class FeedFarm:
    """`with FeedFarm(1000, latency=0.05) as farm:` serves `farm.urls()` on loopback."""

    def __init__(
        self,
        n_feeds: int,
        *,
        feeds_per_host: int = 10,
        latency: float = 0.0,
        slow_seconds: float = 3.0,
        seed: int = 8,
    ) -> None:
        self.latency = latency
        self.slow_seconds = slow_seconds
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        n_hosts = max(1, -(-n_feeds // feeds_per_host))
        if n_hosts > 250:
            raise ValueError("at most 250 loopback hosts (127.0.0.2-251)")
        self.servers: list[_Server] = []
        self.bases: list[str] = []
        self._base_of: dict[str, str] = {}  # listening address -> base URL
        for h in range(n_hosts):
            address = f"127.0.0.{h + 2}"
            server = _Server((address, 0), _Handler)
            server.farm = self
            self.servers.append(server)
            self.bases.append(f"http://{address}:{server.server_address[1]}")
            self._base_of[address] = self.bases[-1]
        self.feeds = [FarmFeed(i, self.bases[i % n_hosts]) for i in range(n_feeds)]
        self.pages: dict[tuple[str, str], bytes] = {}
        self.published: list[FarmItem] = []
        # slug -> when a feed answer first listed the item (monotonic): where the crawler's
        # part of an item's journey starts
        self.first_served: dict[str, float] = {}
        self._paragraphs = [p for a in load_articles() if a.language == "en" for p in a.paragraphs]
        self._threads: list[threading.Thread] = []
        for feed in self.feeds:
            self._render(feed)

    # -- lifecycle ----------------------------------------------------------------------------

    def __enter__(self) -> FeedFarm:
        for server in self.servers:
            t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2})
            t.daemon = True
            t.start()
            self._threads.append(t)
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()

    # -- content ------------------------------------------------------------------------------

    def url(self, feed: int) -> str:
        f = self.feeds[feed]
        return f.host + f.path

    def urls(self) -> list[str]:
        return [self.url(i) for i in range(len(self.feeds))]

    def assign_kinds(self, new_share: float = 0.10, slow_or_failing_share: float = 0.01) -> None:
        """Make `new_share` of feeds `new` and `slow_or_failing_share` slow (half) or failing."""
        order = list(range(len(self.feeds)))
        self.rng.shuffle(order)
        n_bad = max(1, round(len(order) * slow_or_failing_share))
        n_new = round(len(order) * new_share)
        for rank, i in enumerate(order):
            if rank < n_bad:
                kind: FeedKind = "slow" if rank % 2 == 0 else "failing"
            elif rank < n_bad + n_new:
                kind = "new"
            else:
                kind = "quiet"
            self.feeds[i].kind = kind

    def make_article(self, feed: int, number: int) -> FixtureArticle:
        """A distinct English story (a lead naming both sides, then mixed real paragraphs)."""
        rng = self.rng
        town, city = rng.choice(US_TOWNS), rng.choice(CN_CITIES)
        lead = (
            f"The city council of {town} voted on story {feed}-{number} to renew its sister city "
            f"agreement with {city}, China, after a delegation visit."
        )
        return FixtureArticle(
            slug=f"f{feed}-{number}",
            title=f"{town.split(',')[0]} and {city} renew sister city ties ({feed}-{number})",
            published=datetime(2024, 6, 1, tzinfo=UTC) + timedelta(minutes=number),
            author="Farm Desk",
            paragraphs=[lead, *rng.sample(self._paragraphs, 5)],
        )

    def publish(self, feed: int, count: int = 1) -> list[FarmItem]:
        """Add `count` new items at the top of a feed (and their pages); it answers 200 again."""
        f = self.feeds[feed]
        items = []
        with self.lock:
            for _ in range(count):
                article = self.make_article(feed, len(f.items))
                f.items.insert(0, article)
                self.pages[(f.host, f"/articles/{article.slug}.html")] = article_page(
                    article, f.host
                ).encode("utf-8")
                items.append(
                    FarmItem(
                        feed,
                        article.slug,
                        f"{f.host}/articles/{article.slug}.html",
                        article.title,
                        0.0,
                    )
                )
            self._render(f)
            now = time.monotonic()  # the item is visible from this instant
            for item in items:
                item.appeared = now
            self.published.extend(items)
        return items

    def _render(self, feed: FarmFeed) -> None:
        body = rss_feed(feed.items[:20], feed.host, title=f"Farm feed {feed.index}")
        feed.body = body.encode("utf-8")
        feed.etag = '"' + hashlib.sha1(feed.body).hexdigest()[:16] + '"'

    # -- answering ----------------------------------------------------------------------------

    def answer(
        self, address: str, raw_path: str, headers: dict[str, str]
    ) -> tuple[int, bytes, dict[str, str], float]:
        """(status, body, headers, delay) for one request; counts it by what it was."""
        path = raw_path.split("?", 1)[0]
        base = self._base_of[address]
        delay = self.latency
        if path == "/robots.txt":
            self._count("robots")
            return 200, b"User-agent: *\nAllow: /\n", {"Content-Type": "text/plain"}, delay
        if path.startswith("/feeds/"):
            try:
                feed = self.feeds[int(path[len("/feeds/") : -len(".xml")])]
            except (ValueError, IndexError):
                feed = None
            if feed is None or feed.host != base:
                return 404, b"not found", {"Content-Type": "text/plain"}, delay
            if feed.kind == "failing":
                self._count("feed/500")
                return 500, b"Internal Server Error", {"Content-Type": "text/plain"}, delay
            if feed.kind == "slow":
                delay += self.slow_seconds
            with self.lock:
                body, etag = feed.body, feed.etag
            if headers.get("If-None-Match") == etag:
                self._count("feed/304")
                return 304, b"", {"ETag": etag}, delay
            self._count("feed/200")
            now = time.monotonic() + delay
            with self.lock:
                for item in feed.items[:20]:
                    self.first_served.setdefault(item.slug, now)
            return 200, body, {"Content-Type": "application/rss+xml", "ETag": etag}, delay
        with self.lock:
            page = self.pages.get((base, path))
        if page is None:
            self._count("404")
            return 404, b"not found", {"Content-Type": "text/plain"}, delay
        self._count("article")
        return 200, page, {"Content-Type": "text/html; charset=utf-8"}, delay

    def _count(self, what: str) -> None:
        with self.lock:
            self.counts[what] += 1

    def take_counts(self) -> dict[str, int]:
        """The request counts since the last call, and reset them."""
        with self.lock:
            out = dict(self.counts)
            self.counts.clear()
        return out


DEMO_WATCHLISTS = Path(__file__).resolve().parent.parent / "demo" / "watchlists.yaml"


def write_config(
    directory: Path,
    urls: list[str],
    *,
    every: str = "15m",
    user_agent: str = "watchdesk-bench/0.1",
    alerts: str = "{sink: jsonl, jsonl_path: alerts.jsonl, first_poll: alert, max_age: none}",
    watchlists: str | None = None,
) -> Path:
    """A watchdesk config in `directory` polling every URL as a feed source `every`, with the
    demo watchlists (or the `watchlists` YAML given) and the `alerts` settings given."""
    text = watchlists if watchlists is not None else DEMO_WATCHLISTS.read_text("utf-8")
    (directory / "watchlists.yaml").write_text(text, "utf-8")
    sources = "\n".join(
        f'  - {{name: feed-{i}, kind: feed, url: "{url}", every: {every}}}'
        for i, url in enumerate(urls)
    )
    config = directory / "watchdesk.yaml"
    config.write_text(
        f"""store: {{path: watchdesk.db}}
crawl: {{user_agent: "{user_agent}"}}
alerts: {alerts}
sources:
{sources}
watchlists: watchlists.yaml
""",
        "utf-8",
    )
    return config


def start_publisher(
    farm: FeedFarm, every: float, stop: threading.Event, seed: int = 11
) -> threading.Thread:
    """A daemon thread publishing one story into a random feed every `every` seconds, until
    `stop` is set."""
    rng = random.Random(seed)

    def run() -> None:
        while not stop.wait(every):
            farm.publish(rng.randrange(len(farm.feeds)))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def service_env() -> dict[str, str]:
    """The environment for a watchdesk child process: this repository importable, no Slack
    token or config path inherited from the caller's shell."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SLACK_BOT_TOKEN", "SLACK_API_URL", "WATCHDESK_CONFIG")
    }
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    return env
