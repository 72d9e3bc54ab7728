"""identify_language: en/zh and other languages, short texts and hints, the folded match text."""

from __future__ import annotations

from typing import Any, cast

import pytest

from crawler.article import Article
from crawler.stats import Stats
from crawler.textnorm import fold
from enrich.clustering import StoryIndex
from enrich.context import EnrichContext, EnrichOptions
from enrich.language import (
    SHORT_TEXT_CHARS,
    choose_language,
    detect_language,
    identify_language,
    normalise_hint,
)

SAMPLES: dict[str, tuple[str, str]] = {
    "en": (
        "en",
        "The city council voted on Tuesday to review its sister-city agreement with "
        "a port city in China, after a state senator asked mayors to examine such ties.",
    ),
    "zh-simplified": (
        "zh",
        "江苏省镇江市与美国里弗顿市签署友好城市合作备忘录，双方将在港口物流、"
        "青年交流和文化旅游等领域开展务实合作。",
    ),
    "zh-traditional": (
        "zh",
        "江蘇省鎮江市與美國里弗頓市簽署友好城市合作備忘錄，雙方將在港口物流、"
        "青年交流和文化旅遊等領域開展務實合作。",
    ),
    "ja": (
        "ja",
        "市議会は火曜日、中国の港湾都市との姉妹都市協定を見直すことを決めた。"
        "州の議員が市長たちに協定の確認を求めていた。",
    ),
    "ko": (
        "ko",
        "시의회는 화요일 중국 항구 도시와의 자매결연 협정을 재검토하기로 의결했다. "
        "주 상원의원이 시장들에게 협정을 검토해 달라고 요청한 뒤였다.",
    ),
    "es": (
        "es",
        "El concejo municipal votó el martes para revisar su acuerdo de ciudades hermanas "
        "con una ciudad portuaria de China, tras la petición de un senador estatal.",
    ),
    "fr": (
        "fr",
        "Le conseil municipal a voté mardi pour réexaminer son jumelage avec une ville "
        "portuaire chinoise, après qu'un sénateur a demandé aux maires d'examiner ces liens.",
    ),
    "de": (
        "de",
        "Der Stadtrat hat am Dienstag beschlossen, die Städtepartnerschaft mit einer "
        "chinesischen Hafenstadt zu überprüfen, nachdem ein Senator die Bürgermeister darum bat.",
    ),
    "ru": (
        "ru",
        "Городской совет во вторник проголосовал за пересмотр соглашения о городах-побратимах "
        "с портовым городом в Китае после обращения сенатора штата к мэрам.",
    ),
    "vi": (
        "vi",
        "Hội đồng thành phố đã bỏ phiếu hôm thứ Ba để xem xét lại thỏa thuận thành phố kết "
        "nghĩa với một thành phố cảng của Trung Quốc.",
    ),
}


def make_context(options: EnrichOptions | None = None) -> EnrichContext:
    return EnrichContext(
        gazetteer=cast(Any, None),
        entities=cast(Any, None),
        stories=StoryIndex(),
        options=options or EnrichOptions(),
        stats=Stats(),
    )


@pytest.mark.parametrize("name", list(SAMPLES))
def test_detects_the_language(name: str) -> None:
    expected, text = SAMPLES[name]
    assert detect_language(text) == expected


@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_answer_is_an_iso_639_1_code(name: str) -> None:
    _expected, text = SAMPLES[name]
    code = detect_language(text[:30])  # short texts are where odd labels would show up
    assert code is not None and len(code) == 2 and code.isalpha() and code.islower()


def test_short_simplified_chinese_headline_is_zh() -> None:
    # the unrestricted model answers "wuu" (Wu Chinese) for this one
    assert detect_language("美国肯塔基州路易斯维尔市长会见广州代表团") == "zh"


def test_short_text_trusts_the_source_hint() -> None:
    assert choose_language("Sister city", "zh-CN") == ("zh", "hint")
    assert choose_language("x" * (SHORT_TEXT_CHARS - 1), "de") == ("de", "hint")
    # long enough: the text decides, whatever the source says
    assert choose_language(SAMPLES["en"][1], "zh") == ("en", "identified")


def test_short_text_without_hint_is_still_identified() -> None:
    assert choose_language("孔子学院关闭", None) == ("zh", "identified")


def test_no_letters() -> None:
    assert choose_language("2024-05-02 12:00 | 3 / 4", None) == (None, "unknown")
    assert choose_language("", "en") == ("en", "hint")
    assert detect_language("") is None


@pytest.mark.parametrize(
    ("hint", "expected"),
    [("zh-Hant", "zh"), ("en_US", "en"), (" EN ", "en"), ("", None), (None, None), ("fr", "fr")],
)
def test_normalise_hint(hint: str | None, expected: str | None) -> None:
    assert normalise_hint(hint) == expected


def test_step_sets_language_and_match_text() -> None:
    context = make_context()
    article = Article(
        url="https://news.example/a",
        canonical_url="https://news.example/a",
        title="鎮江代表團訪問 Riverton",
        text="Le CONSEIL municipal a voté. 市議會批准了友好城市協議。",
        comments="A reader's Comment about Zhenjiang",
    )
    identify_language(article, context)
    assert article.language in ("zh", "fr")
    assert article.match_text == fold(article.title + "\n" + article.text)
    assert len(article.match_text) == len(article.title) + 1 + len(article.text)
    assert "镇江代表团访问 riverton" in article.match_text  # traditional -> simplified, lowercase
    assert "le conseil municipal a vote" in article.match_text  # accents folded
    assert "市议会批准了友好城市协议" in article.match_text
    assert "comment" not in article.match_text
    assert article.text.startswith("Le CONSEIL")  # the original stays for display
    assert context.stats.get("language/identified") == 1


def test_comments_are_matched_only_when_asked() -> None:
    context = make_context(EnrichOptions(match_comments=True))
    article = Article(url="u", canonical_url="u", title="T", text="Body", comments="Reader COMMENT")
    identify_language(article, context)
    assert article.match_text == "t\nbody\nreader comment"


def test_step_uses_the_hint_for_a_bare_title() -> None:
    context = make_context()
    article = Article(url="u", canonical_url="u", title="友城", language_hint="zh-TW")
    identify_language(article, context)
    assert article.language == "zh"
    assert context.stats.get("language/hint") == 1


def test_fixture_pages_languages() -> None:
    """The saved pages (en, zh, ja, de) through extraction and language, as in the chain."""
    from tests.enrich.test_extraction import MANIFEST, read_page, run_step

    for page in MANIFEST:
        article, _ = run_step(read_page(page["file"]), page["url"])
        identify_language(article, make_context())
        assert article.language == page["language"], page["file"]
