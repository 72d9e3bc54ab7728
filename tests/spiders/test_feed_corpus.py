"""feedparser's own corpus of real and malformed feeds, served over loopback HTTP and polled by
the real crawler in one cycle: nothing crashes, and every feed's outcome is recorded."""

from __future__ import annotations

import json
import re
from pathlib import Path

import feedparser

from demo.site import FixtureServer
from tests.conftest import ROOT, run_cli, shared_corpus

CORPUS = ROOT.parent / "shared" / "corpora" / "feedparser" / "tests"


def corpus_files() -> list[Path]:
    return sorted(
        p
        for p in CORPUS.rglob("*")
        if p.is_file() and p.suffix in (".xml", ".rdf", ".atom", ".rss")
    )


def test_every_corpus_feed_is_polled_without_crashing(tmp_path: Path) -> None:
    shared_corpus("feedparser", "tests")
    files = corpus_files()
    assert len(files) > 1000
    with FixtureServer() as server:
        lines = [
            "store: {path: corpus.db}",
            "alerts: {sink: jsonl, jsonl_path: alerts.jsonl, first_poll: alert, max_age: none}",
            "sources:",
        ]
        names = {}
        for i, path in enumerate(files):
            rel = path.relative_to(CORPUS).as_posix()
            server.site.add(f"/{rel}", path.read_bytes(), content_type="application/xml")
            name = f"f{i:04d}-" + re.sub(r"[^A-Za-z0-9]+", "-", path.stem)[:40].strip("-")
            names[name] = rel
            lines.append(f'  - {{name: "{name}", kind: feed, url: "{server.base_url}/{rel}"}}')
        config = tmp_path / "corpus.yaml"
        config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        result = run_cli("--config", str(config), "-q", "run", "--once", timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        assert "Traceback" not in result.stderr, result.stderr[-3000:]
    status = json.loads(run_cli("--config", str(config), "status", "--json").stdout)
    by_name = {s["source"]: s for s in status["sources"]}
    assert set(by_name) == set(names)
    polled = [s for s in by_name.values() if s["last_attempt"]]
    ok = [s for s in polled if not s["consecutive_failures"]]
    entries = sum(s["items_24h"] for s in ok)
    print(
        f"feedparser corpus: {len(files)} files, {len(polled)} polled, {len(ok)} parsed as feeds, "
        f"{entries} linked entries recovered"
    )
    assert len(polled) == len(files)  # every feed's outcome recorded, none lost to a crash
    assert len(ok) >= 0.9 * len(files)
    # Most corpus files are single-element parser cases; only entries that carry a link are
    # articles. The crawler must recover every linked entry feedparser itself finds.
    linked = sum(
        1 for path in files for e in feedparser.parse(path.read_bytes()).entries if e.get("link")
    )
    assert entries >= 0.95 * linked, (entries, linked)
