"""Watchlists that validate but can never fire: `watchlist validate` warns about each, with the
file and line, in words, suggesting the nearest known value; `--strict` makes them fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.lint import Vocabulary, lint_watchlists
from alerts.watchlist import WatchlistError, load_watchlists
from crawler.yamlfile import load_yaml
from tests.conftest import run_cli

HEAD = """\
entities:
  - {id: zhou-zheng, name: Zhou Zheng, type: person, aliases: [周正]}
watchlists:
  - name: fine
    query: 'entity:zhou-zheng OR (entity:cpaffc AND country:CN AND region:hubei)'
    channel: "#fine"
    sources: [ledger]
    languages: [en, zh]
"""
# (the watchlist entry, added after HEAD at line 9, the line warned about, words in the warning)
CASES = [
    ("  - {name: w, query: 'entity:zhou-zhen'}\n", 9, ["entity:zhou-zhen", "'zhou-zheng'"]),
    ("  - name: w\n    query: China\n    sources: [ledgr]\n", 11, ["source 'ledgr'", "'ledger'"]),
    ("  - name: w\n    query: 'source:ledgre'\n", 10, ["source 'ledgre'", "'ledger'"]),
    ("  - name: w\n    query: China\n    languages: [english]\n", 11, ["language 'english'"]),
    ("  - name: w\n    query: 'language:zz'\n", 10, ["language 'zz'", "ISO 639-1"]),
    ("  - name: w\n    query: 'country:XX'\n", 10, ["country 'XX'", "ISO 3166"]),
    ("  - name: w\n    query: 'region:hubey'\n", 10, ["region 'hubey'", "'hubei'"]),
    # a label no source of the config carries: a typo, or a label of another config
    ("  - name: w\n    query: 'label:state-media'\n", 10, ["label 'state-media'", "'state_media'"]),
    ("  - name: w\n    query: 'China AND label:think_tank'\n", 10, ["label 'think_tank'"]),
    ("  - name: w\n    query: China\n    channel: Sister Cities\n", 11, ["'Sister Cities'", "#"]),
    ("  - name: w\n    query: China\n    channel: '#Sister Cities'\n", 11, ["channel"]),
]


def vocabulary() -> Vocabulary:
    known = {"person:zhou-zheng", "org:cpaffc"}
    names = {"zhou zheng": "person:zhou-zheng", "zhou-zheng": "person:zhou-zheng"}
    names |= {"cpaffc": "org:cpaffc"}
    return Vocabulary(
        sources={"ledger", "voa"},
        languages={"en", "zh", "de"},
        countries={"CN", "US", "TW"},
        regions={"hubei", "indiana"},
        entity_ids=lambda name: {names[name]} if name in names else set(),
        entity_keys=known,
        labels={"state_media", "wire"},
    )


def lint(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "watchlists.yaml"
    path.write_text(text, encoding="utf-8")
    return [
        str(w) for w in lint_watchlists(load_watchlists(path), vocabulary(), path, load_yaml(path))
    ]


def test_a_watchlist_that_can_match_has_no_warning(tmp_path: Path) -> None:
    assert lint(tmp_path, HEAD) == []


@pytest.mark.parametrize(("entry", "line", "words"), CASES)
def test_each_never_matching_value_is_a_warning_at_its_line(
    tmp_path: Path, entry: str, line: int, words: list[str]
) -> None:
    (warning,) = lint(tmp_path, HEAD + entry)
    assert warning.startswith(f"{tmp_path / 'watchlists.yaml'}:{line}: watchlist 'w': ")
    for word in words:
        assert word in warning
    assert "literal[" not in warning and "loc" not in warning


def test_a_label_a_source_carries_is_fine(tmp_path: Path) -> None:
    text = HEAD + "  - {name: a, query: 'sister AND label:(state_media OR WIRE)'}\n"
    assert lint(tmp_path, text) == []


def test_slack_channel_ids_and_names_are_fine(tmp_path: Path) -> None:
    text = HEAD + "  - {name: a, query: China, channel: C0123456789}\n"
    text += "  - {name: b, query: China, channel: '#state-laws_2'}\n"
    assert lint(tmp_path, text) == []


def test_schema_errors_are_in_words_with_did_you_mean(tmp_path: Path) -> None:
    path = tmp_path / "watchlists.yaml"
    path.write_text(
        "watchlists:\n"
        "  - {name: a, querry: China}\n"
        "  - {name: b, query: China, delivery: instnat}\n"
        "  - {name: c, query: China, delivery: {digest: '0 8 * * *', timzone: UTC}}\n",
        encoding="utf-8",
    )
    with pytest.raises(WatchlistError) as caught:
        load_watchlists(path)
    problems = [str(p) for p in caught.value.problems]
    assert problems == [
        f"{path}:2: watchlist 'a': query: missing: every entry needs one",
        f"{path}:2: watchlist 'a': querry: unknown key (did you mean 'query'?)",
        f"{path}:3: watchlist 'b': delivery: must be instant, none (a saved search) or a "
        "digest such as {digest: '0 8 * * *'}, not 'instnat'",
        f"{path}:4: watchlist 'c': delivery.timzone: unknown key (did you mean 'timezone'?)",
    ]


def test_validate_warns_and_strict_fails(tmp_path: Path) -> None:
    second = CASES[6][0].replace("name: w", "name: w2")
    (tmp_path / "watchlists.yaml").write_text(HEAD + CASES[0][0] + second, encoding="utf-8")
    config = tmp_path / "watchdesk.yaml"
    config.write_text(
        "sources:\n  - {name: ledger, kind: feed, url: 'http://127.0.0.1:9/f.xml'}\n"
        "  - {name: voa, url: 'http://127.0.0.1:9/voa.xml', label: state_media}\n"
        "  - {name: ap, url: 'http://127.0.0.1:9/ap.xml', label: wire}\n"
        "watchlists: watchlists.yaml\n",
        encoding="utf-8",
    )
    plain = run_cli("--config", str(config), "watchlist", "validate")
    assert plain.returncode == 0, plain.stderr
    warnings = [line for line in plain.stderr.splitlines() if line.startswith("warning: ")]
    where = tmp_path / "watchlists.yaml"
    assert len(warnings) == 2
    assert warnings[0].startswith(f"warning: {where}:9: watchlist 'w': entity:zhou-zhen")
    # the real gazetteer knows Hubei, so the typo gets its suggestion
    assert warnings[1].startswith(f"warning: {where}:11: watchlist 'w2': region 'hubey'")
    assert "'hubei'" in warnings[1]
    strict = run_cli("--config", str(config), "watchlist", "validate", "--strict")
    assert strict.returncode == 1
    # a label: the config's sources' labels are what `label:` can match
    (tmp_path / "watchlists.yaml").write_text(
        HEAD + "  - name: w3\n    query: 'label:stat_media OR label:wire'\n", encoding="utf-8"
    )
    labelled = run_cli("--config", str(config), "watchlist", "validate")
    (warning,) = [line for line in labelled.stderr.splitlines() if line.startswith("warning: ")]
    assert warning == (
        f"warning: {where}:10: watchlist 'w3': label 'stat_media' is not the label of a source "
        "of the config, so this can never match (did you mean 'state_media'?)"
    )
    (tmp_path / "watchlists.yaml").write_text(HEAD, encoding="utf-8")
    clean = run_cli("--config", str(config), "watchlist", "validate", "--strict")
    assert clean.returncode == 0 and clean.stdout.startswith("ok: "), clean.stderr
