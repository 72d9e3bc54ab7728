from __future__ import annotations

from pathlib import Path

import pytest

from crawler.config import ConfigError, parse_interval
from watchdesk.service.config import load_config


def write(tmp_path: Path, text: str, name: str = "watchdesk.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_minimal_config_defaults(tmp_path: Path) -> None:
    loaded = load_config(write(tmp_path, "sources: []\n"))
    assert loaded.config.store.path == "var/watchdesk.db"
    assert loaded.store_path == tmp_path / "var/watchdesk.db"
    assert loaded.config.crawl.allow_private_addresses is False
    assert loaded.watchlists.watchlists == []


def test_unknown_key_names_key_and_line(tmp_path: Path) -> None:
    p = write(tmp_path, "store: {path: x.db}\ncrawl:\n  user_agent: x\n  obey_robot: false\n")
    with pytest.raises(ConfigError) as info:
        load_config(p)
    (problem,) = info.value.problems
    assert f"{p}:4:" in problem
    assert "crawl.obey_robot" in problem and "unknown key" in problem


def test_problems_are_worded_for_people_with_the_nearest_key(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "sourcs: []\n"
        "sources:\n"
        "  - {name: a, kind: rss, url: 'http://127.0.0.1:9/a', evry: 5m}\n"
        "alerts: {sink: slak}\n",
    )
    with pytest.raises(ConfigError) as info:
        load_config(p)
    problems = info.value.problems
    assert f"{p}:1: sourcs: unknown key (did you mean 'sources'?)" in problems
    assert f"{p}:3: sources.0.evry: unknown key (did you mean 'every'?)" in problems
    assert f"{p}:3: sources.0.kind: must be feed, sitemap or listing, not 'rss'" in problems
    assert any(x.startswith(f"{p}:4: alerts.sink: must be auto, slack,") for x in problems)
    assert not any("Input should" in x for x in problems), problems


def test_bad_source_fields(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "sources:\n"
        "  - {name: ok, url: 'https://example.com/feed'}\n"
        "  - name: bad\n"
        "    url: 'ftp://example.com/feed'\n"
        "    every: soon\n",
    )
    with pytest.raises(ConfigError) as info:
        load_config(p)
    text = str(info.value)
    assert f"{p}:4: sources.1.url" in text
    assert f"{p}:5: sources.1.every" in text


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    p = write(tmp_path, "sources:\n  - {name: x, url: 'https://a'\nstore: {}\n")
    with pytest.raises(ConfigError) as info:
        load_config(p)
    assert str(info.value).startswith(f"{p}:")


def test_watchlists_file_errors_name_file_line_and_watchlist(tmp_path: Path) -> None:
    write(
        tmp_path,
        "watchlists:\n"
        "  - name: good\n"
        "    query: '\"sister city\" AND China'\n"
        "  - name: broken\n"
        "    query: '(sister AND'\n"
        "  - name: Bad Name\n"
        "    query: ok\n"
        "    colour: red\n",
        "lists.yaml",
    )
    p = write(tmp_path, "watchlists: lists.yaml\n")
    with pytest.raises(ConfigError) as info:
        load_config(p)
    problems = info.value.problems
    wl = tmp_path / "lists.yaml"
    assert any(s.startswith(f"{wl}:5: watchlist 'broken': query: bad query") for s in problems), (
        problems
    )
    assert any(s.startswith(f"{wl}:6:") and "name" in s for s in problems), problems
    assert any(s.startswith(f"{wl}:8:") and "colour: unknown key" in s for s in problems), problems


def test_inline_watchlists_and_duplicates(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "watchlists:\n  - {name: a, query: China}\n  - {name: a, query: Taiwan}\n",
    )
    with pytest.raises(ConfigError) as info:
        load_config(p)
    assert f"{p}:3: watchlist 'a': name: duplicate" in str(info.value)


def test_duplicate_source_names(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "sources:\n  - {name: a, url: 'https://x/1'}\n  - {name: a, url: 'https://x/2'}\n",
    )
    with pytest.raises(ConfigError, match="duplicate source names: a"):
        load_config(p)


@pytest.mark.parametrize(
    ("text", "seconds"), [("15m", 900), ("2h", 7200), ("30s", 30), ("1d", 86400)]
)
def test_parse_interval(text: str, seconds: int) -> None:
    assert parse_interval(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "15", "m", "0m", "-1h", "3 weeks"])
def test_parse_interval_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_interval(text)
