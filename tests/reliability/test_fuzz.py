"""Bad input never crashes a cycle: generated and real malformed feeds, hostile HTML, random
query text and random config/watchlist files. Each fuzz target counts the inputs it tried and
prints the count; `make test-slow` runs each about 25 times longer.

What may come out: parse_feed returns a ParsedFeed (never raises); extract_page returns a
PageExtraction (never raises); parse_query raises only QueryError, with a position inside the
text; load_config raises only ConfigError and load_watchlists only WatchlistError, each problem
naming the file (and the line when there is one).
"""

from __future__ import annotations

import os
import string
import time
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.watchlist import WatchlistError, load_watchlists
from crawler.config import ConfigError
from crawler.query import QueryError, parse_query
from enrich.extraction import extract_from_html, extract_page
from spiders.feed_parser import ParsedFeed, parse_feed
from tests.conftest import ROOT, shared_corpus
from watchdesk.service.config import load_config

CORPUS = ROOT.parent / "shared" / "corpora" / "feedparser" / "tests"
SLOW = os.environ.get("WATCHDESK_FUZZ_SLOW") == "1"
TRIED: Counter[str] = Counter()


def _examples(default: int) -> int:
    return default * 25 if SLOW else default


def _settings(n: int) -> settings:
    return settings(
        max_examples=_examples(n),
        deadline=None,
        derandomize=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


@pytest.fixture(scope="module", autouse=True)
def _report() -> object:
    yield
    if TRIED:
        print("\nfuzz inputs tried: " + ", ".join(f"{k} {v}" for k, v in sorted(TRIED.items())))


# -- feeds -------------------------------------------------------------------------------------

_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60
)  # any character a feed could carry, including <, &, controls and CJK
_xmlish = st.sampled_from(["<", ">", "&", "&amp;", "&nbsp;", "]]>", "<![CDATA[", "\x00", "\ufeff"])


_BAD_DATE = "Mon, 31 Feb 2024 25:61:00 +9999"


@st.composite
def feeds(draw: st.DrawFn) -> bytes:
    n = draw(st.integers(0, 5))
    items = []
    for _ in range(n):
        parts = [
            f"<title>{draw(_text)}</title>",
            f"<link>{draw(st.one_of(_text, st.just('http://127.0.0.1/a?utm_source=x')))}</link>",
            f"<pubDate>{draw(st.one_of(_text, st.just(_BAD_DATE)))}</pubDate>",
            f"<description>{draw(_text)}{draw(_xmlish)}</description>",
            f"<guid>{draw(_text)}</guid>",
        ]
        items.append("<item>" + "".join(draw(st.permutations(parts))) + "</item>")
    kind = draw(st.sampled_from(["rss", "atom", "rdf", "junk"]))
    if kind == "rss":
        doc = f'<?xml version="1.0"?><rss version="2.0"><channel>{"".join(items)}</channel></rss>'
    elif kind == "atom":
        doc = (
            '<feed xmlns="http://www.w3.org/2005/Atom">'
            + "".join(i.replace("item>", "entry>") for i in items)
            + "</feed>"
        )
    elif kind == "rdf":
        doc = '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">' + "".join(items)
    else:
        doc = draw(_text) + "".join(items)
    data = doc.encode(draw(st.sampled_from(["utf-8", "utf-16", "latin-1"])), "replace")
    cut = draw(st.one_of(st.none(), st.integers(0, max(len(data), 1))))
    return data[:cut] if cut is not None else data


@given(
    body=st.one_of(feeds(), st.binary(max_size=400)),
    ctype=st.sampled_from(
        [None, "application/rss+xml", "text/html; charset=shift_jis", "text/xml; charset=utf-16"]
    ),
)
@_settings(150)
def test_generated_feeds_never_raise(body: bytes, ctype: str | None) -> None:
    TRIED["generated feeds"] += 1
    result = parse_feed(body, "http://127.0.0.1/feed.xml", ctype)
    assert isinstance(result, ParsedFeed)
    for entry in result.entries:
        assert entry.link


def test_every_feedparser_corpus_file_parses_without_raising() -> None:
    shared_corpus("feedparser", "tests")
    files = [p for p in CORPUS.rglob("*") if p.is_file()]
    entries = bozo = 0
    for path in files:
        data = path.read_bytes()
        result = parse_feed(data, f"http://127.0.0.1/{path.name}")
        # and cut in half, as a dropped connection leaves it
        half = parse_feed(data[: len(data) // 2], f"http://127.0.0.1/{path.name}")
        assert isinstance(result, ParsedFeed) and isinstance(half, ParsedFeed)
        entries += len(result.entries)
        bozo += result.bozo is not None
    TRIED["feedparser corpus files (whole and truncated)"] += 2 * len(files)
    assert len(files) > 1000
    print(f"\nfeedparser corpus: {len(files)} files, {entries} entries, {bozo} malformed (bozo)")


# -- HTML extraction ---------------------------------------------------------------------------

_tags = st.sampled_from(["div", "p", "article", "span", "table", "td", "script", "style", "a"])


@st.composite
def html_pages(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 30))):
        tag = draw(_tags)
        parts.append(f"<{tag}>{draw(_text)}")
        if draw(st.booleans()):
            parts.append(f"</{tag}>")
    page = "<html><head><title>" + draw(_text) + "</title></head><body>" + "".join(parts)
    cut = draw(st.one_of(st.none(), st.integers(0, len(page))))
    return page[:cut] if cut is not None else page


@given(page=st.one_of(html_pages(), st.text(max_size=300)))
@_settings(60)
def test_generated_html_never_raises(page: str) -> None:
    TRIED["generated html pages"] += 1
    result = extract_page(page, "http://127.0.0.1/a.html")
    assert isinstance(result.text, str)


def _story_html(body: str, charset: str = "utf-8") -> str:
    return (
        f'<html><head><meta charset="{charset}"><title>Sister city vote in Iowa</title></head>'
        f"<body><article><h1>Sister city vote</h1>{body}</article></body></html>"
    )


HOSTILE = {
    "truncated": _story_html("<p>" + "Des Moines council met Hebei officials. " * 40)[:700],
    "binary": bytes(range(256)).decode("latin-1") * 40,
    "nul bytes": _story_html("<p>a\x00b\x00" * 500 + "</p>"),
    "deep nesting": "<div>" * 100_000 + "deep" + "</div>" * 100_000,
    "unclosed nesting": "<html><body>" + "<div><span><p>" * 30_000 + "text",
    "wrong charset": _story_html(
        "<p>" + "友好城市 Des Moines 河北 " * 50 + "</p>", charset="shift_jis"
    ),
    "mojibake": _story_html("<p>" + ("友好城市 " * 50).encode("utf-8").decode("latin-1") + "</p>"),
    "lone surrogates": _story_html("<p>" + "\ud800 sister \udfff city " * 50 + "</p>"),
    "huge attribute": '<div class="' + "x" * 5_000_000 + '">text</div>',
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_html_never_raises(name: str) -> None:
    TRIED["hostile html pages"] += 1
    article = extract_from_html(HOSTILE[name], "http://127.0.0.1/a.html")
    assert isinstance(article.text, str)


def test_a_20_mb_page_is_extracted_in_bounded_time() -> None:
    paragraph = (
        "<p>The Des Moines city council approved a sister-city agreement with Shijiazhuang.</p>"
    )
    page = _story_html(
        paragraph * 10 + "<script>var x = 1;</script>" * 200_000 + paragraph * 200_000
    )
    assert len(page) > 20_000_000
    TRIED["20 MB pages"] += 1
    started = time.process_time()
    result = extract_page(page, "http://127.0.0.1/huge.html")
    took = time.process_time() - started
    assert "sister-city" in result.text
    print(
        f"\n20 MB page: {len(page) / 1e6:.0f} MB extracted in {took:.1f}s CPU, notes {result.notes}"
    )


# -- the query language ------------------------------------------------------------------------

_query_alphabet = string.ascii_letters + string.digits + " \"()[]{}:*?~^!-+&|\\/<>=,.'" + "友城é\t"
_query_words = st.sampled_from(
    [
        "AND",
        "OR",
        "NOT",
        "title:",
        "country:",
        "published:[",
        " TO ",
        "*",
        "]",
        '"',
        "(",
        ")",
        "relevance:>=",
        "0.5",
        "~",
        "sister",
        "city",
        "-",
        "+",
        "\\",
        "{",
        "}",
        "2024-01-01",
    ]
)


@given(
    text=st.one_of(
        st.text(alphabet=_query_alphabet, max_size=80),
        st.lists(_query_words, max_size=14).map("".join),
        st.lists(_query_words, max_size=14).map(" ".join),
    )
)
@_settings(400)
def test_query_parser_raises_only_query_error_with_a_position(text: str) -> None:
    TRIED["queries"] += 1
    try:
        parse_query(text)
    except QueryError as exc:
        TRIED["queries rejected with a position"] += 1
        assert 0 <= exc.position <= max(len(text), 0)
        assert exc.message


def test_deeply_nested_query_is_a_query_error() -> None:
    TRIED["queries"] += 2
    for text in ("(" * 5000 + "a" + ")" * 5000, "NOT " * 5000 + "a"):
        try:
            parse_query(text)
        except QueryError as exc:
            assert exc.position >= 0


# -- config and watchlist loaders --------------------------------------------------------------

_yaml_bits = st.sampled_from(
    [
        "store:",
        "sources:",
        "watchlists:",
        "  - ",
        "{",
        "}",
        "[",
        "]",
        "name: x",
        "url: ",
        "every: 15m",
        "every: -1",
        "query: ",
        "'(a OR'",
        "channel: '#x'",
        "delivery:",
        "digest: ",
        "'0 8 * * *'",
        "&a",
        "*a",
        "!!python/object:os.system",
        "- ",
        ":",
        "\t",
        "\n",
        "  ",
        "entities:",
        "retention: 0d",
        "crawl: {timeout: nope}",
        "%YAML 9.9",
        "---",
        "...",
        "languages: [en, zz]",
        "min_relevance: 2",
        "muted: maybe",
        "kind: sitemap",
    ]
)


@given(text=st.one_of(st.lists(_yaml_bits, max_size=25).map("".join), st.text(max_size=200)))
@_settings(120)
def test_config_loader_raises_only_config_error_naming_the_file(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    TRIED["config files"] += 1
    path = tmp_path_factory.mktemp("cfg") / "watchdesk.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_config(path)
    except ConfigError as exc:
        TRIED["config files rejected"] += 1
        assert exc.problems
        for problem in exc.problems:
            assert str(path) in problem, problem


@given(text=st.one_of(st.lists(_yaml_bits, max_size=25).map("".join), st.text(max_size=200)))
@_settings(120)
def test_watchlist_loader_raises_only_watchlist_error_naming_the_file(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    TRIED["watchlist files"] += 1
    path = tmp_path_factory.mktemp("wl") / "watchlists.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_watchlists(path)
    except WatchlistError as exc:
        TRIED["watchlist files rejected"] += 1
        assert exc.problems
        for problem in exc.problems:
            assert str(path) in str(problem), problem


def test_binary_config_file_is_a_config_error(tmp_path: Path) -> None:
    TRIED["config files"] += 1
    path = tmp_path / "watchdesk.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage\x80\x81")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value)
