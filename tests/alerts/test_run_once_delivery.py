"""`watchdesk run --once` against a rate-limiting, failing or misconfigured Slack, the way desks
run it from cron (issue #17): the real CLI in a fresh process, the fixture news site and the
loopback Slack stub, the real slack-sdk client.

- a 429 with Retry-After costs seconds, not a cron interval;
- after an outage the next run alone delivers everything pending, in order, once;
- SIGKILLs at random points of several runs, then one clean run: every alert exactly once;
- a bad token or channel: one ERROR line with the fix, exit 3, nothing lost, and delivered by
  `alerts retry` once fixed; every source failing: exit 4;
- `watchdesk slack check` names each problem with its fix.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.reliability.sitegen import STORY, NewsSite, SlowServer, read_db, start_cli
from tests.slack_stub import SlackStub


@pytest.fixture
def news() -> Iterator[NewsSite]:
    with SlowServer() as server:
        site = NewsSite(server)
        site.publish(10)  # five of them (the even ones) match the watchlist
        yield site


def write_config(tmp: Path, base: str, *, once_wait: float = 30, channel: str = "#kestrel") -> Path:
    config = tmp / "watchdesk.yaml"
    config.write_text(
        f"""store: {{path: var/watchdesk.db}}
alerts: {{sink: slack, once_wait: {once_wait}, first_poll: alert, max_age: none}}
sources:
  - {{name: local, kind: feed, url: "{base}/feeds/local.xml", every: 1h}}
  - {{name: wire, kind: feed, url: "{base}/feeds/wire.xml", every: 1h}}
watchlists:
  - {{name: kestrel, query: 'title:kestrel', channel: "{channel}"}}
""",
        encoding="utf-8",
    )
    return config


def once(
    config: Path, stub: SlackStub, token: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = stub.env()
    if token is not None:
        env["SLACK_BOT_TOKEN"] = token
    return run_cli("--config", str(config), "run", "--once", env=env)


def logged(proc: subprocess.CompletedProcess[str]) -> str:
    """stderr with the terminal's line wrapping undone (one log record, however wide)."""
    return " ".join(proc.stderr.split())


def posted_stories(stub: SlackStub) -> list[int]:
    """Story numbers of the story messages in Slack, in posting order."""
    out = []
    for m in stub.messages():
        found = STORY.search(m.text or "")
        if found and not m.thread_ts:
            out.append(int(found.group(1)))
    return out


def alert_order(db: Path) -> list[int]:
    """Story numbers of the story alerts in outbox (= delivery) order."""
    rows = read_db(
        db,
        "SELECT a.title FROM alerts l JOIN articles a ON a.id = l.article_id "
        "WHERE l.kind = 'story' ORDER BY l.id",
    )
    return [int(m.group(1)) for (title,) in rows if (m := STORY.search(title))]


def statuses(db: Path) -> Counter[str]:
    return Counter(s for (s,) in read_db(db, "SELECT status FROM alerts"))


def test_rate_limit_costs_about_the_retry_after(tmp_path: Path, news: NewsSite) -> None:
    with SlackStub(channels={"#kestrel"}) as calm:
        (tmp_path / "calm").mkdir()
        started = time.monotonic()
        proc = once(write_config(tmp_path / "calm", news.base), calm)
        calm_wall = time.monotonic() - started
        assert proc.returncode == 0, proc.stderr
        assert len(posted_stories(calm)) == 5
    with SlackStub(channels={"#kestrel"}) as stub:
        (tmp_path / "limited").mkdir()
        stub.rate_limit(2, retry_after=1, method="chat.postMessage")
        started = time.monotonic()
        proc = once(write_config(tmp_path / "limited", news.base), stub)
        wall = time.monotonic() - started
        assert proc.returncode == 0, proc.stderr
        assert "5 alerts sent, 0 retrying" in proc.stderr
        assert sorted(posted_stories(stub)) == [0, 2, 4, 6, 8]  # every alert, each once
        assert [r.status for r in stub.requests()][:2] == [429, 429]
    # two Retry-Afters of 1 s (slack-sdk adds up to 1 s of jitter to each): seconds, where the
    # old outbox left the alerts to the next cron run
    assert 1.5 <= wall - calm_wall <= 15, (wall, calm_wall)


def test_next_run_after_an_outage_delivers_everything_in_order_once(
    tmp_path: Path, news: NewsSite
) -> None:
    config = write_config(tmp_path, news.base, once_wait=2)
    db = tmp_path / "var" / "watchdesk.db"
    with SlackStub(channels={"#kestrel"}) as stub:
        stub.server_error(1000, status=503, method="chat.postMessage", error="service_unavailable")
        proc = once(config, stub)
        assert proc.returncode == 0, proc.stderr  # an outage is not the desk's to fix
        assert not stub.messages() and statuses(db) == {"pending": 5}
        stub.clear_failures()  # Slack is back
        proc = once(config, stub)
        assert proc.returncode == 0, proc.stderr
        assert posted_stories(stub) == alert_order(db)  # in order, each once
        assert sorted(posted_stories(stub)) == [0, 2, 4, 6, 8]
        assert statuses(db) == {"delivered": 5}


def test_sigkilled_runs_then_one_clean_run_deliver_each_alert_once(tmp_path: Path) -> None:
    rng = random.Random(17)
    with SlowServer() as server, SlackStub(channels={"#kestrel"}) as stub:
        news = NewsSite(server)
        config = write_config(tmp_path, news.base)
        for _ in range(4):
            news.publish(6)  # three more alerts each round; 1 s apart in one channel
            proc = start_cli(config, "run", "--once", env=stub.env())
            time.sleep(rng.uniform(2.5, 6.0))  # past start-up (~2.5 s): polling or posting
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        proc = once(config, stub)
        assert proc.returncode == 0, proc.stderr
        posted = Counter(posted_stories(stub))
        assert sorted(posted) == [n for n in news.published if n % 2 == 0]  # none lost
        assert set(posted.values()) == {1}  # none twice


def test_bad_token_exits_3_with_one_error_then_alerts_retry_delivers(
    tmp_path: Path, news: NewsSite
) -> None:
    config = write_config(tmp_path, news.base)
    db = tmp_path / "var" / "watchdesk.db"
    with SlackStub(channels={"#kestrel"}) as stub:
        proc = once(config, stub, token="xoxb-revoked-0000")
        assert proc.returncode == 3, proc.stderr
        said = logged(proc)
        assert said.count("stopped all deliveries") == 1 and said.count("ERROR") == 1
        assert "invalid_auth" in said and "SLACK_BOT_TOKEN" in said
        assert "xoxb-revoked" not in proc.stderr  # the token is never printed
        assert statuses(db) == {"pending": 5}  # not lost, not failed
        assert len([r for r in stub.requests() if r.method == "chat.postMessage"]) == 1
        status = run_cli("--config", str(config), "status", "--json")
        delivery = json.loads(status.stdout)["delivery"]
        assert delivery["state"] == "stopped" and "SLACK_BOT_TOKEN" in delivery["stops"][0]["fix"]
        # still stopped on the next cron run: said again, exit 3 again, nothing sent
        proc = once(config, stub, token="xoxb-revoked-0000")
        assert proc.returncode == 3 and "all deliveries stopped since" in logged(proc)
        retry = run_cli("--config", str(config), "alerts", "retry")
        assert retry.returncode == 0
        assert "0 failed alert(s) queued again" in retry.stdout and "resumed" in retry.stdout
        proc = once(config, stub)  # the right token now
        assert proc.returncode == 0, proc.stderr
        assert sorted(posted_stories(stub)) == [0, 2, 4, 6, 8]


def test_unknown_channel_exits_3_then_alerts_retry_delivers(tmp_path: Path, news: NewsSite) -> None:
    config = write_config(tmp_path, news.base, channel="#kestrel-desk")
    db = tmp_path / "var" / "watchdesk.db"
    with SlackStub(channels={"#kestrel"}) as stub:
        proc = once(config, stub)
        assert proc.returncode == 3, proc.stderr
        said = logged(proc)
        assert said.count("stopped deliveries to #kestrel-desk") == 1 and said.count("ERROR") == 1
        assert "channel_not_found" in said and "watchlist's `channel`" in said
        assert statuses(db) == {"pending": 5}
        stub.channels = {"#kestrel", "#kestrel-desk"}  # the desk created the channel
        assert "resumed" in run_cli("--config", str(config), "alerts", "retry").stdout
        proc = once(config, stub)
        assert proc.returncode == 0, proc.stderr
        assert sorted(posted_stories(stub)) == [0, 2, 4, 6, 8]


def test_every_source_failing_exits_4(tmp_path: Path) -> None:
    with SlackStub() as stub:
        # port 9 (discard) on loopback: refused, so both sources fail
        config = write_config(tmp_path, "http://127.0.0.1:9")
        proc = once(config, stub)
        assert proc.returncode == 4, proc.stderr
        assert "all 2 sources failed to poll" in proc.stderr


# -- slack check -------------------------------------------------------------------------------


def check(
    tmp_path: Path, stub: SlackStub, token: str | None = None
) -> subprocess.CompletedProcess[str]:
    config = write_config(tmp_path, "http://127.0.0.1:9")
    env = {**stub.env(), **({"SLACK_BOT_TOKEN": token} if token else {})}
    return run_cli("--config", str(config), "slack", "check", env=env)


def test_slack_check_passes_on_a_good_setup(tmp_path: Path) -> None:
    with SlackStub(channels={"#kestrel", "#watchdesk"}) as stub:
        proc = check(tmp_path, stub)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok   channel #kestrel: public, the bot is a member" in proc.stdout
    assert "ok   scope chat:write: granted" in proc.stdout
    assert "Slack is ready." in proc.stdout


@pytest.mark.parametrize(
    ("stub_kw", "problem", "fix"),
    [
        (
            {"scopes": {"chat:write", "channels:read"}},
            "FAIL scope channels:history: missing",
            "add the bot scope channels:history",
        ),
        ({"channels": {"#watchdesk"}}, "FAIL channel #kestrel: not found", "create #kestrel"),
        (
            {"channels": {"#kestrel", "#watchdesk"}, "members": {"#watchdesk"}},
            "FAIL channel #kestrel: the bot is not a member",
            "/invite @watchdesk in #kestrel",
        ),
        (
            {"channels": {"#kestrel", "#watchdesk"}, "archived": {"#kestrel"}},
            "FAIL channel #kestrel: is archived",
            "unarchive it",
        ),
    ],
)
def test_slack_check_names_each_problem_with_its_fix(
    tmp_path: Path, stub_kw: dict[str, object], problem: str, fix: str
) -> None:
    with SlackStub(**stub_kw) as stub:  # type: ignore[arg-type]
        proc = check(tmp_path, stub)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert problem in proc.stdout
    assert fix in proc.stdout
    assert "problem(s) to fix" in proc.stdout


def test_slack_check_with_a_bad_token(tmp_path: Path) -> None:
    with SlackStub() as stub:
        proc = check(tmp_path, stub, token="xoxb-other")
    assert proc.returncode == 1
    assert "FAIL token: slack: invalid_auth" in proc.stdout and "SLACK_BOT_TOKEN" in proc.stdout
