"""Store -> Elasticsearch sync without a cluster: an unreachable loopback port makes the real
client fail, and the watermark and held articles are checked in the real SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.article import Article
from crawler.config import ElasticsearchConfig
from crawler.search.elastic import (
    ArchiveSync,
    BulkFailure,
    ElasticsearchArchive,
    ElasticsearchSetupError,
    SyncState,
    credentials,
    redact_url,
)
from crawler.search.elastic.sync import sync_target
from crawler.storage import Store
from tests.elastic.helpers import closed_port
from tests.query.corpus import ARTICLES


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "watchdesk.db") as s:
        for article in ARTICLES:
            assert s.save_article(article)
        yield s


def unreachable_archive() -> ElasticsearchArchive:
    cfg = ElasticsearchConfig(url=f"http://127.0.0.1:{closed_port()}", index_prefix="t")
    return ElasticsearchArchive.from_config(cfg, request_timeout=2.0, max_retries=0)


def test_unreachable_cluster_loses_nothing(store: Store) -> None:
    archive = unreachable_archive()
    sync = ArchiveSync(store, archive, batch=10)
    for _ in range(3):  # every later cycle tries again from the same place
        report = sync.sync()
        assert report.error is not None and "ConnectionError" in report.error
        assert report.indexed == 0 and not report.ok
        assert report.watermark == 0
        assert report.backlog == len(ARTICLES)
    assert sync.state.pending() == []  # nothing was half-recorded as rejected
    archive.close()


def test_unreachable_cluster_while_retrying_held_articles(store: Store) -> None:
    archive = unreachable_archive()
    sync = ArchiveSync(store, archive, batch=10)
    seqs = [r["seq"] for r in store.execute("SELECT seq FROM articles ORDER BY seq LIMIT 2")]
    sync.state.hold([(seqs[0], BulkFailure("a", 403, "cluster_block_exception"))])
    sync.state.advance(seqs[1])
    report = sync.sync()
    assert report.error is not None
    (held,) = sync.state.pending()
    assert held.seq == seqs[0] and held.attempts == 1  # not counted: the cluster never answered
    assert report.watermark == seqs[1]
    assert report.backlog == len(ARTICLES) - 2 + 1
    archive.close()


def test_watermark_only_moves_forward_and_is_per_target(store: Store) -> None:
    state = SyncState(store, "http://a:9200/x-articles")
    other = SyncState(store, "http://b:9200/x-articles")
    assert state.watermark() == 0
    state.advance(5)
    state.advance(3)  # a late, smaller acknowledgement never moves it back
    assert state.watermark() == 5
    assert other.watermark() == 0
    assert state.backlog() == len(ARTICLES) - 5
    assert other.backlog() == len(ARTICLES)
    # the tables are created idempotently, the state survives reopening
    assert SyncState(store, "http://a:9200/x-articles").watermark() == 5


def test_held_articles_count_attempts_until_released(store: Store) -> None:
    state = SyncState(store, "t")
    state.advance(10)
    state.hold(
        [
            (4, BulkFailure("id4", 400, "mapper_parsing_exception: bad")),
            (7, BulkFailure("id7", 429, "es_rejected_execution_exception")),
        ]
    )
    state.hold([(4, BulkFailure("id4", 400, "mapper_parsing_exception: still bad"))])
    held = {p.seq: p for p in state.pending()}
    assert held[4].attempts == 2 and held[4].reason.endswith("still bad")
    assert held[7].attempts == 1 and held[7].status == 429
    assert state.backlog() == len(ARTICLES) - 10 + 2
    state.release([4])
    assert [p.seq for p in state.pending()] == [7]


def test_target_names_cluster_and_alias_without_credentials() -> None:
    cfg = ElasticsearchConfig(url="https://user:secret@es.example:9243", index_prefix="desk")
    archive = ElasticsearchArchive.from_config(cfg)
    assert sync_target(archive) == "https://es.example:9243/desk-articles"
    assert "secret" not in repr(archive)
    archive.close()


def test_credentials_from_the_environment() -> None:
    assert credentials({}) == {}
    assert credentials({"WATCHDESK_ES_API_KEY": "k1"}) == {"api_key": "k1"}
    both = {"WATCHDESK_ES_USERNAME": "u", "WATCHDESK_ES_PASSWORD": "p"}
    assert credentials(both) == {"basic_auth": ("u", "p")}
    assert credentials({**both, "WATCHDESK_ES_API_KEY": "k1"}) == {"api_key": "k1"}
    with pytest.raises(ElasticsearchSetupError) as info:
        credentials({"WATCHDESK_ES_PASSWORD": "hunter2"})
    assert "WATCHDESK_ES_USERNAME" in str(info.value) and "hunter2" not in str(info.value)


def test_redact_url() -> None:
    assert redact_url("https://u:p@h:9200/x") == "https://h:9200/x"
    assert redact_url("http://127.0.0.1:9200") == "http://127.0.0.1:9200"


def test_a_held_article_refused_for_good_leaves_the_retry_queue(store: Store) -> None:
    state = SyncState(store, "t")
    state.advance(10)
    state.hold([(4, BulkFailure("id4", 429, "es_rejected_execution_exception"))])
    state.hold([(4, BulkFailure("id4", 400, "document_parsing_exception: bad", permanent=True))])
    assert state.pending() == []
    (rejected,) = state.rejected()
    assert (rejected.seq, rejected.article_id, rejected.status) == (4, "id4", 400)
    assert state.rejected_count() == 1
    assert state.backlog() == len(ARTICLES) - 10  # not waiting: it will not be indexed
    assert SyncState(store, "other").rejected() == []


def test_rejected_articles_can_be_put_back_in_the_retry_queue(store: Store) -> None:
    state = SyncState(store, "t")
    state.hold([(4, BulkFailure("id4", 400, "document_parsing_exception: bad", permanent=True))])
    state.hold([(6, BulkFailure("id6", 400, "mapper_parsing_exception: bad", permanent=True))])
    assert state.requeue_rejected() == 2
    assert state.rejected() == []
    assert [(p.seq, p.attempts) for p in state.pending()] == [(4, 0), (6, 0)]
    assert state.requeue_rejected() == 0


def test_changed_articles_already_sent_are_sent_again(store: Store) -> None:
    """Labels filled in after an article was sent: it is held for the next sync, which retries
    it first; an article beyond the watermark goes anyway and is not held twice."""
    archive = unreachable_archive()
    sync = ArchiveSync(store, archive, batch=10)
    sync.state.advance(5)
    assert sync.resend([2, 4, 9], "label set from the config") == 2
    held = sync.state.pending()
    assert [(p.seq, p.status, p.reason) for p in held] == [
        (2, 0, "label set from the config"),
        (4, 0, "label set from the config"),
    ]
    assert [p.article_id for p in held] == [ARTICLES[1].id, ARTICLES[3].id]
    report = sync.sync()  # the cluster is down: still held, nothing lost
    assert report.error is not None and len(sync.state.pending()) == 2
    assert report.backlog == len(ARTICLES) - 5 + 2
    archive.close()


def test_the_monitor_labels_old_rows_and_resends_them(tmp_path: Path) -> None:
    from watchdesk.service.config import load_config
    from watchdesk.service.monitor import Monitor

    url = f"http://127.0.0.1:{closed_port()}"
    (tmp_path / "watchdesk.yaml").write_text(
        f"store: {{path: w.db, elasticsearch: {{url: '{url}', index_prefix: t}}}}\n"
        "alerts: {sink: jsonl, jsonl_path: a.jsonl}\n"
        "sources:\n  - {name: voa, url: 'http://127.0.0.1:9/voa.xml', label: state_media}\n",
        encoding="utf-8",
    )
    loaded = load_config(tmp_path / "watchdesk.yaml")
    voa = [a for a in ARTICLES if a.source == "voa"]
    with Store(loaded.store_path) as s:
        for article in ARTICLES:
            old = Article(url=article.url, canonical_url=article.canonical_url)
            old.source, old.title = article.source, article.title  # stored without a label
            s.save_article(old)
        sent = ArchiveSync(s, unreachable_archive())
        cfg = loaded.config.store.elasticsearch
        assert cfg is not None
        sent.state.target = sync_target(ElasticsearchArchive.from_config(cfg))
        sent.state.advance(len(ARTICLES))  # everything already in the cluster
    monitor = Monitor(loaded)
    try:
        labels = {monitor.store.get_article(v.id).label for v in voa}  # type: ignore[union-attr]
        assert labels == {"state_media"}
        held = monitor.index_sync.state.pending()
        assert sorted(p.article_id for p in held) == sorted(v.id for v in voa)
    finally:
        monitor.close()
