"""`store: {url: postgresql://…}` and WATCHDESK_DB_URL: which store a config opens, and that
its password is never shown (issue 15)."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from crawler.config import ConfigError
from crawler.storage import Store
from crawler.storage.engine import DB_URL_ENV, masked_url
from crawler.storage.schema import SCHEMA_VERSION
from watchdesk.service.config import load_config


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "watchdesk.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_store_url_must_be_postgres_and_is_not_echoed(tmp_path: Path) -> None:
    p = write(tmp_path, "sources: []\nstore:\n  url: 'mysql://u:s3cret@db/w'\n")
    with pytest.raises(ConfigError) as info:
        load_config(p)
    (problem,) = info.value.problems
    assert f"{p}:3:" in problem and "store.url" in problem and "postgresql://" in problem
    assert "s3cret" not in problem


def test_the_url_comes_from_the_config_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DB_URL_ENV, raising=False)
    loaded = load_config(write(tmp_path, "sources: []\nstore: {url: 'postgresql://db/w'}\n"))
    assert loaded.store_path == "postgresql://db/w"
    monkeypatch.setenv(DB_URL_ENV, "postgresql://desk:s3cret@db.internal:5433/w")
    assert loaded.store_path == "postgresql://desk:s3cret@db.internal:5433/w"  # the env wins
    plain = load_config(write(tmp_path, "sources: []\n"))
    assert plain.store_path == "postgresql://desk:s3cret@db.internal:5433/w"
    monkeypatch.setenv(DB_URL_ENV, "sqlite:///x.db")
    with pytest.raises(ConfigError, match=f"{DB_URL_ENV}: must be a postgresql:// URL"):
        _ = plain.store_path
    monkeypatch.delenv(DB_URL_ENV)
    assert plain.store_path == tmp_path / "var/watchdesk.db"


def test_masked_url() -> None:
    assert masked_url("postgresql://desk:s3cret@db:5433/w?sslmode=require") == (
        "postgresql://desk:***@db:5433/w?sslmode=require"
    )
    assert masked_url("postgresql://db/w") == "postgresql://db/w"


def test_an_unreachable_server_is_named_without_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    caplog.set_level(logging.DEBUG)
    with pytest.raises(RuntimeError) as info:
        Store(f"postgresql://desk:s3cret@127.0.0.1:{port}/w?connect_timeout=2")
    assert f"postgresql://desk:***@127.0.0.1:{port}/w" in str(info.value)
    assert "s3cret" not in str(info.value) and "s3cret" not in caplog.text


def test_a_postgres_store_shows_its_url_masked(postgres_store: str) -> None:
    with Store(postgres_store) as store:
        assert store.engine == "postgresql" and not store.full_text
        assert store.path == masked_url(postgres_store)
        assert store.execute("SELECT version FROM schema_version")[0][0] == SCHEMA_VERSION


def test_a_nul_in_crawled_text_does_not_fail_the_postgres_store(postgres_store: str) -> None:
    from crawler.article import Article

    art = Article(url="https://news.example/1", canonical_url="https://news.example/1", source="s")
    art.title, art.text = "Sister\x00 city", "Wuhan\x00"
    with Store(postgres_store) as store:
        assert store.save_article(art)
        back = store.get_article(art.id)
        assert back is not None and (back.title, back.text) == ("Sister city", "Wuhan")
