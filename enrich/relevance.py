"""Relevance: how squarely an article ties a US local actor to China through an exchange.

A deterministic sum of named components (weights in `WEIGHTS`), capped by named penalties
(`CAPS`), each adding a human-readable reason to `article.relevance_reasons`. Reads the places,
entities and events of the earlier steps; its own vocabulary (mayor, governor, consul
general, ...) is `data/actors.yaml`.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crawler.article import Article, Entity
from enrich.events import get_classifier
from enrich.gazetteer import load_data_file
from enrich.phrases import PhraseMatcher
from enrich.text import article_text, place_starts

if TYPE_CHECKING:
    from enrich.context import EnrichContext

# The score is the sum of the components present, then capped by the penalties that apply.
# Weights are judgement, set so that each DOMAIN.md condition matters and only all together
# reach the "high" band; checked against the labelled set (tests/fixtures/labelled).
WEIGHTS: dict[str, float] = {
    # a US state, county, city, or a body that speaks for them (US Conference of Mayors)
    "us_local": 0.30,
    # a Chinese province/city, party-state organ or Confucius Institute ...
    "cn_specific": 0.30,
    # ... or only China the country (or "Chinese"): weaker, it is how national news reads
    "cn_country": 0.20,
    # at least one exchange kind (sister city, delegation, agreement, ...)
    "exchange": 0.20,
    # a US local actor, a Chinese actor and an exchange cue within TIE_WINDOW characters
    "tie": 0.20,
}
CAPS: dict[str, float] = {
    # national US-China news (tariffs, a Blinken trip): no US local actor
    "no_us_local": 0.30,
    # China-the-town, or no Chinese actor at all
    "no_china": 0.15,
    # the partner named is in Taiwan or Japan, and China only comes up in passing
    "partner_elsewhere": 0.35,
    # the only China mentions sit in closing boilerplate
    "china_only_in_boilerplate": 0.25,
}
# Bands used by alerts and the labelled set: high >= 0.7, medium >= 0.4, else low.
BANDS: tuple[tuple[str, float], ...] = (("high", 0.70), ("medium", 0.40), ("low", 0.0))
# Three ties within this many characters count as one statement: about three sentences of
# news copy (the seed articles average 140 characters a sentence).
TIE_WINDOW = 400
# China mentions that all start after this share of the text are boilerplate (an "About ..."
# paragraph, related links): the last paragraph of a six- or seven-paragraph story.
BOILERPLATE_SHARE = 0.85
_US_LOCAL_KINDS = frozenset({"state", "district", "territory", "county", "city", "town"})
_CN_ORG_KINDS = frozenset({"cn_party_state", "cn_education"})


def band(score: float) -> str:
    """The band name of a relevance score."""
    return next(name for name, floor in BANDS if score >= floor)


@dataclass(frozen=True, slots=True)
class _Actors:
    matcher: PhraseMatcher[str]

    @classmethod
    def load(cls) -> _Actors:
        data: dict[str, Any] = load_data_file("actors.yaml")
        matcher: PhraseMatcher[str] = PhraseMatcher()
        for side in ("us_local", "cn_actor"):
            for entry in data[side]:
                if isinstance(entry, dict):
                    matcher.add(
                        str(entry["phrase"]), side, case_sensitive=bool(entry.get("case_sensitive"))
                    )
                else:
                    matcher.add(str(entry), side)
        return cls(matcher.freeze())


_ACTORS: list[_Actors] = []


def _actors() -> _Actors:
    if not _ACTORS:
        _ACTORS.append(_Actors.load())
    return _ACTORS[0]


def _side(e: Entity) -> str | None:
    """'us_local', 'cn_specific', 'cn_country', 'elsewhere' or None for one entity."""
    if e.type in ("place", "country"):
        if e.country == "US" and e.kind in _US_LOCAL_KINDS:
            return "us_local"
        if e.country == "CN":
            return "cn_country" if e.kind == "country" else "cn_specific"
        if e.country in ("TW", "JP", "KR"):
            return "elsewhere"
        return None
    if e.kind == "us_local_body":
        return "us_local"
    if e.kind in _CN_ORG_KINDS:
        return "cn_specific"
    if e.kind == "watched" and e.country == "CN":
        return "cn_specific"
    return None


def score_relevance(article: Article, context: EnrichContext) -> None:
    """Set `article.relevance` (0..1) and `article.relevance_reasons` (one line per component
    and penalty, in the order applied)."""
    text = article_text(article)
    original, folded, body_start = text.original, text.folded, text.body_start
    positions: dict[str, list[int]] = {
        "us_local": [],
        "cn_specific": [],
        "cn_country": [],
        "elsewhere": [],
    }
    names: dict[str, list[str]] = {k: [] for k in positions}
    in_title: set[str] = set()
    for e in article.entities:
        side = _side(e)
        if side is None:
            continue
        names[side].append(e.name)
        positions[side] += [s + body_start for s, _ in e.offsets]
        if e.mentions > len(e.offsets):
            in_title.add(side)  # mentions without offsets are in the title (or past the cap)
    for hit in _actors().matcher.find(original, folded):
        for side in hit.payloads:
            key = "us_local" if side == "us_local" else "cn_specific"
            positions[key].append(hit.start)
            names[key].append(original[hit.start : hit.end])
    starts = place_starts(article, body_start)
    # where the exchange-kind cues are, as the events step found them (run it when it did not)
    events = article.event_spans
    if events is None:
        events = [(h.start, h.end) for h in get_classifier(context).find(original, folded, starts)]

    reasons: list[str] = []
    score = 0.0
    us_local = bool(names["us_local"])
    cn_specific = bool(names["cn_specific"])
    cn_country = bool(names["cn_country"])
    boilerplate = (
        (cn_specific or cn_country)
        and not in_title & {"cn_specific", "cn_country"}
        and all(
            p >= body_start + BOILERPLATE_SHARE * len(article.text)
            for p in positions["cn_specific"] + positions["cn_country"]
        )
    )
    if us_local:
        score += WEIGHTS["us_local"]
        reasons.append(f"+{WEIGHTS['us_local']:.2f} US local actor: {_few(names['us_local'])}")
    if cn_specific:
        score += WEIGHTS["cn_specific"]
        reasons.append(f"+{WEIGHTS['cn_specific']:.2f} Chinese actor: {_few(names['cn_specific'])}")
    elif cn_country:
        score += WEIGHTS["cn_country"]
        reasons.append(f"+{WEIGHTS['cn_country']:.2f} China named (country only)")
    if article.events:
        score += WEIGHTS["exchange"]
        kinds = ", ".join(label.replace("_", " ") for label in article.events)
        reasons.append(f"+{WEIGHTS['exchange']:.2f} exchange: {kinds}")
    cn_positions = sorted(positions["cn_specific"] + positions["cn_country"])
    us_positions = sorted(positions["us_local"])
    tie = next((e for e in events if _near(us_positions, e[0]) and _near(cn_positions, e[0])), None)
    if tie is not None:
        score += WEIGHTS["tie"]
        reasons.append(
            f"+{WEIGHTS['tie']:.2f} tied in one passage: "
            f'"{original[tie[0] : tie[1]]}" near both sides'
        )

    caps: list[tuple[str, str]] = []
    if not (cn_specific or cn_country):
        caps.append(("no_china", "no Chinese actor (China-the-town, or none)"))
    elif boilerplate:
        caps.append(("china_only_in_boilerplate", "China only in closing boilerplate"))
    if not us_local:
        caps.append(("no_us_local", "no US state, county, city or local official: national news"))
    if (
        names["elsewhere"]
        and not cn_specific
        and (len(positions["elsewhere"]) >= len(cn_positions) or "sister_city" in article.events)
    ):
        caps.append(
            ("partner_elsewhere", f"partner is elsewhere: {_few(names['elsewhere'])}, not China")
        )
    for name, why in caps:
        if score > CAPS[name]:
            score = CAPS[name]
        reasons.append(f"cap {CAPS[name]:.2f}: {why}")
    article.relevance = round(min(max(score, 0.0), 1.0), 4)
    article.relevance_reasons = reasons
    context.stats.inc(f"enrich/relevance/{band(article.relevance)}")


def _near(sorted_positions: list[int], at: int) -> bool:
    i = bisect.bisect_left(sorted_positions, at - TIE_WINDOW)
    return i < len(sorted_positions) and sorted_positions[i] <= at + TIE_WINDOW


def _few(values: list[str], limit: int = 3) -> str:
    unique = list(dict.fromkeys(values))
    more = f" (+{len(unique) - limit})" if len(unique) > limit else ""
    return ", ".join(unique[:limit]) + more
