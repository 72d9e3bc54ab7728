"""Saved searches (issue 18): a named query with its filters, kept in the watchlists file as a
watchlist with `delivery: none`, listed and run by name, never alerting.

The file edit keeps every comment and line the editor wrote; the no-alert rule is checked
through the real pipeline (`run --once` over the demo site, the JSON Lines sink, the store).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alerts.matcher import WatchlistMatcher
from alerts.saved_searches import SaveError, append_watchlist, saved_search_query
from alerts.watchlist import WatchlistError, load_watchlists, parse_watchlists
from crawler.storage import Store
from crawler.yamlfile import load_yaml_text
from demo.site import FixtureServer, rss_feed
from tests.conftest import run_cli
from tests.query.corpus import ARTICLES

ENTRY = {"name": "hubei", "query": "wuhan OR hubei", "languages": ["en"], "delivery": "none"}

COMMENTED = """\
# Our watchlists: the desk owns this file
watchlists:
  # sister cities, the core
  - name: sister-cities
    query: '"sister city" AND country:CN'   # keep it quoted
    channel: "#alerts"

  - {name: land, query: 'land AND bill', channel: "#land"}

# people we watch
entities:
  - {id: zhou-zheng, name: Zhou Zheng}
"""


def test_delivery_none_is_a_saved_search_that_never_matches() -> None:
    wls = parse_watchlists(
        [
            {"name": "live", "query": "wuhan"},
            {"name": "saved", "query": "wuhan", "delivery": "none"},
        ],
        "w.yaml",
    )
    saved = wls.by_name("saved")
    assert saved is not None and saved.is_saved_search and not saved.is_digest
    wuhan = next(a for a in ARTICLES if "Wuhan" in a.title)
    matched = [m.watchlist.name for m in WatchlistMatcher(wls.watchlists).match(wuhan)]
    assert matched == ["live"]
    why = WatchlistMatcher(wls.watchlists).explain("saved", wuhan)
    assert not why.matched and "saved search" in str(why)


def test_a_bad_delivery_names_none_among_the_choices() -> None:
    with pytest.raises(WatchlistError) as caught:
        parse_watchlists([{"name": "x", "query": "a", "delivery": "nope"}], "w.yaml")
    assert "must be instant, none (a saved search) or a digest" in str(caught.value)


def test_append_keeps_the_file_as_written(tmp_path: Path) -> None:
    path = tmp_path / "watchlists.yaml"
    path.write_text(COMMENTED, encoding="utf-8")
    added = append_watchlist(path, ENTRY, inline=False)
    assert added.is_saved_search and added.languages == ["en"]
    text = path.read_text(encoding="utf-8")
    # every line as it was, the new block after the last watchlist, before the comment that
    # introduces the entities
    assert text.replace(_block(text), "") == COMMENTED
    assert text.index("name: hubei") < text.index("# people we watch")
    assert text.index("name: land") < text.index("name: hubei")
    loaded = load_watchlists(path)
    assert [w.name for w in loaded.watchlists] == ["sister-cities", "land", "hubei"]
    assert [e.id for e in loaded.entities] == ["zhou-zheng"]


def _block(text: str) -> str:
    start = text.index("  - name: hubei")
    end = text.index("delivery: none\n", start) + len("delivery: none\n")
    return text[start:end]


@pytest.mark.parametrize(
    ("before", "inline"),
    [
        ("- {name: a, query: wuhan}\n", False),  # a bare list
        ("", False),  # an empty file
        ("entities: []\n", False),  # no watchlists yet
        ("store: {path: x.db}\nwatchlists: []  # none yet\nsources: []\n", True),
        ("store: {path: x.db}\nwatchlists:\n- name: a\n  query: wuhan\nsources: []\n", True),
        ("watchlists:\n    - name: a\n      query: wuhan\n", False),  # four-space indent
    ],
)
def test_append_to_every_shape_of_file(tmp_path: Path, before: str, inline: bool) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(before, encoding="utf-8")
    append_watchlist(path, ENTRY, inline=inline)
    data = load_yaml_text(path.read_text(encoding="utf-8"))
    part = {"watchlists": data["watchlists"]} if inline else data
    names = [w.name for w in parse_watchlists(part, str(path)).watchlists]
    assert names[-1] == "hubei" and len(names) == (2 if "name: a" in before else 1)
    if inline:  # the rest of the config is still there
        assert data["sources"] == [] and data["store"] == {"path": "x.db"}
    if "# none yet" in before:
        assert "# none yet" in path.read_text(encoding="utf-8")


def test_append_refuses_a_taken_name_a_flow_list_and_a_bad_entry(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(COMMENTED, encoding="utf-8")
    with pytest.raises(SaveError, match="'land' already exists"):
        append_watchlist(path, {**ENTRY, "name": "land"}, inline=False)
    with pytest.raises(SaveError, match="lowercase slug"):
        append_watchlist(path, {**ENTRY, "name": "Bad Name"}, inline=False)
    with pytest.raises(SaveError, match="bad query"):
        append_watchlist(path, {**ENTRY, "query": "wuhan AND (hubei"}, inline=False)
    assert path.read_text(encoding="utf-8") == COMMENTED  # nothing written
    flow = tmp_path / "flow.yaml"
    flow.write_text("watchlists: [{name: a, query: wuhan}]\n", encoding="utf-8")
    with pytest.raises(SaveError, match=r"flow.yaml:1: watchlists are written as a \[flow\]"):
        append_watchlist(flow, ENTRY, inline=False)


def test_the_saved_query_ands_the_filters() -> None:
    assert saved_search_query("wuhan", []) == "wuhan"
    got = saved_search_query("wuhan OR hubei", [("country", ["CN", "TW"]), ("event", ["mou"])])
    assert got == '(wuhan OR hubei) AND (country:"CN" OR country:"TW") AND event:"mou"'
    assert saved_search_query("", [("entity", ['say "hi"'])]) == 'entity:"say \\"hi\\""'
    assert saved_search_query("", []) == ""


# -- the commands ----------------------------------------------------------------------------


@pytest.fixture
def desk(tmp_path: Path) -> Path:
    (tmp_path / "watchlists.yaml").write_text(COMMENTED, encoding="utf-8")
    config = tmp_path / "watchdesk.yaml"
    config.write_text(
        "store: {path: var/watchdesk.db}\nsources: []\nwatchlists: watchlists.yaml\n",
        encoding="utf-8",
    )
    with Store(tmp_path / "var" / "watchdesk.db") as store:
        for article in ARTICLES:
            store.save_article(article)
    return config


SEARCH = ("search", "wuhan OR 武汉", "--country", "CN", "--min-relevance", "0.1")


def _cli(config: Path, *args: str) -> tuple[int, str, str]:
    proc = run_cli("--config", str(config), *args)
    return proc.returncode, proc.stdout, proc.stderr


def test_save_list_and_run_a_saved_search(desk: Path) -> None:
    code, _, err = _cli(
        desk,
        "search",
        "wuhan OR 武汉",
        "--country",
        "CN",
        "--min-relevance",
        "0.1",
        "--save",
        "wuhan-en",
    )
    assert code == 0, err
    assert "saved search 'wuhan-en' added" in " ".join(err.split())
    text = (desk.parent / "watchlists.yaml").read_text(encoding="utf-8")
    assert text.startswith(COMMENTED.split("\n# people")[0])  # the file's own lines first
    assert "# people we watch" in text and "delivery: none" in text

    code, out, err = _cli(desk, "watchlist", "list")
    assert code == 0, err
    assert "none (saved search)" in out and "2 watchlist(s), 1 saved search(es)" in out
    code, out, _ = _cli(desk, "watchlist", "list", "--saved", "--json")
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert row["name"] == "wuhan-en" and row["saved_search"] and row["delivery"] == "none"
    assert row["query"] == '(wuhan OR 武汉) AND country:"CN"' and row["min_relevance"] == 0.1

    code, saved_out, err = _cli(desk, "search", "--saved", "wuhan-en", "--json", "--copies")
    assert code == 0, err
    code, typed_out, _ = _cli(
        desk,
        "search",
        "wuhan OR 武汉",
        "--country",
        "CN",
        "--min-relevance",
        "0.1",
        "--json",
        "--copies",
    )
    saved_ids = [json.loads(line)["id"] for line in saved_out.splitlines()]
    assert saved_ids and saved_ids == [json.loads(line)["id"] for line in typed_out.splitlines()]
    # a query given beside --saved narrows it
    code, narrowed, _ = _cli(desk, "search", "--saved", "wuhan-en", "title:indiana", "--json")
    assert 0 < len(narrowed.splitlines()) < len(saved_ids)

    code, _, err = _cli(desk, "search", "x", "--save", "wuhan-en")
    assert code == 2 and "'wuhan-en' already exists" in " ".join(err.split())
    code, _, err = _cli(desk, "search", "--saved", "nosuch")
    assert code == 2 and "no watchlist named 'nosuch'; saved searches: wuhan-en" in err
    code, out, err = _cli(desk, "watchlist", "validate", "--strict")
    assert code == 0, err  # a saved search needs no channel: nothing to warn about


# -- never an alert, through the real pipeline -----------------------------------------------


def test_a_saved_search_never_alerts_in_the_running_pipeline(
    tmp_path: Path, site: FixtureServer
) -> None:
    chosen = [a for a in site.articles if a.slug == "mayors-delegation-heartland"]  # type: ignore[attr-defined]
    site.site.add("/feeds/one.xml", rss_feed(chosen, site.base_url))
    (tmp_path / "watchlists.yaml").write_text(
        """\
watchlists:
  - {name: live, query: 'mayor*', channel: "#desk"}
  - {name: saved, query: 'mayor*', delivery: none}
""",
        encoding="utf-8",
    )
    config = tmp_path / "watchdesk.yaml"
    config.write_text(
        f"""store: {{path: var/w.db}}
alerts: {{sink: jsonl, jsonl_path: alerts.jsonl, first_poll: alert, max_age: none}}
sources:
  - {{name: ledger, kind: feed, url: "{site.base_url}/feeds/one.xml", every: 15m}}
watchlists: watchlists.yaml
""",
        encoding="utf-8",
    )
    once = run_cli("--config", str(config), "run", "--once")
    assert once.returncode == 0, once.stderr
    sent = [
        json.loads(line)["alert"]["watchlist"]
        for line in (tmp_path / "alerts.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    assert sent == ["live"]  # the same query alerted for the watchlist, not the saved search
    with Store(tmp_path / "var" / "w.db") as store:
        assert {a.watchlist for a in store.list_alerts(limit=100)} == {"live"}
    found = run_cli("--config", str(config), "search", "--saved", "saved", "--json")
    assert found.returncode == 0, found.stderr
    assert len(found.stdout.splitlines()) == 1  # the article is stored and found by name
