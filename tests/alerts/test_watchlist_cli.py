"""`watchdesk watchlist test` and `watchdesk watchlist explain`, run as the real CLI in a
subprocess over a real SQLite store holding the fixture corpus."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.storage import Store
from tests.conftest import run_cli
from tests.query.corpus import ARTICLES

WATCHLISTS = """\
entities:
  - {id: zhou-zheng, name: Zhou Zheng, type: person, aliases: [周正]}
watchlists:
  - name: sister-cities
    query: '"sister city" OR "sister-city" OR 友好城市'
    channel: "#sister"
  - name: english-sister
    query: '"sister city"'
    languages: [en]
  - name: quiet
    query: Wuhan
    muted: true
"""


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    (root / "watchlists.yaml").write_text(WATCHLISTS, encoding="utf-8")
    path = root / "watchdesk.yaml"
    path.write_text("store: {path: var/wd.db}\nwatchlists: watchlists.yaml\n", encoding="utf-8")
    now = datetime.now(UTC)
    with Store(root / "var" / "wd.db") as store:
        for i, original in enumerate(ARTICLES):
            article = copy.deepcopy(original)
            article.fetched = now - timedelta(days=(i * 2) % 45, minutes=10)
            store.save_article(article)
        hostile = copy.deepcopy(ARTICLES[0])
        hostile.url = hostile.canonical_url = "https://hostile.example/1"
        hostile.title = "[bold red]sister city[/bold red] <!channel>\x1b[2J\x1b]0;pwned\x07"
        hostile.fetched = now - timedelta(minutes=1)
        store.save_article(hostile)
    return path


def wd(config: Path, *args: str) -> tuple[int, str, str]:
    proc = run_cli("--config", str(config), "watchlist", *args)
    return proc.returncode, proc.stdout, proc.stderr


def test_test_prints_alerts_and_counts_per_day(config: Path) -> None:
    code, out, err = wd(config, "test", "sister-cities", "--since", "30d", "--by", "fetched")
    assert code == 0, err
    assert "watchlist 'sister-cities'" in out
    assert "Indiana renews sister city ties with Wuhan" in out
    # one line per day of the window, zeros included: 31 dated lines for 30 days
    day_lines = [line for line in out.splitlines() if line.startswith("  20")]
    assert len(day_lines) == 31
    # untrusted markup is printed as written, not interpreted
    assert "[bold red]sister city[/bold red] <!channel>[2J]0;pwned" in out
    assert "\x1b" not in out and "\x07" not in out  # no terminal control sequences


def test_test_json_matches_the_archive(config: Path) -> None:
    code, out, err = wd(
        config, "test", "sister-cities", "--since", "30d", "--by", "fetched", "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["watchlist"] == "sister-cities" and not data["draft"]
    assert len(data["days"]) == 31
    assert sum(d["matches"] for d in data["days"]) == data["matches"] == len(data["hits"]) > 0
    titles = {h["title"] for h in data["hits"]}
    assert "Indiana renews sister city ties with Wuhan" in titles
    wide = json.loads(
        wd(config, "test", "sister-cities", "--since", "all", "--by", "fetched", "--json")[1]
    )
    assert wide["matches"] > data["matches"] and wide["start"] is None


def test_draft_query_and_borrowed_filters(config: Path) -> None:
    code, out, _ = wd(config, "test", "--query", "友好城市", "--since", "all", "--json")
    assert code == 0
    draft = json.loads(out)
    assert draft["draft"] and draft["matches"] >= 2
    code, out, _ = wd(
        config, "test", "english-sister", "--query", "友好城市", "--since", "all", "--json"
    )
    tuned = json.loads(out)
    assert code == 0 and tuned["draft"] and tuned["languages"] == ["en"]
    assert tuned["matches"] == 0  # the Chinese articles fail the borrowed language filter


def test_unknown_watchlist_lists_the_names(config: Path) -> None:
    code, _, err = wd(config, "test", "sister")
    assert code == 2
    assert "no watchlist named 'sister'" in err
    assert "sister-cities, english-sister, quiet" in err


def test_bad_query_points_at_the_position(config: Path) -> None:
    code, _, err = wd(config, "test", "--query", "sister AND (city OR")
    assert code == 2
    lines = err.splitlines()
    assert "'(' is never closed" in err and "position 11" in err
    query_line = next(i for i, line in enumerate(lines) if line.strip() == "sister AND (city OR")
    caret = lines[query_line + 1]
    assert caret.index("^") == lines[query_line].index("(")


@pytest.mark.parametrize("args", [["test"], ["test", "sister-cities", "--since", "soon"]])
def test_usage_errors(config: Path, args: list[str]) -> None:
    code, _, err = wd(config, *args)
    assert code == 2 and "error:" in err


def test_muted_watchlist_is_backtested_as_if_unmuted(config: Path) -> None:
    code, out, _ = wd(config, "test", "quiet", "--since", "all")
    assert code == 0 and "muted" in out and "Wuhan" in out


def test_explain_a_match_and_a_miss(config: Path) -> None:
    code, out, err = wd(config, "explain", "english-sister", "https://example.org/1")
    assert code == 0, err
    assert "watchlist 'english-sister': MATCH" in out
    assert "✓ language en in ['en']" in out
    assert "✓ \"sister city\" — found at title[15:26] 'sister city'" in out
    zh = next(a for a in ARTICLES if a.language == "zh" and "友好城市" in a.text)
    code, out, _ = wd(config, "explain", "english-sister", zh.id)
    assert code == 0
    assert "no match" in out and "✗ language zh in ['en']" in out


def test_explain_json_and_draft(config: Path) -> None:
    code, out, _ = wd(
        config, "explain", "--query", "Wuhan AND country:TW", "https://example.org/1", "--json"
    )
    assert code == 0
    data = json.loads(out)
    assert data["draft"] and data["matched"] is False
    wuhan, taiwan = data["tree"]["children"]
    assert wuhan["value"] and wuhan["hits"][0]["words"] == "Wuhan"
    assert not taiwan["value"]
    assert data["presearch"].startswith("skipped")


def test_explain_errors(config: Path) -> None:
    code, _, err = wd(config, "explain", "sister-cities", "https://nowhere.example/x")
    assert code == 1 and "no stored article" in err
    code, _, err = wd(config, "explain", "https://example.org/1")
    assert code == 2 and "NAME and URL_OR_ID" in err
    code, _, err = wd(config, "explain", "nope", "https://example.org/1")
    assert code == 2 and "sister-cities" in err
