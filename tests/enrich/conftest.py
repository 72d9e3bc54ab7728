"""Shared resources of the tagging tests: the gazetteer and matchers are built once per run."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from crawler.article import Article
from crawler.stats import Stats
from crawler.textnorm import fold
from enrich.context import EnrichContext, EnrichOptions
from enrich.entities import EntityMatcher, tag_entities
from enrich.events import classify_events
from enrich.places import Gazetteer, tag_places
from enrich.relevance import score_relevance

# the watchlist the labelled set assumes (DOMAIN.md's example of a watched person)
WATCHED: list[dict[str, object]] = [
    {
        "id": "zhou-zheng",
        "name": "Zhou Zheng",
        "type": "person",
        "aliases": ["周正"],
        "country": "CN",
    },
]
TAGGING_STEPS = (tag_places, tag_entities, classify_events, score_relevance)


@pytest.fixture(scope="session")
def gazetteer() -> Gazetteer:
    return Gazetteer.load()


@pytest.fixture(scope="session")
def entity_matcher() -> EntityMatcher:
    return EntityMatcher.load(watched=list(WATCHED), extra=[])


@pytest.fixture()
def context(gazetteer: Gazetteer, entity_matcher: EntityMatcher) -> EnrichContext:
    # the story index belongs to clustering, which these steps never touch
    return EnrichContext(
        gazetteer=gazetteer,
        entities=entity_matcher,
        stories=None,  # type: ignore[arg-type]
        options=EnrichOptions(),
        stats=Stats(),
    )


def make_article(title: str, text: str, language: str = "en") -> Article:
    """An article as the steps see it after extraction and language identification."""
    article = Article(
        url="https://example.org/a",
        canonical_url="https://example.org/a",
        title=title,
        text=text,
        language=language,
    )
    article.match_text = fold(title + "\n" + text)
    return article


@pytest.fixture()
def tag(context: EnrichContext) -> Callable[..., Article]:
    """tag(title, text) -> the article after the four tagging steps."""

    def run(title: str, text: str, language: str = "en") -> Article:
        article = make_article(title, text, language)
        for step in TAGGING_STEPS:
            step(article, context)
        return article

    return run
