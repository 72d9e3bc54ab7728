"""The store's two engines side by side: articles/s stored and alerts/s delivered, SQLite vs
PostgreSQL, in one run on this machine (issue 15).

Articles: synthetic ~3 KB stories, each saved as the pipeline saves it (one transaction with
its facets, index entry and one alert). Alerts: the outbox sends them all through the real
slack-sdk to the loopback Slack stub (no pacing), recording each outcome (on Postgres each
alert is also claimed, FOR UPDATE SKIP LOCKED, and given back). Postgres is a throwaway
cluster from Debian's package on loopback (tests/postgres_server.py; fsync on, as a real
server would run). Results: benchmarks/results/store_engines.json.

Run: `python benchmarks/store_engines.py [--articles 2000] [--alerts 500]`.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alerts.outbox import Outbox  # noqa: E402
from alerts.policy import alert_kind  # noqa: E402
from alerts.sinks import SlackSink  # noqa: E402
from alerts.watchlist import Watchlist, WatchlistSet  # noqa: E402
from crawler.article import Article  # noqa: E402
from crawler.records import StoryMatch  # noqa: E402
from crawler.storage import Store  # noqa: E402
from tests.postgres_server import PostgresCluster  # noqa: E402
from tests.slack_stub import SlackStub  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "store_engines.json"
WATCHLIST = Watchlist(name="sister", query='"sister city"', channel="#sister")
_FILLER = (
    "council county mayor delegation trade port city farm budget school bridge water plant "
    "river harbor grant market rail board vote hearing senate bill report sister China Iowa"
)
_WORDS = tuple(_FILLER.split(" "))


def article(n: int, rng: random.Random) -> Article:
    url = f"https://news.example/{n}"
    text = " ".join(rng.choice(_WORDS) for _ in range(450))
    return Article(
        url=url,
        canonical_url=url,
        source=f"s{n % 50}",
        title=f"Story {n}: sister city delegation",
        text=text,
        language="en",
        countries=["US", "CN"],
        events=["sister_city"],
    )


def measure(location: str, articles: int, alerts: int, stub: SlackStub) -> dict[str, float]:
    rng = random.Random(7)
    batch = [article(n, rng) for n in range(articles)]
    match = [StoryMatch("sister", "#sister")]
    with Store(location) as store:
        started = time.perf_counter()
        for n, art in enumerate(batch):
            store.save_article(art, match if n < alerts else [], alert_kind)
        stored_s = time.perf_counter() - started
        sink = SlackSink(stub.token, stub.base_url, timeout=5)
        outbox = Outbox(store, sink, WatchlistSet([WATCHLIST], []), pace=0)
        started = time.perf_counter()
        report = outbox.deliver_due(limit=alerts)
        sent_s = time.perf_counter() - started
        assert report.delivered == alerts, report
    return {
        "articles": articles,
        "articles_per_s": round(articles / stored_s, 1),
        "alerts": alerts,
        "alerts_per_s": round(alerts / sent_s, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--alerts", type=int, default=500)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="watchdesk-bench-"))
    # its own folder under /tmp: the server runs as the `postgres` user when we are root
    cluster = PostgresCluster(Path(tempfile.mkdtemp(prefix="watchdesk-bench-pg-")))
    cluster.start(durable=True)
    try:
        url = cluster.fresh_database()
        results: dict[str, object] = {}
        with SlackStub() as stub:
            results["sqlite"] = measure(
                str(work / "watchdesk.db"), args.articles, args.alerts, stub
            )
            stub.reset()
            results["postgresql"] = measure(url, args.articles, args.alerts, stub)
    finally:
        cluster.stop()
        shutil.rmtree(cluster.data.parent, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    sqlite, pg = results["sqlite"], results["postgresql"]
    assert isinstance(sqlite, dict) and isinstance(pg, dict)
    results["ratio_postgres_to_sqlite"] = {
        "articles_per_s": round(pg["articles_per_s"] / sqlite["articles_per_s"], 2),
        "alerts_per_s": round(pg["alerts_per_s"] / sqlite["alerts_per_s"], 2),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
