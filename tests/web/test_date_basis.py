"""One date basis (issue 18): an article counts on the day it was published, or on the day it
was fetched when it has no date, in `watchdesk watchlist test`, the web page and the JSON API
alike. A fresh import (published over 60 days, every article fetched today) must not pile up
on "today" anywhere."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from crawler.article import Article
from crawler.storage import Store
from tests.conftest import run_cli
from tests.web.conftest import running
from watchdesk.service.config import load_config
from watchdesk.web import create_app

QUERY = '"sister city"'
DAYS = 60


def _import(folder: Path) -> tuple[Path, dict[str, int]]:
    """A store of articles published over DAYS days, all fetched now, plus one undated
    article; returns the config and the per-day counts every face must show."""
    (folder / "watchdesk.yaml").write_text(
        "store: {path: store.db}\nwatchlists:\n"
        f"  - {{name: sisters, query: '{QUERY}', channel: '#s'}}\n",
        encoding="utf-8",
    )
    now = datetime.now(UTC).replace(microsecond=0)
    want: dict[str, int] = {}
    with Store(folder / "store.db") as store:
        for i in range(DAYS):
            # whole days back from now: "an hour before" would be yesterday just after midnight
            published = now - timedelta(days=i)
            # two articles on every third day, so the counts are not all ones
            for copy in range(2 if i % 3 == 0 else 1):
                url = f"https://ledger.example/{i}-{copy}"
                store.save_article(
                    Article(
                        url=url,
                        canonical_url=url,
                        source="ledger",
                        title=f"Sister city news {i}-{copy}",
                        text=f"The sister city tie, day {i}, item {copy}.",
                        language="en",
                        published=published,
                        fetched=now,
                    )
                )
                day = published.date().isoformat()
                want[day] = want.get(day, 0) + 1
        undated = "https://ledger.example/undated"
        store.save_article(
            Article(
                url=undated,
                canonical_url=undated,
                source="ledger",
                title="Undated sister city note",
                text="A sister city note without a date.",
                language="en",
                fetched=now,
            )
        )
        today = now.date().isoformat()
        want[today] = want.get(today, 0) + 1
    return folder / "watchdesk.yaml", want


def test_cli_web_and_api_count_the_same_days(tmp_path: Path) -> None:
    config, want = _import(tmp_path)
    assert len(want) == DAYS and max(want.values()) == 3  # today: 2 dated + 1 undated

    # the CLI backtest, by its default basis
    tested = run_cli("--config", str(config), "watchlist", "test", "sisters", "--since", "90d")
    assert tested.returncode == 0, tested.stderr
    as_json = run_cli(
        "--config", str(config), "watchlist", "test", "sisters", "--since", "90d", "--json"
    )
    cli = {d["day"]: d["matches"] for d in json.loads(as_json.stdout)["days"] if d["matches"]}
    assert cli == want
    # `--since all` names the first day, not "the first article"
    every = run_cli("--config", str(config), "watchlist", "test", "sisters", "--since", "all")
    assert every.returncode == 0, every.stderr
    assert f"{min(want)} → " in every.stdout and "the first article" not in every.stdout
    # fetched stays available as an explicit option: then everything is today
    fetched = run_cli(
        "--config", str(config), "watchlist", "test", "sisters", "--by", "fetched", "--json"
    )
    by_fetch = [d for d in json.loads(fetched.stdout)["days"] if d["matches"]]
    assert [d["matches"] for d in by_fetch] == [sum(want.values())]

    with running(create_app(load_config(config))) as base, httpx.Client(base_url=base) as http:
        # the search page's histogram bars (one <title>day: n</title> per bar)
        page = http.get("/search", params={"q": QUERY})
        assert page.status_code == 200
        bars = re.findall(r"<title>(\d{4}-\d{2}-\d{2}): (\d+) stories</title>", page.text)
        assert {d: int(n) for d, n in bars if int(n)} == want
        # the API's search histogram and its backtest
        api = http.get("/api/search", params={"q": QUERY, "limit": 1}).json()
        assert {d: n for d, n in api["histogram"]} == want
        backtest = http.get("/api/backtest", params={"q": QUERY, "days": 90}).json()
        assert {d["day"]: d["matches"] for d in backtest["days"] if d["matches"]} == want
