"""The `index` commands: install the Elasticsearch templates, copy the store into the index.

Thin layers over `crawler.search.elastic`: `setup` (ElasticsearchArchive.setup), `migrate`
(ArchiveSync.sync with a progress bar; resumable through the store's watermark) and `status`.
`migrate --to postgresql://…` copies the SQLite store into a Postgres store instead
(`crawler.storage.copy`, resumable by key).
"""

from __future__ import annotations

import json
import os
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from crawler.config import ElasticsearchConfig
from crawler.storage.engine import DB_URL_ENV, is_postgres_url, masked_url
from watchdesk.cli.app import _load, app, err, out
from watchdesk.service.config import LoadedConfig

if TYPE_CHECKING:
    from crawler.search.elastic import ElasticsearchArchive

index_app = typer.Typer(
    help="Elasticsearch: install index templates, migrate the store.", no_args_is_help=True
)
app.add_typer(index_app, name="index")


class Target(StrEnum):
    elasticsearch = "elasticsearch"


def _target(value: str) -> str:
    """`--to`: elasticsearch, or the URL of a Postgres store to copy the SQLite store into."""
    if value == Target.elasticsearch or is_postgres_url(value):
        return value
    raise typer.BadParameter(
        f"expected 'elasticsearch' or a postgresql:// URL, not {masked_url(value)!r}"
    )


def _es_config(loaded: LoadedConfig) -> ElasticsearchConfig:
    cfg = loaded.config.store.elasticsearch
    if cfg is None:
        err.print(
            f"error: {escape(str(loaded.path))}: store.elasticsearch is not set "
            "(add `store: {elasticsearch: {url: ...}}`)"
        )
        raise typer.Exit(2)
    return cfg


def _archive(cfg: ElasticsearchConfig) -> ElasticsearchArchive:
    from crawler.search.elastic import ElasticsearchArchive, ElasticsearchSetupError

    try:
        return ElasticsearchArchive.from_config(cfg)
    except ElasticsearchSetupError as exc:
        err.print(f"error: {escape(str(exc))}")
        raise typer.Exit(2) from None


def _unreachable(cfg: ElasticsearchConfig, exc: Exception) -> typer.Exit:
    from crawler.search.elastic import redact_url

    err.print(
        f"error: elasticsearch at {escape(redact_url(cfg.url))}: "
        f"{type(exc).__name__}: {escape(str(exc)[:300])}"
    )
    return typer.Exit(1)


def _setup(loaded: LoadedConfig, cfg: ElasticsearchConfig, quiet: bool = False) -> None:
    from elasticsearch import ApiError, TransportError

    archive = _archive(cfg)
    try:
        changes = archive.setup()
        if loaded.config.alerts.matcher == "percolator":
            from alerts.percolator import PercolatorMatcher
            from enrich.chain import build_context

            # entity names in queries resolve to ids as in the in-process matcher
            context = build_context(
                watched_entities=[e.model_dump() for e in loaded.watchlists.entities],
                extra_organisations=loaded.config.organisations,
            )
            matcher = PercolatorMatcher(
                archive.client, cfg, loaded.watchlists.watchlists, context.entities.ids_for_name
            )
            counts = matcher.sync_watchlists()
            out.print(
                f"percolator: {counts['stored']} watchlists stored, {counts['removed']} removed"
            )
    except (ApiError, TransportError) as exc:
        raise _unreachable(cfg, exc) from None
    finally:
        archive.close()
    changed = [c for c in changes if c.action != "unchanged"]
    for change in changes if not quiet else changed:
        out.print(escape(str(change)))
    out.print(f"{len(changed)} changed, {len(changes) - len(changed)} unchanged")


@index_app.command("setup")
def setup_command() -> None:
    """Install the ILM policy, index templates, first index and aliases (idempotent)."""
    loaded = _load()
    _setup(loaded, _es_config(loaded))


@index_app.command("migrate")
def migrate_command(
    to: Annotated[
        str,
        typer.Option(
            "--to",
            parser=_target,
            help="elasticsearch, or postgresql://… (a Postgres store; credentials from "
            "WATCHDESK_DB_URL if the URL has none).",
        ),
    ],
    batch: Annotated[int, typer.Option("--batch", min=1, max=5000)] = 500,
    retry_rejected: Annotated[
        bool,
        typer.Option(
            "--retry-rejected",
            help="Send the articles the cluster rejected for good again (after fixing why).",
        ),
    ] = False,
) -> None:
    """Copy the embedded store into Elasticsearch, or the SQLite store into Postgres; run it
    again to resume or catch up."""
    from crawler.search.elastic import ArchiveSync
    from crawler.storage import Store

    loaded = _load()
    if is_postgres_url(to):
        _migrate_to_postgres(loaded, to, batch)
        return
    cfg = _es_config(loaded)
    _setup(loaded, cfg, quiet=True)
    archive = _archive(cfg)
    with Store(loaded.store_path) as store:
        sync = ArchiveSync(store, archive, batch=batch)
        if retry_rejected:
            out.print(f"retrying {sync.state.requeue_rejected()} rejected articles")
        todo = sync.state.backlog()
        columns = (
            TextColumn("indexing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=err, transient=False) as progress:
            task = progress.add_task("indexing", total=todo)
            report = sync.sync(progress=lambda n: progress.advance(task, n))
        archive.close()
    out.print(
        f"indexed {report.indexed} articles (retried {report.retried}), "
        f"rejected {len(report.rejected)}, left to index {report.backlog}, "
        f"watermark seq {report.watermark}"
    )
    for failure in report.rejected[:20]:
        verdict = "rejected for good" if failure.permanent else "held for a retry"
        out.print(f"  {verdict} {failure.article_id}: {failure.status} {escape(failure.reason)}")
    if report.error:
        err.print(f"error: {escape(report.error)}; run the migration again to resume")
    if not report.ok or report.backlog:
        raise typer.Exit(1)


def _migrate_to_postgres(loaded: LoadedConfig, url: str, batch: int) -> None:
    from crawler.storage import Store
    from crawler.storage.copy import copy_store, rows_to_copy

    env = os.environ.get(DB_URL_ENV)
    if env and urlsplit(url).password is None and urlsplit(env).password is not None:
        url = env  # the URL given names the database; the environment holds its secret
    source_path = loaded.resolve(loaded.config.store.path)
    if not source_path.exists():
        err.print(f"error: no SQLite store at {escape(str(source_path))} (store.path)")
        raise typer.Exit(2)
    try:
        destination = Store(url)
    except RuntimeError as exc:  # its message names the URL with the password masked
        err.print(f"error: {escape(str(exc))}")
        raise typer.Exit(2) from None
    with Store(source_path) as source, destination:
        columns = (TextColumn("copying"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=err, transient=False) as progress:
            task = progress.add_task("copying", total=rows_to_copy(source, destination))
            try:
                report = copy_store(
                    source, destination, batch=batch, progress=lambda n: progress.advance(task, n)
                )
            except ValueError as exc:
                err.print(f"error: {escape(str(exc))}")
                raise typer.Exit(2) from None
        out.print(
            f"copied {report.total} rows into {escape(destination.path)}: "
            + ", ".join(f"{t} {n}" for t, n in report.copied.items() if n)
        )


@index_app.command("status")
def status_command(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """What is left to index: watermark, backlog, held articles (retried) and rejected ones
    (refused for good, not retried). On the default embedded store: the side index's place,
    watermark and backlog (it catches up at the next search or `run`)."""
    from crawler.search.elastic import SyncState
    from crawler.search.elastic.sync import sync_target
    from crawler.storage import Store

    loaded = _load()
    if loaded.config.store.elasticsearch is None:
        _embedded_status(loaded, as_json)
        return
    cfg = _es_config(loaded)
    archive = _archive(cfg)  # builds no connection until a request is made
    with Store(loaded.store_path) as store:
        state = SyncState(store, sync_target(archive))
        held = state.pending(limit=50)
        rejected = state.rejected(limit=50)
        report = {
            "target": state.target,
            "watermark": state.watermark(),
            "backlog": state.backlog(),
            "held": [
                {
                    "seq": p.seq,
                    "id": p.article_id,
                    "status": p.status,
                    "reason": p.reason,
                    "attempts": p.attempts,
                }
                for p in held
            ],
            "rejected_count": state.rejected_count(),
            "rejected": [
                {"seq": r.seq, "id": r.article_id, "status": r.status, "reason": r.reason}
                for r in rejected
            ],
        }
    archive.close()
    if as_json:
        print(json.dumps(report, ensure_ascii=False))
        return
    out.print(
        f"{escape(state.target)}: watermark seq {report['watermark']}, "
        f"{report['backlog']} articles not indexed yet, "
        f"{report['rejected_count']} rejected for good"
    )
    for p in held:
        out.print(f"  held {p.article_id} (seq {p.seq}, {p.attempts}x): {escape(p.reason)}")
    for r in rejected:
        out.print(f"  rejected {r.article_id} (seq {r.seq}, {r.status}): {escape(r.reason)}")


def _embedded_status(loaded: LoadedConfig, as_json: bool) -> None:
    """`index status` for the embedded index: read, not opened (opening it would repair it)."""
    from crawler.search.embedded import default_index_path
    from crawler.search.tantivy_index import INDEX_VERSION, read_index_state
    from crawler.storage import Store

    with Store(loaded.store_path) as store:
        path = loaded.index_path or default_index_path(store)
        saved = read_index_state(path) if path is not None else {}
        watermark = int(saved.get("watermark", 0))
        articles = store.count_articles()
        indexed = store.count_through(watermark) if saved else 0
    if path is None:
        state = "in memory"
    elif not saved:
        state = "not built yet: built by the first search or `watchdesk run`"
    elif saved.get("version") != INDEX_VERSION:
        state = f"format {saved.get('version')}, now {INDEX_VERSION}: rebuilt when next opened"
    elif indexed < articles:
        state = "behind: catches up at the next search or cycle of `watchdesk run`"
    else:
        state = "up to date"
    report = {
        "target": "embedded",
        "path": str(path) if path is not None else None,
        "state": state,
        "watermark": watermark,
        "articles": articles,
        "backlog": articles - indexed,
    }
    if as_json:
        print(json.dumps(report, ensure_ascii=False))
        return
    out.print(
        f"embedded index {escape(str(path) if path else '(in memory)')}: {escape(state)}; "
        f"watermark seq {watermark}, {articles - indexed:,} of {articles:,} articles not "
        "indexed yet"
    )
