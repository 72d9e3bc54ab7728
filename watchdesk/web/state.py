"""The search page's state, held entirely in the URL so a search can be shared by its link.

`SearchState.from_params` reads the query string; `url(...)` writes it back with one change
(a facet value added or removed, another sort or page), and `request()` turns it into the
archive's `SearchRequest`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from urllib.parse import quote_plus

from crawler.search.export import COLUMN_SORTS, TABLE_COLUMNS, parse_columns
from crawler.search.request import DEFAULT_ORDER, SearchRequest, parse_sort

PAGE_SIZE = 20
# How the results are shown: one card per hit (the default) or the results table.
VIEWS = ("cards", "table")
# Deep pages cost an OFFSET scan and nobody reads them; past this, narrow the query.
MAX_PAGE = 500
# The export's ceiling, the same as `watchdesk search --limit`.
EXPORT_LIMIT = 10_000

# URL parameter -> SearchRequest attribute, in the order facets are shown (backend.FACET_FIELDS).
FILTERS: dict[str, str] = {
    "source": "sources",
    "label": "labels",
    "language": "languages",
    "event": "events",
    "country": "countries",
    "region": "regions",
    "entity": "entities",
}


class StateError(ValueError):
    """A URL parameter that cannot be used; `param` names it."""

    def __init__(self, param: str, message: str) -> None:
        self.param = param
        super().__init__(f"{param}: {message}")


@dataclass(frozen=True)
class SearchState:
    q: str = ""
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    since: str = ""
    until: str = ""
    sort: str = "best"
    page: int = 1
    # the domain relevance floor (0..1), `min_relevance=` in the URL; None: no floor
    min_relevance: float | None = None
    # `copies=1`: every article a hit; by default copies are grouped under their story
    copies: bool = False
    # `exclude=country:TW`: (filter, value) pairs no hit may have (`-country:TW`)
    exclude: tuple[tuple[str, str], ...] = ()
    # the direction of a column sort (`order=asc|desc`); "": the sort's own
    order: str = ""
    # `view=table`: the results table, with `columns=date,title,...` (empty: every column)
    view: str = "cards"
    columns: tuple[str, ...] = ()

    @classmethod
    def from_params(cls, params: Mapping[str, Sequence[str]]) -> tuple[SearchState, list[str]]:
        """The state from a multi-valued query string, and a message per unusable parameter.

        Bad values are dropped with a message rather than failing the page, so a hand-edited
        link still shows results.
        """
        problems: list[str] = []

        def one(name: str) -> str:
            values = params.get(name) or []
            return values[-1].strip() if values else ""

        filters = {
            name: tuple(dict.fromkeys(v.strip() for v in params.get(name, []) if v.strip()))
            for name in FILTERS
        }
        since, until = one("since"), one("until")
        for name, value in (("since", since), ("until", until)):
            if value:
                try:
                    date.fromisoformat(value)
                except ValueError:
                    problems.append(f"{name}: not a date like 2024-05-31: {value!r}")
        since = "" if any(p.startswith("since") for p in problems) else since
        until = "" if any(p.startswith("until") for p in problems) else until
        sort = one("sort") or "best"
        order = one("order")
        try:
            sort, parsed = parse_sort(sort, order)
            order = parsed or ""
        except ValueError as exc:
            problems.append(f"sort: {exc}")
            try:  # keep the sort when only its direction was wrong
                sort, order = parse_sort(sort.lstrip("-"))[0], ""
            except ValueError:
                sort, order = "best", ""
        view = one("view") or "cards"
        if view not in VIEWS:
            problems.append(f"view: must be one of {', '.join(VIEWS)}, not {view!r}")
            view = "cards"
        columns: tuple[str, ...] = ()
        if params.get("columns"):
            chosen, unknown = parse_columns(params.get("columns", []))
            if unknown:
                problems.append(
                    f"columns: no column {', '.join(unknown)!s} (columns: "
                    f"{', '.join(TABLE_COLUMNS)})"
                )
            columns = () if chosen == list(TABLE_COLUMNS) else tuple(chosen)
        min_relevance: float | None = None
        raw_relevance = one("min_relevance")
        if raw_relevance:
            try:
                min_relevance = float(raw_relevance)
                if not 0.0 <= min_relevance <= 1.0:
                    raise ValueError
            except ValueError:
                problems.append(
                    f"min_relevance: must be a number from 0 to 1, not {raw_relevance!r}"
                )
                min_relevance = None
        page = 1
        raw_page = one("page")
        if raw_page:
            try:
                page = int(raw_page)
                if not 1 <= page <= MAX_PAGE:
                    raise ValueError
            except ValueError:
                problems.append(f"page: must be a number from 1 to {MAX_PAGE}")
                page = 1
        exclude: list[tuple[str, str]] = []
        for raw in params.get("exclude", []):
            name, _, value = raw.strip().partition(":")
            if name in FILTERS and value.strip():
                exclude.append((name, value.strip()))
            elif raw.strip():
                known = ", ".join(FILTERS)
                problems.append(f"exclude: must be FILTER:VALUE with a filter of {known}: {raw!r}")
        raw_copies = one("copies")
        if raw_copies not in ("", "0", "1"):
            problems.append(f"copies: must be 1 (every copy) or 0 (by story), not {raw_copies!r}")
        state = cls(
            q=one("q"),
            filters={k: v for k, v in filters.items() if v},
            since=since,
            until=until,
            sort=sort,
            page=page,
            min_relevance=min_relevance,
            copies=raw_copies == "1",
            exclude=tuple(dict.fromkeys(exclude)),
            order=order,
            view=view,
            columns=columns,
        )
        return state, problems

    @classmethod
    def for_watchlist(
        cls, query: str, languages: Sequence[str], sources: Sequence[str], min_relevance: float
    ) -> SearchState:
        """The search a watchlist or saved search stands for: its query and its own filters."""
        filters = {"language": tuple(languages), "source": tuple(sources)}
        return cls(
            q=query,
            filters={k: v for k, v in filters.items() if v},
            min_relevance=min_relevance or None,
        )

    @property
    def is_empty(self) -> bool:
        return not (
            self.q
            or self.filters
            or self.exclude
            or self.since
            or self.until
            or self.min_relevance is not None
        )

    def request(
        self, *, limit: int = PAGE_SIZE, offset: int | None = None, facets: bool = True
    ) -> SearchRequest:
        """The archive request for this state (the current page unless `offset` is given)."""
        f = self.filters
        return SearchRequest(
            query=self.q,
            since=date.fromisoformat(self.since) if self.since else None,
            until=date.fromisoformat(self.until) if self.until else None,
            sources=list(f.get("source", ())),
            labels=list(f.get("label", ())),
            languages=list(f.get("language", ())),
            events=list(f.get("event", ())),
            countries=list(f.get("country", ())),
            regions=list(f.get("region", ())),
            entities=list(f.get("entity", ())),
            min_relevance=self.min_relevance,
            sort=self.sort,  # type: ignore[arg-type]  # one of SORTS (from_params)
            order=self.order or None,  # type: ignore[arg-type]  # one of ORDERS (from_params)
            limit=limit,
            offset=(self.page - 1) * limit if offset is None else offset,
            facets=facets,
            histogram=facets,
            by_story=not self.copies,
            exclude=list(self.exclude),
        )

    def params(self) -> list[tuple[str, str]]:
        """The state as query-string pairs, defaults left out (short, stable links)."""
        out: list[tuple[str, str]] = []
        if self.q:
            out.append(("q", self.q))
        for name in FILTERS:
            out.extend((name, v) for v in self.filters.get(name, ()))
        out.extend(("exclude", f"{name}:{value}") for name, value in self.exclude)
        if self.since:
            out.append(("since", self.since))
        if self.until:
            out.append(("until", self.until))
        if self.min_relevance is not None:
            out.append(("min_relevance", f"{self.min_relevance:g}"))
        if self.sort != "best":
            out.append(("sort", self.sort))
        if self.order:
            out.append(("order", self.order))
        if self.view != "cards":
            out.append(("view", self.view))
        if self.columns:
            out.append(("columns", ",".join(self.columns)))
        if self.copies:
            out.append(("copies", "1"))
        if self.page != 1:
            out.append(("page", str(self.page)))
        return out

    def url(self, path: str = "/search", **changes: object) -> str:
        """This state's link, with `changes` applied (any field; a new filter resets the page)."""
        state = replace(self, **changes) if changes else self  # type: ignore[arg-type]
        query = "&".join(_pair(k, v) for k, v in state.params())
        return f"{path}?{query}" if query else path

    def has(self, name: str, value: str) -> bool:
        return value in self.filters.get(name, ())

    def toggle(self, name: str, value: str) -> str:
        """The link that adds `value` to filter `name`, or removes it if already there."""
        current = self.filters.get(name, ())
        values = tuple(v for v in current if v != value) if value in current else (*current, value)
        filters = {k: v for k, v in self.filters.items() if k != name}
        if values:
            filters[name] = values
        return self.url(filters=filters, page=1)

    def excludes(self, name: str, value: str) -> bool:
        return (name, value) in self.exclude

    def toggle_exclude(self, name: str, value: str) -> str:
        """The link that excludes `value` of filter `name` (`-country:TW`; an inclusion of
        the same value is dropped), or takes the exclusion back if already there."""
        pair = (name, value)
        if pair in self.exclude:
            return self.url(exclude=tuple(p for p in self.exclude if p != pair), page=1)
        kept = tuple(v for v in self.filters.get(name, ()) if v != value)
        filters = {k: v for k, v in self.filters.items() if k != name}
        if kept:
            filters[name] = kept
        return self.url(filters=filters, exclude=(*self.exclude, pair), page=1)

    @property
    def shown_columns(self) -> tuple[str, ...]:
        """The results table's columns: the chosen ones, else every one."""
        return self.columns or TABLE_COLUMNS

    @property
    def direction(self) -> str:
        """The current sort's direction, "asc" or "desc"."""
        return self.order or DEFAULT_ORDER[self.sort]

    def column_sort(self, column: str) -> tuple[str, str] | None:
        """A table header's sort link and its `aria-sort` ("ascending", "descending" or
        "none"), or None for a column that does not sort. A header sorts by its column in the
        column's own direction; once it is the sort, it reverses it."""
        sort = COLUMN_SORTS.get(column)
        if sort is None:
            return None
        if self.sort == sort:
            order = "asc" if self.direction == "desc" else "desc"
            aria = "descending" if self.direction == "desc" else "ascending"
        else:
            order, aria = DEFAULT_ORDER[sort], "none"
        # the sort's own direction stays out of the link (short links, as `params`)
        link = self.url(sort=sort, order="" if order == DEFAULT_ORDER[sort] else order, page=1)
        return link, aria

    def with_dates(self, since: str, until: str) -> str:
        return self.url(since=since, until=until, page=1)


@lru_cache(maxsize=4096)
def _pair(name: str, value: str) -> str:
    # A search page links to ~100 variants of one state (facets, histogram bars, pages) that
    # share most parameters: encoding each pair once took URL building from ~45% of the
    # page's render time to a few percent (benchmarks/web.py, 20,000 articles).
    return f"{quote_plus(name)}={quote_plus(value)}"
