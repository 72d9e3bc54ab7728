"""Articles to Elasticsearch documents and back.

The indexed fields hold exactly what the embedded store indexes (crawler.storage), normalised
the same way, so that one compiled query means the same on both: title/text in their folded
index form (`textnorm.index_text`), facet values as in `article_facets`. The article as written
is kept whole under `article` (stored, not indexed) for display and for `get_article`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from crawler.article import Article, Entity
from crawler.query import MatchDocument
from crawler.query.evaluate import present_fields
from crawler.search.request import outlet_of, sort_key, story_id
from crawler.textnorm import fold, index_text


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # the store's rule: naive means UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds")


def _entity_doc(ent: Entity) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": ent.id,
        "name": ent.name,
        "type": ent.type,
        "kind": ent.kind,
        "country": ent.country.upper() if ent.country else None,
        "region": ent.region,
        "mentions": ent.mentions,
    }
    if ent.lat is not None and ent.lon is not None:
        doc["location"] = {"lat": ent.lat, "lon": ent.lon}
    return doc


def article_document(article: Article, seq: int | None = None) -> dict[str, Any]:
    """The document indexed for an article (`seq`: its position in the store of record)."""
    countries = {c.upper() for c in article.countries}
    regions: set[str] = set()
    entity_ids: set[str] = set()
    entity_names: set[str] = set()
    place_ids: set[str] = set()
    place_names: set[str] = set()
    for ent in article.entities:
        if ent.country:
            countries.add(ent.country.upper())
        if ent.region:
            regions.add(fold(ent.region))
        entity_ids.add(ent.id)
        entity_names.add(fold(ent.name))
        if ent.type == "place":
            place_ids.add(ent.id)
            place_names.add(fold(ent.name))
    match = MatchDocument.from_article(article)
    original = article.to_dict()
    original["published"] = _iso(article.published)
    original["fetched"] = _iso(article.fetched)
    doc: dict[str, Any] = {
        "id": article.id,
        "url": article.url,
        "canonical_url": article.canonical_url,
        "source": article.source,
        "label": article.label or None,  # no label: no value, as in MatchDocument
        "language": article.language.lower() if article.language else None,
        "title": index_text(article.title),
        "text": index_text(article.text),
        # capitals kept, for `case:` clauses (crawler.query.elasticsearch.ES_FIELDS)
        "title_cased": " ".join(match.field_text("title", cased=True).tokens),
        "text_cased": " ".join(match.field_text("text", cased=True).tokens),
        "present": present_fields(match),
        "published": _iso(article.published),
        "fetched": _iso(article.fetched),
        "relevance": article.relevance,
        "relevance_reasons": list(article.relevance_reasons),
        "countries": sorted(countries),
        "regions": sorted(regions),
        "events": sorted(set(article.events)),
        "entity_ids": sorted(entity_ids),
        "entity_names": sorted(entity_names),
        "place_ids": sorted(place_ids),
        "place_names": sorted(place_names),
        "entities": [_entity_doc(e) for e in article.entities],
        "cluster_id": article.cluster_id,
        "is_cluster_lead": article.is_cluster_lead,
        # never empty, unlike cluster_id: searches collapse and count stories on it
        "story_id": story_id(article),
        # the title and outlet sorts' keys (the results table), as the embedded index's
        "title_sort": sort_key(article.title) or None,
        "outlet_sort": sort_key(outlet_of(article)) or None,
        "article": original,
    }
    if seq is not None:
        doc["seq"] = seq
    return doc


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def article_from_source(source: dict[str, Any]) -> Article:
    """The Article kept under `article` in a document's _source."""
    d = dict(source["article"])
    art = Article(url=d["url"], canonical_url=d["canonical_url"], source=d.get("source", ""))
    for name in (
        "title",
        "text",
        "comments",
        "author",
        "site_name",
        "extractor",
        "language",
        "cluster_id",
        "content_hash",
        "publisher",
        "label",
    ):
        if d.get(name) is not None:
            setattr(art, name, d[name])
    art.fallback = bool(d.get("fallback", False))
    art.unresolved = bool(d.get("unresolved", False))
    art.is_cluster_lead = bool(d.get("is_cluster_lead", True))
    art.published = _parse(d.get("published"))
    art.fetched = _parse(d.get("fetched"))
    art.relevance = float(d.get("relevance") or 0.0)
    art.relevance_reasons = list(d.get("relevance_reasons") or [])
    art.entities = [Entity.from_dict(e) for e in d.get("entities") or []]
    art.countries = list(d.get("countries") or [])
    art.events = list(d.get("events") or [])
    art.evidence = {k: list(v) for k, v in (d.get("evidence") or {}).items()}
    art.source_tags = list(d.get("source_tags") or [])
    return art


__all__ = ["article_document", "article_from_source"]
