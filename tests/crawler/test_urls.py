from __future__ import annotations

import pytest

from crawler.urls import canonicalize_url, is_public_ip, refusal_reason


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "HTTP://Example.COM:80/a/b/?utm_source=x&utm_medium=y&id=3#frag",
            "http://example.com/a/b?id=3",
        ),
        ("https://example.com:443/story/", "https://example.com/story"),
        ("https://example.com/story?fbclid=abc&gclid=def", "https://example.com/story"),
        ("https://example.com/?b=2&a=1", "https://example.com/?a=1&b=2"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/a%20b?q=x y", "https://example.com/a%20b?q=x+y"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
    ],
)
def test_canonicalize_url(url: str, expected: str) -> None:
    assert canonicalize_url(url) == expected


def test_tracking_variants_are_one_url() -> None:
    variants = [
        "https://news.example.org/2024/05/sister-city?utm_source=rss",
        "https://NEWS.example.org/2024/05/sister-city/?utm_campaign=x&fbclid=1",
        "https://news.example.org/2024/05/sister-city#comments",
    ]
    assert len({canonicalize_url(v) for v in variants}) == 1


def test_public_ip() -> None:
    assert is_public_ip("93.184.216.34")
    for private in ("127.0.0.1", "::1", "169.254.1.1", "0.0.0.0", "::ffff:127.0.0.1"):
        assert not is_public_ip(private), private


def test_refusal_reason_same_origin_allowed() -> None:
    assert refusal_reason("http://127.0.0.1:8000/a", "http://127.0.0.1:8000/feed.xml") is None


def test_refusal_reason_other_loopback_refused() -> None:
    # a link discovered in a loopback feed pointing at another loopback address or port
    assert (
        refusal_reason("http://127.0.0.2:8000/a", "http://127.0.0.1:8000/feed") == "refused_address"
    )
    assert (
        refusal_reason("http://127.0.0.1:9999/a", "http://127.0.0.1:8000/feed") == "refused_address"
    )
    assert (
        refusal_reason("http://localhost:9999/a", "http://127.0.0.1:8000/feed") == "refused_address"
    )


def test_refusal_reason_allowed_when_configured() -> None:
    assert (
        refusal_reason("http://127.0.0.2:8000/a", "http://127.0.0.1:8000/f", allow_private=True)
        is None
    )


def test_refusal_reason_scheme() -> None:
    assert refusal_reason("file:///etc/passwd", "http://127.0.0.1/f") == "scheme"
    assert refusal_reason("ftp://127.0.0.1/x", "http://127.0.0.1/f") == "scheme"


@pytest.mark.parametrize(
    "url",
    [
        "https://cms.example/view?cid=123",
        "https://cms.example/story?share=77",
        "https://cms.example/a?rss=9",
        "https://cms.example/a?cmp=4",
    ],
)
def test_parameters_that_can_be_article_ids_are_kept(url: str) -> None:
    # some CMSs use these as the article id itself: dropping them would merge two articles
    assert canonicalize_url(url) == url
    assert canonicalize_url(url.replace("=", "=1")) != canonicalize_url(url)


def test_tracking_only_parameters_are_dropped() -> None:
    url = "https://a.example/s?id=1&utm_source=x&fbclid=2&gclid=3&mc_cid=4&mc_eid=5&ocid=6&cmpid=7"
    assert canonicalize_url(url) == "https://a.example/s?id=1"


def test_keep_params_overrides_the_tracking_list() -> None:
    url = "https://msn.example/story?ocid=AA1x&utm_source=rss"
    assert canonicalize_url(url, keep_params=["ocid"]) == "https://msn.example/story?ocid=AA1x"
    assert canonicalize_url(url) == "https://msn.example/story"


def test_registered_domain() -> None:
    from crawler.urls import registered_domain, same_registered_domain

    assert registered_domain("https://www.bbc.co.uk/news/1") == "bbc.co.uk"
    assert registered_domain("http://127.0.0.1:8000/x") == "127.0.0.1"
    assert same_registered_domain("https://news.scmp.com/a", "https://www.scmp.com/b")
    assert not same_registered_domain("https://a.github.io/x", "https://b.github.io/x")
