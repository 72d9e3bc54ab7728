"""What the enrichment steps share: options and resources, built once per process.

A module of its own so that no step imports the chain that orders the steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from crawler.stats import Stats

if TYPE_CHECKING:
    from enrich.clustering import StoryIndex
    from enrich.entities import EntityMatcher
    from enrich.events import EventClassifier
    from enrich.places import Gazetteer


@dataclass
class EnrichOptions:
    """Knobs of the chain (from config `enrich:`)."""

    # below this many characters of extracted text the feed summary is used instead
    min_text_chars: int = 200
    match_comments: bool = False
    keep_html: bool = False


@dataclass
class EnrichContext:
    """What the steps share. Built once per process by `build_context` and reused."""

    gazetteer: Gazetteer
    entities: EntityMatcher
    stories: StoryIndex
    events: EventClassifier | None = None
    options: EnrichOptions = field(default_factory=EnrichOptions)
    stats: Stats = field(default_factory=Stats)
