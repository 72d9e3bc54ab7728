"""A growing loopback news site for reliability tests: numbered stories, feeds that list them,
optional delays per path (slow sources), and helpers to run and inspect the real service.

Every story has a unique number in its title (`Story 0042`), so a Slack message, a JSON Lines
line or a stored row can be traced back to exactly one story; even-numbered stories carry the
word "Kestrel" in the title, which the test watchlist matches.
"""

from __future__ import annotations

import os
import random
import re
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from crawler.article import article_id
from crawler.storage.engine import is_postgres_url
from crawler.storage.postgres import to_postgres
from crawler.urls import canonicalize_url
from demo.site import FixtureArticle, FixtureServer, FixtureSite, _Handler, article_page, rss_feed
from tests.conftest import ROOT

# Plain English filler: random word order keeps every story's text far from every other's, so
# story clustering never folds two test stories into one.
_FILLER = (
    "council county mayor delegation trade port city farm budget school bridge water plant "
    "river harbor grant market rail county board vote hearing senate bill report road office "
    "museum festival library college students exchange visit signed letter partner factory "
    "jobs tax land permit cargo airport clinic park police court survey grain soybean pork"
)
_WORDS = tuple(_FILLER.split(" "))
STORY = re.compile(r"Story (\d{4})")
WATCH_WORD = "Kestrel"


def story_title(n: int) -> str:
    tag = f" {WATCH_WORD}" if n % 2 == 0 else ""
    return f"Story {n:04d}:{tag} county board weighs ties with Hebei"


def make_story(n: int) -> FixtureArticle:
    rng = random.Random(n)
    paragraphs = [
        " ".join(rng.choice(_WORDS) for _ in range(40)).capitalize() + "." for _ in range(6)
    ]
    paragraphs.insert(1, "Officials from Des Moines, Iowa met a delegation from Hebei, China.")
    published = datetime(2024, 6, 1, tzinfo=UTC) + timedelta(minutes=n)
    return FixtureArticle(f"story-{n:04d}", story_title(n), published, "Desk", paragraphs)


class SlowSite(FixtureSite):
    """A FixtureSite whose paths can answer after a delay, to keep work in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.delays: dict[str, float] = {}  # path -> seconds
        self.article_delay = 0.0  # seconds, for every /articles/ page


class _SlowHandler(_Handler):
    site: SlowSite

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        path = self.path.split("?", 1)[0]
        delay = self.site.delays.get(path, 0.0)
        if path.startswith("/articles/"):
            delay = max(delay, self.site.article_delay)
        if delay:
            time.sleep(delay)
        super().do_GET()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # a killed crawler leaves broken pipes behind: expected here, not worth a traceback
        pass


class SlowServer(FixtureServer):
    """FixtureServer serving a SlowSite (same request log, 304s and routes) on 127.0.0.1."""

    def __init__(self, site: SlowSite | None = None, host: str = "127.0.0.1") -> None:
        self.site: SlowSite = site or SlowSite()
        handler = type("Handler", (_SlowHandler,), {"site": self.site})
        self.httpd = _QuietServer((host, 0), handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://{host}:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)


@dataclass
class NewsSite:
    """Stories published over time on two feeds (odd/even split, with overlap in between)."""

    server: SlowServer
    published: list[int] = field(default_factory=list)

    @property
    def base(self) -> str:
        return self.server.base_url

    def publish(self, count: int) -> list[int]:
        start = (self.published[-1] + 1) if self.published else 0
        numbers = list(range(start, start + count))
        for n in numbers:
            story = make_story(n)
            self.server.site.add(f"/articles/{story.slug}.html", article_page(story, self.base))
        self.published.extend(numbers)
        self._feeds()
        return numbers

    def _feeds(self) -> None:
        stories = [make_story(n) for n in self.published[-60:]]
        # the "wire" feed has every third story too, so sources overlap as they do in life
        local = [s for s in stories if int(s.slug[-4:]) % 2 == 0 or int(s.slug[-4:]) % 3 == 0]
        wire = [s for s in stories if int(s.slug[-4:]) % 2 == 1 or int(s.slug[-4:]) % 3 == 0]
        for name, items in (("local", local), ("wire", wire)):
            self.server.site.add(
                f"/feeds/{name}.xml",
                rss_feed(items, self.base, title=name, link_suffix="?utm_source=rss"),
                content_type="application/rss+xml",
                etag=True,
            )

    def story_ids(self, numbers: list[int] | None = None) -> dict[str, int]:
        """Article id (hash of the canonical URL) -> story number."""
        nums = self.published if numbers is None else numbers
        return {
            article_id(canonicalize_url(f"{self.base}/articles/story-{n:04d}.html")): n
            for n in nums
        }


def write_config(
    path: Path, base: str, *, every: str = "2s", extra: str = "", store_url: str | None = None
) -> Path:
    """The test service's config: the SQLite store in `var/`, or the Postgres `store_url`."""
    store = f'{{url: "{store_url}"}}' if store_url else "{path: var/watchdesk.db}"
    path.write_text(
        f"""store: {store}
alerts: {{sink: auto, first_poll: alert, max_age: none}}
sources:
  - {{name: local, kind: feed, url: "{base}/feeds/local.xml", every: {every}}}
  - {{name: wire, kind: feed, url: "{base}/feeds/wire.xml", every: {every}}}
watchlists:
  - {{name: kestrel, query: 'title:{WATCH_WORD.lower()}', channel: "#kestrel"}}
{extra}""",
        encoding="utf-8",
    )
    return path


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SLACK_BOT_TOKEN", "SLACK_API_URL", "WATCHDESK_CONFIG")
    }
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra or {})
    return env


def start_cli(config: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`watchdesk --config CONFIG ARGS` in a new process; output to files beside the config."""
    log = open(config.parent / "service.log", "a", encoding="utf-8")  # noqa: SIM115
    return subprocess.Popen(
        [sys.executable, "-m", "watchdesk.cli", "--config", str(config), *args],
        cwd=ROOT,
        env=cli_env(env),
        stdout=log,
        stderr=log,
        text=True,
    )


def read_db(path: Path | str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """A fresh read-only look at the store (another process may be writing): a SQLite file or
    a Postgres URL (the same query text, in the store's own dialect)."""
    if is_postgres_url(path):
        return _read_postgres(str(path), sql, params)
    path = Path(path)
    if not path.exists():
        return []
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):  # the service is creating the store right now
            return []
        raise
    finally:
        conn.close()


def _read_postgres(url: str, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url, autocommit=True, cursor_factory=psycopg.ClientCursor) as conn:
        conn.read_only = True
        try:
            return [tuple(r) for r in conn.execute(to_postgres(sql), params).fetchall()]
        except psycopg.errors.UndefinedTable:  # the service is creating the store right now
            return []


def store_exists(path: Path | str) -> bool:
    """The SQLite file exists (a Postgres test database always does)."""
    return is_postgres_url(path) or Path(path).exists()


def integrity(path: Path | str) -> str:
    """SQLite's own check of the file; Postgres keeps its files itself (WAL, checksums), so
    there the check is that the server answers."""
    if is_postgres_url(path):
        return "ok" if _read_postgres(str(path), "SELECT 1", ()) == [(1,)] else "no answer"
    conn = sqlite3.connect(path, timeout=10)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def store_consistency(path: Path | str) -> list[str]:
    """Problems with the store's own invariants: each article once, with its index entry."""
    problems = []
    dupes = read_db(
        path,
        "SELECT canonical_url, count(*) FROM articles GROUP BY canonical_url HAVING count(*) > 1",
    )
    if dupes:
        problems.append(f"articles stored twice: {dupes}")
    arts = sum(r[0] for r in read_db(path, "SELECT count(*) FROM articles"))
    # the FTS5 table is SQLite's only
    fts = (
        arts
        if is_postgres_url(path)
        else sum(r[0] for r in read_db(path, "SELECT count(*) FROM articles_fts"))
    )
    if fts != arts:
        problems.append(f"{arts} articles but {fts} full-text rows")
    orphans = sum(
        r[0]
        for r in read_db(
            path, "SELECT count(*) FROM alerts WHERE article_id NOT IN (SELECT id FROM articles)"
        )
    )
    if orphans:
        problems.append(f"{orphans} alerts without their article")
    return problems
