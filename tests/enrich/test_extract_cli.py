"""`watchdesk extract` on plain text, on pages that cannot be fetched, and its entity ids:
the real CLI in a subprocess, pages from the loopback fixture site."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from demo.site import ARTICLES_DIR, FixtureServer
from tests.conftest import ROOT, run_cli
from tests.elastic.helpers import closed_port

SEED = ARTICLES_DIR / "mayors-delegation-heartland.txt"


def extract(
    tmp_path: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    if stdin is None:
        return run_cli("--config", str(tmp_path / "none.yaml"), "extract", *args)
    env = {k: v for k, v in os.environ.items() if k != "WATCHDESK_CONFIG"}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "watchdesk.cli", "--config", str(tmp_path / "none.yaml")]
        + ["extract", *args],
        input=stdin,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_plain_text_story_is_enriched(tmp_path: Path) -> None:
    result = extract(tmp_path, str(SEED), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    # the seed's header gives title, date and author; the paragraphs are the text
    assert data["title"] == "Chinese officials court American mayors as a delegation tours China"
    assert data["published"].startswith("2024-04-12T14:30")
    assert data["author"] == "Staff Reporter"
    assert data["extractor"] == "plain_text"
    assert data["text"].startswith("Ming Huang, executive director")
    assert data["text"].count("\n") >= 10  # one line per paragraph
    assert "person:zhou-zheng" not in {e["id"] for e in data["entities"]}  # not watched here
    assert "country:CN" in {e["id"] for e in data["entities"]}


def test_plain_text_on_stdin_with_a_title(tmp_path: Path) -> None:
    text = "Indianapolis and Hangzhou signed a sister city agreement <again> in Indiana.\n"
    result = extract(tmp_path, "-", "--title", "Indy & Hangzhou", "--json", stdin=text)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["title"] == "Indy & Hangzhou"
    assert data["text"] == text.strip()  # `<again>` is text, not a tag
    assert {"CN", "US"} <= set(data["countries"])


def test_http_errors_are_one_line_and_exit_1(tmp_path: Path, site: FixtureServer) -> None:
    missing = f"{site.base_url}/articles/no-such-story.html"
    result = extract(tmp_path, missing)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == f"error: {missing}: HTTP 404 Not Found"
    assert "Traceback" not in result.stderr
    down = f"http://127.0.0.1:{closed_port()}/story.html"
    result = extract(tmp_path, down)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: {down}: cannot fetch: ") and "refused" in last.lower()
    assert "Traceback" not in result.stderr


def test_a_page_with_nothing_in_it_exits_1(tmp_path: Path) -> None:
    empty = tmp_path / "empty.html"
    empty.write_text("<html><body></body></html>", encoding="utf-8")
    result = extract(tmp_path, str(empty))
    assert result.returncode == 1 and "no text found" in result.stderr


def test_entity_ids_are_printed_literally(tmp_path: Path, site: FixtureServer) -> None:
    result = extract(tmp_path, f"{site.base_url}/articles/mayors-delegation-heartland.html")
    assert result.returncode == 0, result.stderr
    # Rich read `[geonames:1791247]` as markup and printed nothing in its place
    assert "Wuhan (Hubei, CN) ×1  [geonames:1791247]" in result.stdout
    assert "[country:CN]" in result.stdout


def test_a_source_of_the_config_brings_its_label(tmp_path: Path) -> None:
    """`--source voa` previews the article as the crawler would store it from that source:
    with its label, so a `label:` watchlist matches as it would in the service."""
    config = tmp_path / "watchdesk.yaml"
    config.write_text(
        "sources:\n  - {name: voa, url: 'http://127.0.0.1:9/voa.xml', label: state_media}\n"
        "watchlists:\n"
        "  - {name: state-media, query: 'label:state_media AND mayors', channel: '#sm'}\n",
        encoding="utf-8",
    )
    labelled = run_cli("--config", str(config), "extract", str(SEED), "--source", "voa", "--json")
    assert labelled.returncode == 0, labelled.stderr
    data = json.loads(labelled.stdout)
    assert data["label"] == "state_media"
    assert [m["watchlist"] for m in data["watchlists"]] == ["state-media"]
    other = run_cli("--config", str(config), "extract", str(SEED), "--json")
    assert json.loads(other.stdout)["label"] == "" and not json.loads(other.stdout)["watchlists"]
