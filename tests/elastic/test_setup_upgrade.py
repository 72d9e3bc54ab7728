"""`index setup` over indices made by an older template: the real client against a loopback
server answering in Elasticsearch's format (tests/elastic/replay.py). A changed mapping is put
index by index, each keeping the parameters it cannot change (index_prefixes) as it has them."""

from __future__ import annotations

import copy

from crawler.config import ElasticsearchConfig
from crawler.search.elastic import ElasticsearchArchive, render_resources
from tests.elastic.replay import Replay

CFG = ElasticsearchConfig(url="http://127.0.0.1:9", index_prefix="t")
NEW = render_resources(CFG).mappings_component["template"]["mappings"]


def _older(mappings: dict[str, object]) -> dict[str, object]:
    """The mapping as an index made before index_prefixes and ignore_above returns it."""
    old = copy.deepcopy(mappings)
    props = old["properties"]
    assert isinstance(props, dict)
    for spec in props.values():
        spec.pop("index_prefixes", None)
        spec.pop("ignore_above", None)
    return old


def test_a_changed_mapping_is_put_index_by_index_keeping_fixed_parameters() -> None:
    with Replay() as es:
        ok = {"acknowledged": True}
        es.route("HEAD", "/_alias/t-articles", lambda req: (200, {}))
        es.route("HEAD", "/t-watchlists", lambda req: (200, {}))
        after_rollover = {
            "t-articles-000001": {"mappings": _older(NEW)},
            "t-articles-000002": {"mappings": NEW},
        }
        es.route("GET", "/t-articles/_mapping", lambda req: (200, after_rollover))
        es.route(
            "GET", "/t-watchlists/_mapping", lambda req: (200, {"t-watchlists": {"mappings": NEW}})
        )
        for index in ("t-articles-000001", "t-articles-000002", "t-watchlists"):
            es.route("PUT", f"/{index}/_mapping", lambda req: (200, ok))
        cfg = ElasticsearchConfig(url=es.url, index_prefix="t")
        archive = ElasticsearchArchive.from_config(cfg, max_retries=0)
        changes = archive._bootstrap(render_resources(cfg), mappings_changed=True)
        archive.close()
    assert [str(c) for c in changes if c.kind == "mapping"] == [
        "mapping t-articles-000001: updated",
        "mapping t-articles-000002: updated",
        "mapping t-watchlists: updated",
    ]
    put = {r.path.split("/")[1]: r.json()["properties"] for r in es.requests if r.method == "PUT"}
    # the older index: no index_prefixes (it cannot get them), ignore_above added in place
    assert "index_prefixes" not in put["t-articles-000001"]["title"]
    assert put["t-articles-000001"]["source"]["ignore_above"] == 8191
    # the newer one keeps what it was created with
    assert put["t-articles-000002"]["title"]["index_prefixes"] == {"min_chars": 1, "max_chars": 5}
