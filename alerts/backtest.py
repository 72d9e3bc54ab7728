"""Backtests and explanations for editors: what a watchlist would have alerted, and why (not).

`backtest` runs a watchlist (or a draft query) over the stored archive: the SQL compiler
preselects candidates with the store's indexes, and the live `WatchlistMatcher` confirms each
one, so the answer is what live alerting would have done (same filters, same terms). Stories
are told apart from syndicated copies the way the outbox does it (one alert per story per
watchlist; a later copy from another source is a threaded reply, at most once per source).
`explain_article` says why one stored article did or did not match.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from alerts.matcher import MatchExplanation, WatchlistMatcher
from alerts.policy import alert_kind
from alerts.watchlist import Watchlist
from crawler.article import Article
from crawler.dates import parse_iso, utcnow
from crawler.query import (
    AliasResolver,
    Explanation,
    MatchDocument,
    Query,
    compile_sqlite,
    parse_query,
    resolve_aliases,
)
from crawler.query.evaluate import guard_applies
from crawler.query.syntax import Text, tokenize, walk
from crawler.records import MatchedTerm, StoryHistory
from crawler.search.request import SearchRequest
from crawler.search.tantivy_index import TantivyIndex
from crawler.storage import Store
from crawler.storage.verdicts import Verdict
from crawler.textnorm import fold

DateField = Literal["fetched", "published"]
AlertKind = Literal["story", "copy", "repeat"]

# The name given to a draft query (`watchdesk watchlist test --query ...`): a valid slug that
# no configured watchlist can collide with in the one-watchlist matcher built here.
DRAFT_NAME = "draft"
# Default number of articles listed (counts always cover every match): a page of results an
# editor reads in the terminal; the web page asks for its own.
DEFAULT_LIMIT = 50
# Articles held in memory at a time while confirming candidates one by one.
_BATCH = 500
SNIPPET_CHARS = 240  # as `watchdesk search` (crawler/search/embedded.py SNIPPET_CHARS)


@dataclass(slots=True)
class BacktestHit:
    """One article the watchlist would have matched.

    `kind`: "story" (the first match of its story: a new alert), "copy" (a later copy from
    another source: a threaded "also reported by" reply), "repeat" (another copy from a source
    already in the thread: no message at all).
    """

    article_id: str
    url: str
    title: str
    source: str
    language: str | None
    published: datetime | None
    fetched: datetime | None
    day: date
    relevance: float
    cluster_id: str
    kind: AlertKind
    terms: list[MatchedTerm]
    snippet: str  # text around the first matched term, matches between `[[` and `]]`

    @property
    def matched_words(self) -> list[str]:
        """The distinct query terms found, in order of first appearance."""
        return list(dict.fromkeys(t.term for t in self.terms))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.article_id,
            "url": self.url,
            "title": self.title,
            "source": self.source,
            "language": self.language,
            "published": self.published.isoformat() if self.published else None,
            "fetched": self.fetched.isoformat() if self.fetched else None,
            "day": self.day.isoformat(),
            "relevance": self.relevance,
            "cluster_id": self.cluster_id,
            "kind": self.kind,
            "terms": self.matched_words,
            "highlights": [[t.term, t.field, t.start, t.end] for t in self.terms],
            "snippet": self.snippet,
        }


@dataclass(slots=True)
class DayCount:
    day: date
    matches: int = 0
    stories: int = 0  # alerts (or digest entries) that would have been sent

    def to_dict(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "matches": self.matches, "stories": self.stories}


@dataclass(slots=True)
class Backtest:
    """The result of a backtest: newest hits first (at most `limit`), every day of the window
    with its counts (zeros included), and totals over the whole window."""

    watchlist: Watchlist
    draft: bool
    start: datetime | None
    end: datetime
    date_field: DateField
    hits: list[BacktestHit] = field(default_factory=list)
    days: list[DayCount] = field(default_factory=list)
    matches: int = 0  # every matching article in the window
    stories: int = 0  # distinct stories: the alerts live alerting would have sent
    copies: int = 0  # threaded "also reported by" replies
    candidates: int = 0  # articles the SQL preselection passed to the matcher
    truncated: bool = False  # more matches than `hits` lists
    labels: LabelledBacktest | None = None  # how it treats the desk's judged alerts
    # story (cluster id) -> (when, seq) of its newest match in the window: every story, not
    # only the listed ones, so that two backtests can be compared (`alerts.backtest_diff`)
    story_newest: dict[str, tuple[datetime, int]] = field(default_factory=dict)
    aliases: AliasResolver | None = None  # the entity aliases it matched with

    def to_dict(self) -> dict[str, Any]:
        wl = self.watchlist
        return {
            "watchlist": wl.name,
            "draft": self.draft,
            "query": wl.query,
            "languages": wl.languages,
            "sources": wl.sources,
            "min_relevance": wl.min_relevance,
            "muted": wl.muted,
            "digest": wl.is_digest,
            "saved_search": wl.is_saved_search,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat(),
            "date_field": self.date_field,
            "matches": self.matches,
            "stories": self.stories,
            "copies": self.copies,
            "candidates": self.candidates,
            "truncated": self.truncated,
            "days": [d.to_dict() for d in self.days],
            "hits": [h.to_dict() for h in self.hits],
            "verdicts": self.labels.to_dict() if self.labels is not None else None,
        }


@dataclass(slots=True)
class JudgedAlert:
    """An alert the desk judged, and whether the backtested rule still matches its article."""

    alert_id: int
    watchlist: str
    article_id: str
    title: str
    url: str
    verdict: str  # "relevant" or "not_relevant"
    kept: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "alert_id": self.alert_id,
            "watchlist": self.watchlist,
            "article_id": self.article_id,
            "title": self.title,
            "url": self.url,
            "verdict": self.verdict,
            "kept": self.kept,
        }


@dataclass(slots=True)
class LabelledBacktest:
    """How a rule treats the alerts the desk judged (`Store.judged_alerts`): the judged
    relevant it keeps, the judged not relevant it drops, and the judged alerts it would lose."""

    judged: list[JudgedAlert] = field(default_factory=list)

    @property
    def relevant(self) -> int:
        return sum(j.verdict == "relevant" for j in self.judged)

    @property
    def relevant_kept(self) -> int:
        return sum(j.verdict == "relevant" and j.kept for j in self.judged)

    @property
    def not_relevant(self) -> int:
        return sum(j.verdict == "not_relevant" for j in self.judged)

    @property
    def not_relevant_dropped(self) -> int:
        return sum(j.verdict == "not_relevant" and not j.kept for j in self.judged)

    @property
    def lost(self) -> list[JudgedAlert]:
        """Every judged alert the rule no longer matches (relevant ones first)."""
        dropped = [j for j in self.judged if not j.kept]
        return sorted(dropped, key=lambda j: j.verdict != "relevant")

    def summary(self) -> str:
        """ "drops 4 of 5 marked not relevant, keeps 19 of 20 marked relevant"."""
        return (
            f"drops {self.not_relevant_dropped} of {self.not_relevant} marked not relevant, "
            f"keeps {self.relevant_kept} of {self.relevant} marked relevant"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary(),
            "relevant": self.relevant,
            "relevant_kept": self.relevant_kept,
            "not_relevant": self.not_relevant,
            "not_relevant_dropped": self.not_relevant_dropped,
            "lost": [j.to_dict() for j in self.lost],
        }


def labelled_backtest(
    store: Store,
    watchlist: Watchlist,
    aliases: AliasResolver | None = None,
    since: datetime | None = None,
) -> LabelledBacktest:
    """Run `watchlist` (as if unmuted) over the articles of the alerts the desk judged: those
    of the watchlist of that name (a draft borrowing a watchlist's filters keeps its name), or
    every judged alert for a bare draft (each article once, by its latest verdict). Only alerts
    created since `since` count."""
    name = None if watchlist.name == DRAFT_NAME else watchlist.name
    judged = store.judged_alerts(name, since=since)
    if name is None:  # one verdict per article: its latest, across watchlists
        latest = {v.article_id: v for v in sorted(judged, key=lambda v: v.at)}
        judged = sorted(latest.values(), key=lambda v: v.alert_id)
    matcher = WatchlistMatcher([as_live(watchlist)], aliases=aliases)
    result = LabelledBacktest()
    for verdict in judged:
        article = store.get_article(verdict.article_id)
        if article is None:  # pruned by retention: nothing to run the rule on
            continue
        kept = bool(matcher.match(article))
        result.judged.append(
            JudgedAlert(
                verdict.alert_id,
                verdict.watchlist,
                article.id,
                article.title,
                article.canonical_url or article.url,
                verdict.verdict,
                kept,
            )
        )
    return result


def draft_watchlist(query: str, base: Watchlist | None = None) -> Watchlist:
    """A watchlist for a draft query: `base`'s filters and channel (when tuning an existing
    rule) with the new query. Raises QueryError (with its position) for a malformed query."""
    parse_query(query)  # the QueryError with a position, before pydantic wraps it
    if base is None:
        return Watchlist(name=DRAFT_NAME, query=query)
    return base.model_copy(update={"query": query})


def _target(target: Watchlist | str, draft: bool) -> tuple[Watchlist, bool]:
    if isinstance(target, Watchlist):
        return target, draft
    return draft_watchlist(target), True


def backtest(
    store: Store,
    target: Watchlist | str,
    *,
    since: timedelta | None = timedelta(days=30),
    until: datetime | None = None,
    aliases: AliasResolver | None = None,
    limit: int = DEFAULT_LIMIT,
    date_field: DateField = "fetched",
    now: datetime | None = None,
    preselect: bool = True,
    draft: bool = False,
    index: TantivyIndex | None = None,
) -> Backtest:
    """Run a watchlist (or a draft query string) over the archive.

    The window is [`until` - `since`, `until`) (`until` defaults to now; `since=None` means
    from the first article), on the article's `date_field`: "fetched" (when live alerting
    would have fired: the default here, the basis of the equivalence with live matching) or
    "published" (falling back to fetched for an undated article): the one date basis the
    faces count by (`watchlist test`, the web page, the API), as search histograms do.
    A muted watchlist is backtested as if unmuted (the result says it is muted). Filters
    (languages, sources, min_relevance) apply exactly as in live matching. `preselect=False`
    confirms every article in the window instead of the SQL candidates (for tests and for
    the tokeniser gaps listed in crawler/query/sqlite.py). `draft` marks a Watchlist target
    as an unsaved rule (a query string always is one).

    With the store's full-text `index`, the matches are counted from it (the query language
    gives the index and the matcher the same answer: tests/search/test_parity.py) and only
    the listed hits are read and run through the matcher for their terms: at 200,000
    articles that is milliseconds where reading and matching every candidate took seconds.

    Raises QueryError for a malformed draft query.
    """
    watchlist, draft = _target(target, draft)
    end = _utc(until) if until is not None else _utc(now or utcnow())
    start = end - since if since is not None else None
    live = as_live(watchlist)
    matcher = WatchlistMatcher([live], aliases=aliases)
    result = Backtest(watchlist, draft, start, end, date_field, aliases=aliases)

    seqs = None
    if index is not None and preselect:
        seqs = index.matching_seqs(_tree(live, aliases), date_field, start, end)
    if seqs is not None:
        seqs = _without_guarded(store, matcher, live.query, seqs)
        result.candidates = len(seqs)
        matches: Iterator[_Match] = _indexed_matches(store, seqs, date_field)
    else:
        seqs = _candidate_seqs(store, live, aliases, start, end, date_field, preselect)
        result.candidates = len(seqs)
        matches = _confirmed_matches(store, matcher, seqs, date_field)
    # In the order live alerting saw them (fetched), to tell stories from copies.
    threads: dict[str, StoryHistory] = {}
    # The newest `limit` by `date_field` (ties: later fetched first); snippets only for those.
    newest: list[tuple[datetime, int, _Match, AlertKind]] = []
    per_day: dict[date, DayCount] = {}
    for order, match in enumerate(matches):
        history = threads.setdefault(match.cluster, StoryHistory())
        outcome = alert_kind(history, match.source, digest=False)
        kind: AlertKind = "repeat" if outcome is None else outcome  # type: ignore[assignment]
        history.story = True
        history.sources.add(match.source)
        newest_of_story = result.story_newest.get(match.cluster)
        if newest_of_story is None or (match.when, match.seq) > newest_of_story:
            result.story_newest[match.cluster] = (match.when, match.seq)
        day = match.when.astimezone(UTC).date()
        count = per_day.setdefault(day, DayCount(day))
        count.matches += 1
        result.matches += 1
        if kind == "story":
            count.stories += 1
            result.stories += 1
        elif kind == "copy":
            result.copies += 1
        entry = (match.when, order, match, kind)
        if len(newest) < limit:
            heapq.heappush(newest, entry)  # type: ignore[misc]  # (when, order) never tie
        elif limit and (match.when, order) > newest[0][:2]:
            heapq.heapreplace(newest, entry)  # type: ignore[misc]
    result.truncated = result.matches > len(newest)
    listed = sorted(newest, key=lambda e: e[:2])[::-1]
    _load_listed(store, matcher, [m for _, _, m, _ in listed])
    result.hits = [
        _hit(m.article, when.astimezone(UTC).date(), m.cluster, kind, m.terms or [])
        for when, _, m, kind in listed
        if m.article is not None  # deleted meanwhile (retention)
    ]
    first = start.date() if start is not None else min(per_day, default=end.date())
    result.days = _every_day(first, _last_day(end), per_day)
    labels = labelled_backtest(store, live, aliases, since=start)
    result.labels = labels if labels.judged else None
    return result


def story_hits(
    store: Store, result: Backtest, stories: Iterable[str], limit: int
) -> list[BacktestHit]:
    """The newest match of each of these stories of `result` (newest first, at most `limit`),
    as hits of its watchlist: the article with the terms that watchlist found in it."""
    newest = sorted(
        ((result.story_newest[s], s) for s in stories if s in result.story_newest), reverse=True
    )[:limit]
    matcher = WatchlistMatcher([as_live(result.watchlist)], aliases=result.aliases)
    listed = [_Match(seq, "", story, when) for (when, seq), story in newest]
    _load_listed(store, matcher, listed)
    return [
        _hit(m.article, m.when.astimezone(UTC).date(), m.cluster, "story", m.terms or [])
        for m in listed
        if m.article is not None  # deleted meanwhile (retention)
    ]


@dataclass(slots=True)
class _Match:
    """One matching article as the counting needs it; the article itself only when listed."""

    seq: int
    source: str
    cluster: str
    when: datetime
    article: Article | None = None
    terms: list[MatchedTerm] | None = None


def as_live(watchlist: Watchlist) -> Watchlist:
    """The watchlist as if it alerted: unmuted, and a saved search (`delivery: none`) as an
    instant watchlist, so a backtest shows what it would send once made a watchlist."""
    update: dict[str, Any] = {"muted": False}
    if watchlist.is_saved_search:
        update["delivery"] = "instant"
    return watchlist.model_copy(update=update)


def _tree(watchlist: Watchlist, aliases: AliasResolver | None) -> Query | None:
    """The watchlist's query with its filters, as the archive's search requests state them."""
    request = SearchRequest(
        query=watchlist.query,
        languages=list(watchlist.languages or []),
        sources=list(watchlist.sources or []),
        min_relevance=watchlist.min_relevance or None,
    )
    tree = request.query_tree()
    return resolve_aliases(tree, aliases) if tree is not None else None


def _confirmed_matches(
    store: Store, matcher: WatchlistMatcher, seqs: list[int], date_field: DateField
) -> Iterator[_Match]:
    """The candidates the live matcher accepts, in the order given."""
    for seq, article in _load(store, seqs):
        found = matcher.match_document(MatchDocument.from_article(article, name_guard=True))
        if found:
            when = _when(article, date_field)
            cluster = article.cluster_id or article.id
            yield _Match(seq, article.source, cluster, when, article, found[0].terms)


def _without_guarded(
    store: Store, matcher: WatchlistMatcher, query: str, seqs: list[int]
) -> list[int]:
    """The index's matches less those live matching would set aside by the proper-noun guard
    (a lower-case query word inside a person's name the article capitalises mid-sentence).

    The index has no sentences: the articles naming a person with one of the query's words
    are read and confirmed by the live matcher; the others cannot be affected.
    """
    words = {
        t.lower()
        for node in walk(parse_query(query))
        if isinstance(node, Text) and guard_applies(node)
        for t in node.tokens
    }
    if not words or not seqs:
        return seqs
    suspects = []
    for row in store.article_rows(seqs, "seq, entities"):
        for ent in json.loads(row["entities"] or "[]"):
            if ent.get("type") == "person" and words & set(tokenize(fold(ent.get("name") or ""))):
                suspects.append(row["seq"])
                break
    if not suspects:
        return seqs
    kept = {m.seq for m in _confirmed_matches(store, matcher, suspects, "fetched")}
    dropped = set(suspects) - kept
    return [s for s in seqs if s not in dropped]


def _indexed_matches(store: Store, seqs: list[int], date_field: DateField) -> Iterator[_Match]:
    """The articles the index matched, in the order they were fetched, without their text."""
    rows: list[tuple[str, int, _Match]] = []
    columns = "seq, id, source, cluster_id, fetched, published"
    for r in store.article_rows(seqs, columns):
        dated = r["published"] if date_field == "published" else None
        when = _utc(parse_iso(dated or r["fetched"]) or utcnow())
        match = _Match(r["seq"], r["source"], r["cluster_id"] or r["id"], when)
        rows.append((r["fetched"] or "", r["seq"], match))
    rows.sort(key=lambda row: row[:2])
    return (match for _, _, match in rows)


def _load_listed(store: Store, matcher: WatchlistMatcher, listed: list[_Match]) -> None:
    """Fill in the article and matched terms of the matches that are listed."""
    missing = [m for m in listed if m.article is None]
    articles = dict(_load(store, [m.seq for m in missing]))
    for m in missing:
        m.article = articles.get(m.seq)
        if m.article is not None:
            found = matcher.match_document(MatchDocument.from_article(m.article, name_guard=True))
            m.terms = found[0].terms if found else []


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _last_day(end: datetime) -> date:
    """The last day inside [start, end): the day before `end` when it falls on midnight."""
    return (end - timedelta(microseconds=1)).date()


def _every_day(first: date, last: date, counts: dict[date, DayCount]) -> list[DayCount]:
    out = []
    day = first
    while day <= last:
        out.append(counts.get(day) or DayCount(day))
        day += timedelta(days=1)
    return out


def _when(article: Article, date_field: DateField) -> datetime:
    when = article.published if date_field == "published" else None
    when = when or article.fetched or utcnow()
    return _utc(when)


def _candidate_seqs(
    store: Store,
    watchlist: Watchlist,
    aliases: AliasResolver | None,
    start: datetime | None,
    end: datetime,
    date_field: DateField,
    preselect: bool,
) -> list[int]:
    """Seqs of the articles in the window that may match, in the order they were fetched.

    The filters are repeated in SQL only to narrow the candidates: the matcher still decides.
    """
    if not preselect or not store.full_text:  # the preselection is SQLite's FTS5
        return store.seqs_matching(None, date_field=date_field, start=start, end=end)
    return store.seqs_matching(
        compile_sqlite(parse_query(watchlist.query), aliases),
        date_field=date_field,
        start=start,
        end=end,
        sources=watchlist.sources or (),
        languages=watchlist.languages or (),
        min_relevance=watchlist.min_relevance or None,
    )


def _load(store: Store, seqs: list[int]) -> Iterator[tuple[int, Article]]:
    """(seq, article) in the order of `seqs`, a batch at a time; deleted ones skipped."""
    for i in range(0, len(seqs), _BATCH):
        chunk = seqs[i : i + _BATCH]
        by_seq = store.articles_at(chunk)
        for seq in chunk:
            article = by_seq.get(seq)
            if article is not None:  # deleted meanwhile (retention)
                yield seq, article


def _hit(
    article: Article, day: date, cluster: str, kind: AlertKind, terms: list[MatchedTerm]
) -> BacktestHit:
    return BacktestHit(
        article_id=article.id,
        url=article.url,
        title=article.title,
        source=article.source,
        language=article.language,
        published=article.published,
        fetched=article.fetched,
        day=day,
        relevance=article.relevance,
        cluster_id=cluster,
        kind=kind,
        terms=terms,
        snippet=marked_snippet(article, terms),
    )


def marked_snippet(article: Article, terms: list[MatchedTerm], width: int = SNIPPET_CHARS) -> str:
    """A window of the text around the first matched term in it, matches between `[[` `]]`.

    Plain text (the article is untrusted): callers escape it for their output. Falls back to
    the start of the text when only the title matched.
    """
    text = article.text
    spans = sorted(
        {(t.start, t.end) for t in terms if t.field == "text" and 0 <= t.start < t.end <= len(text)}
    )
    if not spans:
        cut = text[:width].strip()
        return " ".join(cut.split()) + ("…" if len(text) > width else "")
    lo = max(0, spans[0][0] - width // 3)
    hi = min(len(text), lo + width)
    parts: list[str] = []
    pos = lo
    for s, e in spans:
        if s < pos or e > hi:
            continue  # overlapping or outside the window
        parts += [text[pos:s], "[[", text[s:e], "]]"]
        pos = e
    parts.append(text[pos:hi])
    snippet = " ".join("".join(parts).split())
    return ("…" if lo > 0 else "") + snippet + ("…" if hi < len(text) else "")


# -- explanations --------------------------------------------------------------------------------


@dataclass(slots=True)
class ArticleExplanation:
    """Why a watchlist did or did not match one stored article.

    `filters`: each of the watchlist's own conditions (muted, languages, sources,
    min_relevance) with its verdict; `presearch`: whether the fast presearch made it a
    candidate; `query`: the evaluation tree (which clause failed, which terms were found
    where); `alerts`: what the outbox holds for this article and watchlist, if anything.
    """

    watchlist: Watchlist
    draft: bool
    article: Article
    matched: bool
    query_matched: bool
    filters: list[tuple[bool, str]]
    presearch: str
    query: Explanation
    terms: list[MatchedTerm]
    alerts: list[dict[str, Any]]
    verdicts: list[Verdict] = field(default_factory=list)  # the desk's, on this article

    def failed_filters(self) -> list[str]:
        return [text for ok, text in self.filters if not ok]

    def to_dict(self) -> dict[str, Any]:
        art = self.article
        return {
            "watchlist": self.watchlist.name,
            "draft": self.draft,
            "query": self.watchlist.query,
            "article": {
                "id": art.id,
                "url": art.url,
                "title": art.title,
                "source": art.source,
                "language": art.language,
                "published": art.published.isoformat() if art.published else None,
                "fetched": art.fetched.isoformat() if art.fetched else None,
                "cluster_id": art.cluster_id,
            },
            "matched": self.matched,
            "query_matched": self.query_matched,
            "filters": [{"ok": ok, "check": text} for ok, text in self.filters],
            "presearch": self.presearch,
            "relevance": art.relevance,
            "relevance_reasons": list(art.relevance_reasons),
            "tree": explanation_dict(self.query, art),
            "terms": [[t.term, t.field, t.start, t.end] for t in self.terms],
            "alerts": self.alerts,
            "verdicts": [
                {
                    "watchlist": v.watchlist,
                    "alert_id": v.alert_id,
                    "verdict": v.verdict,
                    "user": v.user,
                    "at": v.at.isoformat(),
                }
                for v in self.verdicts
            ],
        }

    def lines(self) -> list[str]:
        """Plain text for the terminal (callers escape it for their markup)."""
        art = self.article
        verdict = "MATCH" if self.matched else "no match"
        out = [f"watchlist {self.watchlist.name!r}: {verdict}", f"article: {art.title}"]
        out.append(f"  {art.url} ({art.source}, {art.language or 'language unknown'})")
        out.append("filters:")
        out += [f"  {'✓' if ok else '✗'} {text}" for ok, text in self.filters]
        out.append(f"presearch: {self.presearch}")
        out.append("query:")
        out += ["  " + line for line in self.query.lines()]
        out.append(f"relevance: {art.relevance:.2f}")
        out += [f"  - {reason}" for reason in art.relevance_reasons]
        for alert in self.alerts:
            out.append(f"outbox: {alert['kind']} alert {alert['status']} (#{alert['id']})")
        for v in self.verdicts:
            word = v.verdict.replace("_", " ")
            when = v.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
            out.append(f"desk: marked {word} by {v.user} on {v.watchlist} ({when} UTC)")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


def explanation_dict(node: Explanation, article: Article) -> dict[str, Any]:
    """The evaluation tree as JSON-ready dicts, each hit with the words found."""
    fields = {"title": article.title, "text": article.text}
    return {
        "value": node.value,
        "kind": node.kind,
        "label": node.label,
        "detail": node.detail,
        "hits": [
            {
                "term": h.term,
                "field": h.field,
                "start": h.start,
                "end": h.end,
                "words": fields.get(h.field, "")[h.start : h.end],
            }
            for h in node.hits
        ],
        "children": [explanation_dict(c, article) for c in node.children],
    }


class ArticleNotFound(LookupError):
    """No stored article has this id or URL."""


def explain_article(
    store: Store,
    target: Watchlist | str,
    url_or_id: str,
    aliases: AliasResolver | None = None,
    *,
    draft: bool = False,
    article: Article | None = None,
) -> ArticleExplanation:
    """Why `target` (a watchlist, or a draft query string) did or did not match the article.

    Raises ArticleNotFound when no stored article has that id or URL, QueryError for a
    malformed draft query. `draft` marks a Watchlist target as an unsaved rule (its outbox
    history is then not looked up). `article`, when given, is explained instead of a stored one
    (a page fetched and enriched just now: `watchlist explain` of an unstored URL).
    """
    watchlist, draft = _target(target, draft)
    article = article or store.find_article(url_or_id)
    if article is None:
        raise ArticleNotFound(f"no stored article with id or URL {url_or_id!r}")
    matcher = WatchlistMatcher([watchlist], aliases=aliases)
    why: MatchExplanation = matcher.explain(watchlist, article)
    assert why.query is not None
    found = matcher.match(article)
    terms = found[0].terms if found else [_term(h) for h in why.query.matched_hits()]
    alerts = store.article_alerts(watchlist.name, article.id) if not draft else []
    verdicts = store.article_verdicts(article.id)
    if watchlist.name != DRAFT_NAME:  # a rule's own verdicts; a bare draft shows them all
        verdicts = [v for v in verdicts if v.watchlist == watchlist.name]
    return ArticleExplanation(
        watchlist=watchlist,
        draft=draft,
        article=article,
        matched=why.matched,
        query_matched=why.query.value,
        filters=why.filters,
        presearch=why.presearch,
        query=why.query,
        terms=terms,
        alerts=alerts,
        verdicts=verdicts,
    )


def _term(hit: Any) -> MatchedTerm:
    return MatchedTerm(hit.term, hit.field, hit.start, hit.end)


__all__ = [
    "DRAFT_NAME",
    "ArticleExplanation",
    "ArticleNotFound",
    "Backtest",
    "BacktestHit",
    "DayCount",
    "JudgedAlert",
    "LabelledBacktest",
    "backtest",
    "draft_watchlist",
    "explain_article",
    "explanation_dict",
    "labelled_backtest",
    "marked_snippet",
]
