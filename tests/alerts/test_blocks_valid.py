"""Every block of every kind of message passes slack-sdk's own Block Kit validation
(`Block.parse(...).validate_json()`) and Slack's documented limits, counted in UTF-16 units,
whatever the crawled text holds (issue #17)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from alerts.message import (
    MAX_BLOCKS,
    MAX_FALLBACK_TEXT,
    MAX_HEADER_TEXT,
    MAX_SECTION_TEXT,
    MAX_TOTAL_BLOCK_TEXT,
    render_also_matched,
    render_copy,
    render_digest_parts,
    render_story,
    slack_length,
)
from alerts.watchlist import Digest, Watchlist
from crawler.article import Article, Entity
from crawler.records import Alert, MatchedTerm

WATCHLIST = Watchlist(name="sister-cities", query='"sister city"', channel="#desk")
OTHER = Watchlist(name="land-laws", query="land", channel="#desk")
ALERT = Alert(watchlist="sister-cities", article_id="a", channel="#desk")
BASE = "https://desk.example"


def _article(n: int = 0, **kw: Any) -> Article:
    url = f"https://news.example/{n}"
    fields: dict[str, Any] = {
        "url": url,
        "canonical_url": url,
        "source": "feed",
        "site_name": "The Eagle",
        "title": f"Story {n}: Oxford reviews sister city tie with Wuhan",
        "text": "The sister city agreement with Wuhan was signed. " * 3,
        "published": datetime(2024, 5, 1, tzinfo=UTC),
        "entities": [
            Entity("g:1", "Oxford", "place", "US", "Mississippi"),
            Entity("g:2", "Wuhan", "place", "CN", "Hubei"),
            Entity("g:3", "Taichung", "place", "TW", "Taichung"),
        ],
        "events": ["sister_city", "delegation"],
        "relevance": 0.5,
        "cluster_id": f"c{n}",
    }
    fields.update(kw)
    return Article(**fields)


def _terms(article: Article, *words: str) -> list[MatchedTerm]:
    out = []
    for word in words or ("sister city", "Wuhan"):
        start = article.text.find(word)
        while start >= 0:
            out.append(MatchedTerm(word.lower(), "text", start, start + len(word)))
            start = article.text.find(word, start + 1)
    return out


HOSTILE = "<!channel> <!here> <@U123> <https://evil.example|click> &amp; *b* _i_ ~s~ `c` :fire:"
RTL = "رئيس بلدية أكسفورد يزور ووهان \u202e عكس \u2067 مدينة شقيقة"
EMOJI = "🇺🇸🤝🇨🇳 sister city 🎉" * 40


def _articles() -> Iterator[tuple[str, Article, list[MatchedTerm]]]:
    yield "plain", (a := _article()), _terms(a)
    huge = _article(text="The sister city agreement with Wuhan was signed. " * 410)  # 20,090 chars
    yield "20,000-character article", huge, _terms(huge)
    yield "400-character title", (a := _article(title="T" * 390 + " sister")), _terms(a)
    many = _article(text=" ".join(f"term{i} sister city" for i in range(60)))
    sixty = [MatchedTerm(f"term{i}", "text", *_span(many.text, f"term{i} ")) for i in range(60)]
    yield "60 matched terms", many, sixty
    yield "RTL text", (a := _article(title=RTL, text=RTL + " sister city")), _terms(a)
    yield "emoji text", (a := _article(title=EMOJI[:200], text=EMOJI)), _terms(a, "sister city")
    zh = "密西西比州牛津市与武汉市缔结友好城市关系已有十年。" * 50
    yield (
        "Chinese text",
        (a := _article(title="牛津与武汉缔结友好城市", text=zh)),
        _terms(a, "友好城市"),
    )
    hostile = _article(
        title=HOSTILE,
        text=f"{HOSTILE} sister city {HOSTILE}",
        source=HOSTILE,
        site_name=HOSTILE,
        entities=[
            Entity("x", HOSTILE, "place", "US", HOSTILE),
            Entity("y", HOSTILE, "place", "TW"),
        ],
        events=[HOSTILE],
    )
    yield "<!channel> and forged links", hostile, _terms(hostile, "sister city")


def _span(text: str, word: str) -> tuple[int, int]:
    start = text.index(word)
    return start, start + len(word.strip())


def _messages() -> Iterator[tuple[str, dict[str, Any]]]:
    for label, article, terms in _articles():
        yield f"story: {label}", render_story(ALERT, article, WATCHLIST, terms, base_url=BASE)
        yield (
            f"story, two watchlists: {label}",
            render_story(ALERT, article, WATCHLIST, terms, also=[OTHER]),
        )
        yield f"copy: {label}", render_copy(ALERT, article, WATCHLIST)
        yield f"also matched: {label}", render_also_matched(article, [OTHER], terms)
        digest = Watchlist(
            name="daily", query="x", delivery=Digest(digest="0 8 * * *", max_stories=500)
        )
        for n in (1, 60, 500):
            items = [(_article(i, title=article.title, text=article.text), terms) for i in range(n)]
            for i, part in enumerate(
                render_digest_parts([(digest, items)], "2024-05-01", base_url=BASE)
            ):
                yield f"digest of {n} ({label}), part {i + 1}", part.message


MESSAGES = list(_messages())


@pytest.mark.parametrize(("label", "message"), MESSAGES, ids=[m[0] for m in MESSAGES])
def test_every_block_is_valid_and_within_slack_limits(label: str, message: dict[str, Any]) -> None:
    blocks = message["blocks"]
    assert 0 < len(blocks) <= MAX_BLOCKS
    assert 0 < slack_length(message["text"]) <= MAX_FALLBACK_TEXT
    total = 0
    for block in blocks:
        Block.parse(block).validate_json()  # type: ignore[union-attr]  # slack-sdk's own checks
        for obj in [block.get("text"), *block.get("elements", [])]:
            if not isinstance(obj, dict):
                continue
            size = slack_length(obj["text"])
            total += size
            limit = MAX_HEADER_TEXT if block["type"] == "header" else MAX_SECTION_TEXT
            assert 0 < size <= limit, (label, block["type"], size)
            if obj["type"] == "mrkdwn":
                text = obj["text"]
                for mention in ("<!channel>", "<!here>", "<@U123>", "<https://evil.example"):
                    assert mention not in text
                assert text.count("*") % 2 == 0, text
    # below where Slack has answered msg_blocks_too_long (11,341 reported), in UTF-16 units
    assert total <= MAX_TOTAL_BLOCK_TEXT < 11_341
