"""SMOKE TEST AGAINST AN EMULATOR, NOT ELASTICSEARCH: `noida-db` (PyPI, a local binary that
answers the Elasticsearch REST API) runs the client code path end to end: templates and aliases
installed, bulk through the write alias, searches with highlights and aggregations, parity on
the fixture corpus. It proves the requests are well-formed and the responses are read right; it
does not prove a real cluster accepts them (it has no ILM, and accepts things 8.x refuses).
The real suite is test_integration.py (WATCHDESK_TEST_ES_URL).
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from importlib.resources import files
from importlib.util import find_spec
from pathlib import Path

import pytest

from crawler.config import ElasticsearchConfig
from crawler.query import MatchDocument, compile_elasticsearch, evaluate, parse_query
from crawler.query.syntax import resolve_aliases
from crawler.search.elastic import ArchiveSync, ElasticsearchArchive
from crawler.search.request import SearchRequest
from crawler.storage import Store
from tests.elastic.helpers import closed_port
from tests.query.corpus import ARTICLES, resolve_alias
from tests.query.test_sqlite import PARITY_QUERIES

pytestmark = pytest.mark.skipif(
    find_spec("noida_db") is None, reason="emulator smoke test: noida-db is not installed"
)


@pytest.fixture(scope="module")
def emulator_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = Path(str(files("noida_db").joinpath("noida-db")))
    binary.chmod(0o755)
    port = closed_port()
    data = tmp_path_factory.mktemp("noida")
    proc = subprocess.Popen(
        [
            str(binary),
            "start",
            "--data-dir",
            str(data),
            "--host",
            "127.0.0.1",
            "--only",
            "elasticsearch",
            "--elasticsearch-port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                urllib.request.urlopen(url, timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.skip("emulator smoke test: noida-db did not start here")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def archive(emulator_url: str, tmp_path_factory: pytest.TempPathFactory) -> ElasticsearchArchive:
    cfg = ElasticsearchConfig(url=emulator_url, index_prefix="smoke", replicas=0)
    arch = ElasticsearchArchive.from_config(cfg, aliases=resolve_alias)
    changes = arch.setup(with_ilm=False)  # the emulator has no ILM API
    assert {c.action for c in changes} == {"created"}
    with Store(Path(tmp_path_factory.mktemp("store")) / "watchdesk.db") as store:
        for article in ARTICLES:
            store.save_article(article)
        report = ArchiveSync(store, arch, batch=7).sync()
    assert report.ok and report.indexed == len(ARTICLES) and report.backlog == 0
    arch.refresh()
    return arch


def test_emulator_setup_is_idempotent(archive: ElasticsearchArchive) -> None:
    assert {c.action for c in archive.setup(with_ilm=False)} == {"unchanged"}


def test_emulator_count_and_get(archive: ElasticsearchArchive) -> None:
    assert archive.count() == len(ARTICLES)
    got = archive.get_article(ARTICLES[3].id)
    assert got is not None and got.text == ARTICLES[3].text


@pytest.mark.parametrize("text", PARITY_QUERIES)
def test_emulator_parity(archive: ElasticsearchArchive, text: str) -> None:
    query = compile_elasticsearch(parse_query(text), aliases=resolve_alias)
    resp = archive.client.search(
        index=archive.names.read_alias, query=query, size=100, source=False
    )
    tree = resolve_aliases(parse_query(text), resolve_alias)
    want = {a.id for a in ARTICLES if evaluate(tree, MatchDocument.from_article(a))}
    assert {h["_id"] for h in resp["hits"]["hits"]} == want


def test_emulator_search_highlights_facets(archive: ElasticsearchArchive) -> None:
    request = SearchRequest(query='"sister city" OR 友好城市', facets=True, histogram=True)
    result = archive.search(request)
    assert result.total > 0 and result.hits
    # every hit says what matched; the snippet (cut from the text, as the embedded backend's)
    # is marked unless the match is in the title only
    assert all(h.highlights for h in result.hits)
    assert sum("[[" in h.snippet for h in result.hits) >= len(result.hits) - 1
    assert sum(n for _, n in result.facets["country"]) >= 1
    assert result.histogram and all(n > 0 for _, n in result.histogram)


@pytest.mark.parametrize("sort", ["title", "-title", "outlet", "domain"])
def test_emulator_column_sorts_order_the_hits(archive: ElasticsearchArchive, sort: str) -> None:
    from tests.search.test_parity import assert_column_order

    request = SearchRequest(query="city OR 城市", sort=sort, limit=100)  # type: ignore[arg-type]
    hits = archive.search(request).hits
    assert len(hits) > 5
    assert_column_order(hits, request)  # unsortable (empty) keys last, as on the embedded index
