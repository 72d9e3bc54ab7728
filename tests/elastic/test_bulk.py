"""Bulk writes read and routed right: the real client against a loopback server answering in
Elasticsearch's own response format (tests/elastic/replay.py), the store real SQLite.

- a document the cluster refuses for good (400 document_parsing_exception, ...) is recorded as
  rejected with its reason, shown by `index status`, and not sent again; one refused for a
  while (a blocked index) waits and is retried;
- an article already in an older index (after a rollover) is written there, not through the
  write alias into a second index, and a stray second copy is deleted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.config import ElasticsearchConfig
from crawler.search.elastic import ArchiveSync, ElasticsearchArchive
from crawler.storage import Store
from tests.conftest import run_cli
from tests.elastic.replay import Replay, Request, bulk_response, search_response
from tests.query.corpus import ARTICLES

READ, WRITE = "t-search", "t-articles"
OLD, NEW = "t-articles-000001", "t-articles-000002"
# the reasons as Elasticsearch 8.x/9.x words them
PARSE_ERROR = (
    400,
    "document_parsing_exception",
    "[1:4242] failed to parse field [published] of type [date] in document with id 'x'. "
    "Preview of field's value: '2024-13-45'",
)
IMMENSE = (
    400,
    "illegal_argument_exception",
    'Document contains at least one immense term in field="url" (whose UTF8 encoding is '
    "longer than the max length 32766), all of which were skipped.",
)
BLOCKED = (
    403,
    "cluster_block_exception",
    "index [t-articles-000001] blocked by: [FORBIDDEN/8/index write (api)];",
)


@pytest.fixture
def es() -> Iterator[Replay]:
    with Replay() as replay:
        # nothing is held anywhere unless a test says so
        replay.route("POST", f"/{READ}/_search", lambda req: (200, search_response([])))
        yield replay


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "var" / "watchdesk.db") as s:
        for article in ARTICLES:
            assert s.save_article(article)
        yield s


def archive(es: Replay) -> ElasticsearchArchive:
    cfg = ElasticsearchConfig(url=es.url, index_prefix="t")
    return ElasticsearchArchive.from_config(cfg, request_timeout=5.0, max_retries=0)


def sent_ids(es: Replay) -> list[str]:
    return [meta["_id"] for r in es.sent("PUT", "/_bulk") for _, meta, _ in r.bulk_actions()]


def test_a_document_refused_for_good_is_rejected_not_retried(es: Replay, store: Store) -> None:
    bad, immense, blocked = ARTICLES[1].id, ARTICLES[2].id, ARTICLES[3].id
    errors = {bad: PARSE_ERROR, immense: IMMENSE, blocked: BLOCKED}
    es.route("PUT", "/_bulk", lambda req: (200, bulk_response(req, errors)))
    sync = ArchiveSync(store, archive(es), batch=10)

    report = sync.sync()
    assert report.error is None
    assert report.indexed == len(ARTICLES) - 3
    assert {f.article_id: f.permanent for f in report.rejected} == {
        bad: True,
        immense: True,
        blocked: False,
    }
    rejected = {r.article_id: r for r in sync.state.rejected()}
    assert set(rejected) == {bad, immense}
    assert rejected[bad].status == 400
    assert rejected[bad].reason.startswith("document_parsing_exception: [1:4242] failed to parse")
    assert rejected[immense].reason.startswith("illegal_argument_exception: Document contains")
    assert [p.article_id for p in sync.state.pending()] == [blocked]
    assert report.backlog == 1  # the blocked one; the rejected ones will not be indexed

    # the next run retries the blocked article only, which the cluster now takes
    es.requests.clear()
    es.route("PUT", "/_bulk", lambda req: (200, bulk_response(req)))
    again = sync.sync()
    assert sent_ids(es) == [blocked]
    assert again.ok and again.retried == 1 and again.backlog == 0
    assert {r.article_id for r in sync.state.rejected()} == {bad, immense}
    sync.archive.close()


def test_index_status_shows_the_rejected_documents(
    es: Replay, store: Store, tmp_path: Path
) -> None:
    bad = ARTICLES[1].id
    es.route("PUT", "/_bulk", lambda req: (200, bulk_response(req, {bad: PARSE_ERROR})))
    sync = ArchiveSync(store, archive(es))
    assert not sync.sync().ok
    config = tmp_path / "watchdesk.yaml"
    config.write_text(
        f"store: {{path: var/watchdesk.db, elasticsearch: {{url: '{es.url}', index_prefix: t}}}}\n"
        "sources: []\n",
        encoding="utf-8",
    )
    status = run_cli("--config", str(config), "index", "status", "--json")
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["backlog"] == 0 and report["held"] == []
    assert report["rejected_count"] == 1
    (row,) = report["rejected"]
    assert row["id"] == bad and row["status"] == 400
    assert row["reason"].startswith("document_parsing_exception: [1:4242]")
    text = run_cli("--config", str(config), "index", "status")
    assert "1 rejected for good" in text.stdout
    assert f"rejected {bad}" in text.stdout and "document_parsing_exception" in text.stdout

    # once the cause is fixed, `index migrate --retry-rejected` queues it again
    es.requests.clear()
    es.route("PUT", "/_bulk", lambda req: (200, bulk_response(req)))
    assert sync.state.requeue_rejected() == 1
    report = sync.sync()
    assert sent_ids(es) == [bad]
    assert report.ok and report.retried == 1 and sync.state.rejected() == []
    sync.archive.close()


def test_an_article_in_an_older_index_is_written_there(es: Replay) -> None:
    resent, duplicated, fresh = ARTICLES[0], ARTICLES[1], ARTICLES[2]

    def holders(req: Request) -> tuple[int, dict[str, object]]:
        wanted = req.json()["query"]["ids"]["values"]
        hits = [
            {"_index": index, "_id": doc_id}
            for doc_id, index in [(resent.id, OLD), (duplicated.id, NEW), (duplicated.id, OLD)]
            if doc_id in wanted
        ]
        return 200, search_response(hits)

    es.route("POST", f"/{READ}/_search", holders)
    es.route("PUT", "/_bulk", lambda req: (200, bulk_response(req)))
    arch = archive(es)
    assert arch.locate([resent.id, duplicated.id, fresh.id]) == {
        resent.id: [OLD],
        duplicated.id: [OLD, NEW],
    }

    report = arch.bulk_index([(resent, 1), (duplicated, 2), (fresh, 3)])
    assert sorted(report.indexed) == sorted(a.id for a in (resent, duplicated, fresh))
    assert not report.failed
    (bulk,) = es.sent("PUT", "/_bulk")
    assert "require_alias" not in bulk.query  # per action: concrete indices are targets too
    actions = [(op, meta) for op, meta, _ in bulk.bulk_actions()]
    assert actions == [
        ("index", {"_index": OLD, "_id": resent.id}),
        ("index", {"_index": OLD, "_id": duplicated.id}),
        ("delete", {"_index": NEW, "_id": duplicated.id}),
        ("index", {"_index": WRITE, "_id": fresh.id, "require_alias": True}),
    ]
    # the lookups (the one above, the bulk's own) asked the read alias, by id, for no source
    search = es.sent("POST", f"/{READ}/_search")[-1]
    body = search.json()
    assert body["query"] == {"ids": {"values": [resent.id, duplicated.id, fresh.id]}}
    assert body["_source"] is False
    arch.close()


def test_no_read_alias_yet_means_everything_goes_through_the_write_alias(es: Replay) -> None:
    missing = {
        "error": {"type": "index_not_found_exception", "reason": f"no such index [{READ}]"},
        "status": 404,
    }
    es.route("POST", f"/{READ}/_search", lambda req: (404, missing))
    es.route("PUT", "/_bulk", lambda req: (200, bulk_response(req)))
    arch = archive(es)
    report = arch.bulk_index([(ARTICLES[0], 1)])
    assert report.indexed == [ARTICLES[0].id]
    (bulk,) = es.sent("PUT", "/_bulk")
    assert bulk.bulk_actions()[0][1] == {
        "_index": WRITE,
        "_id": ARTICLES[0].id,
        "require_alias": True,
    }
    arch.close()
