"""Click-to-recorded latency of the Slack desk, against the loopback Socket Mode stand-in.

A story alert is posted through the real outbox and slack-sdk; then N button clicks go down
the websocket as Slack's `interactive` envelopes and each is timed from the moment the
envelope is sent until its verdict is in the store (and, separately, until it is
acknowledged). Real slack-sdk `SocketModeClient` (built-in), real SQLite in WAL mode.

Run: `python benchmarks/desk_latency.py [--clicks 200]`; writes
benchmarks/results/desk_latency.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alerts.desk import ACTION_NOT_RELEVANT, ACTION_RELEVANT, Desk  # noqa: E402
from alerts.outbox import Outbox  # noqa: E402
from alerts.sinks import SlackSink  # noqa: E402
from alerts.watchlist import Watchlist, WatchlistSet  # noqa: E402
from benchmarks.machine import machine_info  # noqa: E402
from crawler.stats import Stats  # noqa: E402
from crawler.storage import Store  # noqa: E402
from tests.alerts.helpers import ingest, make_article  # noqa: E402
from tests.socket_mode_stub import SocketModeStub, block_actions  # noqa: E402
from watchdesk.service.socket_mode import close_desk_socket, open_desk_socket  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "desk_latency.json"
WATCHLISTS = WatchlistSet([Watchlist(name="desk", query='"sister city"', channel="#desk")], [])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=200)
    args = parser.parse_args()
    recorded: list[float] = []
    acked: list[float] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        SocketModeStub() as slack,
        Store(Path(tmp) / "wd.db") as store,
    ):
        socket = open_desk_socket(
            lambda team: Desk(store=store, watchlists=lambda: WATCHLISTS, team_id=team),
            slack.env(),
            Stats(),
        )
        assert socket is not None
        slack.ws.wait_connected(1)
        outbox = Outbox(store, SlackSink(slack.api.token, slack.api.base_url), WATCHLISTS)
        ingest(store, WATCHLISTS, make_article(1, "Oxford sister city signed"))
        outbox.deliver_due()
        alert = store.list_alerts(limit=1)[0]
        assert alert.id is not None
        channel = slack.api.channel_id(alert.channel)
        for i in range(args.clicks):
            action = ACTION_RELEVANT if i % 2 else ACTION_NOT_RELEVANT
            verdict = "relevant" if i % 2 else "not_relevant"
            payload = block_actions(
                action_id=action,
                value=str(alert.id),
                channel_id=channel,
                message_ts=alert.delivered_ts,
            )
            started = time.monotonic()
            envelope = slack.ws.send("interactive", payload, accepts_response_payload=False)
            while True:
                found = store.alert_verdicts(alert.id)
                if found and found[0].verdict == verdict:
                    break
                time.sleep(0.0005)
            recorded.append(time.monotonic() - started)
            acked.append(slack.ws.wait_ack(envelope).after)
            time.sleep(0.01)  # clicks by a person, not a flood
        close_desk_socket(socket)
    report = {
        "clicks": len(recorded),
        "recorded_ms": {
            "median": round(1000 * statistics.median(recorded), 2),
            "p95": round(1000 * percentile(recorded, 0.95), 2),
            "max": round(1000 * max(recorded), 2),
        },
        "ack_ms": {
            "median": round(1000 * statistics.median(acked), 2),
            "p95": round(1000 * percentile(acked, 0.95), 2),
            "max": round(1000 * max(acked), 2),
        },
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
    }
    print(
        f"{report['clicks']} clicks: click-to-recorded median {report['recorded_ms']['median']} ms,"
        f" p95 {report['recorded_ms']['p95']} ms, max {report['recorded_ms']['max']} ms; "
        f"acknowledged p95 {report['ack_ms']['p95']} ms (Slack allows 3,000 ms)"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
