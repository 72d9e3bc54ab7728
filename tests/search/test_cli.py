"""`watchdesk search` run as a real process over a real store."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from crawler.article import Article
from crawler.search.request import sort_key
from crawler.storage import Store
from tests.conftest import run_cli
from tests.query.corpus import ARTICLES
from watchdesk.cli.search import parse_day

NOW = datetime.now(UTC)
HOSTILE = [
    Article(
        url="https://evil.example/1",
        canonical_url="https://evil.example/1",
        source="+evilsource",
        title='=HYPERLINK("http://evil.example","sister city deal")',
        text="-2+3 sister city [bold]not markup[/bold] @SUM(A1)",
        published=NOW - timedelta(days=3),
        language="en",
        relevance=0.7,
    ),
    Article(
        url="https://evil.example/2",
        canonical_url="https://evil.example/2",
        source="tabby",
        title="\tsister city with a tab",
        text="\rcarriage return sister city",
        published=NOW - timedelta(days=40),
        language="en",
    ),
]


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    (root / "watchdesk.yaml").write_text(
        "store: {path: var/watchdesk.db}\nsources: []\nwatchlists: []\n", encoding="utf-8"
    )
    with Store(root / "var" / "watchdesk.db") as store:
        for a in [*ARTICLES, *HOSTILE]:
            store.save_article(a)
    return root / "watchdesk.yaml"


def search(config: Path, *args: str) -> tuple[int, str, str]:
    proc = run_cli("--config", str(config), "search", *args)
    return proc.returncode, proc.stdout, proc.stderr


def json_lines(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_table_shows_title_source_date_and_count(config: Path) -> None:
    code, out, err = search(config, '"sister city" AND country:CN', "--limit", "2")
    assert code == 0, err
    assert "sister" in out.lower() and "page 1 of" in out
    assert "2024-" in out


def test_table_prints_crawled_markup_literally(config: Path) -> None:
    code, out, err = search(config, "markup")
    assert code == 0, err
    assert "[bold]not" in out  # shown as written, not interpreted


def test_json_lines_carry_highlights_and_enrichment(config: Path) -> None:
    code, out, err = search(config, "wuhan", "--json", "--limit", "50")
    assert code == 0, err
    rows = json_lines(out)
    assert rows
    for row in rows:
        assert {"id", "url", "title", "source", "published", "score", "snippet"} <= set(row)
        assert {"highlights", "entities", "countries", "events", "relevance"} <= set(row)
        assert "[[" in str(row["snippet"]) + str(row.get("title_highlighted", ""))


def test_filters_are_anded(config: Path) -> None:
    code, out, _ = search(config, "", "--json", "--country", "CN", "--event", "delegation")
    rows = json_lines(out)
    assert code == 0 and rows
    assert all("delegation" in r["events"] for r in rows)  # type: ignore[operator]
    code, out, _ = search(config, "", "--json", "--source", "voa", "--source", "xinhua")
    assert {r["source"] for r in json_lines(out)} == {"voa", "xinhua"}
    code, out, _ = search(config, "", "--json", "--language", "zh", "--min-relevance", "0.9")
    rows = json_lines(out)
    assert rows and all(r["language"] == "zh" and r["relevance"] >= 0.9 for r in rows)  # type: ignore[operator]


def test_entity_and_region_filters(config: Path) -> None:
    code, out, _ = search(config, "", "--json", "--entity", "org:cpaffc", "--region", "Hubei")
    rows = json_lines(out)
    assert code == 0 and rows
    for r in rows:
        ids = {e["id"] for e in r["entities"]}  # type: ignore[attr-defined,index]
        assert "org:cpaffc" in ids


def test_relative_and_absolute_dates(config: Path) -> None:
    code, out, _ = search(config, "sister", "--json", "--since", "30d")
    assert code == 0
    assert [r["url"] for r in json_lines(out)] == ["https://evil.example/1"]
    code, out, _ = search(config, "", "--json", "--since", "2024-05-01", "--until", "2024-05-02")
    days = {str(r["published"])[:10] for r in json_lines(out)}
    assert days and days <= {"2024-05-01", "2024-05-02"}


def test_sort_by_date_and_pages(config: Path) -> None:
    code, out, _ = search(config, "", "--json", "--sort", "date", "--limit", "3", "--page", "2")
    rows = json_lines(out)
    assert code == 0 and len(rows) == 3
    dates = [str(r["published"]) for r in rows]
    assert dates == sorted(dates, reverse=True)
    code, first, _ = search(config, "", "--json", "--sort", "date", "--limit", "3")
    assert not {r["id"] for r in json_lines(first)} & {r["id"] for r in rows}


def test_csv_export_defuses_formulas(config: Path) -> None:
    code, out, err = search(config, '"sister city"', "--csv", "--limit", "100")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) >= 3
    evil = next(r for r in rows if r["url"] == "https://evil.example/1")
    assert evil["title"].startswith("'=HYPERLINK")
    assert evil["source"] == "'+evilsource"
    assert evil["snippet"].startswith("'-2+3")
    tab = next(r for r in rows if r["url"] == "https://evil.example/2")
    assert tab["title"].startswith("'\t")
    assert tab["snippet"].startswith("carriage")  # snippets drop leading whitespace anyway
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), row
    # the article body and its canonical URL, as the web export writes them
    assert evil["text"] == "'-2+3 sister city [bold]not markup[/bold] @SUM(A1)"
    assert evil["canonical_url"] == "https://evil.example/1"


def test_columns_choose_the_table_and_sort_takes_a_direction(config: Path) -> None:
    code, out, err = search(
        config, '"sister city"', "--columns", "title,relevance", "--sort", "-title", "-n", "50"
    )
    assert code == 0, err
    header = next(line for line in out.splitlines() if "title" in line and "relevance" in line)
    assert "snippet" not in header and "source" not in header
    assert "0.70" in out  # the hostile article's relevance, in its column
    code, out, err = search(config, '"sister city"', "--sort", "-title", "--json", "-n", "50")
    assert code == 0, err
    keys = [sort_key(str(hit["title"])) for hit in json_lines(out)]
    assert len(keys) > 3 and keys == sorted(keys, reverse=True)
    code, _, err = search(config, "city", "--columns", "title,colour")
    assert code == 2 and "no column colour" in err


def test_facets_table(config: Path) -> None:
    code, out, err = search(config, "event:sister_city", "--facets", "--limit", "1")
    assert code == 0, err
    for name in ("source", "label", "language", "event", "country", "region", "entity"):
        assert f"\n{name}\n" in out
    assert "Hubei (geonames:1806949)" in out


def test_label_filter_and_facet(config: Path) -> None:
    code, out, err = search(config, "--label", "state_media", "--json", "--limit", "50")
    assert code == 0, err
    rows = json_lines(out)
    assert len(rows) == 9 and {r["source"] for r in rows} == {"voa", "xinhua"}
    assert {r["label"] for r in rows} == {"state_media"}
    assert json_lines(search(config, "label:state_media", "--json", "--limit", "50")[1]) == rows
    code, out, err = search(config, "language:zh", "--facets", "--limit", "1")
    assert code == 0, err
    facet = out.split("\nlabel\n", 1)[1].split("\nlanguage\n", 1)[0]
    assert [line.split() for line in facet.splitlines()] == [
        ["outlet", "3"],
        ["state", "media", "(state_media)", "3"],
    ]


def test_facets_with_json_end_with_a_summary(config: Path) -> None:
    code, out, _ = search(config, "event:sister_city", "--facets", "--json")
    rows = json_lines(out)
    summary = rows[-1]
    want = {"total", "articles", "unit", "facets", "facet_labels", "facet_sample"}
    assert code == 0 and set(summary) == want
    assert summary["unit"] == "stories"
    assert summary["facet_sample"] == 1.0  # a handful of matches: counted exactly
    assert summary["total"] == len(rows) - 1
    assert dict(summary["facets"]["event"])["sister_city"] == summary["total"]  # type: ignore[index]


def test_bad_query_exits_2_with_caret(config: Path) -> None:
    code, out, err = search(config, "sister AND (city")
    assert code == 2 and out == ""
    lines = err.splitlines()
    query_line = next(i for i, line in enumerate(lines) if line.strip() == "sister AND (city")
    caret = lines[query_line + 1]
    assert caret.index("^") == lines[query_line].index("(")


@pytest.mark.parametrize(
    "args",
    [
        ("city", "--sort", "newest"),
        ("city", "--since", "last tuesday"),
        ("city", "--json", "--csv"),
        ("city", "--csv", "--facets"),
        ("city", "--limit", "0"),
    ],
)
def test_bad_usage_exits_2(config: Path, args: tuple[str, ...]) -> None:
    code, _, err = search(config, *args)
    assert code == 2, err
    assert err.strip()


def test_no_results_is_not_an_error(config: Path) -> None:
    code, _, err = search(config, "zzzznothing")
    assert code == 0 and "no articles found" in err


def test_parse_day_forms() -> None:
    today = date(2024, 6, 30)
    assert parse_day("30d", "--since", today) == date(2024, 5, 31)
    assert parse_day("2w", "--since", today) == date(2024, 6, 16)
    assert parse_day("1y", "--since", today) == date(2023, 7, 1)
    assert parse_day("yesterday", "--since", today) == date(2024, 6, 29)
    assert parse_day("2024-01-02", "--since", today) == date(2024, 1, 2)


# -- queries that look like options, warnings, the reference (issue 16) -----------------------


def test_a_query_starting_with_minus_needs_no_double_dash(config: Path) -> None:
    code, stdout, stderr = search(config, "-taiwan", "--json", "--limit", "100")
    assert code == 0, stderr
    plain = json_lines(stdout)
    code, stdout, _ = search(config, "--json", "--limit", "100", "--", "-taiwan")
    assert code == 0 and plain == json_lines(stdout)
    assert plain and all(
        "taiwan" not in (str(h["title"]) + str(h["snippet"])).lower() for h in plain
    )


def test_options_after_a_minus_query_still_count(config: Path) -> None:
    code, stdout, stderr = search(config, "-taiwan", "--limit", "1", "--json")
    assert code == 0, stderr
    assert len(json_lines(stdout)) == 1


def test_ignored_punctuation_is_a_warning_not_an_error(config: Path) -> None:
    code, _, stderr = search(config, "sister , city", "--json")
    assert code == 0
    assert "warning: ',' has no letters or digits: ignored" in stderr


def test_mixed_and_or_is_refused_with_both_readings(config: Path) -> None:
    code, _, stderr = search(config, "china AND taiwan OR trade")
    assert code == 2
    assert "(china AND taiwan) OR trade" in stderr and "+china taiwan trade" in stderr


def test_help_points_at_the_query_reference(config: Path) -> None:
    proc = run_cli("--config", str(config), "search", "--help")
    assert proc.returncode == 0
    assert "docs/queries.md" in proc.stdout
