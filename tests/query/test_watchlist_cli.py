"""`watchdesk watchlist validate` warnings and `explain`'s note on boosts (issue 16), run as
real processes over a real store."""

from __future__ import annotations

from pathlib import Path

from crawler.storage import Store
from tests.conftest import run_cli
from tests.query.corpus import ARTICLES


def _config(tmp_path: Path, watchlists: str) -> Path:
    (tmp_path / "w.yaml").write_text(watchlists, encoding="utf-8")
    config = tmp_path / "c.yaml"
    config.write_text(
        "store: {path: var/watchdesk.db}\nsources: []\nwatchlists: w.yaml\n", encoding="utf-8"
    )
    return config


def test_validate_warns_about_a_space_next_to_or_and_stays_ok(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        "watchlists:\n"
        "  - name: plain\n    query: China\n"
        "  - name: ties\n    query: '\"sister city\" China OR Chinese'\n"
        "  - name: commas\n    query: 'china , taiwan'\n",
    )
    result = run_cli("--config", str(config), "watchlist", "validate")
    assert result.returncode == 0, result.stderr
    where = tmp_path / "w.yaml"
    assert f"{where}:5: watchlist 'ties': query: warning: a space (implicit AND) next to OR" in (
        result.stderr
    )
    assert '"sister city" AND (China OR Chinese)' in result.stderr
    assert f"{where}:7: watchlist 'commas': query: warning: ',' has no letters" in result.stderr
    assert "watchlist 'plain'" not in result.stderr


def test_validate_refuses_what_elasticsearch_reads_otherwise(tmp_path: Path) -> None:
    config = _config(
        tmp_path, "watchlists:\n  - name: mixed\n    query: 'china AND taiwan OR trade'\n"
    )
    result = run_cli("--config", str(config), "watchlist", "validate")
    assert result.returncode == 1
    assert "AND and OR mixed without parentheses" in result.stderr


def test_explain_says_boosts_only_rank(tmp_path: Path) -> None:
    config = _config(tmp_path, "watchlists:\n  - name: ties\n    query: 'sister^3 city'\n")
    with Store(tmp_path / "var" / "watchdesk.db") as store:
        store.save_article(ARTICLES[0])
    result = run_cli("--config", str(config), "watchlist", "explain", "ties", ARTICLES[0].id)
    assert result.returncode == 0, result.stderr
    assert "boosts (^) only rank search results; they never change what matches" in result.stdout
