"""A draft against the saved query (issue 18): the stories it gains, loses and keeps, counted
by story (two copies of a syndicated story are one), in `watchlist test NAME --query`, the web
page's draft box and `/api/backtest?base=`; real SQLite, the real CLI and the real web app."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from crawler.article import Article
from crawler.storage import Store
from tests.conftest import run_cli
from tests.web.conftest import running
from watchdesk.service.config import load_config
from watchdesk.web import create_app

SAVED = '"sister city"'
DRAFT = '"friendship city" OR ("sister city" AND Wuhan)'
# (story, source, title, text): s1 both match (kept), s2 only the saved query (lost), s3 only
# the draft (gained), two copies each of s1 and s3; s4 neither.
STORIES = [
    ("s1", "ledger", "Oxford renews ties", "The sister city pact with Wuhan was renewed."),
    ("s1", "wire", "Oxford renews ties (AP)", "The sister city pact with Wuhan was renewed."),
    ("s2", "ledger", "Columbus and Taichung", "A sister city visit to Taichung in Taiwan."),
    ("s3", "ledger", "Akron and Hangzhou", "A friendship city deal with Hangzhou was signed."),
    ("s3", "wire", "Akron and Hangzhou (AP)", "A friendship city deal with Hangzhou was signed."),
    ("s4", "ledger", "Budget vote", "The council voted on the budget."),
]


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("compare")
    (root / "watchdesk.yaml").write_text(
        "store: {path: store.db}\nwatchlists:\n"
        f"  - {{name: sisters, query: '{SAVED}', channel: '#s'}}\n",
        encoding="utf-8",
    )
    now = datetime.now(UTC).replace(microsecond=0)
    with Store(root / "store.db") as store:
        for i, (story, source, title, text) in enumerate(STORIES):
            url = f"https://{source}.example/{i}"
            store.save_article(
                Article(
                    url=url,
                    canonical_url=url,
                    source=source,
                    title=title,
                    text=text,
                    language="en",
                    published=now - timedelta(days=len(STORIES) - i),
                    fetched=now,
                    cluster_id=f"{story}-lead",
                )
            )
    return root / "watchdesk.yaml"


def test_the_cli_says_what_the_draft_gains_and_loses(config: Path) -> None:
    args = ["--config", str(config), "watchlist", "test", "sisters", "--query", DRAFT]
    text = run_cli(*args)
    assert text.returncode == 0, text.stderr
    assert (
        "vs saved 'sisters'" in text.stdout
        and "+1 gained, -1 lost, 1 kept (stories)" in text.stdout
    )
    gained = text.stdout.split("gained (1):")[1].split("lost (1):")[0]
    assert "Akron and Hangzhou" in gained and "Columbus" not in gained
    assert "Columbus and Taichung" in text.stdout.split("lost (1):")[1]

    doc = json.loads(run_cli(*args, "--json").stdout)
    compare = doc["compare"]
    assert (compare["gained"], compare["lost"], compare["kept"]) == (1, 1, 1)
    # the newest copy of the gained story, with the draft's terms
    assert [h["title"] for h in compare["gained_hits"]] == ["Akron and Hangzhou (AP)"]
    assert compare["gained_hits"][0]["terms"] == ['"friendship city"']
    assert [h["title"] for h in compare["lost_hits"]] == ["Columbus and Taichung"]
    # a draft alone (no saved query to compare with) has no comparison
    alone = json.loads(run_cli("--config", str(config), "watchlist", "test", "--query", DRAFT,
                               "--json").stdout)  # fmt: skip
    assert "compare" not in alone


def test_the_web_page_and_the_api_compare_the_draft(config: Path) -> None:
    with running(create_app(load_config(config))) as base, httpx.Client(base_url=base) as http:
        api = http.get("/api/backtest", params={"q": DRAFT, "base": "sisters"}).json()
        assert (api["compare"]["gained"], api["compare"]["lost"], api["compare"]["kept"]) == (
            1, 1, 1
        )  # fmt: skip
        assert "compare" not in http.get("/api/backtest", params={"q": DRAFT}).json()
        page = http.get("/watchlists", params={"draft": DRAFT, "base": "sisters"})
        assert page.status_code == 200
        compare = page.text.split('<div class="bt-compare">')[1].split("</div>")[0]
        assert "+1</strong> story gained" in compare and "1 kept" in compare
        gained = compare.split('<ul class="bt-gained">')[1].split("</ul>")[0]
        lost = compare.split('<ul class="bt-lost">')[1].split("</ul>")[0]
        assert "Akron and Hangzhou (AP)" in gained and "Columbus and Taichung" in lost
        assert "watchlist=sisters" in lost  # a lost story is explained by the saved watchlist
