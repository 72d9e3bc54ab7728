"""What the web page and its JSON API may ask: a read-only facade over the archive and the store.

Searches go through the archive interface (`crawler.search`), so the page works the same over
the embedded index and Elasticsearch; the outbox, source health, story copies and backtests read
the SQLite store of record. Nothing here writes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from alerts.auto_relevance import AutoFloor, auto_floor, resolve_auto_relevance
from alerts.backtest import ArticleExplanation, Backtest, backtest, draft_watchlist, explain_article
from alerts.backtest_diff import BacktestComparison, compare_backtests
from alerts.matcher import WatchlistMatcher
from alerts.watchlist import Watchlist, WatchlistSet
from crawler.article import Article
from crawler.dates import utcnow
from crawler.records import MatchedTerm
from crawler.search.backends import open_archive
from crawler.search.embedded import EmbeddedArchive
from crawler.search.request import Archive, Hit, SearchRequest, SearchResult
from crawler.storage import Store
from crawler.storage.verdicts import VerdictCounts
from watchdesk.web.markup import Span
from watchdesk.web.state import SearchState

# The watchlists page shows this window (issue #7: "hits per day over the last 30 days").
WATCHLIST_WINDOW = timedelta(days=30)
LATEST_HITS = 5


# The kinds of highlight on the article page, each with its own colour and a legend link that
# turns it off (`?hide=country`): a page naming "Chinese" 24 times is unreadable otherwise.
HIGHLIGHT_KINDS = {
    "term": "watchlist term",
    "place": "place",
    "country": "country",
    "org": "organisation",
    "person": "person",
}


@dataclass
class StoryCopy:
    id: str
    title: str
    source: str
    url: str
    published: str | None


@dataclass
class ArticleAlert:
    id: int
    watchlist: str
    kind: str
    status: str
    channel: str
    created: str | None
    delivered_at: str | None
    message_id: str
    error: str
    same_article: bool  # False: the alert was for another copy of the same story

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class ArticleView:
    """Everything the article page shows."""

    article: Article
    title_spans: list[Span]
    text_spans: list[Span]
    matches: dict[str, list[MatchedTerm]]
    copies: list[StoryCopy]
    alerts: list[ArticleAlert]

    def to_dict(self) -> dict[str, Any]:
        data = self.article.to_dict()
        data["watchlists"] = [
            {"watchlist": name, "terms": [[t.term, t.field, t.start, t.end] for t in terms]}
            for name, terms in self.matches.items()
        ]
        data["copies"] = [c.__dict__ for c in self.copies]
        data["alerts"] = [a.to_dict() for a in self.alerts]
        return data


@dataclass
class WatchlistView:
    """A watchlist with what it matched over the last 30 days, by publication day."""

    watchlist: Watchlist
    days: list[tuple[str, int]]  # every day of the window, oldest first, zeros included
    total: int
    latest: list[Hit]
    # the desk's verdicts on its alerts of the same 30 days (crawler.storage.verdicts)
    verdicts: VerdictCounts | None = None
    # `min_relevance: auto`: the floor the verdicts set (`watchlist.min_relevance` holds it)
    auto: AutoFloor | None = None

    @property
    def search_url(self) -> str:
        return search_url(self.watchlist)

    @property
    def delivery(self) -> str:
        return self.watchlist.delivery_label

    def to_dict(self) -> dict[str, Any]:
        wl = self.watchlist
        return {
            "name": wl.name,
            "description": wl.description,
            "query": wl.query,
            "channel": wl.channel,
            "delivery": self.delivery,
            "saved_search": wl.is_saved_search,
            "search_url": self.search_url,
            "muted": wl.muted,
            "languages": wl.languages,
            "sources": wl.sources,
            "min_relevance": wl.min_relevance,
            "min_relevance_auto": self.auto.reason() if self.auto is not None else None,
            "verdicts": (
                {
                    "alerts": self.verdicts.alerts,
                    "judged": self.verdicts.judged,
                    "relevant": self.verdicts.relevant,
                    "precision": self.verdicts.precision,
                }
                if self.verdicts is not None
                else None
            ),
            "matches_30d": self.total,
            "days": [{"day": d, "matches": n} for d, n in self.days],
            "latest": [h.to_dict() for h in self.latest],
        }


def search_url(wl: Watchlist) -> str:
    """The search page's link to a watchlist's (or saved search's) results."""
    state = SearchState.for_watchlist(wl.query, wl.languages, wl.sources, wl.min_relevance)
    return state.url()


@dataclass
class SourceView:
    name: str
    kind: str
    url: str
    enabled: bool
    last_attempt: str | None
    last_success: str | None
    last_new: str | None
    last_error: str | None
    consecutive_failures: int
    items_24h: int
    new_24h: int
    polls_24h: int
    state: str  # failing, silent, no success yet, never polled, ok
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = self.__dict__.copy()
        d.pop("extra")
        return d


class Desk:
    """The read-only operations behind every page and API endpoint."""

    def __init__(
        self,
        loaded: Any,
        store: Store,
        archive: Archive,
        aliases: Callable[[str], set[str]] | None = None,
        entity_names: dict[str, str] | None = None,
    ) -> None:
        self.loaded = loaded
        self.store = store
        self.archive = archive
        self.aliases = aliases
        # id -> display name of the known organisations and watched people, for facet lists
        self.entity_names: dict[str, str] = dict(entity_names or {})
        self.watchlists: list[Watchlist] = list(loaded.watchlists.watchlists)
        self._matcher = WatchlistMatcher(self.watchlists, aliases=aliases)
        # "now" for the time windows (30-day backtests, silent sources); benchmarks over a
        # synthetic archive of past dates set it to the archive's last day.
        self.clock: Callable[[], datetime] = utcnow
        self._overview: tuple[tuple[Any, ...], list[WatchlistView]] | None = None
        self._overview_lock = threading.Lock()

    @classmethod
    def open(cls, loaded: Any) -> Desk:
        """The desk for a loaded config: its store, its archive, its watched-entity aliases."""
        from enrich.entities import EntityMatcher

        store = Store(loaded.store_path)
        archive = open_archive(loaded, store)
        watched = [e.model_dump() for e in loaded.watchlists.entities]
        entities = EntityMatcher.load(watched, list(loaded.config.organisations))
        names = {e.id: e.name for e in entities.entities}
        return cls(loaded, store, archive, aliases=entities.ids_for_name, entity_names=names)

    def close(self) -> None:
        self.archive.close()
        self.store.close()

    # -- search ------------------------------------------------------------------------------

    def search(
        self,
        state: SearchState,
        *,
        limit: int,
        offset: int | None = None,
        facets: bool = True,
        snippets: bool = True,
    ) -> SearchResult:
        """Raises `crawler.query.QueryError` for a malformed query. `snippets=False`: hits
        without snippets (`SearchRequest.snippets`)."""
        request = state.request(limit=limit, offset=offset, facets=facets)
        request.snippets = snippets
        return self.archive.search(request)

    # -- articles ----------------------------------------------------------------------------

    def article(self, article_id: str, hidden: frozenset[str] = frozenset()) -> ArticleView | None:
        """The article page's record; `hidden` names kinds of HIGHLIGHT_KINDS left unmarked."""
        article = self.archive.get_article(article_id)
        if article is None:
            return None
        matches = {m.watchlist.name: m.terms for m in self._matcher.match(article)}
        title_spans: list[Span] = []
        text_spans: list[Span] = []
        for name, terms in matches.items():
            if "term" in hidden:
                break
            for t in terms:
                span = Span(t.start, t.end, "term", f"watchlist {name}: {t.term}")
                (title_spans if t.field == "title" else text_spans).append(span)
        for ent in article.entities:
            if ent.type in hidden:
                continue
            label = ent.name + (f" ({ent.region}, {ent.country})" if ent.region else "")
            for start, end in ent.offsets:
                text_spans.append(Span(start, end, f"ent ent-{ent.type}", label))
        return ArticleView(
            article,
            title_spans,
            text_spans,
            matches,
            self._copies(article),
            self._alerts_for(article),
        )

    def _copies(self, article: Article) -> list[StoryCopy]:
        if not article.cluster_id:
            return []
        rows = self.store.story_copies(article.cluster_id, article.id)
        return [StoryCopy(r["id"], r["title"], r["source"], r["url"], r["published"]) for r in rows]

    def _alerts_for(self, article: Article) -> list[ArticleAlert]:
        cluster = article.cluster_id or article.id
        rows = self.store.story_alert_rows(article.id, cluster)
        return [_alert(r, r["article_id"] == article.id) for r in rows]

    # -- watchlists --------------------------------------------------------------------------

    def watchlist_overview(self, now: datetime | None = None) -> list[WatchlistView]:
        """Every watchlist with its matches per publication day over the last 30 days and its
        latest matches.

        Asked of the archive (one search per watchlist, its filters included), so that it works
        on either backend; the query language guarantees the same matches as the backtest the
        draft box runs (`alerts.backtest`), which also tells stories from copies.
        """
        today = (now or self.clock()).astimezone(UTC).date()
        # `min_relevance: auto` floors, as the service sets them from the verdicts
        in_force, floors = resolve_auto_relevance(WatchlistSet(self.watchlists, []), self.store)
        # The answer changes only with the archive's content, the day or a floor: one overview
        # is kept until one moves (new articles arrive once per poll cycle, minutes apart).
        key = (today, *self.store.archive_mark(), *((n, f.threshold) for n, f in floors.items()))
        with self._overview_lock:
            if self._overview is None or self._overview[0] != key:
                self._overview = (key, self._watchlist_overview(today, in_force.watchlists))
            views = self._overview[1]
            # verdicts change with every click, not with the archive: read fresh each time
            counts = self.store.verdict_counts(since=(now or self.clock()) - WATCHLIST_WINDOW)
            for view in views:
                view.verdicts = counts.get(view.watchlist.name)
                view.auto = floors.get(view.watchlist.name)
            return views

    def _watchlist_overview(self, today: date, watchlists: list[Watchlist]) -> list[WatchlistView]:
        first = today - WATCHLIST_WINDOW + timedelta(days=1)
        window = [(first + timedelta(days=i)).isoformat() for i in range(WATCHLIST_WINDOW.days)]
        out = []
        for wl in watchlists:
            result = self.archive.search(
                SearchRequest(
                    query=wl.query,
                    since=first,
                    until=today,
                    languages=wl.languages,
                    sources=wl.sources,
                    min_relevance=wl.min_relevance or None,
                    sort="date",
                    limit=LATEST_HITS,
                    histogram=True,
                )
            )
            counts = dict(result.histogram)
            days = [(d, counts.get(d, 0)) for d in window]
            out.append(WatchlistView(wl, days, result.total, result.hits))
        return out

    def backtest(self, query: str, days: int, base: str | None = None, limit: int = 50) -> Backtest:
        """A draft query over the last `days` days; `base` lends an existing watchlist's
        filters. Raises QueryError for a malformed query."""
        wl = self.by_name(base) if base else None
        if wl is not None and wl.auto_relevance:  # its floor in force, as live matching
            wl = wl.model_copy(update={"min_relevance": auto_floor(self.store, wl.name).threshold})
        result = backtest(
            self.store,
            draft_watchlist(query, wl) if wl is not None else query,
            since=timedelta(days=days),
            aliases=self.aliases,
            limit=limit,
            now=self.clock(),
            # the one date basis of every count a person reads (issue 18), as the histograms
            date_field="published",
            index=self.archive.index if isinstance(self.archive, EmbeddedArchive) else None,
        )
        result.draft = True  # also when it borrows an existing watchlist's filters
        return result

    def compare_with_saved(self, draft: Backtest, base: str) -> BacktestComparison | None:
        """The draft's backtest against watchlist `base`'s saved query over the same window:
        the stories it gains, loses and keeps (None for an unknown watchlist)."""
        wl = self.by_name(base)
        if wl is None:
            return None
        if wl.auto_relevance:
            wl = wl.model_copy(update={"min_relevance": auto_floor(self.store, wl.name).threshold})
        saved = backtest(
            self.store,
            wl,
            since=draft.end - draft.start if draft.start is not None else None,
            until=draft.end,
            aliases=self.aliases,
            limit=0,
            date_field=draft.date_field,
            index=self.archive.index if isinstance(self.archive, EmbeddedArchive) else None,
        )
        return compare_backtests(self.store, draft, saved)

    def explain(self, target: str, article_id: str, *, draft: bool) -> ArticleExplanation:
        """Why a watchlist (by name) or a draft query did or did not match one article.

        Raises KeyError for an unknown watchlist, ArticleNotFound, QueryError."""
        if draft:
            return explain_article(self.store, target, article_id, aliases=self.aliases)
        wl = self.by_name(target)
        if wl is None:
            raise KeyError(target)
        return explain_article(self.store, wl, article_id, aliases=self.aliases)

    def saved_searches(self) -> list[tuple[str, str]]:
        """(name, search page link) of each saved search (`delivery: none`), in file order."""
        return [(w.name, search_url(w)) for w in self.watchlists if w.is_saved_search]

    def by_name(self, name: str) -> Watchlist | None:
        return next((w for w in self.watchlists if w.name == name), None)

    # -- sources, outbox, metrics ------------------------------------------------------------

    def sources(self, now: datetime | None = None) -> list[SourceView]:
        """The `watchdesk status` table: failing first, then silent, unproven, never polled."""
        from alerts.source_health import SHOWN_RANK, shown_health, source_healths

        now = now or self.clock()
        health = {r["name"]: r for r in self.store.source_health(now)}
        # the same judgement as `watchdesk status` and the health announcements: failing or
        # silent for longer than the source's own rhythm
        judged = source_healths(self.store, self.loaded.config.sources, now)
        out = []
        for src in self.loaded.config.sources:
            r = health.get(src.name, {})
            failures = int(r.get("consecutive_failures") or 0)
            state, _ = shown_health(*judged[src.name], r.get("last_attempt"), r.get("last_success"))
            out.append(
                SourceView(
                    name=src.name,
                    kind=src.kind,
                    url=src.url,
                    enabled=src.enabled,
                    last_attempt=r.get("last_attempt"),
                    last_success=r.get("last_success"),
                    last_new=r.get("last_new"),
                    last_error=r.get("last_error"),
                    consecutive_failures=failures,
                    items_24h=int(r.get("items_24h") or 0),
                    new_24h=int(r.get("new_24h") or 0),
                    polls_24h=int(r.get("polls_24h") or 0),
                    state=state,
                )
            )
        out.sort(key=lambda s: (SHOWN_RANK[s.state], -s.consecutive_failures, s.name))
        return out

    def alerts(self, status: str | None, limit: int = 200) -> list[dict[str, Any]]:
        """The outbox, newest first, each alert with its article's title."""
        rows = self.store.alert_rows_with_articles(status, limit)
        out = []
        for r in rows:
            item = _alert(r, True).to_dict()
            item.update(article_id=r["article_id"], title=r["title"], url=r["url"])
            item["attempts"] = r["attempts"]
            out.append(item)
        return out

    def alert_counts(self) -> dict[str, int]:
        return self.store.alert_counts()

    def metrics(self) -> dict[str, Any]:
        """The figures `/metrics` exports, read from the store."""
        cycle = self.store.last_cycle_seconds()
        return {
            "articles": self.archive.count(),
            "polls": self.store.poll_totals(),
            "last_poll_seconds": self.store.last_poll_seconds(),
            "alerts": self.store.alert_counts(),
            "last_cycle_seconds": cycle,
            "failing_sources": sum(1 for s in self.sources() if s.state == "failing"),
        }


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def _alert(row: Any, same_article: bool) -> ArticleAlert:
    return ArticleAlert(
        id=int(row["id"]),
        watchlist=row["watchlist"],
        kind=row["kind"],
        status=row["status"],
        channel=row["channel"],
        created=row["created"],
        delivered_at=row["delivered_at"],
        message_id=row["delivered_ts"],
        error=row["last_error"],
        same_article=same_article,
    )
