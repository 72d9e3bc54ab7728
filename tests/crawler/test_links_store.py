"""The store's links (issue 12): what became of each listed link, and cached aggregator tokens."""

from __future__ import annotations

from datetime import timedelta

from crawler.article import Article
from crawler.dates import utcnow
from crawler.storage import Store
from crawler.storage.retention import prune
from crawler.urls import canonicalize_url


def _article(url: str) -> Article:
    a = Article(url=url, canonical_url=canonicalize_url(url), source="feed", title="t", text="x")
    a.publisher = "Heartland Ledger"
    a.fetched = utcnow()
    return a


def test_links_saved_with_their_article_are_settled(store_at: str) -> None:
    with Store(store_at) as store:
        article = _article("https://pub.example/story")
        assert store.save_article(article, links=[("link1", "https://agg.example/r?u=1")])
        assert store.settled_links(["link1", article.id, "other"]) == {"link1", article.id}
        assert store.get_article(article.id).publisher == "Heartland Ledger"  # type: ignore[union-attr]
        # a second save of the same article writes nothing, links included
        assert not store.save_article(article, links=[("link2", "https://agg.example/r?u=2")])
        assert store.settled_links(["link2"]) == set()


def test_refused_links_keep_their_reason(store_at: str) -> None:
    with Store(store_at) as store:
        store.record_link("r1", "https://x.example/private", "feed", "refused", "robots")
        store.record_link("r2", "http://127.0.0.2/a", "feed", "refused", "refused_address")
        assert store.refused_reasons(["r1", "r2", "r3"]) == {
            "r1": "robots",
            "r2": "refused_address",
        }
        assert store.refused_counts() == {"feed": 2}
        assert {r["reason"] for r in store.refused_links("feed")} == {"robots", "refused_address"}


def test_tokens_are_cached_and_pruned_with_old_links(store_at: str) -> None:
    with Store(store_at) as store:
        old = utcnow() - timedelta(days=400)
        store.save_tokens("google_news", {"CBMiA": "https://pub.example/a"}, at=old)
        store.save_tokens("google_news", {"CBMiB": "https://pub.example/b"})
        store.record_link("r1", "https://x.example/p", "feed", "refused", "robots", at=old)
        assert store.resolved_tokens("google_news", ["CBMiA", "CBMiB", "CBMiC"]) == {
            "CBMiA": "https://pub.example/a",
            "CBMiB": "https://pub.example/b",
        }
        report = prune(store, timedelta(days=365))
        assert report.links == 1
        assert store.resolved_tokens("google_news", ["CBMiA", "CBMiB"]) == {
            "CBMiB": "https://pub.example/b"
        }
