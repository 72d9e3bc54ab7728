"""Organisations and watched entities: exact, explainable matches of names and aliases.

The seed organisations live in `data/organisations.yaml`; editors add organisations in config
(`extra`) and people/organisations/places in watchlists (`watched`). Every entity is found by
its listed names only (one Aho-Corasick pass), so each tag can be explained by the phrase and
offset that produced it; acronyms (CPAFFC, UFWD) must match with their exact case.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, cast

from crawler.article import Article, Entity, EntityType
from crawler.stats import Stats
from crawler.textnorm import fold
from enrich.gazetteer import load_data_file
from enrich.phrases import PhraseMatcher, is_latin_start
from enrich.text import article_text

# Up to this many offsets are kept per entity (Entity contract: "the first few").
MAX_OFFSETS = 10
# An alias written in capitals and at most this long is an acronym, matched with its case:
# the longest seed acronym is NCUSCR (6).
ACRONYM_MAX_CHARS = 6

_PREFIX = {"person": "person", "org": "org", "place": "place"}
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class KnownEntity:
    """An organisation, person or place that is matched by name."""

    id: str  # org:<slug>, person:<slug>, place:<slug>
    name: str
    type: EntityType
    country: str | None
    kind: str  # organisations.yaml kind, or "watched"


class EntityDataError(ValueError):
    """An organisation or watched entity entry is malformed; the message says which."""


def _slug(value: str) -> str:
    return _SLUG.sub("-", fold(value)).strip("-")


def _is_acronym(alias: str) -> bool:
    return (
        len(alias) <= ACRONYM_MAX_CHARS and " " not in alias and alias.isupper() and alias.isascii()
    )


class EntityMatcher:
    """Finds known entities in text; `ids_for_name` answers which entities a name denotes."""

    def __init__(self) -> None:
        self.entities: list[KnownEntity] = []
        self._by_name: dict[str, set[str]] = {}
        self._matcher: PhraseMatcher[int] = PhraseMatcher()

    @classmethod
    def load(cls, watched: list[dict[str, Any]], extra: list[dict[str, Any]]) -> EntityMatcher:
        """Seed organisations + `extra` organisations (config) + `watched` entities (watchlists).

        Each entry: `{id, name, type?, country?, kind?, aliases: [...], acronyms: [...]}`;
        organisations default to type `org`. Raises EntityDataError on a malformed entry.
        """
        self = cls()
        seed = load_data_file("organisations.yaml")
        entries: list[tuple[str, Mapping[str, Any]]] = []
        for i, entry in enumerate(cast(list[Any], seed)):
            entries.append((f"organisations.yaml entry {i + 1}", entry))
        entries += [(f"extra organisation {i + 1}", e) for i, e in enumerate(extra)]
        entries += [(f"watched entity {i + 1}", e) for i, e in enumerate(watched)]
        for where, entry in entries:
            self._add_entry(where, entry)
        self._matcher.freeze()
        return self

    def _add_entry(self, where: str, entry: Mapping[str, Any]) -> None:
        if not isinstance(entry, Mapping) or not entry.get("id") or not entry.get("name"):
            raise EntityDataError(f"{where}: needs at least `id` and `name`")
        etype = str(entry.get("type") or "org")
        if etype not in _PREFIX:
            raise EntityDataError(f"{where}: type must be person, org or place, not {etype!r}")
        raw_id = str(entry["id"])
        eid = (
            raw_id
            if raw_id.startswith(f"{_PREFIX[etype]}:")
            else f"{_PREFIX[etype]}:" + (_slug(raw_id) or raw_id)
        )
        kind = str(entry.get("kind") or "watched")
        entity = KnownEntity(
            eid, str(entry["name"]), cast(EntityType, etype), entry.get("country"), kind
        )
        self.entities.append(entity)
        index = len(self.entities) - 1
        aliases = _strings(where, entry.get("aliases", []))
        acronyms = _strings(where, entry.get("acronyms", []))
        for name in [entity.name, *aliases]:
            if _is_acronym(name):
                acronyms.append(name)
                continue
            # a one-word Latin alias must be capitalised in the text ("Hanban", not "hanban")
            one_word = " " not in name.strip() and is_latin_start(name)
            self._matcher.add(name, index, capitalised=one_word)
            self._by_name.setdefault(fold(name.strip()), set()).add(eid)
        for acronym in acronyms:
            self._matcher.add(acronym, index, case_sensitive=True)
            self._by_name.setdefault(fold(acronym), set()).add(eid)
        # The id as the editor wrote it names the entity too: README's watchlists say
        # `entity:zhou-zheng` for `{id: zhou-zheng, type: person}`, which is tagged as
        # `person:zhou-zheng`; without this the query matched no article anywhere (issue 18).
        for key in {raw_id, eid, eid.split(":", 1)[1]}:
            self._by_name.setdefault(fold(key), set()).add(eid)

    def ids_for_name(self, name: str) -> set[str]:
        """Ids of the entities that have `name` as name, alias, acronym or id (with or without
        its `person:`/`org:`/`place:` prefix), fold-insensitive."""
        return set(self._by_name.get(fold(name.strip()), set()))

    def find(self, original: str, folded: str) -> list[tuple[KnownEntity, int, int]]:
        """(entity, start, end) for every match in `original` (`folded` = fold(original))."""
        out: list[tuple[KnownEntity, int, int]] = []
        for hit in self._matcher.find(original, folded):
            for index in dict.fromkeys(hit.payloads):
                out.append((self.entities[index], hit.start, hit.end))
        return out


def _strings(where: str, value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise EntityDataError(f"{where}: aliases and acronyms must be lists of strings")
    return [v for v in value if v.strip()]


class EntityContext(Protocol):
    """The parts of the enrichment context the entity step reads.

    A protocol rather than `enrich.context.EnrichContext` itself, which names this module's
    resource: the context module then imports the steps' modules and none of them imports it.
    """

    entities: EntityMatcher
    stats: Stats


def tag_entities(article: Article, context: EntityContext) -> None:
    """Append organisations and watched people/places to `article.entities` (replacing the
    ones an earlier run added); mentions are merged per entity with up to 10 offsets into
    `article.text` (mentions in the title count but carry no offset)."""
    text = article_text(article)
    original, folded, body_start = text.original, text.folded, text.body_start
    matcher = context.entities
    merged: dict[str, Entity] = {}
    for known, start, end in matcher.find(original, folded):
        entity = merged.get(known.id)
        if entity is None:
            entity = Entity(
                id=known.id,
                name=known.name,
                type=known.type,
                country=known.country,
                kind=known.kind,
            )
            merged[known.id] = entity
        entity.mentions += 1
        if start >= body_start and len(entity.offsets) < MAX_OFFSETS:
            entity.offsets.append((start - body_start, end - body_start))
    own = {e.id for e in matcher.entities}
    kept = [e for e in article.entities if e.id not in own]
    article.entities = kept + list(merged.values())
    context.stats.inc("enrich/entities/tagged", len(merged))


def entity_ids(entities: Iterable[Entity], kind: str) -> list[str]:
    """Ids of the entities of one `kind` (helper for relevance and alerts)."""
    return [e.id for e in entities if e.kind == kind]
