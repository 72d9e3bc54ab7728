"""Benchmark the web page: render times of search, article, watchlists, sources, chart, map.

Builds (or reuses) a synthetic archive (benchmarks/synthetic.py) of 200,000 articles (20,000
with --quick), with 40 sources, their poll history and ten watchlists of the beat, serves it with
uvicorn on 127.0.0.1 and requests each page over real HTTP, pages interleaved so all see the
same machine load. Reports p50/p95 per page and, from the same process, two baselines:
`/healthz` (the HTTP floor: uvicorn, the middleware, one count) and the bare archive search a
search page makes, so the ratios show what rendering adds.

    python benchmarks/web.py            # 200,000 articles
    python benchmarks/web.py --quick    # 20,000 articles

Stores are kept in --work (default: watchdesk-bench in the system temp folder)
and reused.
Results go to benchmarks/results/web.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

ROOT = Path(__file__).resolve().parents[1]
BENCH_WORK = Path(tempfile.gettempdir()) / "watchdesk-bench"
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import uvicorn  # noqa: E402

from benchmarks.synthetic import SOURCES_EN, SOURCES_ZH, build_store  # noqa: E402
from crawler.records import PollRecord  # noqa: E402
from watchdesk.service.config import load_config  # noqa: E402
from watchdesk.web import create_app  # noqa: E402
from watchdesk.web.desk import Desk  # noqa: E402
from watchdesk.web.state import SearchState  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "web.json"

# What analysts click through (the search benchmark's queries, as URLs of the page).
SEARCHES = [
    "/search",
    "/search?q=%22sister+city%22",
    "/search?q=delegation&sort=date",
    "/search?q=%22sister+city%22+AND+NOT+terminated",
    "/search?q=%28%22sister+city%22+OR+%22friendship+city%22%29+AND+country%3ACN",
    "/search?q=%22memorandum+of+understanding%22&region=sichuan",
    "/search?q=mayor+AND+delegation&country=CN&event=delegation",
    "/search?q=%E5%8F%8B%E5%A5%BD%E5%9F%8E%E5%B8%82",
    "/search?q=farmland&since=2024-01-01&until=2024-06-30",
    "/search?q=%22Confucius+Institute%22&page=5",
]
# Attention over time: five queries of the beat per day over 90 days, one per week over a year.
CHARTS = [
    "/chart?q=%22sister+city%22&q=delegation&q=%22memorandum+of+understanding%22"
    "&q=%E5%8F%8B%E5%A5%BD%E5%9F%8E%E5%B8%82&q=country%3ATW&since=90d",
    "/chart?q=country%3ACN&interval=week&since=1y",
]
# Ten watchlists of the beat (DOMAIN.md): phrases in both languages, facets, one digest.
_WATCHLISTS: list[tuple[str, str, str]] = [
    ("sister-cities", '("sister city" OR "friendship city" OR 友好城市) AND country:CN', ""),
    ("delegations", "delegation AND country:CN AND country:US", ""),
    ("mous", '"memorandum of understanding" OR MOU OR 谅解备忘录', ""),
    ("confucius", '"Confucius Institute" OR 孔子学院', ""),
    ("farmland", 'farmland OR "land purchases" OR "foreign adversary"', ""),
    ("united-front", '"united front" OR 统战 OR espionage', ""),
    ("plants", "(factory OR plant) AND investment AND country:CN", ""),
    ("sichuan", "region:sichuan AND event:sister_city", ""),
    ("taiwan", "country:TW", ", min_relevance: 0.5"),
    ("digest-all", "event:termination", ', delivery: {digest: "0 8 * * *"}'),
]
WATCHLISTS = "watchlists:\n" + "".join(
    f"  - {{name: {name}, query: {json.dumps(query, ensure_ascii=False)}, "
    f'channel: "#{name}"{extra}}}\n'
    for name, query, extra in _WATCHLISTS
)


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:
        pass


def _setup(work: Path, n: int) -> tuple[Any, datetime]:
    work.mkdir(parents=True, exist_ok=True)
    db = work / f"web-{n}.db"
    started = time.perf_counter()
    store = build_store(db, n)
    sources = [*SOURCES_EN, *SOURCES_ZH]
    sources += [f"local-{i:02d}" for i in range(40 - len(sources))]
    last = datetime.fromisoformat(store.execute("SELECT max(fetched) FROM articles")[0][0])
    if not store.execute("SELECT 1 FROM polls LIMIT 1"):
        for i, name in enumerate(sources):
            for h in range(0, 72, 2):  # three days of polls every two hours
                failing = i % 9 == 0 and h < 10
                poll = PollRecord(
                    name,
                    "error" if failing else "ok",
                    500 if failing else 200,
                    items=20,
                    new=0 if i % 7 == 0 else 2,
                    duration=0.3,
                    error="HTTP 500" if failing else None,
                )
                store.record_poll(f"http://127.0.0.1:9/{name}.xml", poll, last - timedelta(hours=h))
    store.close()
    print(f"store ready: {n:,} articles in {time.perf_counter() - started:.0f} s", flush=True)
    srcs = "\n".join(f'  - {{name: {s}, url: "http://127.0.0.1:9/{s}.xml"}}' for s in sources)
    (work / f"web-{n}.yaml").write_text(
        f"store: {{path: {db.name}}}\nsources:\n{srcs}\n" + WATCHLISTS, encoding="utf-8"
    )
    return load_config(work / f"web-{n}.yaml"), last.astimezone(UTC)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _summary(times: list[float]) -> dict[str, float]:
    return {
        "n": len(times),
        "p50_ms": round(statistics.median(times) * 1000, 2),
        "p95_ms": round(_pct(times, 0.95) * 1000, 2),
        "max_ms": round(max(times) * 1000, 2),
    }


def run(n: int, work: Path, rounds: int) -> dict[str, Any]:
    loaded, last = _setup(work, n)
    started = time.perf_counter()
    desk = Desk.open(loaded)
    # the synthetic archive ends in the past: its last day is "now" for 30-day windows
    desk.clock = lambda: last
    print(f"archive open: {time.perf_counter() - started:.1f} s", flush=True)
    rows = desk.store.execute("SELECT id FROM articles WHERE seq % ? = 0 LIMIT 20", (n // 20,))
    pages: dict[str, list[str]] = {
        "search": SEARCHES,
        "article": [f"/articles/{r[0]}" for r in rows],
        "watchlists": ["/watchlists"],
        # the same page right after new articles arrived: its 30-day overview recomputed
        "watchlists (cold)": ["/watchlists"],
        # the exact backtest of a draft (alerts/backtest.py) over 30 days, on top of the page
        "watchlists + draft": ["/watchlists?draft=%22sister+city%22+AND+country%3ACN&days=30"],
        "explain": [f"/watchlists/explain?watchlist=sister-cities&article={rows[0][0]}"],
        "sources": ["/sources"],
        "alerts": ["/alerts"],
        # attention over time (issue 18): five queries of the beat by day over 90 days, and
        # one broad query by week over a year (every story it matches counted)
        "chart": CHARTS,
        # places on a map: the first 1,000 hits of a search, their states and provinces
        "map": ["/map?q=%22sister+city%22", "/map?q=delegation&country=CN"],
        "healthz (baseline)": ["/healthz"],
    }
    config = uvicorn.Config(
        create_app(loaded, desk=desk), host="127.0.0.1", port=0, log_level="warning"
    )
    port_server = _Server(config)
    thread = threading.Thread(target=port_server.run, daemon=True)
    thread.start()
    while not port_server.started:
        time.sleep(0.05)
    port = port_server.servers[0].sockets[0].getsockname()[1]
    times: dict[str, list[float]] = {k: [] for k in pages}
    bare: list[float] = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
        for urls in pages.values():  # warm-up: caches, the index, the matcher
            for url in urls:
                assert client.get(url).status_code == 200, url
        for _ in range(rounds):
            for kind, urls in pages.items():
                for url in urls:
                    if kind.endswith("(cold)"):
                        desk._overview = None  # as when the store's content has changed
                    t0 = time.perf_counter()
                    r = client.get(url)
                    times[kind].append(time.perf_counter() - t0)
                    assert r.status_code == 200, url
            for url in SEARCHES:  # the archive's share of a search page, same load
                query = url.partition("?")[2]
                state, _ = SearchState.from_params(parse_qs(query))
                t0 = time.perf_counter()
                desk.search(state, limit=20)
                bare.append(time.perf_counter() - t0)
    port_server.should_exit = True
    thread.join(timeout=10)
    floor = statistics.median(times["healthz (baseline)"])
    out: dict[str, Any] = {"articles": n, "rounds": rounds, "pages": {}}
    for kind, values in times.items():
        s = _summary(values)
        s["x_healthz_p50"] = round(statistics.median(values) / floor, 1)
        out["pages"][kind] = s
    out["archive_search (baseline)"] = _summary(bare)
    out["search_page_x_archive_search_p50"] = round(
        statistics.median(times["search"]) / statistics.median(bare), 2
    )
    desk.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="20,000 articles instead of 200,000")
    parser.add_argument("--n", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--work", type=Path, default=BENCH_WORK)
    args = parser.parse_args()
    n = args.n or (20_000 if args.quick else 200_000)
    result = run(n, args.work, args.rounds)
    result["machine"] = {"python": platform.python_version(), "platform": platform.platform()}
    result["when"] = datetime.now(UTC).isoformat(timespec="seconds")
    print(f"{'page':<22}{'n':>5}{'p50 ms':>10}{'p95 ms':>10}{'x healthz':>11}")
    for kind, s in result["pages"].items():
        print(f"{kind:<22}{s['n']:>5}{s['p50_ms']:>10}{s['p95_ms']:>10}{s['x_healthz_p50']:>11}")
    b = result["archive_search (baseline)"]
    print(f"{'archive.search':<22}{b['n']:>5}{b['p50_ms']:>10}{b['p95_ms']:>10}")
    print(f"search page / bare archive search (p50): {result['search_page_x_archive_search_p50']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    existing = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    existing[str(n)] = result
    RESULTS.write_text(json.dumps(existing, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
