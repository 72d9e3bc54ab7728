"""The records that flow through watchdesk: a feed entry, a fetched page, the enriched article.

Every stage boundary speaks these types; third-party objects (feedparser dicts, trafilatura
documents, Scrapy responses) are converted to them at the edge, in the one module that imports
each library.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from crawler.textnorm import fold

EntityType = Literal["place", "org", "person", "country"]


def article_id(canonical_url: str) -> str:
    """Deterministic id of an article: the first 16 hex digits of SHA-1 of its canonical URL.

    Every write keyed by it is idempotent (Media Cloud's story-indexer does the same).
    """
    return hashlib.sha1(canonical_url.encode("utf-8")).hexdigest()[:16]


@dataclass(slots=True)
class FeedEntry:
    """One item of a feed, as watchdesk keeps it (converted from feedparser's dict)."""

    link: str
    title: str = ""
    summary: str = ""
    guid: str = ""
    published: datetime | None = None
    updated: datetime | None = None
    author: str = ""
    # the outlet the aggregator names for this item (Google News' `<source url=...>Name`)
    publisher: str = ""
    publisher_url: str = ""
    # the link as the aggregator listed it, when `link` is the publisher URL found behind it
    aggregator_link: str = ""
    # an aggregator link that could not be resolved: the entry is all there is (no fetch)
    unresolved: bool = False


@dataclass(slots=True)
class Page:
    """A fetched page handed from the crawler to the pipeline.

    `url` is the link the source listed, `final_url` where the page answered (after
    redirects), `canonical_url` the key the crawler chose for it (the final URL, or its
    `rel=canonical` on the same registered domain; empty: the canonical form of `url`).
    `links` are `(link_id, url)` of the listed links that led here under another key, recorded
    with the article. `first_poll`: found by the first successful poll of its source (the
    service may seed it without alerting). `unresolved`: an aggregator link that could not be
    resolved to its publisher (the page is the feed entry alone, never the aggregator's).
    """

    url: str
    source: str
    html: str
    status: int = 200
    final_url: str = ""
    entry: FeedEntry | None = None
    language_hint: str | None = None
    source_tags: list[str] = field(default_factory=list)
    fetched: datetime | None = None
    canonical_url: str = ""
    links: list[tuple[str, str]] = field(default_factory=list)
    first_poll: bool = False
    unresolved: bool = False
    publisher: str = ""
    # the source's label (`SourceConfig.label`), "" when it has none
    label: str = ""


@dataclass(slots=True)
class Entity:
    """Something the article mentions: a place, an organisation, a watched person, a country.

    `id` is stable across runs: `geonames:<id>` for gazetteer places, `country:<ISO>`,
    `org:<slug>`, `person:<slug>`.
    """

    id: str
    name: str
    type: EntityType
    country: str | None = None
    region: str | None = None
    lat: float | None = None
    lon: float | None = None
    mentions: int = 0
    # (start, end) character offsets into Article.text; the first few only.
    offsets: list[tuple[int, int]] = field(default_factory=list)
    # what a place is (country, state, city, province, ...): helps the relevance step.
    kind: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["offsets"] = [list(o) for o in self.offsets]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Entity:
        d = dict(d)
        d["offsets"] = [tuple(o) for o in d.get("offsets", [])]
        return cls(**d)


@dataclass(slots=True)
class Article:
    """The enriched article: what `watchdesk extract --json` prints and what the store keeps.

    The crawler fills the fetch fields; each enrichment step of the service's `PIPELINE` fills its
    own fields and nothing else.
    """

    url: str
    canonical_url: str
    # the configured source (feed) it came through; shown to people as "via"
    source: str = ""
    # the outlet that published it: the aggregator's `<source>`, `og:site_name`, JSON-LD
    # `publisher`, else the host; shown to people as the source
    publisher: str = ""
    # an aggregator link that could not be resolved: title and text are the feed entry's
    unresolved: bool = False
    # the label of the source it came through (`SourceConfig.label`: state_media, wire, ...;
    # "" = none), copied from the config when the page is fetched and stored with the article,
    # so that search, facets and Elasticsearch read it like any field, and an article keeps
    # it when its source later leaves the config
    label: str = ""
    # raw input, not stored by default
    html: str = ""
    entry: FeedEntry | None = None
    source_tags: list[str] = field(default_factory=list)
    fetched: datetime | None = None
    # extraction
    title: str = ""
    text: str = ""
    comments: str = ""
    author: str = ""
    site_name: str = ""
    published: datetime | None = None
    extractor: str = ""  # "trafilatura", "feed_summary", "none"
    fallback: bool = False  # True when the text came from the feed summary
    # language and normalisation
    language: str | None = None
    language_hint: str | None = None
    match_text: str = ""  # title + text, lowercased, accent-folded, traditional->simplified
    # tagging
    entities: list[Entity] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    evidence: dict[str, list[str]] = field(default_factory=dict)
    # where the exchange-kind cues are in title + "\n" + text (set by the events step for the
    # relevance step; None until classified; not stored)
    event_spans: list[tuple[int, int]] | None = None
    relevance: float = 0.0
    relevance_reasons: list[str] = field(default_factory=list)
    # stories
    content_hash: str = ""
    fingerprint: bytes | None = None  # near-duplicate signature (MinHash), persisted for reuse
    cluster_id: str | None = None
    is_cluster_lead: bool = True

    @property
    def id(self) -> str:
        return article_id(self.canonical_url)

    def places(self) -> list[Entity]:
        return [e for e in self.entities if e.type == "place"]

    def to_dict(self, *, include_raw: bool = False) -> dict[str, Any]:
        """JSON-ready dict of the article (dates as ISO strings, fingerprint omitted)."""
        d: dict[str, Any] = {
            "id": self.id,
            "url": self.url,
            "canonical_url": self.canonical_url,
            "source": self.source,
            "publisher": self.publisher,
            "via": self.source,
            "label": self.label,
            "unresolved": self.unresolved,
            "title": self.title,
            "text": self.text,
            "comments": self.comments,
            "author": self.author,
            "site_name": self.site_name,
            "published": self.published.isoformat() if self.published else None,
            "fetched": self.fetched.isoformat() if self.fetched else None,
            "extractor": self.extractor,
            "fallback": self.fallback,
            "language": self.language,
            "entities": [e.to_dict() for e in self.entities],
            "countries": list(self.countries),
            "events": list(self.events),
            "evidence": {k: list(v) for k, v in self.evidence.items()},
            "relevance": round(self.relevance, 4),
            "relevance_reasons": list(self.relevance_reasons),
            "cluster_id": self.cluster_id,
            "is_cluster_lead": self.is_cluster_lead,
            "content_hash": self.content_hash,
            "source_tags": list(self.source_tags),
        }
        if include_raw:
            d["html"] = self.html
        return d


def facets(article: Article) -> set[tuple[str, str]]:
    """The (field, value) pairs filters and facets use; values folded like query terms."""
    out: set[tuple[str, str]] = set()
    for code in article.countries:
        out.add(("country", code.upper()))
    for label in article.events:
        out.add(("event", label))
    for ent in article.entities:
        if ent.country:
            out.add(("country", ent.country.upper()))
        if ent.region:
            out.add(("region", fold(ent.region)))
        out.add(("entity", ent.id))
        out.add(("entity", fold(ent.name)))
        if ent.type == "place":
            out.add(("place", ent.id))
            out.add(("place", fold(ent.name)))
    return out
