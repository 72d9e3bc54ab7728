"""Shared fixtures: the fixture news site on 127.0.0.1 and helpers to run the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.site import FixtureArticle, FixtureServer, build_demo_site
from tests.postgres_server import PostgresCluster, running_cluster

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def site() -> Iterator[FixtureServer]:
    """The demo news site (feeds, articles, a 500 feed, a malformed feed) on a loopback port."""
    with FixtureServer() as server:
        server.articles = build_demo_site(server.site, server.base_url)  # type: ignore[attr-defined]
        yield server


@pytest.fixture
def demo_articles(site: FixtureServer) -> list[FixtureArticle]:
    return site.articles  # type: ignore[attr-defined,no-any-return]


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """Run `watchdesk ARGS` in a fresh process (Scrapy's reactor runs once per process)."""
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SLACK_BOT_TOKEN", "SLACK_API_URL", "WATCHDESK_CONFIG", "WATCHDESK_DB_URL")
    }
    base["PYTHONPATH"] = str(ROOT)
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "watchdesk.cli", *args],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def shared_corpus(*parts: str) -> Path:
    """A corpus under ../shared/corpora, for a test to read.

    A developer machine without `shared/` beside the checkout skips the test with the reason;
    under CI (`CI=true`), where `shared/` is always laid beside the clone, a missing corpus is
    a failure, so that a moved corpus can never turn the quality gates into silent skips.
    """
    path = ROOT.parent.joinpath("shared", "corpora", *parts)
    if not path.exists():
        message = f"corpus not found at {path}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI lays ../shared beside the checkout)")
        pytest.skip(message)
    return path


# The store's template database on the session's Postgres cluster: migrated once, copied per test.
_TEMPLATE = "watchdesk_template"
ENGINES = ("sqlite", "postgres")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """One throwaway Postgres cluster for the session (tests/postgres_server.py), with a
    template database holding the store's schema."""
    from crawler.storage import Store

    # not under pytest's tmp folder: that one is private to root, and the server runs as
    # the `postgres` user
    with running_cluster(Path(tempfile.mkdtemp(prefix="watchdesk-pg-"))) as cluster:
        cluster.admin(f'CREATE DATABASE "{_TEMPLATE}" TEMPLATE template0')
        Store(cluster.url(_TEMPLATE)).close()
        yield cluster


@pytest.fixture(params=ENGINES)
def store_at(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Where a test's store lives, once per engine: a SQLite file in the test's folder, or a
    fresh database on the session's Postgres cluster (dropped after the test). `Store(store_at)`
    opens it, in the test's process or in a child process it starts."""
    if request.param == "sqlite":
        yield str(tmp_path / "watchdesk.db")
    else:
        yield request.getfixturevalue("postgres_store")


@pytest.fixture
def postgres_store(postgres: PostgresCluster) -> Iterator[str]:
    """The URL of a fresh store database on the session's cluster (for Postgres-only tests)."""
    url = postgres.fresh_database(template=_TEMPLATE)
    yield url
    postgres.admin(f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


from tests.slack_stub import slack_stub  # noqa: E402,F401  (the loopback Slack API stub fixture)
