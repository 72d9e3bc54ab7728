"""The archive interface: what the pipeline, the CLI and the web page may ask of a search backend.

Two implementations sit behind it: the embedded one over the SQLite store (the default, and
always the store of record) and Elasticsearch for large deployments. Code outside the backends
knows only `Archive`, `SearchRequest` and `SearchResult`; `open_archive` picks the backend from
the config, as ElastAlert's alerters are picked by name.

Filters (`--source`, `--label`, `--country`, ...) are not a second query language:
`SearchRequest.query_tree` ANDs them into the parsed query as field clauses, so both backends
and the in-process matcher see one tree and agree on what matches.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, Protocol, runtime_checkable

from crawler.article import Article
from crawler.query import And, Not, Or, Query, parse_query

# Facet fields every backend counts, in the order pages and the CLI show them.
FACET_FIELDS: tuple[str, ...] = (
    "source",
    "label",
    "language",
    "event",
    "country",
    "region",
    "entity",
)
# How hits are ordered: `best`, the text score blended with the domain relevance (the
# default; `best_score`), `text`, the text score alone (BM25), or by a column of the results
# table: `date` (newest first unless `order="asc"`), `title` and `outlet` (A to Z unless
# "desc"), `domain` (the domain relevance, most relevant first unless "asc"). Column sorts
# order the whole result set on the index (fast fields), not just the page shown.
Sort = Literal["best", "text", "date", "title", "outlet", "domain"]
SORTS: tuple[str, ...] = ("best", "text", "date", "title", "outlet", "domain")
# The sorts that rank by the text score: best first only, they take no `order`.
SCORE_SORTS: tuple[str, ...] = ("best", "text")
Order = Literal["asc", "desc"]
ORDERS: tuple[str, ...] = ("asc", "desc")
# Each column sort's direction when none is asked for.
DEFAULT_ORDER: dict[str, str] = {
    "best": "desc",
    "text": "desc",
    "date": "desc",
    "title": "asc",
    "outlet": "asc",
    "domain": "desc",
}
# Characters of a title or outlet the title and outlet sorts compare: past them two titles
# are in index order. Keeps each index term far below tantivy's and Lucene's term limits.
SORT_KEY_CHARS = 200
# The one old name still read (links and scripts written before the sorts were named): it was
# the default ranking, which `best` now is.
LEGACY_SORTS = {"relevance": "best"}

# The blend of `best`: text score × (BEST_FLOOR + relevance), relevance in 0..1. A story the
# domain scorer judges irrelevant keeps BEST_FLOOR / (BEST_FLOOR + 1) of the text score of an
# equally worded story it judges fully relevant. The floor was chosen on the judged set with
# benchmarks/ranking.py: NDCG@10 0.917 against 0.774 for the text score alone; lower floors
# gain under 0.01 and make the words of the query matter less (the run is in its docstring).
BEST_FLOOR = 0.25
# `best` re-ranks this many of the top text-score candidates (all of them for smaller result
# sets; deeper pages take more): a story below them would need more than (1 + BEST_FLOOR) /
# BEST_FLOOR = 5 times the relevance boost of the candidates to pass them. Ten pages of 20 is
# more than anyone reads. Measured on 20,000 synthetic articles: +1 ms at p50 over `text`;
# 500 candidates cost +8 ms (the index reads each candidate's stored match text).
BEST_CANDIDATES = 200


def best_score(text_score: float, relevance: float) -> float:
    """The `best` ranking score: the text score scaled by the domain relevance (0..1).

    Multiplicative, so that it needs no normalisation of BM25 across queries and Elasticsearch
    computes exactly the same number (a `function_score`, `crawler.search.elastic.archive`)."""
    return text_score * (BEST_FLOOR + min(max(relevance, 0.0), 1.0))


def sort_name(value: str) -> str:
    """A sort as written by a user or an old link, as one of `SORTS`; ValueError otherwise."""
    value = LEGACY_SORTS.get(value, value)
    if value not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}, not {value!r}")
    return value


def parse_sort(value: str, order: str | None = None) -> tuple[str, str | None]:
    """A sort and its direction as a user writes them: `title`, `-title` (descending) or a
    sort with `order` ("asc"/"desc"); ValueError for an unknown sort or order, or a direction
    given to a text-score sort (best first is their only order)."""
    value = value.strip()
    if value.startswith("-"):
        if order not in (None, "", "desc"):
            raise ValueError(f"sort {value!r} is descending; order {order!r} contradicts it")
        value, order = value[1:], "desc"
    name = sort_name(value)
    order = order or None
    if order is not None and order not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(ORDERS)}, not {order!r}")
    if name in SCORE_SORTS and order == "asc":
        raise ValueError(f"sort {name!r} ranks the best match first; it has no ascending order")
    return name, order


def sort_key(text: str) -> str:
    """What the title and outlet sorts compare: the text case-folded, spaces collapsed, cut to
    SORT_KEY_CHARS (the same key on both backends)."""
    return " ".join(text.casefold().split())[:SORT_KEY_CHARS]


def outlet_of(article: Article) -> str:
    """The outlet an article is shown under: its publisher, else the source it came through."""
    return article.publisher or article.source


@dataclass
class SearchRequest:
    """One search: a query in the watchdesk language plus filters, sort and page.

    Every filter list is OR within itself and AND with the query and the other filters
    (`countries=["CN", "TW"]` means country:CN OR country:TW).
    """

    query: str = ""
    since: date | datetime | None = None
    until: date | datetime | None = None
    sources: Sequence[str] = ()
    labels: Sequence[str] = ()  # the sources' labels (state_media, wire, ...)
    languages: Sequence[str] = ()
    countries: Sequence[str] = ()
    regions: Sequence[str] = ()
    events: Sequence[str] = ()
    entities: Sequence[str] = ()
    min_relevance: float | None = None  # the domain relevance (0..1), not the text score
    # (field, value) pairs no hit may have: `("country", "TW")` is `-country:TW`
    exclude: Sequence[tuple[str, str]] = ()
    sort: Sort = "best"
    # the sort's direction; None: its own (DEFAULT_ORDER). `sort="-title"` means "desc" too.
    order: Order | None = None
    limit: int = 20
    offset: int = 0
    facets: bool = False
    facet_size: int = 10
    histogram: bool = False
    # One hit per story (syndicated copies share a story id, `story_id`): the best-ranked
    # copy under the request's sort stands for its story and carries the others as `copies`;
    # totals and facet counts count stories. False lists every article (`--copies`), as
    # backtests and alert counts need.
    by_story: bool = False
    # False: hits carry no snippet nor marked title. The map reads only the places of up to
    # 1,000 hits: without marking them its search takes 85 ms instead of 196 ms (20,000
    # synthetic articles, `"sister city"`, by story)
    snippets: bool = True

    def __post_init__(self) -> None:
        sort, order = parse_sort(self.sort, self.order)
        self.sort = sort  # type: ignore[assignment]  # one of SORTS now
        self.order = order  # type: ignore[assignment]  # one of ORDERS or None

    @property
    def descending(self) -> bool:
        """Whether the sort runs from high to low (newest, Z to A, most relevant first)."""
        return (self.order or DEFAULT_ORDER[self.sort]) == "desc"

    def query_tree(self) -> Query | None:
        """The query with every filter ANDed in, or None for "everything".

        Filters go through the same parser as the query, so their values are normalised
        exactly as a `field:value` clause typed by the user would be.
        """
        parts: list[Query] = []
        if self.query.strip():
            parts.append(parse_query(self.query))
        for name, values in (
            ("source", self.sources),
            ("label", self.labels),
            ("language", self.languages),
            ("country", self.countries),
            ("region", self.regions),
            ("event", self.events),
            ("entity", self.entities),
        ):
            clauses = [parse_query(f"{name}:{_quoted(v)}") for v in values if v]
            if len(clauses) == 1:
                parts.append(clauses[0])
            elif clauses:
                parts.append(Or(tuple(clauses)))
        for name, value in self.exclude:
            if value:
                parts.append(Not(parse_query(f"{name}:{_quoted(value)}")))
        if self.since or self.until:
            low = _day(self.since) if self.since else "*"
            high = _day(self.until) if self.until else "*"
            parts.append(parse_query(f"published:[{low} TO {high}]"))
        if self.min_relevance is not None:
            parts.append(parse_query(f"relevance:>={float(self.min_relevance)}"))
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else And(tuple(parts))


# Copies listed under each story hit (the count says how many there are in all).
COPIES_SHOWN = 20


def story_id(article: Article) -> str:
    """The story an article belongs to: its cluster id (the first copy's id, from
    `enrich/clustering.py`), or its own id when it was never clustered (a short text)."""
    return article.cluster_id or article.id


@dataclass(frozen=True, slots=True)
class Copy:
    """Another article of a hit's story that the search matched too."""

    id: str
    title: str
    source: str
    publisher: str
    url: str
    published: datetime | None

    @classmethod
    def of(cls, article: Article) -> Copy:
        return cls(
            article.id,
            article.title,
            article.source,
            article.publisher or article.source,
            article.url,
            article.published,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "source": self.source,
            "publisher": self.publisher,
            "url": self.url,
            "published": self.published.isoformat() if self.published else None,
        }


@dataclass
class Hit:
    """One article found, with its score and a snippet.

    `snippet` is plain text in which matched spans are wrapped in `[[` and `]]` (no HTML: the
    text is untrusted; each front end renders the markers its own way, escaping the rest).
    """

    article: Article
    score: float
    snippet: str
    highlights: list[str] = field(default_factory=list)
    # the title with the same `[[ ]]` markers ("" when the backend does not mark titles)
    title_highlighted: str = ""
    # With `SearchRequest.by_story`: how many other articles of the story the search matched
    # (`+N copies`), and the first COPIES_SHOWN of them, oldest first. 0 and [] otherwise.
    copy_count: int = 0
    copies: list[Copy] = field(default_factory=list)

    @property
    def story_id(self) -> str:
        return story_id(self.article)

    def to_dict(self) -> dict[str, Any]:
        data = self.article.to_dict()
        data.pop("text", None)
        data.pop("html", None)
        data.update(score=round(self.score, 4), snippet=self.snippet, highlights=self.highlights)
        if self.title_highlighted:
            data["title_highlighted"] = self.title_highlighted
        data["story_id"] = self.story_id
        data["copy_count"] = self.copy_count
        if self.copies:
            data["copies"] = [c.to_dict() for c in self.copies]
        return data


@dataclass
class SearchResult:
    hits: list[Hit]
    # what the hits are paged over: stories when the request was `by_story`, else articles
    total: int
    # field -> [(value, count)], most frequent first; only when the request asked for facets
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    # (day, count) over the whole result set, oldest first; only when asked for
    histogram: list[tuple[str, int]] = field(default_factory=list)
    # Share of the matches the facet counts and histogram were counted on: 1.0 means exact;
    # below it (very large result sets on the embedded index) they are estimates, scaled up.
    facet_sample: float = 1.0
    took_ms: float = 0.0
    # field -> {value: display name} for facet values that are ids (entity ids -> names)
    facet_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    # With `by_story`: `total` and the facet counts count stories, and this is the number of
    # articles they hold ("12 stories (19 articles)"). None when hits are articles.
    articles: int | None = None

    @property
    def by_story(self) -> bool:
        return self.articles is not None


# Attention over time (`crawler.search.attention`): its buckets and its question.
Interval = Literal["day", "week"]
INTERVALS: tuple[str, ...] = ("day", "week")


@dataclass(frozen=True)
class StoryCounts:
    """Stories per bucket for one query over [first, last] (UTC days, both included)."""

    search: SearchRequest
    first: date
    last: date
    interval: Interval = "day"

    def __post_init__(self) -> None:
        if self.interval not in INTERVALS:
            raise ValueError(
                f"interval must be one of {', '.join(INTERVALS)}, not {self.interval!r}"
            )
        if self.last < self.first:
            raise ValueError(f"the window ends ({self.last}) before it starts ({self.first})")

    def request(self) -> SearchRequest:
        """The search without its own dates: the window is applied on the one date basis."""
        return replace(self.search, since=None, until=None)

    @property
    def start(self) -> datetime:
        """The window's first instant (00:00 UTC of `first`)."""
        return datetime.combine(self.first, time(), UTC)

    @property
    def end(self) -> datetime:
        """The instant after the window (00:00 UTC of the day after `last`)."""
        return datetime.combine(self.last + timedelta(days=1), time(), UTC)


@runtime_checkable
class Archive(Protocol):
    """A searchable archive of enriched articles."""

    name: str

    def index_articles(self, articles: Iterable[Article]) -> int:
        """Store or replace articles by id (idempotent); returns how many were written."""
        ...

    def get_article(self, article_id: str) -> Article | None: ...

    def search(self, request: SearchRequest) -> SearchResult:
        """Raises `crawler.query.QueryError` for a malformed query."""
        ...

    def story_counts(self, request: StoryCounts) -> dict[date, int]:
        """Distinct stories per day or week (`crawler.search.attention`); raises QueryError."""
        ...

    def delete_articles(self, article_ids: Iterable[str]) -> int: ...

    def count(self) -> int: ...

    def close(self) -> None: ...


def _day(value: date | datetime) -> str:
    return value.date().isoformat() if isinstance(value, datetime) else value.isoformat()


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
