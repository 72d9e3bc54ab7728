"""Running enrichment steps, and loading the resources they share.

Each step is a plain function `step(article, context) -> None` that fills its own fields of the
article; shared resources (gazetteer, organisation list, watched entities, the story index) come
in the `EnrichContext`, never from globals. The order of the steps is the service's `PIPELINE`
(watchdesk/service/processor.py), the one list of an article's journey.
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


EnrichmentStep = Callable[[Article, EnrichContext], None]


def run_enrichment_step(step: EnrichmentStep, article: Article, context: EnrichContext) -> None:
    """Run one step over the article.

    A step that raises is logged and counted (`enrich/error/<step>`) and the journey goes on:
    an article with one tag missing is still worth storing and alerting on, a lost one is not.
    """
    try:
        step(article, context)
    except Exception:
        name = getattr(step, "__name__", repr(step))
        context.stats.inc(f"enrich/error/{name}")
        log.exception("enrichment step failed step=%s url=%r", name, article.url)


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
