"""Delivery wall time of 100 alerts against the loopback Slack stub, with Slack's per-channel
pacing (one post per second per channel) and without it, in the same run (issue #17).

Real SQLite outbox, the real slack-sdk client, `tests/slack_stub.py` on 127.0.0.1. Two shapes:
all 100 alerts to one channel (pacing bound: ~99 s), and 10 alerts to each of ten channels
(pacing spreads over the channels: ~10 s). The ratio paced/unpaced is what pacing costs.

    .venv/bin/python benchmarks/slack_delivery.py [--alerts 100] [--channels 10]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alerts.outbox import Outbox  # noqa: E402
from alerts.sinks import SlackSink  # noqa: E402
from alerts.watchlist import Watchlist, WatchlistSet  # noqa: E402
from crawler.storage import Store  # noqa: E402
from tests.alerts.helpers import ingest, make_article  # noqa: E402
from tests.slack_stub import SlackStub  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def deliver(alerts: int, channels: int, paced: bool) -> dict[str, float | int]:
    """Store `alerts` stories spread over `channels` channels, then time their delivery."""
    watchlists = [
        Watchlist(name=f"desk{c}", query=f"title:desk{c}", channel=f"#desk{c}")
        for c in range(channels)
    ]
    with tempfile.TemporaryDirectory() as tmp, SlackStub() as stub:
        with Store(Path(tmp) / "bench.db") as store:
            for n in range(alerts):
                c = n % channels
                article = make_article(n, f"Story {n} for desk{c}")
                ingest(store, WatchlistSet([watchlists[c]], []), article)
            sink = SlackSink(stub.token, stub.base_url)
            outbox = Outbox(store, sink, WatchlistSet(watchlists, []), pace=None if paced else 0.0)
            started = time.perf_counter()
            report = outbox.deliver_due(limit=alerts * 2)
            wall = time.perf_counter() - started
        posts = len(stub.messages())
    assert report.delivered == alerts == posts, (report, posts)
    return {"alerts": alerts, "channels": channels, "paced": paced, "seconds": round(wall, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=100)
    parser.add_argument("--channels", type=int, default=10)
    args = parser.parse_args()
    rows = []
    for channels in (1, args.channels):
        unpaced = deliver(args.alerts, channels, paced=False)
        paced = deliver(args.alerts, channels, paced=True)
        ratio = paced["seconds"] / max(float(unpaced["seconds"]), 1e-3)
        rows.append({"channels": channels, "unpaced": unpaced, "paced": paced, "ratio": ratio})
    print(f"{'channels':>8} {'alerts':>6} {'unpaced s':>10} {'paced s':>8} {'ratio':>7}")
    for row in rows:
        print(
            f"{row['channels']:>8} {args.alerts:>6} {row['unpaced']['seconds']:>10} "
            f"{row['paced']['seconds']:>8} {row['ratio']:>7.1f}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "slack_delivery.json"
    out.write_text(json.dumps({"runs": rows}, indent=2), encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
