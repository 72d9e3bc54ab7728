"""The enrichment chain: the one ordered list of steps every article goes through.

Each step is a plain function `step(article, context) -> None` that fills its own fields of the
article; shared resources (gazetteer, organisation list, watched entities, the story index) come
in the `EnrichContext`, never from globals. Reordering or adding a step happens here and only here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from crawler.article import Article
from crawler.stats import Stats
from enrich.context import EnrichContext, EnrichOptions

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


Step = Callable[[Article, EnrichContext], None]


def _steps() -> list[Step]:
    from enrich.clustering import cluster_story
    from enrich.entities import tag_entities
    from enrich.events import classify_events
    from enrich.extraction import extract_article
    from enrich.language import identify_language
    from enrich.places import tag_places
    from enrich.relevance import score_relevance

    return [
        extract_article,  # html -> title, text, date, author, site name (or the feed summary)
        identify_language,  # language, and match_text folded for matching
        tag_places,  # countries, states, cities, provinces, with coordinates
        tag_entities,  # organisations and watched people, exact and explainable
        classify_events,  # exchange kinds with their evidence phrases
        score_relevance,  # 0..1 with reasons; reads places, entities and events
        cluster_story,  # syndicated copies share a cluster_id; last, it needs the final text
    ]


STEPS: list[Step] = []


def enrich(article: Article, context: EnrichContext, steps: list[Step] | None = None) -> Article:
    """Run every step over the article, in order; returns the same (mutated) article.

    A step that raises is logged and counted (`enrich/error/<step>`) and the chain goes on:
    an article with one tag missing is still worth storing and alerting on, a lost one is not.
    """
    if not STEPS:
        STEPS.extend(_steps())
    for step in steps if steps is not None else STEPS:
        try:
            step(article, context)
        except Exception:
            name = getattr(step, "__name__", repr(step))
            context.stats.inc(f"enrich/error/{name}")
            log.exception("enrichment step failed step=%s url=%r", name, article.url)
    return article


def build_context(
    *,
    watched_entities: list[dict[str, object]] | None = None,
    extra_organisations: list[dict[str, object]] | None = None,
    options: EnrichOptions | None = None,
    stats: Stats | None = None,
) -> EnrichContext:
    """Load the shared resources (gazetteer, organisation list, story index)."""
    from enrich.clustering import StoryIndex
    from enrich.entities import EntityMatcher
    from enrich.events import EventClassifier
    from enrich.places import Gazetteer

    return EnrichContext(
        gazetteer=Gazetteer.load(),
        entities=EntityMatcher.load(
            watched=watched_entities or [], extra=extra_organisations or []
        ),
        stories=StoryIndex(),
        events=EventClassifier.load(),
        options=options or EnrichOptions(),
        stats=stats or Stats(),
    )
