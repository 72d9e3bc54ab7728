"""Fixtures: a real SQLite store holding the query corpus, and its embedded archive."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.search.embedded import EmbeddedArchive
from crawler.storage import Store
from tests.query.corpus import ARTICLES, resolve_alias


@pytest.fixture(scope="module")
def corpus_archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedArchive]:
    """The fixture corpus in a store on disk, searched through the embedded archive."""
    path = tmp_path_factory.mktemp("corpus") / "watchdesk.db"
    store = Store(path)
    for article in ARTICLES:
        assert store.save_article(article)
    archive = EmbeddedArchive(store, aliases=resolve_alias)
    yield archive
    archive.close()


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "var" / "watchdesk.db"
