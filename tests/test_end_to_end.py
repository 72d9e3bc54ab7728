"""The whole monitor, end to end: real Scrapy against the loopback fixture site, real SQLite,
real slack-sdk against the loopback Slack stub, all through the `watchdesk` command."""

from __future__ import annotations

import json
from pathlib import Path

from crawler.article import article_id
from crawler.storage import Store
from crawler.storage.engine import is_postgres_url
from crawler.urls import canonicalize_url
from demo.site import FixtureServer
from tests.conftest import ROOT, run_cli

WATCHLISTS = (ROOT / "demo" / "watchlists.yaml").read_text(encoding="utf-8")


def write_config(tmp_path: Path, base: str, store_url: str | None = None) -> Path:
    (tmp_path / "watchlists.yaml").write_text(WATCHLISTS, encoding="utf-8")
    config = tmp_path / "watchdesk.yaml"
    store = f'{{url: "{store_url}"}}' if store_url else "{path: var/test.db}"
    config.write_text(
        f"""store: {store}
crawl: {{user_agent: "watchdesk-test/0.1"}}
alerts: {{first_poll: alert, max_age: none}}
sources:
  - {{name: ledger, kind: feed, url: "{base}/feeds/ledger.xml"}}
  - {{name: ledger-atom, kind: feed, url: "{base}/feeds/atom.xml"}}
  - {{name: broken, kind: feed, url: "{base}/feeds/broken.xml"}}
  - {{name: malformed, kind: feed, url: "{base}/feeds/malformed.xml"}}
watchlists: watchlists.yaml
""",
        encoding="utf-8",
    )
    return config


def stored(db: Path | str) -> list[tuple[str, str, str]]:
    with Store(db) as store:
        rows = store.execute("SELECT id, source, canonical_url FROM articles ORDER BY seq")
    return [(r[0], r[1], r[2]) for r in rows]


def test_run_once_end_to_end(
    tmp_path: Path, store_at: str, site: FixtureServer, slack_stub
) -> None:  # type: ignore[no-untyped-def]
    """On each engine: the SQLite file in var/, or a Postgres store (store.url)."""
    store_url = store_at if is_postgres_url(store_at) else None
    config = write_config(tmp_path, site.base_url, store_url)
    env = {"SLACK_BOT_TOKEN": slack_stub.token, "SLACK_API_URL": slack_stub.base_url}
    articles = site.articles  # type: ignore[attr-defined]

    first = run_cli("--config", str(config), "run", "--once", env=env)
    assert first.returncode == 0, first.stderr

    # every fixture article stored exactly once, though the RSS links carry tracking
    # parameters and one story is in both feeds (and in the malformed one)
    db = store_url or tmp_path / "var" / "test.db"
    rows = stored(db)
    expected = {
        article_id(canonicalize_url(f"{site.base_url}/articles/{a.slug}.html")) for a in articles
    }
    assert {r[0] for r in rows} == expected
    assert len(rows) == len(expected)
    for a in articles:
        assert len(site.site.hits(f"/articles/{a.slug}.html")) == 1, a.slug

    # the broken feed was recorded as failing and did not stop the others
    status = run_cli("--config", str(config), "status", "--json")
    health = {s["source"]: s for s in json.loads(status.stdout)["sources"]}
    assert health["broken"]["consecutive_failures"] == 1
    assert health["broken"]["last_error"] == "HTTP 500"
    assert health["ledger"]["consecutive_failures"] == 0 and health["ledger"]["new_24h"] >= 1

    # alerts reached Slack through slack-sdk, one per story per watchlist
    posts = slack_stub.messages()
    assert posts, first.stderr
    by_channel: dict[str, list[str]] = {}
    for p in posts:
        by_channel.setdefault(p["channel"], []).append(p["text"])
    assert "#sister-cities" in by_channel
    assert "#state-laws" in by_channel
    pairs = [(p["channel"], p["text"]) for p in posts]
    assert len(pairs) == len(set(pairs))
    outbox = [
        json.loads(line)
        for line in run_cli("--config", str(config), "alerts", "list", "--json").stdout.splitlines()
    ]
    assert outbox and all(a["status"] == "delivered" and a["message_id"] for a in outbox)
    assert len(outbox) == len(posts)

    # second cycle: conditional requests answered 304; nothing new stored or sent
    second = run_cli("--config", str(config), "run", "--once", env=env)
    assert second.returncode == 0, second.stderr
    ledger_hits = site.site.hits("/feeds/ledger.xml")
    assert len(ledger_hits) == 2
    assert ledger_hits[1]["headers"].get("If-None-Match")
    assert len(stored(db)) == len(expected)
    assert len(slack_stub.messages()) == len(posts)
    with Store(db) as store:
        cycles = [
            tuple(r) for r in store.execute("SELECT stored, alerts_sent FROM cycles ORDER BY rowid")
        ]
    assert cycles == [(len(expected), len(posts)), (0, 0)]  # each cycle recorded
    for a in articles:
        assert len(site.site.hits(f"/articles/{a.slug}.html")) == 1, a.slug

    # search finds the stories, in JSON with the documented fields
    found = run_cli("--config", str(config), "search", '"sister city" OR sister-city', "--json")
    assert found.returncode == 0, found.stderr
    hits = [json.loads(line) for line in found.stdout.splitlines()]
    assert hits
    for key in ("id", "url", "title", "source", "published", "language", "score", "snippet"):
        assert key in hits[0]
    assert any("Sister-City" in h["title"] for h in hits)
    zh = run_cli("--config", str(config), "search", "友好城市", "--json")
    assert any(h["language"] == "zh" for h in map(json.loads, zh.stdout.splitlines()))


def test_invalid_config_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(
        "sources:\n  - {name: x, url: 'https://a.example/f', colour: red}\n", encoding="utf-8"
    )
    result = run_cli("--config", str(config), "run", "--once")
    assert result.returncode == 2
    assert f"{config}:2" in result.stderr and "colour" in result.stderr


def test_watchlist_validate(tmp_path: Path) -> None:
    (tmp_path / "w.yaml").write_text(
        "watchlists:\n  - name: ok\n    query: China\n  - name: bad\n    query: 'title:(a OR'\n",
        encoding="utf-8",
    )
    config = tmp_path / "c.yaml"
    config.write_text("watchlists: w.yaml\n", encoding="utf-8")
    result = run_cli("--config", str(config), "watchlist", "validate")
    assert result.returncode == 1
    assert f"{tmp_path / 'w.yaml'}:5: watchlist 'bad'" in result.stderr
    (tmp_path / "w.yaml").write_text(
        "watchlists:\n  - {name: ok, query: China}\n", encoding="utf-8"
    )
    assert run_cli("--config", str(config), "watchlist", "validate").returncode == 0


def test_extract_json(tmp_path: Path, site: FixtureServer) -> None:
    url = f"{site.base_url}/articles/hubei-mississippi-zh.html"
    result = run_cli("--config", str(tmp_path / "none.yaml"), "extract", url, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["language"] == "zh"
    assert "湖北" in data["title"]
    assert "Related" not in data["text"] and "cookies" not in data["text"]
    assert {"CN", "US"} <= set(data["countries"])


def test_a_label_watchlist_fires_for_the_labelled_source_only(  # type: ignore[no-untyped-def]
    tmp_path: Path, site: FixtureServer, slack_stub
) -> None:
    """`label:state_media` through the real pipeline: the label comes from the source's config,
    is stored with each article, and only the state-media source's articles alert; they keep
    their label when the source leaves the config."""
    base = site.base_url
    sources = (
        f'  - {{name: ledger, kind: feed, url: "{base}/feeds/ledger.xml", label: local}}\n'
        f'  - {{name: ledger-atom, kind: feed, url: "{base}/feeds/atom.xml", label: state_media}}\n'
    )
    config = tmp_path / "watchdesk.yaml"
    head = "store: {path: var/test.db}\nalerts: {first_poll: alert, max_age: none}\n"
    watchlists = (
        "watchlists:\n"
        "  - {name: state-media, query: 'label:state_media', channel: '#state-media'}\n"
        "  - {name: local, query: 'label:local AND NOT label:state_media', channel: '#local'}\n"
    )
    config.write_text(head + "sources:\n" + sources + watchlists, encoding="utf-8")
    env = {"SLACK_BOT_TOKEN": slack_stub.token, "SLACK_API_URL": slack_stub.base_url}
    run = run_cli("--config", str(config), "run", "--once", env=env)
    assert run.returncode == 0, run.stderr

    with Store(tmp_path / "var" / "test.db") as store:
        rows = [tuple(r) for r in store.execute("SELECT id, source, label, url FROM articles")]
        alerted: dict[str, set[str]] = {"state-media": set(), "local": set()}
        for name, aid in store.execute("SELECT watchlist, article_id FROM alerts"):
            alerted[name].add(aid)
    assert {(source, label) for _, source, label, _ in rows} == {
        ("ledger", "local"),
        ("ledger-atom", "state_media"),
    }
    state_media = {aid for aid, _, label, _ in rows if label == "state_media"}
    assert state_media and len(state_media) < len(rows)
    assert alerted["state-media"] == state_media
    assert alerted["local"] == {aid for aid, *_ in rows} - state_media
    posted = [p for p in slack_stub.messages() if p["channel"] == "#state-media"]
    assert len(posted) == len(state_media)
    urls = [url for _, _, label, url in rows if label == "state_media"]
    # each message links the state-media article (titles are mrkdwn-escaped: `&amp;`)
    assert sorted(p["text"].split("|", 1)[0].lstrip("<") for p in posted) == sorted(urls)

    # the source leaves the config: its articles keep their label
    config.write_text(head + "sources:\n" + sources.splitlines()[0] + "\n", encoding="utf-8")
    found = run_cli("--config", str(config), "search", "label:state_media", "--json", "-n", "50")
    assert found.returncode == 0, found.stderr
    assert {json.loads(line)["id"] for line in found.stdout.splitlines()} == state_media
