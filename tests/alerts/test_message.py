"""Rendering of story, copy and digest messages: content, escaping of hostile text, limits."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.message import (
    MAX_BLOCKS,
    MAX_FALLBACK_TEXT,
    MAX_HEADER_TEXT,
    MAX_SECTION_TEXT,
    MAX_TOTAL_BLOCK_TEXT,
    render_copy,
    render_digest,
    render_digest_parts,
    render_story,
    slack_length,
)
from alerts.mrkdwn import ZWSP, escape_mrkdwn, link, safe_url, truncate_mrkdwn
from alerts.watchlist import Digest, Watchlist
from crawler.article import Article, Entity
from crawler.records import Alert, MatchedTerm

URL = "https://www.oxfordeagle.com/2024/05/01/sister-city-review/?utm_source=x&id=7"

TEXT = (
    "OXFORD, Miss. — The Board of Aldermen voted Tuesday to review the city's sister city "
    "agreement with Wuhan, the capital of Hubei province, after a delegation from the Chinese "
    "city visited the University of Mississippi in April. Mayor Robyn Tannehill said the "
    "partnership had brought students and investment to Oxford. Critics in the state "
    "legislature have called for ending such ties, citing the influence of the Chinese "
    "People's Association for Friendship with Foreign Countries."
)


def _term(text: str, word: str, field: str = "text", nth: int = 0) -> MatchedTerm:
    start = -1
    for _ in range(nth + 1):
        start = text.index(word, start + 1)
    return MatchedTerm(word.lower(), field, start, start + len(word))


def _article(**kw: Any) -> Article:
    fields: dict[str, Any] = {
        "url": URL,
        "canonical_url": URL,
        "source": "Oxford Eagle",
        "title": "Oxford to review sister city tie with Wuhan",
        "text": TEXT,
        "published": datetime(2024, 5, 1, 14, 3, tzinfo=UTC),
        "entities": [
            Entity("geonames:4440076", "Oxford", "place", "US", "Mississippi", mentions=3),
            Entity("geonames:4436296", "Mississippi", "place", "US", "Mississippi", mentions=2),
            Entity("geonames:1791247", "Wuhan", "place", "CN", "Hubei", mentions=2),
            Entity("geonames:1806949", "Hubei", "place", "CN", "Hubei", mentions=1),
            Entity("geonames:1668341", "Taipei", "place", "TW", "Taipei", mentions=1),
            Entity("country:CN", "China", "country", "CN"),
        ],
        "events": ["sister_city", "delegation", "education"],
        "relevance": 0.8234,
        "relevance_reasons": [
            "US city and Chinese city named together",
            "sister-city cue in the first paragraph",
            "delegation cue",
            "a fourth reason not shown",
        ],
    }
    fields.update(kw)
    return Article(**fields)


WATCHLIST = Watchlist.model_construct(
    name="sister-cities", query='"sister city"', channel="#china-desk", delivery="instant"
)
ALERT = Alert(watchlist="sister-cities", article_id="a1", channel="#china-desk")


def _terms(article: Article) -> list[MatchedTerm]:
    return [_term(article.text, "sister city"), _term(article.text, "Wuhan")]


def _mrkdwn_texts(message: dict[str, Any]) -> Iterator[str]:
    """Every string Slack parses as mrkdwn: the fallback and the mrkdwn text objects."""
    yield message["text"]
    for block in message["blocks"]:
        objs = [block.get("text"), *block.get("elements", []), *block.get("fields", [])]
        for obj in objs:
            if isinstance(obj, dict) and obj.get("type") == "mrkdwn":
                yield obj["text"]


_TOKEN = re.compile(r"<([^<>]*)>")
_DATE = re.compile(
    r"^!date\^\d+\^(\{date_short_pretty\} \{time\}\|[0-9: -]+UTC|\{date_short\}\|[0-9-]+)$"
)


def assert_inert(mrkdwn: str, allowed_urls: set[str]) -> None:
    """The only Slack tokens are our date tokens and links to the article; no mention, no
    stray `<`/`>`, and every `&` starts an entity."""
    for token in _TOKEN.findall(mrkdwn):
        if _DATE.match(token):
            continue
        target, sep, _label = token.partition("|")
        assert sep and target in allowed_urls, f"unexpected token <{token}>"
    rest = _TOKEN.sub("", mrkdwn)
    assert "<" not in rest and ">" not in rest, rest
    assert not re.search(r"&(?!amp;|lt;|gt;)", mrkdwn), mrkdwn


def assert_within_limits(message: dict[str, Any]) -> None:
    blocks = message["blocks"]
    assert 0 < len(blocks) <= MAX_BLOCKS
    assert len(message["text"]) < 4000 and len(message["text"]) <= MAX_FALLBACK_TEXT
    total = 0
    for block in blocks:
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text"
            assert 0 < len(block["text"]["text"]) <= MAX_HEADER_TEXT
        for obj in [block.get("text"), *block.get("elements", [])]:
            if isinstance(obj, dict):  # Slack may count UTF-16 units: so do the limits
                assert slack_length(obj["text"]) <= MAX_SECTION_TEXT
                total += slack_length(obj["text"])
        assert len(block.get("elements", [])) <= 10
    assert total <= MAX_TOTAL_BLOCK_TEXT
    for text in _mrkdwn_texts(message):
        assert text.count("*") % 2 == 0, f"unbalanced bold in {text!r}"


# --- story ------------------------------------------------------------------------------------


def test_story_says_why_it_fired() -> None:
    article = _article(site_name="The Oxford Eagle", source="oxford-eagle-rss")
    alert = Alert(
        watchlist="sister-cities",
        article_id="a1",
        channel="#china-desk",
        created=datetime(2024, 5, 8, 9, 0, tzinfo=UTC),
    )
    message = render_story(
        alert, article, WATCHLIST, _terms(article), base_url="https://desk.example/"
    )
    headline, byline, snippet, facts, small = message["blocks"]

    safe = "https://www.oxfordeagle.com/2024/05/01/sister-city-review/?utm_source=x&amp;id=7"
    # 1. the headline first, bold and linked; no header block with the watchlist slug
    assert headline == {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": f"*<{safe}|Oxford to review sister city tie with Wuhan>*",
        },
    }
    # 2. the outlet, the feed as "via", the time, and the age flag (a week old)
    assert byline["elements"][0]["text"] == (
        "*The Oxford Eagle* · via oxford-eagle-rss · "
        "<!date^1714572180^{date_short_pretty} {time}|2024-05-01 14:03 UTC> · "
        ":hourglass_flowing_sand: published 6 days ago"
    )
    # 3. the passage: the sentence of the rarest matched term (here both are once: the
    # longer one, "sister city"), not the lead's first words
    snippet_text = snippet["text"]["text"]
    assert "review the city's *sister city* agreement with *Wuhan*, the capital" in snippet_text
    assert len(snippet_text) <= 320 + 20
    # 4. places on both sides, Taiwan shown as Taiwan on the partner side; kinds in words
    assert facts["text"]["text"].splitlines() == [
        # The state is not repeated beside a city in it; nor the province.
        "*Places* Oxford, Mississippi ↔ Wuhan, Hubei; Taipei, Taiwan",
        "*Exchange* sister-city ties, delegation visit, education exchange",
    ]
    # 5. small print: the watchlist, relevance as a word, the Explain link
    explain = "https://desk.example/watchlists/explain?article=" + article.id
    assert small["elements"][0]["text"] == (
        "Watchlist: sister-cities · Relevance: high · "
        f"<{explain}&amp;watchlist=sister-cities|Explain>"
    )
    assert message["text"] == (
        f"<{safe}|Oxford to review sister city tie with Wuhan> — The Oxford Eagle · "
        "high relevance · sister-cities"
    )
    assert_within_limits(message)
    allowed = {safe, f"{explain}&amp;watchlist=sister-cities"}
    for text in _mrkdwn_texts(message):
        assert_inert(text, allowed)


def test_passage_follows_the_rarest_matched_term_not_the_lead() -> None:
    text = (
        "Chinese investors bought farmland near the base. Chinese officials denied it. "
        "Critics said Chinese money was everywhere. In Bismarck, lawmakers filed a bill to "
        "ban foreign adversary land purchases. The session starts in January."
    )
    article = _article(text=text)
    terms = [_term(text, "Chinese", nth=n) for n in range(3)] + [_term(text, "bill")]
    passage = render_story(ALERT, article, WATCHLIST, terms)["blocks"][2]["text"]["text"]
    assert "lawmakers filed a *bill* to ban foreign adversary land purchases." in passage
    assert not passage.startswith("*Chinese* investors")


def test_age_flag_only_past_a_day_and_emoji_code_intact() -> None:
    fresh = Alert(
        watchlist="w", article_id="a", channel="", created=datetime(2024, 5, 1, 20, tzinfo=UTC)
    )
    byline = render_story(fresh, _article(), WATCHLIST, [])["blocks"][1]["elements"][0]["text"]
    assert "published" not in byline
    old = Alert(watchlist="w", article_id="a", channel="", created=datetime(2030, 6, 1, tzinfo=UTC))
    message = render_story(old, _article(title="snake_case_title"), WATCHLIST, [])
    byline = message["blocks"][1]["elements"][0]["text"]
    # our own emoji code keeps its underscores; the crawled title's are look-alikes
    assert byline.endswith(":hourglass_flowing_sand: published 6 years ago")
    assert "snakeˍcaseˍtitle" in message["blocks"][0]["text"]["text"]


@dataclass(slots=True)
class _GatheredArticle(Article):
    """An article with a field the gathering side may add (an English title)."""

    title_en: str = ""


def _gathered(article: Article, **extra: str) -> _GatheredArticle:
    given = {f.name: getattr(article, f.name) for f in fields(Article) if f.init}
    return _GatheredArticle(**{**given, **extra})


def test_outlet_prefers_publisher_then_site_name_then_feed() -> None:
    article = _article(site_name="", source="feed-name")
    assert render_story(ALERT, article, WATCHLIST, [])["blocks"][1]["elements"][0][
        "text"
    ].startswith("*feed-name* · <!date")  # the feed alone: no "via" repeating it
    article.site_name = "Oxford Eagle"
    assert (
        "*Oxford Eagle* · via feed-name"
        in render_story(ALERT, article, WATCHLIST, [])["blocks"][1]["elements"][0]["text"]
    )
    article = _gathered(article, publisher="The Oxford Eagle (Oxford, MS)")
    assert (
        "*The Oxford Eagle (Oxford, MS)* · via feed-name"
        in render_story(ALERT, article, WATCHLIST, [])["blocks"][1]["elements"][0]["text"]
    )


def test_chinese_headline_keeps_its_original_and_gets_the_english_title() -> None:
    article = _gathered(
        _article(title="牛津市与武汉市缔结友好城市"),
        title_en="Oxford and Wuhan become sister cities",
    )
    headline = render_story(ALERT, article, WATCHLIST, [])["blocks"][0]["text"]["text"]
    assert headline.startswith("*<") and "|牛津市与武汉市缔结友好城市>*" in headline
    assert headline.endswith("\nOxford and Wuhan become sister cities")


def test_taiwan_only_partner_is_shown_not_dropped() -> None:
    article = _article(
        entities=[
            Entity("g:1", "Columbus", "place", "US", "Ohio"),
            Entity("g:2", "Taichung", "place", "TW", "Taichung"),
        ]
    )
    facts = render_story(ALERT, article, WATCHLIST, [])["blocks"][3]["text"]["text"]
    assert facts.splitlines()[0] == "*Places* Columbus, Ohio ↔ Taichung, Taiwan"
    line = render_digest(WATCHLIST, [(article, [])])["blocks"][2]["text"]["text"]
    assert "Columbus, Ohio ↔ Taichung, Taiwan" in line and "↔ —" not in line


def test_one_message_names_every_watchlist_of_the_channel() -> None:
    other = Watchlist.model_construct(name="land-laws", query="x", channel="#china-desk")
    message = render_story(ALERT, _article(), WATCHLIST, [], also=[other])
    small = message["blocks"][-1]["elements"][0]["text"]
    assert small.startswith("Watchlists: sister-cities, land-laws · Relevance: high")
    assert message["text"].endswith("· high relevance · sister-cities, land-laws")


def assert_inert_message(message: dict[str, Any], article: Article) -> None:
    allowed = {u for u in (safe_url(article.canonical_url), safe_url(article.url)) if u}
    for text in _mrkdwn_texts(message):
        assert_inert(text, allowed)


def test_snippet_centres_on_a_late_match() -> None:
    text = (
        "Filler sentence about nothing much. " * 40
        + "The sister city deal was signed. "
        + ("More filler after the match. " * 40)
    )
    article = _article(text=text)
    message = render_story(ALERT, article, WATCHLIST, [_term(text, "sister city")])
    snippet = message["blocks"][2]["text"]["text"]
    assert snippet.startswith("…") and snippet.endswith("…")
    assert "The *sister city* deal was signed." in snippet
    assert len(snippet) < 340


def test_title_only_match_is_highlighted_where_the_text_repeats_it() -> None:
    article = _article()
    terms = [_term(article.title, "Wuhan", field="title")]
    snippet = render_story(ALERT, article, WATCHLIST, terms)["blocks"][2]["text"]["text"]
    assert "*Wuhan*" in snippet


def test_offsets_outside_the_text_are_ignored() -> None:
    article = _article()
    terms = [MatchedTerm("ghost", "text", 10_000, 10_005), MatchedTerm("neg", "text", -3, 2)]
    message = render_story(ALERT, article, WATCHLIST, terms)
    assert "*" not in message["blocks"][2]["text"]["text"]
    assert message["blocks"][2]["text"]["text"].startswith("OXFORD, Miss.")  # the lead, then


def test_cjk_match_gets_invisible_word_boundaries() -> None:
    text = "密西西比州牛津市与武汉市缔结友好城市关系已有十年。"
    article = _article(text=text, title="牛津与武汉")
    message = render_story(ALERT, article, WATCHLIST, [_term(text, "友好城市")])
    assert f"缔结{ZWSP}*友好城市*{ZWSP}关系" in message["blocks"][2]["text"]["text"]


def test_no_places_no_events_still_renders() -> None:
    article = _article(entities=[], events=[], relevance_reasons=[], text="", source="")
    message = render_story(ALERT, article, WATCHLIST, [])
    types = [b["type"] for b in message["blocks"]]
    assert types == ["section", "context", "context"]  # headline, time, small print
    assert (
        message["blocks"][2]["elements"][0]["text"] == "Watchlist: sister-cities · Relevance: high"
    )


def test_country_level_side_when_no_place() -> None:
    article = _article(
        entities=[
            Entity("geonames:4921868", "Indiana", "place", "US", "Indiana"),
            Entity("country:CN", "China", "country", "CN"),
        ]
    )
    facts = render_story(ALERT, article, WATCHLIST, [])["blocks"][3]["text"]["text"]
    assert facts.splitlines()[0] == "*Places* Indiana ↔ China"


# --- hostile input ----------------------------------------------------------------------------

HOSTILE = [
    "<!channel> urgent",
    "<!here|here> look",
    "<!everyone>",
    "<@U123ABC> please",
    "<#C024BE91L|general>",
    "<https://evil.example|click here>",
    "<https://evil.example>",
    "Tom & Jerry &amp; friends &lt;b&gt;",
    "a > b < c",
    "*bold* _it_ ~strike~ `code` ```block```",
    "<!subteam^S123|@desk>",
    "<!date^0^{date}|x>",
]


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize(
    "where", ["title", "text", "source", "entity", "event", "reason", "term", "url_title"]
)
def test_hostile_text_renders_inert_everywhere(hostile: str, where: str) -> None:
    article = _article()
    terms = _terms(article)
    if where == "title":
        article.title = f"Sister city {hostile} Wuhan"
    elif where == "text":
        article.text = f"Near the {hostile} sister city {hostile} agreement"
        terms = [_term(article.text, "sister city")]
    elif where == "source":
        article.source = hostile
    elif where == "entity":
        article.entities.append(Entity("x", hostile, "place", "US", hostile, mentions=99))
        article.entities.append(Entity("y", hostile, "place", "TW", None))
    elif where == "event":
        article.events.append(hostile)
    elif where == "reason":
        article.relevance_reasons.insert(0, hostile)
    elif where == "term":
        article.text = f"x {hostile} y"
        terms = [MatchedTerm(hostile, "text", 2, 2 + len(hostile))]
    elif where == "url_title":
        article.title = ""
        article.url = article.canonical_url = f"https://e.example/{hostile}"
    story = render_story(ALERT, article, WATCHLIST, terms)
    copy = render_copy(ALERT, article, WATCHLIST)
    digest = render_digest(WATCHLIST, [(article, terms)], hostile)
    for message in (story, copy, digest):
        assert_inert_message(message, article)
        assert_within_limits(message)
        for text in _mrkdwn_texts(message):
            for mention in ("<!channel>", "<!here", "<@U123", "<!everyone>", "<!subteam"):
                assert mention not in text


def test_mentions_are_visible_as_text() -> None:
    article = _article(title="Mayor says <!channel> & <@U123>")
    title = render_story(ALERT, article, WATCHLIST, [])["blocks"][0]["text"]["text"]
    assert "Mayor says &lt;!channel&gt; &amp; &lt;@U123&gt;" in title


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://e.example/a?x=1&y=2", "https://e.example/a?x=1&amp;y=2"),
        ("https://e.example/a|b>c<d", "https://e.example/a%7Cb%3Ec%3Cd"),
        ('https://e.example/a b"c', "https://e.example/a%20b%22c"),
        ("HTTPS://E.example/x", "HTTPS://E.example/x"),
        ("javascript:alert(1)", None),
        ("file:///etc/passwd", None),
        ("slack://open", None),
        ("//e.example/protocol-relative", None),
        ("https://", None),
        ("https://[::1", None),
        ("https://e.example/" + "x" * 3000, None),
    ],
)
def test_safe_url(url: str, expected: str | None) -> None:
    assert safe_url(url) == expected


def test_unsafe_url_renders_title_without_link() -> None:
    article = _article(url="javascript:alert(1)", canonical_url="javascript:alert(1)")
    title = render_story(ALERT, article, WATCHLIST, [])["blocks"][0]["text"]["text"]
    assert title == "*Oxford to review sister city tie with Wuhan*"
    assert "javascript" not in title


def test_link_label_cannot_close_the_link() -> None:
    assert link("https://e.example/", "a|b>c") == "<https://e.example/|a|b&gt;c>"


def test_bold_markers_in_text_cannot_pair_with_ours() -> None:
    text = "Rated 5* by critics, the sister city * deal * was *signed*"
    article = _article(text=text, title="A *star* title_with_underscores")
    message = render_story(ALERT, article, WATCHLIST, [_term(text, "sister city")])
    snippet = message["blocks"][2]["text"]["text"]
    assert snippet == "Rated 5∗ by critics, the *sister city* ∗ deal ∗ was ∗signed∗"
    assert "A ∗star∗ titleˍwithˍunderscores" in message["blocks"][0]["text"]["text"]


def test_control_characters_are_removed() -> None:
    article = _article(
        title="Wuhan\x1b[2J\x1b]0;owned\x07 deal\u202e\u0000",
        source="Eagle\r\n\tDaily",
    )
    message = render_story(ALERT, article, WATCHLIST, [])
    for text in _mrkdwn_texts(message):
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u202e]", text)
    assert "Wuhan[2J]0;owned deal" in message["blocks"][0]["text"]["text"]
    assert "Eagle Daily" in message["blocks"][1]["elements"][0]["text"]


# --- limits -----------------------------------------------------------------------------------


def test_huge_article_fits_slack_limits() -> None:
    word = "Wuhan & <sister> city "
    text = word * 20_000
    entities = [
        Entity(f"g:{i}", f"Place{i} & <co>", "place", "US" if i % 2 else "CN", f"Region{i}" * 20)
        for i in range(300)
    ]
    article = _article(
        title="Sister city " * 200 + "<!channel>",
        text=text,
        source="S&" * 500,
        entities=entities,
        events=[f"event_{i}" for i in range(200)],
        relevance_reasons=["reason & <why> " * 100] * 50,
    )
    terms = [MatchedTerm("wuhan", "text", i, i + 5) for i in range(0, 200_000, len(word))]
    story = render_story(ALERT, article, WATCHLIST, terms)
    assert_within_limits(story)
    assert_inert_message(story, article)
    title = story["blocks"][0]["text"]["text"]
    assert "…>*" in title  # the title is cut inside the link label, the link stays whole
    assert story["blocks"][2]["text"]["text"].count("*Wuhan*") >= 5
    places = story["blocks"][3]["text"]["text"].splitlines()[0]
    assert places.count("+146 more") == 2  # beyond the first four on each side
    assert_within_limits(render_copy(ALERT, article, WATCHLIST))


def test_long_watchlist_name_and_400_character_title_fit() -> None:
    watchlist = Watchlist.model_construct(name="w" * 400, query="x", delivery="instant")
    message = render_story(ALERT, _article(title="T" * 400), watchlist, [])
    assert_within_limits(message)
    header = render_digest(watchlist, [(_article(), [])])["blocks"][0]["text"]["text"]
    assert len(header) == MAX_HEADER_TEXT and header.endswith("…")


_ENTITY_OR_TOKEN = re.compile(r"&[a-z]+;|<[^<>]*>")


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(
        st.one_of(
            st.text(alphabet="ab &<>*|x中", max_size=12).map(escape_mrkdwn),
            st.text(alphabet="ab &<>|中", min_size=1, max_size=12).map(
                lambda s: link("https://e.example/?a=1&b=2", s)
            ),
            st.text(alphabet="ab中 ", min_size=1, max_size=8).map(
                lambda s: f"*{s.strip() or 'x'}*"
            ),
        ),
        max_size=12,
    ),
    limit=st.integers(min_value=2, max_value=120),
)
def test_truncate_never_cuts_inside_an_entity_link_or_bold(pieces: list[str], limit: int) -> None:
    text = " ".join(pieces)
    cut = truncate_mrkdwn(text, limit)
    assert len(cut) <= limit
    if len(text) <= limit:
        assert cut == text
        return
    assert cut.endswith("…")
    body = cut[:-1]
    # Every entity and link in the result is one that was in the input, whole.
    originals = set(_ENTITY_OR_TOKEN.findall(text))
    assert set(_ENTITY_OR_TOKEN.findall(body)) <= originals
    rest = _ENTITY_OR_TOKEN.sub("", body)
    assert "&" not in rest and "<" not in rest and ">" not in rest
    assert body.count("*") % 2 == 0


# --- copy -------------------------------------------------------------------------------------


def test_copy_names_the_other_source() -> None:
    article = _article(source="Clarion <Ledger> & Co")
    message = render_copy(ALERT, article, WATCHLIST)
    section, context = message["blocks"]
    assert section["text"]["text"].startswith(
        "Also reported by *Clarion &lt;Ledger&gt; &amp; Co*: <https://www.oxfordeagle.com/"
    )
    assert context["elements"][0]["text"].startswith("<!date^1714572180^")
    assert message["text"].startswith("Also reported by Clarion &lt;Ledger&gt; &amp; Co: <")
    assert_within_limits(message)


# --- digest -----------------------------------------------------------------------------------


def _story(i: int, relevance: float, cluster: str | None = None, lead: bool = True) -> Article:
    url = f"https://news{i}.example/story"
    return _article(
        url=url,
        canonical_url=url,
        title=f"Story {i}",
        source=f"Source {i}",
        relevance=relevance,
        cluster_id=cluster,
        is_cluster_lead=lead,
        published=datetime(2024, 5, 1, tzinfo=UTC) + timedelta(hours=i),
    )


def test_digest_orders_by_relevance_and_groups_copies() -> None:
    items: list[tuple[Article, list[MatchedTerm]]] = [
        (_story(1, 0.40), []),
        (_story(2, 0.90, "c1"), []),
        (_story(3, 0.70, "c1", lead=False), []),
        (_story(4, 0.60, "c1", lead=False), []),
        (_story(5, 0.95), []),
    ]
    message = render_digest(WATCHLIST, items, "1 May 2024")
    header, summary, section = message["blocks"]
    assert header["text"]["text"] == "sister-cities digest · 1 May 2024"
    assert summary["elements"][0]["text"] == "3 stories (5 articles)"
    lines = section["text"]["text"].splitlines()
    assert [re.findall(r"Story \d", line) for line in lines] == [
        ["Story 5"],
        ["Story 2"],
        ["Story 1"],
    ]
    assert lines[1].endswith(" · +2 copies")
    # one line: headline, date, outlet, places and kind
    assert lines[0] == (
        "• *<https://news5.example/story|Story 5>* · <!date^1714539600^{date_short}|2024-05-01>"
        " · Source 5 · Oxford, Mississippi ↔ Wuhan, Hubei +1 more · sister-city ties, "
        "delegation visit"
    )
    assert message["text"].startswith("sister-cities digest · 1 May 2024: 3 stories (5 articles)")
    assert_within_limits(message)


def test_digest_groups_watchlists_sharing_a_channel_and_lists_a_story_once() -> None:
    other = Watchlist.model_construct(name="land-laws", query="x", channel="#china-desk")
    shared, only = _story(1, 0.5), _story(2, 0.6)
    parts = render_digest_parts([(WATCHLIST, [(shared, [])]), (other, [(shared, []), (only, [])])])
    [part] = parts
    text = "\n".join(b["text"]["text"] for b in part.message["blocks"] if b["type"] == "section")
    assert text.count("Story 1") == 1 and text.count("Story 2") == 1
    assert text.index("*sister-cities*") < text.index("Story 1") < text.index("*land-laws*")
    assert sorted(part.article_ids) == sorted({shared.id, only.id})


def test_digest_respects_max_stories_with_and_n_more() -> None:
    watchlist = Watchlist.model_construct(
        name="daily", query="x", delivery=Digest(digest="0 8 * * *", max_stories=3)
    )
    items: list[tuple[Article, list[MatchedTerm]]] = [(_story(i, i / 100), []) for i in range(10)]
    message = render_digest(watchlist, items, "today")
    assert message["blocks"][-1] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "and 7 more"}],
    }
    lines = message["blocks"][2]["text"]["text"].splitlines()
    assert len(lines) == 3 and "Story 9" in lines[0]
    linked = render_digest(watchlist, items, "today", base_url="https://desk.example")
    assert (
        linked["blocks"][-1]["elements"][0]["text"]
        == "<https://desk.example/search?q=x|and 7 more>"
    )


def test_max_stories_must_be_at_least_one() -> None:
    with pytest.raises(ValueError, match="max_stories"):
        Digest(digest="0 8 * * *", max_stories=-5)
    with pytest.raises(ValueError, match="max_stories"):
        Digest(digest="0 8 * * *", max_stories=0)


def test_huge_digest_fits_slack_limits() -> None:
    watchlist = Watchlist.model_construct(
        name="daily", query="x", delivery=Digest(digest="0 8 * * *", max_stories=500)
    )
    items: list[tuple[Article, list[MatchedTerm]]] = [
        (_story(i, (i % 97) / 97, cluster=f"c{i % 400}", lead=i < 400), []) for i in range(2000)
    ]
    for article, _ in items:
        article.title = "Sister city & <!channel> " * 20
    parts = render_digest_parts([(watchlist, items)], "week " * 100)
    assert len(parts) > 1  # split across messages, none over the limits
    for part in parts:
        assert_within_limits(part.message)
        assert len(part.message["blocks"][0]["text"]["text"]) <= MAX_HEADER_TEXT
    assert parts[1].message["blocks"][0]["text"]["text"].endswith("(continued)")
    # every story listed once, every article released with the message that lists it
    shown = sum(
        len(b["text"]["text"].splitlines())
        for part in parts
        for b in part.message["blocks"]
        if b["type"] == "section"
    )
    assert shown == 400
    assert sorted(i for part in parts for i in part.article_ids) == sorted(a.id for a, _ in items)


def test_empty_digest() -> None:
    message = render_digest(WATCHLIST, [], "")
    assert message["blocks"][0]["text"]["text"] == "sister-cities digest"
    assert message["blocks"][-1]["text"]["text"] == "No new stories."
