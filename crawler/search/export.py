"""Search results as rows: the one CSV both exports write (`watchdesk search --csv` and the
web page's `/search.csv`) and the columns of the results table (the web page's table view,
`watchdesk search --columns`).

Crawled text is untrusted: every CSV cell goes through `csv_cell`, which defuses values a
spreadsheet would run as a formula (OWASP "CSV injection").
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from crawler.search.request import Hit, outlet_of
from crawler.urls import without_tracking

# A spreadsheet runs a cell starting with one of these as a formula; tab, carriage return and
# newline too, since some programs strip them before looking.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")

CSV_COLUMNS: tuple[str, ...] = (
    "id",
    "published",
    "source",
    "publisher",
    "language",
    "title",
    "url",
    "canonical_url",
    "score",
    "relevance",
    "countries",
    "events",
    "places",
    "entities",
    "snippet",
    "story_id",
    "copies",
    "text",
)

# The results table's columns, in the order they are shown; `columns=`/`--columns` picks some.
TABLE_COLUMNS: tuple[str, ...] = (
    "date",
    "outlet",
    "title",
    "places",
    "kinds",
    "relevance",
    "copies",
)
# Table column -> the `SearchRequest` sort its header applies. Places, kinds and copies have
# none: an article holds several places and kinds (which one would order it?) and the copy
# count is known only for the stories of the page shown, so a whole-set sort on them would
# mean reading every match; their facets (and "+N copies") serve instead.
COLUMN_SORTS: dict[str, str] = {
    "date": "date",
    "outlet": "outlet",
    "title": "title",
    "relevance": "domain",
}
UNSORTABLE_REASONS: dict[str, str] = {
    "places": "not sortable: an article names several places; filter by the place facet",
    "kinds": "not sortable: an article has several kinds; filter by the event facet",
    "copies": "not sortable: copies are counted for the stories shown only",
}


def csv_cell(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text: formula-looking values get a leading `'`;
    line breaks are `\n` (a bare `\r` is not quoted by a writer whose rows end in `\n`, the
    CLI's, and would split the row)."""
    text = "" if value is None else str(value)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "'" + text if text.startswith(_FORMULA_START) else text


def parse_columns(values: str | Iterable[str]) -> tuple[list[str], list[str]]:
    """The table columns named in `values` ("date,title" or a list of such), in the table's
    order, and the names that are no column; no name at all means every column."""
    if isinstance(values, str):
        values = [values]
    names = [n.strip().lower() for v in values for n in v.split(",") if n.strip()]
    unknown = [n for n in dict.fromkeys(names) if n not in TABLE_COLUMNS]
    chosen = [c for c in TABLE_COLUMNS if c in names]
    return (chosen or list(TABLE_COLUMNS)), unknown


def csv_row(hit: Hit, by_story: bool) -> list[str]:
    """One hit as the cells of CSV_COLUMNS. `by_story`: the hits are stories, and `copies` is
    how many other articles of the story matched (blank when every copy is a row)."""
    a = hit.article
    values: dict[str, Any] = {
        "id": a.id,
        "published": a.published.isoformat() if a.published else "",
        "source": a.source,
        "publisher": outlet_of(a),
        "language": a.language or "",
        "title": a.title,
        "url": without_tracking(a.url),
        "canonical_url": without_tracking(a.canonical_url),
        "score": f"{hit.score:.4f}",
        "relevance": f"{a.relevance:.3f}",
        "countries": " ".join(a.countries),
        "events": " ".join(a.events),
        "places": "; ".join(e.name for e in a.places()),
        "entities": "; ".join(e.name for e in a.entities if e.type != "place"),
        "snippet": hit.snippet.replace("[[", "").replace("]]", ""),
        "story_id": hit.story_id,
        "copies": hit.copy_count if by_story else "",
        "text": a.text,
    }
    return [csv_cell(values[c]) for c in CSV_COLUMNS]
