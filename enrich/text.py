"""The text every tagging step reads, set up once: title and body as one string, folded.

Offsets the steps find are into `original`; `body_start` is where the body begins in it, so a
step subtracts it to get offsets into `article.text` (mentions in the title carry none).
"""

from __future__ import annotations

from dataclasses import dataclass

from crawler.article import Article
from crawler.textnorm import fold


@dataclass(frozen=True, slots=True)
class ArticleText:
    original: str  # title + "\n" + text
    folded: str  # fold(original): what the matchers scan
    body_start: int  # index of the body's first character in `original`


def article_text(article: Article) -> ArticleText:
    """The title and body of `article` as the tagging steps read them.

    Reuses `article.match_text` (the language step's fold of the same string) when it is
    current, which saves folding the text once per step."""
    original = article.title + "\n" + article.text
    folded = article.match_text if len(article.match_text) == len(original) else fold(original)
    return ArticleText(original, folded, len(article.title) + 1)


def place_starts(article: Article, body_start: int) -> list[int]:
    """Where the tagged places and countries start in the combined text (events read them)."""
    return [
        s + body_start
        for e in article.entities
        if e.type in ("place", "country")
        for s, _ in e.offsets
    ]
