"""Exchange kinds: which of the eight DOMAIN.md labels an article shows, with its evidence.

Cue phrases are data (`data/events.yaml`), found in one Aho-Corasick pass over the folded
title and text; each cue may carry a guard (lowercase only, a word nearby, a place right after)
so that "Bill Clinton", a potted plant or a visit to the dentist do not count.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import Any, Protocol

from crawler.article import Article
from crawler.query.syntax import EVENT_LABELS
from crawler.stats import Stats
from crawler.textnorm import fold
from enrich.gazetteer import load_data_file
from enrich.phrases import PhraseMatcher
from enrich.text import article_text, place_starts

# The exchange kinds of DOMAIN.md, defined once with the query language's `event:` field.
LABELS: tuple[str, ...] = EVENT_LABELS
# Guard window when a cue does not set one: about ten words, one clause of news copy.
DEFAULT_WINDOW = 60
# Evidence: this many characters of context on each side of the cue, cut to whole words,
# and at most this many snippets per label (enough to explain an alert at a glance).
EVIDENCE_CONTEXT_CHARS = 40
MAX_EVIDENCE_PER_LABEL = 3


@dataclass(frozen=True, slots=True)
class Cue:
    label: str
    phrase: str
    lowercase: bool = False
    near: re.Pattern[str] | None = None
    before_place: bool = False
    window: int = DEFAULT_WINDOW


@dataclass(frozen=True, slots=True)
class EventHit:
    """A cue found in the text: its label and [start, end) in title + "\\n" + text."""

    label: str
    start: int
    end: int


class EventClassifier:
    """The cue vocabulary of events.yaml compiled into one matcher; build once per process."""

    def __init__(self, cues: list[Cue], matcher: PhraseMatcher[int]) -> None:
        self.cues = cues
        self.matcher = matcher
        # the last answer: relevance asks again for the article classify_events just read
        self._last: tuple[str, tuple[int, ...], list[EventHit]] | None = None

    @classmethod
    def load(cls) -> EventClassifier:
        data: dict[str, Any] = load_data_file("events.yaml")
        cues: list[Cue] = []
        matcher: PhraseMatcher[int] = PhraseMatcher()
        for label, entries in data["labels"].items():
            if label not in LABELS:
                raise ValueError(f"events.yaml: unknown label {label!r}")
            for entry in entries:
                cue, case_sensitive = _cue(label, entry)
                cues.append(cue)
                matcher.add(cue.phrase, len(cues) - 1, case_sensitive=case_sensitive)
        for phrase in data.get("blockers", []):
            matcher.add_blocker(str(phrase))
        return cls(cues, matcher.freeze())

    def find(
        self, original: str, folded: str, place_starts: list[int] | None = None
    ) -> list[EventHit]:
        """Cue hits that pass their guards. `place_starts`: start offsets of tagged places in
        `original` (for `before_place` cues)."""
        starts = sorted(place_starts or [])
        last = self._last
        if last is not None and last[0] is folded and last[1] == tuple(starts):
            return list(last[2])
        out: list[EventHit] = []
        for hit in self.matcher.find(original, folded):
            for index in hit.payloads:
                cue = self.cues[index]
                if self._passes(cue, hit.start, hit.end, original, folded, starts):
                    out.append(EventHit(cue.label, hit.start, hit.end))
        self._last = (folded, tuple(starts), out)
        return list(out)

    @staticmethod
    def _passes(
        cue: Cue, start: int, end: int, original: str, folded: str, place_starts: list[int]
    ) -> bool:
        if cue.lowercase and original[start:end] != folded[start:end]:
            return False  # "Bill Clinton", "Ban Ki-moon", a "Law" in a name
        if cue.near is not None:
            lo, hi = max(0, start - cue.window), min(len(folded), end + cue.window)
            if cue.near.search(folded, lo, hi) is None:
                return False
        if cue.before_place:
            i = bisect.bisect_left(place_starts, end)
            return i < len(place_starts) and place_starts[i] <= end + cue.window
        return True


def _cue(label: str, entry: Any) -> tuple[Cue, bool]:
    if isinstance(entry, str):
        return Cue(label, entry), False
    if not isinstance(entry, dict) or "phrase" not in entry:
        raise ValueError(f"events.yaml: {label}: a cue is a phrase or a mapping with `phrase`")
    near = entry.get("near")
    pattern = None
    if near:
        words = "|".join(re.escape(fold(str(w))) for w in near)
        pattern = re.compile(rf"\b(?:{words})\b")
    cue = Cue(
        label,
        str(entry["phrase"]),
        bool(entry.get("lowercase")),
        pattern,
        bool(entry.get("before_place")),
        int(entry.get("window", DEFAULT_WINDOW)),
    )
    return cue, bool(entry.get("case_sensitive"))


def evidence_snippet(original: str, start: int, end: int) -> str:
    """The cue with a little context, cut to whole words, on one line."""
    lo = max(0, start - EVIDENCE_CONTEXT_CHARS)
    hi = min(len(original), end + EVIDENCE_CONTEXT_CHARS)
    left = original[lo:start]
    right = original[end:hi]
    if lo > 0 and " " in left:
        left = left[left.index(" ") + 1 :]
    if hi < len(original) and " " in right:
        right = right[: right.rindex(" ")]
    return re.sub(r"\s+", " ", left + original[start:end] + right).strip()


_CLASSIFIER: list[EventClassifier] = []


def get_classifier(context: object = None) -> EventClassifier:
    """The classifier of the context (`EnrichContext.events`, once chain.py carries it), else
    the process-wide one built on first use from the static vocabulary."""
    own = getattr(context, "events", None)
    if isinstance(own, EventClassifier):
        return own
    if not _CLASSIFIER:
        _CLASSIFIER.append(EventClassifier.load())
    return _CLASSIFIER[0]


class EventContext(Protocol):
    """The parts of the enrichment context the events step reads.

    A protocol rather than `enrich.context.EnrichContext` itself, which names this module's
    resource: the context module then imports the steps' modules and none of them imports it.
    """

    events: EventClassifier | None
    stats: Stats


def classify_events(article: Article, context: EventContext) -> None:
    """Set `article.events` (sorted labels) and `article.evidence` (label -> snippets as they
    appear in the title/text). Reads the place entities tagged earlier for `before_place`."""
    text = article_text(article)
    original, folded, body_start = text.original, text.folded, text.body_start
    starts = place_starts(article, body_start)
    evidence: dict[str, list[str]] = {}
    hits = get_classifier(context).find(original, folded, starts)
    # the relevance step reads where the cues are (a passage naming both sides); kept so that
    # it does not run the classifier again
    article.event_spans = [(hit.start, hit.end) for hit in hits]
    for hit in hits:
        snippets = evidence.setdefault(hit.label, [])
        if len(snippets) >= MAX_EVIDENCE_PER_LABEL:
            continue
        snippet = evidence_snippet(original, hit.start, hit.end)
        if snippet not in snippets:
            snippets.append(snippet)
    article.events = sorted(evidence)
    article.evidence = {label: evidence[label] for label in article.events}
    for label in article.events:
        context.stats.inc(f"enrich/events/{label}")
