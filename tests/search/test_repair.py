"""SQLite is the truth: the side index is repaired from it, whatever happened in between."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from crawler.article import Article
from crawler.search.embedded import EmbeddedArchive, default_index_path
from crawler.search.request import SearchRequest
from crawler.search.tantivy_index import STATE_FILE, TantivyIndex
from crawler.storage import Store
from tests.conftest import ROOT


def article(n: int) -> Article:
    url = f"https://example.org/story/{n}"
    return Article(url=url, canonical_url=url, title=f"Sister city story {n}", text="Delegation.")


def ids(archive: EmbeddedArchive, query: str = '"sister city"') -> list[str]:
    result = archive.search(SearchRequest(query=query, limit=1000))
    found = [h.article.id for h in result.hits]
    assert result.total == len(found)
    return found


def fill(path: Path, numbers: range) -> None:
    with Store(path) as store:
        for n in numbers:
            store.save_article(article(n))


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_crash_after_index_commit_before_watermark(store_path: Path) -> None:
    fill(store_path, range(10))
    # a real process dies right after the index commit, before the watermark is written
    proc = run_python(
        f"""
        import os
        from crawler.search.tantivy_index import TantivyIndex
        from crawler.search.embedded import EmbeddedArchive
        from crawler.storage import Store
        TantivyIndex._write_state = lambda self: os._exit(9)
        EmbeddedArchive(Store({str(store_path)!r}))
        """
    )
    assert proc.returncode == 9, proc.stderr
    index_dir = default_index_path(Store(store_path))
    assert index_dir is not None and not (index_dir / STATE_FILE).exists()
    archive = EmbeddedArchive(Store(store_path))
    found = ids(archive)
    assert len(found) == len(set(found)) == 10  # re-indexed, no duplicates
    assert archive.index.watermark == 10


def test_crash_between_sqlite_and_index_loses_nothing(store_path: Path) -> None:
    fill(store_path, range(5))
    EmbeddedArchive(Store(store_path)).close()
    # articles committed to SQLite by a process that died before touching the index
    proc = run_python(
        f"""
        import os
        from crawler.storage import Store
        from crawler.article import Article
        store = Store({str(store_path)!r})
        for n in range(5, 8):
            url = f"https://example.org/story/{{n}}"
            store.save_article(Article(url=url, canonical_url=url, title=f"Sister city {{n}}"))
        os._exit(9)
        """
    )
    assert proc.returncode == 9, proc.stderr
    archive = EmbeddedArchive(Store(store_path))
    assert len(ids(archive)) == 8


def test_stale_watermark_reindexes_without_duplicates(store_path: Path) -> None:
    fill(store_path, range(6))
    archive = EmbeddedArchive(Store(store_path))
    state = archive.index.path / STATE_FILE  # type: ignore[operator]
    archive.close()
    state.write_text(json.dumps({"version": 1, "watermark": 2}))
    archive = EmbeddedArchive(Store(store_path))
    assert len(ids(archive)) == 6
    assert archive.index.count() == 6


def test_lost_index_is_rebuilt(store_path: Path) -> None:
    fill(store_path, range(4))
    archive = EmbeddedArchive(Store(store_path))
    index_dir = archive.index.path
    archive.close()
    assert index_dir is not None
    shutil.rmtree(index_dir)
    assert len(ids(EmbeddedArchive(Store(store_path)))) == 4


def test_rows_deleted_behind_the_index_trigger_a_rebuild(store_path: Path) -> None:
    fill(store_path, range(4))
    EmbeddedArchive(Store(store_path)).close()
    with Store(store_path) as store:
        gone = store.execute("SELECT id FROM articles ORDER BY seq LIMIT 1")[0]["id"]
        store.delete_articles([gone])
    archive = EmbeddedArchive(Store(store_path))
    found = ids(archive)
    assert gone not in found and len(found) == 3
    assert archive.index.count() == 3


def test_corrupt_state_file_rebuilds(store_path: Path) -> None:
    fill(store_path, range(3))
    archive = EmbeddedArchive(Store(store_path))
    state = archive.index.path / STATE_FILE  # type: ignore[operator]
    archive.close()
    state.write_text("{not json")
    assert len(ids(EmbeddedArchive(Store(store_path)))) == 3


def test_busy_index_still_answers(store_path: Path) -> None:
    fill(store_path, range(3))
    store = Store(store_path)
    first = EmbeddedArchive(store)
    holder = TantivyIndex(store, first.index.path)
    writer = holder.index.writer(15_000_000, 1)  # another writer holds the lock
    try:
        store.save_article(article(99))
        # cannot index the new article now, but searching what is committed still works
        assert len(ids(first)) == 3
    finally:
        del writer
    assert len(ids(first)) == 4


def test_live_archive_reconciles_rows_deleted_behind_it(store_path: Path) -> None:
    fill(store_path, range(5))
    archive = EmbeddedArchive(Store(store_path))
    assert len(ids(archive)) == 5
    # retention, in another connection, deletes rows without telling the index
    with Store(store_path) as other:
        gone = [r["id"] for r in other.execute("SELECT id FROM articles ORDER BY seq LIMIT 2")]
        other.delete_articles(gone)
    archive.index.sync(reconcile=True)  # what every search does once a minute
    found = ids(archive)
    assert len(found) == 3 and not set(gone) & set(found)
    assert archive.index.count() == 3


def test_entries_missing_below_the_watermark_are_restored(store_path: Path) -> None:
    fill(store_path, range(4))
    archive = EmbeddedArchive(Store(store_path))
    writer = archive.index.index.writer(15_000_000, 1)
    writer.delete_documents_by_term("seq", 2)
    writer.commit()
    del writer
    archive.close()
    assert len(ids(EmbeddedArchive(Store(store_path)))) == 4
