"""`watchdesk index ...` in a real subprocess, with no cluster reachable."""

from __future__ import annotations

import json
from pathlib import Path

from crawler.storage import Store
from tests.conftest import run_cli
from tests.elastic.helpers import closed_port
from tests.query.corpus import ARTICLES


def write_config(tmp_path: Path, elasticsearch: str | None) -> Path:
    store = (
        "store: {path: var/watchdesk.db"
        + (f", elasticsearch: {elasticsearch}" if elasticsearch else "")
        + "}\n"
    )
    path = tmp_path / "watchdesk.yaml"
    path.write_text(store + "sources: []\n", encoding="utf-8")
    return path


def test_setup_without_elasticsearch_configured_names_the_file_and_key(tmp_path: Path) -> None:
    config = write_config(tmp_path, None)
    result = run_cli("--config", str(config), "index", "setup")
    assert result.returncode == 2
    assert str(config) in result.stderr and "store.elasticsearch" in result.stderr


def test_migrate_to_an_unreachable_cluster_fails_cleanly_and_keeps_its_place(
    tmp_path: Path,
) -> None:
    port = closed_port()
    config = write_config(tmp_path, f"{{url: 'http://127.0.0.1:{port}', index_prefix: t}}")
    with Store(tmp_path / "var" / "watchdesk.db") as store:
        for article in ARTICLES:
            store.save_article(article)
    env = {"WATCHDESK_ES_USERNAME": "elastic", "WATCHDESK_ES_PASSWORD": "s3cret-pass"}
    result = run_cli("--config", str(config), "index", "migrate", "--to", "elasticsearch", env=env)
    assert result.returncode == 1, result.stderr
    assert f"127.0.0.1:{port}" in result.stderr and "ConnectionError" in result.stderr
    assert "Traceback" not in result.stderr
    assert "s3cret-pass" not in result.stdout + result.stderr
    status = run_cli("--config", str(config), "index", "status", "--json", env=env)
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["watermark"] == 0 and report["backlog"] == len(ARTICLES)
    assert report["target"] == f"http://127.0.0.1:{port}/t-articles"


def test_migrate_only_knows_elasticsearch(tmp_path: Path) -> None:
    config = write_config(tmp_path, "{url: 'http://127.0.0.1:9'}")
    result = run_cli("--config", str(config), "index", "migrate", "--to", "solr")
    assert result.returncode == 2
    assert "solr" in result.stderr
