"""Place tagging: countries, US states/counties/cities, Chinese provinces/cities, Taiwan.

`Gazetteer.load()` turns the records of `enrich.gazetteer` into one name rule per folded
name and one Aho-Corasick automaton; `tag_places` finds names in one pass and resolves each
with the article's context (a state after a comma, a region named elsewhere, a capital used for
its government). Tagging is deterministic: the same text always yields the same entities.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, replace
from typing import Any, Protocol

from crawler.article import Article, Entity
from crawler.stats import Stats
from crawler.textnorm import fold, has_cjk
from enrich.gazetteer import GazetteerData, Place, build_gazetteer_data
from enrich.phrases import Hit, PhraseMatcher, is_latin_start
from enrich.text import article_text

log = logging.getLogger(__name__)

# A US city named on its own must have at least this many people: 50,000 is the Census
# Bureau's population for an urbanized area / the core city of a metropolitan statistical area,
# the size at which a city name is read without its state in national copy.
US_BARE_MIN_POPULATION = 50_000
# Chinese and Taiwanese places named on their own: 100,000 keeps prefecture- and county-level
# cities and drops GeoNames' towns and townships, whose short pinyin names recur across
# provinces and double as given names (654 distinct CN names remain, read one by one when
# writing the stop-list of places.yaml).
CN_BARE_MIN_POPULATION = 100_000
# Below a bare tier, a place may still resolve when its state/province is tagged elsewhere in
# the same article, if it is at least GeoNames' cities15000 tier (Oxford, Mississippi: 22,314).
# Smaller places need their state right next to them ("China, Maine": 4,269).
DOC_CONTEXT_MIN_POPULATION = 15_000
# A bare name shared by several places goes to the largest only when it is this many times
# bigger than any other place of that name (US/CN/TW places, foreign cities of 15,000+,
# countries). A judgement call, checked on the labelled set: Portland OR/ME (9.6x) resolves,
# Rochester NY/MN (1.9x), Columbus OH/GA (4.5x) and Jackson MS/TN (2.4x) stay ambiguous.
DOMINANCE_RATIO = 5.0
# How far after a place an appositive may name its state ("Rochester, a town of about
# 120,000 people in southern Minnesota" is 52 characters); one clause, not the next sentence.
APPOSITIVE_MAX_CHARS = 90
# Up to this many offsets are kept per entity (Article.Entity contract: "the first few").
MAX_OFFSETS = 10
# A title is in headline case when this share of its words start with a capital; then
# capitalisation says nothing about names and the person-name guard is skipped.
TITLE_CASE_SHARE = 0.6

_REGION_KINDS = frozenset(
    {
        "country",
        "state",
        "district",
        "territory",
        "province",
        "autonomous_region",
        "sar",
        "municipality",
    }
)
_US_STATE_KINDS = frozenset({"state", "district", "territory"})
# the word right before a name, on the same line (a title or a dateline starts afresh)
_PREVIOUS_WORD = re.compile(r"([^\W\d_]+)[ \t]+$")
_LINE_START = re.compile(r"(?:^|\n)[ \t]*$")
# "BEIJING — ", "BEIJING, May 3 -", "Beijing (Reuters) -": a dateline is a place
_DATELINE_AFTER = re.compile(r"\s*(?:[\u2014\u2013-]|,|\()")
_POSSESSIVE = re.compile(r"['\u2019]s\b")
_CAPITALISED = re.compile(r"[^\W\d_][\w.'\u2019-]*")
# what separates a place from the region that qualifies it: "Oxford, Mississippi",
# "Canton (Ohio)"
_BEFORE_REGION = re.compile(r",\s*$|\s*\(\s*$")
# words after a name that make it a place: "Oxford, a town ...", "Rochester city council"
_PLACE_NOUN_AFTER = re.compile(
    r"(?:\s*,\s*(?:a|an|the)\s+(?:\w+\s+){0,2}(?:town|city|village|suburb|community|county)"
    r"|\s+(?:city|town|village|county|mayor|council|officials|residents|police|schools))\b"
)
# a state abbreviation after a comma or parenthesis: "Miss.", "W. Va.", "MN"
_ABBREVIATION = re.compile(r"[,(]\s*((?:[A-Z][a-z]{0,4}\.\s?){1,2}|[A-Z]{2}\b)")
# "China, Ohio and Michigan" / "China, Ohio, Michigan" is a list of places, not a town in Ohio
_LIST_GOES_ON = re.compile(r"\s*,?\s*(?:(?:and|or|&)\s+)?")
_NEXT_BASED = re.compile(r"^-based\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class NameRule:
    """How one folded name resolves. Indices point into `Gazetteer.places`."""

    key: str
    default: tuple[int, ...]  # tagged for a bare mention; empty when context is needed
    candidates: tuple[int, ...]  # every place it can denote; an explicit state/province picks
    doc_candidates: tuple[int, ...]  # may resolve through a region tagged elsewhere
    regions: tuple[int, ...]  # the region-level places it names (as context for a neighbour)
    metonym: int | None  # country this capital stands for ("Washington" -> US)
    locative_is_city: bool  # a locative word before it makes it the city ("in Beijing")
    single_word: bool  # a single Latin word: subject to the person-name guard
    region_codes: frozenset[str]  # codes of `regions` ("US-ME", "CN"): what it gives as context
    guarded: bool  # the person-name guard applies (single word, not a China/US/Taiwan stand-in)


@dataclass(slots=True)
class _Mention:
    start: int
    end: int
    rule: NameRule | None  # None: found without the automaton (a small town, an abbreviation)
    places: tuple[int, ...] = ()
    codes: frozenset[str] = frozenset()  # region codes of a state abbreviation ("Miss.")
    town: tuple[str, str] | None = None  # (name, region code) of a town the gazetteer lacks
    explicit: bool = False  # resolved by a region written right next to it
    spread: bool = False  # its sense carries to bare mentions of the same name


class Gazetteer:
    """Places and their names, with the automaton that finds them. Build once per process."""

    def __init__(self, data: GazetteerData, rules: list[NameRule], matcher: PhraseMatcher[int]):
        self.places = data.places
        self.data = data
        self.rules = rules
        self.matcher = matcher
        self._state_names = {
            p.region_code: p.name
            for p in data.places
            if p.kind in _US_STATE_KINDS and p.region_code
        }

    @classmethod
    def load(cls) -> Gazetteer:
        """Read the gazetteer sources and build the name rules, once per process (1.4 s of CPU
        measured on the dev machine; the brief's budget is 2 s)."""
        started = time.perf_counter()
        data = build_gazetteer_data()
        rules, matcher = _build_rules(data)
        names = len(rules)
        # read only while building the rules: ~4 MB of the service's resident memory
        data.names = []
        data.foreign_population = {}
        log.info(
            "gazetteer: %d places, %d names in %.2fs",
            len(data.places),
            names,
            time.perf_counter() - started,
        )
        return cls(data, rules, matcher)

    def find(
        self, original: str, folded: str, *, body_start: int = 0, title_case: bool = False
    ) -> list[tuple[Place | Entity, int, int]]:
        """Resolved place mentions of `original` as (place, start, end), in text order.

        `folded` is fold(original); `body_start` is where the body begins (title before it);
        `title_case` says the title is in headline case. A US town the gazetteer lacks
        ("Shanghai, West Virginia") comes back as an Entity with a `place:` id.
        """
        mentions = [
            _Mention(h.start, h.end, self.rules[h.payloads[0]])
            for h in self.matcher.find(original, folded)
        ]
        mentions = [
            m for m in mentions if not self._person_name(m, original, body_start, title_case)
        ]
        mentions = self._resolve_explicit(mentions, original, folded)
        self._resolve_defaults(mentions, folded)
        self._resolve_from_document(mentions, folded)
        out: list[tuple[Place | Entity, int, int]] = []
        for m in mentions:
            if m.town is not None:
                name, code = m.town
                out.append(
                    (self._town_entity(name, code, self._state_names.get(code)), m.start, m.end)
                )
            for idx in m.places:
                out.append((self.places[idx], m.start, m.end))
        return out

    # -- guards --------------------------------------------------------------------------

    def _person_name(self, m: _Mention, original: str, body_start: int, title_case: bool) -> bool:
        """A single-word city/state right after a capitalised word is part of a name
        ("Paul Allen", "Sam Houston", "Baja California")."""
        if m.rule is None or not m.rule.guarded:
            return False
        if title_case and m.start < body_start:
            return False
        prev = _PREVIOUS_WORD.search(original, max(0, m.start - 40), m.start)
        if prev is None:
            return False
        word = prev.group(1)
        return word[0].isupper() and fold(word) not in self.data.allowed_preceders

    # -- explicit context ------------------------------------------------------------------

    def _regions_of(self, m: _Mention) -> set[str]:
        """Region codes a mention supplies as context ("Maine" -> {"US-ME"}, "China" -> {"CN"})."""
        return set(m.codes) if m.rule is None else set(m.rule.region_codes)

    def _abbreviations(self, original: str) -> list[_Mention]:
        """State abbreviations right after a comma ("Oxford, Miss.", "Rochester, MN"), as
        mentions of their state. Kept out of the automaton: two-letter codes hit everywhere."""
        out: list[_Mention] = []
        for m in _ABBREVIATION.finditer(original):
            idx = self.data.abbreviations.get(m.group(1).strip())
            if idx is not None:
                code = self.places[idx].region_code or "US"
                out.append(
                    _Mention(
                        m.start(1),
                        m.start(1) + len(m.group(1).strip()),
                        None,
                        (idx,),
                        codes=frozenset({code}),
                    )
                )
        return out

    def _resolve_explicit(
        self, mentions: list[_Mention], original: str, folded: str
    ) -> list[_Mention]:
        """A region written right next to a place picks among its candidates: "Oxford,
        Mississippi", "Canton (Ohio)", "China, Maine" (through the towns table), "湖北省武汉市",
        "Rochester, a town of about 120,000 people in southern Minnesota"."""
        added: list[_Mention] = []
        taken = {(m.start, m.end) for m in mentions}
        abbreviations = [
            a
            for a in self._abbreviations(original)
            if not any(s < a.end and a.start < e for s, e in taken)
        ]
        if abbreviations:
            mentions = sorted(mentions + abbreviations, key=lambda m: m.start)
        for j, region in enumerate(mentions):
            if not (region.codes or (region.rule is not None and region.rule.region_codes)):
                continue
            regions = self._regions_of(region)
            sep = _BEFORE_REGION.search(folded, max(0, region.start - 4), region.start)
            if sep is None:
                continue
            prev = mentions[j - 1] if j > 0 else None
            if prev is not None and prev.end == sep.start() and prev.rule is not None:
                if self._pick(prev, regions, original, folded):
                    if self._is_us_place(prev):
                        self._as_state(region)
                    continue
                if self._town_fallback(prev, region, mentions, j, original, folded):
                    continue
            if prev is None or prev.end <= sep.start():
                town = self._town_before(
                    sep.start(), regions, original, folded, prev.end if prev else 0
                )
                if town is not None:
                    added.append(town)
                    self._as_state(region)
        for i, m in enumerate(mentions):
            if m.explicit or m.rule is None:
                continue
            prev = mentions[i - 1] if i > 0 else None
            if (
                prev is not None
                and has_cjk(folded[m.start])
                and folded[prev.end : m.start] in ("", "的")
                and self._pick(m, self._regions_of(prev), original, folded)
            ):
                continue
            if m.rule.default and len(m.rule.candidates) == len(m.rule.default):
                continue  # nothing an appositive could change
            later = self._appositive_region(mentions, i, folded)
            if later is not None:
                self._pick(m, self._regions_of(later), original, folded)
        if added:
            mentions = sorted(mentions + added, key=lambda m: m.start)
        return mentions

    def _pick(self, m: _Mention, regions: set[str], original: str, folded: str) -> bool:
        """Resolve `m` to its largest candidate inside `regions`, or to the town of that name."""
        assert m.rule is not None
        inside = [
            i
            for i in m.rule.candidates
            if self.places[i].kind != "country"
            and (self.places[i].region_code in regions or self.places[i].country in regions)
        ]
        if not inside:
            key = folded[m.start : m.end]
            inside = [
                self.data.towns[(key, r)] for r in sorted(regions) if (key, r) in self.data.towns
            ]
        if not inside:
            return False
        best = max(inside, key=lambda i: self.places[i].population)
        m.places, m.explicit = (best,), True
        m.spread = m.rule.metonym is None and m.rule.key not in self.data.stop_names
        return True

    def _town_fallback(
        self,
        m: _Mention,
        region: _Mention,
        mentions: list[_Mention],
        j: int,
        original: str,
        folded: str,
    ) -> bool:
        """ "Peking, Illinois": a name the gazetteer knows elsewhere, followed by a US state,
        with no place of that name in the state: a US town GeoNames' 1,000+ dump lacks.
        Not when the state starts a list ("China, Ohio and Michigan")."""
        assert m.rule is not None
        if not self._names_one_state(region):
            return False
        if any(self.places[i].kind in _US_STATE_KINDS for i in m.rule.candidates):
            return False  # "California, Texas": a list of states
        nxt = mentions[j + 1] if j + 1 < len(mentions) else None
        if (
            nxt is not None
            and _LIST_GOES_ON.fullmatch(folded, region.end, nxt.start)
            and (self._names_one_state(nxt))
        ):
            return False
        surface = original[m.start : m.end]
        if not is_latin_start(surface):
            return False
        state = self.places[(region.rule.default if region.rule is not None else region.places)[0]]
        m.town, m.explicit, m.spread = (surface, state.region_code or "US"), True, True
        self._as_state(region)
        return True

    def _town_before(
        self, comma: int, regions: set[str], original: str, folded: str, floor: int
    ) -> _Mention | None:
        """A small place (not in the automaton) right before ", <region>": look up the
        capitalised words before the comma in the towns table, longest first."""
        words = list(_CAPITALISED.finditer(original, max(floor, comma - 60), comma))
        # keep the run of capitalised words that ends at the comma
        run: list[re.Match[str]] = []
        for w in reversed(words):
            if (run and run[0].start() - w.end() > 1) or not w.group(0)[0].isupper():
                break
            if not run and w.end() != comma:
                break
            run.insert(0, w)
        for k in range(len(run)):
            start = run[k].start()
            key = folded[start:comma]
            for r in sorted(regions):
                idx = self.data.towns.get((key, r))
                if idx is not None:
                    return _Mention(start, comma, None, (idx,), explicit=True)
        return None

    def _appositive_region(self, mentions: list[_Mention], i: int, folded: str) -> _Mention | None:
        m = mentions[i]
        for later in mentions[i + 1 :]:
            if later.start - m.end > APPOSITIVE_MAX_CHARS:
                return None
            if later.rule is None or not later.rule.regions:
                continue
            between = folded[m.end : later.start]
            head = re.match(r"\s*,\s+(\w+)\b", between)
            if (
                head
                and head.group(1) in self.data.appositive_heads
                and not re.search(r"[.;!?]", between)
                and re.search(r"\bin\s+(?:\w+\s+)?$", between)
            ):
                return later
            return None
        return None

    def _names_one_state(self, m: _Mention) -> bool:
        """The mention plainly names a US state (its default reading, or an abbreviation)."""
        pool = m.rule.default if m.rule is not None else m.places
        return len(pool) == 1 and self.places[pool[0]].kind in _US_STATE_KINDS

    def _is_us_place(self, m: _Mention) -> bool:
        return m.town is not None or any(
            self.places[i].country == "US" and self.places[i].kind not in _REGION_KINDS
            for i in m.places
        )

    def _as_state(self, m: _Mention) -> None:
        """A region used as context after a US place ("Spokane, Washington", "Oxford, Miss.")
        is the state, not the federal government or the country of Georgia."""
        if m.rule is None:
            return
        states = [i for i in m.rule.candidates if self.places[i].kind in _US_STATE_KINDS]
        if states:
            m.places, m.explicit = (states[0],), True

    # -- defaults and document context -----------------------------------------------------

    def _resolve_defaults(self, mentions: list[_Mention], folded: str) -> None:
        """Bare mentions: one sense per discourse first (Gale, Church & Yarowsky 1992: a name
        resolved explicitly keeps that sense in the whole article, so the second "Canton" of a
        "Canton, Ohio" story is still in Ohio), then the name's default, then a capital
        standing for its government."""
        spread: dict[str, _Mention] = {}
        for m in mentions:
            if m.spread and m.rule is not None:
                spread.setdefault(m.rule.key, m)
        for m in mentions:
            if m.explicit or m.rule is None:
                continue
            first = spread.get(m.rule.key)
            if first is not None:
                m.places, m.town = first.places, first.town
                continue
            m.places = m.rule.default
            if m.rule.metonym is not None:
                m.places = (self._metonym(m, folded),)

    def _metonym(self, m: _Mention, folded: str) -> int:
        rule = m.rule
        assert rule is not None and rule.metonym is not None
        if rule.locative_is_city:
            city = next((i for i in rule.candidates if self.places[i].kind == "municipality"), None)
            if _POSSESSIVE.match(folded, m.end):
                return rule.metonym  # "Beijing's principle", "agree to Beijing's terms"
            prev = _PREVIOUS_WORD.search(folded, max(0, m.start - 40), m.start)
            locative = prev is not None and prev.group(1) in self.data.locative_words
            dateline = (
                _LINE_START.search(folded, max(0, m.start - 40), m.start) is not None
                and _DATELINE_AFTER.match(folded, m.end) is not None
            )
            if city is not None and (locative or dateline or _NEXT_BASED.match(folded, m.end)):
                return city
        return rule.metonym

    def _resolve_from_document(self, mentions: list[_Mention], folded: str) -> None:
        """Still-ambiguous names pick the one candidate whose state/province the article names
        ("Oxford" in a story that also says "Mississippi"), when the sentence uses the name as
        a place ("in Oxford", "mayor of Rochester", "Oxford city council"); "Georgia" is the
        state when the article has other US places."""
        regions: set[str] = set()
        countries: set[str] = set()
        for m in mentions:
            for i in m.places:
                p = self.places[i]
                if p.kind != "country":
                    regions.add(p.region_code or "")
                    countries.add(p.country)
            if m.town:
                regions.add(m.town[1])
                countries.add("US")
        for m in mentions:
            if m.places or m.town or m.rule is None or not m.rule.doc_candidates:
                continue
            fits = [
                i
                for i in m.rule.doc_candidates
                if (
                    self.places[i].kind in _REGION_KINDS
                    and self.places[i].country in countries
                    and self.places[i].kind != "country"
                )
                or (
                    self.places[i].kind not in _REGION_KINDS
                    and self.places[i].region_code in regions
                )
            ]
            if len(fits) == 1 and (
                self.places[fits[0]].kind in _REGION_KINDS or self._used_as_place(m, folded)
            ):
                m.places = (fits[0],)

    def _used_as_place(self, m: _Mention, folded: str) -> bool:
        prev = _PREVIOUS_WORD.search(folded, max(0, m.start - 40), m.start)
        if prev is not None and (
            prev.group(1) in self.data.locative_words or prev.group(1) == "of"
        ):
            return True
        return _PLACE_NOUN_AFTER.match(folded, m.end) is not None

    @staticmethod
    def _town_entity(name: str, region_code: str, state: str | None) -> Entity:
        """A US town GeoNames' 1,000+ dump lacks: stable id from its state and name, no
        coordinates (a made-up point would be worse than none)."""
        slug = re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-")
        return Entity(
            id=f"place:{region_code.lower()}-{slug}",
            name=name.title(),
            type="place",
            country="US",
            region=state or region_code,
            kind="town",
        )


def _build_rules(data: GazetteerData) -> tuple[list[NameRule], PhraseMatcher[int]]:
    """Group names by folded key and decide, per key, what a mention of it means."""
    by_key: dict[str, dict[str, list[int]]] = {}
    surfaces: dict[str, list[tuple[str, bool]]] = {}
    folded: dict[str, str] = {}
    for n in data.names:
        key = folded.get(n.surface)
        if key is None:
            key = folded[n.surface] = fold(n.surface)
        roles = by_key.setdefault(key, {})
        roles.setdefault(n.role, [])
        if n.place not in roles[n.role]:
            roles[n.role].append(n.place)
        surfaces.setdefault(key, []).append((n.surface, n.case_sensitive))
    rules: list[NameRule] = []
    matcher: PhraseMatcher[int] = PhraseMatcher()
    shared: dict[object, object] = {}
    for key, roles in by_key.items():
        rule = _shared_parts(_rule_for(key, roles, data), shared)
        rules.append(rule)
        seen: set[tuple[str, bool]] = set()
        for surface, cs in surfaces[key]:
            if (surface, cs) in seen:
                continue
            seen.add((surface, cs))
            matcher.add_folded(key, surface, len(rules) - 1, case_sensitive=cs, capitalised=not cs)
    for phrase in data.blockers:
        matcher.add_blocker(phrase)
    return rules, matcher.freeze()


def _shared_parts(rule: NameRule, shared: dict[object, object]) -> NameRule:
    """The rule with equal tuples and frozensets replaced by one shared instance: most rules
    repeat the same few (an empty frozenset is 216 bytes, and not a singleton in CPython),
    2.5 MB over the ~11,000 rules."""

    def one(value: Any) -> Any:
        return shared.setdefault(value, value)

    return replace(
        rule,
        default=one(rule.default),
        candidates=one(rule.candidates),
        doc_candidates=one(rule.doc_candidates),
        regions=one(rule.regions),
        region_codes=one(rule.region_codes),
    )


def _rule_for(key: str, roles: dict[str, list[int]], data: GazetteerData) -> NameRule:
    places = data.places
    admin = roles.get("admin", []) + [
        i for i in roles.get("alias", []) if i not in roles.get("admin", [])
    ]
    cities = roles.get("city", [])
    candidates = tuple(dict.fromkeys(admin + cities))
    regions = tuple(i for i in candidates if places[i].kind in _REGION_KINDS)
    single_word = " " not in key and is_latin_start(key)
    metonym: int | None = None
    locative_is_city = False
    default: tuple[int, ...] = ()
    doc: tuple[int, ...] = ()
    if key in data.combined:
        default = data.combined[key]
    elif key in data.prefer_city:
        default = (data.prefer_city[key],)
    elif key in data.metonyms:
        metonym, locative_is_city = data.metonyms[key]
        candidates = tuple(dict.fromkeys((metonym, *candidates)))
        regions = tuple(i for i in regions if i != metonym)
    elif admin and key in data.stop_names:
        doc = ()  # "Jersey", "Jordan": a country's name that is mostly something else
    elif admin:
        strong = tuple(dict.fromkeys(admin))
        if len(strong) == 1:
            default = strong
        else:
            doc = strong  # "Georgia": the state or the country, decided by the article
    elif cities and key not in data.stop_names:
        default, doc = _city_default(key, cities, data)
    stand_in = any(
        places[i].kind == "country" and places[i].country in ("CN", "US", "TW") for i in default
    )  # "Communist China", "Red China": never surnames
    return NameRule(
        key=key,
        default=default,
        candidates=candidates,
        doc_candidates=doc,
        regions=regions,
        metonym=metonym,
        locative_is_city=locative_is_city,
        single_word=single_word,
        region_codes=frozenset(places[i].region_code or places[i].country for i in regions),
        guarded=single_word and not stand_in,
    )


def _bare_min(place: Place) -> int:
    return US_BARE_MIN_POPULATION if place.country == "US" else CN_BARE_MIN_POPULATION


def _city_default(
    key: str, cities: list[int], data: GazetteerData
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    places = data.places
    counties = [i for i in cities if places[i].kind == "county"]
    towns = [i for i in cities if places[i].kind != "county"]
    doc = tuple(
        i
        for i in cities
        if places[i].kind == "county" or places[i].population >= DOC_CONTEXT_MIN_POPULATION
    )
    if counties and not towns:
        return (tuple(counties) if len(counties) == 1 else ()), doc
    eligible = [i for i in towns if places[i].population >= _bare_min(places[i])]
    if not eligible:
        return (), doc
    best = max(eligible, key=lambda i: places[i].population)
    rivals = [places[i].population for i in cities if i != best]
    rivals.append(data.foreign_population.get(key, -1))
    if places[best].population >= DOMINANCE_RATIO * max(rivals + [0]):
        return (best,), doc
    return (), doc


# -- the enrichment step -------------------------------------------------------------------


def _is_title_case(title: str) -> bool:
    words = [w for w in re.findall(r"[^\W\d_]+", title) if len(w) > 3]
    return len(words) >= 3 and sum(w[0].isupper() for w in words) / len(words) >= TITLE_CASE_SHARE


class PlaceContext(Protocol):
    """The parts of the enrichment context the places step reads.

    A protocol rather than `enrich.context.EnrichContext` itself, which names this module's
    resource: the context module then imports the steps' modules and none of them imports it.
    """

    gazetteer: Gazetteer
    stats: Stats


def tag_places(article: Article, context: PlaceContext) -> None:
    """Fill `article.entities` (places and countries, replacing earlier ones) and
    `article.countries` (sorted ISO codes of every tagged place).

    Reads `title`, `text` and `match_text` (= fold(title + "\\n" + text)); offsets are into
    `article.text`, mentions in the title count but carry no offset.
    """
    text = article_text(article)
    original, folded, body_start = text.original, text.folded, text.body_start
    found = context.gazetteer.find(
        original, folded, body_start=body_start, title_case=_is_title_case(article.title)
    )
    merged: dict[str, Entity] = {}
    for place, start, end in found:
        entity = merged.get(place.id)
        if entity is None:
            entity = _entity(place)
            merged[entity.id] = entity
        entity.mentions += 1
        if start >= body_start and len(entity.offsets) < MAX_OFFSETS:
            entity.offsets.append((start - body_start, end - body_start))
    others = [e for e in article.entities if e.type not in ("place", "country")]
    article.entities = list(merged.values()) + others
    article.countries = sorted({e.country for e in merged.values() if e.country})
    context.stats.inc("enrich/places/tagged", len(merged))


def _entity(place: Place | Entity) -> Entity:
    """A fresh Entity (mentions and offsets at zero) for a gazetteer place or a town."""
    return Entity(
        id=place.id,
        name=place.name,
        type=place.type,
        country=place.country,
        region=place.region,
        lat=place.lat,
        lon=place.lon,
        kind=place.kind,
    )


def iter_hits(gazetteer: Gazetteer, text: str) -> list[Hit[int]]:
    """Raw automaton hits of `text` (debugging aid for editors: what names were seen)."""
    return gazetteer.matcher.find(text, fold(text))
