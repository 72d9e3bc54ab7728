"""Source labels in the archive: `label:` selects by the label stored with each article, the
label facet counts them, and articles stored before their source had a label get it from the
config, in the store and in the index."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

from crawler.article import Article
from crawler.search.backends import open_archive
from crawler.search.embedded import EmbeddedArchive, Fts5Search, default_index_path
from crawler.search.request import FACET_FIELDS, SearchRequest
from crawler.search.tantivy_index import TantivyIndex
from crawler.storage import Store
from crawler.storage.schema import MIGRATIONS, SCHEMA_VERSION
from tests.query.corpus import ARTICLES
from watchdesk.service.config import load_config

STATE_MEDIA = {a.id for a in ARTICLES if a.source in ("voa", "xinhua")}
# every label of the corpus and how many articles carry it (the blog's two carry none)
LABEL_COUNTS = Counter(a.label for a in ARTICLES if a.label)


def ids(archive: EmbeddedArchive | Fts5Search, request: SearchRequest) -> set[str]:
    request.limit = len(ARTICLES) + 5
    return {h.article.id for h in archive.search(request).hits}


def test_label_selects_the_state_media_sources_and_excludes_the_others(
    corpus_archive: EmbeddedArchive,
) -> None:
    assert len(STATE_MEDIA) == 9
    assert ids(corpus_archive, SearchRequest(query="label:state_media")) == STATE_MEDIA
    assert ids(corpus_archive, SearchRequest(labels=["state_media"])) == STATE_MEDIA
    others = ids(corpus_archive, SearchRequest(query="NOT label:state_media"))
    assert others == {a.id for a in ARTICLES} - STATE_MEDIA
    wire_or_official = ids(corpus_archive, SearchRequest(labels=["wire", "official"]))
    assert {corpus_archive.get_article(i).source for i in wire_or_official} == {  # type: ignore[union-attr]
        "reuters",
        "gov-press",
    }


def test_the_label_facet_counts_every_label_and_no_blank(corpus_archive: EmbeddedArchive) -> None:
    assert FACET_FIELDS[:2] == ("source", "label")
    result = corpus_archive.search(SearchRequest(facets=True, facet_size=20))
    assert dict(result.facets["label"]) == dict(LABEL_COUNTS)
    assert LABEL_COUNTS == {"local": 11, "state_media": 9, "outlet": 7, "wire": 1, "official": 1}
    assert [v for v, _ in result.facets["label"]][:2] == ["local", "state_media"]
    narrowed = corpus_archive.search(SearchRequest(query="language:zh", facets=True))
    assert dict(narrowed.facets["label"]) == {"state_media": 3, "outlet": 3}
    # the FTS5 baseline counts the same
    baseline = Fts5Search(corpus_archive.store).search(SearchRequest(facets=True, facet_size=20))
    assert dict(baseline.facets["label"]) == dict(LABEL_COUNTS)


def _unlabelled(n: int, source: str, label: str = "") -> Article:
    url = f"https://news.example/{n}"
    return Article(url=url, canonical_url=url, source=source, label=label, title=f"Story {n}")


def test_articles_stored_before_their_source_had_a_label_get_it(tmp_path: Path) -> None:
    (tmp_path / "watchdesk.yaml").write_text(
        "store: {path: w.db}\n"
        "sources:\n"
        "  - {name: voa, url: 'http://127.0.0.1:9/voa.xml', label: state_media}\n"
        "  - {name: ledger, url: 'http://127.0.0.1:9/ledger.xml'}\n",
        encoding="utf-8",
    )
    loaded = load_config(tmp_path / "watchdesk.yaml")
    with Store(loaded.store_path) as store:
        store.save_article(_unlabelled(1, "voa"))
        store.save_article(_unlabelled(2, "ledger"))
        store.save_article(_unlabelled(3, "gone"))  # a source no longer in the config
        store.save_article(_unlabelled(4, "voa", label="wire"))  # labelled when fetched
        before = EmbeddedArchive(store)
        assert before.search(SearchRequest(query="label:state_media")).total == 0
        before.close()
    archive = open_archive(loaded)
    try:
        hits = archive.search(SearchRequest(limit=10)).hits
        labels = {h.article.url.rsplit("/", 1)[1]: h.article.label for h in hits}
        assert labels == {"1": "state_media", "2": "", "3": "", "4": "wire"}
        # the index re-read the labelled row: search and facets see it
        found = archive.search(SearchRequest(query="label:state_media", facets=True))
        assert [h.article.url for h in found.hits] == ["https://news.example/1"]
        assert dict(found.facets["label"]) == {"state_media": 1}
    finally:
        archive.close()
    # a second opening finds nothing left to label
    with Store(loaded.store_path) as store:
        assert store.backfill_labels(loaded.config.source_labels()) == []


def test_the_service_leaves_labelling_to_the_embedded_index(tmp_path: Path) -> None:
    """The monitor starting first must not label rows behind the embedded index's back: the
    search that opens the index next labels them and re-reads them."""
    from watchdesk.service.monitor import Monitor

    (tmp_path / "watchdesk.yaml").write_text(
        "store: {path: w.db}\nalerts: {sink: jsonl, jsonl_path: a.jsonl}\n"
        "sources: [{name: voa, url: 'http://127.0.0.1:9/voa.xml', label: state_media}]\n",
        encoding="utf-8",
    )
    loaded = load_config(tmp_path / "watchdesk.yaml")
    with Store(loaded.store_path) as store:
        store.save_article(_unlabelled(1, "voa"))
        EmbeddedArchive(store).close()  # indexed without the label
    Monitor(loaded).close()
    archive = open_archive(loaded)
    try:
        assert archive.search(SearchRequest(query="label:state_media")).total == 1
    finally:
        archive.close()


def test_a_new_index_reads_the_labels_filled_in_before_it(tmp_path: Path) -> None:
    (tmp_path / "watchdesk.yaml").write_text(
        "store: {path: w.db}\n"
        "sources: [{name: voa, url: 'http://127.0.0.1:9/voa.xml', label: state_media}]\n",
        encoding="utf-8",
    )
    loaded = load_config(tmp_path / "watchdesk.yaml")
    with Store(loaded.store_path) as store:
        store.save_article(_unlabelled(1, "voa"))
    archive = open_archive(loaded)  # no index yet: built, then its entries labelled
    try:
        assert archive.search(SearchRequest(query="label:state_media")).total == 1
    finally:
        archive.close()


def test_while_another_process_writes_the_index_nothing_is_labelled(tmp_path: Path) -> None:
    """Labels change in the store only once the index holds them: with the index's write lock
    taken elsewhere, rows stay unlabelled (and entries agree with them) until a later opening."""
    store = Store(tmp_path / "w.db")
    store.save_article(_unlabelled(1, "voa"))
    archive = EmbeddedArchive(store)
    other = TantivyIndex(store, default_index_path(store))
    writer = other.index.writer(15_000_000, 1)  # the other process's lock
    try:
        assert archive.index.relabel({"voa": "state_media"}) == 0
        assert store.unlabelled_seqs({"voa": "state_media"}) == [1]
    finally:
        del writer
    assert archive.index.relabel({"voa": "state_media"}) == 1
    assert store.unlabelled_seqs({"voa": "state_media"}) == []
    assert archive.search(SearchRequest(query="label:state_media")).total == 1
    archive.close()


def test_a_store_of_schema_8_gains_the_label_column(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for version, script in enumerate(MIGRATIONS[:8], start=1):
        conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;")
    conn.execute(
        "INSERT INTO articles (id, canonical_url, url, source, fetched) VALUES (?,?,?,?,?)",
        ("a1", "https://news.example/1", "https://news.example/1", "voa", "2024-05-01T00:00:00"),
    )
    conn.commit()
    conn.close()
    with Store(path) as store:
        assert store.execute("PRAGMA user_version")[0][0] == SCHEMA_VERSION
        assert store.get_article("a1").label == ""  # type: ignore[union-attr]
        assert store.backfill_labels({"voa": "state_media"}) == [1]
        assert store.get_article("a1").label == "state_media"  # type: ignore[union-attr]
